#pragma once

// The deal lifecycle (SPEC §5.2, §5.5, §5.6) as functions on a Deal value:
//
//   DRAFT → SUBMITTED → UNDER_REVIEW → APPROVED → WON | LOST | EXPIRED
//   UNDER_REVIEW → RETURNED → SUBMITTED;  SUBMITTED | UNDER_REVIEW → REJECTED (reason code)
//   SUBMITTED | UNDER_REVIEW | RETURNED → CANCELLED;  SUBMITTED → APPROVED only by a rule
//   DRAFT → deleted
//
// Every command either fails and leaves `deal` untouched, or changes it, increments its version,
// sets update_time and returns exactly one Transition (one event + one audit entry with the
// deal before and after). Status codes:
//   INVALID_ARGUMENT    bad arguments or an incomplete registration, listing every bad field
//                       (prm::FieldViolations); checked before the state
//   FAILED_PRECONDITION the transition is not allowed from the current state (the message names
//                       "FROM → TO"), or a time condition does not hold (expired, not yet due,
//                       extension cap reached, reminder already sent)
// Conflict detection and exclusivity need the other deals and live in DealBook.
// Thread safety: pure functions on the caller's values.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/deal-registration/domain/deal.h"

namespace prm::deal {

struct AutoApprovalRule {
  std::string rule_id;
  bool enabled = true;
  int32_t min_tier_rank = 0;           // 0 = any
  std::optional<Money> max_value;      // value must be below; other currency → no match
  bool allow_conflict = false;
  std::vector<std::string> country_codes;       // empty = any
  std::vector<std::string> product_categories;  // every category of the deal in it; empty = any
  std::vector<int32_t> partner_types;           // prm.common.v1.PartnerType numbers; empty = any
};

// DealPolicy of one program (defaults as documented in deal_resources.proto).
struct DealPolicy {
  std::string vendor_id;
  std::string program_id;
  std::vector<AutoApprovalRule> auto_approval_rules;
  absl::Duration approval_sla = absl::Hours(48);
  absl::Duration expiry_reminder_lead = absl::Hours(24 * 7);
  int32_t max_extensions = 2;
  int32_t default_extension_days = 30;
  int32_t max_extension_days = 90;
  int32_t default_protection_days = 90;
};

// What deal-registration knows of the submitting partner at the vendor (from partner-registry).
struct PartnerFacts {
  std::string program_id;
  int32_t tier_rank = 0;                       // 1 = lowest; 0 = no tier
  int32_t partner_type = 0;
  std::optional<int32_t> protection_days;      // the tier's benefit, when known
};

// How far in the past an expected close date may lie at submission (clock skew, time zones).
inline constexpr absl::Duration kCloseDateTolerance = absl::Hours(24);

// Everything needed to submit (SPEC §5.1): vendor_id, partner_id, title, end_customer
// (legal_name, country_code, web_domain or tax_id, both well-formed when present), 1..100
// products (sku, product_category, quantity 1..1e9, amount ≥ 0 in the deal's currency), value
// (ISO 4217 code, ≥ 0), expected_close_date (a valid date not before the UTC day of
// now - tolerance). OK or INVALID_ARGUMENT naming every bad field.
absl::Status ValidateForSubmission(const Deal& deal, absl::Time now,
                                   absl::Duration tolerance = kCloseDateTolerance);

// The first enabled rule of `policy` that approves `deal`, or nullptr.
const AutoApprovalRule* MatchAutoApprovalRule(const DealPolicy& policy, const Deal& deal,
                                              const PartnerFacts& partner, bool has_conflict);

// Starts a draft: vendor_id, deal_id, partner_id and a 1..200 character title are required
// (INVALID_ARGUMENT otherwise); state becomes DRAFT, version 1.
absl::StatusOr<Transition> CreateDraft(Deal& deal, const Actor& actor, absl::Time now);

// Replaces the fields named in `paths` (title, end_customer, products, value,
// expected_close_date, stage, description) with those of `changes`; in DRAFT or RETURNED, and in
// APPROVED only stage, expected_close_date and description (FAILED_PRECONDITION otherwise).
absl::StatusOr<Transition> UpdateDetails(Deal& deal, const Deal& changes,
                                         const std::vector<std::string>& paths, const Actor& actor,
                                         absl::Time now);

// DRAFT only. The returned audit entry has no `after`; the caller drops the deal.
absl::StatusOr<Transition> DeleteDraft(Deal& deal, const Actor& actor, absl::Time now);

// DRAFT | RETURNED → SUBMITTED after ValidateForSubmission; sets submit and approval-due times
// and has_conflict. `review_required` is recorded on the event (false when a rule will approve).
absl::StatusOr<Transition> Submit(Deal& deal, const Actor& actor, absl::Time now,
                                  const DealPolicy& policy, const std::string& program_id,
                                  bool has_conflict, bool review_required);

absl::StatusOr<Transition> StartReview(Deal& deal, const Actor& actor, absl::Time now);

// UNDER_REVIEW → RETURNED; `note` is required.
absl::StatusOr<Transition> ReturnToPartner(Deal& deal, const Actor& actor, absl::Time now,
                                           const std::string& note,
                                           const std::vector<std::string>& fields_to_fix);

// UNDER_REVIEW → APPROVED (kManual), or SUBMITTED → APPROVED (kAuto with a rule id). Sets
// expire_time = now + protection_days (1..3650).
absl::StatusOr<Transition> Approve(Deal& deal, const Actor& actor, absl::Time now,
                                   ApprovalMode mode, const std::string& rule_id,
                                   int32_t protection_days, int32_t max_extensions);

// SUBMITTED | UNDER_REVIEW → REJECTED. The reason code is required; OTHER also needs a note.
absl::StatusOr<Transition> Reject(Deal& deal, const Actor& actor, absl::Time now,
                                  RejectionReason reason, const std::string& note,
                                  const std::string& duplicate_of_deal_id);

// SUBMITTED | UNDER_REVIEW | RETURNED → CANCELLED (reason at most 1024 characters).
absl::StatusOr<Transition> Cancel(Deal& deal, const Actor& actor, absl::Time now,
                                  const std::string& reason);

struct WinDetails {
  Money won_amount;  // non-negative, valid currency
  CloseSource source = CloseSource::kApi;
  std::optional<Date> close_date;  // defaults to the UTC day of `now`
  std::string erp_system_id;
  std::string erp_document_id;
};

// APPROVED and unexpired → WON. A won deal never expires.
absl::StatusOr<Transition> MarkWon(Deal& deal, const Actor& actor, absl::Time now,
                                   const WinDetails& win);

// APPROVED and unexpired → LOST.
absl::StatusOr<Transition> MarkLost(Deal& deal, const Actor& actor, absl::Time now,
                                    const std::string& reason);

// APPROVED with expire_time <= now → EXPIRED (actor: system).
absl::StatusOr<Transition> Expire(Deal& deal, absl::Time now);

// APPROVED and unexpired, fewer than max_extensions so far, a non-empty reason, days in
// 1..policy.max_extension_days (0 = policy.default_extension_days): moves expire_time and
// re-arms the reminder. State stays APPROVED.
absl::StatusOr<Transition> ExtendProtection(Deal& deal, const Actor& actor, absl::Time now,
                                            int32_t days, const std::string& reason,
                                            const DealPolicy& policy);

// APPROVED, reminder not yet sent for the current expire_time, expire_time - lead <= now <
// expire_time: emits DealExpiryReminder once.
absl::StatusOr<Transition> RemindExpiry(Deal& deal, absl::Time now, absl::Duration lead);

// SUBMITTED | UNDER_REVIEW, approval_due_time <= now, not yet breached: emits
// DealApprovalSlaBreached once per submission.
absl::StatusOr<Transition> BreachApprovalSla(Deal& deal, absl::Time now,
                                             absl::Duration approval_sla);

}  // namespace prm::deal
