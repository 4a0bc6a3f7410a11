// Known-answer tests of the non-ETS methods and of the automatic routing.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/forecast/domain/auto_forecast.h"
#include "services/forecast/domain/intermittent.h"
#include "services/forecast/domain/naive.h"
#include "services/forecast/domain/short_history.h"
#include "services/forecast/domain/theta.h"

namespace prm::forecast {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<double> Noise(std::size_t n, double amplitude, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<double> out(n);
  for (double& v : out) v = amplitude * (2.0 * (static_cast<double>(gen()) / 4294967296.0) - 1.0);
  return out;
}

void ExpectNestedWideningIntervals(const Forecast& f) {
  ASSERT_FALSE(f.mean.empty());
  for (std::size_t j = 0; j < f.mean.size(); ++j) {
    EXPECT_LE(f.lower95[j], f.lower80[j]) << j;
    EXPECT_LE(f.lower80[j], f.mean[j]) << j;
    EXPECT_LE(f.mean[j], f.upper80[j]) << j;
    EXPECT_LE(f.upper80[j], f.upper95[j]) << j;
    if (j > 0) {
      EXPECT_GE(f.upper95[j] - f.lower95[j], f.upper95[j - 1] - f.lower95[j - 1]) << j;
    }
  }
  EXPECT_GT(f.upper95.back() - f.lower95.back(), f.upper95.front() - f.lower95.front());
}

std::vector<double> EveryThirdPeriod(double size, int n) {
  std::vector<double> y(static_cast<std::size_t>(n), 0.0);
  for (int t = 2; t < n; t += 3) y[static_cast<std::size_t>(t)] = size;
  return y;
}

TEST(NaiveForecast, RepeatsTheLastValueWithRandomWalkIntervals) {
  const std::vector<double> y = {3.0, 5.0, 4.0, 6.0};
  absl::StatusOr<Forecast> f = NaiveForecast(y, 3);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->mean, std::vector<double>(3, 6.0));
  // σ² = (4 + 1 + 4) / 3 = 3, sd_3 = sqrt(3·3) = 3.
  EXPECT_NEAR(f->upper95[2] - f->mean[2], kZ95 * 3.0, 1e-12);
  ExpectNestedWideningIntervals(*f);
}

TEST(SeasonalNaiveForecast, RepeatsTheLastSeason) {
  const std::vector<double> y = {1, 2, 3, 4, 5, 6, 7, 8};
  absl::StatusOr<Forecast> f = SeasonalNaiveForecast(y, 6, 4);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->mean, (std::vector<double>{5, 6, 7, 8, 5, 6}));
  EXPECT_EQ(f->model.method, Method::kSeasonalNaive);
}

TEST(Naive2Forecast, ReseasonalisesTheLastAdjustedValue) {
  const std::vector<double> index = {0.8, 1.2, 1.1, 0.9};
  std::vector<double> y;
  for (int t = 0; t < 40; ++t) y.push_back(50.0 * index[t % 4]);
  absl::StatusOr<Forecast> f = Naive2Forecast(y, 5, 4);
  ASSERT_THAT(f, IsOk());
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(f->mean[j], 50.0 * index[(40 + j) % 4], 1e-9) << j;
  EXPECT_EQ(f->model.season_length, 4);
}

TEST(ThetaForecast, ReseasonalisesAFlatAdjustedLevel) {
  const std::vector<double> index = {0.8, 1.2, 1.1, 0.9};
  std::vector<double> y;
  for (int t = 0; t < 48; ++t) y.push_back(200.0 * index[t % 4]);
  absl::StatusOr<Forecast> f = ThetaForecast(y, 8, 4);
  ASSERT_THAT(f, IsOk());
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(f->mean[j], 200.0 * index[(48 + j) % 4], 1e-6) << j;
  EXPECT_NEAR(f->model.parameters.at("drift"), 0.0, 1e-9);
}

