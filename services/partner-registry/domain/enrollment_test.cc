#include "services/partner-registry/domain/enrollment.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partner-registry/domain/test_fixtures.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;
using testing::EventsOf;
using testing::MakeProgram;
using S = EnrollmentState;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01Z

Enrollment NewEnrollment(const Program& program, std::vector<DomainEvent>& out) {
  return Enrollment::Create("partner-1", program, kT0, out);
}

TEST(Enrollment, CreateStartsAsProspectWithFirstTier) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> events;
  Enrollment e = NewEnrollment(program, events);
  EXPECT_EQ(e.state(), S::kProspect);
  EXPECT_EQ(e.tier_id(), "registered");
  ASSERT_EQ(events.size(), 2u);
  const auto& created = std::get<EnrollmentStateChanged>(events[0]);
  EXPECT_EQ(created.from, S::kUnspecified);
  EXPECT_EQ(created.to, S::kProspect);
  EXPECT_EQ(created.meta.aggregate_version, 1);
  const auto& tier = std::get<TierChanged>(events[1]);
  EXPECT_EQ(tier.to_tier_id, "registered");
  EXPECT_EQ(tier.meta.aggregate_version, 2);
  EXPECT_EQ(e.version(), 2);
}

TEST(Enrollment, EachTransitionEmitsOneEventWithIncreasingVersion) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> events;
  Enrollment e = NewEnrollment(program, events);
  int64_t last = e.version();
  const S path[] = {S::kOnboarding, S::kActive, S::kSuspended, S::kActive, S::kSuspended,
                    S::kTerminated};
  S from = S::kProspect;
  for (S to : path) {
    std::vector<DomainEvent> out;
    ASSERT_THAT(e.Transition(to, "why", kT0 + absl::Hours(1), out), IsOk());
    ASSERT_EQ(out.size(), 1u);
    const auto& ev = std::get<EnrollmentStateChanged>(out[0]);
    EXPECT_EQ(ev.from, from);
    EXPECT_EQ(ev.to, to);
    EXPECT_EQ(ev.reason, "why");
    EXPECT_EQ(ev.meta.aggregate_version, last + 1);
    last = ev.meta.aggregate_version;
    from = to;
  }
  EXPECT_EQ(e.state(), S::kTerminated);
}

