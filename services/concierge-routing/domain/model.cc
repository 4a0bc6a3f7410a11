#include "services/concierge-routing/domain/model.h"

#include <algorithm>

namespace prm::routing {

absl::string_view ChannelName(Channel c) {
  switch (c) {
    case Channel::kEmail: return "email";
    case Channel::kCall: return "call";
    case Channel::kChat: return "chat";
    case Channel::kPortal: return "portal";
    case Channel::kInternal: return "internal";
    case Channel::kUnspecified: break;
  }
  return "unspecified";
}

absl::string_view CategoryName(TaskCategory c) {
  switch (c) {
    case TaskCategory::kPricing: return "pricing";
    case TaskCategory::kDealRegistration: return "deal_registration";
    case TaskCategory::kOrderStatus: return "order_status";
    case TaskCategory::kTechnicalPresales: return "technical_presales";
    case TaskCategory::kMarketingFunds: return "marketing_funds";
    case TaskCategory::kLicensing: return "licensing";
    case TaskCategory::kOther: return "other";
    case TaskCategory::kDealApproval: return "deal_approval";
    case TaskCategory::kUnspecified: break;
  }
  return "unspecified";
}

absl::string_view RoleName(WorkerRole r) {
  switch (r) {
    case WorkerRole::kConcierge: return "concierge";
    case WorkerRole::kInsideSales: return "inside_sales";
    case WorkerRole::kOutsideSales: return "outside_sales";
    case WorkerRole::kFieldSupport: return "field_support";
    case WorkerRole::kChannelManager: return "channel_manager";
    case WorkerRole::kUnspecified: break;
  }
  return "unspecified";
}

absl::string_view TaskStateName(TaskState s) {
  switch (s) {
    case TaskState::kPending: return "pending";
    case TaskState::kReserved: return "reserved";
    case TaskState::kAssigned: return "assigned";
    case TaskState::kWrapping: return "wrapping";
    case TaskState::kCompleted: return "completed";
    case TaskState::kCanceled: return "canceled";
    case TaskState::kUnspecified: break;
  }
  return "unspecified";
}

int SkillRequirement::LevelAfter(absl::Duration in_step) const {
  const int floor_level = min_level <= 0 ? level : std::min(min_level, level);
  if (relax_interval <= absl::ZeroDuration() || in_step <= absl::ZeroDuration()) return level;
  const int64_t steps = absl::IDivDuration(in_step, relax_interval, &in_step);
  if (steps >= level) return floor_level;
  return std::max(floor_level, level - static_cast<int>(steps));
}

}  // namespace prm::routing
