package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// setting is one flag of a service binary, as its --help describes it.
type setting struct {
	flag     string   // "grpc-listen"
	env      string   // "PRM_GRPC_LISTEN"
	boolean  bool     // "--rpc-metrics" (no =VALUE)
	choices  []string // "(trace|debug|…)" in the description
	min, max int64    // "[1..2147483647]" in the description; max 0 = no range
	duration bool     // the description gives duration examples ("e.g. 500ms, 25s")
}

// binary is what a service binary says about itself.
type binary struct {
	name     string
	version  string
	byFlag   map[string]*setting
	byEnv    map[string]*setting
	helpText string
}

var (
	helpFlagRe  = regexp.MustCompile(`^\s+--([a-z0-9][a-z0-9-]*)(=VALUE)?\s+\((PRM_[A-Z0-9_]+)\)\s*$`)
	choicesRe   = regexp.MustCompile(`\(([A-Za-z0-9_.-]+(?:\|[A-Za-z0-9_.-]+)+)\)`)
	rangeRe     = regexp.MustCompile(`\[(-?\d+)\.\.(-?\d+)\]`)
	durationsRe = regexp.MustCompile(`\(e\.g\. [0-9]+(ms|s|m|h)`)
)

// loadBinaries runs `<bin-dir>/<service> --help` and `--version` for every service.
func loadBinaries(dir string, services []string) (map[string]*binary, error) {
	bins := map[string]*binary{}
	for _, s := range services {
		path := filepath.Join(dir, s)
		help, err := exec.Command(path, "--help").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --help: %v (build the services first, or set -bin-dir)", path, err)
		}
		ver, err := exec.Command(path, "--version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %v", path, err)
		}
		b := &binary{name: s, byFlag: map[string]*setting{}, byEnv: map[string]*setting{}, helpText: string(help)}
		f := strings.Fields(string(ver))
		if len(f) != 2 || f[0] != s {
			return nil, fmt.Errorf("%s --version printed %q, want %q", path, ver, s+" <version>")
		}
		b.version = f[1]
		var cur *setting
		for _, line := range strings.Split(string(help), "\n") {
			if m := helpFlagRe.FindStringSubmatch(line); m != nil {
				cur = &setting{flag: m[1], env: m[3], boolean: m[2] == ""}
				b.byFlag[cur.flag] = cur
				b.byEnv[cur.env] = cur
				continue
			}
			if cur == nil || !strings.HasPrefix(line, "      ") {
				cur = nil
				continue
			}
			if m := choicesRe.FindStringSubmatch(line); m != nil {
				cur.choices = strings.Split(m[1], "|")
			}
			if m := rangeRe.FindStringSubmatch(line); m != nil {
				cur.min, _ = strconv.ParseInt(m[1], 10, 64)
				cur.max, _ = strconv.ParseInt(m[2], 10, 64)
			}
			if durationsRe.MatchString(line) {
				cur.duration = true
			}
		}
		if len(b.byFlag) < 5 {
			return nil, fmt.Errorf("%s --help: found only %d flags; has the help format changed?", path, len(b.byFlag))
		}
		bins[s] = b
	}
	return bins, nil
}

// checkValue checks a value against what --help says about the setting.
func (s *setting) checkValue(v string) error {
	switch {
	case s.boolean:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not true|false", v)
		}
	case len(s.choices) > 0:
		for _, c := range s.choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(s.choices, "|"))
	case s.max != 0:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < s.min || n > s.max {
			return fmt.Errorf("%q is not an integer in [%d..%d]", v, s.min, s.max)
		}
	case s.duration:
		if _, err := parseDuration(v); err != nil {
			return fmt.Errorf("%q is not a duration like 500ms, 25s, 2h", v)
		}
	}
	return nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}
