#include "services/deal-registration/domain/deal_lifecycle.h"

#include <string>
#include <vector>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::prm::testing::StatusIs;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01T00:00:00Z
const Actor kPartner{Role::kPartnerUser, "alice", "p1", ""};
const Actor kManager{Role::kChannelManager, "bob", "", ""};

Deal CompleteDraft() {
  Deal d;
  d.vendor_id = "v1";
  d.deal_id = "d1";
  d.partner_id = "p1";
  d.title = "Core network refresh";
  d.end_customer = {"ACME, Inc.", "US", "acme.com", ""};
  d.products = {{"SKU-1", "networking", 10, {"USD", 5000, 0}}};
  d.value = Money{"USD", 5000, 0};
  d.expected_close_date = Date{2026, 3, 31};
  return d;
}

Deal Created() {
  Deal d = CompleteDraft();
  EXPECT_TRUE(CreateDraft(d, kPartner, kT0).ok());
  return d;
}

Deal InState(DealState target) {
  Deal d = Created();
  const DealPolicy policy;
  if (target == DealState::kDraft) return d;
  EXPECT_TRUE(Submit(d, kPartner, kT0, policy, "prog", false, true).ok());
  if (target == DealState::kSubmitted) return d;
  EXPECT_TRUE(StartReview(d, kManager, kT0).ok());
  if (target == DealState::kUnderReview) return d;
  if (target == DealState::kReturned) {
    EXPECT_TRUE(ReturnToPartner(d, kManager, kT0, "fix tax id", {"end_customer.tax_id"}).ok());
    return d;
  }
  EXPECT_TRUE(Approve(d, kManager, kT0, ApprovalMode::kManual, "", 30, 2).ok());
  if (target == DealState::kApproved) return d;
  if (target == DealState::kWon) {
    EXPECT_TRUE(MarkWon(d, kManager, kT0, {{"USD", 4000, 0}, CloseSource::kApi, {}, "", ""}).ok());
  }
  return d;
}

TEST(DealValidation, CompleteRegistrationIsValid) {
  EXPECT_OK(ValidateForSubmission(CompleteDraft(), kT0));
}

TEST(DealValidation, ListsEveryMissingOrBadField) {
  Deal d;
  d.products = {{"", "", 0, {"usd", -1, 0}}};
  d.value = Money{"EURO", -5, 0};
  d.expected_close_date = Date{2025, 12, 1};
  const absl::Status s = ValidateForSubmission(d, kT0);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre(
                          "vendor_id", "partner_id", "title", "end_customer.legal_name",
                          "end_customer.country_code", "end_customer.web_domain",
                          "end_customer.tax_id", "value.currency_code", "value",
                          "products[0].sku", "products[0].product_category",
                          "products[0].quantity", "products[0].amount.currency_code",
                          "products[0].amount", "expected_close_date"));
}

TEST(DealValidation, MissingValueProductsAndDateAreNamed) {
  Deal d = CompleteDraft();
  d.products.clear();
  d.value.reset();
  d.expected_close_date.reset();
  EXPECT_THAT(FieldViolationsOf(ValidateForSubmission(d, kT0)),
              UnorderedElementsAre(Field(&FieldViolation::field, "value"),
                                   Field(&FieldViolation::field, "products"),
                                   Field(&FieldViolation::field, "expected_close_date")));
}

TEST(DealValidation, TaxIdAloneIdentifiesTheCustomerButAMalformedDomainIsNamed) {
  Deal d = CompleteDraft();
  d.end_customer.web_domain = "";
  d.end_customer.tax_id = "12-3456789";
  EXPECT_OK(ValidateForSubmission(d, kT0));
  d.end_customer.web_domain = "acme";
  EXPECT_THAT(FieldViolationsOf(ValidateForSubmission(d, kT0)),
              UnorderedElementsAre(Field(&FieldViolation::field, "end_customer.web_domain")));
}

