#include "services/forecast/domain/ets.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <random>
#include <utility>

#include <Eigen/Dense>
#include <nlopt.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {
namespace {

constexpr double kTol = 1e-10;
constexpr double kHuge = 1e10;     // ets's HUGEN for divisions by ~0
constexpr double kPenalty = 1e12;  // objective outside the parameter region
// ets's default lower/upper for alpha, beta, gamma, phi.
constexpr std::array<double, 4> kLower = {1e-4, 1e-4, 1e-4, 0.8};
constexpr std::array<double, 4> kUpper = {0.9999, 0.9999, 0.9999, 0.98};

char Letter(Component c) {
  switch (c) {
    case Component::kNone: return 'N';
    case Component::kAdditive: return 'A';
    case Component::kMultiplicative: return 'M';
  }
  return '?';
}

struct Smoothing {
  double alpha = 0.0;
  double beta = 0.0;
  double gamma = 0.0;
  double phi = 1.0;
};

// One-step forecast from the states; `s` is the seasonal state of the period being forecast.
inline double Predict(const EtsSpec& spec, double l, double b, double phi, double s) {
  const double q = spec.trend == Component::kNone ? l : l + phi * b;
  switch (spec.season) {
    case Component::kNone: return q;
    case Component::kAdditive: return q + s;
    case Component::kMultiplicative: return q * s;
  }
  return q;
}

// State update after observing y, in the error-free form ets's C code uses (identical for
// additive and multiplicative errors).
inline void Update(const EtsSpec& spec, const Smoothing& p, double y, double& l, double& b,
                   double& s) {
  double q = l;
  double phib = 0.0;
  if (spec.trend != Component::kNone) {
    phib = p.phi * b;
    q = l + phib;
  }
  double level_target = y;
  if (spec.season == Component::kAdditive) {
    level_target = y - s;
  } else if (spec.season == Component::kMultiplicative) {
    level_target = std::abs(s) < kTol ? kHuge : y / s;
  }
  const double new_l = q + p.alpha * (level_target - q);
  if (spec.trend != Component::kNone) {
    b = phib + (p.beta / p.alpha) * (new_l - l - phib);
  }
  if (spec.season == Component::kAdditive) {
    s += p.gamma * (y - q - s);
  } else if (spec.season == Component::kMultiplicative) {
    const double target = std::abs(q) < kTol ? kHuge : y / q;
    s += p.gamma * (target - s);
  }
  l = new_l;
}

// ets's -2·log-likelihood up to a constant: n·log(SSE) (+ 2·Σ log|ŷ| for multiplicative error).
// Runs the filter from (l, b, season) and leaves the final states there. NaN when a forecast
// vanishes.
double FilterLikelihood(std::span<const double> y, const EtsSpec& spec, int m, const Smoothing& p,
                        double& l, double& b, std::vector<double>& season,
                        std::vector<double>* fitted, double* sse_out) {
  const bool seasonal = spec.season != Component::kNone;
  const bool mult_error = spec.error == Component::kMultiplicative;
  const double no_season = spec.season == Component::kMultiplicative ? 1.0 : 0.0;
  double sse = 0.0;
  double sum_log = 0.0;
  double prod = 1.0;
  int in_prod = 0;
  int pos = 0;
  double dummy = no_season;
  for (std::size_t t = 0; t < y.size(); ++t) {
    double& s = seasonal ? season[static_cast<std::size_t>(pos)] : dummy;
    const double f = Predict(spec, l, b, p.phi, s);
    if (!(std::abs(f) >= kTol)) return std::numeric_limits<double>::quiet_NaN();
    if (fitted != nullptr) (*fitted)[t] = f;
    const double e = mult_error ? (y[t] - f) / f : y[t] - f;
    sse += e * e;
    if (mult_error) {
      prod *= std::abs(f);
      if (++in_prod == 8) {
        sum_log += std::log(prod);
        prod = 1.0;
        in_prod = 0;
      }
    }
    Update(spec, p, y[t], l, b, s);
    if (seasonal && ++pos == m) pos = 0;
  }
  if (sse_out != nullptr) *sse_out = sse;
  double lik = static_cast<double>(y.size()) * std::log(sse);
  if (mult_error) lik += 2.0 * (sum_log + std::log(prod));
  return lik;
}

// True when every root of Σ c_i z^i lies inside |z| <= radius (Schur–Cohn step-down).
bool RootsWithinRadius(std::vector<double> c, double radius) {
  double r = 1.0;
  for (double& v : c) {
    v *= r;
    r *= radius;
  }
  std::size_t d = c.size() - 1;
  std::vector<double> q(d + 1);
  while (d > 0) {
    const double c0 = c[0];
    const double cd = c[d];
    if (!(std::abs(c0) < std::abs(cd))) return false;
    for (std::size_t i = 0; i < d; ++i) q[i] = (cd * c[i + 1] - c0 * c[d - 1 - i]) / cd;
    --d;
    for (std::size_t i = 0; i <= d; ++i) c[i] = q[i];
  }
  return true;
}

// ets's check.param with bounds = "both": the usual region and the admissible region.
bool ParametersAllowed(const EtsSpec& spec, const Smoothing& p, int m) {
  const bool trend = spec.trend != Component::kNone;
  const bool seasonal = spec.season != Component::kNone;
  if (p.alpha < kLower[0] || p.alpha > kUpper[0]) return false;
  if (trend && (p.beta < kLower[1] || p.beta > p.alpha || p.beta > kUpper[1])) return false;
  if (spec.damped && (p.phi < kLower[3] || p.phi > kUpper[3])) return false;
  if (seasonal && (p.gamma < kLower[2] || p.gamma > 1.0 - p.alpha || p.gamma > kUpper[2])) {
    return false;
  }
  // Admissible region (ets's admissible()).
  const double phi = spec.damped ? p.phi : 1.0;
  const double beta = trend ? p.beta : 0.0;
  if (phi < 0.0 || phi > 1.0 + 1e-8) return false;
  if (!seasonal) {
    if (p.alpha < 1.0 - 1.0 / phi || p.alpha > 1.0 + 1.0 / phi) return false;
    if (trend && (beta < p.alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - p.alpha))) {
      return false;
    }
    return true;
  }
  if (m <= 1) return true;
  const double a = p.alpha;
  const double g = p.gamma;
  if (g < std::max(1.0 - 1.0 / phi - a, 0.0) || g > 1.0 + 1.0 / phi - a) return false;
  if (a < 1.0 - 1.0 / phi - g * (1.0 - m + phi + phi * m) / (2.0 * phi * m)) return false;
  if (beta < -(1.0 - phi) * (g / m + a)) return false;
  std::vector<double> poly;
  poly.reserve(static_cast<std::size_t>(m) + 2);
  poly.push_back(phi * (1.0 - a - g));
  poly.push_back(a + beta - a * phi + g - 1.0);
  for (int i = 0; i < m - 2; ++i) poly.push_back(a + beta - a * phi);
  poly.push_back(a + beta - phi);
  poly.push_back(1.0);
  // ets accepts max |root| <= 1 + 1e-10; a unit root is structural for undamped seasonal models.
  return RootsWithinRadius(std::move(poly), 1.0 + 1e-7);
}

