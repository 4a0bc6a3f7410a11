#include "services/forecast/domain/short_history.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "common/status/status_macros.h"

namespace prm::forecast {

absl::StatusOr<Forecast> ShortHistoryForecast(std::span<const double> y, int h) {
  RETURN_IF_ERROR(ValidateSeries(y, h, 1));
  const std::size_t n = y.size();
  const std::size_t k = std::min<std::size_t>(n, 3);
  double level = 0.0;
  for (std::size_t t = n - k; t < n; ++t) level += y[t];
  level /= static_cast<double>(k);
  double sigma = 0.0;
  if (n >= 2) {
    for (std::size_t t = 1; t < n; ++t) sigma += (y[t] - y[t - 1]) * (y[t] - y[t - 1]);
    sigma = std::sqrt(sigma / static_cast<double>(n - 1));
  }
  if (sigma == 0.0) sigma = std::max(0.5 * std::abs(level), 1.0);
  const double widen = 1.0 + 2.0 / static_cast<double>(n);
  Forecast f;
  const std::size_t hh = static_cast<std::size_t>(h);
  f.mean.assign(hh, level);
  std::vector<double> sd(hh);
  for (std::size_t j = 0; j < hh; ++j) {
    sd[j] = sigma * std::sqrt(static_cast<double>(j + 1)) * widen;
  }
  SetNormalIntervals(f, sd);
  if (*std::min_element(y.begin(), y.end()) >= 0.0) {
    for (std::size_t j = 0; j < hh; ++j) {
      f.lower80[j] = std::max(f.lower80[j], 0.0);
      f.lower95[j] = std::max(f.lower95[j], 0.0);
    }
  }
  f.model.method = Method::kShortHistory;
  f.model.specification = n == 1 ? "ShortHistory(naive)" : "ShortHistory(mean)";
  f.model.parameters = {{"level", level}, {"sigma", sigma}};
  return f;
}

}  // namespace prm::forecast
