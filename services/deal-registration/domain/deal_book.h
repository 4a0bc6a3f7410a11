#pragma once

// DealBook: the in-memory core of deal-registration. It holds the vendor's deals, their conflict
// index and the programs' deal policies, and applies each command atomically: a command's
// lifecycle transition(s), the conflict check and the index update happen under one mutex, so
// exclusivity (SPEC §5.4) holds under concurrent approvals — of two conflicting approvals
// exactly one succeeds.
//
// Access control (SPEC §3.2: which caller may see or change which deal) is the adapter's job;
// the book trusts its caller. ConflictMatch lists are for vendor staff; a partner may only learn
// Deal::has_conflict.
//
// Status codes: NOT_FOUND for an unknown (vendor_id, deal_id); ALREADY_EXISTS on Create of an
// existing id; ABORTED when `expected_version` (the adapter's etag) is set and is not the deal's
// current version — checked atomically with the command; FAILED_PRECONDITION for illegal
// transitions and for approving a deal that conflicts with an APPROVED unexpired one;
// INVALID_ARGUMENT as in deal_lifecycle.h.
//
// Thread safety: every method is thread-safe. The clock must outlive the book.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "services/deal-registration/domain/conflict_index.h"
#include "services/deal-registration/domain/deal.h"
#include "services/deal-registration/domain/deal_lifecycle.h"

namespace prm::deal {

struct CommandResult {
  // The deal after the command (for Delete: as it was before).
  Deal deal;
  // The transitions in order: one, or two for a submission approved by a rule.
  std::vector<Transition> transitions;
  // Submit: the earlier active registrations it conflicts with (vendor-staff view).
  std::vector<ConflictMatch> conflicts;
};

// An ERP sale as the closed loop needs it (SPEC §5.7, prm.sales.v1 SaleRecorded). The adapter
// maps the ERP account to partner_id through its partner projection and skips RETURN documents.
struct SaleRecord {
  std::string vendor_id;
  std::string partner_id;
  std::string erp_system_id;
  std::string erp_document_id;
  EndCustomer end_customer;
  std::vector<ProductLine> lines;
  std::string currency_code;
  absl::Time sale_time;
  std::string deal_id;  // the deal the ERP order references, if any: preferred when it matches
};

// A page of ListDeals (SPEC §5.8). Deals are ordered by deal_id within the vendor.
struct DealQuery {
  std::string vendor_id;                    // required
  std::optional<std::string> partner_id;    // a partner user's queries always set it
  std::vector<DealState> states;            // empty = any
  std::optional<absl::Time> expiring_before;  // APPROVED with expire_time < this
  std::optional<bool> has_conflict;
  int32_t page_size = 0;   // 0 → 50; above 500 → 500; negative → INVALID_ARGUMENT
  std::string page_token;  // next_page_token of the previous page
};

struct DealPage {
  std::vector<Deal> deals;
  std::string next_page_token;  // empty on the last page
};

class DealBook {
 public:
  explicit DealBook(const Clock& clock);
  DealBook(const DealBook&) = delete;
  DealBook& operator=(const DealBook&) = delete;

  // Sets the policy of (policy.vendor_id, policy.program_id); programs without one use the
  // DealPolicy defaults.
  void SetPolicy(DealPolicy policy);
  DealPolicy PolicyFor(std::string_view vendor_id, std::string_view program_id) const;

