package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile joins continuation lines and drops comments and parser directives.
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		full := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	return out
}

var (
	varRe       = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?`)
	numericUser = regexp.MustCompile(`^([0-9]+)(:[0-9]+)?$`)
	envPrmRe    = regexp.MustCompile(`\b(PRM_[A-Z0-9_]+)=`)
	// a point release (12.11, 4.1.1) or a date (20250101): "12" or "bookworm" moves under you.
	versionTagRe = regexp.MustCompile(`[0-9]+\.[0-9]+|[0-9]{8}`)
)

// lintDockerfile checks a Dockerfile's essentials: every base image pinned (a version tag with
// a digit, or a digest; never latest), the final stage runs as a numeric non-root USER, has an
// ENTRYPOINT and the org.opencontainers.image.version label, and every PRM_* variable it sets
// is a setting of the services.
func lintDockerfile(file string, bins map[string]*binary) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	fail := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	args := map[string]string{} // ARG defaults before the first FROM (global scope)
	stages := map[string]bool{}
	type stage struct {
		from       int
		user       string
		userLine   int
		entrypoint bool
		version    bool
	}
	var last *stage
	sawFrom := false
	for _, in := range parseDockerfile(string(data)) {
		switch in.cmd {
		case "ARG":
			if !sawFrom {
				name, def, _ := strings.Cut(in.args, "=")
				args[name] = strings.Trim(def, `"'`)
			}
		case "FROM":
			sawFrom = true
			f := strings.Fields(in.args)
			var image, alias string
			for i := 0; i < len(f); i++ {
				if strings.HasPrefix(f[i], "--") {
					continue
				}
				if image == "" {
					image = f[i]
				} else if strings.EqualFold(f[i], "AS") && i+1 < len(f) {
					alias = f[i+1]
					break
				}
			}
			resolved := varRe.ReplaceAllStringFunc(image, func(v string) string {
				m := varRe.FindStringSubmatch(v)
				if d, ok := args[m[1]]; ok && d != "" {
					return d
				}
				return m[2]
			})
			if !stages[resolved] {
				if resolved == "" || strings.Contains(resolved, "$") {
					fail(in.line, "FROM %s: the image has no default (give the ARG a pinned default)", image)
				} else if msg := imagePinProblem(resolved); msg != "" {
					fail(in.line, "FROM %s: %s", resolved, msg)
				}
			}
			if alias != "" {
				stages[alias] = true
			}
			last = &stage{from: in.line}
		case "USER":
			if last != nil {
				last.user, last.userLine = in.args, in.line
			}
		case "ENTRYPOINT":
			if last != nil {
				last.entrypoint = true
				if !strings.HasPrefix(in.args, "[") {
					fail(in.line, "ENTRYPOINT in shell form: the binary would not be PID 1 and would miss SIGTERM; use the exec form [\"...\"]")
				}
			}
		case "LABEL":
			if last != nil && strings.Contains(in.args, "org.opencontainers.image.version=") {
				last.version = true
			}
		case "ENV":
			for _, m := range envPrmRe.FindAllStringSubmatch(in.args, -1) {
				for _, b := range bins {
					if b.byEnv[m[1]] == nil {
						fail(in.line, "ENV %s is not a setting of %s (see its --help)", m[1], b.name)
					}
				}
			}
		case "ADD":
			if strings.Contains(in.args, "://") {
				fail(in.line, "ADD of a URL: download in a RUN step with a checksum instead")
			}
		}
	}
	if last == nil {
		return append(problems, file+": no FROM")
	}
	switch {
	case last.user == "":
		fail(last.from, "the final stage has no USER: it would run as root")
	case !numericUser.MatchString(last.user):
		fail(last.userLine, "USER %s: use a numeric uid[:gid] so runAsNonRoot can verify it", last.user)
	case strings.SplitN(last.user, ":", 2)[0] == "0":
		fail(last.userLine, "USER 0 is root")
	}
	if !last.entrypoint {
		fail(last.from, "the final stage has no ENTRYPOINT")
	}
	if !last.version {
		fail(last.from, "the final stage has no LABEL org.opencontainers.image.version")
	}
	return problems
}

// imagePinProblem: "" if the reference is pinned by digest or by a tag naming a version.
func imagePinProblem(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	tag := ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = ref[i+1:]
	}
	switch {
	case tag == "":
		return "no tag (that is latest); pin a version tag or a digest"
	case tag == "latest":
		return "latest is not pinned; pin a version tag or a digest"
	case !versionTagRe.MatchString(tag):
		return fmt.Sprintf("tag %q names no release (e.g. debian:12.11-slim, bookworm-20250101) and no digest", tag)
	}
	return ""
}
