// M4 Weekly and Hourly accuracy of the forecast engine beside the published M4 table, and the
// single-thread time of automatic ETS selection per series.
//
//   prm-bench-forecast-m4 [--subset=Weekly|Hourly] [--limit=N] [--methods=Naive2,ETS,...]
//                         [--m4_dir=DIR]

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/forecast/domain/accuracy.h"
#include "services/forecast/domain/auto_forecast.h"
#include "services/forecast/domain/ets.h"
#include "services/forecast/domain/intermittent.h"
#include "services/forecast/domain/m4_dataset.h"
#include "services/forecast/domain/naive.h"
#include "services/forecast/domain/theta.h"

namespace {

using prm::forecast::Component;
using prm::forecast::EtsSpec;
using prm::forecast::Forecast;
// CPU time of the calling thread: the machine may be shared, and the figures are single-thread.
struct Clock {
  using time_point = std::chrono::duration<double>;
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec));
  }
};

// Seconds spent in SelectEts by the "ETS" row (single thread).
double g_selection_seconds = 0.0;

struct MethodDef {
  std::string name;
  std::function<absl::StatusOr<Forecast>(const std::vector<double>&, int, int)> run;
};

struct Score {
  double smape = 0.0;
  double mase = 0.0;
  double msis = 0.0;
  double coverage = 0.0;
  double seconds = 0.0;
  int failures = 0;
  int series = 0;
};

struct Published {
  const char* smape_mase_owa;
  const char* msis_acd;
};

const std::map<std::string, std::map<std::string, Published>> kPublished = {
    {"Weekly",
     {{"Naive2", {"9.161 / 2.777 / 1.000", ""}},
      {"SES", {"9.012 / 2.685 / 0.975", ""}},
      {"Holt", {"9.708 / 2.420 / 0.966", ""}},
      {"Damped", {"8.866 / 2.404 / 0.917", ""}},
      {"Theta", {"9.093 / 2.637 / 0.971", ""}},
      {"ETS", {"", "20.386 / 0.014"}},
      {"Naive", {"", "26.358 / 0.001"}},
      {"best #235", {"6.582 / 2.107 / 0.739", ""}}}},
    {"Hourly",
     {{"Naive2", {"18.383 / 2.395 / 1.000", ""}},
      {"SES", {"18.094 / 2.385 / 0.990", ""}},
      {"Holt", {"29.249 / 9.356 / 2.749", ""}},
      {"Damped", {"19.265 / 2.956 / 1.141", ""}},
      {"Theta", {"18.138 / 2.455 / 1.006", ""}},
      {"ETS", {"", "17.487 / 0.001"}},
      {"Naive", {"", "71.245 / 0.011"}},
      {"best #238", {"8.913 / 0.801 / 0.410", ""}}}},
};