struct InitialStates {
  double level = 0.0;
  double slope = 0.0;
  std::vector<double> season;  // by cycle position, position 0 is the normalising one
};

// ets's initstate(): decomposition (or a one-harmonic regression for n < 3m) for the season,
// then mean or least-squares line over the first max(10, 2m) seasonally adjusted points.
InitialStates HeuristicStates(std::span<const double> y, int m, const EtsSpec& spec) {
  const std::size_t n = y.size();
  InitialStates init;
  std::vector<double> adjusted(y.begin(), y.end());
  std::size_t period = 1;
  if (spec.season != Component::kNone) {
    period = static_cast<std::size_t>(m);
    const bool mult = spec.season == Component::kMultiplicative;
    std::vector<double> seasonal(n);
    if (n < 3 * period) {
      const bool with_sin = m > 2;
      const int cols = with_sin ? 4 : 3;
      Eigen::MatrixXd x(static_cast<Eigen::Index>(n), cols);
      Eigen::VectorXd yy(static_cast<Eigen::Index>(n));
      for (std::size_t t = 0; t < n; ++t) {
        const double tt = static_cast<double>(t + 1);
        const double angle = 2.0 * std::numbers::pi * tt / m;
        const auto r = static_cast<Eigen::Index>(t);
        x(r, 0) = 1.0;
        x(r, 1) = tt;
        int c = 2;
        if (with_sin) x(r, c++) = std::sin(angle);
        x(r, c) = std::cos(angle);
        yy(r) = y[t];
      }
      const Eigen::VectorXd coef = x.colPivHouseholderQr().solve(yy);
      for (std::size_t t = 0; t < n; ++t) {
        const double line = coef(0) + coef(1) * static_cast<double>(t + 1);
        seasonal[t] = mult ? y[t] / line : y[t] - line;
      }
    } else {
      seasonal = Decompose(y, m, mult ? DecompositionType::kMultiplicative
                                      : DecompositionType::kAdditive)
                     .seasonal;
    }
    init.season.assign(period, 0.0);
    double sum = 0.0;
    for (std::size_t p = 1; p < period; ++p) {
      init.season[p] = mult ? std::max(seasonal[p], 1e-2) : seasonal[p];
      sum += init.season[p];
    }
    if (mult && sum > m) {
      double denom = 0.0;
      for (std::size_t p = 1; p < period; ++p) denom += init.season[p] + 1e-2;
      for (std::size_t p = 1; p < period; ++p) init.season[p] /= denom;
    }
    for (std::size_t t = 0; t < n; ++t) {
      adjusted[t] = mult ? y[t] / std::max(seasonal[t], 1e-2) : y[t] - seasonal[t];
    }
  }
  const std::size_t maxn = std::min(std::max<std::size_t>(10, 2 * period), n);
  if (spec.trend == Component::kNone) {
    double s = 0.0;
    for (std::size_t t = 0; t < maxn; ++t) s += adjusted[t];
    init.level = s / static_cast<double>(maxn);
  } else {
    double mx = 0.0;
    double my = 0.0;
    for (std::size_t t = 0; t < maxn; ++t) {
      mx += static_cast<double>(t + 1);
      my += adjusted[t];
    }
    mx /= static_cast<double>(maxn);
    my /= static_cast<double>(maxn);
    double sxy = 0.0;
    double sxx = 0.0;
    for (std::size_t t = 0; t < maxn; ++t) {
      const double dx = static_cast<double>(t + 1) - mx;
      sxy += dx * (adjusted[t] - my);
      sxx += dx * dx;
    }
    init.slope = sxx > 0.0 ? sxy / sxx : 0.0;
    init.level = my - init.slope * mx;
    if (std::abs(init.level + init.slope) < 1e-8) {
      init.level *= 1.0 + 1e-3;
      init.slope *= 1.0 + 1e-3;
    }
  }
  return init;
}

