#pragma once

// Value types shared by every forecasting method of the engine (SPEC §7.2). Plain data, no
// behaviour beyond small helpers; safe to copy and to share read-only across threads.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace prm::forecast {

// Mirrors prm.forecast.v1.ForecastMethod; kCombination has no proto value yet (the adapter reports
// it as ETS with a "Comb(...)" specification until the enum grows one).
enum class Method {
  kEts,
  kTheta,
  kSeasonalNaive,
  kNaive,
  kCroston,
  kSba,
  kTsb,
  kShortHistory,
  kNaive2,
  kCombination,
};

// One candidate considered by an automatic selection (ModelCandidate in the proto).
struct ModelCandidate {
  Method method = Method::kEts;
  std::string specification;
  std::optional<double> aicc;
};

// The model behind a forecast (ModelSummary in the proto).
struct ModelSummary {
  Method method = Method::kNaive;
  // e.g. "ETS(M,Ad,M)", "Theta", "SNaive", "Croston".
  std::string specification;
  // Fitted parameters by name: alpha, beta, gamma, phi, l0, b0, theta, drift...
  std::map<std::string, double> parameters;
  // Season length used (1 = none).
  int season_length = 1;
  // AICc of the chosen model (ETS family only).
  std::optional<double> aicc;
  // Other candidates, best first.
  std::vector<ModelCandidate> candidates;
};

// Point forecasts and central prediction intervals, one entry per future period, all vectors of
// the same length h, with lower95 <= lower80 <= mean <= upper80 <= upper95.
struct Forecast {
  std::vector<double> mean;
  std::vector<double> lower80;
  std::vector<double> upper80;
  std::vector<double> lower95;
  std::vector<double> upper95;
  ModelSummary model;
};

// Standard normal quantiles of the two central intervals.
inline constexpr double kZ80 = 1.2815515655446004;
inline constexpr double kZ95 = 1.959963984540054;

// Fills the four bounds as mean ± z·sd (sd has the length of forecast.mean).
void SetNormalIntervals(Forecast& forecast, std::span<const double> sd);

// INVALID_ARGUMENT (with one field violation per problem) unless the series is non-empty and
// finite, h >= 1 and m >= 1.
absl::Status ValidateSeries(std::span<const double> y, int h, int m);

}  // namespace prm::forecast
