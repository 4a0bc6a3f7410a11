#include "services/forecast/domain/auto_forecast.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/forecast/domain/intermittent.h"
#include "services/forecast/domain/naive.h"
#include "services/forecast/domain/seasonality.h"
#include "services/forecast/domain/short_history.h"
#include "services/forecast/domain/theta.h"

namespace prm::forecast {
namespace {

constexpr EtsSpec kDamped{Component::kAdditive, Component::kAdditive, true, Component::kNone};

double Median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void ClipAtZero(std::span<const double> y, Forecast& f) {
  if (*std::min_element(y.begin(), y.end()) < 0.0) return;
  for (std::vector<double>* v : {&f.mean, &f.lower80, &f.upper80, &f.lower95, &f.upper95}) {
    for (double& x : *v) x = std::max(x, 0.0);
  }
}

// Per horizon, the median of each point forecast and bound over the members.
Forecast MedianOf(const std::vector<Forecast>& members, int h) {
  Forecast out;
  const std::size_t hh = static_cast<std::size_t>(h);
  const std::array<std::vector<double> Forecast::*, 5> fields = {
      &Forecast::mean, &Forecast::lower80, &Forecast::upper80, &Forecast::lower95,
      &Forecast::upper95};
  std::vector<double> values;
  for (auto field : fields) {
    (out.*field).resize(hh);
    for (std::size_t j = 0; j < hh; ++j) {
      values.clear();
      for (const Forecast& f : members) values.push_back((f.*field)[j]);
      (out.*field)[j] = Median(values);
    }
  }
  return out;
}

absl::StatusOr<Forecast> EtsMember(std::span<const double> y, int h, int season,
                                   const EtsOptions& options) {
  if (season <= 1 || y.size() < 2 * static_cast<std::size_t>(season)) {
    return AutoEtsForecast(y, h, 1, options);
  }
  if (season <= options.max_season_length) return AutoEtsForecast(y, h, season, options);
  return ForecastSeasonallyAdjusted(
      y, h, season, AcfWindow::kSeasonLength,
      [&](std::span<const double> adjusted) { return AutoEtsForecast(adjusted, h, 1, options); });
}

}  // namespace

absl::StatusOr<Forecast> CombinationForecast(std::span<const double> y, int h, int m,
                                             const AutoOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  std::vector<int> seasons = {m};
  seasons.insert(seasons.end(), options.extra_seasons.begin(), options.extra_seasons.end());
  std::sort(seasons.begin(), seasons.end());
  seasons.erase(std::unique(seasons.begin(), seasons.end()), seasons.end());
  const int longest = seasons.back();

  std::vector<Forecast> members;
  for (int s : seasons) {
    if (s < 2 || y.size() < 2 * static_cast<std::size_t>(s)) continue;
    ASSIGN_OR_RETURN(Forecast snaive, SeasonalNaiveForecast(y, h, s));
    snaive.model.specification = absl::StrCat("SNaive(", s, ")");
    members.push_back(std::move(snaive));
  }
  ASSIGN_OR_RETURN(Forecast ets, EtsMember(y, h, longest, options.ets));
  members.push_back(ets);
  if (members.size() < 3) {
    ASSIGN_OR_RETURN(Forecast damped, AdjustedEtsForecast(y, h, longest, kDamped, options.ets,
                                                          AcfWindow::kSeasonLength));
    members.push_back(std::move(damped));
  }
  if (members.size() < 3) {
    ASSIGN_OR_RETURN(Forecast theta, ThetaForecast(y, h, longest, AcfWindow::kSeasonLength));
    members.push_back(std::move(theta));
  }

  Forecast out = MedianOf(members, h);
  std::vector<std::string> names;
  for (const Forecast& f : members) names.push_back(f.model.specification);
  out.model.method = Method::kCombination;
  out.model.specification = absl::StrCat("Comb(median: ", absl::StrJoin(names, "; "), ")");
  out.model.season_length = longest;
  out.model.parameters = ets.model.parameters;
  out.model.aicc = ets.model.aicc;
  out.model.candidates = ets.model.candidates;
  return out;
}

absl::StatusOr<Forecast> AutoForecast(std::span<const double> y, int h, int m,
                                      const AutoOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  absl::StatusOr<Forecast> f;
  if (static_cast<int>(y.size()) < std::max(options.short_history_length, 1)) {
    f = ShortHistoryForecast(y, h);
  } else if (IsIntermittent(y)) {
    f = SbaForecast(y, h);
  } else if (options.strategy == AutoStrategy::kCombination) {
    f = CombinationForecast(y, h, m, options);
  } else {
    f = EtsMember(y, h, m, options.ets);
  }
  if (!f.ok() && f.status().code() == absl::StatusCode::kFailedPrecondition) {
    f = ShortHistoryForecast(y, h);
  }
  if (!f.ok()) return f.status();
  ClipAtZero(y, *f);
  return f;
}

absl::StatusOr<Forecast> MethodsForecast(std::span<const double> y, int h, int m,
                                         const std::vector<Method>& methods,
                                         const AutoOptions& options) {
  RETURN_IF_ERROR(ValidateSeries(y, h, m));
  if (methods.empty()) return absl::InvalidArgumentError("no method to forecast with");
  std::vector<Forecast> members;
  for (Method method : methods) {
    absl::StatusOr<Forecast> f;
    switch (method) {
      case Method::kEts:
        f = EtsMember(y, h, m, options.ets);
        break;
      case Method::kTheta:
        f = ThetaForecast(y, h, m, AcfWindow::kSeasonLength);
        break;
      case Method::kSeasonalNaive:
        f = SeasonalNaiveForecast(y, h, m);
        break;
      case Method::kNaive:
        f = NaiveForecast(y, h);
        break;
      case Method::kCroston:
        f = CrostonForecast(y, h);
        break;
      case Method::kSba:
        f = SbaForecast(y, h);
        break;
      case Method::kTsb:
        f = TsbForecast(y, h);
        break;
      case Method::kShortHistory:
        f = ShortHistoryForecast(y, h);
        break;
      case Method::kNaive2:
        f = Naive2Forecast(y, h, m);
        break;
      case Method::kCombination:
        f = AutoForecast(y, h, m, options);
        break;
    }
    if (!f.ok()) return f.status();
    members.push_back(*std::move(f));
  }
  if (members.size() == 1) return std::move(members.front());
  Forecast out = MedianOf(members, h);
  std::vector<std::string> names;
  for (const Forecast& f : members) names.push_back(f.model.specification);
  out.model.method = Method::kCombination;
  out.model.specification = absl::StrCat("Comb(median: ", absl::StrJoin(names, "; "), ")");
  out.model.season_length = m;
  return out;
}

}  // namespace prm::forecast
