#include "services/forecast/domain/naive.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "common/status/status_macros.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {
namespace {

// Root mean squared lag-k difference (0 when the series is too short).
double LagSigma(std::span<const double> y, std::size_t k) {
  if (y.size() <= k) return 0.0;
  double s = 0.0;
  for (std::size_t t = k; t < y.size(); ++t) s += (y[t] - y[t - k]) * (y[t] - y[t - k]);
  return std::sqrt(s / static_cast<double>(y.size() - k));
}

}  // namespace

absl::StatusOr<Forecast> NaiveForecast(std::span<const double> y, int h) {
  RETURN_IF_ERROR(ValidateSeries(y, h, 1));
  Forecast f;
  f.mean.assign(static_cast<std::size_t>(h), y.back());
  const double sigma = LagSigma(y, 1);
  std::vector<double> sd(f.mean.size());
  for (std::size_t i = 0; i < sd.size(); ++i) sd[i] = sigma * std::sqrt(static_cast<double>(i + 1));
  SetNormalIntervals(f, sd);
  f.model.method = Method::kNaive;
  f.model.specification = "Naive";
  return f;
}

absl::StatusOr<Forecast> SeasonalNaiveForecast(std::span<const double> y, int h, int m) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  const std::size_t mm = static_cast<std::size_t>(m);
  if (m == 1 || y.size() < mm) return NaiveForecast(y, h);
  Forecast f;
  const std::size_t n = y.size();
  f.mean.resize(static_cast<std::size_t>(h));
  std::vector<double> sd(f.mean.size());
  const double sigma = LagSigma(y, mm);
  for (std::size_t i = 0; i < f.mean.size(); ++i) {
    f.mean[i] = y[n - mm + i % mm];
    sd[i] = sigma * std::sqrt(static_cast<double>(i / mm + 1));
  }
  SetNormalIntervals(f, sd);
  f.model.method = Method::kSeasonalNaive;
  f.model.specification = "SNaive";
  f.model.season_length = m;
  return f;
}

absl::StatusOr<Forecast> Naive2Forecast(std::span<const double> y, int h, int m) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  const SeasonalAdjustment sa = SeasonallyAdjust(y, m, h);
  ASSIGN_OR_RETURN(Forecast f, NaiveForecast(sa.adjusted, h));
  for (std::size_t i = 0; i < f.mean.size(); ++i) {
    const double s = sa.future_index[i];
    f.mean[i] *= s;
    f.lower80[i] *= s;
    f.upper80[i] *= s;
    f.lower95[i] *= s;
    f.upper95[i] *= s;
  }
  f.model.method = Method::kNaive2;
  f.model.specification = sa.seasonal ? "Naive2(seasonally adjusted)" : "Naive2";
  f.model.season_length = sa.seasonal ? m : 1;
  return f;
}

}  // namespace prm::forecast
