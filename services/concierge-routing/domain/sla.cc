#include "services/concierge-routing/domain/sla.h"

namespace prm::routing {

std::optional<absl::Duration> ResolveSlaTarget(const SlaPolicy& policy, absl::string_view tier_id,
                                               TaskCategory category) {
  const SlaTarget* best = nullptr;
  int best_score = -1;
  for (const SlaTarget& t : policy.targets) {
    const bool tier_match = t.tier_id.empty() || t.tier_id == tier_id;
    const bool cat_match = t.category == TaskCategory::kUnspecified || t.category == category;
    if (!tier_match || !cat_match) continue;
    const int score = (t.tier_id.empty() ? 0 : 2) + (t.category == TaskCategory::kUnspecified ? 0 : 1);
    if (score > best_score) {
      best = &t;
      best_score = score;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->first_response;
}

TaskSla StartSla(const BusinessCalendar& calendar, absl::Time created, absl::Duration target,
                 int warning_percent) {
  TaskSla sla;
  sla.target = target;
  sla.state = SlaState::kRunning;
  sla.time_zone = calendar.time_zone_name();
  sla.warning_time = calendar.AddBusinessTime(created, target * warning_percent / 100);
  sla.due_time = calendar.AddBusinessTime(created, target);
  return sla;
}

std::vector<SlaTransition> AdvanceSla(TaskSla& sla, absl::Time now) {
  std::vector<SlaTransition> out;
  if (sla.state == SlaState::kRunning && now >= sla.warning_time) {
    sla.state = SlaState::kWarning;
    out.push_back(SlaTransition::kWarning);
  }
  if (sla.state == SlaState::kWarning && now >= sla.due_time) {
    sla.state = SlaState::kBreached;
    out.push_back(SlaTransition::kBreached);
  }
  return out;
}

void RecordFirstResponse(TaskSla& sla, absl::Time now) {
  if (sla.first_response_time.has_value()) return;
  sla.first_response_time = now;
  if (sla.state == SlaState::kRunning || sla.state == SlaState::kWarning) {
    sla.state = SlaState::kMet;
  }
}

}  // namespace prm::routing
