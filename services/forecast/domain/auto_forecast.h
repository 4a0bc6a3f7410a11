#pragma once

// The engine's automatic forecaster (SPEC §7.2): routes a series to the short-history path, the
// intermittent-demand methods or the model-based methods, and by default takes the median of
// seasonal naive, ETS (AICc selection) and, for fewer than two seasons, damped trend or Theta.
// Pure functions, thread-safe.

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "services/forecast/domain/ets.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

enum class AutoStrategy {
  kEtsOnly,      // ETS chosen by AICc
  kCombination,  // median of the CombinationForecast members
};

struct AutoOptions {
  AutoStrategy strategy = AutoStrategy::kCombination;
  // Histories shorter than this take the short-history path.
  int short_history_length = 10;
  // Secondary season lengths besides m, e.g. {24} for hourly data with m = 168.
  std::vector<int> extra_seasons;
  EtsOptions ets;
};

// Decision order: n < short_history_length → ShortHistoryForecast; IsIntermittent → SBA;
// otherwise the strategy (a member that cannot be fitted falls back to the short-history path).
// For non-negative data forecasts and bounds are clipped at 0. INVALID_ARGUMENT for an empty or
// non-finite series, h < 1 or m < 1.
absl::StatusOr<Forecast> AutoForecast(std::span<const double> y, int h, int m,
                                      const AutoOptions& options = {});

// Per horizon, the median of each point forecast and bound over the members:
//  - seasonal naive at each season length s in {m} ∪ extra_seasons with n >= 2s;
//  - ETS by AICc: seasonal itself when the longest season L <= ets.max_season_length, otherwise
//    non-seasonal on the series adjusted by classical multiplicative decomposition at L (when the
//    90 % autocorrelation test over L lags finds that season);
//  - then, while there are fewer than three members, damped trend ETS(A,Ad,N) and the Theta method,
//    each on the series adjusted the same way at L.
// So m = 1 gives median(ETS, damped, Theta), weekly m = 52 median(SNaive52, ETS, damped) and
// hourly m = 168 with extra season 24 median(SNaive24, SNaive168, ETS).
// Codes as AutoForecast, plus FAILED_PRECONDITION when ETS cannot be fitted (n too small).
absl::StatusOr<Forecast> CombinationForecast(std::span<const double> y, int h, int m,
                                             const AutoOptions& options = {});

// The forecast of the given methods, for evaluating them (RunBacktest's `methods`): one method
// alone, several as the per-horizon median of each point and bound, as CombinationForecast
// combines. ETS is chosen by AICc (seasonal as CombinationForecast's ETS member); Theta and
// seasonal naive use season m; Croston, SBA and TSB their default smoothing. kCombination is the
// engine's AutoForecast. Codes as the methods' own; INVALID_ARGUMENT for no method.
absl::StatusOr<Forecast> MethodsForecast(std::span<const double> y, int h, int m,
                                         const std::vector<Method>& methods,
                                         const AutoOptions& options = {});

}  // namespace prm::forecast
