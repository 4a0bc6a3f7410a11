#pragma once

// Intermittent-demand methods for lumpy series (big deals): Croston (1972), the
// Syntetos–Boylan approximation (2005) and Teunter–Syntetos–Babai (2011), plus the
// Syntetos–Boylan classification used to route series to them. Pure functions, thread-safe.

#include <span>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

struct Intermittency {
  int nonzero = 0;
  double adi = 0.0;         // average inter-demand interval: n / number of non-zero periods
  double cv2 = 0.0;         // squared coefficient of variation of the non-zero sizes
  double zero_share = 0.0;  // share of periods with no demand
};
Intermittency MeasureIntermittency(std::span<const double> y);

// True for non-negative series with at least two demands and ADI > 1.32 (Syntetos–Boylan's
// cut-off between smooth/erratic and intermittent/lumpy demand).
bool IsIntermittent(std::span<const double> y);

// Croston: exponential smoothing (alpha, initialised at the first value) of the non-zero sizes
// z and of the intervals p between them (the first interval counts from the start); flat
// forecast z/p. Intervals: σ of the in-sample one-step errors, sd_j = σ·sqrt(1 + (j − 1)α²),
// lower bounds clipped at 0. INVALID_ARGUMENT for a bad series or h, or alpha outside (0, 1];
// FAILED_PRECONDITION when the series has no demand at all.
absl::StatusOr<Forecast> CrostonForecast(std::span<const double> y, int h, double alpha = 0.1);

// Croston's rate times (1 − alpha/2), which removes its bias.
absl::StatusOr<Forecast> SbaForecast(std::span<const double> y, int h, double alpha = 0.1);

// TSB: demand probability smoothed every period (beta), size only when demand occurs (alpha);
// forecast probability × size. Same intervals and codes as Croston.
absl::StatusOr<Forecast> TsbForecast(std::span<const double> y, int h, double alpha = 0.1,
                                     double beta = 0.1);

}  // namespace prm::forecast