std::vector<MethodDef> AllMethods() {
  const EtsSpec ses{Component::kAdditive, Component::kNone, false, Component::kNone};
  const EtsSpec holt{Component::kAdditive, Component::kAdditive, false, Component::kNone};
  const EtsSpec damped{Component::kAdditive, Component::kAdditive, true, Component::kNone};
  prm::forecast::AutoOptions ets_only;
  ets_only.strategy = prm::forecast::AutoStrategy::kEtsOnly;
  return {
      {"Naive2",
       [](const auto& y, int h, int m) { return prm::forecast::Naive2Forecast(y, h, m); }},
      {"Naive", [](const auto& y, int h, int) { return prm::forecast::NaiveForecast(y, h); }},
      {"SNaive",
       [](const auto& y, int h, int m) { return prm::forecast::SeasonalNaiveForecast(y, h, m); }},
      {"SES",
       [ses](const auto& y, int h, int m) {
         return prm::forecast::AdjustedEtsForecast(y, h, m, ses);
       }},
      {"Holt",
       [holt](const auto& y, int h, int m) {
         return prm::forecast::AdjustedEtsForecast(y, h, m, holt);
       }},
      {"Damped",
       [damped](const auto& y, int h, int m) {
         return prm::forecast::AdjustedEtsForecast(y, h, m, damped);
       }},
      {"Theta", [](const auto& y, int h, int m) { return prm::forecast::ThetaForecast(y, h, m); }},
      {"ETS",
       [](const auto& y, int h, int m) -> absl::StatusOr<Forecast> {
         // Selection timed on its own: the figure compared with forecast::ets and AutoETS.
         const auto start = Clock::now();
         absl::StatusOr<prm::forecast::EtsSelection> sel = prm::forecast::SelectEts(y, m);
         g_selection_seconds += std::chrono::duration<double>(Clock::now() - start).count();
         if (!sel.ok()) return sel.status();
         return prm::forecast::ForecastEts(sel->best, h);
       }},
      {"Auto",
       [](const auto& y, int h, int m) {
         // The engine is told the natural periods of the data: a year of weeks, a day and a week
         // of hours (M4 itself uses m = 1 and 24 for the benchmarks and MASE).
         prm::forecast::AutoOptions options;
         if (m == 1) return prm::forecast::AutoForecast(y, h, 52, options);
         options.extra_seasons = {24};
         return prm::forecast::AutoForecast(y, h, 168, options);
       }},
  };
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = Flag(argc, argv, "m4_dir", M4_DIR);
  const int limit = std::atoi(Flag(argc, argv, "limit", "0").c_str());
  std::vector<std::string> subsets =
      absl::StrSplit(Flag(argc, argv, "subset", "Weekly,Hourly"), ',');
  const std::string methods_flag = Flag(argc, argv, "methods", "");
  std::set<std::string> wanted;
  if (!methods_flag.empty()) {
    for (absl::string_view m : absl::StrSplit(methods_flag, ',')) wanted.insert(std::string(m));
    wanted.insert("Naive2");
  }

  for (const std::string& name : subsets) {
    absl::StatusOr<prm::forecast::M4Subset> subset = prm::forecast::LoadM4Subset(dir, name);
    if (!subset.ok()) {
      std::fprintf(stderr, "cannot load M4 %s from %s: %s\n", name.c_str(), dir.c_str(),
                   subset.status().ToString().c_str());
      return 1;
    }
    std::vector<prm::forecast::M4Series>& series = subset->series;
    if (limit > 0 && static_cast<int>(series.size()) > limit) series.resize(limit);
    const int h = subset->horizon;
    const int m = subset->season_length;
    std::printf("\nM4 %s: %zu series, h = %d, m = %d\n", name.c_str(), series.size(), h, m);
    std::printf("%-8s %8s %8s %7s %9s %7s %6s %10s   %-24s %s\n", "method", "sMAPE", "MASE",
                "OWA", "MSIS95", "cov95", "fail", "cpu ms/ser", "published sMAPE/MASE/OWA",
                "published MSIS/ACD");
    std::map<std::string, Score> scores;
    std::vector<std::string> order;
    for (const MethodDef& method : AllMethods()) {
      if (!wanted.empty() && wanted.count(method.name) == 0) continue;
      Score s;
      const auto start = Clock::now();
      for (const prm::forecast::M4Series& ser : series) {
        absl::StatusOr<Forecast> f = method.run(ser.train, h, m);
        if (!f.ok()) {
          ++s.failures;
          f = prm::forecast::Naive2Forecast(ser.train, h, m);
        }
        s.smape += prm::forecast::Smape(ser.test, f->mean);
        s.mase += prm::forecast::Mase(ser.train, ser.test, f->mean, m);
        s.msis += prm::forecast::Msis(ser.train, ser.test, f->lower95, f->upper95, m);
        s.coverage += prm::forecast::Coverage(ser.test, f->lower95, f->upper95);
        ++s.series;
      }
      s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      s.smape /= s.series;
      s.mase /= s.series;
      s.msis /= s.series;
      s.coverage /= s.series;
      scores[method.name] = s;
      const Score& n2 = scores["Naive2"];
      const auto pub_subset = kPublished.find(name);
      const Published* pub = nullptr;
      if (pub_subset != kPublished.end()) {
        const auto it = pub_subset->second.find(method.name);
        if (it != pub_subset->second.end()) pub = &it->second;
      }
      std::printf("%-8s %8.3f %8.3f %7.3f %9.3f %7.3f %6d %10.2f   %-24s %s\n",
                  method.name.c_str(), s.smape, s.mase,
                  prm::forecast::Owa(s.smape, s.mase, n2.smape, n2.mase), s.msis, s.coverage,
                  s.failures, 1000.0 * s.seconds / s.series, pub ? pub->smape_mase_owa : "",
                  pub ? pub->msis_acd : "");
      std::fflush(stdout);
    }
    for (const auto& [method, pub] : kPublished.at(name)) {
      if (method.rfind("best", 0) == 0) {
        std::printf("%-8s %s (published)\n", method.c_str(), pub.smape_mase_owa);
      }
    }
    if (scores.count("ETS") > 0) {
      std::printf("automatic ETS selection (SelectEts, m = %d): %.2f CPU ms per series\n", m,
                  1000.0 * g_selection_seconds / static_cast<double>(series.size()));
    }
    g_selection_seconds = 0.0;
  }
  return 0;
}