// The optimisation problem: x = [alpha, beta?, gamma?, phi?, l0, b0?, s_1..s_{m−1}?].
struct Problem {
  std::span<const double> y;
  EtsSpec spec;
  int m = 1;
  std::vector<double> season;  // scratch
  // The optimizer varies the first `active` entries of `full`; the rest stay fixed.
  std::vector<double> full;
  unsigned active = 0;
};

struct Unpacked {
  Smoothing p;
  double level = 0.0;
  double slope = 0.0;
};

// Fills problem.season from x; false when the multiplicative seasonal states go negative.
bool Unpack(const double* x, Problem& pr, Unpacked& u) {
  std::size_t i = 0;
  const bool trend = pr.spec.trend != Component::kNone;
  const bool seasonal = pr.spec.season != Component::kNone;
  u.p.alpha = x[i++];
  if (trend) u.p.beta = x[i++];
  if (seasonal) u.p.gamma = x[i++];
  u.p.phi = pr.spec.damped ? x[i++] : 1.0;
  u.level = x[i++];
  u.slope = trend ? x[i++] : 0.0;
  if (seasonal) {
    const bool mult = pr.spec.season == Component::kMultiplicative;
    double sum = 0.0;
    for (int p = 1; p < pr.m; ++p) {
      pr.season[static_cast<std::size_t>(p)] = x[i];
      sum += x[i++];
    }
    pr.season[0] = (mult ? pr.m : 0.0) - sum;
    if (mult) {
      for (double s : pr.season) {
        if (s < 0.0) return false;
      }
    }
  }
  return true;
}

