#!/usr/bin/env bash
# SPEC §9, first row: GetPartner and GetEnrollment on the real partner-registry binary against the
# empty RPC (Probe.Ping on prm-probe-server, bench/rpc/) — same server stack (Serve, JWT, RED
# metrics), same load tool (ghz), same options, same run, same CPUs.
#
#   bench/partner/rpc_run.sh [BUILD_DIR]     (default ./build; needs bin/partner-registry and
#                                             bin/prm-probe-server)
#
# Environment: GHZ (default ~/go/bin/ghz), PARTNERS loaded (100000), TOTAL requests per run
# (100000), CONCURRENCY (50), ROUNDS (3), HALF_CONCURRENCY (10), OPEN_LOOP_COUNT (30000), IDS
# distinct partner ids the reads cycle through (1000), KAFKA_BROKERS (default 127.0.0.1:1, i.e.
# none: the reads need no broker, and a real one would receive the load's ~300,000 events on
# prm.partner.v1 while a fresh consumer group re-reads prm.sales.v1 / prm.deal.v1 — never point
# it at a shared broker),
# PORT (50190) and PROBE_PORT (50191),
# SERVER_CPU (0), LOADER_CPU (1), DATA_DIR (default: a temporary directory, removed at the end):
# a DATA_DIR kept from an earlier run with the same PARTNERS is reused — the registry replays its
# command log at start-up (the time is reported) instead of loading again.
#
# 1. Starts partner-registry (fresh data dir, --sqlite-durability=normal) pinned to SERVER_CPU and
#    loads one program and PARTNERS partners (realistic attributes: 1–3 countries, a region, 1–2
#    verticals, types, an ERP account, contacts) through CreatePartner, each enrolled through
#    CreateEnrollment — the same gRPC API a client uses. Reports load rate and RSS.
# 2. ROUNDS times, interleaved so that a noisy neighbour hurts all alike: Probe.Ping on a fresh
#    prm-probe-server, GetPartner, GetEnrollment — each warmed with 10,000 calls, then TOTAL calls
#    with CONCURRENCY clients on one connection. The reads cycle through IDS random partners
#    (ghz sends the messages of a JSON array round-robin), as a vendor channel manager.
# 3. Each of the three at half of its own median peak (--rps) with CONCURRENCY and
#    HALF_CONCURRENCY clients: the "p99 ≤ 5 ms at half of peak" figure. Then the same rates open
#    loop (prm-bench-rpc-open-loop, bench/rpc/open_loop.cc: OPEN_LOOP_COUNT calls, default 30,000,
#    started at fixed instants whatever the replies do, latency from each call's scheduled
#    instant): the latency a caller sees at that load, without ghz's worker pacing and pauses.
# Besides QPS and latency it reads each server's CPU time from /proc and reports server CPU µs per
# RPC: on 2 cores ghz saturates its own core first, so QPS compares the loader and CPU-per-RPC
# compares the servers (bench/README.md, "rpc").
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
registry=$build/bin/partner-registry
probe=$build/bin/prm-probe-server
open_loop=$build/bin/prm-bench-rpc-open-loop
ghz=${GHZ:-$HOME/go/bin/ghz}
partners=${PARTNERS:-100000}
total=${TOTAL:-100000}
concurrency=${CONCURRENCY:-50}
half_clients=${HALF_CONCURRENCY:-10}
rounds=${ROUNDS:-3}
ids=${IDS:-1000}
brokers=${KAFKA_BROKERS:-127.0.0.1:1}
port=${PORT:-50190}
probe_port=${PROBE_PORT:-50191}
open_loop_count=${OPEN_LOOP_COUNT:-30000}
server_cpu=${SERVER_CPU:-0}
loader_cpu=${LOADER_CPU:-1}
probe_proto=$root/tests/support/probe.proto

for f in "$registry" "$probe" "$open_loop" "$ghz"; do
  [[ -x $f ]] || {
    echo "missing $f (build partner-registry, prm-probe-server, prm-bench-rpc-open-loop; set GHZ)" >&2
    exit 1
  }
done

