#!/usr/bin/env bash
# Kafka throughput through common/kafka versus kcat, same broker, same topic, same run.
# Starts its own throw-away broker on a free loopback port and stops it at the end.
#
#   bench/kafka/run.sh [records] [value bytes]      (defaults: 500000 200)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
count=${1:-500000}
size=${2:-200}
bin=${BUILD_DIR:-$root/build}/bin
dir=$(mktemp -d -t prm-bench-kafka.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'deploy/local/kafka stop --data-dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
deploy/local/kafka start --port "$port" --data-dir "$dir" >/dev/null
printf 'bench.kafka.prm 6 -\nbench.kafka.kcat 6 -\n' >"$dir/topics.txt"
deploy/local/kafka create-topics --port "$port" --topics "$dir/topics.txt" >/dev/null
brokers=127.0.0.1:$port

# kcat: produce `count` lines of `size` bytes (keyed like the C++ run), then read them back.
python3 -c "
import sys
v = 'x' * $size
out = sys.stdout
for i in range($count):
    out.write(f'k{i % 1000}\t{v}\n')
" >"$dir/input.txt"
t0=$(date +%s.%N)
kcat -P -b "$brokers" -t bench.kafka.kcat -K $'\t' -X enable.idempotence=true -X acks=all \
  -X linger.ms=2 -l "$dir/input.txt"
t1=$(date +%s.%N)
kcat -C -b "$brokers" -t bench.kafka.kcat -o beginning -e -q -c "$count" -f '' 
t2=$(date +%s.%N)
kcat_produce=$(python3 -c "print(int($count / ($t1 - $t0)))")
kcat_consume=$(python3 -c "print(int($count / ($t2 - $t1)))")

ours=$("$bin/prm-bench-kafka" --kafka-brokers="$brokers" --topic=bench.kafka.prm --count="$count" \
  --size="$size")
prm_produce=$(awk '/produce_events_per_s/ {print $2}' <<<"$ours")
prm_consume=$(awk '/consume_events_per_s/ {print $2}' <<<"$ours")

printf '%s records of %s bytes, 6 partitions, broker on 127.0.0.1, %s cores\n' "$count" "$size" "$(nproc)"
printf '%-10s %14s %14s %8s\n' "" "common/kafka" "kcat" "ratio"
printf '%-10s %14s %14s %8.2f\n' produce "$prm_produce" "$kcat_produce" \
  "$(python3 -c "print($prm_produce / $kcat_produce)")"
printf '%-10s %14s %14s %8.2f\n' consume "$prm_consume" "$kcat_consume" \
  "$(python3 -c "print($prm_consume / $kcat_consume)")"