double Objective(unsigned /*n*/, const double* x, double* /*grad*/, void* data) {
  Problem& pr = *static_cast<Problem*>(data);
  std::copy(x, x + pr.active, pr.full.begin());
  Unpacked u;
  const bool states_ok = Unpack(pr.full.data(), pr, u);
  if (!ParametersAllowed(pr.spec, u.p, pr.m) || !states_ok) return kPenalty;
  double lik = FilterLikelihood(pr.y, pr.spec, pr.m, u.p, u.level, u.slope, pr.season, nullptr,
                                nullptr);
  if (std::isnan(lik) || lik > kPenalty) return kPenalty;
  if (lik < -1e10) lik = -1e10;
  return lik;
}

double ScaleOf(std::span<const double> y) {
  double mean = 0.0;
  for (double v : y) mean += std::abs(v);
  mean /= static_cast<double>(y.size());
  return mean > 0.0 ? mean : 1.0;
}

}  // namespace

std::string EtsSpec::Name() const {
  std::string trend(1, Letter(this->trend));
  if (damped && this->trend != Component::kNone) trend += 'd';
  return absl::StrCat("ETS(", std::string(1, Letter(error)), ",", trend, ",",
                      std::string(1, Letter(season)), ")");
}

absl::StatusOr<EtsModel> FitEts(std::span<const double> y, int m, const EtsSpec& spec,
                                const EtsOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, 1, m));
  const bool trend = spec.trend != Component::kNone;
  const bool seasonal = spec.season != Component::kNone;
  if (spec.trend == Component::kMultiplicative) {
    return absl::FailedPreconditionError("multiplicative trend is not supported");
  }
  if (spec.damped && !trend) {
    return absl::FailedPreconditionError(absl::StrCat(spec.Name(), ": damping needs a trend"));
  }
  if (seasonal && (m <= 1 || m > options.max_season_length)) {
    return absl::FailedPreconditionError(
        absl::StrCat(spec.Name(), ": seasonal models need 1 < m <= ", options.max_season_length));
  }
  if (spec.error == Component::kMultiplicative || spec.season == Component::kMultiplicative) {
    if (*std::min_element(y.begin(), y.end()) <= 0.0) {
      return absl::FailedPreconditionError(
          absl::StrCat(spec.Name(), ": multiplicative components need strictly positive data"));
    }
  }
  const int n = static_cast<int>(y.size());
  const int season_states = seasonal ? m : 0;
  const int r_params = 2 + (trend ? 2 : 0) + season_states + (spec.damped ? 1 : 0);
  if (n <= r_params + 4) {
    return absl::FailedPreconditionError(
        absl::StrCat(spec.Name(), ": ", n, " observations are too few"));
  }

  const InitialStates init = HeuristicStates(y, m, spec);
  // Starting smoothing parameters as ets's initparam().
  const int mm = seasonal ? m : 1;
  double alpha = kLower[0] + 0.2 * (kUpper[0] - kLower[0]) / mm;
  if (alpha > 1.0 || alpha < 0.0) alpha = kLower[0] + 2e-3;
  std::vector<double> x;
  std::vector<double> lb;
  std::vector<double> ub;
  std::vector<double> step;
  x.push_back(alpha);
  lb.push_back(kLower[0]);
  ub.push_back(kUpper[0]);
  step.push_back(0.1);
  if (trend) {
    const double upper = std::min(kUpper[1], alpha);
    double beta = kLower[1] + 0.1 * (upper - kLower[1]);
    if (beta < 0.0 || beta > alpha) beta = alpha - 1e-3;
    x.push_back(beta);
    lb.push_back(kLower[1]);
    ub.push_back(kUpper[1]);
    step.push_back(0.05);
  }
  if (seasonal) {
    const double upper = std::min(kUpper[2], 1.0 - alpha);
    double gamma = kLower[2] + 0.05 * (upper - kLower[2]);
    if (gamma < 0.0 || gamma > 1.0 - alpha) gamma = 1.0 - alpha - 1e-3;
    x.push_back(gamma);
    lb.push_back(kLower[2]);
    ub.push_back(kUpper[2]);
    step.push_back(0.05);
  }
  if (spec.damped) {
    x.push_back(kLower[3] + 0.99 * (kUpper[3] - kLower[3]));
    lb.push_back(kLower[3]);
    ub.push_back(kUpper[3]);
    step.push_back(0.02);
  }
  const unsigned n_smoothing = static_cast<unsigned>(x.size());
  const double scale = ScaleOf(y);
  const double inf = std::numeric_limits<double>::infinity();
  x.push_back(init.level);
  lb.push_back(-inf);
  ub.push_back(inf);
  step.push_back(0.1 * scale);
  if (trend) {
    x.push_back(init.slope);
    lb.push_back(-inf);
    ub.push_back(inf);
    step.push_back(0.01 * scale);
  }
  for (int p = 1; p < season_states; ++p) {
    x.push_back(init.season[static_cast<std::size_t>(p)]);
    lb.push_back(-inf);
    ub.push_back(inf);
    step.push_back(spec.season == Component::kMultiplicative ? 0.05 : 0.05 * scale);
  }

  Problem problem{y, spec, m, std::vector<double>(static_cast<std::size_t>(std::max(m, 1))), x,
                  0};
  const unsigned dim = static_cast<unsigned>(x.size());
  // Stage 1: smoothing parameters only, from the heuristic states (few dimensions, converges
  // fast); stage 2: everything, from there.
  double best = kPenalty;
  for (unsigned active : {n_smoothing, dim}) {
    problem.active = active;
    nlopt_opt opt = nlopt_create(NLOPT_LN_NELDERMEAD, active);
    if (opt == nullptr) return absl::InternalError("nlopt_create failed");
    nlopt_set_min_objective(opt, &Objective, &problem);
    nlopt_set_lower_bounds(opt, lb.data());
    nlopt_set_upper_bounds(opt, ub.data());
    nlopt_set_initial_step(opt, step.data());
    nlopt_set_maxeval(opt, active == dim ? options.max_evaluations : options.max_evaluations / 4);
    nlopt_set_ftol_rel(opt, 1e-8);
    std::vector<double> x_active(problem.full.begin(), problem.full.begin() + active);
    const nlopt_result rc = nlopt_optimize(opt, x_active.data(), &best);
    nlopt_destroy(opt);
    if (rc < 0 && rc != NLOPT_ROUNDOFF_LIMITED) {
      return absl::InternalError(absl::StrCat(spec.Name(), ": optimizer failed (", rc, ")"));
    }
    std::copy(x_active.begin(), x_active.end(), problem.full.begin());
  }
  x = problem.full;
  if (!(best < kPenalty)) {
    return absl::InternalError(absl::StrCat(spec.Name(), ": no admissible parameters found"));
  }

  EtsModel model;
  model.spec = spec;
  model.season_length = seasonal ? m : 1;
  model.n = n;
  Unpacked u;
  Unpack(x.data(), problem, u);
  model.alpha = u.p.alpha;
  model.beta = u.p.beta;
  model.gamma = u.p.gamma;
  model.phi = u.p.phi;
  model.initial_level = u.level;
  model.initial_slope = u.slope;
  if (seasonal) model.initial_season = problem.season;
  model.fitted.resize(y.size());
  double sse = 0.0;
  double l = u.level;
  double b = u.slope;
  std::vector<double> season = problem.season;
  double lik = FilterLikelihood(y, spec, m, u.p, l, b, season, &model.fitted, &sse);
  if (lik < -1e10) lik = -1e10;
  model.level = l;
  model.slope = b;
  if (seasonal) model.season = std::move(season);
  const int np = static_cast<int>(dim) + 1;
  model.num_parameters = np;
  model.log_likelihood = -0.5 * lik;
  model.aic = lik + 2.0 * np;
  model.bic = lik + std::log(static_cast<double>(n)) * np;
  model.aicc = n - np - 1 > 0 ? model.aic + 2.0 * np * (np + 1) / (n - np - 1)
                              : std::numeric_limits<double>::infinity();
  model.sigma2 = sse / static_cast<double>(n - np > 0 ? n - np : n);
  return model;
}

