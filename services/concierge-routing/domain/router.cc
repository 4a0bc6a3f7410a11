#include "services/concierge-routing/domain/router.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <functional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/text/text.h"

namespace prm::routing {
namespace {

constexpr int kMaxPriority = 10000;
constexpr absl::Duration kMinTtl = absl::Minutes(1);
constexpr absl::Duration kMaxTtl = absl::Hours(24 * 30);
constexpr absl::Duration kDefaultTtl = absl::Hours(24 * 7);

int ClampPriority(int64_t p) {
  return static_cast<int>(std::clamp<int64_t>(p, 0, kMaxPriority));
}

enum class TimerKind {
  kReservationTimeout,
  kStepTimeout,
  kRelax,
  kAging,
  kTtl,
  kSla,
  kWrapUpEnd,
  kWorkerHours,
};

struct Timer {
  absl::Time when;
  uint64_t order;
  TimerKind kind;
  uint64_t target;      // task seq, reservation seq or worker ordinal
  uint64_t generation;  // step generation for step timers; ignored otherwise
  bool operator>(const Timer& o) const {
    return std::tie(when, order) > std::tie(o.when, o.order);
  }
};

// Window statistics of one queue for one minute; buckets older than kStatsRetention are dropped.
struct StatBucket {
  absl::Time minute;
  int assigned = 0;
  absl::Duration wait_sum = absl::ZeroDuration();
  int warnings = 0;
  int breaches = 0;
  int met = 0;
};
constexpr absl::Duration kStatsRetention = absl::Hours(24);

struct WorkerBucket {
  absl::Time minute;
  int offered = 0;
  int accepted = 0;
  int rejected = 0;
  int timed_out = 0;
  int completed = 0;
  absl::Duration handle_sum = absl::ZeroDuration();
};

absl::Time MinuteOf(absl::Time t) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), absl::Minutes(1));
}

}  // namespace

struct Router::Impl {
  struct CompiledQueue {
    Queue queue;
    Expression target;
    int ordinal;
  };
  struct CompiledStep {
    WorkflowStep step;
    int gid;
    int queue;  // ordinal
    Expression target;
  };
  struct CompiledWorkflow {
    Workflow workflow;
    Expression filter;
    std::vector<CompiledStep> steps;
  };
  struct TaskRec;
  struct ReservationRec {
    Reservation r;
    uint64_t seq;
    TaskRec* task;
    int worker;
  };
  // Waiting-task order: higher priority, then older, then created first.
  using PendingKey = std::tuple<int, absl::Time, uint64_t, TaskRec*>;
  using PendingSet = absl::btree_set<PendingKey>;
  struct TaskRec {
    Task t;
    uint64_t seq;
    std::shared_ptr<const CompiledWorkflow> wf;
    int step = 0;
    uint64_t step_gen = 0;
    bool step_expired = false;
    absl::flat_hash_set<int> declined;  // worker ordinals
    std::vector<ReservationRec*> offers;
    std::vector<uint64_t> all_reservations;
    int worker = -1;
    bool indexed = false;
    PendingKey key;
    int gid = -1;
    std::string join_key;
    // The priority is Clamp(base + boost). The base is the request's priority (explicit), or
    // the partner tier's routing priority plus the category's as of creation; the boost sums
    // the step and aging increases collected since. A tier change recomputes a derived base.
    bool explicit_priority = false;
    int tier_priority = 0;
    int category_priority = 0;
    int base_priority = 0;
    int64_t priority_boost = 0;
  };
  struct WorkerRec {
    Worker w;
    int ordinal;
    bool activity_available = true;
    bool deleted = false;
    bool in_hours = true;
    std::shared_ptr<const BusinessCalendar> calendar;
    std::array<int, kChannelCount> reserved{}, assigned{}, wrapping{};
    absl::Time last_assignment;
    int consecutive_misses = 0;
    uint64_t hours_gen = 0;
    std::vector<ReservationRec*> offers;  // pending reservations held
    std::vector<bool> queue_member;  // by queue ordinal
    // Whether the worker-only part of a step (queue, worker terms of the target, skill floors)
    // holds, by gid; bumps `version` when recomputed.
    std::vector<char> static_ok;
    uint64_t version = 1;
    // Where the worker sits in worker_index, to remove it again.
    struct IndexEntry {
      int gid;
      int channel;
      std::string key;
    };
    std::vector<IndexEntry> entries;
    uint32_t indexed_mask = 0;
    absl::Time indexed_time;
    uint64_t indexed_version = 0;
    std::deque<WorkerBucket> buckets;
    int used(int c) const { return reserved[c] + assigned[c] + wrapping[c]; }
  };
  struct PartnerRec {
    PartnerContext context;
    int routing_priority = 0;
  };

  Impl(const Clock& c, RouterOptions o) : clock(c), options(std::move(o)) {}

  const Clock& clock;
  RouterOptions options;
  absl::Time now;

  absl::flat_hash_map<std::string, Activity> activities;
  absl::flat_hash_map<std::string, std::shared_ptr<const BusinessCalendar>> calendars;
  std::vector<std::unique_ptr<CompiledQueue>> queues;
  absl::flat_hash_map<std::string, int> queue_by_id;
  std::map<std::string, std::shared_ptr<const CompiledWorkflow>> workflows;
  std::vector<const CompiledStep*> step_by_gid;
  std::vector<std::shared_ptr<const CompiledWorkflow>> all_workflows;  // keeps steps alive
  std::vector<int> rr_cursor;                                          // by gid
  SlaPolicy sla_policy;
  std::shared_ptr<const BusinessCalendar> sla_calendar = std::make_shared<BusinessCalendar>();
  absl::flat_hash_map<std::string, std::shared_ptr<const BusinessCalendar>> sla_calendar_by_zone;
  absl::flat_hash_map<std::string, PartnerRec> partners;

  std::vector<std::unique_ptr<WorkerRec>> workers;
  absl::flat_hash_map<std::string, int> worker_by_id;
  // Offerable workers passing a step's worker-only conditions: by gid, channel and join key
  // (the worker's value of the step's join hint, "" without one), ordered by (last
  // assignment, ordinal).
  using WorkerSet = absl::btree_set<std::pair<absl::Time, int>>;
  std::vector<std::array<absl::flat_hash_map<std::string, WorkerSet>, kChannelCount>> worker_index;

  absl::flat_hash_map<uint64_t, std::unique_ptr<TaskRec>> tasks;
  absl::flat_hash_map<std::string, uint64_t> task_by_id;
  absl::flat_hash_map<std::string, TaskRec*> open_dedupe;
  absl::flat_hash_map<std::string, std::string> last_worker_by_dedupe;
  uint64_t next_task_seq = 1;

  absl::flat_hash_map<uint64_t, std::unique_ptr<ReservationRec>> reservations;
  absl::flat_hash_map<std::string, uint64_t> reservation_by_id;
  uint64_t next_reservation_seq = 1;

  // Waiting tasks: by gid, then channel, then join key.
  std::vector<std::array<absl::flat_hash_map<std::string, PendingSet>, kChannelCount>> pending;
  std::vector<int> pending_count_by_gid;
  std::set<int> active_gids;
  size_t pending_total = 0;

  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers;
  uint64_t next_timer_order = 0;

  std::vector<RoutingEvent> events;
  absl::flat_hash_map<int, std::deque<StatBucket>> stats;  // by queue ordinal
  size_t timer_compact_threshold = 4096;

  WorkerBucket& Bucket(WorkerRec& w) {
    std::deque<WorkerBucket>& b = w.buckets;
    const absl::Time minute = MinuteOf(now);
    if (b.empty() || b.back().minute < minute) b.push_back(WorkerBucket{minute});
    while (b.front().minute < now - kStatsRetention) b.pop_front();
    return b.back();
  }

  StatBucket& Bucket(int queue) {
    std::deque<StatBucket>& b = stats[queue];
    const absl::Time minute = MinuteOf(now);
    if (b.empty() || b.back().minute < minute) b.push_back(StatBucket{minute});
    while (b.front().minute < now - kStatsRetention) b.pop_front();
    return b.back();
  }

  bool TimerLive(const Timer& t) const {
    switch (t.kind) {
      case TimerKind::kReservationTimeout: {
        auto it = reservations.find(t.target);
        return it != reservations.end() && it->second->r.state == ReservationState::kPending;
      }
      case TimerKind::kWorkerHours:
        return true;
      default: {
        auto it = tasks.find(t.target);
        if (it == tasks.end()) return false;
        const TaskState st = it->second->t.state;
        return st != TaskState::kCompleted && st != TaskState::kCanceled;
      }
    }
  }

  // Drops timers whose target is gone, so that memory follows the live state.
  void CompactTimers() {
    std::vector<Timer> live;
    live.reserve(timers.size());
    while (!timers.empty()) {
      if (TimerLive(timers.top())) live.push_back(timers.top());
      timers.pop();
    }
    timers = decltype(timers)(std::greater<Timer>(), std::move(live));
    timer_compact_threshold = std::max<size_t>(4096, timers.size() * 2);
  }

  // ---- helpers -------------------------------------------------------------------------------

