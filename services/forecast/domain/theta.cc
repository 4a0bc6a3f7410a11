#include "services/forecast/domain/theta.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "common/status/status_macros.h"
#include "services/forecast/domain/ets.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {

absl::StatusOr<Forecast> ThetaForecast(std::span<const double> y, int h, int m,
                                       AcfWindow window) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  if (y.size() < 6) {
    return absl::FailedPreconditionError("Theta needs at least 6 observations");
  }
  const SeasonalAdjustment sa = SeasonallyAdjust(y, m, h, window);
  const std::vector<double>& x = sa.adjusted;
  ASSIGN_OR_RETURN(EtsModel ses, FitEts(x, 1, EtsSpec{}));
  const std::size_t n = x.size();
  // Least-squares slope of x on 0..n−1.
  const double mean_t = (static_cast<double>(n) - 1.0) / 2.0;
  double mean_x = 0.0;
  for (double v : x) mean_x += v;
  mean_x /= static_cast<double>(n);
  double sxy = 0.0;
  double sxx = 0.0;
  for (std::size_t t = 0; t < n; ++t) {
    const double dt = static_cast<double>(t) - mean_t;
    sxy += dt * (x[t] - mean_x);
    sxx += dt * dt;
  }
  const double drift = 0.5 * sxy / sxx;
  const double alpha = ses.alpha;
  const double start = (1.0 - std::pow(1.0 - alpha, static_cast<double>(n))) / alpha;
  Forecast f;
  const std::size_t hh = static_cast<std::size_t>(h);
  f.mean.resize(hh);
  std::vector<double> sd(hh);
  for (std::size_t j = 0; j < hh; ++j) {
    f.mean[j] = ses.level + drift * (static_cast<double>(j) + start);
    sd[j] = std::sqrt(ses.sigma2 * (1.0 + static_cast<double>(j) * alpha * alpha));
  }
  SetNormalIntervals(f, sd);
  const bool non_negative = *std::min_element(y.begin(), y.end()) >= 0.0;
  for (std::size_t j = 0; j < hh; ++j) {
    const double s = sa.future_index[j];
    for (std::vector<double>* v : {&f.mean, &f.lower80, &f.upper80, &f.lower95, &f.upper95}) {
      (*v)[j] *= s;
      if (non_negative) (*v)[j] = std::max((*v)[j], 0.0);
    }
  }
  f.model.method = Method::kTheta;
  f.model.specification = sa.seasonal ? "Theta(seasonally adjusted)" : "Theta";
  f.model.season_length = sa.seasonal ? m : 1;
  f.model.parameters["theta"] = 2.0;
  f.model.parameters["alpha"] = alpha;
  f.model.parameters["drift"] = drift;
  f.model.parameters["l0"] = ses.initial_level;
  return f;
}

}  // namespace prm::forecast
