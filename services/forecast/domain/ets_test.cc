#include "services/forecast/domain/ets.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Dense>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::Ne;

constexpr EtsSpec kAnn{Component::kAdditive, Component::kNone, false, Component::kNone};
constexpr EtsSpec kAan{Component::kAdditive, Component::kAdditive, false, Component::kNone};
constexpr EtsSpec kAadn{Component::kAdditive, Component::kAdditive, true, Component::kNone};
constexpr EtsSpec kAna{Component::kAdditive, Component::kNone, false, Component::kAdditive};
constexpr EtsSpec kMnm{Component::kMultiplicative, Component::kNone, false,
                       Component::kMultiplicative};
constexpr EtsSpec kMnn{Component::kMultiplicative, Component::kNone, false, Component::kNone};

// Uniform noise in [−amplitude, amplitude) from mt19937's raw output, which the standard fixes.
std::vector<double> Noise(std::size_t n, double amplitude, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<double> out(n);
  for (double& v : out) v = amplitude * (2.0 * (static_cast<double>(gen()) / 4294967296.0) - 1.0);
  return out;
}

void ExpectNestedWideningIntervals(const Forecast& f, bool strictly_monotone) {
  ASSERT_FALSE(f.mean.empty());
  for (std::size_t j = 0; j < f.mean.size(); ++j) {
    EXPECT_LE(f.lower95[j], f.lower80[j]) << j;
    EXPECT_LE(f.lower80[j], f.mean[j]) << j;
    EXPECT_LE(f.mean[j], f.upper80[j]) << j;
    EXPECT_LE(f.upper80[j], f.upper95[j]) << j;
    EXPECT_LT(f.upper80[j] - f.lower80[j], f.upper95[j] - f.lower95[j]) << j;
    if (strictly_monotone && j > 0) {
      EXPECT_GE(f.upper95[j] - f.lower95[j], f.upper95[j - 1] - f.lower95[j - 1]) << j;
    }
  }
  const std::size_t last = f.mean.size() - 1;
  EXPECT_GT(f.upper95[last] - f.lower95[last], f.upper95[0] - f.lower95[0]);
}

TEST(EtsSpec, NamesFollowEtsNotation) {
  EXPECT_EQ(kAadn.Name(), "ETS(A,Ad,N)");
  EXPECT_EQ(kMnm.Name(), "ETS(M,N,M)");
}

TEST(FitEts, HoltExtrapolatesANoiselessLine) {
  std::vector<double> y;
  for (int t = 0; t < 40; ++t) y.push_back(10.0 + 2.0 * t);
  absl::StatusOr<Forecast> f = EtsForecast(y, 6, 1, kAan);
  ASSERT_THAT(f, IsOk());
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(f->mean[j], 10.0 + 2.0 * (40 + j), 1e-6) << j;
  EXPECT_EQ(f->model.specification, "ETS(A,A,N)");
}

TEST(FitEts, AdditiveSeasonalModelReproducesAPureSeasonalPattern) {
  const std::vector<double> pattern = {5.0, -3.0, 1.0, -3.0};
  std::vector<double> y;
  for (int t = 0; t < 48; ++t) y.push_back(100.0 + pattern[t % 4]);
  absl::StatusOr<Forecast> f = EtsForecast(y, 8, 4, kAna);
  ASSERT_THAT(f, IsOk());
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(f->mean[j], 100.0 + pattern[(48 + j) % 4], 1e-6) << j;
}

TEST(FitEts, EstimatesParametersInsideTheUsualRegion) {
  std::vector<double> y = Noise(80, 3.0, 11);
  for (int t = 0; t < 80; ++t) y[t] += 50.0 + 0.4 * t + 6.0 * (t % 4 == 0);
  const EtsSpec aada{Component::kAdditive, Component::kAdditive, true, Component::kAdditive};
  absl::StatusOr<EtsModel> model = FitEts(y, 4, aada);
  ASSERT_THAT(model, IsOk());
  EXPECT_GE(model->alpha, 1e-4);
  EXPECT_LE(model->alpha, 0.9999);
  EXPECT_LE(model->beta, model->alpha);
  EXPECT_LE(model->gamma, 1.0 - model->alpha);
  EXPECT_GE(model->phi, 0.8);
  EXPECT_LE(model->phi, 0.98);
  EXPECT_EQ(model->num_parameters, 4 + 2 + 3 + 1);  // alpha beta gamma phi, l0 b0, 3 seeds, σ
  EXPECT_EQ(model->initial_season.size(), 4u);
}

