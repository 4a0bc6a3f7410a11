#include "services/forecast/domain/forecast_types.h"

#include <cmath>
#include <cstddef>
#include <string>

#include "common/status/field_violations.h"

namespace prm::forecast {

void SetNormalIntervals(Forecast& forecast, std::span<const double> sd) {
  const std::size_t h = forecast.mean.size();
  forecast.lower80.resize(h);
  forecast.upper80.resize(h);
  forecast.lower95.resize(h);
  forecast.upper95.resize(h);
  for (std::size_t i = 0; i < h; ++i) {
    const double m = forecast.mean[i];
    forecast.lower80[i] = m - kZ80 * sd[i];
    forecast.upper80[i] = m + kZ80 * sd[i];
    forecast.lower95[i] = m - kZ95 * sd[i];
    forecast.upper95[i] = m + kZ95 * sd[i];
  }
}

absl::Status ValidateSeries(std::span<const double> y, int h, int m) {
  FieldViolations bad;
  if (y.empty()) bad.Add("series", "must have at least one observation");
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      bad.Add("series", "observation " + std::to_string(i) + " is not a finite number");
      break;
    }
  }
  if (h < 1) bad.Add("horizon", "must be at least 1");
  if (m < 1) bad.Add("season_length", "must be at least 1");
  return bad.ToStatus("invalid forecast input");
}

}  // namespace prm::forecast