  void Schedule(absl::Time when, TimerKind kind, uint64_t target, uint64_t gen = 0) {
    if (when == absl::InfiniteFuture()) return;
    timers.push(Timer{when, next_timer_order++, kind, target, gen});
    if (timers.size() > timer_compact_threshold) CompactTimers();
  }

  void AdvanceTo(absl::Time target) {
    while (!timers.empty() && timers.top().when <= target) {
      const Timer timer = timers.top();
      timers.pop();
      now = std::max(now, timer.when);
      Fire(timer);
    }
    now = std::max(now, target);
  }

  bool Offerable(const WorkerRec& w, int c) const {
    return !w.deleted && w.activity_available && w.in_hours && w.w.capacity[c] > w.used(c);
  }

  void Reindex(WorkerRec& w) {
    uint32_t mask = 0;
    for (int c = 1; c < kChannelCount; ++c) {
      if (Offerable(w, c)) mask |= 1u << c;
    }
    if (mask == w.indexed_mask && w.indexed_time == w.last_assignment &&
        w.indexed_version == w.version) {
      return;
    }
    for (const WorkerRec::IndexEntry& e : w.entries) {
      auto& by_key = worker_index[e.gid][e.channel];
      auto it = by_key.find(e.key);
      if (it == by_key.end()) continue;  // a key listed twice (duplicate region) went already
      it->second.erase({w.indexed_time, w.ordinal});
      if (it->second.empty()) by_key.erase(it);
    }
    w.entries.clear();
    if (mask != 0) {
      for (size_t gid = 0; gid < step_by_gid.size(); ++gid) {
        if (!w.static_ok[gid]) continue;
        const auto& hint = step_by_gid[gid]->target.join_hint();
        std::vector<absl::string_view> keys;
        if (hint.has_value()) {
          keys = WorkerJoinKeys(w, hint->worker_field);
        } else {
          keys.push_back("");
        }
        for (int c = 1; c < kChannelCount; ++c) {
          if ((mask & (1u << c)) == 0) continue;
          for (absl::string_view key : keys) {
            worker_index[gid][c][key].insert({w.last_assignment, w.ordinal});
            w.entries.push_back({static_cast<int>(gid), c, std::string(key)});
          }
        }
      }
    }
    w.indexed_mask = mask;
    w.indexed_time = w.last_assignment;
    w.indexed_version = w.version;
  }

  bool StaticOk(const WorkerRec& w, const CompiledStep& s) const {
    if (!w.queue_member[s.queue]) return false;
    for (const SkillRequirement& req : s.step.skill_requirements) {
      const int floor_level = req.min_level <= 0 ? req.level : std::min(req.min_level, req.level);
      auto it = w.w.skills.find(req.skill);
      if ((it == w.w.skills.end() ? 0 : it->second) < floor_level) return false;
    }
    return s.target.EvaluateWorkerTerms(w.w);
  }

  // Recomputes queue membership and per-step static eligibility, then the index entries.
  void RefreshWorker(WorkerRec& w) {
    w.queue_member.resize(queues.size());
    for (size_t q = 0; q < queues.size(); ++q) {
      w.queue_member[q] = queues[q]->target.Evaluate(&w.w, nullptr);
    }
    w.static_ok.resize(step_by_gid.size());
    for (size_t gid = 0; gid < step_by_gid.size(); ++gid) {
      w.static_ok[gid] = StaticOk(w, *step_by_gid[gid]);
    }
    ++w.version;
    Reindex(w);
  }

  const CompiledStep& StepOf(const TaskRec& tr) const { return tr.wf->steps[tr.step]; }

  WorkerOrdering OrderingOf(const CompiledStep& s) const {
    if (s.step.ordering != WorkerOrdering::kUnspecified) return s.step.ordering;
    const WorkerOrdering q = queues[s.queue]->queue.ordering;
    return q == WorkerOrdering::kUnspecified ? WorkerOrdering::kLongestIdle : q;
  }

  bool SkillsMet(const WorkerRec& w, const TaskRec& tr, const CompiledStep& s) const {
    const absl::Duration in_step = now - tr.t.step_enter_time;
    for (const SkillRequirement& req : s.step.skill_requirements) {
      auto it = w.w.skills.find(req.skill);
      const int have = it == w.w.skills.end() ? 0 : it->second;
      if (have < req.LevelAfter(in_step)) return false;
    }
    return true;
  }

  // Whether `w` may be offered `tr` now (capacity on the channel included).
  bool Eligible(const WorkerRec& w, const TaskRec& tr, const CompiledStep& s) const {
    const int c = static_cast<int>(tr.t.channel);
    if (!Offerable(w, c)) return false;
    if (!w.queue_member[s.queue]) return false;
    if (tr.declined.contains(w.ordinal)) return false;
    for (const ReservationRec* r : tr.offers) {
      if (r->worker == w.ordinal) return false;
    }
    if (!SkillsMet(w, tr, s)) return false;
    return s.target.Evaluate(&w.w, &tr.t);
  }

  std::vector<absl::string_view> WorkerJoinKeys(const WorkerRec& w, PathField f) const {
    std::vector<absl::string_view> out;
    if (f == PathField::kWorkerId) {
      out.push_back(w.w.worker_id);
    } else if (f == PathField::kWorkerRegions) {
      for (const auto& r : w.w.regions) out.push_back(r);
    } else {
      for (const auto& l : w.w.languages) out.push_back(l);
    }
    return out;
  }

  // ---- pending index -----------------------------------------------------------------------

  void IndexPending(TaskRec& tr) {
    if (tr.indexed) return;
    const CompiledStep& s = StepOf(tr);
    tr.gid = s.gid;
    tr.key = PendingKey{-tr.t.priority, tr.t.create_time, tr.seq, &tr};
    const auto& hint = s.target.join_hint();
    tr.join_key = hint.has_value() ? Expression::TaskPathValue(hint->task_path, tr.t) : "";
    pending[tr.gid][static_cast<int>(tr.t.channel)][tr.join_key].insert(tr.key);
    if (pending_count_by_gid[tr.gid]++ == 0) active_gids.insert(tr.gid);
    ++pending_total;
    tr.indexed = true;
  }

  void UnindexPending(TaskRec& tr) {
    if (!tr.indexed) return;
    auto& by_key = pending[tr.gid][static_cast<int>(tr.t.channel)];
    auto it = by_key.find(tr.join_key);
    it->second.erase(tr.key);
    if (it->second.empty()) by_key.erase(it);
    if (--pending_count_by_gid[tr.gid] == 0) active_gids.erase(tr.gid);
    --pending_total;
    tr.indexed = false;
  }

  // Sets the priority to Clamp(base + boost); a waiting task moves to its new place in line.
  void SetPriority(TaskRec& tr, int base, int64_t boost) {
    const bool was_indexed = tr.indexed;
    UnindexPending(tr);
    tr.base_priority = base;
    tr.priority_boost = boost;
    tr.t.priority = ClampPriority(int64_t{base} + boost);
    if (was_indexed) IndexPending(tr);
  }

  // The partner's tier changed: its open tasks not yet assigned (PENDING, RESERVED) take the
  // new tier, and a derived priority is recomputed from the new tier's routing priority (the
  // step and aging boosts kept). A waiting task is routed again in its new place (a step target
  // may read the tier); tasks keep their workflow and step. Assigned and closed tasks keep the
  // tier they were handled at.
  void Retier(const std::string& partner_id, const PartnerRec& p) {
    std::vector<TaskRec*> changed;
    for (auto& [seq, rec] : tasks) {
      const Task& t = rec->t;
      if (t.partner_id != partner_id) continue;
      if (t.state != TaskState::kPending && t.state != TaskState::kReserved) continue;
      if (t.partner.tier_id == p.context.tier_id && t.partner.tier_rank == p.context.tier_rank &&
          rec->tier_priority == p.routing_priority) {
        continue;
      }
      changed.push_back(rec.get());
    }
    // In creation order: the same events on every replay of the command log.
    std::sort(changed.begin(), changed.end(),
              [](const TaskRec* a, const TaskRec* b) { return a->seq < b->seq; });
    for (TaskRec* tr : changed) {
      UnindexPending(*tr);
      tr->t.partner.tier_id = p.context.tier_id;
      tr->t.partner.tier_rank = p.context.tier_rank;
      tr->tier_priority = p.routing_priority;
      if (!tr->explicit_priority) {
        SetPriority(*tr, ClampPriority(int64_t{tr->tier_priority} + tr->category_priority),
                    tr->priority_boost);
      }
      Touch(*tr);
    }
    // The waiting ones are offered or queued again, best first.
    std::erase_if(changed, [](const TaskRec* tr) { return tr->t.state != TaskState::kPending; });
    std::sort(changed.begin(), changed.end(), [](const TaskRec* a, const TaskRec* b) {
      return std::make_tuple(-a->t.priority, a->t.create_time, a->seq) <
             std::make_tuple(-b->t.priority, b->t.create_time, b->seq);
    });
    for (TaskRec* tr : changed) RouteTask(*tr, /*entering_step=*/false);
  }

  // ---- events --------------------------------------------------------------------------------

  void Touch(TaskRec& tr) {
    ++tr.t.version;
    tr.t.update_time = now;
  }

