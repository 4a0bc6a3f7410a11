#pragma once

// Plain value types of concierge-routing (SPEC §6), mirroring proto/prm/routing/v1/
// routing_resources.proto one to one where the adapter needs them. No behaviour lives here
// besides the enum name helpers; the Router (router.h) owns the state machine.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prm::routing {

enum class Channel : int { kUnspecified = 0, kEmail, kCall, kChat, kPortal, kInternal };
inline constexpr int kChannelCount = 6;  // including kUnspecified, so Channel indexes arrays

enum class TaskCategory : int {
  kUnspecified = 0,
  kPricing,
  kDealRegistration,
  kOrderStatus,
  kTechnicalPresales,
  kMarketingFunds,
  kLicensing,
  kOther,
  kDealApproval,
};

enum class WorkerRole : int {
  kUnspecified = 0,
  kConcierge,
  kInsideSales,
  kOutsideSales,
  kFieldSupport,
  kChannelManager,
};

enum class TaskState : int {
  kUnspecified = 0,
  kPending,
  kReserved,
  kAssigned,
  kWrapping,
  kCompleted,
  kCanceled,
};

enum class ReservationState : int {
  kUnspecified = 0,
  kPending,
  kAccepted,
  kRejected,
  kTimedOut,
  kRescinded,
};

enum class SlaState : int { kUnspecified = 0, kRunning, kWarning, kBreached, kMet };

enum class CancelSource : int { kUnspecified = 0, kApi, kTtl, kDealClosed };

enum class WorkerOrdering : int {
  kUnspecified = 0,
  kLongestIdle,
  kLeastBusy,
  kRoundRobin,
  kHighestSkill,
};

// Lower-case names used in target expressions ("pricing", "email", "inside_sales"); the proto
// enum name minus its prefix, lower-cased.
absl::string_view ChannelName(Channel c);
absl::string_view CategoryName(TaskCategory c);
absl::string_view RoleName(WorkerRole r);
absl::string_view TaskStateName(TaskState s);

// Partner data from partner-registry events (PartnerContext in the proto).
struct PartnerContext {
  std::string tier_id;
  int tier_rank = 0;
  std::string concierge_worker_id;
  std::string channel_manager_worker_id;
  std::string time_zone;  // IANA name; empty = unknown
  // The tier's first-response SLA benefit; the task's SLA target when no SlaPolicy target
  // matches. Zero = none.
  absl::Duration first_response_sla = absl::ZeroDuration();
};

// A person who handles tasks (SPEC §6.1).
struct Worker {
  std::string worker_id;
  std::string display_name;
  WorkerRole role = WorkerRole::kUnspecified;
  absl::flat_hash_map<std::string, int> skills;  // skill → level 1..10
  std::vector<std::string> languages;
  std::vector<std::string> regions;
  std::array<int, kChannelCount> capacity{};  // concurrent tasks per Channel; 0 = none
  std::string activity_id = "available";
  std::string business_calendar_id;  // empty = always working
  absl::Duration wrap_up = absl::ZeroDuration();
  absl::flat_hash_map<std::string, std::string> attributes;
};

// A worker activity (TaskRouter Activity).
struct Activity {
  std::string activity_id;
  bool available = false;
};

// A skill requirement that relaxes by one level per relax_interval spent in the step, never
// below min_level (0 = level, no relaxation).
struct SkillRequirement {
  std::string skill;
  int level = 1;
  int min_level = 0;
  absl::Duration relax_interval = absl::ZeroDuration();  // zero = no relaxation

  // The level required after `in_step` time in the step.
  int LevelAfter(absl::Duration in_step) const;
};

struct WorkflowStep {
  std::string step_id;
  std::string queue_id;
  std::string target;  // target expression source; empty = every queue worker
  std::vector<SkillRequirement> skill_requirements;
  WorkerOrdering ordering = WorkerOrdering::kUnspecified;  // unspecified = the queue's
  absl::Duration timeout = absl::InfiniteDuration();       // infinite = stay until assigned
  int priority_increase = 0;
  bool skip_if_nobody_available = false;
  // Workers offered the task at once (broadcast); the first accept wins and the other offers
  // are rescinded. 1..10.
  int parallel_offers = 1;
};

struct Workflow {
  std::string workflow_id;
  std::string task_filter;  // expression over task identifiers; empty = every task
  int rank = 0;
  std::vector<WorkflowStep> steps;
  absl::Duration reservation_timeout = absl::Seconds(30);
  std::string missed_activity_id = "missed";
};

struct Queue {
  std::string queue_id;
  std::string target_workers;  // expression over worker identifiers; empty = all workers
  WorkerOrdering ordering = WorkerOrdering::kUnspecified;
};

// First-response SLA of a task (TaskSla in the proto).
struct TaskSla {
  absl::Duration target = absl::ZeroDuration();  // zero = no SLA
  absl::Time due_time = absl::InfiniteFuture();
  absl::Time warning_time = absl::InfiniteFuture();
  std::optional<absl::Time> first_response_time;
  SlaState state = SlaState::kUnspecified;
  std::string time_zone;
};

// A unit of work to route (SPEC §6.2).
struct Task {
  std::string task_id;
  std::string partner_id;
  Channel channel = Channel::kUnspecified;
  TaskCategory category = TaskCategory::kUnspecified;
  std::string language;
  std::string region;
  std::string title;
  absl::flat_hash_map<std::string, std::string> attributes;
  int priority = 0;
  std::string dedupe_key;
  absl::Duration ttl = absl::Hours(24 * 7);
  absl::Time expire_time;
  std::string related_deal_id;
  std::string workflow_id;
  std::string step_id;
  std::string queue_id;
  absl::Time step_enter_time;
  TaskState state = TaskState::kUnspecified;
  std::vector<std::string> reservation_ids;  // pending reservations while RESERVED
  std::string worker_id;
  std::vector<std::string> declined_worker_ids;
  // Worker who last handled a completed task with the same dedupe key (a reopened request);
  // the default workflow offers it there first.
  std::string previous_worker_id;
  PartnerContext partner;
  TaskSla sla;
  std::optional<absl::Time> assign_time;
  std::optional<absl::Time> wrap_up_start_time;
  std::optional<absl::Time> end_time;
  std::string end_reason;
  CancelSource cancel_source = CancelSource::kUnspecified;
  int64_t version = 0;
  absl::Time create_time;
  absl::Time update_time;
};

struct Reservation {
  std::string reservation_id;
  std::string task_id;
  std::string worker_id;
  std::string step_id;
  ReservationState state = ReservationState::kUnspecified;
  absl::Time create_time;
  absl::Time expire_time;
  std::optional<absl::Time> end_time;
  std::string end_reason;
};

}  // namespace prm::routing