work=$(mktemp -d /tmp/prm-bench-partner-rpc.XXXXXX)
data=${DATA_DIR:-$work/data}
preloaded=false
compgen -G "$data/*.sqlite" >/dev/null && preloaded=true
secret=prm-bench-secret-0123456789abcdef
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
mint_token() {  # role, vendors JSON array → an HS256 JWT valid 2 h (iss prm-bench, aud prm)
  local header payload signature
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"prm-bench","aud":"prm","sub":"bench-%s","exp":%d,"prm_role":"%s","prm_vendors":%s}' \
    "$1" $(($(date +%s) + 7200)) "$1" "$2" | b64url)
  signature=$(printf '%s' "$header.$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}
admin_token=$(mint_token vendor_admin '["acme"]')
reader_token=$(mint_token channel_manager '["acme"]')
probe_token=$(mint_token service '[]')

registry_pid= probe_pid=
stop() {  # pid variable name
  local -n pid=$1
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}
cleanup() { stop probe_pid; stop registry_pid; rm -rf "$work"; }
trap cleanup EXIT

# ghz against partner-registry: call, extra args... (JSON report on stdout)
ghz_registry() {
  local call=$1
  shift
  taskset -c "$loader_cpu" "$ghz" --insecure --import-paths "$root/proto" \
    --proto "$root/proto/prm/partner/v1/partner_service.proto" \
    --call "prm.partner.v1.PartnerRegistry/$call" "$@" "127.0.0.1:$port"
}
ghz_probe() {
  taskset -c "$loader_cpu" "$ghz" --insecure --proto "$probe_proto" \
    --call prm.testing.v1.Probe/Ping -d '{}' "$@" "127.0.0.1:$probe_port"
}
# ghz JSON → "rps p50_ms p99_ms errors"
summarize() {
  python3 -c '
import json, sys
r = json.load(sys.stdin)
pct = {p["percentage"]: p["latency"] / 1e6 for p in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errors = sum(n for code, n in codes.items() if code != "OK")
if errors:
  print("errors:", r.get("errorDistribution"), file=sys.stderr)
nan = float("nan")
print("%.0f %.3f %.3f %d" % (r["rps"], pct.get(50, nan), pct.get(99, nan), errors))'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user+system of all threads
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

start_registry() {
  taskset -c "$server_cpu" "$registry" --data-dir="$data" --sqlite-durability=normal \
    --kafka-brokers="$brokers" --kafka-group="prm-bench-partner-rpc-$$" \
    --grpc-listen="127.0.0.1:$port" --metrics-listen= --log-level=warn \
    --jwt-secret="$secret" --jwt-issuer=prm-bench --jwt-audience=prm \
    --partner-tick-interval=1h --rate-limit=0 >>"$work/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 600); do
    if ghz_registry ListPrograms -n 1 -c 1 -d '{"vendor_id":"acme"}' \
         -m "{\"authorization\":\"Bearer $admin_token\"}" --format=json 2>/dev/null |
         python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("statusCodeDistribution",{}).get("OK") else 1)'; then
      return
    fi
    sleep 0.2
  done
  echo "partner-registry did not start:" >&2
  cat "$work/registry.log" >&2
  exit 1
}
start_probe() {
  taskset -c "$server_cpu" "$probe" --grpc-listen="127.0.0.1:$probe_port" --metrics-listen= \
    --log-level=warn --jwt-secret="$secret" --rate-limit=0 >"$work/probe.log" 2>&1 &
  probe_pid=$!
  for _ in $(seq 50); do
    if ghz_probe -n 1 -c 1 -m "{\"authorization\":\"Bearer $probe_token\"}" >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  echo "prm-probe-server did not start" >&2
  exit 1
}

# --- 1. load --------------------------------------------------------------------------------
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$data"
start_at=$(date +%s.%N)
start_registry
ready_secs=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $start_at))")
idle_rss=$(rss_mib "$registry_pid")

# Partner and enrollment requests: ghz sends the messages of an array round-robin, one per call.
python3 - "$partners" "$ids" "$work" <<'EOF'
import json, random, sys
n, ids, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(42)
countries = ["DE", "FR", "GB", "NL", "BE", "AT", "CH", "IT", "ES", "PT", "SE", "NO", "DK", "FI",
             "PL", "CZ", "IE", "US", "CA", "MX", "BR", "AR", "JP", "KR", "SG", "AU", "NZ", "IN",
             "ZA", "AE"]
regions = ["EMEA-NORTH", "EMEA-SOUTH", "DACH", "BENELUX", "NORDICS", "NA", "LATAM", "APAC"]
verticals = ["healthcare", "finance", "retail", "manufacturing", "public", "education",
             "energy", "telecom", "media", "logistics", "hospitality", "legal", "insurance",
             "automotive", "pharma", "agriculture", "construction", "real-estate", "travel",
             "non-profit"]
