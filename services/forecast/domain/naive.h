#pragma once

// Benchmark forecasters of the M4 competition: naive, seasonal naive and Naive2 (naive on the
// seasonally adjusted series). Pure functions, thread-safe. Each returns INVALID_ARGUMENT for an
// empty or non-finite series, h < 1 or m < 1.

#include <span>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

// Last value repeated; intervals of a random walk: sd_h = σ·sqrt(h), σ² the mean squared
// one-step difference.
absl::StatusOr<Forecast> NaiveForecast(std::span<const double> y, int h);

// Last season repeated; sd_h = σ·sqrt(⌊(h − 1)/m⌋ + 1), σ² the mean squared lag-m difference.
// Falls back to NaiveForecast when n < m.
absl::StatusOr<Forecast> SeasonalNaiveForecast(std::span<const double> y, int h, int m);

// M4's Naive2: naive forecast of the series divided by its multiplicative seasonal component
// (only when SeasonalityTest passes), multiplied back by the last m seasonal indices.
absl::StatusOr<Forecast> Naive2Forecast(std::span<const double> y, int h, int m);

}  // namespace prm::forecast