  RoutingEvent& Emit(RoutingEventType type, const TaskRec& tr) {
    RoutingEvent e{type, now, tr.t, std::nullopt};
    events.push_back(std::move(e));
    return events.back();
  }

  void EmitWithReservation(RoutingEventType type, const TaskRec& tr, const ReservationRec& r) {
    Emit(type, tr).reservation = r.r;
  }

  // ---- routing -------------------------------------------------------------------------------

  // Up to `n` eligible workers for the task's current step, best first.
  std::vector<WorkerRec*> FindWorkers(TaskRec& tr, int n) {
    const CompiledStep& s = StepOf(tr);
    const int c = static_cast<int>(tr.t.channel);
    std::vector<WorkerRec*> out;
    const auto& hint = s.target.join_hint();
    const auto& by_key = worker_index[s.gid][c];
    auto found = by_key.find(hint.has_value() ? Expression::TaskPathValue(hint->task_path, tr.t)
                                              : std::string());
    if (found == by_key.end()) return out;
    const WorkerSet& candidates = found->second;
    const WorkerOrdering ordering = OrderingOf(s);
    if (ordering == WorkerOrdering::kLongestIdle) {
      for (const auto& [when, ordinal] : candidates) {
        WorkerRec& w = *workers[ordinal];
        if (Eligible(w, tr, s)) {
          out.push_back(&w);
          if (static_cast<int>(out.size()) >= n) break;
        }
      }
      return out;
    }
    std::vector<WorkerRec*> all;
    for (const auto& [when, ordinal] : candidates) {
      WorkerRec& w = *workers[ordinal];
      if (Eligible(w, tr, s)) all.push_back(&w);
    }
    auto idle_key = [](const WorkerRec* w) { return std::make_pair(w->last_assignment, w->ordinal); };
    switch (ordering) {
      case WorkerOrdering::kLeastBusy:
        std::sort(all.begin(), all.end(), [&](const WorkerRec* a, const WorkerRec* b) {
          // used/capacity compared without division: a.used * b.cap vs b.used * a.cap.
          const int64_t lhs = int64_t{a->used(c)} * b->w.capacity[c];
          const int64_t rhs = int64_t{b->used(c)} * a->w.capacity[c];
          if (lhs != rhs) return lhs < rhs;
          return idle_key(a) < idle_key(b);
        });
        break;
      case WorkerOrdering::kHighestSkill: {
        const std::string* skill =
            s.step.skill_requirements.empty() ? nullptr : &s.step.skill_requirements[0].skill;
        auto level = [&](const WorkerRec* w) {
          if (skill == nullptr) return 0;
          auto it = w->w.skills.find(*skill);
          return it == w->w.skills.end() ? 0 : it->second;
        };
        std::sort(all.begin(), all.end(), [&](const WorkerRec* a, const WorkerRec* b) {
          if (level(a) != level(b)) return level(a) > level(b);
          return idle_key(a) < idle_key(b);
        });
        break;
      }
      case WorkerOrdering::kRoundRobin: {
        const int64_t total = static_cast<int64_t>(workers.size());
        const int64_t cursor = rr_cursor[s.gid];
        auto distance = [&](const WorkerRec* w) {
          return ((w->ordinal - cursor - 1) % total + total) % total;
        };
        std::sort(all.begin(), all.end(), [&](const WorkerRec* a, const WorkerRec* b) {
          return distance(a) < distance(b);
        });
        break;
      }
      default:
        break;
    }
    if (static_cast<int>(all.size()) > n) all.resize(n);
    if (ordering == WorkerOrdering::kRoundRobin && !all.empty()) {
      rr_cursor[s.gid] = all.back()->ordinal;
    }
    return all;
  }

  ReservationRec& Reserve(TaskRec& tr, WorkerRec& w) {
    UnindexPending(tr);
    const int c = static_cast<int>(tr.t.channel);
    auto rec = std::make_unique<ReservationRec>();
    rec->seq = next_reservation_seq++;
    rec->task = &tr;
    rec->worker = w.ordinal;
    Reservation& r = rec->r;
    r.reservation_id = absl::StrCat("res-", rec->seq);
    r.task_id = tr.t.task_id;
    r.worker_id = w.w.worker_id;
    r.step_id = StepOf(tr).step.step_id;
    r.state = ReservationState::kPending;
    r.create_time = now;
    r.expire_time = now + tr.wf->workflow.reservation_timeout;
    ++w.reserved[c];
    ++Bucket(w).offered;
    Reindex(w);
    w.offers.push_back(rec.get());
    tr.offers.push_back(rec.get());
    tr.all_reservations.push_back(rec->seq);
    tr.t.reservation_ids.push_back(r.reservation_id);
    tr.t.state = TaskState::kReserved;
    Touch(tr);
    Schedule(r.expire_time, TimerKind::kReservationTimeout, rec->seq);
    ReservationRec& ref = *rec;
    reservation_by_id[r.reservation_id] = rec->seq;
    reservations[rec->seq] = std::move(rec);
    EmitWithReservation(RoutingEventType::kTaskReserved, tr, ref);
    return ref;
  }

  // Offers a PENDING task to the best workers of its step; on entering a step with
  // skip_if_nobody_available and nobody eligible, moves on.
  void RouteTask(TaskRec& tr, bool entering_step) {
    while (tr.t.state == TaskState::kPending) {
      const CompiledStep& s = StepOf(tr);
      std::vector<WorkerRec*> found = FindWorkers(tr, std::max(1, s.step.parallel_offers));
      if (!found.empty()) {
        for (WorkerRec* w : found) Reserve(tr, *w);
        return;
      }
      const bool last = tr.step + 1 >= static_cast<int>(tr.wf->steps.size());
      if (entering_step && s.step.skip_if_nobody_available && !last) {
        MoveToStep(tr, tr.step + 1, /*route=*/false);
        continue;
      }
      IndexPending(tr);
      return;
    }
  }

  void MoveToStep(TaskRec& tr, int step, bool route) {
    UnindexPending(tr);
    tr.step = step;
    ++tr.step_gen;
    tr.step_expired = false;
    const CompiledStep& s = StepOf(tr);
    tr.t.step_id = s.step.step_id;
    tr.t.queue_id = queues[s.queue]->queue.queue_id;
    tr.t.step_enter_time = now;
    SetPriority(tr, tr.base_priority, tr.priority_boost + s.step.priority_increase);
    if (s.step.timeout != absl::InfiniteDuration() &&
        step + 1 < static_cast<int>(tr.wf->steps.size())) {
      Schedule(now + s.step.timeout, TimerKind::kStepTimeout, tr.seq, tr.step_gen);
    }
    for (const SkillRequirement& req : s.step.skill_requirements) {
      if (req.relax_interval <= absl::ZeroDuration()) continue;
      const int floor_level = req.min_level <= 0 ? req.level : std::min(req.min_level, req.level);
      for (int k = 1; k <= req.level - floor_level; ++k) {
        Schedule(now + req.relax_interval * k, TimerKind::kRelax, tr.seq, tr.step_gen);
      }
    }
    if (route) RouteTask(tr, /*entering_step=*/true);
  }

  // The best waiting task `w` is eligible for on channel c, or null.
  TaskRec* FindTaskFor(WorkerRec& w, int c) {
    TaskRec* best = nullptr;
    for (int gid : active_gids) {
      const CompiledStep& s = *step_by_gid[gid];
      if (!w.static_ok[gid]) continue;
      auto& by_key = pending[gid][c];
      if (by_key.empty()) continue;
      const auto& hint = s.target.join_hint();
      auto scan = [&](absl::string_view key) {
        auto it = by_key.find(key);
        if (it == by_key.end()) return;
        for (const PendingKey& k : it->second) {
          if (best != nullptr && !(k < best->key)) return;
          TaskRec* tr = std::get<3>(k);
          if (Eligible(w, *tr, s)) {
            best = tr;
            return;
          }
        }
      };
      if (hint.has_value()) {
        for (absl::string_view key : WorkerJoinKeys(w, hint->worker_field)) scan(key);
      } else {
        scan("");
      }
    }
    return best;
  }

  // Lets a worker with free capacity pull waiting tasks until full or nothing fits.
  void FillWorker(WorkerRec& w) {
    for (int c = 1; c < kChannelCount; ++c) {
      while (Offerable(w, c)) {
        TaskRec* tr = FindTaskFor(w, c);
        if (tr == nullptr) break;
        Reserve(*tr, w);
      }
    }
  }

  // Ends a pending offer (not accepted) and frees the worker's capacity. The caller requeues.
  void EndOffer(ReservationRec& r, ReservationState state, const std::string& reason) {
    r.r.state = state;
    r.r.end_time = now;
    r.r.end_reason = reason;
    TaskRec& tr = *r.task;
    WorkerRec& w = *workers[r.worker];
    --w.reserved[static_cast<int>(tr.t.channel)];
    Reindex(w);
    w.offers.erase(std::find(w.offers.begin(), w.offers.end(), &r));
    tr.offers.erase(std::find(tr.offers.begin(), tr.offers.end(), &r));
    auto& ids = tr.t.reservation_ids;
    ids.erase(std::find(ids.begin(), ids.end(), r.r.reservation_id));
    if (state == ReservationState::kRejected) ++Bucket(w).rejected;
    if (state == ReservationState::kTimedOut) ++Bucket(w).timed_out;
    if (state == ReservationState::kRejected || state == ReservationState::kTimedOut) {
      if (tr.declined.insert(w.ordinal).second) tr.t.declined_worker_ids.push_back(w.w.worker_id);
    }
  }

