package main

// The validator must catch real mistakes: each case below breaks one thing in a copy of
// deploy/k8s (or of the Dockerfile) and expects the problem to be reported, and the unbroken
// tree to pass. Needs the service binaries (BUILD_DIR, default ../../build/bin).
//
//	cd tools/k8s-validate && go test ./...

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repo = "../.."

func binaries(t *testing.T) map[string]*binary {
	t.Helper()
	dir := filepath.Join(repo, "build", "bin")
	if b := os.Getenv("BUILD_DIR"); b != "" {
		dir = filepath.Join(b, "bin")
	}
	bins, err := loadBinaries(dir, strings.Split(defaultServices, ","))
	if err != nil {
		t.Skipf("service binaries not built: %v", err)
	}
	return bins
}

// copyTree copies deploy/k8s into a temporary directory and returns that directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(repo, "deploy", "k8s")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestManifests(t *testing.T) {
	bins := binaries(t)
	cases := []struct {
		name, file, old, new, want string
	}{
		{"unchanged", "base/forecast.yaml", "", "", ""},
		{"misspelled field", "base/forecast.yaml", "readinessProbe:", "readinesProbe:", `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{"wrong type", "base/forecast.yaml", "replicas: 1", `replicas: "1"`, "cannot unmarshal string"},
		{"bad quantity", "base/forecast.yaml", "memory: 64Mi", "memory: 64MB", "quantities must match"},
		{"unknown kind", "base/forecast.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgets", `no kind "PodDisruptionBudgets"`},
		{"unknown PRM_ variable", "base/config/prm.env", "PRM_KAFKA_BROKERS=", "PRM_KAFKA_BROKER=", "PRM_KAFKA_BROKER is not a setting"},
		{"bad enumerated value", "overlays/dev/kustomization.yaml", "PRM_LOG_LEVEL=debug", "PRM_LOG_LEVEL=verbose", `"verbose" is not one of`},
		{"bad duration", "base/config/prm.env", "PRM_DRAIN_TIMEOUT=20s", "PRM_DRAIN_TIMEOUT=20", "is not a duration"},
		{"unknown flag", "base/forecast.yaml", "--data-dir=", "--data-directory=", "flag --data-directory is not a flag of forecast"},
		{"topic not created", "base/config/prm.env", "PRM_TOPIC_DEAL=prm.deal.v1", "PRM_TOPIC_DEAL=prm.deals.v1", "not in deploy/topics.txt"},
		{"two replicas on SQLite", "base/forecast.yaml", "replicas: 1", "replicas: 2", "replicas must be 1"},
		{"rolling update on SQLite", "base/forecast.yaml", "type: Recreate", "type: RollingUpdate", "strategy must be Recreate"},
		{"liveness on gRPC health", "base/forecast.yaml", "livenessProbe:\n            tcpSocket:\n              port: grpc", "livenessProbe:\n            grpc:\n              port: 50051", "livenessProbe must not use grpc.health.v1"},
		{"writable root", "base/forecast.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"capabilities kept", "base/forecast.yaml", "drop: [ALL]", "drop: [NET_RAW]", "capabilities.drop does not contain ALL"},
		{"service links", "base/forecast.yaml", "enableServiceLinks: false", "enableServiceLinks: true", "enableServiceLinks must be false"},
		{"short grace period", "base/forecast.yaml", "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds 20"},
		{"readiness not on the health port", "base/forecast.yaml", "readinessProbe:\n            grpc:\n              port: 8081", "readinessProbe:\n            grpc:\n              port: 50051", "readinessProbe grpc port 50051 is not the health port"},
		{"health not where the port says", "base/config/prm.env", "PRM_HEALTH_LISTEN=0.0.0.0:8081", "PRM_HEALTH_LISTEN=0.0.0.0:8082", `health-listen "0.0.0.0:8082" does not listen on the health port 8081`},
		{"metrics on loopback", "base/config/prm.env", "PRM_METRICS_LISTEN=0.0.0.0:9464", "PRM_METRICS_LISTEN=127.0.0.1:9464", "listens on loopback only"},
		{"dangling targetPort", "base/forecast.yaml", "targetPort: metrics", "targetPort: metric", `targetPort "metric" is not a container port`},
		{"service port missing", "base/forecast.yaml", "    - name: metrics\n      port: 9464\n", "    - name: metrics\n", `port "metrics": must be between 1 and 65535`},
		{"missing PVC", "base/forecast.yaml", "claimName: forecast-data", "claimName: forecast-db", `PersistentVolumeClaim "forecast-db" is not in the manifests`},
		{"secret not at the flag's path", "base/forecast.yaml", "mountPath: /var/run/secrets/prm\n", "mountPath: /var/run/secrets/jwt\n", "--jwt-secret-file /var/run/secrets/prm/jwt-secret is not on a mounted Secret"},
		{"image tag not the version", "overlays/dev/kustomization.yaml", "newTag: 0.1.0-dev", "newTag: 9.9.9", "tag does not start with the binary's version"},
		{"image latest", "overlays/dev/kustomization.yaml", "newTag: 0.1.0-dev", "newTag: latest", "latest is not pinned"},
		{"no recommended label", "base/forecast.yaml", "        app.kubernetes.io/component: service\n        app.kubernetes.io/part-of: prm\n      annotations:", "        app.kubernetes.io/part-of: prm\n      annotations:", "missing recommended label app.kubernetes.io/component"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t)
			if c.old != "" {
				edit(t, filepath.Join(dir, c.file), c.old, c.new)
			}
			_, problems := checkKustomization(filepath.Join(dir, "overlays", "dev"), bins)
			all := strings.Join(problems, "\n")
			switch {
			case c.want == "" && len(problems) > 0:
				t.Errorf("unexpected problems:\n%s", all)
			case c.want != "" && !strings.Contains(all, c.want):
				t.Errorf("want a problem containing %q, got:\n%s", c.want, all)
			}
		})
	}
}

func TestDockerfile(t *testing.T) {
	bins := binaries(t)
	orig, err := os.ReadFile(filepath.Join(repo, "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"unchanged", "", "", ""},
		{"latest base", "ARG DEBIAN_IMAGE=debian:12.11-slim", "ARG DEBIAN_IMAGE=debian:latest", "latest is not pinned"},
		{"untagged base", "ARG DEBIAN_IMAGE=debian:12.11-slim", "ARG DEBIAN_IMAGE=debian", "no tag"},
		{"floating tag", "ARG DEBIAN_IMAGE=debian:12.11-slim", "ARG DEBIAN_IMAGE=debian:12-slim", "names no release"},
		{"user by name", "USER 65532:65532", "USER prm", "use a numeric uid"},
		{"root user", "USER 65532:65532", "USER 0", "USER 0 is root"},
		{"no user", "USER 65532:65532\n", "", "no USER"},
		{"shell entrypoint", `ENTRYPOINT ["/usr/local/bin/prm-service"]`, "ENTRYPOINT /usr/local/bin/prm-service", "shell form"},
		{"unknown PRM_ variable", "PRM_DATA_DIR=", "PRM_DATADIR=", "ENV PRM_DATADIR is not a setting"},
		{"no version label", "org.opencontainers.image.version=", "org.opencontainers.image.revision=", "no LABEL org.opencontainers.image.version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := string(orig)
			if c.old != "" {
				if !strings.Contains(text, c.old) {
					t.Fatalf("Dockerfile does not contain %q", c.old)
				}
				text = strings.Replace(text, c.old, c.new, 1)
			}
			f := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(lintDockerfile(f, bins), "\n")
			switch {
			case c.want == "" && all != "":
				t.Errorf("unexpected problems:\n%s", all)
			case c.want != "" && !strings.Contains(all, c.want):
				t.Errorf("want a problem containing %q, got:\n%s", c.want, all)
			}
		})
	}
}
