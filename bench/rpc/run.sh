#!/usr/bin/env bash
# The empty-RPC baseline of SPEC §9: Probe.Ping on prm-probe-server (the full server runtime:
# Serve with JWT authentication, RED-metrics interceptor, health, reflection), the server
# pinned to CPU 0 and ghz to CPU 1.
#
#   bench/rpc/run.sh [BUILD_DIR]        (default: ./build; needs build/bin/prm-probe-server)
#
# Environment: GHZ (default ~/go/bin/ghz), TOTAL requests per run (100000), CONCURRENCY (50),
# ROUNDS (3), HALF_CONCURRENCY (10), PORT (50090), SERVER_CPU (0), LOADER_CPU (1).
#
# Each run starts a fresh server and warms it up with 10,000 calls. ROUNDS times, interleaved
# so that a noisy machine hurts all three alike:
#   - full stack (JWT + RED metrics): peak QPS, p50, p99
#   - without the RED-metrics interceptor (--rpc-metrics=false): the interceptor's cost
#   - with a fixed token instead of JWT verification (--auth=fixed): the JWT cost
# then the full stack at half of its median peak (--rps): the "p99 at half of peak" figure,
# with CONCURRENCY clients and with HALF_CONCURRENCY: ghz releases rate-limited calls in bursts
# to all its clients, so with 50 the p99 measures the loader's bursts as much as the server.
# Besides ghz's QPS and latency it reports the server's CPU time per RPC (from /proc): on two
# cores ghz saturates its own core before the server does, so QPS measures the loader and
# CPU-per-RPC is the figure that compares server-side costs.
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
rounds=${ROUNDS:-3}
half_clients=${HALF_CONCURRENCY:-10}
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
  signature=$(printf '%s' "$header.$payload" |
    openssl dgst -sha256 -hmac "$secret" -binary | b64url)
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
    if "$ghz" --insecure --proto "$proto" --call prm.testing.v1.Probe/Ping -n 1 -c 1 \
         -m "{\"authorization\":\"Bearer $token\"}" "127.0.0.1:$port" >/dev/null 2>&1; then
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
    -d '{}' -m "{\"authorization\":\"Bearer $token\"}" -c "${clients:-$concurrency}" \
    --format=json "$@" \
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

server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }  # user+system, all threads

# Loads the running server with `load ARGS...`; sets rps p50 p99 errors, and cpu_us (server CPU
# time per call, microseconds) and cpu_pct (server CPU use while loaded, % of one core).
measured_load() {
  local t0 t1 start end
  t0=$(server_ticks)
  start=$(date +%s.%N)
  read -r rps p50 p99 errors < <(load "$@")
  end=$(date +%s.%N)
  t1=$(server_ticks)
  read -r cpu_us cpu_pct < <(python3 -c "
ticks, hz, calls, secs = $t1 - $t0, $(getconf CLK_TCK), $total, $end - $start
print('%.1f %.0f' % (ticks / hz * 1e6 / calls, 100 * ticks / hz / secs))")
}

measure() {  # label, server flags... ; prints a table row
  local label=$1
  shift
  start_server "$@"
  load -n 10000 >/dev/null
  measured_load -n "$total"
  row "$label" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_pct"
  stop_server
}

row() { printf '%-48s %8s %8s %8s %7s %10s %8s\n' "$@"; }

median() {
  python3 -c 'import statistics as s, sys; print("%g" % s.median(map(float, sys.argv[1:])))' "$@"
}
best() {  # min|max values...
  python3 -c 'import sys; print("%g" % (min if sys.argv[1] == "min" else max)(
    map(float, sys.argv[2:])))' "$@"
}

token=$(mint_token)
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) CPUs, $cpu_model," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load:    ghz -c $concurrency -n $total (after a 10000-call warm-up), 1 connection;" \
  "server on CPU $server_cpu, ghz on CPU $loader_cpu; $rounds round(s), configurations interleaved"
echo
row "run" "QPS" "p50 ms" "p99 ms" "errors" "CPU us/RPC" "CPU %"

declare -a full_rps full_cpu bare_rps bare_cpu fixed_rps fixed_cpu
for round in $(seq "$rounds"); do
  measure "[$round] full stack (JWT auth, RED metrics)"
  full_rps+=("$rps"); full_cpu+=("$cpu_us")
  measure "[$round] without RED interceptor (--rpc-metrics=false)" --rpc-metrics=false
  bare_rps+=("$rps"); bare_cpu+=("$cpu_us")
  measure "[$round] fixed token, no JWT (--auth=fixed)" --auth=fixed --auth-token="$token"
  fixed_rps+=("$rps"); fixed_cpu+=("$cpu_us")
done

peak=$(median "${full_rps[@]}")
half=$(python3 -c "print(int(float('$peak') / 2))")
start_server
load -n 10000 >/dev/null
measured_load -n "$total" --rps "$half"
row "full stack at half peak (--rps $half, -c $concurrency)" "$rps" "$p50" "$p99" "$errors" \
  "$cpu_us" "$cpu_pct"
half_p50=$p50 half_p99=$p99
clients=$half_clients measured_load -n "$total" --rps "$half"
row "full stack at half peak (--rps $half, -c $half_clients)" "$rps" "$p50" "$p99" "$errors" \
  "$cpu_us" "$cpu_pct"
stop_server

echo
echo "over $rounds round(s)          QPS median   QPS best   CPU us/RPC median   CPU us/RPC best"
summary() {  # label, rps array name, cpu array name
  local -n r=$2 c=$3
  printf '%-28s %10s %10s %19s %17s\n' "$1" "$(median "${r[@]}")" "$(best max "${r[@]}")" \
    "$(median "${c[@]}")" "$(best min "${c[@]}")"
}
summary "full stack" full_rps full_cpu
summary "without RED interceptor" bare_rps bare_cpu
summary "fixed token (no JWT)" fixed_rps fixed_cpu
echo "full stack at half peak: p50 $half_p50 ms, p99 $half_p99 ms with $concurrency clients;" \
  "p50 $p50 ms, p99 $p99 ms with $half_clients"
