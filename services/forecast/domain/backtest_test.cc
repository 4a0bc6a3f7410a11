#include "services/forecast/domain/backtest.h"

#include <cmath>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

using ::prm::testing::StatusIs;

TEST(BacktestTest, NoiselessTrendScoresNearZeroAndBeatsNaive2) {
  BacktestSeries trend{.id = "trend"};
  for (int t = 0; t < 60; ++t) trend.values.push_back(100 + 5 * t);
  BacktestSeries short_series{.id = "short", .values = {1, 2, 3}};
  absl::StatusOr<BacktestResult> result = RunBacktest(
      {trend, short_series}, {.horizon = 6, .origins = 2, .season_length = 1, .mase_period = 1});
  ASSERT_OK(result);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->skipped_series_count, 1);
  const AccuracySummary& a = result->series[0].accuracy;
  EXPECT_EQ(a.point_count, 12);
  EXPECT_LT(a.smape, 0.5);
  // Naive2 (a flat forecast) misses a trend of 5 per period: on the first origin's six points
  // (train of 48, last value 335) the errors are 5..30, far above the engine's.
  EXPECT_GT(a.smape_naive2, 3);
  EXPECT_LT(a.owa, 0.2);
  EXPECT_EQ(result->overall.series_count, 1);
  EXPECT_DOUBLE_EQ(result->overall.owa, a.owa);
}

TEST(BacktestTest, ConstantTrainingSampleHasNoMaseScaleAndIsSkipped) {
  BacktestSeries flat{.id = "flat", .values = std::vector<double>(40, 7.0)};
  absl::StatusOr<BacktestResult> result = RunBacktest({flat}, {.horizon = 4, .season_length = 1});
  ASSERT_OK(result);
  EXPECT_TRUE(result->series.empty());
  EXPECT_EQ(result->skipped_series_count, 1);
}

TEST(BacktestTest, EvaluatingNaive2ItselfGivesOwaOne) {
  BacktestSeries noisy{.id = "noisy"};
  for (int t = 0; t < 40; ++t) noisy.values.push_back(100 + 3 * t + (t % 3) * 7);
  absl::StatusOr<BacktestResult> result =
      RunBacktest({noisy}, {.horizon = 4, .origins = 3, .season_length = 1,
                            .methods = {Method::kNaive2}});
  ASSERT_OK(result);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->series[0].method, Method::kNaive2);
  EXPECT_DOUBLE_EQ(result->overall.owa, 1.0);
  EXPECT_DOUBLE_EQ(result->overall.smape, result->overall.smape_naive2);
}

TEST(BacktestTest, CombineAveragesTheSeriesMeansAndTakesOwaOfThose) {
  const AccuracySummary a{.smape = 10, .mase = 1, .smape_naive2 = 20, .mase_naive2 = 2,
                          .series_count = 1, .point_count = 4};
  const AccuracySummary b{.smape = 30, .mase = 3, .smape_naive2 = 20, .mase_naive2 = 2,
                          .series_count = 1, .point_count = 4};
  const AccuracySummary both = Combine({a, b});
  EXPECT_DOUBLE_EQ(both.smape, 20);
  EXPECT_DOUBLE_EQ(both.mase, 2);
  EXPECT_DOUBLE_EQ(both.owa, 1);  // (20 / 20 + 2 / 2) / 2
  EXPECT_EQ(both.series_count, 2);
  EXPECT_EQ(both.point_count, 8);
  EXPECT_EQ(Combine({}).series_count, 0);
}

TEST(BacktestTest, BadOptionsAreInvalid) {
  EXPECT_THAT(RunBacktest({}, {.horizon = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace prm::forecast