  // After an offer ended: back to PENDING when it was the last one, then on to the next
  // candidate (or the next step if the step expired meanwhile).
  void Requeue(TaskRec& tr, const ReservationRec& r) {
    if (tr.t.state != TaskState::kReserved || !tr.offers.empty()) {
      Touch(tr);
      if (tr.t.state == TaskState::kReserved) {
        EmitWithReservation(RoutingEventType::kOfferEnded, tr, r);
      }
      return;
    }
    tr.t.state = TaskState::kPending;
    Touch(tr);
    EmitWithReservation(RoutingEventType::kTaskRequeued, tr, r);
    if (tr.step_expired && tr.step + 1 < static_cast<int>(tr.wf->steps.size())) {
      MoveToStep(tr, tr.step + 1, /*route=*/true);
    } else {
      RouteTask(tr, /*entering_step=*/false);
    }
  }

  void SetActivity(WorkerRec& w, const Activity& a) {
    w.w.activity_id = a.activity_id;
    w.activity_available = a.available;
    if (!a.available) {
      RescindOffersOf(w, "worker_unavailable");
    }
    Reindex(w);
    if (a.available) FillWorker(w);
  }

  void RescindOffersOf(WorkerRec& w, const std::string& reason) {
    const std::vector<ReservationRec*> mine = w.offers;
    for (ReservationRec* r : mine) {
      EndOffer(*r, ReservationState::kRescinded, reason);
      Requeue(*r->task, *r);
    }
  }

  void FreeWorkerSlot(WorkerRec& w, TaskState was, int c) {
    if (was == TaskState::kAssigned) --w.assigned[c];
    if (was == TaskState::kWrapping) --w.wrapping[c];
  }

  void Finish(TaskRec& tr) {
    if (!tr.t.dedupe_key.empty()) {
      auto it = open_dedupe.find(tr.t.dedupe_key);
      if (it != open_dedupe.end() && it->second == &tr) open_dedupe.erase(it);
      if (tr.t.state == TaskState::kCompleted && !tr.t.worker_id.empty()) {
        last_worker_by_dedupe[tr.t.dedupe_key] = tr.t.worker_id;
      }
    }
    if (!options.retain_terminal_tasks) {
      for (uint64_t rs : tr.all_reservations) {
        auto it = reservations.find(rs);
        if (it != reservations.end()) {
          reservation_by_id.erase(it->second->r.reservation_id);
          reservations.erase(it);
        }
      }
      task_by_id.erase(tr.t.task_id);
      tasks.erase(tr.seq);  // destroys tr
    }
  }

  void Cancel(TaskRec& tr, const std::string& reason, CancelSource source) {
    std::vector<WorkerRec*> freed;
    while (!tr.offers.empty()) {
      ReservationRec& r = *tr.offers.front();
      freed.push_back(workers[r.worker].get());
      EndOffer(r, ReservationState::kRescinded, reason);
    }
    UnindexPending(tr);
    tr.t.state = TaskState::kCanceled;
    tr.t.end_time = now;
    tr.t.end_reason = reason;
    tr.t.cancel_source = source;
    Touch(tr);
    Emit(RoutingEventType::kTaskCanceled, tr);
    Finish(tr);
    for (WorkerRec* w : freed) FillWorker(*w);
  }

  void Complete(TaskRec& tr, const std::string& resolution) {
    WorkerRec& w = *workers[tr.worker];
    FreeWorkerSlot(w, tr.t.state, static_cast<int>(tr.t.channel));
    WorkerBucket& bucket = Bucket(w);
    ++bucket.completed;
    bucket.handle_sum += now - tr.t.assign_time.value_or(now);
    tr.t.state = TaskState::kCompleted;
    tr.t.end_time = now;
    tr.t.end_reason = resolution;
    Touch(tr);
    Emit(RoutingEventType::kTaskCompleted, tr);
    Finish(tr);
    Reindex(w);
    FillWorker(w);
  }

  void Fire(const Timer& timer) {
    if (timer.kind == TimerKind::kReservationTimeout) {
      auto it = reservations.find(timer.target);
      if (it == reservations.end() || it->second->r.state != ReservationState::kPending) return;
      ReservationRec& r = *it->second;
      TaskRec& tr = *r.task;
      WorkerRec& w = *workers[r.worker];
      EndOffer(r, ReservationState::kTimedOut, "reservation_timeout");
      ++w.consecutive_misses;
      std::string activity_id = tr.wf->workflow.missed_activity_id;
      if (w.consecutive_misses >= options.max_consecutive_misses) {
        activity_id = options.paused_activity_id;
      }
      auto act = activities.find(activity_id);
      Requeue(tr, r);
      if (act != activities.end()) {
        SetActivity(w, act->second);
        RoutingEvent e{RoutingEventType::kWorkerActivityChanged, now, Task{}, std::nullopt};
        e.worker_id = w.w.worker_id;
        e.activity_id = activity_id;
        events.push_back(std::move(e));
      }
      return;
    }
    if (timer.kind == TimerKind::kWorkerHours) {
      WorkerRec& w = *workers[timer.target];
      if (w.calendar == nullptr || timer.generation != w.hours_gen) return;
      const bool open = w.calendar->IsOpen(now);
      if (open != w.in_hours) {
        w.in_hours = open;
        Reindex(w);
        if (open) FillWorker(w);
      }
      Schedule(w.calendar->NextChange(now), TimerKind::kWorkerHours, timer.target, w.hours_gen);
      return;
    }
    auto it = tasks.find(timer.target);
    if (it == tasks.end()) return;
    TaskRec& tr = *it->second;
    switch (timer.kind) {
      case TimerKind::kStepTimeout:
        if (timer.generation != tr.step_gen) return;
        if (tr.t.state == TaskState::kPending) {
          MoveToStep(tr, tr.step + 1, /*route=*/true);
        } else if (tr.t.state == TaskState::kReserved) {
          tr.step_expired = true;
        }
        return;
      case TimerKind::kRelax:
        if (timer.generation == tr.step_gen && tr.t.state == TaskState::kPending) {
          RouteTask(tr, /*entering_step=*/false);
        }
        return;
      case TimerKind::kAging:
        if (tr.t.state != TaskState::kPending && tr.t.state != TaskState::kReserved) return;
        SetPriority(tr, tr.base_priority, tr.priority_boost + options.aging_increase);
        Schedule(now + options.aging_interval, TimerKind::kAging, tr.seq);
        return;
      case TimerKind::kTtl:
        if (tr.t.state == TaskState::kPending || tr.t.state == TaskState::kReserved) {
          Cancel(tr, "ttl_exceeded", CancelSource::kTtl);
        }
        return;
      case TimerKind::kSla: {
        if (tr.t.sla.first_response_time.has_value()) return;
        const int queue = queue_by_id.contains(tr.t.queue_id) ? queue_by_id[tr.t.queue_id] : -1;
        for (SlaTransition s : AdvanceSla(tr.t.sla, now)) {
          Touch(tr);
          if (s == SlaTransition::kWarning) {
            RoutingEvent& e = Emit(RoutingEventType::kSlaWarning, tr);
            e.sla_percent = sla_policy.warning_percent;
            e.sla_elapsed = tr.t.sla.target * sla_policy.warning_percent / 100;
            if (queue >= 0) ++Bucket(queue).warnings;
          } else {
            RoutingEvent& e = Emit(RoutingEventType::kSlaBreached, tr);
            e.escalate_to_worker_id = tr.t.partner.channel_manager_worker_id;
            if (queue >= 0) ++Bucket(queue).breaches;
          }
        }
        return;
      }
      case TimerKind::kWrapUpEnd:
        if (tr.t.state == TaskState::kWrapping) Complete(tr, "wrap_up_elapsed");
        return;
      default:
        return;
    }
  }

