// Reproduces the published M4 Naive2 row on the full Weekly and Hourly subsets: the check that the
// metric code is exactly `Benchmarks and Evaluation.R`. Fails (does not skip) without the data.

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "services/forecast/domain/accuracy.h"
#include "services/forecast/domain/m4_dataset.h"
#include "services/forecast/domain/naive.h"

#ifndef M4_DIR
#error "M4_DIR must be defined by CMake"
#endif

namespace prm::forecast {
namespace {

struct Totals {
  double smape = 0.0;
  double mase = 0.0;
  int series = 0;
};

Totals Naive2Totals(const M4Subset& subset) {
  Totals t;
  for (const M4Series& s : subset.series) {
    absl::StatusOr<Forecast> f = Naive2Forecast(s.train, subset.horizon, subset.season_length);
    EXPECT_TRUE(f.ok()) << s.id << ": " << f.status();
    if (!f.ok()) continue;
    t.smape += Smape(s.test, f->mean);
    t.mase += Mase(s.train, s.test, f->mean, subset.season_length);
    ++t.series;
  }
  t.smape /= t.series;
  t.mase /= t.series;
  return t;
}

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

TEST(M4Naive2, ReproducesPublishedWeeklyFigures) {
  absl::StatusOr<M4Subset> weekly = LoadM4Subset(M4_DIR, "Weekly");
  ASSERT_TRUE(weekly.ok()) << "M4 data missing at " << M4_DIR << " (configure with -DM4_DIR=...): "
                           << weekly.status();
  ASSERT_EQ(weekly->series.size(), 359u);
  const Totals t = Naive2Totals(*weekly);
  EXPECT_EQ(Round3(t.smape), 9.161) << t.smape;
  EXPECT_EQ(Round3(t.mase), 2.777) << t.mase;
}

TEST(M4Naive2, ReproducesPublishedHourlyFigures) {
  absl::StatusOr<M4Subset> hourly = LoadM4Subset(M4_DIR, "Hourly");
  ASSERT_TRUE(hourly.ok()) << "M4 data missing at " << M4_DIR << " (configure with -DM4_DIR=...): "
                           << hourly.status();
  ASSERT_EQ(hourly->series.size(), 414u);
  const Totals t = Naive2Totals(*hourly);
  EXPECT_EQ(Round3(t.smape), 18.383) << t.smape;
  EXPECT_EQ(Round3(t.mase), 2.395) << t.mase;
}

TEST(M4Dataset, MissingDirectoryIsNotFound) {
  EXPECT_EQ(LoadM4Subset("/nonexistent/m4", "Weekly").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadM4Subset(M4_DIR, "Minutely").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace prm::forecast
