#include "services/deal-registration/domain/deal.h"

#include <string_view>

namespace prm::deal {

std::string_view DealStateName(DealState state) {
  switch (state) {
    case DealState::kUnspecified: return "UNSPECIFIED";
    case DealState::kDraft: return "DRAFT";
    case DealState::kSubmitted: return "SUBMITTED";
    case DealState::kUnderReview: return "UNDER_REVIEW";
    case DealState::kReturned: return "RETURNED";
    case DealState::kApproved: return "APPROVED";
    case DealState::kRejected: return "REJECTED";
    case DealState::kCancelled: return "CANCELLED";
    case DealState::kWon: return "WON";
    case DealState::kLost: return "LOST";
    case DealState::kExpired: return "EXPIRED";
  }
  return "UNKNOWN";
}

std::string_view DealActionName(DealAction action) {
  switch (action) {
    case DealAction::kUnspecified: return "UNSPECIFIED";
    case DealAction::kCreated: return "CREATED";
    case DealAction::kUpdated: return "UPDATED";
    case DealAction::kDeleted: return "DELETED";
    case DealAction::kSubmitted: return "SUBMITTED";
    case DealAction::kConflictDetected: return "CONFLICT_DETECTED";
    case DealAction::kReviewStarted: return "REVIEW_STARTED";
    case DealAction::kReturned: return "RETURNED";
    case DealAction::kApproved: return "APPROVED";
    case DealAction::kRejected: return "REJECTED";
    case DealAction::kCancelled: return "CANCELLED";
    case DealAction::kWon: return "WON";
    case DealAction::kLost: return "LOST";
    case DealAction::kExpired: return "EXPIRED";
    case DealAction::kProtectionExtended: return "PROTECTION_EXTENDED";
    case DealAction::kExpiryReminded: return "EXPIRY_REMINDED";
    case DealAction::kApprovalSlaBreached: return "APPROVAL_SLA_BREACHED";
    case DealAction::kNoteAdded: return "NOTE_ADDED";
  }
  return "UNKNOWN";
}

std::string_view DealEventTypeName(DealEventType type) {
  switch (type) {
    case DealEventType::kCreated: return "DealCreated";
    case DealEventType::kUpdated: return "DealUpdated";
    case DealEventType::kDeleted: return "DealDeleted";
    case DealEventType::kSubmitted: return "DealSubmitted";
    case DealEventType::kReviewStarted: return "DealReviewStarted";
    case DealEventType::kReturned: return "DealReturned";
    case DealEventType::kApproved: return "DealApproved";
    case DealEventType::kRejected: return "DealRejected";
    case DealEventType::kCancelled: return "DealCancelled";
    case DealEventType::kWon: return "DealWon";
    case DealEventType::kLost: return "DealLost";
    case DealEventType::kExpired: return "DealExpired";
    case DealEventType::kExpiryReminder: return "DealExpiryReminder";
    case DealEventType::kProtectionExtended: return "DealProtectionExtended";
    case DealEventType::kApprovalSlaBreached: return "DealApprovalSlaBreached";
  }
  return "Unknown";
}

bool IsActive(DealState state) {
  return state == DealState::kSubmitted || state == DealState::kUnderReview ||
         state == DealState::kApproved;
}

bool IsTerminal(DealState state) {
  return state == DealState::kRejected || state == DealState::kCancelled ||
         state == DealState::kWon || state == DealState::kLost || state == DealState::kExpired;
}

}  // namespace prm::deal