  absl::StatusOr<std::shared_ptr<const CompiledWorkflow>> Compile(Workflow wf) {
    FieldViolations bad;
    if (wf.workflow_id.empty()) bad.Add("workflow_id", "is required");
    auto filter = Expression::Parse(wf.task_filter);
    if (!filter.ok()) bad.Add("task_filter", std::string(filter.status().message()));
    if (wf.steps.empty() || wf.steps.size() > 20) bad.Add("steps", "needs 1..20 steps");
    if (wf.reservation_timeout < absl::Seconds(5) || wf.reservation_timeout > absl::Hours(1)) {
      bad.Add("reservation_timeout", "must be 5 seconds..1 hour");
    }
    if (!activities.contains(wf.missed_activity_id)) {
      bad.Add("missed_activity_id", "unknown activity");
    }
    auto compiled = std::make_shared<CompiledWorkflow>(CompiledWorkflow{
        wf, filter.ok() ? *std::move(filter) : *Expression::Parse(""), {}});
    absl::flat_hash_set<std::string> ids;
    for (size_t i = 0; i < wf.steps.size(); ++i) {
      const WorkflowStep& st = wf.steps[i];
      const std::string f = absl::StrCat("steps[", i, "]");
      if (st.step_id.empty() || !ids.insert(st.step_id).second) {
        bad.Add(f + ".step_id", "is required and unique");
      }
      auto q = queue_by_id.find(st.queue_id);
      if (q == queue_by_id.end()) bad.Add(f + ".queue_id", "unknown queue");
      auto target = Expression::Parse(st.target);
      if (!target.ok()) bad.Add(f + ".target", std::string(target.status().message()));
      if (st.timeout <= absl::ZeroDuration()) bad.Add(f + ".timeout", "must be positive");
      if (st.timeout == absl::InfiniteDuration() && i + 1 < wf.steps.size()) {
        bad.Add(f + ".timeout", "is required on every step but the last");
      }
      if (st.priority_increase < -kMaxPriority || st.priority_increase > kMaxPriority) {
        bad.Add(f + ".priority_increase", "must be -10000..10000");
      }
      if (st.parallel_offers < 1 || st.parallel_offers > 10) {
        bad.Add(f + ".parallel_offers", "must be 1..10");
      }
      if (st.skill_requirements.size() > 10) bad.Add(f + ".skill_requirements", "at most 10");
      for (size_t j = 0; j < st.skill_requirements.size(); ++j) {
        const SkillRequirement& r = st.skill_requirements[j];
        if (r.skill.empty() || r.level < 1 || r.level > 10 || r.min_level < 0 ||
            r.min_level > r.level) {
          bad.Add(absl::StrCat(f, ".skill_requirements[", j, "]"),
                  "needs a skill, level 1..10 and min_level 0..level");
        }
      }
      if (q != queue_by_id.end() && target.ok()) {
        compiled->steps.push_back(CompiledStep{st, 0, q->second, *std::move(target)});
      }
    }
    RETURN_IF_ERROR(bad.ToStatus("invalid workflow"));
    for (CompiledStep& s : compiled->steps) {
      s.gid = static_cast<int>(step_by_gid.size());
      step_by_gid.push_back(&s);
      rr_cursor.push_back(-1);
      pending.emplace_back();
      worker_index.emplace_back();
      pending_count_by_gid.push_back(0);
    }
    all_workflows.push_back(compiled);
    return std::shared_ptr<const CompiledWorkflow>(compiled);
  }

  const BusinessCalendar& SlaCalendarFor(const std::string& zone) {
    if (zone.empty() || zone == sla_calendar->time_zone_name()) return *sla_calendar;
    auto it = sla_calendar_by_zone.find(zone);
    if (it != sla_calendar_by_zone.end()) return *it->second;
    auto in_zone = sla_calendar->InTimeZone(zone);
    auto cal = in_zone.ok() ? std::make_shared<const BusinessCalendar>(*std::move(in_zone))
                            : sla_calendar;
    sla_calendar_by_zone[zone] = cal;
    return *cal;
  }

  absl::StatusOr<TaskRec*> FindTask(const std::string& id) {
    auto it = task_by_id.find(id);
    if (it == task_by_id.end()) return absl::NotFoundError(absl::StrCat("task ", id, " not found"));
    return tasks[it->second].get();
  }

  absl::StatusOr<ReservationRec*> FindReservation(const std::string& id) {
    auto it = reservation_by_id.find(id);
    if (it == reservation_by_id.end()) {
      return absl::NotFoundError(absl::StrCat("reservation ", id, " not found"));
    }
    return reservations[it->second].get();
  }
};

Router::Router(const Clock& clock, RouterOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {
  Impl& m = *impl_;
  m.now = clock.Now();
  for (const auto& [id, available] :
       std::vector<std::pair<std::string, bool>>{{"available", true}, {"busy", false},
                                                 {"break", false}, {"offline", false},
                                                 {"missed", false}}) {
    m.activities[id] = Activity{id, available};
  }
  if (!m.activities.contains(m.options.paused_activity_id)) {
    m.activities[m.options.paused_activity_id] = Activity{m.options.paused_activity_id, false};
  }
  // The built-ins are valid by construction; a failure here is a programming error.
  const absl::Status queue_status =
      PutQueue(Queue{std::string(kDefaultQueueId), "", WorkerOrdering::kUnspecified});
  if (!queue_status.ok()) std::abort();
  Workflow wf;
  wf.workflow_id = std::string(kDefaultWorkflowId);
  wf.rank = 1000;
  auto step = [&](std::string id, std::string target, absl::Duration timeout, bool skip) {
    WorkflowStep s;
    s.step_id = std::move(id);
    s.queue_id = std::string(kDefaultQueueId);
    s.target = std::move(target);
    s.timeout = timeout;
    s.skip_if_nobody_available = skip;
    return s;
  };
  wf.steps = {step("previous_worker", "worker.worker_id == task.previous_worker_id",
                   m.options.default_previous_worker_timeout, true),
              step("concierge", "worker.worker_id == task.partner.concierge_worker_id",
                   m.options.default_concierge_timeout, true),
              step("region_pool", "worker.regions HAS task.region",
                   m.options.default_region_pool_timeout, true),
              step("overflow", "", absl::InfiniteDuration(), false)};
  auto compiled = m.Compile(std::move(wf));
  if (!compiled.ok()) std::abort();
  m.workflows[std::string(kDefaultWorkflowId)] = *compiled;
}

Router::~Router() = default;

absl::Status Router::PutActivity(Activity activity) {
  std::lock_guard lock(mu_);
  if (activity.activity_id.empty()) return InvalidField("activity_id", "is required");
  impl_->activities[activity.activity_id] = activity;
  return absl::OkStatus();
}

absl::Status Router::PutCalendar(const std::string& calendar_id, BusinessCalendar calendar) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  if (calendar_id.empty()) return InvalidField("business_calendar_id", "is required");
  auto cal = std::make_shared<const BusinessCalendar>(std::move(calendar));
  auto it = m.calendars.find(calendar_id);
  if (it == m.calendars.end()) {
    m.calendars[calendar_id] = std::move(cal);
    return absl::OkStatus();
  }
  // A replacement: the workers on it get the new hours now, the SLA policy for new tasks.
  m.AdvanceTo(m.clock.Now());
  it->second = cal;
  for (auto& w : m.workers) {
    if (w->deleted || w->w.business_calendar_id != calendar_id) continue;
    w->calendar = cal;
    w->in_hours = cal->IsOpen(m.now);
    ++w->hours_gen;
    m.Schedule(cal->NextChange(m.now), TimerKind::kWorkerHours, w->ordinal, w->hours_gen);
    m.Reindex(*w);
    if (w->in_hours) m.FillWorker(*w);
  }
  if (m.sla_policy.business_calendar_id == calendar_id) {
    m.sla_calendar = cal;
    m.sla_calendar_by_zone.clear();
  }
  return absl::OkStatus();
}

namespace {

// FAILED_PRECONDITION "<what> is in use: <users>" listing at most ten users.
absl::Status InUse(const std::string& what, const std::vector<std::string>& users) {
  std::string list;
  for (size_t i = 0; i < users.size() && i < 10; ++i) {
    absl::StrAppend(&list, i == 0 ? "" : ", ", users[i]);
  }
  if (users.size() > 10) absl::StrAppend(&list, " and ", users.size() - 10, " more");
  return absl::FailedPreconditionError(absl::StrCat(what, " is in use: ", list));
}

bool Open(const Task& t) {
  return t.state != TaskState::kCompleted && t.state != TaskState::kCanceled;
}

const std::vector<std::string>& BuiltInActivityIds() {
  static const auto* kIds = new std::vector<std::string>{"available", "busy",   "break",
                                                         "offline",   "missed", "paused"};
  return *kIds;
}

}  // namespace

absl::Status Router::DeleteActivity(const std::string& activity_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  if (!m.activities.contains(activity_id)) {
    return absl::NotFoundError(absl::StrCat("activity ", activity_id, " not found"));
  }
  const std::string what = absl::StrCat("activity ", activity_id);
  const auto& built_in = BuiltInActivityIds();
  if (activity_id == m.options.paused_activity_id ||
      std::find(built_in.begin(), built_in.end(), activity_id) != built_in.end()) {
    return InUse(what, {"built-in activity"});
  }
  std::vector<std::string> users;
  for (const auto& [id, wf] : m.workflows) {
    if (wf->workflow.missed_activity_id == activity_id) {
      users.push_back(absl::StrCat("workflow ", id, " (missed_activity_id)"));
    }
  }
  for (const auto& w : m.workers) {
    if (!w->deleted && w->w.activity_id == activity_id) {
      users.push_back(absl::StrCat("worker ", w->w.worker_id, " (current activity)"));
    }
  }
  if (!users.empty()) return InUse(what, users);
  m.activities.erase(activity_id);
  return absl::OkStatus();
}

