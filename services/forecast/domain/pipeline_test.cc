#include "services/forecast/domain/pipeline.h"

#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

constexpr int kQualifying = 2;
constexpr int kProposing = 3;
constexpr int kCommitted = 5;

ClosedDeal Closed(int stage, std::string tier, bool won) {
  return {.group = {.stage = stage, .tier_id = std::move(tier), .partner_type = 1}, .won = won};
}

TEST(PipelineTest, StageProbabilitiesShrinkTowardsCoarserGroups) {
  // Proposing/gold: 3 won, 1 lost; proposing/silver: 2 lost; qualifying/gold: 1 lost.
  std::vector<ClosedDeal> closed = {
      Closed(kProposing, "gold", true),    Closed(kProposing, "gold", true),
      Closed(kProposing, "gold", true),    Closed(kProposing, "gold", false),
      Closed(kProposing, "silver", false), Closed(kProposing, "silver", false),
      Closed(kQualifying, "gold", false)};
  StageProbabilities p(closed);
  // Vendor: (3 + 1) / (7 + 2) = 4/9. Proposing: (3 + 5 · 4/9) / (6 + 5) = 47/99.
  // Proposing/gold/type 1: (3 + 5 · 47/99) / (4 + 5) = 532/891.
  EXPECT_DOUBLE_EQ(p.Of({kProposing, "gold", 1}), 532.0 / 891.0);
  // Proposing/silver: (0 + 5 · 47/99) / (2 + 5) = 235/693.
  EXPECT_DOUBLE_EQ(p.Of({kProposing, "silver", 1}), 235.0 / 693.0);
  // A group never closed gets its stage's estimate; a stage never closed the vendor's.
  EXPECT_DOUBLE_EQ(p.Of({kProposing, "platinum", 1}), 47.0 / 99.0);
  EXPECT_DOUBLE_EQ(p.Of({kCommitted, "gold", 1}), 4.0 / 9.0);
  // No history at all: one half.
  EXPECT_DOUBLE_EQ(StageProbabilities({}).Of({kCommitted, "gold", 1}), 0.5);
}

TEST(PipelineTest, DealsLandInThePeriodOfTheirCloseDateAndBlendIntoTheNearPeriods) {
  using D = absl::CivilDay;
  const std::vector<std::pair<D, D>> weeks = {{D(2026, 1, 5), D(2026, 1, 11)},
                                              {D(2026, 1, 12), D(2026, 1, 18)},
                                              {D(2026, 1, 19), D(2026, 1, 25)}};
  StageProbabilities half({});  // p = 1/2 for every deal
  const DealGroup g{kProposing, "gold", 1};
  std::vector<OpenDeal> open = {
      {g, 1000, D(2026, 1, 1)},   // overdue: the first period
      {g, 400, D(2026, 1, 12)},   // the second
      {g, 600, D(2026, 1, 25)},   // the last day of the third
      {g, 800, D(2026, 2, 10)}};  // after the horizon: summary only
  PipelineBlend blend = BlendPipeline(open, half, weeks, 2, 1.0);
  EXPECT_EQ(blend.pipeline, (std::vector<double>{500, 200, 300}));
  // B = 2, full coverage: w = 2/3, 1/3, then 0.
  EXPECT_EQ(blend.weight, (std::vector<double>{2.0 / 3, 1.0 / 3, 0}));
  EXPECT_EQ(blend.open_deal_count, 4);
  EXPECT_DOUBLE_EQ(blend.open_value, 2800);
  EXPECT_DOUBLE_EQ(blend.expected_value, 1400);
  EXPECT_EQ(blend.blend_periods, 2);

  Forecast f{.mean = {900, 900, 900},
             .lower80 = {800, 800, 800},
             .upper80 = {1000, 1000, 1000},
             .lower95 = {700, 700, 700},
             .upper95 = {1100, 1100, 1100}};
  ApplyBlend(blend, f);
  // 2/3 · 500 + 1/3 · 900 = 633.33…; 1/3 · 200 + 2/3 · 900 = 666.67…; 900 unchanged.
  EXPECT_DOUBLE_EQ(f.mean[0], 2.0 / 3 * 500 + 1.0 / 3 * 900);
  EXPECT_DOUBLE_EQ(f.mean[1], 1.0 / 3 * 200 + 2.0 / 3 * 900);
  EXPECT_DOUBLE_EQ(f.mean[2], 900);
  // The bounds move with the mean.
  EXPECT_DOUBLE_EQ(f.lower80[0], f.mean[0] - 100);
  EXPECT_DOUBLE_EQ(f.upper95[1], f.mean[1] + 200);
  EXPECT_DOUBLE_EQ(f.lower95[2], 700);
}

TEST(PipelineTest, NoBlendPeriodsLeavesTheStatisticalForecast) {
  const std::vector<std::pair<absl::CivilDay, absl::CivilDay>> months = {
      {absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 1, 31)}};
  PipelineBlend blend = BlendPipeline({{{kCommitted, "", 0}, 100, absl::CivilDay(2026, 1, 15)}},
                                      StageProbabilities({}), months, 0, 1.0);
  EXPECT_EQ(blend.pipeline, (std::vector<double>{50}));
  EXPECT_EQ(blend.weight, (std::vector<double>{0}));
  Forecast f{.mean = {10}, .lower80 = {5}, .upper80 = {15}, .lower95 = {0}, .upper95 = {20}};
  ApplyBlend(blend, f);
  EXPECT_EQ(f.mean, (std::vector<double>{10}));
}

TEST(PipelineTest, CoverageScalesTheWeights) {
  // Won deals worth 300 against 1,200 of sales: a quarter of the sales come through deals.
  EXPECT_DOUBLE_EQ(PipelineCoverage(300, 1200), 0.25);
  EXPECT_DOUBLE_EQ(PipelineCoverage(5000, 1200), 1.0);
  EXPECT_DOUBLE_EQ(PipelineCoverage(300, 0), 0.0);
  const std::vector<std::pair<absl::CivilDay, absl::CivilDay>> months = {
      {absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 1, 31)},
      {absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 2, 28)}};
  PipelineBlend blend = BlendPipeline({{{kCommitted, "", 0}, 400, absl::CivilDay(2026, 1, 15)}},
                                      StageProbabilities({}), months, 3, 0.25);
  // B = 3: 3/4 and 2/4, times the coverage.
  EXPECT_EQ(blend.weight, (std::vector<double>{0.25 * 3 / 4, 0.25 * 2 / 4}));
  Forecast f{.mean = {100, 100}, .lower80 = {90, 90}, .upper80 = {110, 110},
             .lower95 = {80, 80}, .upper95 = {120, 120}};
  ApplyBlend(blend, f);
  // Pipeline 200 in January: 0.1875 · 200 + 0.8125 · 100 = 118.75; February: 0.875 · 100.
  EXPECT_DOUBLE_EQ(f.mean[0], 118.75);
  EXPECT_DOUBLE_EQ(f.mean[1], 87.5);
  // Without coverage nothing moves.
  Forecast g = {.mean = {100}, .lower80 = {90}, .upper80 = {110}, .lower95 = {80},
                .upper95 = {120}};
  ApplyBlend(BlendPipeline({}, StageProbabilities({}), months, 3, 0), g);
  EXPECT_EQ(g.mean, (std::vector<double>{100}));
}

}  // namespace
}  // namespace prm::forecast
