#pragma once

// Exponential smoothing state-space models as Hyndman, Koehler, Ord & Snyder (2008) and R's
// `forecast::ets` define them: error A/M, trend N/A/Ad, season N/A/M (no multiplicative trend,
// like ets's default allow.multiplicative.trend = FALSE). Smoothing parameters and initial
// states are estimated by maximum likelihood with NLopt inside the usual and the admissible
// regions (ets's bounds = "both"); automatic selection minimises AICc. Pure functions,
// thread-safe (each call owns its optimizer and random generator).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/forecast/domain/forecast_types.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {

enum class Component { kNone, kAdditive, kMultiplicative };

// One model of the family, e.g. {kMultiplicative, kAdditive, true, kMultiplicative} = ETS(M,Ad,M).
struct EtsSpec {
  Component error = Component::kAdditive;
  Component trend = Component::kNone;
  bool damped = false;
  Component season = Component::kNone;

  // "ETS(A,Ad,N)" form.
  std::string Name() const;
  friend bool operator==(const EtsSpec&, const EtsSpec&) = default;
};

struct EtsOptions {
  // Nelder–Mead budget (objective evaluations) of the stage over all parameters, as ets's maxit;
  // the first stage (smoothing parameters only, states at the heuristic) gets a quarter of it.
  int max_evaluations = 2000;
  // Paths simulated for intervals of models without an analytic variance.
  int simulation_paths = 5000;
  // Seed of the interval simulation.
  std::uint64_t seed = 42;
  // Season lengths above this are fitted without season (ets refuses m > 24).
  int max_season_length = 24;
};

// A fitted model. Seasonal states are indexed by cycle position (index t of the series has
// position t mod m).
struct EtsModel {
  EtsSpec spec;
  int season_length = 1;
  int n = 0;
  double alpha = 0.0;
  double beta = 0.0;
  double gamma = 0.0;
  double phi = 1.0;
  double initial_level = 0.0;
  double initial_slope = 0.0;
  std::vector<double> initial_season;
  double level = 0.0;   // state after the last observation
  double slope = 0.0;
  std::vector<double> season;
  double log_likelihood = 0.0;
  double aic = 0.0;
  double aicc = 0.0;
  double bic = 0.0;
  // Variance of the one-step errors (relative errors for multiplicative error), SSE/(n − k).
  double sigma2 = 0.0;
  int num_parameters = 0;  // estimated parameters including the error variance
  std::vector<double> fitted;
};

// Fits one specification by NLopt Nelder–Mead in two stages (smoothing parameters from ets's
// initparam values with the states at ets's initstate heuristic, then all of them), minimising
// ets's -2·log-likelihood up to a constant. m is the season length (1 = none).
// Returns INVALID_ARGUMENT for a bad series or m, FAILED_PRECONDITION when the specification
// needs what the data lacks (multiplicative components on non-positive data, a season with m = 1
// or m above max_season_length, too few observations for its parameters), INTERNAL if the
// optimizer fails or finds no admissible parameters.
absl::StatusOr<EtsModel> FitEts(std::span<const double> y, int m, const EtsSpec& spec,
                                const EtsOptions& options = {});

// Fits every admissible specification (ets's "ZZZ" with restrict = TRUE: no A error with M
// season, multiplicative only on strictly positive data, season only for 1 < m <= 24 and enough
// data) and keeps the one with the lowest AICc. `candidates` lists all fitted ones, best first.
struct EtsSelection {
  EtsModel best;
  std::vector<ModelCandidate> candidates;
};
absl::StatusOr<EtsSelection> SelectEts(std::span<const double> y, int m,
                                       const EtsOptions& options = {});

// Point forecasts and 80/95 % intervals: analytic variance for A-error models with additive
// components (class 1) and M-error models with additive trend and no season (class 2), otherwise
// quantiles of `simulation_paths` simulated paths (seeded, deterministic). INVALID_ARGUMENT if
// h < 1.
absl::StatusOr<Forecast> ForecastEts(const EtsModel& model, int h, const EtsOptions& options = {});

// SelectEts + ForecastEts.
absl::StatusOr<Forecast> AutoEtsForecast(std::span<const double> y, int h, int m,
                                         const EtsOptions& options = {});

// FitEts + ForecastEts of one specification (SES = ETS(A,N,N), Holt = ETS(A,A,N),
// damped = ETS(A,Ad,N)).
absl::StatusOr<Forecast> EtsForecast(std::span<const double> y, int h, int m, const EtsSpec& spec,
                                     const EtsOptions& options = {});

// The M4 benchmarks' form (SES, Holt, Damped): fits `spec` (non-seasonal) on the series divided
// by its multiplicative seasonal component when the 90 % seasonality test passes, and multiplies
// forecasts and bounds by the last m seasonal indices. Codes as EtsForecast.
absl::StatusOr<Forecast> AdjustedEtsForecast(std::span<const double> y, int h, int m,
                                             const EtsSpec& spec, const EtsOptions& options = {},
                                             AcfWindow window = AcfWindow::kRDefault);

// ets's check.param with bounds = "both": alpha, beta, gamma, phi inside the usual region
// (0.0001 <= alpha <= 0.9999, 0.0001 <= beta <= alpha, 0.0001 <= gamma <= 1 − alpha,
// 0.8 <= phi <= 0.98, each only when the spec has that component) and the admissible region
// (for seasonal models: every root of the characteristic polynomial inside the unit circle).
bool EtsParametersAllowed(const EtsSpec& spec, double alpha, double beta, double gamma,
                          double phi, int m);

}  // namespace prm::forecast
