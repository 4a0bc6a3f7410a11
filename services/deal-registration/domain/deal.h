#pragma once

// The Deal aggregate (SPEC §5.1, proto/prm/deal/v1/deal_resources.proto), its events and audit
// entries as plain C++ values. Field names and enum members map 1:1 to the proto so that the
// gRPC/Kafka adapters only translate. Etags are the adapter's business (derived from version).
//
// Values only: no invariants are enforced here; deal_lifecycle.h owns the transitions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "services/deal-registration/domain/customer_identity.h"

namespace prm::deal {

enum class DealState {
  kUnspecified = 0,
  kDraft = 1,
  kSubmitted = 2,
  kUnderReview = 3,
  kReturned = 4,
  kApproved = 5,
  kRejected = 6,
  kCancelled = 7,
  kWon = 8,
  kLost = 9,
  kExpired = 10,
};

enum class DealStage {
  kUnspecified = 0,
  kProspecting = 1,
  kQualifying = 2,
  kProposing = 3,
  kNegotiating = 4,
  kCommitted = 5,
};

enum class ApprovalMode { kUnspecified = 0, kAuto = 1, kManual = 2 };

enum class RejectionReason {
  kUnspecified = 0,
  kDuplicate = 1,
  kIncomplete = 2,
  kExistingCustomer = 3,
  kOutOfTerritory = 4,
  kOther = 5,
};

enum class CloseSource { kUnspecified = 0, kApi = 1, kErpSale = 2 };

enum class Role {
  kUnspecified = 0,
  kVendorAdmin = 1,
  kChannelManager = 2,
  kPartnerUser = 3,
  kConcierge = 4,
  kErpIntegration = 5,
  kService = 6,
  kSystem = 7,
};

enum class DealAction {
  kUnspecified = 0,
  kCreated = 1,
  kUpdated = 2,
  kDeleted = 3,
  kSubmitted = 4,
  kConflictDetected = 5,
  kReviewStarted = 6,
  kReturned = 7,
  kApproved = 8,
  kRejected = 9,
  kCancelled = 10,
  kWon = 11,
  kLost = 12,
  kExpired = 13,
  kProtectionExtended = 14,
  kExpiryReminded = 15,
  kApprovalSlaBreached = 16,
  kNoteAdded = 17,
};

// Upper-snake names as in the proto without the prefix, e.g. "UNDER_REVIEW".
std::string_view DealStateName(DealState state);
std::string_view DealActionName(DealAction action);

// Active = visible to conflict detection: SUBMITTED, UNDER_REVIEW, APPROVED (the caller checks
// that an APPROVED deal is unexpired).
bool IsActive(DealState state);
bool IsTerminal(DealState state);

struct Money {
  std::string currency_code;
  int64_t units = 0;
  int32_t nanos = 0;
  friend bool operator==(const Money&, const Money&) = default;
};

struct Date {
  int32_t year = 0;
  int32_t month = 0;
  int32_t day = 0;
  friend bool operator==(const Date&, const Date&) = default;
};

struct ProductLine {
  std::string sku;
  std::string product_category;
  int64_t quantity = 0;
  Money amount;
  friend bool operator==(const ProductLine&, const ProductLine&) = default;
};

struct Actor {
  Role role = Role::kUnspecified;
  std::string subject;
  std::string partner_id;
  std::string worker_id;
  static Actor System() { return Actor{Role::kSystem, "system", "", ""}; }
  friend bool operator==(const Actor&, const Actor&) = default;
};

struct DealReview {
  std::optional<absl::Time> submit_time;
  std::optional<absl::Time> approval_due_time;
  std::optional<absl::Time> review_start_time;
  std::optional<Actor> reviewer;
  std::optional<absl::Time> decision_time;
  ApprovalMode approval_mode = ApprovalMode::kUnspecified;
  std::string auto_approval_rule_id;
  RejectionReason rejection_reason = RejectionReason::kUnspecified;
  std::string decision_note;
  std::vector<std::string> fields_to_fix;
  bool approval_sla_breached = false;
  friend bool operator==(const DealReview&, const DealReview&) = default;
};

struct DealProtection {
  std::optional<absl::Time> approve_time;
  int32_t protection_days = 0;
  std::optional<absl::Time> expire_time;
  int32_t extension_count = 0;
  int32_t max_extensions = 0;
  bool expiry_reminder_sent = false;
  friend bool operator==(const DealProtection&, const DealProtection&) = default;
};

struct DealOutcome {
  std::optional<absl::Time> close_time;
  std::optional<Date> close_date;
  CloseSource source = CloseSource::kUnspecified;
  std::optional<Money> won_amount;
  std::string erp_system_id;
  std::string erp_document_id;
  std::string loss_reason;
  friend bool operator==(const DealOutcome&, const DealOutcome&) = default;
};

struct Deal {
  std::string vendor_id;
  std::string deal_id;
  std::string partner_id;
  std::string program_id;
  DealState state = DealState::kUnspecified;
  std::string title;
  EndCustomer end_customer;
  std::vector<ProductLine> products;
  std::optional<Money> value;
  std::optional<Date> expected_close_date;
  DealStage stage = DealStage::kUnspecified;
  std::string description;
  bool has_conflict = false;
  DealReview review;
  DealProtection protection;
  DealOutcome outcome;
  std::string cancel_reason;
  Actor creator;
  int64_t version = 0;
  absl::Time create_time;
  absl::Time update_time;
  friend bool operator==(const Deal&, const Deal&) = default;
};

// Event types, one per message of deal_events.proto.
enum class DealEventType {
  kCreated,
  kUpdated,
  kDeleted,
  kSubmitted,
  kReviewStarted,
  kReturned,
  kApproved,
  kRejected,
  kCancelled,
  kWon,
  kLost,
  kExpired,
  kExpiryReminder,
  kProtectionExtended,
  kApprovalSlaBreached,
};

std::string_view DealEventTypeName(DealEventType type);  // e.g. "DealSubmitted"

// One domain event: the deal after the change plus the extra fields of its proto message (only
// those of `type` are set).
struct DealEvent {
  DealEventType type = DealEventType::kCreated;
  Deal deal;
  Actor actor;
  absl::Time time;
  std::vector<std::string> changed_paths;  // DealUpdated
  bool has_conflict = false;               // DealSubmitted
  bool review_required = false;            // DealSubmitted
  std::string note;                        // DealReturned, DealRejected
  std::vector<std::string> fields_to_fix;  // DealReturned
  ApprovalMode mode = ApprovalMode::kUnspecified;    // DealApproved
  std::string auto_approval_rule_id;                 // DealApproved
  RejectionReason rejection_reason = RejectionReason::kUnspecified;  // DealRejected
  std::string duplicate_of_deal_id;                  // DealRejected
  std::string reason;  // DealCancelled, DealLost, DealProtectionExtended
  std::optional<Money> won_amount;                   // DealWon
  CloseSource source = CloseSource::kUnspecified;    // DealWon
  std::optional<absl::Time> expire_time;             // DealExpiryReminder
  std::optional<absl::Time> previous_expire_time;    // DealProtectionExtended
  int32_t extension_days = 0;                        // DealProtectionExtended
  absl::Duration lead;                               // DealExpiryReminder
  std::optional<absl::Time> approval_due_time;       // DealApprovalSlaBreached
  absl::Duration approval_sla;                       // DealApprovalSlaBreached
};

// One audit entry (DealAuditEntry); `sequence` is the deal's version after the change.
struct AuditEntry {
  std::string vendor_id;
  std::string deal_id;
  int64_t sequence = 0;
  DealAction action = DealAction::kUnspecified;
  Actor actor;
  absl::Time time;
  DealState from_state = DealState::kUnspecified;
  DealState to_state = DealState::kUnspecified;
  std::string reason;
  std::optional<Deal> before;
  std::optional<Deal> after;
};

// What every command of deal_lifecycle.h returns: exactly one event and one audit entry.
struct Transition {
  DealEvent event;
  AuditEntry audit;
};

}  // namespace prm::deal
