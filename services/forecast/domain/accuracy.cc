#include "services/forecast/domain/accuracy.h"

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>

namespace prm::forecast {
namespace {

void CheckSameLength(std::size_t a, std::size_t b) {
  if (a != b) std::abort();
}

}  // namespace

double Smape(std::span<const double> actual, std::span<const double> forecast) {
  CheckSameLength(actual.size(), forecast.size());
  if (actual.empty()) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    sum += 200.0 * std::abs(actual[i] - forecast[i]) /
           (std::abs(actual[i]) + std::abs(forecast[i]));
  }
  return sum / static_cast<double>(actual.size());
}

double MaseScale(std::span<const double> insample, int m) {
  const std::size_t lag = static_cast<std::size_t>(m < 1 ? 1 : m);
  if (insample.size() <= lag) return std::numeric_limits<double>::infinity();
  double sum = 0.0;
  for (std::size_t t = lag; t < insample.size(); ++t) {
    sum += std::abs(insample[t] - insample[t - lag]);
  }
  return sum / static_cast<double>(insample.size() - lag);
}

double Mase(std::span<const double> insample, std::span<const double> actual,
            std::span<const double> forecast, int m) {
  CheckSameLength(actual.size(), forecast.size());
  if (actual.empty()) return 0.0;
  const double scale = MaseScale(insample, m);
  double sum = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) sum += std::abs(actual[i] - forecast[i]);
  return sum / static_cast<double>(actual.size()) / scale;
}

double Msis(std::span<const double> insample, std::span<const double> actual,
            std::span<const double> lower, std::span<const double> upper, int m, double a) {
  CheckSameLength(actual.size(), lower.size());
  CheckSameLength(actual.size(), upper.size());
  if (actual.empty()) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    sum += upper[i] - lower[i];
    if (actual[i] < lower[i]) sum += 2.0 / a * (lower[i] - actual[i]);
    if (actual[i] > upper[i]) sum += 2.0 / a * (actual[i] - upper[i]);
  }
  return sum / static_cast<double>(actual.size()) / MaseScale(insample, m);
}

double Coverage(std::span<const double> actual, std::span<const double> lower,
                std::span<const double> upper) {
  CheckSameLength(actual.size(), lower.size());
  CheckSameLength(actual.size(), upper.size());
  if (actual.empty()) return 0.0;
  int inside = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] >= lower[i] && actual[i] <= upper[i]) ++inside;
  }
  return static_cast<double>(inside) / static_cast<double>(actual.size());
}

double Owa(double smape, double mase, double smape_naive2, double mase_naive2) {
  return 0.5 * (smape / smape_naive2 + mase / mase_naive2);
}

}  // namespace prm::forecast