  // Creates a draft; an empty deal_id is assigned ("deal-<n>").
  absl::StatusOr<CommandResult> Create(Deal draft, const Actor& actor);
  // Updates fields of a DRAFT or RETURNED deal; ABORTED when expected_version is set and stale.
  absl::StatusOr<CommandResult> Update(std::string_view vendor_id, std::string_view deal_id,
                                       const Deal& changes, const std::vector<std::string>& paths,
                                       const Actor& actor,
                                       std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> Delete(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor,
                                       std::optional<int64_t> expected_version = std::nullopt);
  // Validates, detects conflicts against the vendor's active registrations, submits, and
  // approves at once when an auto-approval rule of the partner's program matches (never when
  // an APPROVED deal conflicts).
  absl::StatusOr<CommandResult> Submit(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor, const PartnerFacts& partner,
                                       std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> StartReview(std::string_view vendor_id, std::string_view deal_id,
                                            const Actor& actor,
                                            std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> Return(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor, const std::string& note,
                                       const std::vector<std::string>& fields_to_fix,
                                       std::optional<int64_t> expected_version = std::nullopt);
  // Manual approval; protection days from partner.protection_days or the policy default.
  absl::StatusOr<CommandResult> Approve(std::string_view vendor_id, std::string_view deal_id,
                                        const Actor& actor, const PartnerFacts& partner,
                                        std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> Reject(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor, RejectionReason reason,
                                       const std::string& note,
                                       const std::string& duplicate_of_deal_id = "",
                                       std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> Cancel(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor, const std::string& reason,
                                       std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> MarkWon(std::string_view vendor_id, std::string_view deal_id,
                                        const Actor& actor, const WinDetails& win,
                                        std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> MarkLost(std::string_view vendor_id, std::string_view deal_id,
                                         const Actor& actor, const std::string& reason,
                                         std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<CommandResult> Extend(std::string_view vendor_id, std::string_view deal_id,
                                       const Actor& actor, int32_t days,
                                       const std::string& reason,
                                       std::optional<int64_t> expected_version = std::nullopt);

  // Closed loop: the earliest-submitted APPROVED, unexpired deal of (vendor, partner) whose end
  // customer is the sale's (name, domain or tax id as in conflict detection) and which shares a
  // SKU or category with a sale line becomes WON (source ERP_SALE) with the sum of the matching
  // lines as won amount. nullopt when no deal matches (not an error); INVALID_ARGUMENT when the
  // sale's customer identity is malformed or a matching line has another currency.
  absl::StatusOr<std::optional<CommandResult>> CloseFromSale(const SaleRecord& sale);

  // One page of the vendor's deals matching `query`.
  absl::StatusOr<DealPage> List(const DealQuery& query) const;

  // Fires what is due at clock.Now(): approval-SLA breaches, expiry reminders and expiries
  // (which release exclusivity). Each fires once. Scans every deal: O(deals); a durable store
  // would query by due time instead.
  std::vector<Transition> RunTimers();
  // The earliest time at which RunTimers would fire something, or nullopt when nothing is
  // armed. O(deals), like RunTimers; lets a caller run the timers only when one is due.
  std::optional<absl::Time> NextTimerDue() const;

  absl::StatusOr<Deal> Get(std::string_view vendor_id, std::string_view deal_id) const;
  // The active registrations the deal conflicts with now (vendor-staff view).
  absl::StatusOr<std::vector<ConflictMatch>> CurrentConflicts(std::string_view vendor_id,
                                                              std::string_view deal_id) const;
  size_t active_registrations() const;

 private:
  static std::string Key(std::string_view vendor_id, std::string_view deal_id);
  absl::StatusOr<Deal*> Find(std::string_view vendor_id, std::string_view deal_id);
  const DealPolicy& PolicyLocked(std::string_view vendor_id, std::string_view program_id) const;
  // Brings the index entry of `deal` in line with its state.
  void Reindex(const Deal& deal);
  std::vector<ConflictMatch> ConflictsOf(const Deal& deal, absl::Time now) const;
  // Shared body of the single-transition commands.
  template <typename Command>
  absl::StatusOr<CommandResult> Apply(std::string_view vendor_id, std::string_view deal_id,
                                      std::optional<int64_t> expected_version, Command command);

  const Clock& clock_;
  // Guards everything below; private helpers expect it held.
  mutable std::mutex mu_;
  absl::btree_map<std::string, Deal> deals_;  // by Key()
  ConflictIndex index_;
  absl::flat_hash_map<std::string, DealPolicy> policies_;
  const DealPolicy default_policy_;
  uint64_t next_id_ = 1;
};

}  // namespace prm::deal
