#include "services/partner-registry/domain/tier_evaluator.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partner-registry/domain/enrollment.h"
#include "services/partner-registry/domain/test_fixtures.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using testing::EventsOf;
using testing::MakeProgram;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);
const absl::Duration kDay = absl::Hours(24);

Sale Eur(absl::Time t, SaleKind kind, int64_t units) {
  return Sale{"", t, kind, "storage", Money::FromUnits("EUR", units)};
}

TEST(TierEvaluator, ReturnsHighestTierWithAllRequirementsAndEveryReason) {
  const Program program = MakeProgram("v1");
  const std::vector<Competency> comps = {
      Competency{.competency_id = "cloud", .level = 1, .grant_time = kT0,
                 .expire_time = kT0 + 365 * kDay}};
  TierEvaluation eval = EvaluateTiers(
      program, TierInputs{Money::FromUnits("EUR", 600'000), &comps, 0}, kT0,
      EvaluationTrigger::kManual);
  EXPECT_EQ(eval.qualified_tier_id, "silver");  // gold needs cloud at level 2
  EXPECT_EQ(eval.qualified_tier_rank, 2);
  EXPECT_EQ(eval.trigger, EvaluationTrigger::kManual);
  ASSERT_EQ(eval.results.size(), 4u);
  EXPECT_EQ(eval.results[0].tier_id, "silver");
  EXPECT_EQ(eval.results[0].kind, RequirementKind::kTrailingRevenue);
  EXPECT_TRUE(eval.results[0].passed);
  EXPECT_EQ(eval.results[0].actual_amount, Money::FromUnits("EUR", 600'000));
  EXPECT_EQ(eval.results[0].required_amount, Money::FromUnits("EUR", 100'000));
  EXPECT_EQ(eval.results[1].tier_id, "gold");
  EXPECT_TRUE(eval.results[1].passed);
  EXPECT_EQ(eval.results[2].kind, RequirementKind::kActiveCompetencyCount);
  EXPECT_TRUE(eval.results[2].passed);
  EXPECT_EQ(eval.results[3].kind, RequirementKind::kRequiredCompetency);
  EXPECT_EQ(eval.results[3].competency_id, "cloud");
  EXPECT_FALSE(eval.results[3].passed);
  EXPECT_EQ(eval.results[3].required_value, 2);
  EXPECT_EQ(eval.results[3].actual_value, 1);
}

TEST(TierEvaluator, RevenueInAnotherCurrencyFails) {
  const Program program = MakeProgram("v1");
  TierEvaluation eval = EvaluateTiers(
      program, TierInputs{Money::FromUnits("USD", 900'000), nullptr, 0}, kT0,
      EvaluationTrigger::kManual);
  EXPECT_EQ(eval.qualified_tier_id, "registered");
}

TEST(TierEvaluator, PointsRequirement) {
  Program program = MakeProgram("v1");
  program.tiers[1].requirements.min_trailing_revenue.reset();
  program.tiers[1].requirements.min_points = 50;
  EXPECT_EQ(EvaluateTiers(program, {Money{"EUR", 0}, nullptr, 49}, kT0, {}).qualified_tier_id,
            "registered");
  EXPECT_EQ(EvaluateTiers(program, {Money{"EUR", 0}, nullptr, 50}, kT0, {}).qualified_tier_id,
            "silver");
}

TEST(TierEvaluator, ValidateProgramListsBadFields) {
  Program program = MakeProgram("v1");
  program.tiers[2].requirements.required_competencies = {{"nope", 1}};
  program.tiers[1].tier_id = "Silver!";
  program.downgrade_grace_period = absl::Hours(24 * 400);
  absl::Status s = ValidateProgram(program);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          ::testing::AllOf(
                              ::testing::HasSubstr("tiers[2].requirements.required_competencies[0]"),
                              ::testing::HasSubstr("tiers[1].tier_id"),
                              ::testing::HasSubstr("downgrade_grace_period"))));
  EXPECT_THAT(ValidateProgram(MakeProgram("v1")), IsOk());
}

class TierLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { e_ = Enrollment::Create("p1", program_, kT0, out_); out_.clear(); }
  Program program_ = MakeProgram("v1");
  std::vector<DomainEvent> out_;
  Enrollment e_;
};

TEST_F(TierLifecycleTest, UpgradeAppliesAtOnceWhenSalesPushRevenueOverThreshold) {
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kSellIn, 60'000), program_, kT0, out_), IsOk());
  EXPECT_TRUE(EventsOf<TierChanged>(out_).empty());
  EXPECT_EQ(e_.tier_id(), "registered");
  const absl::Time t1 = kT0 + kDay;
  ASSERT_THAT(e_.ApplySale(Eur(t1, SaleKind::kSellThrough, 40'000), program_, t1, out_), IsOk());
  auto changes = EventsOf<TierChanged>(out_);
  ASSERT_EQ(changes.size(), 1u);
  const TierChanged& c = changes[0];
  EXPECT_EQ(c.from_tier_id, "registered");
  EXPECT_EQ(c.from_tier_rank, 1);
  EXPECT_EQ(c.to_tier_id, "silver");
  EXPECT_EQ(c.to_tier_rank, 2);
  ASSERT_TRUE(c.to_tier_benefits.has_value());
  EXPECT_EQ(c.to_tier_benefits->discount_basis_points, 1000);
  EXPECT_EQ(c.evaluation.trigger, EvaluationTrigger::kSales);
  EXPECT_TRUE(c.evaluation.results[0].passed);
  EXPECT_EQ(c.evaluation.results[0].actual_amount, Money::FromUnits("EUR", 100'000));
  EXPECT_EQ(c.grace_start_time, std::nullopt);
  EXPECT_EQ(c.meta.aggregate_version, e_.version());
  EXPECT_EQ(e_.tier_id(), "silver");
  EXPECT_EQ(e_.tier_start_time(), t1);
}

TEST_F(TierLifecycleTest, DowngradeOnlyAfterGracePeriod) {
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kSellIn, 150'000), program_, kT0, out_), IsOk());
  ASSERT_EQ(e_.tier_id(), "silver");
  out_.clear();
  const absl::Time below = kT0 + 10 * kDay;
  ASSERT_THAT(e_.ApplySale(Eur(below, SaleKind::kReturn, 80'000), program_, below, out_), IsOk());
  EXPECT_TRUE(EventsOf<TierChanged>(out_).empty());
  EXPECT_EQ(e_.tier_id(), "silver");
  ASSERT_TRUE(e_.pending_downgrade().has_value());
  EXPECT_EQ(e_.pending_downgrade()->tier_id, "registered");
  EXPECT_EQ(e_.pending_downgrade()->below_since, below);
  EXPECT_EQ(e_.pending_downgrade()->effective_time, below + 30 * kDay);

  e_.Tick(program_, below + 30 * kDay - absl::Seconds(1), out_);
  EXPECT_TRUE(EventsOf<TierChanged>(out_).empty());
  EXPECT_EQ(e_.tier_id(), "silver");

  e_.Tick(program_, below + 30 * kDay, out_);
  auto changes = EventsOf<TierChanged>(out_);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from_tier_id, "silver");
  EXPECT_EQ(changes[0].to_tier_id, "registered");
  EXPECT_EQ(changes[0].grace_start_time, below);
  EXPECT_EQ(changes[0].evaluation.trigger, EvaluationTrigger::kGraceElapsed);
  EXPECT_FALSE(changes[0].evaluation.results[0].passed);
  EXPECT_EQ(e_.tier_id(), "registered");
  EXPECT_FALSE(e_.pending_downgrade().has_value());
}

TEST_F(TierLifecycleTest, MeetingRequirementsAgainWithinGraceCancelsDowngrade) {
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kSellIn, 150'000), program_, kT0, out_), IsOk());
  const absl::Time t1 = kT0 + kDay;
  ASSERT_THAT(e_.ApplySale(Eur(t1, SaleKind::kReturn, 80'000), program_, t1, out_), IsOk());
  ASSERT_TRUE(e_.pending_downgrade().has_value());
  const absl::Time t2 = kT0 + 5 * kDay;
  ASSERT_THAT(e_.ApplySale(Eur(t2, SaleKind::kSellIn, 50'000), program_, t2, out_), IsOk());
  EXPECT_FALSE(e_.pending_downgrade().has_value());
  out_.clear();
  e_.Tick(program_, kT0 + 60 * kDay, out_);
  EXPECT_TRUE(EventsOf<TierChanged>(out_).empty());
  EXPECT_EQ(e_.tier_id(), "silver");
}

TEST_F(TierLifecycleTest, ZeroGraceDowngradesAtOnce) {
  program_.downgrade_grace_period = absl::ZeroDuration();
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kSellIn, 150'000), program_, kT0, out_), IsOk());
  out_.clear();
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kReturn, 80'000), program_, kT0, out_), IsOk());
  auto changes = EventsOf<TierChanged>(out_);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].to_tier_id, "registered");
}

TEST_F(TierLifecycleTest, ProgramChangeReevaluates) {
  ASSERT_THAT(e_.ApplySale(Eur(kT0, SaleKind::kSellIn, 60'000), program_, kT0, out_), IsOk());
  program_.tiers[1].requirements.min_trailing_revenue = Money::FromUnits("EUR", 50'000);
  out_.clear();
  e_.Reevaluate(program_, kT0, EvaluationTrigger::kProgram, out_);
  auto changes = EventsOf<TierChanged>(out_);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].to_tier_id, "silver");
  EXPECT_EQ(changes[0].evaluation.trigger, EvaluationTrigger::kProgram);
}

TEST_F(TierLifecycleTest, AsOfReturnsTierValidBeforeAndAfterAChange) {
  const absl::Time t1 = kT0 + 10 * kDay;
  ASSERT_THAT(e_.ApplySale(Eur(t1, SaleKind::kSellIn, 150'000), program_, t1, out_), IsOk());
  ASSERT_EQ(e_.tier_id(), "silver");
  auto before = e_.AsOf(t1 - absl::Seconds(1));
  ASSERT_THAT(before.status(), IsOk());
  EXPECT_EQ(before->tier_id, "registered");
  EXPECT_EQ(before->tier_rank, 1);
  EXPECT_EQ(before->tier_start_time, kT0);
  auto after = e_.AsOf(t1);
  ASSERT_THAT(after.status(), IsOk());
  EXPECT_EQ(after->tier_id, "silver");
  EXPECT_EQ(after->tier_start_time, t1);
  EXPECT_THAT(e_.AsOf(kT0 - absl::Seconds(1)).status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace prm::partner
