#pragma once

// Rolling-origin backtests (SPEC §7.6): each series is cut at several origins, the engine
// forecasts the next `horizon` periods from the history before the cut, and the forecasts are
// scored with M4's sMAPE and MASE (accuracy.h) against the actuals and against Naive2 on the same
// points, giving OWA. Pure function; thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

struct BacktestSeries {
  std::string id;
  std::vector<double> values;  // oldest first
};

struct BacktestOptions {
  int horizon = 13;
  int origins = 1;
  int season_length = 52;  // m of the models
  int mase_period = 1;     // m of MASE's scale (M4: 1 weekly, 12 monthly, 4 quarterly)
  // The methods evaluated (MethodsForecast); empty = the engine's AutoForecast.
  std::vector<Method> methods;
};

// Mean sMAPE and MASE of the engine and of Naive2 over a set of points, and OWA.
struct AccuracySummary {
  double smape = 0;
  double mase = 0;
  double owa = 0;
  double smape_naive2 = 0;
  double mase_naive2 = 0;
  int series_count = 0;
  int point_count = 0;
};

struct SeriesBacktest {
  std::string id;
  Method method = Method::kEts;  // the engine's choice at the last origin
  AccuracySummary accuracy;
};

struct BacktestResult {
  std::vector<SeriesBacktest> series;  // in input order
  AccuracySummary overall;             // from the series' means, as M4 does
  // Series with fewer than horizon × (origins + 1) + season_length periods, or whose scores are
  // undefined (a constant training sample has no MASE scale; all-zero points no sMAPE).
  int skipped_series_count = 0;
};

// The accuracy of a set of scored series taken together, as `overall` is (the means of the
// series' means, OWA of those; point counts add up). Zero with no series.
AccuracySummary Combine(const std::vector<AccuracySummary>& series);

// The origins are horizon periods apart, the last one horizon periods before the end of each
// series. INVALID_ARGUMENT for horizon < 1, origins < 1 or a season length < 1.
absl::StatusOr<BacktestResult> RunBacktest(const std::vector<BacktestSeries>& series,
                                           const BacktestOptions& options);

}  // namespace prm::forecast
