#!/usr/bin/env bash
# The empty-RPC baseline of SPEC §9: Probe.Ping on prm-probe-server (the full server runtime:
# Serve with JWT authentication, RED-metrics interceptor, health, reflection), the server
# pinned to CPU 0 and ghz to CPU 1.
#
#   bench/rpc/run.sh [BUILD_DIR]        (default: ./build; needs build/bin/prm-probe-server)
#
# Environment: GHZ (default ~/go/bin/ghz), TOTAL requests per run (100000), CONCURRENCY (50),
# PORT (50090), SERVER_CPU (0), LOADER_CPU (1).
#
# Runs, each after a 10,000-call warm-up on a fresh server:
#   1. full stack (JWT + RED metrics): peak QPS, p50, p99
#   2. full stack at half that peak (--rps): p50, p99  — the "p99 at half of peak" figure
#   3. without the RED-metrics interceptor (--rpc-metrics=false): the interceptor's cost
#   4. with a fixed token instead of JWT verification (--auth=fixed): the JWT cost
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
server=$build/bin/prm-probe-server
ghz=${GHZ:-$HOME/go/bin/ghz}
total=${TOTAL:-100000}
concurrency=${CONCURRENCY:-50}
port=${PORT:-50090}
server_cpu=${SERVER_CPU:-0}
loader_cpu=${LOADER_CPU:-1}
proto=$root/tests/support/probe.proto

[[ -x $server ]] || { echo "missing $server (build the tree first)" >&2; exit 1; }
[[ -x $ghz ]] || { echo "missing ghz at $ghz (set GHZ)" >&2; exit 1; }

secret=prm-bench-secret-0123456789abcdef
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
mint_token() {  # an HS256 JWT the server's default --auth=jwt settings accept, valid 1 h
  local header payload signature
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"prm-bench","aud":"prm","sub":"bench","exp":%d,"prm_role":"service"}' \
    $(($(date +%s) + 3600)) | b64url)
  signature=$(printf '%s' "$header.$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

start_server() {  # extra flags...
  taskset -c "$server_cpu" "$server" --grpc-listen="127.0.0.1:$port" --metrics-listen= \
    --log-level=warn --jwt-secret="$secret" "$@" &
  server_pid=$!
  for _ in $(seq 50); do
    if "$ghz" --insecure --proto "$root/tests/support/probe.proto" --call prm.testing.v1.Probe/Ping \
         -n 1 -c 1 -m "{\"authorization\":\"Bearer $token\"}" "127.0.0.1:$port" >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}

# ghz ... → "rps p50_ms p99_ms errors"
load() {
  taskset -c "$loader_cpu" "$ghz" --insecure --proto "$proto" --call prm.testing.v1.Probe/Ping \
    -d '{}' -m "{\"authorization\":\"Bearer $token\"}" -c "$concurrency" --format=json "$@" \
    "127.0.0.1:$port" |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
pct = {p["percentage"]: p["latency"] / 1e6 for p in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errors = sum(n for code, n in codes.items() if code != "OK")
nan = float("nan")
print("%.0f %.3f %.3f %d" % (r["rps"], pct.get(50, nan), pct.get(99, nan), errors))'
}

measure() {  # label, server flags... ; prints a table row and sets $rps
  local label=$1
  shift
  start_server "$@"
  load -n 10000 >/dev/null
  read -r rps p50 p99 errors < <(load -n "$total")
  printf '%-44s %10s %9s %9s %7s\n' "$label" "$rps" "$p50" "$p99" "$errors"
  stop_server
}

token=$(mint_token)
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "load:    ghz -c $concurrency -n $total, 1 connection; server on CPU $server_cpu, ghz on CPU $loader_cpu"
echo
printf '%-44s %10s %9s %9s %7s\n' "run" "QPS" "p50 ms" "p99 ms" "errors"

measure "full stack (JWT, RED metrics): peak"
peak=$rps

start_server
load -n 10000 >/dev/null
half=$((peak / 2))
read -r rps p50 p99 errors < <(load -n "$total" --rps "$half")
printf '%-44s %10s %9s %9s %7s\n' "full stack at half peak (--rps $half)" "$rps" "$p50" "$p99" "$errors"
stop_server

measure "without RED interceptor (--rpc-metrics=false)" --rpc-metrics=false
measure "fixed token instead of JWT (--auth=fixed)" --auth=fixed --auth-token="$token"
