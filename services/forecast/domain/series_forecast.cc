#include "services/forecast/domain/series_forecast.h"

#include <utility>

#include "common/status/status_macros.h"
#include "services/forecast/domain/auto_forecast.h"

namespace prm::forecast {

int SeasonLength(Granularity granularity) {
  switch (granularity) {
    case Granularity::kWeek:
      return 52;
    case Granularity::kMonth:
      return 12;
    case Granularity::kQuarter:
      return 4;
  }
  return 1;
}

int DefaultHorizon(Granularity granularity) {
  switch (granularity) {
    case Granularity::kWeek:
      return 13;
    case Granularity::kMonth:
      return 12;
    case Granularity::kQuarter:
      return 4;
  }
  return 1;
}

absl::StatusOr<SeriesForecast> ForecastSeries(const SalesLedger& ledger,
                                              const SeriesSelector& selector,
                                              Granularity granularity, int horizon,
                                              int fiscal_year_start_month) {
  ASSIGN_OR_RETURN(SeriesHistory history,
                   ledger.Series(selector, granularity, fiscal_year_start_month));
  return ForecastSeries(std::move(history), granularity, horizon, fiscal_year_start_month);
}

absl::StatusOr<SeriesForecast> ForecastSeries(SeriesHistory history, Granularity granularity,
                                              int horizon, int fiscal_year_start_month) {
  if (horizon < 1) return absl::InvalidArgumentError("horizon must be at least 1");
  if (history.periods.empty()) return absl::InvalidArgumentError("the history is empty");
  SeriesForecast result;
  result.history = std::move(history);
  std::vector<double> y;
  y.reserve(result.history.periods.size());
  for (const PeriodAmount& p : result.history.periods) y.push_back(p.amount.ToDouble());
  ASSIGN_OR_RETURN(result.forecast, AutoForecast(y, horizon, SeasonLength(granularity)));
  absl::CivilDay start = result.history.periods.back().end + 1;
  for (int i = 0; i < horizon; ++i) {
    auto period = SalesLedger::PeriodOf(start, granularity, fiscal_year_start_month);
    result.future_periods.push_back(period);
    start = period.second + 1;
  }
  return result;
}

}  // namespace prm::forecast
