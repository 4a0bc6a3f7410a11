#include "services/forecast/domain/seasonality.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

namespace prm::forecast {

std::vector<double> Autocorrelations(std::span<const double> y, int max_lag) {
  const std::size_t n = y.size();
  std::vector<double> r;
  if (n < 2 || max_lag < 1) return r;
  double mean = 0.0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(n);
  double c0 = 0.0;
  for (double v : y) c0 += (v - mean) * (v - mean);
  const std::size_t lags = std::min<std::size_t>(static_cast<std::size_t>(max_lag), n - 1);
  r.resize(lags);
  for (std::size_t k = 1; k <= lags; ++k) {
    double ck = 0.0;
    for (std::size_t t = 0; t + k < n; ++t) ck += (y[t] - mean) * (y[t + k] - mean);
    r[k - 1] = ck / c0;
  }
  return r;
}

bool SeasonalityTest(std::span<const double> y, int m, AcfWindow window) {
  const std::size_t n = y.size();
  if (m <= 1 || n < 3 * static_cast<std::size_t>(m)) return false;
  // R: acf(input)$acf with lag.max = floor(10 * log10(n)); xacf[m] is NA beyond it.
  int lag_max = static_cast<int>(std::floor(10.0 * std::log10(static_cast<double>(n))));
  if (window == AcfWindow::kSeasonLength) lag_max = std::max(lag_max, m);
  if (m > lag_max) return false;
  const std::vector<double> r = Autocorrelations(y, lag_max);
  if (static_cast<int>(r.size()) < m) return false;
  double sum = 1.0;
  for (int k = 0; k < m - 1; ++k) sum += 2.0 * r[k] * r[k];
  const double limit = 1.645 / std::sqrt(static_cast<double>(n)) * std::sqrt(sum);
  const double rm = r[m - 1];
  if (std::isnan(rm) || std::isnan(limit)) return false;
  return std::abs(rm) > limit;
}

Decomposition Decompose(std::span<const double> y, int m, DecompositionType type) {
  const std::size_t n = y.size();
  const std::size_t mm = static_cast<std::size_t>(m);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Decomposition d;
  d.trend.assign(n, nan);
  // Filter: c(0.5, 1, ..., 1, 0.5)/m for even m, rep(1/m, m) for odd m; centred (sides = 2).
  std::vector<double> w;
  if (mm % 2 == 0) {
    w.assign(mm + 1, 1.0 / m);
    w.front() = w.back() = 0.5 / m;
  } else {
    w.assign(mm, 1.0 / m);
  }
  const std::size_t k = w.size();
  const std::size_t offset = k / 2;
  for (std::size_t i = offset; i + (k - 1 - offset) < n; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < k; ++j) s += w[j] * y[i + offset - j];
    d.trend[i] = s;
  }
  std::vector<double> detrended(n, nan);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(d.trend[i])) continue;
    detrended[i] = type == DecompositionType::kAdditive ? y[i] - d.trend[i] : y[i] / d.trend[i];
  }
  d.figure.assign(mm, 0.0);
  for (std::size_t p = 0; p < mm; ++p) {
    double s = 0.0;
    int count = 0;
    for (std::size_t t = p; t < n; t += mm) {
      if (std::isnan(detrended[t])) continue;
      s += detrended[t];
      ++count;
    }
    d.figure[p] = count > 0 ? s / count : nan;
  }
  double mean = 0.0;
  for (double f : d.figure) mean += f;
  mean /= static_cast<double>(mm);
  for (double& f : d.figure) f = type == DecompositionType::kAdditive ? f - mean : f / mean;
  d.seasonal.resize(n);
  for (std::size_t t = 0; t < n; ++t) d.seasonal[t] = d.figure[t % mm];
  return d;
}

SeasonalAdjustment SeasonallyAdjust(std::span<const double> y, int m, int h, AcfWindow window) {
  SeasonalAdjustment out;
  out.seasonal = SeasonalityTest(y, m, window);
  out.adjusted.assign(y.begin(), y.end());
  out.future_index.assign(static_cast<std::size_t>(h), 1.0);
  if (!out.seasonal) return out;
  const Decomposition d = Decompose(y, m, DecompositionType::kMultiplicative);
  const std::size_t n = y.size();
  for (std::size_t t = 0; t < n; ++t) out.adjusted[t] = y[t] / d.seasonal[t];
  for (std::size_t i = 0; i < out.future_index.size(); ++i) {
    const std::size_t mm = static_cast<std::size_t>(m);
    out.future_index[i] = d.seasonal[n - mm + i % mm];
  }
  return out;
}

absl::StatusOr<Forecast> ForecastSeasonallyAdjusted(
    std::span<const double> y, int h, int m, AcfWindow window,
    const std::function<absl::StatusOr<Forecast>(std::span<const double>)>& method) {
  const SeasonalAdjustment sa = SeasonallyAdjust(y, m, h, window);
  absl::StatusOr<Forecast> f = method(sa.adjusted);
  if (!f.ok()) return f;
  for (std::size_t j = 0; j < f->mean.size() && j < sa.future_index.size(); ++j) {
    const double s = sa.future_index[j];
    for (std::vector<double>* v : {&f->mean, &f->lower80, &f->upper80, &f->lower95, &f->upper95}) {
      (*v)[j] *= s;
    }
  }
  if (sa.seasonal) {
    f->model.specification += " on seasonally adjusted data (m=" + std::to_string(m) + ")";
    f->model.season_length = m;
  }
  return f;
}

}  // namespace prm::forecast
