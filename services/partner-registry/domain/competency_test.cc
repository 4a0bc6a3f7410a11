#include "services/partner-registry/domain/competency.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partner-registry/domain/enrollment.h"
#include "services/partner-registry/domain/test_fixtures.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;
using testing::EventsOf;
using testing::MakeProgram;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);
const absl::Duration kDay = absl::Hours(24);

TEST(CompetencyState, FollowsExpiryGraceAndRevocation) {
  Competency c{.competency_id = "cloud", .grant_time = kT0, .expire_time = kT0 + 10 * kDay,
               .renewal_grace_period = 5 * kDay};
  EXPECT_EQ(StateAt(c, kT0), CompetencyState::kActive);
  EXPECT_EQ(StateAt(c, kT0 + 10 * kDay), CompetencyState::kInGrace);
  EXPECT_TRUE(CountsAt(c, kT0 + 15 * kDay - absl::Seconds(1)));
  EXPECT_EQ(StateAt(c, kT0 + 15 * kDay), CompetencyState::kExpired);
  EXPECT_FALSE(CountsAt(c, kT0 + 15 * kDay));
  c.revoke_time = kT0 + kDay;
  EXPECT_EQ(StateAt(c, kT0), CompetencyState::kActive);
  EXPECT_EQ(StateAt(c, kT0 + kDay), CompetencyState::kRevoked);
}

// A gold partner (revenue met) whose gold depends on one competency; tier grace 0 so that the
// competency's own expiry and grace decide.
class CompetencyLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    program_.downgrade_grace_period = absl::ZeroDuration();
    e_ = Enrollment::Create("p1", program_, kT0, out_);
    ASSERT_THAT(e_.ApplySale(Sale{"", kT0, SaleKind::kSellIn, "cloud",
                                  Money::FromUnits("EUR", 600'000)},
                             program_, kT0, out_),
                IsOk());
    out_.clear();
  }
  void Grant(std::string id, int level, absl::Time expire) {
    ASSERT_THAT(e_.GrantCompetency(Competency{.competency_id = std::move(id), .level = level,
                                              .certified_people = 3, .grant_time = kT0,
                                              .expire_time = expire},
                                   program_, kT0, out_),
                IsOk());
  }
  Program program_ = MakeProgram("v1");
  std::vector<DomainEvent> out_;
  Enrollment e_;
};

TEST_F(CompetencyLifecycleTest, GrantEmitsGrantedAndUpgrades) {
  Grant("cloud", 2, kT0 + 100 * kDay);
  ASSERT_EQ(out_.size(), 2u);
  const auto& granted = std::get<CompetencyGranted>(out_[0]);
  EXPECT_EQ(granted.competency.competency_id, "cloud");
  EXPECT_EQ(granted.competency.renewal_grace_period, 14 * kDay);  // from the definition
  EXPECT_EQ(granted.competency.state, CompetencyState::kActive);
  const auto& tier = std::get<TierChanged>(out_[1]);
  EXPECT_EQ(tier.to_tier_id, "gold");
  EXPECT_EQ(tier.evaluation.trigger, EvaluationTrigger::kCompetency);
  EXPECT_LT(granted.meta.aggregate_version, tier.meta.aggregate_version);
}

TEST_F(CompetencyLifecycleTest, GrantValidationAndDuplicates) {
  EXPECT_THAT(e_.GrantCompetency(Competency{.competency_id = "nope"}, program_, kT0, out_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("competency.competency_id")));
  EXPECT_THAT(e_.GrantCompetency(Competency{.competency_id = "cloud", .level = 4}, program_, kT0,
                                 out_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("competency.level")));
  EXPECT_THAT(e_.GrantCompetency(Competency{.competency_id = "cloud",
                                            .grant_time = kT0 + kDay},
                                 program_, kT0, out_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grant_time")));
  Grant("cloud", 2, kT0 + 100 * kDay);
  EXPECT_THAT(e_.GrantCompetency(Competency{.competency_id = "cloud"}, program_, kT0, out_),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(CompetencyLifecycleTest, DefaultExpiryIsDefinitionValidity) {
  ASSERT_THAT(e_.GrantCompetency(Competency{.competency_id = "security"}, program_, kT0, out_),
              IsOk());
  EXPECT_EQ(e_.competencies()[0].expire_time, kT0 + 365 * kDay);
}

TEST_F(CompetencyLifecycleTest, ExpiringIsEmittedOnceAtLeadTime) {
  Grant("cloud", 2, kT0 + 100 * kDay);
  out_.clear();
  e_.Tick(program_, kT0 + 70 * kDay - absl::Seconds(1), out_);
  EXPECT_TRUE(EventsOf<CompetencyExpiring>(out_).empty());
  e_.Tick(program_, kT0 + 70 * kDay, out_);
  auto expiring = EventsOf<CompetencyExpiring>(out_);
  ASSERT_EQ(expiring.size(), 1u);
  EXPECT_EQ(expiring[0].competency.competency_id, "cloud");
  EXPECT_EQ(expiring[0].notice, 30 * kDay);
  e_.Tick(program_, kT0 + 80 * kDay, out_);
  e_.Tick(program_, kT0 + 99 * kDay, out_);
  EXPECT_EQ(EventsOf<CompetencyExpiring>(out_).size(), 1u);
}

TEST_F(CompetencyLifecycleTest, RenewalRearmsExpiringAndKeepsTier) {
  Grant("cloud", 2, kT0 + 100 * kDay);
  e_.Tick(program_, kT0 + 75 * kDay, out_);
  out_.clear();
  ASSERT_THAT(e_.RenewCompetency("cloud", kT0 + 465 * kDay, 3, std::nullopt, program_,
                                 kT0 + 76 * kDay, out_),
              IsOk());
  auto renewed = EventsOf<CompetencyRenewed>(out_);
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].previous_expire_time, kT0 + 100 * kDay);
  EXPECT_EQ(renewed[0].competency.level, 3);
  e_.Tick(program_, kT0 + 435 * kDay, out_);
  EXPECT_EQ(EventsOf<CompetencyExpiring>(out_).size(), 1u);
  EXPECT_EQ(e_.competencies()[0].state, CompetencyState::kActive);
}

TEST_F(CompetencyLifecycleTest, ExpiryWithoutGraceStopsCountingAtExpiry) {
  Program no_grace = program_;
  no_grace.competencies[0].renewal_grace_period = absl::ZeroDuration();
  program_ = no_grace;
  Grant("cloud", 2, kT0 + 100 * kDay);
  ASSERT_EQ(e_.tier_id(), "gold");
  out_.clear();
  e_.Tick(program_, kT0 + 100 * kDay, out_);
  auto expired = EventsOf<CompetencyExpired>(out_);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].competency.state, CompetencyState::kExpired);
  auto tier = EventsOf<TierChanged>(out_);
  ASSERT_EQ(tier.size(), 1u);
  EXPECT_EQ(tier[0].from_tier_id, "gold");
  EXPECT_EQ(tier[0].to_tier_id, "silver");
  EXPECT_EQ(tier[0].evaluation.trigger, EvaluationTrigger::kCompetency);
}

