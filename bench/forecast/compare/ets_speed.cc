// Speed and accuracy of the engine's automatic ETS selection alone on an M4 subset, for the
// side-by-side comparison with R forecast::ets and statsforecast AutoETS (bench/forecast/compare).
//
//   prm-bench-forecast-ets-speed --subset=Weekly|Hourly [--limit=N] [--m4_dir=DIR]
//                                [--forecasts_out=FILE]
//
// Per series: SelectEts(train, m) over ets's default space (error A/M, trend N/A/Ad, season N/A/M,
// no multiplicative trend, no A error with M season, multiplicative components only on strictly
// positive data, season only for 1 < m <= 24), then the point forecast of the chosen model over
// the M4 horizon. ForecastEts also computes the 80/95 % intervals; they are inside the timed part
// (so the figure is conservative for us). Times are the process CPU time (loading excluded).
// sMAPE and MASE as the M4 `Benchmarks and Evaluation.R` (MASE with the M4 m).
// Last line: "RESULT tool subset series cpu_s ms_per_series sMAPE MASE failures".

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "services/forecast/domain/accuracy.h"
#include "services/forecast/domain/ets.h"
#include "services/forecast/domain/m4_dataset.h"
#include "services/forecast/domain/naive.h"

namespace {

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = Flag(argc, argv, "m4_dir", M4_DIR);
  const std::string name = Flag(argc, argv, "subset", "Weekly");
  const int limit = std::atoi(Flag(argc, argv, "limit", "0").c_str());
  const std::string out_path = Flag(argc, argv, "forecasts_out", "");

  absl::StatusOr<prm::forecast::M4Subset> subset = prm::forecast::LoadM4Subset(dir, name);
  if (!subset.ok()) {
    std::fprintf(stderr, "cannot load M4 %s from %s: %s\n", name.c_str(), dir.c_str(),
                 subset.status().ToString().c_str());
    return 1;
  }
  std::vector<prm::forecast::M4Series>& series = subset->series;
  if (limit > 0 && static_cast<int>(series.size()) > limit) series.resize(limit);
  const int h = subset->horizon;
  const int m = subset->season_length;
  const int n = static_cast<int>(series.size());

  // Timed part: selection + point forecasts only; metrics afterwards.
  std::vector<std::vector<double>> forecasts(n);
  std::vector<std::string> models(n);
  int failures = 0;
  const double cpu0 = CpuSeconds();
  const double wall0 = WallSeconds();
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<prm::forecast::EtsSelection> sel = prm::forecast::SelectEts(series[i].train, m);
    if (sel.ok()) {
      absl::StatusOr<prm::forecast::Forecast> f = prm::forecast::ForecastEts(sel->best, h);
      if (f.ok()) {
        forecasts[i] = std::move(f->mean);
        models[i] = sel->best.spec.Name();
        continue;
      }
    }
    ++failures;
  }
  const double cpu = CpuSeconds() - cpu0;
  const double wall = WallSeconds() - wall0;

  double smape = 0.0;
  double mase = 0.0;
  std::map<std::string, int> model_counts;
  FILE* out = out_path.empty() ? nullptr : std::fopen(out_path.c_str(), "w");
  for (int i = 0; i < n; ++i) {
    if (forecasts[i].empty()) {  // never expected; scored as Naive2 and counted
      forecasts[i] = prm::forecast::Naive2Forecast(series[i].train, h, m)->mean;
      models[i] = "failed->Naive2";
    }
    smape += prm::forecast::Smape(series[i].test, forecasts[i]);
    mase += prm::forecast::Mase(series[i].train, series[i].test, forecasts[i], m);
    ++model_counts[models[i]];
    if (out != nullptr) {
      std::fprintf(out, "%s,%s", series[i].id.c_str(), models[i].c_str());
      for (double v : forecasts[i]) std::fprintf(out, ",%.10g", v);
      std::fprintf(out, "\n");
    }
  }
  if (out != nullptr) std::fclose(out);
  smape /= n;
  mase /= n;

  std::printf("PRM SelectEts+ForecastEts, M4 %s: %d series, h = %d, m = %d\n", name.c_str(), n, h,
              m);
  std::printf("CPU %.3f s (wall %.3f s), %.2f ms/series, sMAPE %.3f, MASE %.3f, failures %d\n",
              cpu, wall, 1000.0 * cpu / n, smape, mase, failures);
  std::printf("chosen models:");
  for (const auto& [model, count] : model_counts) std::printf(" %s=%d", model.c_str(), count);
  std::printf("\n");
  std::printf("RESULT prm %s %d %.4f %.3f %.4f %.4f %d\n", name.c_str(), n, cpu, 1000.0 * cpu / n,
              smape, mase, failures);
  return 0;
}
