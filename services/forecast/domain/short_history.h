#pragma once

// Forecasts for very short histories (new partners), too short for model fitting. Pure
// function, thread-safe.

#include <span>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

// Flat forecast at the mean of the last min(n, 3) observations ("ShortHistory(mean)"), or the
// single value when n = 1 ("ShortHistory(naive)"). The interval scale σ is the root mean squared
// one-step difference (n >= 2) or half the absolute value (n = 1, at least 1), widened for the
// estimation error: sd_j = σ·sqrt(j)·(1 + 2/n). Bounds are clipped at 0 for non-negative data.
// INVALID_ARGUMENT for an empty or non-finite series or h < 1.
absl::StatusOr<Forecast> ShortHistoryForecast(std::span<const double> y, int h);

}  // namespace prm::forecast