absl::Status Router::DeleteCalendar(const std::string& calendar_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  if (!m.calendars.contains(calendar_id)) {
    return absl::NotFoundError(absl::StrCat("business calendar ", calendar_id, " not found"));
  }
  std::vector<std::string> users;
  if (m.sla_policy.business_calendar_id == calendar_id) users.push_back("the SLA policy");
  for (const auto& w : m.workers) {
    if (!w->deleted && w->w.business_calendar_id == calendar_id) {
      users.push_back(absl::StrCat("worker ", w->w.worker_id));
    }
  }
  if (!users.empty()) return InUse(absl::StrCat("business calendar ", calendar_id), users);
  m.calendars.erase(calendar_id);
  return absl::OkStatus();
}

absl::Status Router::DeleteQueue(const std::string& queue_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  auto q = m.queue_by_id.find(queue_id);
  if (q == m.queue_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("queue ", queue_id, " not found"));
  }
  const std::string what = absl::StrCat("queue ", queue_id);
  if (queue_id == kDefaultQueueId) return InUse(what, {"built-in queue"});
  std::vector<std::string> users;
  auto uses = [&](const Impl::CompiledWorkflow& wf) {
    for (const auto& step : wf.steps) {
      if (step.queue == q->second) return true;
    }
    return false;
  };
  for (const auto& [id, wf] : m.workflows) {
    if (uses(*wf)) users.push_back(absl::StrCat("workflow ", id));
  }
  // Open tasks keep the workflow version they were created with, which may be gone.
  std::vector<std::pair<uint64_t, std::string>> tasks;
  for (const auto& [seq, tr] : m.tasks) {
    if (Open(tr->t) && uses(*tr->wf)) tasks.emplace_back(seq, tr->t.task_id);
  }
  std::sort(tasks.begin(), tasks.end());
  for (const auto& [seq, id] : tasks) users.push_back(absl::StrCat("open task ", id));
  if (!users.empty()) return InUse(what, users);
  // The ordinal stays allocated (workers keep a membership slot for it); the id is gone.
  m.stats.erase(q->second);
  m.queue_by_id.erase(q);
  return absl::OkStatus();
}

absl::Status Router::DeleteWorkflow(const std::string& workflow_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  auto it = m.workflows.find(workflow_id);
  if (it == m.workflows.end()) {
    return absl::NotFoundError(absl::StrCat("workflow ", workflow_id, " not found"));
  }
  const std::string what = absl::StrCat("workflow ", workflow_id);
  if (workflow_id == kDefaultWorkflowId) return InUse(what, {"built-in workflow"});
  std::vector<std::pair<uint64_t, std::string>> tasks;
  for (const auto& [seq, tr] : m.tasks) {
    if (Open(tr->t) && tr->t.workflow_id == workflow_id) tasks.emplace_back(seq, tr->t.task_id);
  }
  std::sort(tasks.begin(), tasks.end());
  std::vector<std::string> users;
  for (const auto& [seq, id] : tasks) users.push_back(absl::StrCat("open task ", id));
  if (!users.empty()) return InUse(what, users);
  m.workflows.erase(it);
  return absl::OkStatus();
}

absl::Status Router::PutQueue(Queue queue) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  if (queue.queue_id.empty()) return InvalidField("queue_id", "is required");
  auto target = Expression::Parse(queue.target_workers);
  if (!target.ok()) return InvalidField("target_workers", std::string(target.status().message()));
  auto it = m.queue_by_id.find(queue.queue_id);
  if (it != m.queue_by_id.end()) {
    auto& q = *m.queues[it->second];
    q.queue = std::move(queue);
    q.target = *std::move(target);
  } else {
    const int ordinal = static_cast<int>(m.queues.size());
    m.queue_by_id[queue.queue_id] = ordinal;
    m.queues.push_back(std::make_unique<Impl::CompiledQueue>(
        Impl::CompiledQueue{std::move(queue), *std::move(target), ordinal}));
  }
  for (auto& w : m.workers) m.RefreshWorker(*w);
  for (auto& w : m.workers) m.FillWorker(*w);
  return absl::OkStatus();
}

absl::Status Router::PutWorkflow(Workflow workflow) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  const std::string id = workflow.workflow_id;
  ASSIGN_OR_RETURN(auto compiled, m.Compile(std::move(workflow)));
  m.workflows[id] = std::move(compiled);
  for (auto& w : m.workers) m.RefreshWorker(*w);
  return absl::OkStatus();
}

absl::Status Router::SetSlaPolicy(SlaPolicy policy) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  FieldViolations bad;
  if (policy.warning_percent < 1 || policy.warning_percent > 99) {
    bad.Add("warning_percent", "must be 1..99");
  }
  std::shared_ptr<const BusinessCalendar> cal = std::make_shared<BusinessCalendar>();
  if (!policy.business_calendar_id.empty()) {
    auto it = m.calendars.find(policy.business_calendar_id);
    if (it == m.calendars.end()) {
      bad.Add("business_calendar_id", "unknown calendar");
    } else {
      cal = it->second;
    }
  }
  for (size_t i = 0; i < policy.targets.size(); ++i) {
    const absl::Duration d = policy.targets[i].first_response;
    if (d < absl::Minutes(1) || d > absl::Hours(24 * 30)) {
      bad.Add(absl::StrCat("targets[", i, "].first_response"), "must be 1 minute..30 days");
    }
  }
  RETURN_IF_ERROR(bad.ToStatus("invalid SLA policy"));
  m.sla_policy = std::move(policy);
  m.sla_calendar = std::move(cal);
  m.sla_calendar_by_zone.clear();
  return absl::OkStatus();
}

void Router::PutPartner(const std::string& partner_id, PartnerContext context,
                        int tier_routing_priority) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  Impl::PartnerRec& p = m.partners[partner_id];
  p = Impl::PartnerRec{std::move(context), tier_routing_priority};
  if (!partner_id.empty()) m.Retier(partner_id, p);
}

absl::Status Router::PutWorker(Worker worker) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  FieldViolations bad;
  if (worker.worker_id.empty()) bad.Add("worker_id", "is required");
  if (worker.role == WorkerRole::kUnspecified) bad.Add("role", "is required");
  for (const auto& [skill, level] : worker.skills) {
    if (level < 1 || level > 10) bad.Add(absl::StrCat("skills.", skill), "level must be 1..10");
  }
  for (int c = 0; c < kChannelCount; ++c) {
    if (worker.capacity[c] < 0 || worker.capacity[c] > 100) {
      bad.Add(absl::StrCat("capacities.", ChannelName(static_cast<Channel>(c))), "must be 0..100");
    }
  }
  auto act = m.activities.find(worker.activity_id);
  if (act == m.activities.end()) bad.Add("activity_id", "unknown activity");
  std::shared_ptr<const BusinessCalendar> cal;
  if (!worker.business_calendar_id.empty()) {
    auto it = m.calendars.find(worker.business_calendar_id);
    if (it == m.calendars.end()) {
      bad.Add("business_calendar_id", "unknown calendar");
    } else {
      cal = it->second;
    }
  }
  if (worker.wrap_up < absl::ZeroDuration() || worker.wrap_up > absl::Hours(1)) {
    bad.Add("wrap_up_duration", "must be 0..1 hour");
  }
  RETURN_IF_ERROR(bad.ToStatus("invalid worker"));
  Impl::WorkerRec* w;
  auto it = m.worker_by_id.find(worker.worker_id);
  if (it == m.worker_by_id.end()) {
    auto rec = std::make_unique<Impl::WorkerRec>();
    rec->ordinal = static_cast<int>(m.workers.size());
    rec->last_assignment = m.now;
    m.worker_by_id[worker.worker_id] = rec->ordinal;
    w = rec.get();
    m.workers.push_back(std::move(rec));
  } else {
    w = m.workers[it->second].get();
  }
  w->w = std::move(worker);
  w->calendar = cal;
  w->in_hours = cal == nullptr || cal->IsOpen(m.now);
  ++w->hours_gen;
  if (cal != nullptr) {
    m.Schedule(cal->NextChange(m.now), TimerKind::kWorkerHours, w->ordinal, w->hours_gen);
  }
  m.RefreshWorker(*w);
  m.SetActivity(*w, act->second);
  return absl::OkStatus();
}

absl::Status Router::SetWorkerActivity(const std::string& worker_id,
                                       const std::string& activity_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  auto it = m.worker_by_id.find(worker_id);
  if (it == m.worker_by_id.end()) return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  auto act = m.activities.find(activity_id);
  if (act == m.activities.end()) return InvalidField("activity_id", "unknown activity");
  m.SetActivity(*m.workers[it->second], act->second);
  return absl::OkStatus();
}

absl::Status Router::DeleteWorker(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  auto it = m.worker_by_id.find(worker_id);
  if (it == m.worker_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  }
  Impl::WorkerRec& w = *m.workers[it->second];
  for (int c = 0; c < kChannelCount; ++c) {
    if (w.assigned[c] + w.wrapping[c] > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", worker_id, " still holds assigned or wrapping tasks"));
    }
  }
  w.deleted = true;
  m.worker_by_id.erase(it);
  m.RescindOffersOf(w, "worker_deleted");
  m.Reindex(w);
  return absl::OkStatus();
}