TEST_F(CompetencyLifecycleTest, ExpiryWithGraceStillCountsUntilGraceEnds) {
  Grant("cloud", 2, kT0 + 100 * kDay);  // 14 days of renewal grace
  out_.clear();
  e_.Tick(program_, kT0 + 100 * kDay, out_);
  EXPECT_TRUE(EventsOf<CompetencyExpired>(out_).empty());
  EXPECT_EQ(e_.competencies()[0].state, CompetencyState::kInGrace);
  EXPECT_EQ(e_.tier_id(), "gold");
  e_.Tick(program_, kT0 + 114 * kDay - absl::Seconds(1), out_);
  EXPECT_TRUE(EventsOf<CompetencyExpired>(out_).empty());
  e_.Tick(program_, kT0 + 114 * kDay, out_);
  EXPECT_EQ(EventsOf<CompetencyExpired>(out_).size(), 1u);
  EXPECT_EQ(e_.tier_id(), "silver");
  e_.Tick(program_, kT0 + 120 * kDay, out_);
  EXPECT_EQ(EventsOf<CompetencyExpired>(out_).size(), 1u);  // once
}

TEST_F(CompetencyLifecycleTest, RenewingExpiredIsFailedPreconditionAndUnknownIsNotFound) {
  Grant("security", 1, kT0 + 10 * kDay);
  e_.Tick(program_, kT0 + 11 * kDay, out_);
  EXPECT_THAT(e_.RenewCompetency("security", kT0 + 400 * kDay, std::nullopt, std::nullopt,
                                 program_, kT0 + 11 * kDay, out_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(e_.RenewCompetency("cloud", kT0 + 400 * kDay, std::nullopt, std::nullopt, program_,
                                 kT0 + 11 * kDay, out_),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CompetencyLifecycleTest, RevokeStopsCountingAndDowngrades) {
  Grant("cloud", 2, kT0 + 100 * kDay);
  out_.clear();
  ASSERT_THAT(e_.RevokeCompetency("cloud", "fraud", program_, kT0 + kDay, out_), IsOk());
  ASSERT_EQ(EventsOf<CompetencyRevoked>(out_).size(), 1u);
  EXPECT_EQ(EventsOf<TierChanged>(out_).at(0).to_tier_id, "silver");
  EXPECT_THAT(e_.RevokeCompetency("cloud", "again", program_, kT0 + kDay, out_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CompetencyLifecycleTest, AsOfReturnsCompetenciesValidAtTheTime) {
  const absl::Time granted = kT0 + 5 * kDay;
  ASSERT_THAT(e_.GrantCompetency(Competency{.competency_id = "security", .grant_time = granted,
                                            .expire_time = granted + 30 * kDay},
                                 program_, granted, out_),
              IsOk());
  auto before = e_.AsOf(granted - absl::Seconds(1));
  ASSERT_THAT(before.status(), IsOk());
  EXPECT_TRUE(before->competencies.empty());
  auto during = e_.AsOf(granted + kDay);
  ASSERT_THAT(during.status(), IsOk());
  ASSERT_EQ(during->competencies.size(), 1u);
  EXPECT_EQ(during->competencies[0].state, CompetencyState::kActive);
  auto after = e_.AsOf(granted + 31 * kDay);
  ASSERT_THAT(after.status(), IsOk());
  ASSERT_EQ(after->competencies.size(), 1u);
  EXPECT_EQ(after->competencies[0].state, CompetencyState::kExpired);
}

}  // namespace
}  // namespace prm::partner
