"""Nixtla statsforecast AutoETS on an M4 subset, for the side-by-side comparison with the engine's
SelectEts (bench/forecast/compare/run.sh). Benchmark tool only.

    python ets_statsforecast.py M4_DIR SUBSET [LIMIT] [FORECASTS_OUT]

Per series: AutoETS(season_length=m).fit(y) with every other default (model="ZZZ",
damped=None: statsforecast's ets_f port of R's ets, allow_multiplicative_trend=False,
restrict=True, opt_crit="lik", ic="aicc", bounds="both", nmse=3, maxit=2000), then
predict(h, level=[80, 95]): point forecast plus the 80/95 % intervals, as R's forecast() and the
engine's ForecastEts compute them. m = 1 for Weekly, 24 for Hourly.
Older statsforecast (< 2.0) JIT-compiles its ETS kernels with numba on first use; 2.x runs them
in its compiled C++ extension (_lib) and has no numba. Either way one untimed warm-up fit on the
first series of the subset comes first (JIT compile / first-call costs), its time printed apart.
Time: process CPU (time.process_time) of the loop over all series (the warm-up series included
again). sMAPE and MASE as the M4 `Benchmarks and Evaluation.R` (MASE with the M4 m).
Last line: "RESULT tool subset series cpu_s ms_per_series sMAPE MASE failures".
"""

import csv
import sys
import time
import warnings
from collections import Counter

import numpy as np

H = {"Weekly": 13, "Hourly": 48}
M = {"Weekly": 1, "Hourly": 24}


def read_wide(path):
    out = []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            vals = np.array([float(c) for c in row[1:] if c != ""], dtype=np.float64)
            out.append((row[0], vals))
    return out


def smape_cal(outsample, forecasts):
    return float(np.mean(200.0 * np.abs(outsample - forecasts) /
                         (np.abs(outsample) + np.abs(forecasts))))


def mase_cal(insample, outsample, forecasts, freq):
    masep = np.mean(np.abs(insample[freq:] - insample[:-freq]))
    return float(np.mean(np.abs(outsample - forecasts)) / masep)


def main():
    import statsforecast
    from statsforecast.models import AutoETS

    directory, subset = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    out_path = sys.argv[4] if len(sys.argv) > 4 else ""
    h, m = H[subset], M[subset]
    train = read_wide(f"{directory}/{subset}-train.csv")
    test = read_wide(f"{directory}/{subset}-test.csv")
    if limit > 0:
        train, test = train[:limit], test[:limit]
    n = len(train)

    def run(y):
        model = AutoETS(season_length=m).fit(y)
        res = model.predict(h=h, level=[80, 95])
        return np.asarray(res["mean"], dtype=np.float64), model.model_["method"]

    warnings.simplefilter("ignore")
    w0, c0 = time.perf_counter(), time.process_time()
    run(train[0][1])  # first-call costs (numba JIT on statsforecast < 2.0), not timed
    warm_wall, warm_cpu = time.perf_counter() - w0, time.process_time() - c0

    forecasts, names, failures = [], [], 0
    c0, w0 = time.process_time(), time.perf_counter()
    for _, y in train:
        try:
            fc, name = run(y)
        except Exception:  # never expected; naive
            failures += 1
            fc, name = np.full(h, y[-1]), "failed->Naive"
        forecasts.append(fc)
        names.append(name)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0

    smape = float(np.mean([smape_cal(t[1], f) for t, f in zip(test, forecasts)]))
    mase = float(np.mean([mase_cal(tr[1], t[1], f, m)
                          for tr, t, f in zip(train, test, forecasts)]))
    models = Counter(names)
    if out_path:
        with open(out_path, "w") as f:
            for (sid, _), name, fc in zip(train, names, forecasts):
                f.write(",".join([sid, name] + [f"{v:.10g}" for v in fc]) + "\n")

    print(f"statsforecast {statsforecast.__version__} AutoETS, M4 {subset}: {n} series, "
          f"h = {h}, m = {m}")
    print(f"warm-up (first series, not counted): CPU {warm_cpu:.3f} s "
          f"(wall {warm_wall:.3f} s)")
    print(f"CPU {cpu:.3f} s (wall {wall:.3f} s), {1000 * cpu / n:.2f} ms/series, "
          f"sMAPE {smape:.3f}, MASE {mase:.3f}, failures {failures}")
    print("chosen models: " + " ".join(f"{k}={v}" for k, v in sorted(models.items())))
    print(f"RESULT statsforecast-AutoETS {subset} {n} {cpu:.4f} {1000 * cpu / n:.3f} "
          f"{smape:.4f} {mase:.4f} {failures}")


if __name__ == "__main__":
    main()
