// prm-k8s-validate renders PRM's Kustomize overlays and validates them offline, and lints the
// Dockerfiles. Used by scripts/validate-deploy; installed by scripts/bootstrap.
//
//	prm-k8s-validate render DIR                   print the rendered YAML of one kustomization
//	prm-k8s-validate manifests [-bin-dir D] DIR…  render and validate every kustomization
//	prm-k8s-validate dockerfile [-bin-dir D] F…   lint Dockerfiles
//
// The schema check strict-decodes every rendered object into the typed Go structs of
// k8s.io/api (the same structs and strict JSON decoder the API server uses for
// fieldValidation=Strict): unknown or duplicate fields, wrong types and unparsable quantities
// fail. On top of that come the checks the API server's validation would make that matter here
// (names, labels, references between objects, probe handlers, ports) and PRM's own deployment
// rules (see checks.go). Exit status 1 on any problem, each printed as "<where>: <what>".
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  prm-k8s-validate render DIR
  prm-k8s-validate manifests [-bin-dir DIR] [-services a,b,...] KUSTOMIZATION_DIR...
  prm-k8s-validate dockerfile [-bin-dir DIR] [-services a,b,...] DOCKERFILE...
`)
	os.Exit(2)
}

const defaultServices = "partner-registry,deal-registration,concierge-routing,forecast"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	binDir := fs.String("bin-dir", "build/bin", "directory holding the service binaries (their --help is the flag reference)")
	services := fs.String("services", defaultServices, "the PRM service names (container and binary names)")
	if err := fs.Parse(args); err != nil {
		usage()
	}
	var problems []string
	switch cmd {
	case "render":
		if fs.NArg() != 1 {
			usage()
		}
		out, err := renderYAML(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(out)
		return
	case "manifests":
		if fs.NArg() == 0 {
			usage()
		}
		bins, err := loadBinaries(*binDir, strings.Split(*services, ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, dir := range fs.Args() {
			n, p := checkKustomization(dir, bins)
			problems = append(problems, p...)
			if len(p) == 0 {
				fmt.Printf("ok   %s: %d objects\n", dir, n)
			}
		}
	case "dockerfile":
		if fs.NArg() == 0 {
			usage()
		}
		bins, err := loadBinaries(*binDir, strings.Split(*services, ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, f := range fs.Args() {
			p := lintDockerfile(f, bins)
			problems = append(problems, p...)
			if len(p) == 0 {
				fmt.Printf("ok   %s\n", f)
			}
		}
	default:
		usage()
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "FAIL %s\n", p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "%d problem(s)\n", len(problems))
		os.Exit(1)
	}
}
