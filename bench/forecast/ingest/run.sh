#!/usr/bin/env bash
# Forecast ingestion: SaleRecorded events/s through the forecast binary (consume, decode, apply to
# the sales ledger, log durably, store offsets), beside kcat reading the same topic in the same run.
#
#   bench/forecast/ingest/run.sh [events]            (default 500000)
#
# Starts its own throw-away broker on a free loopback port, unless BROKERS=host:port names a
# running one (its create-topics must be reachable through deploy/local/kafka --port). The service
# runs with its defaults (--sqlite-durability=full: every batch fsynced before its offsets are
# stored). Prints wall-clock events/s from the first record consumed to the last one applied, the
# service's CPU seconds over the same interval (user + system, from /proc), the events/s per CPU
# second, and kcat's events/s reading the same topic; then kill -9 and the start-up replay time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
count=${1:-500000}
bin=${BUILD_DIR:-$root/build}/bin
topic=${TOPIC:-bench.forecast.sales.$$}
dir=$(mktemp -d -t prm-bench-forecast-ingest.XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  if [[ -z ${BROKERS:-} ]]; then deploy/local/kafka stop --data-dir "$dir/kafka" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Empty partner and deal topics of the run's own, so that the service reads only the sales.
printf '%s 6 -\n%s.partner 1 -\n%s.deal 1 -\n' "$topic" "$topic" "$topic" >"$dir/topics.txt"
if [[ -n ${BROKERS:-} ]]; then
  brokers=$BROKERS
  deploy/local/kafka create-topics --port "${brokers##*:}" --topics "$dir/topics.txt" >/dev/null
else
  port=$(free_port)
  deploy/local/kafka start --port "$port" --data-dir "$dir/kafka" >/dev/null
  cat deploy/topics.txt >>"$dir/topics.txt"
  deploy/local/kafka create-topics --port "$port" --topics "$dir/topics.txt" >/dev/null
  brokers=127.0.0.1:$port
fi

"$bin/prm-bench-forecast-sales" --kafka-brokers="$brokers" --topic="$topic" --count="$count"

# kcat: every record of the topic, partition assignment without a group.
t0=$(date +%s.%N)
kcat -C -b "$brokers" -t "$topic" -o beginning -e -q -f '' 
t1=$(date +%s.%N)
kcat_rate=$(python3 -c "print(int($count / ($t1 - $t0)))")

metrics=$(free_port)
start_forecast() {
  "$bin/forecast" --data-dir="$dir/data" --kafka-brokers="$brokers" --kafka-group="bench-$$" \
    --topic-sales="$topic" --topic-partner="$topic.partner" --topic-deal="$topic.deal" --grpc-listen=127.0.0.1:0 --metrics-listen=127.0.0.1:"$metrics" \
    --jwt-secret=bench-secret-of-at-least-32-bytes-long --log-level=info >>"$dir/forecast.log" 2>&1 &
  pid=$!
}
applied() {
  { curl -sf "http://127.0.0.1:$metrics/metrics" 2>/dev/null || true; } |
    awk -v t="$topic" '/^kafka_consumer_records_total/ && index($0, "topic=\"" t "\"") && /outcome="ok"/ {s += $NF} END {print s + 0}'
}
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

start_forecast
n=0
alive() { kill -0 "$pid" 2>/dev/null || { tail -5 "$dir/forecast.log" >&2; exit 1; }; }
while (( n == 0 )); do alive; sleep 0.02; n=$(applied); done
w0=$(date +%s.%N); c0=$(cpu_s "$pid"); n0=$n
while (( n < count )); do alive; sleep 0.05; n=$(applied); done
w1=$(date +%s.%N); c1=$(cpu_s "$pid")

kill -9 "$pid"; wait "$pid" 2>/dev/null || true
: >"$dir/forecast.log"
start_forecast
for _ in $(seq 600); do grep -q 'replayed' "$dir/forecast.log" 2>/dev/null && break; sleep 0.1; done
replay=$(grep -o 'replayed [^"]*' "$dir/forecast.log" | tail -1)

python3 - "$count" "$n0" "$w0" "$w1" "$c0" "$c1" "$kcat_rate" "$replay" <<'PY'
import os, sys
count, n0 = int(sys.argv[1]), int(sys.argv[2])
w0, w1, c0, c1, kcat = map(float, sys.argv[3:8])
replay = sys.argv[8]
timed = count - n0
wall = timed / (w1 - w0)
cpu = timed / max(c1 - c0, 1e-9)
print(f"{count} SaleRecorded events, 6 partitions, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
print(f"forecast ingest   {int(wall):>10,} events/s wall   {int(cpu):>10,} events per CPU second"
      f"   ({timed:,} events in {w1 - w0:.2f} s, {c1 - c0:.2f} CPU s)")
print(f"kcat read         {int(kcat):>10,} events/s wall")
print(f"ratio (wall)      {wall / kcat:10.2f}")
print(f"after kill -9, start-up {replay}")
PY
