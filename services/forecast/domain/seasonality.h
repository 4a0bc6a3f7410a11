#pragma once

// Seasonality detection and classical decomposition as R's `acf`/`decompose` and the M4
// benchmarks' `SeasonalityTest` compute them. Pure functions, thread-safe.

#include <functional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

// Sample autocorrelations r_1..r_max_lag of a mean-centred series (R's acf, lags > n − 1 are
// dropped so the result may be shorter than max_lag).
std::vector<double> Autocorrelations(std::span<const double> y, int max_lag);

// Which autocorrelations the seasonality test may use.
enum class AcfWindow {
  // R's acf default lag.max = floor(10·log10 n), as the M4 code (so m = 168 never passes).
  kRDefault,
  // At least m lags, for long seasons (hourly data with m = 168).
  kSeasonLength,
};

// The M4 90 % seasonality test: false when m <= 1, n < 3m, or m exceeds the acf window;
// otherwise |r_m| > 1.645·sqrt((1 + 2·Σ_{k<m} r_k²) / n).
bool SeasonalityTest(std::span<const double> y, int m, AcfWindow window = AcfWindow::kRDefault);

enum class DecompositionType { kAdditive, kMultiplicative };

// R's decompose(): centred moving-average trend (NaN at the ends), seasonal figure per cycle
// position normalised to mean 0 (additive) or 1 (multiplicative), and the seasonal component
// laid over the series (position of index t is t mod m). Requires m >= 2 and n >= 2m.
struct Decomposition {
  std::vector<double> trend;
  std::vector<double> figure;
  std::vector<double> seasonal;
};
Decomposition Decompose(std::span<const double> y, int m, DecompositionType type);

// The seasonal adjustment of the M4 benchmarks (and of thetaf): when SeasonalityTest passes,
// divide by the multiplicative seasonal component and re-seasonalise forecasts with the last m
// indices; otherwise every index is 1.
struct SeasonalAdjustment {
  bool seasonal = false;
  std::vector<double> adjusted;       // length n
  std::vector<double> future_index;   // length h, multiply forecasts by these
};
SeasonalAdjustment SeasonallyAdjust(std::span<const double> y, int m, int h,
                                    AcfWindow window = AcfWindow::kRDefault);

// Runs `method` on the seasonally adjusted series (SeasonallyAdjust with m and window) and
// multiplies its point forecasts and bounds by the future seasonal indices. Returns the
// method's status on error; adds " on seasonally adjusted data (m)" to the specification and sets
// season_length when the series was adjusted.
absl::StatusOr<Forecast> ForecastSeasonallyAdjusted(
    std::span<const double> y, int h, int m, AcfWindow window,
    const std::function<absl::StatusOr<Forecast>(std::span<const double>)>& method);

}  // namespace prm::forecast