TEST(Enrollment, IllegalTransitionsAreFailedPreconditionNamingStates) {
  EXPECT_THAT(CheckTransition(S::kProspect, S::kActive),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("PROSPECT -> ACTIVE")));
  EXPECT_THAT(CheckTransition(S::kActive, S::kOnboarding),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ACTIVE -> ONBOARDING")));
  EXPECT_THAT(CheckTransition(S::kSuspended, S::kOnboarding),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckTransition(S::kActive, S::kActive),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  for (S to : {S::kProspect, S::kOnboarding, S::kActive, S::kSuspended, S::kTerminated}) {
    EXPECT_THAT(CheckTransition(S::kTerminated, to),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TERMINATED -> ")));
  }
}

TEST(Enrollment, EveryNonTerminalStateCanTerminate) {
  for (S from : {S::kProspect, S::kOnboarding, S::kActive, S::kSuspended}) {
    EXPECT_THAT(CheckTransition(from, S::kTerminated), IsOk()) << EnrollmentStateName(from);
  }
}

TEST(Enrollment, IllegalTransitionChangesNothing) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> events;
  Enrollment e = NewEnrollment(program, events);
  const int64_t version = e.version();
  std::vector<DomainEvent> out;
  EXPECT_THAT(e.Transition(S::kActive, "", kT0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(e.version(), version);
  EXPECT_EQ(e.state(), S::kProspect);
}

TEST(Enrollment, TerminatedRejectsCommands) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  ASSERT_THAT(e.Transition(S::kTerminated, "gone", kT0, out), IsOk());
  EXPECT_THAT(e.GrantCompetency(Competency{.competency_id = "cloud"}, program, kT0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(e.SetPoints(5, program, kT0, out), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(e.ApplySale(Sale{"s", kT0, SaleKind::kSellIn, "x", Money::FromUnits("EUR", 1)},
                          program, kT0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

Sale MakeSale(absl::Time t, SaleKind kind, std::string category, int64_t eur) {
  return Sale{"", t, kind, std::move(category), Money::FromUnits("EUR", eur)};
}

TEST(EnrollmentFigures, SalesAddReturnsSubtractAndMixIsByCategory) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  ASSERT_THAT(e.ApplySale(MakeSale(kT0, SaleKind::kSellIn, "storage", 600), program, kT0, out),
              IsOk());
  ASSERT_THAT(e.ApplySale(MakeSale(kT0, SaleKind::kSellThrough, "network", 300), program, kT0, out),
              IsOk());
  ASSERT_THAT(e.ApplySale(MakeSale(kT0, SaleKind::kReturn, "storage", 100), program, kT0, out),
              IsOk());
  const EnrollmentMetrics& m = e.metrics();
  EXPECT_EQ(m.trailing_revenue, Money::FromUnits("EUR", 800));
  ASSERT_EQ(m.sales_mix.size(), 2u);
  EXPECT_EQ(m.sales_mix[0].product_category, "storage");
  EXPECT_EQ(m.sales_mix[0].revenue, Money::FromUnits("EUR", 500));
  EXPECT_DOUBLE_EQ(m.sales_mix[0].share, 500.0 / 800.0);
  EXPECT_EQ(m.sales_mix[1].product_category, "network");
  EXPECT_DOUBLE_EQ(m.sales_mix[1].share, 300.0 / 800.0);
}

TEST(EnrollmentFigures, TrailingWindowDropsSalesOlderThanTwelveMonths) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  ASSERT_THAT(e.ApplySale(MakeSale(kT0, SaleKind::kSellIn, "a", 100), program, kT0, out), IsOk());
  const absl::Time later = kT0 + absl::Hours(24 * 200);
  ASSERT_THAT(e.ApplySale(MakeSale(later, SaleKind::kSellIn, "a", 50), program, later, out),
              IsOk());
  EXPECT_EQ(e.metrics().trailing_revenue, Money::FromUnits("EUR", 150));
  e.Tick(program, kT0 + kTrailingWindow, out);
  EXPECT_EQ(e.metrics().trailing_revenue, Money::FromUnits("EUR", 50));
}

TEST(EnrollmentFigures, AreIndependentOfApplicationOrder) {
  const Program program = MakeProgram("v1");
  const std::vector<Sale> sales = {MakeSale(kT0, SaleKind::kSellIn, "a", 70),
                                   MakeSale(kT0, SaleKind::kReturn, "b", 20),
                                   MakeSale(kT0, SaleKind::kSellThrough, "b", 90)};
  std::vector<DomainEvent> out;
  Enrollment forward = NewEnrollment(program, out);
  Enrollment backward = NewEnrollment(program, out);
  for (size_t i = 0; i < sales.size(); ++i) {
    ASSERT_THAT(forward.ApplySale(sales[i], program, kT0, out), IsOk());
    ASSERT_THAT(backward.ApplySale(sales[sales.size() - 1 - i], program, kT0, out), IsOk());
  }
  EXPECT_EQ(forward.metrics().trailing_revenue, backward.metrics().trailing_revenue);
  EXPECT_EQ(forward.metrics().sales_mix, backward.metrics().sales_mix);
}

TEST(EnrollmentFigures, OtherCurrencyOrNegativeAmountIsInvalidArgument) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  Sale usd = MakeSale(kT0, SaleKind::kSellIn, "a", 1);
  usd.amount.currency_code = "USD";
  EXPECT_THAT(e.ApplySale(usd, program, kT0, out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount.currency_code")));
  Sale negative = MakeSale(kT0, SaleKind::kSellIn, "a", -1);
  EXPECT_THAT(e.ApplySale(negative, program, kT0, out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount")));
}

TEST(EnrollmentFigures, DealOutcomesGiveWinRateCycleAndLoad) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  const absl::Time now = kT0 + absl::Hours(24 * 40);
  for (const char* id : {"d1", "d2", "d3", "d4"}) {
    ASSERT_THAT(e.ApplyDealOutcome({id, DealOutcomeKind::kSubmitted, kT0, {}}, now), IsOk());
  }
  EXPECT_EQ(e.metrics().open_deal_count, 4);
  ASSERT_THAT(e.ApplyDealOutcome({"d1", DealOutcomeKind::kWon, kT0, kT0 + absl::Hours(24 * 10)}, now),
              IsOk());
  ASSERT_THAT(e.ApplyDealOutcome({"d2", DealOutcomeKind::kWon, kT0, kT0 + absl::Hours(24 * 30)}, now),
              IsOk());
  ASSERT_THAT(e.ApplyDealOutcome({"d3", DealOutcomeKind::kLost, kT0, kT0 + absl::Hours(24)}, now),
              IsOk());
  // A redelivered outcome is deterministic: same figures.
  ASSERT_THAT(e.ApplyDealOutcome({"d3", DealOutcomeKind::kLost, kT0, kT0 + absl::Hours(24)}, now),
              IsOk());
  const EnrollmentMetrics& m = e.metrics();
  EXPECT_EQ(m.won_deal_count, 2);
  EXPECT_EQ(m.lost_deal_count, 1);
  EXPECT_DOUBLE_EQ(m.win_rate, 2.0 / 3.0);
  EXPECT_EQ(m.average_sales_cycle, absl::Hours(24 * 20));
  EXPECT_EQ(m.open_deal_count, 1);
}

TEST(EnrollmentFields, ConciergeAndOptOutEmitOnlyOnChange) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  out.clear();
  ASSERT_THAT(e.AssignConcierge("w-1", kT0, out), IsOk());
  ASSERT_THAT(e.AssignConcierge("w-1", kT0, out), IsOk());
  ASSERT_THAT(e.SetLeadOptOut(true, kT0, out), IsOk());
  ASSERT_THAT(e.SetLeadOptOut(true, kT0, out), IsOk());
  ASSERT_EQ(out.size(), 2u);
  const auto& assigned = std::get<ConciergeAssigned>(out[0]);
  EXPECT_EQ(assigned.previous_worker_id, "");
  EXPECT_EQ(assigned.worker_id, "w-1");
  EXPECT_EQ(std::get<EnrollmentUpdated>(out[1]).changed_paths,
            std::vector<std::string>{"lead_opt_out"});
  EXPECT_TRUE(e.lead_opt_out());
}

TEST(EnrollmentFields, PointsEmitUpdatedAndReevaluate) {
  Program program = MakeProgram("v1");
  program.tiers[1].requirements.min_trailing_revenue.reset();
  program.tiers[1].requirements.min_points = 100;
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  out.clear();
  ASSERT_THAT(e.SetPoints(100, program, kT0, out), IsOk());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<EnrollmentUpdated>(out[0]).changed_paths,
            std::vector<std::string>{"points"});
  const auto& tier = std::get<TierChanged>(out[1]);
  EXPECT_EQ(tier.to_tier_id, "silver");
  EXPECT_EQ(tier.evaluation.trigger, EvaluationTrigger::kEnrollment);
  EXPECT_THAT(e.SetPoints(-1, program, kT0, out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("points")));
}

TEST(EnrollmentFields, ChannelManagerEmitsUpdated) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  out.clear();
  ASSERT_THAT(e.SetChannelManager("cm-1", kT0, out), IsOk());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<EnrollmentUpdated>(out[0]).changed_paths,
            std::vector<std::string>{"channel_manager_worker_id"});
  EXPECT_EQ(e.channel_manager_worker_id(), "cm-1");
}

TEST(EnrollmentFields, AttributesAreValidatedAndEmitOnChange) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  out.clear();
  EXPECT_THAT(e.SetAttributes({{"Bad", "x"}, {"ok", std::string(1025, 'v')}}, kT0, out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("attributes[Bad]"), HasSubstr("attributes[ok]"))));
  ASSERT_THAT(e.SetAttributes({{"segment", "smb"}}, kT0, out), IsOk());
  ASSERT_THAT(e.SetAttributes({{"segment", "smb"}}, kT0, out), IsOk());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<EnrollmentUpdated>(out[0]).changed_paths,
            std::vector<std::string>{"attributes"});
  EXPECT_EQ(e.attributes().at("segment"), "smb");
}


// A second program of the same vendor whose silver needs EUR 300k instead of 100k.
Program StricterProgram(std::string vendor_id) {
  Program p = MakeProgram(std::move(vendor_id));
  p.program_id = "strict";
  p.tiers[1].requirements.min_trailing_revenue = Money::FromUnits("EUR", 300'000);
  return p;
}

TEST(EnrollmentProgram, MoveReevaluatesUnderTheNewRequirementsAtOnce) {
  Program program = MakeProgram("v1");
  program.program_id = "standard";
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  ASSERT_THAT(e.ApplySale(MakeSale(kT0, SaleKind::kSellIn, "storage", 150'000), program, kT0, out),
              IsOk());
  ASSERT_EQ(e.tier_id(), "silver");
  const int64_t version = e.version();
  out.clear();
  const absl::Time t1 = kT0 + absl::Hours(1);
  ASSERT_THAT(e.ChangeProgram(StricterProgram("v1"), t1, out), IsOk());
  EXPECT_EQ(e.program_id(), "strict");
  // A downgrade by the move applies at once: the grace is for a ladder the partner stays on.
  EXPECT_EQ(e.tier_id(), "registered");
  EXPECT_FALSE(e.pending_downgrade().has_value());
  ASSERT_EQ(out.size(), 2u);
  const auto& updated = std::get<EnrollmentUpdated>(out[0]);
  EXPECT_EQ(updated.changed_paths, std::vector<std::string>{"program_id"});
  EXPECT_EQ(updated.meta.aggregate_version, version + 1);
  const auto& tier = std::get<TierChanged>(out[1]);
  EXPECT_EQ(tier.program_id, "strict");
  EXPECT_EQ(tier.from_tier_id, "silver");
  EXPECT_EQ(tier.to_tier_id, "registered");
  EXPECT_EQ(tier.evaluation.trigger, EvaluationTrigger::kProgram);
  EXPECT_FALSE(tier.grace_start_time.has_value());
  EXPECT_EQ(tier.meta.aggregate_version, version + 2);
  // The same program again changes nothing.
  out.clear();
  ASSERT_THAT(e.ChangeProgram(StricterProgram("v1"), t1, out), IsOk());
  EXPECT_TRUE(out.empty());
  // as_of before the move: the old program and tier; after: the new ones.
  absl::StatusOr<EnrollmentAsOf> before = e.AsOf(kT0 + absl::Minutes(30));
  ASSERT_THAT(before.status(), IsOk());
  EXPECT_EQ(before->program_id, "standard");
  EXPECT_EQ(before->tier_id, "silver");
  absl::StatusOr<EnrollmentAsOf> after = e.AsOf(t1);
  ASSERT_THAT(after.status(), IsOk());
  EXPECT_EQ(after->program_id, "strict");
  EXPECT_EQ(after->tier_id, "registered");
}

TEST(EnrollmentProgram, AnotherVendorsProgramOrCurrencyOrTerminatedIsRefused) {
  Program program = MakeProgram("v1");
  program.program_id = "standard";
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  out.clear();
  EXPECT_THAT(e.ChangeProgram(StricterProgram("v2"), kT0, out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("program_id")));
  Program dollars = StricterProgram("v1");
  for (Tier& t : dollars.tiers) {
    if (t.requirements.min_trailing_revenue) {
      t.requirements.min_trailing_revenue->currency_code = "USD";
    }
  }
  EXPECT_THAT(e.ChangeProgram(dollars, kT0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("USD")));
  ASSERT_THAT(e.Transition(S::kTerminated, "gone", kT0, out), IsOk());
  out.clear();
  EXPECT_THAT(e.ChangeProgram(StricterProgram("v1"), kT0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(e.program_id(), "standard");
}

TEST(EnrollmentAsOf, ReturnsTheLifecycleStateValidAtTheInstant) {
  const Program program = MakeProgram("v1");
  std::vector<DomainEvent> out;
  Enrollment e = NewEnrollment(program, out);
  const absl::Time t1 = kT0 + absl::Hours(1), t2 = kT0 + absl::Hours(2), t3 = kT0 + absl::Hours(3);
  ASSERT_THAT(e.Transition(S::kOnboarding, "", t1, out), IsOk());
  ASSERT_THAT(e.Transition(S::kActive, "", t2, out), IsOk());
  ASSERT_THAT(e.Transition(S::kSuspended, "unpaid invoices", t3, out), IsOk());
  auto state_at = [&](absl::Time t) { return e.AsOf(t)->state; };
  EXPECT_EQ(state_at(kT0), S::kProspect);
  EXPECT_EQ(state_at(t1 - absl::Seconds(1)), S::kProspect);
  EXPECT_EQ(state_at(t1), S::kOnboarding);
  EXPECT_EQ(state_at(t2 + absl::Minutes(59)), S::kActive);
  absl::StatusOr<EnrollmentAsOf> now = e.AsOf(t3 + absl::Hours(1));
  ASSERT_THAT(now.status(), IsOk());
  EXPECT_EQ(now->state, S::kSuspended);
  EXPECT_EQ(now->state_reason, "unpaid invoices");
  EXPECT_EQ(now->state_change_time, t3);
  EXPECT_EQ(e.AsOf(t2)->state_change_time, t2);
  EXPECT_THAT(e.AsOf(kT0 - absl::Seconds(1)).status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace prm::partner