TEST(DealValidation, CloseDateToleranceAndLineCurrency) {
  Deal d = CompleteDraft();
  d.expected_close_date = Date{2025, 12, 31};  // yesterday: within the one-day tolerance
  EXPECT_OK(ValidateForSubmission(d, kT0 + absl::Hours(12)));
  d.expected_close_date = Date{2025, 12, 30};
  EXPECT_THAT(ValidateForSubmission(d, kT0 + absl::Hours(12)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected_close_date")));
  d = CompleteDraft();
  d.expected_close_date = Date{2026, 2, 30};
  EXPECT_THAT(ValidateForSubmission(d, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected_close_date")));
  d = CompleteDraft();
  d.products[0].amount.currency_code = "EUR";
  EXPECT_THAT(FieldViolationsOf(ValidateForSubmission(d, kT0)),
              UnorderedElementsAre(
                  Field(&FieldViolation::field, "products[0].amount.currency_code")));
}

TEST(DealLifecycle, EveryTransitionReturnsOneEventAndAuditEntry) {
  Deal d = CompleteDraft();
  absl::StatusOr<Transition> t = CreateDraft(d, kPartner, kT0);
  ASSERT_OK(t);
  EXPECT_EQ(t->event.type, DealEventType::kCreated);
  EXPECT_EQ(t->audit.action, DealAction::kCreated);
  EXPECT_EQ(t->audit.from_state, DealState::kUnspecified);
  EXPECT_EQ(t->audit.to_state, DealState::kDraft);
  EXPECT_FALSE(t->audit.before.has_value());
  EXPECT_EQ(t->audit.sequence, 1);

  t = Submit(d, kPartner, kT0 + absl::Minutes(1), DealPolicy{}, "prog", true, true);
  ASSERT_OK(t);
  EXPECT_EQ(t->event.type, DealEventType::kSubmitted);
  EXPECT_TRUE(t->event.has_conflict);
  EXPECT_EQ(t->audit.actor, kPartner);
  EXPECT_EQ(t->audit.time, kT0 + absl::Minutes(1));
  EXPECT_EQ(t->audit.from_state, DealState::kDraft);
  EXPECT_EQ(t->audit.to_state, DealState::kSubmitted);
  EXPECT_EQ(t->audit.before->state, DealState::kDraft);
  EXPECT_EQ(t->audit.after->state, DealState::kSubmitted);
  EXPECT_EQ(t->audit.sequence, 2);
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(d.program_id, "prog");
  EXPECT_EQ(d.review.approval_due_time, kT0 + absl::Minutes(1) + absl::Hours(48));
}

TEST(DealLifecycle, IllegalTransitionsFailNamingFromAndTo) {
  Deal draft = InState(DealState::kDraft);
  EXPECT_THAT(Approve(draft, kManager, kT0, ApprovalMode::kManual, "", 30, 2),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("DRAFT → APPROVED")));
  Deal submitted = InState(DealState::kSubmitted);
  EXPECT_THAT(Approve(submitted, kManager, kT0, ApprovalMode::kManual, "", 30, 2),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("SUBMITTED → APPROVED")));
  EXPECT_THAT(DeleteDraft(submitted, kPartner, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  Deal won = InState(DealState::kWon);
  EXPECT_THAT(Cancel(won, kPartner, kT0, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("WON → CANCELLED")));
  EXPECT_THAT(Expire(won, kT0 + absl::Hours(24 * 365)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("WON → EXPIRED")));
  const Deal unchanged = won;
  EXPECT_FALSE(MarkLost(won, kManager, kT0, "").ok());
  EXPECT_EQ(won, unchanged);
}

TEST(DealLifecycle, ReturnedDealIsResubmitted) {
  Deal d = InState(DealState::kReturned);
  EXPECT_EQ(d.review.fields_to_fix, std::vector<std::string>{"end_customer.tax_id"});
  ASSERT_OK(Submit(d, kPartner, kT0 + absl::Hours(1), DealPolicy{}, "prog", false, true));
  EXPECT_EQ(d.state, DealState::kSubmitted);
  EXPECT_TRUE(d.review.fields_to_fix.empty());
}

TEST(DealLifecycle, RejectionNeedsAReasonCode) {
  Deal d = InState(DealState::kUnderReview);
  EXPECT_THAT(Reject(d, kManager, kT0, RejectionReason::kUnspecified, "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Reject(d, kManager, kT0, RejectionReason::kOther, "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<Transition> t = Reject(d, kManager, kT0, RejectionReason::kDuplicate, "", "d0");
  ASSERT_OK(t);
  EXPECT_EQ(d.state, DealState::kRejected);
  EXPECT_EQ(t->event.rejection_reason, RejectionReason::kDuplicate);
  EXPECT_EQ(t->event.duplicate_of_deal_id, "d0");
}

TEST(DealLifecycle, CancelOnlyBeforeADecision) {
  for (DealState s : {DealState::kSubmitted, DealState::kUnderReview, DealState::kReturned}) {
    Deal d = InState(s);
    EXPECT_OK(Cancel(d, kPartner, kT0, "customer went elsewhere"));
    EXPECT_EQ(d.state, DealState::kCancelled);
  }
  Deal approved = InState(DealState::kApproved);
  EXPECT_THAT(Cancel(approved, kPartner, kT0, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  Deal draft = InState(DealState::kDraft);
  EXPECT_THAT(Cancel(draft, kPartner, kT0, ""), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DealLifecycle, OnlyDraftsAreDeleted) {
  Deal d = InState(DealState::kDraft);
  absl::StatusOr<Transition> t = DeleteDraft(d, kPartner, kT0);
  ASSERT_OK(t);
  EXPECT_EQ(t->event.type, DealEventType::kDeleted);
  EXPECT_FALSE(t->audit.after.has_value());
  Deal returned = InState(DealState::kReturned);
  EXPECT_THAT(DeleteDraft(returned, kPartner, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RETURNED")));
}

TEST(DealLifecycle, ApprovalSetsProtectionWindow) {
  Deal d = InState(DealState::kUnderReview);
  ASSERT_OK(Approve(d, kManager, kT0, ApprovalMode::kManual, "", 45, 3));
  EXPECT_EQ(d.protection.approve_time, kT0);
  EXPECT_EQ(d.protection.expire_time, kT0 + absl::Hours(24 * 45));
  EXPECT_EQ(d.protection.max_extensions, 3);
  EXPECT_EQ(d.review.approval_mode, ApprovalMode::kManual);
}

TEST(DealLifecycle, AutoApprovalOnlyFromSubmittedWithARule) {
  Deal d = InState(DealState::kSubmitted);
  EXPECT_THAT(Approve(d, Actor::System(), kT0, ApprovalMode::kAuto, "", 30, 2),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(Approve(d, Actor::System(), kT0, ApprovalMode::kAuto, "gold", 30, 2));
  EXPECT_EQ(d.review.auto_approval_rule_id, "gold");
}

TEST(DealLifecycle, ExpiryOnlyAtOrAfterExpireTime) {
  Deal d = InState(DealState::kApproved);  // 30 days
  EXPECT_THAT(Expire(d, kT0 + absl::Hours(24 * 30) - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<Transition> t = Expire(d, kT0 + absl::Hours(24 * 30));
  ASSERT_OK(t);
  EXPECT_EQ(d.state, DealState::kExpired);
  EXPECT_EQ(t->audit.actor.role, Role::kSystem);
}

TEST(DealLifecycle, WinAndLossNeedAnUnexpiredApproval) {
  Deal d = InState(DealState::kApproved);
  const WinDetails win{{"USD", 4200, 0}, CloseSource::kErpSale, Date{2026, 1, 20}, "sap", "INV-1"};
  EXPECT_THAT(MarkWon(d, kManager, kT0 + absl::Hours(24 * 30), win),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<Transition> t = MarkWon(d, kManager, kT0 + absl::Hours(24), win);
  ASSERT_OK(t);
  EXPECT_EQ(d.outcome.won_amount, (Money{"USD", 4200, 0}));
  EXPECT_EQ(t->event.source, CloseSource::kErpSale);
  Deal lost = InState(DealState::kApproved);
  ASSERT_OK(MarkLost(lost, kManager, kT0, "price"));
  EXPECT_EQ(lost.outcome.loss_reason, "price");
}

TEST(DealLifecycle, ExtensionIsCappedNeedsAReasonAndOnlyWhileUnexpired) {
  DealPolicy policy;
  Deal d = InState(DealState::kApproved);  // max 2 extensions, 30 days
  EXPECT_THAT(ExtendProtection(d, kManager, kT0, 10, "", policy),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ExtendProtection(d, kManager, kT0, 91, "slow procurement", policy),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<Transition> t = ExtendProtection(d, kManager, kT0, 0, "slow procurement", policy);
  ASSERT_OK(t);
  EXPECT_EQ(t->event.extension_days, 30);
  EXPECT_EQ(t->event.previous_expire_time, kT0 + absl::Hours(24 * 30));
  EXPECT_EQ(d.protection.expire_time, kT0 + absl::Hours(24 * 60));
  EXPECT_EQ(t->audit.reason, "slow procurement");
  ASSERT_OK(ExtendProtection(d, kManager, kT0, 5, "board meeting", policy));
  EXPECT_THAT(ExtendProtection(d, kManager, kT0, 5, "again", policy),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("maximum")));
  Deal expired = InState(DealState::kApproved);
  EXPECT_THAT(ExtendProtection(expired, kManager, kT0 + absl::Hours(24 * 30), 5, "late", policy),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DealLifecycle, ReminderFiresOnceWithinTheLead) {
  Deal d = InState(DealState::kApproved);  // expires at kT0 + 30d
  const absl::Duration lead = absl::Hours(24 * 7);
  EXPECT_THAT(RemindExpiry(d, kT0 + absl::Hours(24 * 22), lead),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(RemindExpiry(d, kT0 + absl::Hours(24 * 23), lead));
  EXPECT_THAT(RemindExpiry(d, kT0 + absl::Hours(24 * 24), lead),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DealLifecycle, ApprovalSlaBreachFiresOnce) {
  Deal d = InState(DealState::kSubmitted);  // due at kT0 + 48h
  EXPECT_THAT(BreachApprovalSla(d, kT0 + absl::Hours(47), absl::Hours(48)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<Transition> t = BreachApprovalSla(d, kT0 + absl::Hours(48), absl::Hours(48));
  ASSERT_OK(t);
  EXPECT_EQ(t->event.type, DealEventType::kApprovalSlaBreached);
  EXPECT_THAT(BreachApprovalSla(d, kT0 + absl::Hours(49), absl::Hours(48)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DealLifecycle, UpdateOnlyInDraftOrReturnedAndOnlyKnownPaths) {
  Deal d = InState(DealState::kDraft);
  Deal changes;
  changes.title = "New title";
  EXPECT_THAT(UpdateDetails(d, changes, {"state"}, kPartner, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<Transition> t = UpdateDetails(d, changes, {"title"}, kPartner, kT0);
  ASSERT_OK(t);
  EXPECT_EQ(d.title, "New title");
  EXPECT_EQ(t->event.changed_paths, std::vector<std::string>{"title"});
  Deal approved = InState(DealState::kApproved);
  EXPECT_THAT(UpdateDetails(approved, changes, {"title"}, kPartner, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  changes.stage = DealStage::kCommitted;
  ASSERT_OK(UpdateDetails(approved, changes, {"stage"}, kPartner, kT0));
  EXPECT_EQ(approved.stage, DealStage::kCommitted);
  EXPECT_EQ(approved.state, DealState::kApproved);
  Deal won = InState(DealState::kWon);
  EXPECT_THAT(UpdateDetails(won, changes, {"stage"}, kPartner, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AutoApproval, FirstMatchingEnabledRuleWins) {
  DealPolicy policy;
  AutoApprovalRule disabled{"off", false, 0, {}, true, {}, {}, {}};
  AutoApprovalRule gold_small{"gold", true, 3, Money{"USD", 10000, 0}, false, {"US"}, {}, {}};
  policy.auto_approval_rules = {disabled, gold_small};
  Deal d = CompleteDraft();
  PartnerFacts gold{"prog", 3, 0, 60};
  PartnerFacts silver{"prog", 2, 0, 30};
  ASSERT_NE(MatchAutoApprovalRule(policy, d, gold, false), nullptr);
  EXPECT_EQ(MatchAutoApprovalRule(policy, d, gold, false)->rule_id, "gold");
  EXPECT_EQ(MatchAutoApprovalRule(policy, d, silver, false), nullptr);
  EXPECT_EQ(MatchAutoApprovalRule(policy, d, gold, true), nullptr);  // conflict
  d.value = Money{"USD", 10000, 0};
  EXPECT_EQ(MatchAutoApprovalRule(policy, d, gold, false), nullptr);  // not below
  d.value = Money{"EUR", 1, 0};
  EXPECT_EQ(MatchAutoApprovalRule(policy, d, gold, false), nullptr);  // other currency
}

}  // namespace
}  // namespace prm::deal