absl::StatusOr<CreateTaskResult> Router::CreateTask(NewTask req) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  FieldViolations bad;
  if (req.channel == Channel::kUnspecified) bad.Add("channel", "is required");
  if (req.category == TaskCategory::kUnspecified) bad.Add("category", "is required");
  if (req.priority.has_value() && (*req.priority < 0 || *req.priority > kMaxPriority)) {
    bad.Add("priority", "must be 0..10000");
  }
  const absl::Duration ttl = req.ttl.value_or(kDefaultTtl);
  if (ttl < kMinTtl || ttl > kMaxTtl) bad.Add("ttl", "must be 1 minute..30 days");
  if (CharacterCount(req.dedupe_key) > 256) bad.Add("dedupe_key", "at most 256 characters");
  RETURN_IF_ERROR(bad.ToStatus("invalid task"));

  if (!req.dedupe_key.empty()) {
    auto it = m.open_dedupe.find(req.dedupe_key);
    if (it != m.open_dedupe.end()) return CreateTaskResult{it->second->t, false};
  }
  if (!req.task_id.empty() && m.task_by_id.contains(req.task_id)) {
    return absl::AlreadyExistsError(absl::StrCat("task ", req.task_id, " already exists"));
  }
  std::shared_ptr<const Impl::CompiledWorkflow> wf;
  auto rec = std::make_unique<Impl::TaskRec>();
  rec->seq = m.next_task_seq++;
  Task& t = rec->t;
  t.task_id = req.task_id.empty() ? absl::StrCat("task-", rec->seq) : req.task_id;
  t.partner_id = std::move(req.partner_id);
  t.channel = req.channel;
  t.category = req.category;
  t.language = std::move(req.language);
  t.region = std::move(req.region);
  t.title = std::move(req.title);
  t.attributes = std::move(req.attributes);
  t.dedupe_key = std::move(req.dedupe_key);
  t.ttl = ttl;
  t.related_deal_id = std::move(req.related_deal_id);
  t.create_time = m.now;
  t.update_time = m.now;
  t.expire_time = m.now + ttl;
  t.state = TaskState::kPending;
  if (auto p = m.partners.find(t.partner_id); !t.partner_id.empty() && p != m.partners.end()) {
    t.partner = p->second.context;
    rec->tier_priority = p->second.routing_priority;
  }
  rec->category_priority = m.sla_policy.category_priorities[static_cast<int>(t.category)];
  rec->explicit_priority = req.priority.has_value();
  rec->base_priority =
      rec->explicit_priority
          ? *req.priority
          : ClampPriority(int64_t{rec->tier_priority} + rec->category_priority);
  t.priority = rec->base_priority;
  if (!t.dedupe_key.empty()) {
    auto prev = m.last_worker_by_dedupe.find(t.dedupe_key);
    if (prev != m.last_worker_by_dedupe.end()) t.previous_worker_id = prev->second;
  }
  if (!req.workflow_id.empty()) {
    auto it = m.workflows.find(req.workflow_id);
    if (it == m.workflows.end()) {
      return absl::NotFoundError(absl::StrCat("workflow ", req.workflow_id, " not found"));
    }
    wf = it->second;
  } else {
    const Impl::CompiledWorkflow* chosen = nullptr;
    for (const auto& [id, candidate] : m.workflows) {
      if (id == kDefaultWorkflowId || !candidate->filter.Evaluate(nullptr, &t)) continue;
      if (chosen == nullptr || candidate->workflow.rank < chosen->workflow.rank) {
        chosen = candidate.get();
        wf = candidate;
      }
    }
    if (chosen == nullptr) wf = m.workflows[std::string(kDefaultWorkflowId)];
  }
  rec->wf = wf;
  t.workflow_id = wf->workflow.workflow_id;
  std::optional<absl::Duration> sla_target =
      ResolveSlaTarget(m.sla_policy, t.partner.tier_id, t.category);
  // No policy target: the partner tier's own first-response benefit (from TierChanged).
  if (!sla_target && t.partner.first_response_sla > absl::ZeroDuration()) {
    sla_target = t.partner.first_response_sla;
  }
  if (sla_target) {
    const BusinessCalendar& cal = m.SlaCalendarFor(t.partner.time_zone);
    t.sla = StartSla(cal, t.create_time, *sla_target, m.sla_policy.warning_percent);
  }
  Impl::TaskRec& tr = *rec;
  m.task_by_id[t.task_id] = rec->seq;
  m.tasks[rec->seq] = std::move(rec);
  if (!tr.t.dedupe_key.empty()) m.open_dedupe[tr.t.dedupe_key] = &tr;
  m.Schedule(tr.t.expire_time, TimerKind::kTtl, tr.seq);
  if (tr.t.sla.state == SlaState::kRunning) {
    m.Schedule(tr.t.sla.warning_time, TimerKind::kSla, tr.seq);
    m.Schedule(tr.t.sla.due_time, TimerKind::kSla, tr.seq);
  }
  if (m.options.aging_interval > absl::ZeroDuration()) {
    m.Schedule(m.now + m.options.aging_interval, TimerKind::kAging, tr.seq);
  }
  tr.t.version = 1;
  // TaskCreated carries the task as created, before the first offer.
  tr.step = 0;
  tr.t.step_id = tr.wf->steps[0].step.step_id;
  tr.t.queue_id = m.queues[tr.wf->steps[0].queue]->queue.queue_id;
  tr.t.step_enter_time = m.now;
  m.Emit(RoutingEventType::kTaskCreated, tr);
  const std::string id = tr.t.task_id;
  m.MoveToStep(tr, 0, /*route=*/true);
  ASSIGN_OR_RETURN(Impl::TaskRec * created, m.FindTask(id));
  return CreateTaskResult{created->t, true};
}

absl::Status Router::AcceptReservation(const std::string& reservation_id,
                                       const std::string& worker_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::ReservationRec * r, m.FindReservation(reservation_id));
  Impl::WorkerRec& w = *m.workers[r->worker];
  if (!worker_id.empty() && worker_id != w.w.worker_id) {
    return absl::PermissionDeniedError("the reservation belongs to another worker");
  }
  if (r->r.state != ReservationState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("reservation ", reservation_id, " is no longer pending"));
  }
  Impl::TaskRec& tr = *r->task;
  const int c = static_cast<int>(tr.t.channel);
  r->r.state = ReservationState::kAccepted;
  r->r.end_time = m.now;
  tr.offers.erase(std::find(tr.offers.begin(), tr.offers.end(), r));
  w.offers.erase(std::find(w.offers.begin(), w.offers.end(), r));
  --w.reserved[c];
  ++w.assigned[c];
  w.last_assignment = m.now;
  w.consecutive_misses = 0;
  ++m.Bucket(w).accepted;
  m.Reindex(w);
  std::vector<Impl::WorkerRec*> freed;
  while (!tr.offers.empty()) {
    Impl::ReservationRec& other = *tr.offers.front();
    freed.push_back(m.workers[other.worker].get());
    m.EndOffer(other, ReservationState::kRescinded, "accepted_by_another_worker");
  }
  tr.t.reservation_ids.clear();
  tr.t.state = TaskState::kAssigned;
  tr.t.worker_id = w.w.worker_id;
  tr.worker = w.ordinal;
  tr.t.assign_time = m.now;
  const bool had_sla = tr.t.sla.state != SlaState::kUnspecified;
  const int queue = m.queue_by_id[tr.t.queue_id];
  if (had_sla && tr.t.sla.state != SlaState::kBreached) {
    ++m.Bucket(queue).met;
  }
  RecordFirstResponse(tr.t.sla, m.now);
  StatBucket& bucket = m.Bucket(queue);
  ++bucket.assigned;
  bucket.wait_sum += m.now - tr.t.create_time;
  m.Touch(tr);
  m.EmitWithReservation(RoutingEventType::kTaskAssigned, tr, *r);
  for (Impl::WorkerRec* f : freed) m.FillWorker(*f);
  return absl::OkStatus();
}

absl::Status Router::RejectReservation(const std::string& reservation_id,
                                       const std::string& worker_id, const std::string& reason) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::ReservationRec * r, m.FindReservation(reservation_id));
  Impl::WorkerRec& w = *m.workers[r->worker];
  if (!worker_id.empty() && worker_id != w.w.worker_id) {
    return absl::PermissionDeniedError("the reservation belongs to another worker");
  }
  if (r->r.state != ReservationState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("reservation ", reservation_id, " is no longer pending"));
  }
  m.EndOffer(*r, ReservationState::kRejected, reason);
  m.Requeue(*r->task, *r);
  m.FillWorker(w);
  return absl::OkStatus();
}

absl::Status Router::UpdateTask(const std::string& task_id, TaskUpdate update) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::TaskRec * tr, m.FindTask(task_id));
  if (update.priority.has_value() && (*update.priority < 0 || *update.priority > kMaxPriority)) {
    return InvalidField("priority", "must be 0..10000");
  }
  if (!Open(tr->t)) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_id, " is ", TaskStateName(tr->t.state)));
  }
  // A waiting task leaves its index (priority and join key may change) and is routed again.
  const bool pending = tr->t.state == TaskState::kPending;
  if (pending) m.UnindexPending(*tr);
  Task& t = tr->t;
  if (update.title) t.title = *std::move(update.title);
  if (update.language) t.language = *std::move(update.language);
  if (update.region) t.region = *std::move(update.region);
  if (update.attributes) t.attributes = *std::move(update.attributes);
  if (update.priority) {
    // An explicit priority replaces the base and the boosts collected so far.
    tr->explicit_priority = true;
    m.SetPriority(*tr, *update.priority, 0);
  }
  m.Touch(*tr);
  if (pending) m.RouteTask(*tr, /*entering_step=*/false);
  return absl::OkStatus();
}