absl::StatusOr<EtsSelection> SelectEts(std::span<const double> y, int m,
                                       const EtsOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, 1, m));
  const bool positive = *std::min_element(y.begin(), y.end()) > 0.0;
  const bool seasonal_ok = m > 1 && m <= options.max_season_length;
  std::vector<EtsModel> fits;
  for (Component error : {Component::kAdditive, Component::kMultiplicative}) {
    if (error == Component::kMultiplicative && !positive) continue;
    for (Component trend : {Component::kNone, Component::kAdditive}) {
      for (bool damped : {false, true}) {
        if (damped && trend == Component::kNone) continue;
        for (Component season :
             {Component::kNone, Component::kAdditive, Component::kMultiplicative}) {
          if (season != Component::kNone && !seasonal_ok) continue;
          if (season == Component::kMultiplicative && !positive) continue;
          if (error == Component::kAdditive && season == Component::kMultiplicative) continue;
          absl::StatusOr<EtsModel> fit =
              FitEts(y, m, EtsSpec{error, trend, damped, season}, options);
          if (!fit.ok() || !std::isfinite(fit->aicc)) continue;
          fits.push_back(*std::move(fit));
        }
      }
    }
  }
  if (fits.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no exponential smoothing model fits ", y.size(), " observations"));
  }
  std::stable_sort(fits.begin(), fits.end(),
                   [](const EtsModel& a, const EtsModel& b) { return a.aicc < b.aicc; });
  EtsSelection selection;
  for (const EtsModel& f : fits) {
    selection.candidates.push_back(ModelCandidate{Method::kEts, f.spec.Name(), f.aicc});
  }
  selection.best = std::move(fits.front());
  return selection;
}

