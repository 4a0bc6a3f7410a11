#pragma once

// The routing engine of one vendor (a TaskRouter "workspace"): workers, queues, workflows,
// tasks and reservations with the state machine of SPEC §6.1–§6.5.
//
// - Every mutation routes synchronously: a new or requeued task is offered to the best eligible
//   worker at once, and a worker whose capacity frees up pulls the best waiting task (highest
//   priority, then oldest). The invariant after every call: no PENDING task has an eligible
//   worker with free capacity.
// - Time comes only from the injected Clock. Each call first fires the timers that are due
//   (reservation and step timeouts, skill relaxation, aging, TTL, SLA warning/breach, wrap-up,
//   worker business hours) in time order; Tick() does only that.
// - The engine records domain events (TaskCreated … SlaBreached) in order; DrainEvents() hands
//   them over for the outbox. TaskReserved events are the offers WatchOffers pushes.
// - Matching is indexed. Per workflow step, channel and join key: the workers with free
//   capacity that pass the step's worker-only conditions (queue, target terms that read no task
//   attribute, skill floors), ordered by last assignment; and the waiting tasks, ordered by
//   priority then age. The join key is the value of the step target's
//   `worker.worker_id == task.x` / `worker.regions HAS task.x` / `task.x IN worker.languages`
//   term (one worker, or one region's pool), "" when the target has none. A task looks up its
//   candidates; a worker that frees capacity scans the heads of the task sets it can serve and
//   takes one offer at a time (parallel offers are made only from the task side).
// - Memory: terminal tasks are dropped when RouterOptions.retain_terminal_tasks is false; stale
//   timers are compacted once they outnumber live ones; statistics keep one-minute buckets per
//   queue for 24 hours.
//
// Thread safety: every public method takes one internal mutex; the Router may be shared by
// threads (concurrent accepts of offers for one task yield exactly one assignment).
// Status codes: INVALID_ARGUMENT (bad fields, listed), NOT_FOUND (unknown id),
// ALREADY_EXISTS (task id taken), FAILED_PRECONDITION (illegal transition, offer no longer
// pending), PERMISSION_DENIED (acting on another worker's offer or task).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/concierge-routing/domain/business_time.h"
#include "services/concierge-routing/domain/expression.h"
#include "services/concierge-routing/domain/model.h"
#include "services/concierge-routing/domain/sla.h"

