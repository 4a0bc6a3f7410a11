#include "services/forecast/domain/backtest.h"

#include <cmath>
#include <span>

#include "services/forecast/domain/accuracy.h"
#include "services/forecast/domain/auto_forecast.h"
#include "services/forecast/domain/naive.h"

namespace prm::forecast {
namespace {

struct Scores {
  double smape = 0;
  double mase = 0;
  double smape_naive2 = 0;
  double mase_naive2 = 0;
};

bool Finite(const Scores& s) {
  return std::isfinite(s.smape) && std::isfinite(s.mase) && std::isfinite(s.smape_naive2) &&
         std::isfinite(s.mase_naive2);
}

}  // namespace

AccuracySummary Combine(const std::vector<AccuracySummary>& series) {
  AccuracySummary o;
  if (series.empty()) return o;
  for (const AccuracySummary& s : series) {
    o.smape += s.smape;
    o.mase += s.mase;
    o.smape_naive2 += s.smape_naive2;
    o.mase_naive2 += s.mase_naive2;
    o.series_count += s.series_count;
    o.point_count += s.point_count;
  }
  const double count = static_cast<double>(series.size());
  o.smape /= count;
  o.mase /= count;
  o.smape_naive2 /= count;
  o.mase_naive2 /= count;
  o.owa = Owa(o.smape, o.mase, o.smape_naive2, o.mase_naive2);
  return o;
}

absl::StatusOr<BacktestResult> RunBacktest(const std::vector<BacktestSeries>& series,
                                           const BacktestOptions& options) {
  if (options.horizon < 1 || options.origins < 1 || options.season_length < 1 ||
      options.mase_period < 1) {
    return absl::InvalidArgumentError("horizon, origins and season lengths must be at least 1");
  }
  const int h = options.horizon;
  BacktestResult result;
  for (const BacktestSeries& s : series) {
    const int n = static_cast<int>(s.values.size());
    if (n < h * (options.origins + 1) + options.season_length) {
      ++result.skipped_series_count;
      continue;
    }
    SeriesBacktest scored{.id = s.id};
    Scores sum;
    bool failed = false;
    for (int j = options.origins; j >= 1 && !failed; --j) {
      const int end = n - h * j;
      std::span<const double> train(s.values.data(), end);
      std::span<const double> actual(s.values.data() + end, h);
      absl::StatusOr<Forecast> engine =
          options.methods.empty()
              ? AutoForecast(train, h, options.season_length)
              : MethodsForecast(train, h, options.season_length, options.methods);
      absl::StatusOr<Forecast> naive2 = Naive2Forecast(train, h, options.season_length);
      if (!engine.ok() || !naive2.ok()) {
        failed = true;
        break;
      }
      scored.method = engine->model.method;
      sum.smape += Smape(actual, engine->mean);
      sum.mase += Mase(train, actual, engine->mean, options.mase_period);
      sum.smape_naive2 += Smape(actual, naive2->mean);
      sum.mase_naive2 += Mase(train, actual, naive2->mean, options.mase_period);
    }
    const double k = options.origins;
    Scores mean{sum.smape / k, sum.mase / k, sum.smape_naive2 / k, sum.mase_naive2 / k};
    if (failed || !Finite(mean)) {
      ++result.skipped_series_count;
      continue;
    }
    scored.accuracy = {.smape = mean.smape,
                       .mase = mean.mase,
                       .owa = Owa(mean.smape, mean.mase, mean.smape_naive2, mean.mase_naive2),
                       .smape_naive2 = mean.smape_naive2,
                       .mase_naive2 = mean.mase_naive2,
                       .series_count = 1,
                       .point_count = h * options.origins};
    result.series.push_back(std::move(scored));
  }
  std::vector<AccuracySummary> scored;
  for (const SeriesBacktest& b : result.series) scored.push_back(b.accuracy);
  result.overall = Combine(scored);
  return result;
}

}  // namespace prm::forecast
