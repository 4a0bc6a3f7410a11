#pragma once

// A forecast of one ledger series (SPEC §7.2 on §7.1's buckets): the series read from the
// SalesLedger, the automatic engine run on it, and the future periods the points belong to.
// Pure function of the ledger's state; thread-safe as long as the ledger is not written
// concurrently.

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/forecast/domain/forecast_types.h"
#include "services/forecast/domain/sales_ledger.h"

namespace prm::forecast {

struct SeriesForecast {
  SeriesHistory history;
  // One per future period: first and last day.
  std::vector<std::pair<absl::CivilDay, absl::CivilDay>> future_periods;
  Forecast forecast;
};

// Season length of a granularity: 52 weeks, 12 months, 4 quarters.
int SeasonLength(Granularity granularity);

// Default horizon of a granularity: 13 weeks, 12 months, 4 quarters.
int DefaultHorizon(Granularity granularity);

// AutoForecast of `history` (non-empty) over `horizon` periods after its last period.
// INVALID_ARGUMENT for horizon < 1 or an empty history.
absl::StatusOr<SeriesForecast> ForecastSeries(SeriesHistory history, Granularity granularity,
                                              int horizon, int fiscal_year_start_month = 1);

// The series' history and its AutoForecast over `horizon` periods after the last period.
// NOT_FOUND when the selection has no sale; INVALID_ARGUMENT for horizon < 1.
absl::StatusOr<SeriesForecast> ForecastSeries(const SalesLedger& ledger,
                                              const SeriesSelector& selector,
                                              Granularity granularity, int horizon,
                                              int fiscal_year_start_month = 1);

// Bottom-up reconciliation (SPEC §7.5): the point forecasts are the sums of the children's, so
// a parent equals the sum of its children exactly; each bound is the sum's mean plus or minus
// the root sum of squares of the children's distances from their mean to that bound (children
// taken as independent). Every child must have the same horizon; the model is left empty for
// the caller. INVALID_ARGUMENT for no children or unequal horizons.
absl::StatusOr<Forecast> SumForecasts(const std::vector<Forecast>& children);

}  // namespace prm::forecast