TEST(FitEts, RejectsSpecificationsTheDataCannotSupport) {
  std::vector<double> with_zero = Noise(40, 1.0, 3);
  for (double& v : with_zero) v += 10.0;
  with_zero[5] = 0.0;
  EXPECT_THAT(FitEts(with_zero, 1, kMnn), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(FitEts(with_zero, 1, kAna), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(FitEts(std::vector<double>(5, 1.0), 1, kAan),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(FitEts(with_zero, 30, kAna), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(FitEts(std::vector<double>{}, 1, kAnn), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FitEts(with_zero, 0, kAnn), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SelectEts, ChoosesATrendedModelForATrend) {
  std::vector<double> y = Noise(60, 0.5, 5);
  for (int t = 0; t < 60; ++t) y[t] += 20.0 + 1.5 * t;
  absl::StatusOr<EtsSelection> sel = SelectEts(y, 1);
  ASSERT_THAT(sel, IsOk());
  EXPECT_THAT(sel->best.spec.trend, Ne(Component::kNone)) << sel->best.spec.Name();
  EXPECT_EQ(sel->best.spec.season, Component::kNone);
  // Non-seasonal data: A/M error × N/A/Ad trend.
  EXPECT_EQ(sel->candidates.size(), 6u);
  EXPECT_EQ(sel->candidates.front().specification, sel->best.spec.Name());
}

TEST(SelectEts, ChoosesSimpleExponentialSmoothingForFlatNoise) {
  // Zero-mean noise rules out multiplicative models, leaving ANN against AAN and AAdN.
  const std::vector<double> y = Noise(80, 2.0, 17);
  absl::StatusOr<EtsSelection> sel = SelectEts(y, 1);
  ASSERT_THAT(sel, IsOk());
  EXPECT_EQ(sel->best.spec.Name(), "ETS(A,N,N)");
  EXPECT_EQ(sel->candidates.size(), 3u);
}

TEST(SelectEts, ChoosesNoTrendNoSeasonForPositiveFlatNoise) {
  std::vector<double> y = Noise(80, 2.0, 23);
  for (double& v : y) v += 50.0;
  absl::StatusOr<EtsSelection> sel = SelectEts(y, 4);
  ASSERT_THAT(sel, IsOk());
  EXPECT_EQ(sel->best.spec.trend, Component::kNone) << sel->best.spec.Name();
  EXPECT_EQ(sel->best.spec.season, Component::kNone) << sel->best.spec.Name();
  EXPECT_EQ(sel->candidates.size(), 15u);
}

TEST(SelectEts, ChoosesASeasonalModelForASeasonalSeries) {
  const std::vector<double> pattern = {12.0, -4.0, 6.0, -14.0};
  std::vector<double> y = Noise(64, 1.0, 29);
  for (int t = 0; t < 64; ++t) y[t] += 100.0 + pattern[t % 4];
  absl::StatusOr<EtsSelection> sel = SelectEts(y, 4);
  ASSERT_THAT(sel, IsOk());
  EXPECT_NE(sel->best.spec.season, Component::kNone) << sel->best.spec.Name();
  absl::StatusOr<Forecast> f = ForecastEts(sel->best, 8);
  ASSERT_THAT(f, IsOk());
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(f->mean[j], 100.0 + pattern[(64 + j) % 4], 2.0) << j;
}

TEST(ForecastEts, AnalyticIntervalsAreNestedAndWiden) {
  std::vector<double> y = Noise(60, 3.0, 31);
  for (int t = 0; t < 60; ++t) y[t] += 40.0 + 0.5 * t;
  for (const EtsSpec& spec : {kAnn, kAan, kAadn, kMnn}) {
    absl::StatusOr<Forecast> f = EtsForecast(y, 12, 1, spec);
    ASSERT_THAT(f, IsOk()) << spec.Name();
    SCOPED_TRACE(spec.Name());
    ExpectNestedWideningIntervals(*f, /*strictly_monotone=*/true);
  }
}

TEST(ForecastEts, SimulatedIntervalsAreNestedWidenAndRepeatWithTheSeed) {
  std::vector<double> y = Noise(64, 3.0, 37);
  for (int t = 0; t < 64; ++t) y[t] += 100.0 * (t % 4 == 1 ? 1.3 : 0.9);
  absl::StatusOr<EtsModel> model = FitEts(y, 4, kMnm);
  ASSERT_THAT(model, IsOk());
  absl::StatusOr<Forecast> a = ForecastEts(*model, 12);
  absl::StatusOr<Forecast> b = ForecastEts(*model, 12);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ExpectNestedWideningIntervals(*a, /*strictly_monotone=*/false);
  EXPECT_EQ(a->lower95, b->lower95);
  EXPECT_EQ(a->upper80, b->upper80);
  EXPECT_THAT(ForecastEts(*model, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Largest root modulus of Σ c_i z^i (c monic), from the companion matrix's eigenvalues.
double MaxRootModulus(const std::vector<double>& c) {
  const int d = static_cast<int>(c.size()) - 1;
  Eigen::MatrixXd companion = Eigen::MatrixXd::Zero(d, d);
  for (int j = 0; j < d; ++j) companion(0, j) = -c[static_cast<std::size_t>(d - 1 - j)];
  for (int i = 1; i < d; ++i) companion(i, i - 1) = 1.0;
  return Eigen::EigenSolver<Eigen::MatrixXd>(companion).eigenvalues().cwiseAbs().maxCoeff();
}

TEST(EtsParametersAllowed, MatchesTheCharacteristicRootsOfSeasonalModels) {
  const EtsSpec aada{Component::kAdditive, Component::kAdditive, true, Component::kAdditive};
  int checked = 0;
  int rejected_by_roots = 0;
  for (int m : {4, 12}) {
    for (double alpha : {0.05, 0.3, 0.6, 0.9}) {
      for (double beta_share : {0.05, 0.5, 0.99}) {
        for (double gamma_share : {0.05, 0.5, 0.99}) {
          for (double phi : {0.8, 0.9, 0.98}) {
            const double beta = alpha * beta_share;
            const double gamma = (1.0 - alpha) * gamma_share;
            // ets's admissible(): P(z) = phi(1−a−g) + (a+b−a·phi+g−1)z + … + z^{m+1}.
            std::vector<double> p = {phi * (1 - alpha - gamma),
                                     alpha + beta - alpha * phi + gamma - 1};
            for (int i = 0; i < m - 2; ++i) p.push_back(alpha + beta - alpha * phi);
            p.push_back(alpha + beta - phi);
            p.push_back(1.0);
            const double modulus = MaxRootModulus(p);
            if (std::abs(modulus - 1.0) < 1e-4) continue;  // too close to call numerically
            const bool expected = modulus < 1.0;
            EXPECT_EQ(EtsParametersAllowed(aada, alpha, beta, gamma, phi, m), expected)
                << "m=" << m << " alpha=" << alpha << " beta=" << beta << " gamma=" << gamma
                << " phi=" << phi << " max|root|=" << modulus;
            ++checked;
            if (!expected) ++rejected_by_roots;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 150);
  EXPECT_GT(rejected_by_roots, 0);
}

TEST(EtsParametersAllowed, EnforcesTheUsualRegion) {
  EXPECT_TRUE(EtsParametersAllowed(kAan, 0.5, 0.2, 0.0, 1.0, 1));
  EXPECT_FALSE(EtsParametersAllowed(kAan, 0.5, 0.6, 0.0, 1.0, 1));   // beta > alpha
  EXPECT_FALSE(EtsParametersAllowed(kAna, 0.7, 0.0, 0.4, 1.0, 4));   // gamma > 1 − alpha
  EXPECT_FALSE(EtsParametersAllowed(kAadn, 0.5, 0.1, 0.0, 0.99, 1));  // phi > 0.98
  EXPECT_FALSE(EtsParametersAllowed(kAnn, 0.0, 0.0, 0.0, 1.0, 1));    // alpha < 0.0001
}

}  // namespace
}  // namespace prm::forecast
