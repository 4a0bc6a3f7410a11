#pragma once

// The standard Theta method (Assimakopoulos & Nikolopoulos 2000) in the form of R's thetaf and
// the M4 benchmark: on the seasonally adjusted series (M4's 90 % test and multiplicative
// decomposition), simple exponential smoothing with drift equal to half the slope of the linear
// trend (Hyndman & Billah 2003). Pure function, thread-safe.

#include <span>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {

// Point forecasts ŷ_{n+j} = SES_{n+j} + b·((j − 1) + (1 − (1 − α)^n)/α), b = slope/2, then
// re-seasonalised; intervals from the SES variance σ²·(1 + (j − 1)α²). For non-negative data the
// forecasts and bounds are clipped at 0 (as M4's Theta.classic). INVALID_ARGUMENT for a bad
// series, h or m; FAILED_PRECONDITION with fewer than 6 observations.
absl::StatusOr<Forecast> ThetaForecast(std::span<const double> y, int h, int m,
                                       AcfWindow window = AcfWindow::kRDefault);

}  // namespace prm::forecast