absl::StatusOr<Forecast> ForecastEts(const EtsModel& model, int h, const EtsOptions& options) {
  if (h < 1) return absl::InvalidArgumentError("horizon must be at least 1");
  const EtsSpec& spec = model.spec;
  const bool seasonal = spec.season != Component::kNone;
  const std::size_t hh = static_cast<std::size_t>(h);
  const int m = model.season_length;
  const Smoothing p{model.alpha, model.beta, model.gamma, model.phi};
  Forecast f;
  f.mean.resize(hh);
  double phisum = 0.0;
  double phipow = 1.0;
  for (std::size_t j = 0; j < hh; ++j) {
    phipow *= model.phi;
    phisum += phipow;
    double q = model.level;
    if (spec.trend != Component::kNone) q += phisum * model.slope;
    if (seasonal) {
      const double s = model.season[static_cast<std::size_t>((model.n + static_cast<int>(j)) % m)];
      q = spec.season == Component::kAdditive ? q + s : q * s;
    }
    f.mean[j] = q;
  }
  // c_j = alpha + beta·Σ_{i<=j} phi^i + gamma·[j ≡ 0 mod m]: the weight of an error j steps back.
  std::vector<double> c(hh, 0.0);
  phisum = 0.0;
  phipow = 1.0;
  for (std::size_t j = 1; j < hh; ++j) {
    phipow *= model.phi;
    phisum += phipow;
    c[j] = model.alpha;
    if (spec.trend != Component::kNone) c[j] += model.beta * phisum;
    if (seasonal && j % static_cast<std::size_t>(m) == 0) c[j] += model.gamma;
  }
  const double sigma2 = model.sigma2;
  if (spec.error == Component::kAdditive && spec.season != Component::kMultiplicative) {
    std::vector<double> sd(hh);
    double acc = 1.0;
    for (std::size_t j = 0; j < hh; ++j) {
      if (j > 0) acc += c[j] * c[j];
      sd[j] = std::sqrt(sigma2 * acc);
    }
    SetNormalIntervals(f, sd);
  } else if (spec.error == Component::kMultiplicative && !seasonal) {
    std::vector<double> theta(hh);
    std::vector<double> sd(hh);
    for (std::size_t j = 0; j < hh; ++j) {
      double v = f.mean[j] * f.mean[j];
      for (std::size_t i = 1; i <= j; ++i) v += sigma2 * c[i] * c[i] * theta[j - i];
      theta[j] = v;
      const double var = (1.0 + sigma2) * theta[j] - f.mean[j] * f.mean[j];
      sd[j] = std::sqrt(std::max(var, 0.0));
    }
    SetNormalIntervals(f, sd);
  } else {
    const int paths = std::max(options.simulation_paths, 100);
    std::vector<std::vector<double>> sims(hh, std::vector<double>(static_cast<std::size_t>(paths)));
    std::mt19937_64 gen(options.seed);
    std::normal_distribution<double> normal(0.0, std::sqrt(sigma2));
    std::vector<double> season;
    for (int k = 0; k < paths; ++k) {
      double l = model.level;
      double b = model.slope;
      season = model.season;
      double dummy = spec.season == Component::kMultiplicative ? 1.0 : 0.0;
      int pos = seasonal ? model.n % m : 0;
      for (std::size_t j = 0; j < hh; ++j) {
        double& s = seasonal ? season[static_cast<std::size_t>(pos)] : dummy;
        const double mu = Predict(spec, l, b, p.phi, s);
        const double e = normal(gen);
        const double yy = spec.error == Component::kAdditive ? mu + e : mu * (1.0 + e);
        Update(spec, p, yy, l, b, s);
        if (seasonal && ++pos == m) pos = 0;
        sims[j][static_cast<std::size_t>(k)] = yy;
      }
    }
    f.lower80.resize(hh);
    f.upper80.resize(hh);
    f.lower95.resize(hh);
    f.upper95.resize(hh);
    auto quantile = [](const std::vector<double>& sorted, double prob) {
      const double pos = prob * static_cast<double>(sorted.size() - 1);
      const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
      const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
      return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
    };
    for (std::size_t j = 0; j < hh; ++j) {
      std::sort(sims[j].begin(), sims[j].end());
      f.lower95[j] = std::min(quantile(sims[j], 0.025), f.mean[j]);
      f.lower80[j] = std::min(quantile(sims[j], 0.10), f.mean[j]);
      f.upper80[j] = std::max(quantile(sims[j], 0.90), f.mean[j]);
      f.upper95[j] = std::max(quantile(sims[j], 0.975), f.mean[j]);
    }
  }
  f.model.method = Method::kEts;
  f.model.specification = spec.Name();
  f.model.season_length = model.season_length;
  f.model.aicc = model.aicc;
  f.model.parameters["alpha"] = model.alpha;
  if (spec.trend != Component::kNone) {
    f.model.parameters["beta"] = model.beta;
    f.model.parameters["b0"] = model.initial_slope;
  }
  if (seasonal) f.model.parameters["gamma"] = model.gamma;
  if (spec.damped) f.model.parameters["phi"] = model.phi;
  f.model.parameters["l0"] = model.initial_level;
  return f;
}

