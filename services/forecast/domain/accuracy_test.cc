#include "services/forecast/domain/accuracy.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/forecast/domain/seasonality.h"

namespace prm::forecast {
namespace {

TEST(Smape, AveragesSymmetricPercentErrors) {
  const std::vector<double> actual = {100, 200};
  const std::vector<double> forecast = {110, 200};
  // 200·10/210 for the first point, 0 for the second.
  EXPECT_NEAR(Smape(actual, forecast), 100.0 * 10.0 / 210.0, 1e-12);
}

TEST(MaseScale, IsMeanAbsoluteSeasonalDifference) {
  const std::vector<double> insample = {1, 2, 4, 7, 11};
  EXPECT_NEAR(MaseScale(insample, 1), (1 + 2 + 3 + 4) / 4.0, 1e-12);
  EXPECT_NEAR(MaseScale(insample, 2), (3 + 5 + 7) / 3.0, 1e-12);
  EXPECT_TRUE(std::isinf(MaseScale(insample, 5)));
}

TEST(Mase, ScalesMeanAbsoluteErrorByInsampleNaiveError) {
  const std::vector<double> insample = {1, 2, 4, 7, 11};
  const std::vector<double> actual = {16, 22};
  const std::vector<double> forecast = {15, 25};
  EXPECT_NEAR(Mase(insample, actual, forecast, 1), 2.0 / 2.5, 1e-12);
}

TEST(Msis, PenalisesMissesByTwoOverAlpha) {
  const std::vector<double> insample = {0, 1, 2, 3, 4};  // scale 1
  const std::vector<double> actual = {5, 12, -1};
  const std::vector<double> lower = {4, 4, 0};
  const std::vector<double> upper = {6, 10, 2};
  // widths 2 + 6 + 2, misses (12 − 10) and (0 − (−1)) weighted by 2/0.05 = 40.
  EXPECT_NEAR(Msis(insample, actual, lower, upper, 1, 0.05), (10.0 + 40.0 * 3.0) / 3.0, 1e-12);
  EXPECT_NEAR(Coverage(actual, lower, upper), 1.0 / 3.0, 1e-12);
}

TEST(Owa, IsOneForNaive2Itself) {
  EXPECT_DOUBLE_EQ(Owa(9.161, 2.777, 9.161, 2.777), 1.0);
  EXPECT_NEAR(Owa(4.5805, 2.777, 9.161, 2.777), 0.75, 1e-12);
}

TEST(SeasonalityTest, FindsStrongSeasonAndRejectsNoise) {
  std::vector<double> seasonal;
  std::vector<double> trend;
  for (int t = 0; t < 48; ++t) {
    seasonal.push_back(10.0 + ((t % 4 == 0) ? 5.0 : 0.0) + 0.01 * t);
    trend.push_back(10.0 + t);
  }
  EXPECT_TRUE(SeasonalityTest(seasonal, 4));
  EXPECT_FALSE(SeasonalityTest(seasonal, 1));
  EXPECT_FALSE(SeasonalityTest(std::vector<double>(seasonal.begin(), seasonal.begin() + 11), 4));
  // A trend passes too (r_4 is large), as in the R test; white noise does not.
  EXPECT_TRUE(SeasonalityTest(trend, 4));
  std::mt19937 gen(7);
  std::vector<double> noise;
  for (int t = 0; t < 200; ++t) noise.push_back(static_cast<double>(gen()) / 4294967296.0);
  EXPECT_FALSE(SeasonalityTest(noise, 4));
}

TEST(Decompose, MultiplicativeFigureRecoversIndices) {
  const std::vector<double> index = {0.8, 1.2, 1.1, 0.9};
  std::vector<double> y;
  for (int t = 0; t < 40; ++t) y.push_back(100.0 * index[t % 4]);
  const Decomposition d = Decompose(y, 4, DecompositionType::kMultiplicative);
  ASSERT_EQ(d.figure.size(), 4u);
  for (int p = 0; p < 4; ++p) EXPECT_NEAR(d.figure[p], index[p], 1e-12);
  EXPECT_TRUE(std::isnan(d.trend[0]));
  EXPECT_TRUE(std::isnan(d.trend[1]));
  EXPECT_NEAR(d.trend[2], 100.0, 1e-12);
  EXPECT_TRUE(std::isnan(d.trend[38]));
}

}  // namespace
}  // namespace prm::forecast
