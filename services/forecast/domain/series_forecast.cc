#include "services/forecast/domain/series_forecast.h"

#include <algorithm>
#include <cmath>
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

absl::StatusOr<Forecast> SumForecasts(const std::vector<Forecast>& children) {
  if (children.empty()) return absl::InvalidArgumentError("nothing to sum");
  const size_t h = children.front().mean.size();
  Forecast sum;
  sum.mean.assign(h, 0);
  std::vector<double> lo80(h, 0), hi80(h, 0), lo95(h, 0), hi95(h, 0);
  for (const Forecast& c : children) {
    if (c.mean.size() != h || c.lower80.size() != h || c.upper80.size() != h ||
        c.lower95.size() != h || c.upper95.size() != h) {
      return absl::InvalidArgumentError("children forecasts have different horizons");
    }
    for (size_t i = 0; i < h; ++i) {
      sum.mean[i] += c.mean[i];
      lo80[i] += (c.mean[i] - c.lower80[i]) * (c.mean[i] - c.lower80[i]);
      hi80[i] += (c.upper80[i] - c.mean[i]) * (c.upper80[i] - c.mean[i]);
      lo95[i] += (c.mean[i] - c.lower95[i]) * (c.mean[i] - c.lower95[i]);
      hi95[i] += (c.upper95[i] - c.mean[i]) * (c.upper95[i] - c.mean[i]);
    }
  }
  for (size_t i = 0; i < h; ++i) {
    sum.lower80.push_back(sum.mean[i] - std::sqrt(lo80[i]));
    sum.upper80.push_back(sum.mean[i] + std::sqrt(hi80[i]));
    // The 95 % interval is never narrower than the 80 % one.
    sum.lower95.push_back(std::min(sum.lower80[i], sum.mean[i] - std::sqrt(lo95[i])));
    sum.upper95.push_back(std::max(sum.upper80[i], sum.mean[i] + std::sqrt(hi95[i])));
  }
  return sum;
}

}  // namespace prm::forecast