absl::StatusOr<Forecast> AutoEtsForecast(std::span<const double> y, int h, int m,
                                         const EtsOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  ASSIGN_OR_RETURN(EtsSelection selection, SelectEts(y, m, options));
  ASSIGN_OR_RETURN(Forecast f, ForecastEts(selection.best, h, options));
  f.model.candidates = std::move(selection.candidates);
  return f;
}

absl::StatusOr<Forecast> EtsForecast(std::span<const double> y, int h, int m, const EtsSpec& spec,
                                     const EtsOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  ASSIGN_OR_RETURN(EtsModel model, FitEts(y, m, spec, options));
  return ForecastEts(model, h, options);
}

absl::StatusOr<Forecast> AdjustedEtsForecast(std::span<const double> y, int h, int m,
                                             const EtsSpec& spec, const EtsOptions& options,
                                             AcfWindow window) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  return ForecastSeasonallyAdjusted(y, h, m, window, [&](std::span<const double> adjusted) {
    return EtsForecast(adjusted, h, 1, spec, options);
  });
}

bool EtsParametersAllowed(const EtsSpec& spec, double alpha, double beta, double gamma,
                          double phi, int m) {
  return ParametersAllowed(spec, Smoothing{alpha, beta, gamma, spec.damped ? phi : 1.0}, m);
}

}  // namespace prm::forecast