types = ["PARTNER_TYPE_RESELLER", "PARTNER_TYPE_VAR", "PARTNER_TYPE_DISTRIBUTOR",
         "PARTNER_TYPE_MSP", "PARTNER_TYPE_SYSTEM_INTEGRATOR"]
with open(f"{work}/partners.json", "w") as f:
    reqs = []
    for i in range(n):
        cc = rng.sample(countries, rng.randint(1, 3))
        reqs.append({"vendor_id": "acme", "partner": {
            "legal_name": f"Bench Partner {i} GmbH", "display_name": f"Bench {i}",
            "tax_id": f"BENCH{i:08d}", "web_domains": [f"partner{i}.bench.example"],
            "hq_country_code": cc[0], "country_codes": cc,
            "sales_regions": [rng.choice(regions)],
            "verticals": rng.sample(verticals, rng.randint(1, 2)),
            "types": rng.sample(types, rng.randint(1, 2)),
            "external_ids": [{"vendor_id": "acme", "erp_system_id": "sap",
                              "account_id": f"ACC-{i:08d}"}],
            "carried_vendors": [{"name": v} for v in rng.sample(
                ["Cisco", "Dell", "HP", "Lenovo", "Microsoft", "VMware", "Fortinet"], 3)],
            "contacts": [{"display_name": f"Contact {i}", "email": f"sales@partner{i}.bench.example",
                          "roles": ["CONTACT_ROLE_SALES"]}],
            "attributes": {"segment": rng.choice(["smb", "mid", "enterprise"])}}})
    json.dump(reqs, f)
# Ids are the directory's counter: program-1 first, then partner-2 .. partner-(n+1).
with open(f"{work}/enroll.json", "w") as f:
    json.dump([{"enrollment": {"vendor_id": "acme", "partner_id": f"partner-{i + 2}",
                               "program_id": "program-1"}} for i in range(n)], f)
picked = [rng.randrange(n) + 2 for _ in range(ids)]
with open(f"{work}/get_partner.json", "w") as f:
    json.dump([{"partner_id": f"partner-{p}"} for p in picked], f)
with open(f"{work}/get_enrollment.json", "w") as f:
    json.dump([{"vendor_id": "acme", "partner_id": f"partner-{p}"} for p in picked], f)
EOF

admin_md="{\"authorization\":\"Bearer $admin_token\"}"
program='{"program":{"vendor_id":"acme","display_name":"Bench program",
  "competencies":[{"competency_id":"cloud","display_name":"Cloud","max_level":3}],
  "tiers":[{"tier_id":"registered","display_name":"Registered","benefits":{"deal_protection_days":30}},
    {"tier_id":"silver","display_name":"Silver","benefits":{"deal_protection_days":60},
     "requirements":{"min_trailing_revenue":{"currency_code":"EUR","units":100000}}},
    {"tier_id":"gold","display_name":"Gold","benefits":{"deal_protection_days":90},
     "requirements":{"min_trailing_revenue":{"currency_code":"EUR","units":500000},
                     "required_competencies":[{"competency_id":"cloud"}]}}],
  "downgrade_grace_period":"2592000s"}}'
if $preloaded; then
  echo "loaded:  reused $data: serving after ${ready_secs} s (command log replayed);" \
    "partner-registry RSS $(rss_mib "$registry_pid") MiB"
else
read -r _ _ _ errors < <(ghz_registry CreateProgram -n 1 -c 1 -m "$admin_md" -d "$program" \
  --format=json | summarize)
[[ $errors == 0 ]] || { echo "CreateProgram failed" >&2; exit 1; }  # program-1
load_start=$(date +%s.%N)
read -r partner_rate _ _ errors < <(ghz_registry CreatePartner -n "$partners" -c 32 -m "$admin_md" \
  -D "$work/partners.json" --format=json | summarize)
[[ $errors == 0 ]] || { echo "CreatePartner: $errors errors" >&2; exit 1; }
read -r enroll_rate _ _ errors < <(ghz_registry CreateEnrollment -n "$partners" -c 32 -m "$admin_md" \
  -D "$work/enroll.json" --format=json | summarize)