namespace prm::routing {

struct RouterOptions {
  // Consecutive reservation timeouts after which a worker is moved to paused_activity_id
  // instead of the workflow's missed activity. An accept resets the count.
  int max_consecutive_misses = 3;
  std::string paused_activity_id = "paused";
  // Aging: every aging_interval a waiting task's priority rises by aging_increase. A task's
  // priority is its base (request or tier + category) plus the step and aging increases it
  // collected, clamped to 0..10000. Zero interval = no aging.
  absl::Duration aging_interval = absl::ZeroDuration();
  int aging_increase = 0;
  // Keep COMPLETED/CANCELED tasks and their reservations readable (GetTask). When false they are
  // dropped from memory once terminal (the adapter has persisted them by then).
  bool retain_terminal_tasks = true;
  // Timeouts of the built-in default workflow's steps; must be positive.
  absl::Duration default_previous_worker_timeout = absl::Minutes(1);
  absl::Duration default_concierge_timeout = absl::Minutes(2);
  absl::Duration default_region_pool_timeout = absl::Minutes(10);
};

// Ids of the built-ins every Router starts with.
inline constexpr absl::string_view kDefaultQueueId = "default";
inline constexpr absl::string_view kDefaultWorkflowId = "default";

enum class RoutingEventType {
  kTaskCreated,
  kTaskReserved,  // an offer: reservation set
  kTaskRequeued,  // an offer ended without acceptance: reservation set
  kTaskAssigned,
  kTaskWrapUpStarted,
  kTaskCompleted,
  kTaskCanceled,
  kSlaWarning,
  kSlaBreached,
  kWorkerActivityChanged,  // after a missed offer; worker_id and activity_id set
  // One of several parallel offers ended without acceptance while others stay pending (the
  // task stays RESERVED): reservation set. Internal (no API event); lets WatchOffers withdraw it.
  kOfferEnded,
};

struct RoutingEvent {
  RoutingEventType type;
  absl::Time time;
  Task task;  // the task after the change (empty for worker events)
  std::optional<Reservation> reservation;
  absl::Duration sla_elapsed = absl::ZeroDuration();  // SlaWarning
  int sla_percent = 0;                                 // SlaWarning
  std::string escalate_to_worker_id;                   // SlaBreached
  std::string worker_id;                               // kWorkerActivityChanged
  std::string activity_id;                             // kWorkerActivityChanged
};

struct NewTask {
  std::string task_id;  // empty = generated ("task-<n>")
  std::string partner_id;
  Channel channel = Channel::kUnspecified;
  TaskCategory category = TaskCategory::kUnspecified;
  std::string language;
  std::string region;
  std::string title;
  absl::flat_hash_map<std::string, std::string> attributes;
  std::optional<int> priority;  // unset = tier routing priority + category priority
  std::string dedupe_key;
  std::optional<absl::Duration> ttl;  // unset = 7 days
  std::string related_deal_id;
  std::string workflow_id;  // empty = first matching workflow by rank, else the default
};

// UpdateTask: the fields to change (unset = unchanged).
struct TaskUpdate {
  std::optional<std::string> title;
  std::optional<std::string> language;
  std::optional<std::string> region;
  std::optional<absl::flat_hash_map<std::string, std::string>> attributes;
  std::optional<int> priority;  // 0..10000
};

struct CreateTaskResult {
  Task task;
  bool created = false;  // false: an open task with the same dedupe key was returned
};

struct ChannelLoad {
  int capacity = 0;
  int reserved = 0;
  int assigned = 0;
  int wrapping = 0;
};

struct WorkerStatus {
  Worker worker;
  bool available = false;  // activity available and within business hours
  std::array<ChannelLoad, kChannelCount> load{};
  int consecutive_misses = 0;
  absl::Time last_assignment_time;
};

struct QueueStatistics {
  std::array<int, 7> task_counts{};  // by TaskState, non-terminal tasks in the queue
  absl::Duration longest_wait = absl::ZeroDuration();
  std::string oldest_task_id;
  int eligible_workers = 0;
  int available_workers = 0;
  int workers_with_capacity = 0;
  std::optional<double> sla_attainment;
  int sla_warning_count = 0;
  int sla_breach_count = 0;
  absl::Duration average_wait = absl::ZeroDuration();
  absl::Duration window = absl::ZeroDuration();
  absl::Time compute_time;
};

// Per-worker figures (WorkerStatistics in the proto, without the time-averaged utilization).
struct WorkerStatistics {
  std::string activity_id;
  std::array<ChannelLoad, kChannelCount> channels{};
  int reservations_offered = 0;
  int reservations_accepted = 0;
  int reservations_rejected = 0;
  int reservations_timed_out = 0;
  int tasks_completed = 0;
  absl::Duration average_handle_time = absl::ZeroDuration();  // assignment → completion
  absl::Duration window = absl::ZeroDuration();
  absl::Time compute_time;
};

class Router {
 public:
  // `clock` must outlive the Router.
  explicit Router(const Clock& clock, RouterOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Configuration. Put* creates or replaces. Replacing a workflow affects tasks created later.
  absl::Status PutActivity(Activity activity);
  // Replacing a calendar moves the working hours of the workers on it (and the SLA clock of
  // tasks created afterwards when the SLA policy uses it); running SLAs keep their due times.
  absl::Status PutCalendar(const std::string& calendar_id, BusinessCalendar calendar);
  absl::Status PutQueue(Queue queue);
  absl::Status PutWorkflow(Workflow workflow);
  absl::Status SetSlaPolicy(SlaPolicy policy);
  // Removal of configuration: NOT_FOUND for an unknown id; FAILED_PRECONDITION naming what still
  // uses it: built-ins (the default queue and workflow, the built-in activities), workers
  // (current activity, business calendar), workflows (missed activity, step queues), open tasks
  // (their workflow and its queues) and the SLA policy (its calendar).
  absl::Status DeleteActivity(const std::string& activity_id);
  absl::Status DeleteCalendar(const std::string& calendar_id);
  absl::Status DeleteQueue(const std::string& queue_id);
  absl::Status DeleteWorkflow(const std::string& workflow_id);
  // Partner data from partner-registry events, copied into tasks created afterwards. The
  // tier_routing_priority is the tier's routing priority used to derive task priorities.
  // A tier change (tier id, rank or routing priority) also reaches the partner's open tasks not
  // yet assigned (PENDING, RESERVED): they take the new tier, a priority derived from the tier
  // (no explicit priority in the request or an UpdateTask) is recomputed as CreateTask would
  // with the new tier, keeping the step and aging increases collected, and waiting tasks move
  // to their new place in line. Assigned tasks keep theirs.
  void PutPartner(const std::string& partner_id, PartnerContext context,
                  int tier_routing_priority = 0);

  absl::Status PutWorker(Worker worker);
  absl::Status SetWorkerActivity(const std::string& worker_id, const std::string& activity_id);
  // Removes a worker: its pending offers are rescinded and their tasks requeued. NOT_FOUND for
  // an unknown worker; FAILED_PRECONDITION while it holds assigned or wrapping tasks.
  absl::Status DeleteWorker(const std::string& worker_id);

  // Tasks and offers. `worker_id` empty = a privileged caller; otherwise it must hold the
  // reservation or task (PERMISSION_DENIED).
  absl::StatusOr<CreateTaskResult> CreateTask(NewTask request);
  absl::Status AcceptReservation(const std::string& reservation_id, const std::string& worker_id);
  absl::Status RejectReservation(const std::string& reservation_id, const std::string& worker_id,
                                 const std::string& reason);
  // Changes an open task's title, language, region, attributes or priority; a PENDING task is
  // routed again with its new values (it keeps its age and step). FAILED_PRECONDITION once
  // COMPLETED or CANCELED; INVALID_ARGUMENT naming `priority` out of 0..10000.
  absl::Status UpdateTask(const std::string& task_id, TaskUpdate update);
  absl::Status CancelTask(const std::string& task_id, const std::string& reason,
                          CancelSource source = CancelSource::kApi);
  absl::Status WrapUpTask(const std::string& task_id, const std::string& worker_id);
  absl::Status CompleteTask(const std::string& task_id, const std::string& worker_id,
                            const std::string& resolution);

  // A deal was decided or withdrawn (prm.deal.v1): its open approval tasks (related_deal_id)
  // close: ASSIGNED or WRAPPING → COMPLETED with `resolution`, PENDING or RESERVED → CANCELED
  // with CANCEL_SOURCE_DEAL_CLOSED. Idempotent; returns how many tasks it closed.
  int CloseDealTasks(const std::string& deal_id, const std::string& resolution);

  // Fires every timer due at the clock's current time.
  void Tick();
  // When the earliest scheduled timer is due (InfiniteFuture when none); Tick() at or after it
  // changes state or drops a stale timer. Fires nothing: lets the adapter log a Tick command
  // only when one is due, so that timer effects are recorded like any other command.
  absl::Time NextTimerTime() const;

  absl::StatusOr<Task> GetTask(const std::string& task_id) const;
  absl::StatusOr<Reservation> GetReservation(const std::string& reservation_id) const;
  absl::StatusOr<WorkerStatus> GetWorker(const std::string& worker_id) const;
  // Statistics of the queue now. Window figures (SLA attainment, warning and breach counts,
  // average wait) sum one-minute buckets overlapping (now - window, now]; buckets are kept 24 h.
  // Reads do not fire due timers (call Tick first for figures as of the clock).
  absl::StatusOr<QueueStatistics> GetQueueStatistics(const std::string& queue_id,
                                                     absl::Duration window) const;
  // Current load and window counters (one-minute buckets, as for queues) of a worker;
  // NOT_FOUND for an unknown worker.
  absl::StatusOr<WorkerStatistics> GetWorkerStatistics(const std::string& worker_id,
                                                       absl::Duration window) const;
  size_t PendingTaskCount() const;

  // Events recorded since the last call, oldest first.
  std::vector<RoutingEvent> DrainEvents();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mu_;  // std::mutex rather than absl::Mutex: ThreadSanitizer sees it
};

}  // namespace prm::routing
