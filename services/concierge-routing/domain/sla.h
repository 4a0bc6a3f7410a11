#pragma once

// First-response SLAs (SPEC §6.5): which target applies to a task, when its warning and due
// instants fall in wall-clock time, and the one-way state machine RUNNING → WARNING → BREACHED
// (or → MET on first response) that makes each event fire exactly once.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/concierge-routing/domain/business_time.h"
#include "services/concierge-routing/domain/model.h"

namespace prm::routing {

struct SlaTarget {
  std::string tier_id;                                  // empty = any tier
  TaskCategory category = TaskCategory::kUnspecified;  // unspecified = any category
  absl::Duration first_response = absl::ZeroDuration();
};

// A vendor's service-level policy (SlaPolicy in the proto).
struct SlaPolicy {
  std::vector<SlaTarget> targets;
  int warning_percent = 80;            // 1..99
  std::string business_calendar_id;   // empty = 24×7
  std::array<int, 9> category_priorities{};  // by TaskCategory
};

// The most specific target: tier and category, then tier, then category, then neither.
// nullopt when none matches.
std::optional<absl::Duration> ResolveSlaTarget(const SlaPolicy& policy, absl::string_view tier_id,
                                               TaskCategory category);

// A running SLA for a task created at `created`, measured on `calendar`.
TaskSla StartSla(const BusinessCalendar& calendar, absl::Time created, absl::Duration target,
                 int warning_percent);

enum class SlaTransition { kWarning, kBreached };

// Moves `sla` to the state it has at `now` and returns the transitions that happened, in order
// (both when `now` passed the due time without a warning before). Idempotent: a second call at
// the same or a later instant returns only new transitions; MET and BREACHED are final.
std::vector<SlaTransition> AdvanceSla(TaskSla& sla, absl::Time now);

// Records the first response at `now`: RUNNING or WARNING → MET. No effect otherwise.
void RecordFirstResponse(TaskSla& sla, absl::Time now);

}  // namespace prm::routing