[[ $errors == 0 ]] || { echo "CreateEnrollment: $errors errors" >&2; exit 1; }
load_secs=$(python3 -c "print('%.0f' % ($(date +%s.%N) - $load_start))")
loaded_rss=$(rss_mib "$registry_pid")
echo "loaded:  $partners partners, each enrolled, in ${load_secs} s (CreatePartner $partner_rate/s," \
  "CreateEnrollment $enroll_rate/s, 32 clients); partner-registry RSS idle ${idle_rss} MiB," \
  "loaded ${loaded_rss} MiB"
fi
# The registry's background CPU (consumer poll, outbox relay, timers) while idle: CPU us/RPC
# below is net of it (the "raw" column includes it).
t0=$(ticks "$registry_pid"); sleep 10; t1=$(ticks "$registry_pid")
registry_idle=$(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK) / 10)")  # CPU s per s
echo "idle:    partner-registry uses $(python3 -c "print('%.1f' % (100 * $registry_idle))") % of a" \
  "core with no calls"
echo "load:    ghz -c $concurrency -n $total after a 10000-call warm-up, 1 connection; servers on" \
  "CPU $server_cpu, ghz on CPU $loader_cpu; reads cycle through $ids partners; $rounds round(s)"
echo

# --- 2. peak, interleaved -------------------------------------------------------------------
row() { printf '%-46s %7s %8s %8s %6s %10s %6s %5s\n' "$@"; }
row "run" "QPS" "p50 ms" "p99 ms" "errors" "CPU us/RPC" "raw" "CPU %"
# measured PID IDLE ghz-function args... → sets rps p50 p99 errors cpu_us (net of IDLE CPU s/s)
# cpu_raw and cpu_pct (server CPU while loaded, % of one core)
measured() {
  local pid=$1 idle=$2 fn=$3 t0 t1 start end
  shift 3
  t0=$(ticks "$pid"); start=$(date +%s.%N)
  read -r rps p50 p99 errors < <("$fn" "$@" --format=json | summarize)
  end=$(date +%s.%N); t1=$(ticks "$pid")
  read -r cpu_us cpu_raw cpu_pct < <(python3 -c "
ticks, hz, calls, secs = $t1 - $t0, $(getconf CLK_TCK), $total, $end - $start
busy = ticks / hz
print('%.1f %.1f %.0f' % ((busy - $idle * secs) * 1e6 / calls, busy * 1e6 / calls,
                          100 * busy / secs))")
}
reader_md="{\"authorization\":\"Bearer $reader_token\"}"
probe_md="{\"authorization\":\"Bearer $probe_token\"}"
ping() { ghz_probe -m "$probe_md" -c "${clients:-$concurrency}" "$@"; }
get_partner() {
  ghz_registry GetPartner -m "$reader_md" -D "$work/get_partner.json" -c "${clients:-$concurrency}" "$@"
}
get_enrollment() {
  ghz_registry GetEnrollment -m "$reader_md" -D "$work/get_enrollment.json" \
    -c "${clients:-$concurrency}" "$@"
}
declare -a ping_rps ping_cpu gp_rps gp_cpu ge_rps ge_cpu
for round in $(seq "$rounds"); do
  start_probe
  ping -n 10000 >/dev/null
  measured "$probe_pid" 0 ping -n "$total"
  row "[$round] empty RPC (Probe.Ping)" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  ping_rps+=("$rps"); ping_cpu+=("$cpu_us")
  stop probe_pid
  get_partner -n 10000 >/dev/null
  measured "$registry_pid" "$registry_idle" get_partner -n "$total"
  row "[$round] GetPartner" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  gp_rps+=("$rps"); gp_cpu+=("$cpu_us")
  get_enrollment -n 10000 >/dev/null
  measured "$registry_pid" "$registry_idle" get_enrollment -n "$total"
  row "[$round] GetEnrollment" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  ge_rps+=("$rps"); ge_cpu+=("$cpu_us")
done

median() { python3 -c 'import statistics as s, sys; print("%g" % s.median(map(float, sys.argv[1:])))' "$@"; }
ping_peak=$(median "${ping_rps[@]}"); gp_peak=$(median "${gp_rps[@]}"); ge_peak=$(median "${ge_rps[@]}")
ping_c=$(median "${ping_cpu[@]}"); gp_c=$(median "${gp_cpu[@]}"); ge_c=$(median "${ge_cpu[@]}")

# --- 3. half of peak ------------------------------------------------------------------------
echo
start_probe
ping -n 10000 >/dev/null
declare -A half_p99
for c in "$concurrency" "$half_clients"; do
  half=$(python3 -c "print(int(float('$ping_peak') / 2))")
  clients=$c measured "$probe_pid" 0 ping -n "$total" --rps "$half"
  row "empty RPC at half peak (--rps $half, -c $c)" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  half_p99[ping,$c]=$p99
done
stop probe_pid
for c in "$concurrency" "$half_clients"; do
  half=$(python3 -c "print(int(float('$gp_peak') / 2))")
  clients=$c measured "$registry_pid" "$registry_idle" get_partner -n "$total" --rps "$half"
  row "GetPartner at half peak (--rps $half, -c $c)" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  half_p99[gp,$c]=$p99
  half=$(python3 -c "print(int(float('$ge_peak') / 2))")
  clients=$c measured "$registry_pid" "$registry_idle" get_enrollment -n "$total" --rps "$half"
  row "GetEnrollment at half peak (--rps $half, -c $c)" "$rps" "$p50" "$p99" "$errors" "$cpu_us" "$cpu_raw" "$cpu_pct"
  half_p99[ge,$c]=$p99
done
# label method data-file token port rate → a row, and sets ol_p99
measured_open_loop() {
  local out
  out=$(taskset -c "$loader_cpu" "$open_loop" --target="127.0.0.1:$5" --method="$2" \
    --data_file="$3" --authorization="Bearer $4" --rate="$6" --count="$open_loop_count")
  read -r ol_rps ol_errors ol_p50 ol_p99 < <(python3 -c '
import re, sys
f = dict(re.findall(r"([a-z0-9.]+)=([0-9.]+)", sys.argv[1]))
print(f["achieved"], f["errors"], f["p50"], f["p99"])' "$out")
  row "$1 open loop (rate $6)" "$ol_rps" "$ol_p50" "$ol_p99" "$ol_errors" "" "" ""
}
echo '[{}]' >"$work/ping.json"
start_probe
ping -n 10000 >/dev/null
measured_open_loop "empty RPC" prm.testing.v1.Probe/Ping "$work/ping.json" "$probe_token" \
  "$probe_port" "$(python3 -c "print(int(float('$ping_peak') / 2))")"
half_p99[ping,open]=$ol_p99
stop probe_pid
measured_open_loop "GetPartner" prm.partner.v1.PartnerRegistry/GetPartner \
  "$work/get_partner.json" "$reader_token" "$port" \
  "$(python3 -c "print(int(float('$gp_peak') / 2))")"
half_p99[gp,open]=$ol_p99
measured_open_loop "GetEnrollment" prm.partner.v1.PartnerRegistry/GetEnrollment \
  "$work/get_enrollment.json" "$reader_token" "$port" \
  "$(python3 -c "print(int(float('$ge_peak') / 2))")"
half_p99[ge,open]=$ol_p99
echo "partner-registry RSS after the run: $(rss_mib "$registry_pid") MiB"

echo
echo "medians over $rounds round(s):   QPS   ratio to empty   CPU us/RPC   CPU ratio (empty/this)"
ratio() { python3 -c "print('%.2f' % (float('$1') / float('$2')))"; }
printf '%-22s %9s %16s %12s %24s\n' "empty RPC" "$ping_peak" "1.00" "$ping_c" "1.00"
printf '%-22s %9s %16s %12s %24s\n' "GetPartner" "$gp_peak" "$(ratio "$gp_peak" "$ping_peak")" \
  "$gp_c" "$(ratio "$ping_c" "$gp_c")"
printf '%-22s %9s %16s %12s %24s\n' "GetEnrollment" "$ge_peak" "$(ratio "$ge_peak" "$ping_peak")" \
  "$ge_c" "$(ratio "$ping_c" "$ge_c")"
echo "p99 at half of peak, ghz -c $concurrency / ghz -c $half_clients / open loop:" \
  "empty ${half_p99[ping,$concurrency]} / ${half_p99[ping,$half_clients]} /" \
  "${half_p99[ping,open]} ms; GetPartner ${half_p99[gp,$concurrency]} /" \
  "${half_p99[gp,$half_clients]} / ${half_p99[gp,open]} ms; GetEnrollment" \
  "${half_p99[ge,$concurrency]} / ${half_p99[ge,$half_clients]} / ${half_p99[ge,open]} ms"