absl::Status Router::CancelTask(const std::string& task_id, const std::string& reason,
                                CancelSource source) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::TaskRec * tr, m.FindTask(task_id));
  if (tr->t.state != TaskState::kPending && tr->t.state != TaskState::kReserved) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", task_id, " is ", TaskStateName(tr->t.state), "; only pending or reserved tasks can be canceled"));
  }
  m.Cancel(*tr, reason, source);
  return absl::OkStatus();
}

absl::Status Router::WrapUpTask(const std::string& task_id, const std::string& worker_id) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::TaskRec * tr, m.FindTask(task_id));
  if (tr->t.state != TaskState::kAssigned) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_id, " is ", TaskStateName(tr->t.state), ", not assigned"));
  }
  if (!worker_id.empty() && worker_id != tr->t.worker_id) {
    return absl::PermissionDeniedError("the task is assigned to another worker");
  }
  Impl::WorkerRec& w = *m.workers[tr->worker];
  if (w.w.wrap_up <= absl::ZeroDuration()) {
    m.Complete(*tr, "");
    return absl::OkStatus();
  }
  const int c = static_cast<int>(tr->t.channel);
  --w.assigned[c];
  ++w.wrapping[c];
  tr->t.state = TaskState::kWrapping;
  tr->t.wrap_up_start_time = m.now;
  m.Touch(*tr);
  m.Emit(RoutingEventType::kTaskWrapUpStarted, *tr);
  m.Schedule(m.now + w.w.wrap_up, TimerKind::kWrapUpEnd, tr->seq);
  return absl::OkStatus();
}

absl::Status Router::CompleteTask(const std::string& task_id, const std::string& worker_id,
                                  const std::string& resolution) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  ASSIGN_OR_RETURN(Impl::TaskRec * tr, m.FindTask(task_id));
  if (tr->t.state != TaskState::kAssigned && tr->t.state != TaskState::kWrapping) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", task_id, " is ", TaskStateName(tr->t.state), ", not assigned or wrapping"));
  }
  if (!worker_id.empty() && worker_id != tr->t.worker_id) {
    return absl::PermissionDeniedError("the task is assigned to another worker");
  }
  m.Complete(*tr, resolution);
  return absl::OkStatus();
}

int Router::CloseDealTasks(const std::string& deal_id, const std::string& resolution) {
  std::lock_guard lock(mu_);
  Impl& m = *impl_;
  m.AdvanceTo(m.clock.Now());
  if (deal_id.empty()) return 0;
  std::vector<uint64_t> seqs;
  for (const auto& [seq, tr] : m.tasks) {
    if (tr->t.related_deal_id == deal_id) seqs.push_back(seq);
  }
  std::sort(seqs.begin(), seqs.end());
  int closed = 0;
  for (uint64_t seq : seqs) {
    auto it = m.tasks.find(seq);
    if (it == m.tasks.end()) continue;
    Impl::TaskRec& tr = *it->second;
    switch (tr.t.state) {
      case TaskState::kAssigned:
      case TaskState::kWrapping:
        m.Complete(tr, resolution);
        ++closed;
        break;
      case TaskState::kPending:
      case TaskState::kReserved:
        m.Cancel(tr, resolution, CancelSource::kDealClosed);
        ++closed;
        break;
      default:
        break;
    }
  }
  return closed;
}

void Router::Tick() {
  std::lock_guard lock(mu_);
  impl_->AdvanceTo(impl_->clock.Now());
}

absl::Time Router::NextTimerTime() const {
  std::lock_guard lock(mu_);
  return impl_->timers.empty() ? absl::InfiniteFuture() : impl_->timers.top().when;
}

absl::StatusOr<Task> Router::GetTask(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Impl::TaskRec * tr, impl_->FindTask(task_id));
  return tr->t;
}

absl::StatusOr<Reservation> Router::GetReservation(const std::string& reservation_id) const {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Impl::ReservationRec * r, impl_->FindReservation(reservation_id));
  return r->r;
}

absl::StatusOr<WorkerStatus> Router::GetWorker(const std::string& worker_id) const {
  std::lock_guard lock(mu_);
  const Impl& m = *impl_;
  auto it = m.worker_by_id.find(worker_id);
  if (it == m.worker_by_id.end()) return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  const Impl::WorkerRec& w = *m.workers[it->second];
  WorkerStatus s;
  s.worker = w.w;
  s.available = w.activity_available && w.in_hours;
  for (int c = 0; c < kChannelCount; ++c) {
    s.load[c] = ChannelLoad{w.w.capacity[c], w.reserved[c], w.assigned[c], w.wrapping[c]};
  }
  s.consecutive_misses = w.consecutive_misses;
  s.last_assignment_time = w.last_assignment;
  return s;
}

absl::StatusOr<QueueStatistics> Router::GetQueueStatistics(const std::string& queue_id,
                                                           absl::Duration window) const {
  std::lock_guard lock(mu_);
  const Impl& m = *impl_;
  auto qit = m.queue_by_id.find(queue_id);
  if (qit == m.queue_by_id.end()) return absl::NotFoundError(absl::StrCat("queue ", queue_id, " not found"));
  const int q = qit->second;
  QueueStatistics s;
  s.window = window;
  s.compute_time = m.now;
  const Impl::TaskRec* oldest = nullptr;
  for (const auto& [seq, tr] : m.tasks) {
    const Task& t = tr->t;
    if (t.queue_id != queue_id) continue;
    if (t.state == TaskState::kCompleted || t.state == TaskState::kCanceled) continue;
    ++s.task_counts[static_cast<int>(t.state)];
    if (t.state == TaskState::kPending || t.state == TaskState::kReserved) {
      if (oldest == nullptr || std::tie(t.create_time, tr->seq) <
                                   std::tie(oldest->t.create_time, oldest->seq)) {
        oldest = tr.get();
      }
    }
  }
  if (oldest != nullptr) {
    s.oldest_task_id = oldest->t.task_id;
    s.longest_wait = m.now - oldest->t.create_time;
  }
  for (const auto& w : m.workers) {
    if (w->deleted || !w->queue_member[q]) continue;
    ++s.eligible_workers;
    if (!w->activity_available || !w->in_hours) continue;
    ++s.available_workers;
    for (int c = 1; c < kChannelCount; ++c) {
      if (m.Offerable(*w, c)) {
        ++s.workers_with_capacity;
        break;
      }
    }
  }
  int met = 0, breached = 0, assigned = 0;
  absl::Duration wait_sum = absl::ZeroDuration();
  if (auto b = m.stats.find(q); b != m.stats.end()) {
    for (const StatBucket& r : b->second) {
      if (r.minute + absl::Minutes(1) <= m.now - window) continue;
      assigned += r.assigned;
      wait_sum += r.wait_sum;
      s.sla_warning_count += r.warnings;
      s.sla_breach_count += r.breaches;
      breached += r.breaches;
      met += r.met;
    }
  }
  if (met + breached > 0) s.sla_attainment = static_cast<double>(met) / (met + breached);
  if (assigned > 0) s.average_wait = wait_sum / assigned;
  return s;
}

absl::StatusOr<WorkerStatistics> Router::GetWorkerStatistics(const std::string& worker_id,
                                                             absl::Duration window) const {
  std::lock_guard lock(mu_);
  const Impl& m = *impl_;
  auto it = m.worker_by_id.find(worker_id);
  if (it == m.worker_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  }
  const Impl::WorkerRec& w = *m.workers[it->second];
  WorkerStatistics s;
  s.activity_id = w.w.activity_id;
  for (int c = 0; c < kChannelCount; ++c) {
    s.channels[c] = ChannelLoad{w.w.capacity[c], w.reserved[c], w.assigned[c], w.wrapping[c]};
  }
  absl::Duration handle_sum = absl::ZeroDuration();
  for (const WorkerBucket& b : w.buckets) {
    if (b.minute + absl::Minutes(1) <= m.now - window) continue;
    s.reservations_offered += b.offered;
    s.reservations_accepted += b.accepted;
    s.reservations_rejected += b.rejected;
    s.reservations_timed_out += b.timed_out;
    s.tasks_completed += b.completed;
    handle_sum += b.handle_sum;
  }
  if (s.tasks_completed > 0) s.average_handle_time = handle_sum / s.tasks_completed;
  s.window = window;
  s.compute_time = m.now;
  return s;
}

size_t Router::PendingTaskCount() const {
  std::lock_guard lock(mu_);
  return impl_->pending_total;
}

std::vector<RoutingEvent> Router::DrainEvents() {
  std::lock_guard lock(mu_);
  std::vector<RoutingEvent> out;
  out.swap(impl_->events);
  return out;
}

}  // namespace prm::routing
