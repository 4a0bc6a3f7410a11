#!/usr/bin/env bash
# Side-by-side speed and accuracy of automatic ETS selection, one core, same series:
# the engine's SelectEts (prm-bench-forecast-ets-speed) vs R forecast::ets vs statsforecast AutoETS.
# Installs nothing; says what is missing. R and Python are benchmark tools only.
#
#   bench/forecast/compare/run.sh [--subsets="Weekly Hourly"] [--hourly-limit=N] [--weekly-limit=N]
#                                 [--build-dir=DIR] [--venv=DIR] [--m4-dir=DIR] [--cpu=1]
#                                 [--out=DIR]
#
# Defaults: both subsets, all series (Weekly 359, Hourly 414), build dir /tmp/build-fcmp,
# venv ~/.cache/prm/bench-venv, core 1, logs and per-series forecasts in /tmp/prm-ets-compare.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
subsets="Weekly Hourly"
weekly_limit=0
hourly_limit=0
build_dir=/tmp/build-fcmp
venv="$HOME/.cache/prm/bench-venv"
m4_dir="$(cd "$repo/.." && pwd)/shared/data/m4"
cpu=1
out=/tmp/prm-ets-compare
for arg in "$@"; do
  case "$arg" in
    --subsets=*) subsets="${arg#*=}" ;;
    --weekly-limit=*) weekly_limit="${arg#*=}" ;;
    --hourly-limit=*) hourly_limit="${arg#*=}" ;;
    --build-dir=*) build_dir="${arg#*=}" ;;
    --venv=*) venv="${arg#*=}" ;;
    --m4-dir=*) m4_dir="${arg#*=}" ;;
    --cpu=*) cpu="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# Single thread everywhere.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
  VECLIB_MAXIMUM_THREADS=1 NUMBA_NUM_THREADS=1

missing=0
bin="$build_dir/bin/prm-bench-forecast-ets-speed"
if [[ ! -x "$bin" ]]; then
  echo "missing $bin: cmake -S $repo -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&" \
       "ninja -C $build_dir prm-bench-forecast-ets-speed" >&2
  missing=1
fi
if ! command -v Rscript >/dev/null || ! Rscript -e 'suppressPackageStartupMessages(library(forecast))' >/dev/null 2>&1; then
  echo "missing R forecast: apt-get install -y r-cran-forecast" >&2
  missing=1
fi
py="$venv/bin/python"
if [[ ! -x "$py" ]] || ! "$py" -c 'import statsforecast' >/dev/null 2>&1; then
  echo "missing statsforecast: python3 -m venv $venv && $venv/bin/pip install statsforecast" >&2
  missing=1
fi
command -v taskset >/dev/null || { echo "missing taskset (util-linux)" >&2; missing=1; }
[[ -r "$m4_dir/Weekly-train.csv" ]] || { echo "no M4 data in $m4_dir (--m4-dir=)" >&2; missing=1; }
(( missing == 0 )) || exit 1

mkdir -p "$out"
r_ver="$(Rscript -e 'cat(R.version$major, ".", R.version$minor, sep = "")')"
fc_ver="$(Rscript -e 'cat(as.character(packageVersion("forecast")))')"
sf_ver="$("$py" -c 'import statsforecast; print(statsforecast.__version__)')"
nb_ver="$("$py" -c "import numba; print(numba.__version__)" 2>/dev/null || echo none)"
np_ver="$("$py" -c 'import numpy; print(numpy.__version__)')"
py_ver="$("$py" -c 'import platform; print(platform.python_version())')"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  core: $cpu (taskset -c $cpu)"
echo "versions: R $r_ver, forecast $fc_ver; Python $py_ver, statsforecast $sf_ver, numba $nb_ver, numpy $np_ver"
echo "engine: $bin (git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"

results="$out/results.txt"
: > "$results"
for subset in $subsets; do
  limit=0
  [[ "$subset" == Weekly ]] && limit="$weekly_limit"
  [[ "$subset" == Hourly ]] && limit="$hourly_limit"
  echo
  echo "== M4 $subset, limit ${limit} (0 = all series), one core =="
  taskset -c "$cpu" "$bin" --subset="$subset" --limit="$limit" --m4_dir="$m4_dir" \
    --forecasts_out="$out/prm-$subset.csv" | tee "$out/prm-$subset.log"
  taskset -c "$cpu" Rscript "$here/ets_r.R" "$m4_dir" "$subset" "$limit" "$out/r-$subset.csv" \
    | tee "$out/r-$subset.log"
  taskset -c "$cpu" "$py" "$here/ets_statsforecast.py" "$m4_dir" "$subset" "$limit" \
    "$out/sf-$subset.csv" | tee "$out/sf-$subset.log"
  grep -h '^RESULT' "$out/prm-$subset.log" "$out/r-$subset.log" "$out/sf-$subset.log" >> "$results"
done

echo
echo "Automatic ETS selection + point forecast, process CPU time on one core (ratio = tool ms / ours):"
echo
awk '
  { tool[NR] = $2; sub_[NR] = $3; n[NR] = $4; ms[NR] = $6; smape[NR] = $7; mase[NR] = $8;
    fail[NR] = $9; if ($2 == "prm") ours[$3] = $6 }
  END {
    print "| tool | subset | series | CPU ms/series | sMAPE | MASE | failures | time vs ours |"
    print "|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= NR; ++i)
      printf "| %s | %s | %d | %.2f | %.3f | %.3f | %d | %.2fx |\n", tool[i], sub_[i], n[i], ms[i],
             smape[i], mase[i], fail[i], ms[i] / ours[sub_[i]]
  }' "$results"