TEST(ThetaForecast, DriftIsHalfTheTrendSlope) {
  std::vector<double> y = Noise(50, 1.0, 41);
  for (int t = 0; t < 50; ++t) y[t] += 10.0 + 3.0 * t;
  absl::StatusOr<Forecast> f = ThetaForecast(y, 10, 1);
  ASSERT_THAT(f, IsOk());
  EXPECT_NEAR(f->model.parameters.at("drift"), 1.5, 0.05);
  // One step further adds the drift exactly.
  EXPECT_NEAR(f->mean[5] - f->mean[4], f->model.parameters.at("drift"), 1e-9);
  ExpectNestedWideningIntervals(*f);
  EXPECT_THAT(ThetaForecast(std::vector<double>{1, 2, 3}, 2, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CrostonForecast, ForecastsTheDemandRate) {
  const std::vector<double> y = EveryThirdPeriod(6.0, 30);
  absl::StatusOr<Forecast> croston = CrostonForecast(y, 4);
  ASSERT_THAT(croston, IsOk());
  for (double v : croston->mean) EXPECT_NEAR(v, 2.0, 1e-12);  // size 6 every 3 periods
  EXPECT_NEAR(croston->model.parameters.at("interval"), 3.0, 1e-12);
  absl::StatusOr<Forecast> sba = SbaForecast(y, 4, 0.2);
  ASSERT_THAT(sba, IsOk());
  EXPECT_NEAR(sba->mean[0], 0.9 * 2.0, 1e-12);
  for (double v : croston->lower95) EXPECT_GE(v, 0.0);
  ExpectNestedWideningIntervals(*croston);
}

TEST(TsbForecast, ForecastsProbabilityTimesSize) {
  const std::vector<double> y = EveryThirdPeriod(6.0, 60);
  absl::StatusOr<Forecast> f = TsbForecast(y, 3);
  ASSERT_THAT(f, IsOk());
  EXPECT_NEAR(f->model.parameters.at("size"), 6.0, 1e-12);
  EXPECT_NEAR(f->mean[0], 2.0, 0.25);
  EXPECT_EQ(f->model.method, Method::kTsb);
}

TEST(IntermittentMethods, RejectBadInput) {
  EXPECT_THAT(CrostonForecast(std::vector<double>(10, 0.0), 3),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CrostonForecast(EveryThirdPeriod(1.0, 9), 3, 1.5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smoothing")));
  EXPECT_THAT(TsbForecast(EveryThirdPeriod(1.0, 9), 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IsIntermittent, UsesTheAverageInterDemandInterval) {
  const std::vector<double> lumpy = EveryThirdPeriod(6.0, 30);
  EXPECT_NEAR(MeasureIntermittency(lumpy).adi, 3.0, 1e-12);
  EXPECT_TRUE(IsIntermittent(lumpy));
  std::vector<double> smooth(30, 5.0);
  smooth[3] = 0.0;
  EXPECT_FALSE(IsIntermittent(smooth));
  std::vector<double> negative = lumpy;
  negative[0] = -1.0;
  EXPECT_FALSE(IsIntermittent(negative));
}

TEST(ShortHistoryForecast, UsesTheRecentMeanWithWideIntervals) {
  const std::vector<double> y = {10.0, 14.0, 12.0, 16.0};
  absl::StatusOr<Forecast> f = ShortHistoryForecast(y, 5);
  ASSERT_THAT(f, IsOk());
  EXPECT_NEAR(f->mean[0], 14.0, 1e-12);
  ExpectNestedWideningIntervals(*f);
  absl::StatusOr<Forecast> naive = NaiveForecast(y, 5);
  ASSERT_THAT(naive, IsOk());
  EXPECT_GT(f->upper95[0] - f->lower95[0], naive->upper95[0] - naive->lower95[0]);
  absl::StatusOr<Forecast> one = ShortHistoryForecast(std::vector<double>{7.0}, 2);
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->model.specification, "ShortHistory(naive)");
  EXPECT_GT(one->upper95[0], 7.0);
}

TEST(AutoForecast, RoutesShortIntermittentAndRegularSeries) {
  absl::StatusOr<Forecast> short_f = AutoForecast(std::vector<double>{5, 6, 7}, 4, 12);
  ASSERT_THAT(short_f, IsOk());
  EXPECT_EQ(short_f->model.method, Method::kShortHistory);

  absl::StatusOr<Forecast> lumpy = AutoForecast(EveryThirdPeriod(6.0, 40), 4, 1);
  ASSERT_THAT(lumpy, IsOk());
  EXPECT_EQ(lumpy->model.method, Method::kSba);

  std::vector<double> y = Noise(60, 2.0, 43);
  for (int t = 0; t < 60; ++t) y[t] += 30.0 + 0.5 * t;
  absl::StatusOr<Forecast> regular = AutoForecast(y, 6, 1);
  ASSERT_THAT(regular, IsOk());
  EXPECT_EQ(regular->model.method, Method::kCombination);
  EXPECT_THAT(regular->model.specification, HasSubstr("Theta"));
  EXPECT_FALSE(regular->model.candidates.empty());
  ExpectNestedWideningIntervals(*regular);

  AutoOptions ets_only;
  ets_only.strategy = AutoStrategy::kEtsOnly;
  absl::StatusOr<Forecast> ets = AutoForecast(y, 6, 1, ets_only);
  ASSERT_THAT(ets, IsOk());
  EXPECT_EQ(ets->model.method, Method::kEts);
  EXPECT_TRUE(ets->model.aicc.has_value());
}

TEST(AutoForecast, ClipsNonNegativeSeriesAtZero) {
  std::vector<double> y;
  for (int t = 0; t < 30; ++t) y.push_back(60.0 - 2.0 * t + (t % 2));
  absl::StatusOr<Forecast> f = AutoForecast(y, 20, 1);
  ASSERT_THAT(f, IsOk());
  for (std::size_t j = 0; j < f->mean.size(); ++j) {
    EXPECT_GE(f->mean[j], 0.0);
    EXPECT_GE(f->lower95[j], 0.0);
  }
}

TEST(AutoForecast, RejectsInvalidInputWithFieldViolations) {
  EXPECT_THAT(AutoForecast(std::vector<double>{}, 3, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid forecast input")));
  EXPECT_THAT(AutoForecast(std::vector<double>{1, 2, 3}, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AutoForecast(std::vector<double>{1, 2, 3}, 2, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AutoForecast(std::vector<double>{1, std::nan(""), 3}, 2, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MethodsForecast, OneMethodAloneOrTheMedianOfSeveral) {
  // Season 4: 10, 20, 30, 40 repeated; the last value is 40.
  std::vector<double> y;
  for (int t = 0; t < 16; ++t) y.push_back(10.0 * (t % 4 + 1));
  absl::StatusOr<Forecast> naive = MethodsForecast(y, 4, 4, {Method::kNaive});
  ASSERT_THAT(naive, IsOk());
  EXPECT_EQ(naive->model.method, Method::kNaive);
  EXPECT_THAT(naive->mean, ::testing::ElementsAre(40, 40, 40, 40));
  absl::StatusOr<Forecast> snaive = MethodsForecast(y, 4, 4, {Method::kSeasonalNaive});
  ASSERT_THAT(snaive, IsOk());
  EXPECT_THAT(snaive->mean, ::testing::ElementsAre(10, 20, 30, 40));
  // Median of naive, seasonal naive and short history (mean of the last three: 30): per horizon
  // median(40, 10, 30) = 30, median(40, 20, 30) = 30, median(40, 30, 30) = 30, 40.
  absl::StatusOr<Forecast> median = MethodsForecast(
      y, 4, 4, {Method::kNaive, Method::kSeasonalNaive, Method::kShortHistory});
  ASSERT_THAT(median, IsOk());
  EXPECT_EQ(median->model.method, Method::kCombination);
  EXPECT_THAT(median->mean, ::testing::ElementsAre(30, 30, 30, 40));
  EXPECT_THAT(MethodsForecast(y, 4, 4, {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace prm::forecast
