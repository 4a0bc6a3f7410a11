#include "services/forecast/domain/intermittent.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "common/status/field_violations.h"
#include "common/status/status_macros.h"

namespace prm::forecast {
namespace {

absl::Status ValidateIntermittent(std::span<const double> y, int h, double alpha, double beta) {
  RETURN_IF_ERROR(ValidateSeries(y, h, 1));
  FieldViolations bad;
  if (!(alpha > 0.0 && alpha <= 1.0)) bad.Add("alpha", "must be in (0, 1]");
  if (!(beta > 0.0 && beta <= 1.0)) bad.Add("beta", "must be in (0, 1]");
  RETURN_IF_ERROR(bad.ToStatus("invalid smoothing parameters"));
  if (std::none_of(y.begin(), y.end(), [](double v) { return v != 0.0; })) {
    return absl::FailedPreconditionError("the series has no demand");
  }
  return absl::OkStatus();
}

// Flat forecast `rate` with intervals from the one-step errors.
Forecast FlatForecast(std::span<const double> y, const std::vector<double>& one_step, double rate,
                      int h, double alpha) {
  double sse = 0.0;
  int count = 0;
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (std::isnan(one_step[t])) continue;
    sse += (y[t] - one_step[t]) * (y[t] - one_step[t]);
    ++count;
  }
  const double sigma = count > 0 ? std::sqrt(sse / count) : std::abs(rate);
  Forecast f;
  const std::size_t hh = static_cast<std::size_t>(h);
  f.mean.assign(hh, rate);
  std::vector<double> sd(hh);
  for (std::size_t j = 0; j < hh; ++j) {
    sd[j] = sigma * std::sqrt(1.0 + static_cast<double>(j) * alpha * alpha);
  }
  SetNormalIntervals(f, sd);
  if (*std::min_element(y.begin(), y.end()) >= 0.0) {
    for (std::size_t j = 0; j < hh; ++j) {
      f.lower80[j] = std::max(f.lower80[j], 0.0);
      f.lower95[j] = std::max(f.lower95[j], 0.0);
    }
  }
  return f;
}

struct CrostonState {
  double size = 0.0;
  double interval = 0.0;
  std::vector<double> one_step;  // rate forecast made before each period (NaN before the first)
};

CrostonState RunCroston(std::span<const double> y, double alpha, double bias) {
  CrostonState st;
  st.one_step.assign(y.size(), std::nan(""));
  bool started = false;
  int since = 0;
  for (std::size_t t = 0; t < y.size(); ++t) {
    ++since;
    if (started) st.one_step[t] = bias * st.size / st.interval;
    if (y[t] == 0.0) continue;
    if (!started) {
      st.size = y[t];
      st.interval = since;
      started = true;
    } else {
      st.size += alpha * (y[t] - st.size);
      st.interval += alpha * (since - st.interval);
    }
    since = 0;
  }
  return st;
}

}  // namespace

Intermittency MeasureIntermittency(std::span<const double> y) {
  Intermittency out;
  double sum = 0.0;
  double sum2 = 0.0;
  for (double v : y) {
    if (v == 0.0) continue;
    ++out.nonzero;
    sum += v;
    sum2 += v * v;
  }
  if (y.empty()) return out;
  out.zero_share = 1.0 - static_cast<double>(out.nonzero) / static_cast<double>(y.size());
  if (out.nonzero == 0) return out;
  out.adi = static_cast<double>(y.size()) / out.nonzero;
  const double mean = sum / out.nonzero;
  const double var = sum2 / out.nonzero - mean * mean;
  out.cv2 = mean != 0.0 ? std::max(var, 0.0) / (mean * mean) : 0.0;
  return out;
}

bool IsIntermittent(std::span<const double> y) {
  if (y.empty() || *std::min_element(y.begin(), y.end()) < 0.0) return false;
  const Intermittency i = MeasureIntermittency(y);
  return i.nonzero >= 2 && i.adi > 1.32;
}

absl::StatusOr<Forecast> CrostonForecast(std::span<const double> y, int h, double alpha) {
  RETURN_IF_ERROR(ValidateIntermittent(y, h, alpha, 0.5));
  const CrostonState st = RunCroston(y, alpha, 1.0);
  Forecast f = FlatForecast(y, st.one_step, st.size / st.interval, h, alpha);
  f.model.method = Method::kCroston;
  f.model.specification = "Croston";
  f.model.parameters = {{"alpha", alpha}, {"size", st.size}, {"interval", st.interval}};
  return f;
}

absl::StatusOr<Forecast> SbaForecast(std::span<const double> y, int h, double alpha) {
  RETURN_IF_ERROR(ValidateIntermittent(y, h, alpha, 0.5));
  const double bias = 1.0 - alpha / 2.0;
  const CrostonState st = RunCroston(y, alpha, bias);
  Forecast f = FlatForecast(y, st.one_step, bias * st.size / st.interval, h, alpha);
  f.model.method = Method::kSba;
  f.model.specification = "SBA";
  f.model.parameters = {{"alpha", alpha}, {"size", st.size}, {"interval", st.interval}};
  return f;
}

absl::StatusOr<Forecast> TsbForecast(std::span<const double> y, int h, double alpha,
                                     double beta) {
  RETURN_IF_ERROR(ValidateIntermittent(y, h, alpha, beta));
  const Intermittency stats = MeasureIntermittency(y);
  double probability = 1.0 - stats.zero_share;
  double size = 0.0;
  for (double v : y) {
    if (v != 0.0) {
      size = v;
      break;
    }
  }
  std::vector<double> one_step(y.size());
  for (std::size_t t = 0; t < y.size(); ++t) {
    one_step[t] = probability * size;
    const bool demand = y[t] != 0.0;
    probability += beta * ((demand ? 1.0 : 0.0) - probability);
    if (demand) size += alpha * (y[t] - size);
  }
  Forecast f = FlatForecast(y, one_step, probability * size, h, std::max(alpha, beta));
  f.model.method = Method::kTsb;
  f.model.specification = "TSB";
  f.model.parameters = {
      {"alpha", alpha}, {"beta", beta}, {"probability", probability}, {"size", size}};
  return f;
}

}  // namespace prm::forecast
