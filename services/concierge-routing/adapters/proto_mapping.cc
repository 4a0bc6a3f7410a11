#include "services/concierge-routing/adapters/proto_mapping.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/text/text.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/concierge-routing/domain/expression.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;

constexpr size_t kMaxExpressionChars = 1024;

// Keys 1..64 of [a-z0-9_.-] (attribute keys of workers and tasks).
bool IsAttributeKey(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.' || c == '-';
  });
}

// 1..64 of [a-z0-9_] (skill names), or [a-z0-9_-] with `dash`.
bool IsIdentifier(const std::string& s, bool dash) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || (dash && c == '-');
  });
}

void ValidateExpression(const std::string& source, const std::string& field,
                        FieldViolations& bad) {
  if (CharacterCount(source) > kMaxExpressionChars) {
    bad.Add(field, "at most 1024 characters");
    return;
  }
  auto parsed = Expression::Parse(source);
  if (!parsed.ok()) bad.Add(field, std::string(parsed.status().message()));
}

void ValidateAttributes(const google::protobuf::Map<std::string, std::string>& attributes,
                        size_t max_value, const std::string& field, FieldViolations& bad) {
  if (attributes.size() > 64) bad.Add(field, "at most 64 entries");
  std::set<std::string> keys;  // sorted, so that violations come in a stable order
  for (const auto& [key, value] : attributes) {
    if (!IsAttributeKey(key) || value.size() > max_value) keys.insert(key);
  }
  for (const std::string& key : keys) {
    if (!IsAttributeKey(key)) {
      bad.Add(absl::StrCat(field, "[", key, "]"), "key must be 1..64 characters of [a-z0-9_.-]");
    } else {
      bad.Add(absl::StrCat(field, "[", key, "]"),
              absl::StrCat("value at most ", max_value, " characters"));
    }
  }
}

bool ValidDuration(const google::protobuf::Duration& d) {
  // google.protobuf.Duration's own range: ±10,000 years, nanos of the seconds' sign.
  constexpr int64_t kMaxSeconds = 315576000000;
  if (d.seconds() < -kMaxSeconds || d.seconds() > kMaxSeconds) return false;
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000) return false;
  return !((d.seconds() < 0 && d.nanos() > 0) || (d.seconds() > 0 && d.nanos() < 0));
}

}  // namespace

google::protobuf::Timestamp TimeToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(t);
  out.set_seconds(micros / 1000000 - (micros % 1000000 < 0 ? 1 : 0));
  out.set_nanos(static_cast<int32_t>(((micros % 1000000) + 1000000) % 1000000) * 1000);
  return out;
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Duration DurationToProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return out;
}

absl::Duration DurationFromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string EtagOf(int64_t version) { return absl::StrCat("W/\"", version, "\""); }

// ---- workers ---------------------------------------------------------------------------------

void ValidateWorker(const v1::Worker& worker, bool require_all, FieldViolations& bad,
                    const std::string& prefix) {
  const std::string& p = prefix;
  if (require_all || !worker.display_name().empty()) {
    if (worker.display_name().empty() || CharacterCount(worker.display_name()) > 256) {
      bad.Add(p + "display_name", "is required, 1..256 characters");
    }
  }
  if (CharacterCount(worker.email()) > 320) bad.Add(p + "email", "at most 320 characters");
  if (require_all && worker.role() == v1::WORKER_ROLE_UNSPECIFIED) {
    bad.Add(p + "role", "is required");
  } else if (!v1::WorkerRole_IsValid(worker.role())) {
    bad.Add(p + "role", "unknown role");
  }
  if (worker.skills_size() > 100) bad.Add(p + "skills", "at most 100");
  std::set<std::string> skills;
  for (int i = 0; i < worker.skills_size(); ++i) {
    const v1::Skill& s = worker.skills(i);
    const std::string f = absl::StrCat(p, "skills[", i, "]");
    if (!IsIdentifier(s.skill(), false)) {
      bad.Add(f + ".skill", "must be 1..64 characters of [a-z0-9_]");
    } else if (!skills.insert(s.skill()).second) {
      bad.Add(f + ".skill", "duplicate skill");
    }
    if (s.level() < 1 || s.level() > 10) bad.Add(f + ".level", "must be 1..10");
  }
  if (worker.languages_size() > 20) bad.Add(p + "languages", "at most 20");
  for (int i = 0; i < worker.languages_size(); ++i) {
    if (worker.languages(i).empty() || worker.languages(i).size() > 35) {
      bad.Add(absl::StrCat(p, "languages[", i, "]"), "must be a BCP 47 tag");
    }
  }
  if (worker.regions_size() > 100) bad.Add(p + "regions", "at most 100");
  for (int i = 0; i < worker.regions_size(); ++i) {
    if (worker.regions(i).empty() || CharacterCount(worker.regions(i)) > 64) {
      bad.Add(absl::StrCat(p, "regions[", i, "]"), "must be 1..64 characters");
    }
  }
  std::set<int> channels;
  for (int i = 0; i < worker.capacities_size(); ++i) {
    const v1::ChannelCapacity& c = worker.capacities(i);
    const std::string f = absl::StrCat(p, "capacities[", i, "]");
    if (c.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(c.channel())) {
      bad.Add(f + ".channel", "is required");
    } else if (!channels.insert(c.channel()).second) {
      bad.Add(f + ".channel", "duplicate channel");
    }
    if (c.capacity() < 0 || c.capacity() > 100) bad.Add(f + ".capacity", "must be 0..100");
  }
  if (require_all && worker.activity_id().empty()) bad.Add(p + "activity_id", "is required");
  if (worker.has_wrap_up_duration()) {
    const absl::Duration d = DurationFromProto(worker.wrap_up_duration());
    if (!ValidDuration(worker.wrap_up_duration()) || d < absl::ZeroDuration() ||
        d > absl::Hours(1)) {
      bad.Add(p + "wrap_up_duration", "must be 0..1 hour");
    }
  }
  ValidateAttributes(worker.attributes(), 1024, p + "attributes", bad);
}

Worker WorkerFromProto(const v1::Worker& worker) {
  Worker w;
  w.worker_id = worker.worker_id();
  w.display_name = worker.display_name();
  w.role = static_cast<WorkerRole>(worker.role());
  for (const v1::Skill& s : worker.skills()) w.skills[s.skill()] = s.level();
  w.languages.assign(worker.languages().begin(), worker.languages().end());
  w.regions.assign(worker.regions().begin(), worker.regions().end());
  for (const v1::ChannelCapacity& c : worker.capacities()) {
    if (c.channel() > 0 && c.channel() < kChannelCount) w.capacity[c.channel()] = c.capacity();
  }
  w.activity_id = worker.activity_id();
  w.business_calendar_id = worker.business_calendar_id();
  w.wrap_up = DurationFromProto(worker.wrap_up_duration());
  for (const auto& [k, v] : worker.attributes()) w.attributes[k] = v;
  return w;
}

v1::Worker WorkerToProto(const WorkerStatus& status) {
  const Worker& w = status.worker;
  v1::Worker out;
  out.set_worker_id(w.worker_id);
  out.set_display_name(w.display_name);
  out.set_role(static_cast<v1::WorkerRole>(w.role));
  std::vector<std::pair<std::string, int>> skills(w.skills.begin(), w.skills.end());
  std::sort(skills.begin(), skills.end());
  for (const auto& [skill, level] : skills) {
    v1::Skill* s = out.add_skills();
    s->set_skill(skill);
    s->set_level(level);
  }
  for (const std::string& l : w.languages) out.add_languages(l);
  for (const std::string& r : w.regions) out.add_regions(r);
  for (int c = 1; c < kChannelCount; ++c) {
    if (w.capacity[c] == 0) continue;
    v1::ChannelCapacity* cap = out.add_capacities();
    cap->set_channel(static_cast<v1::Channel>(c));
    cap->set_capacity(w.capacity[c]);
  }
  out.set_activity_id(w.activity_id);
  out.set_available(status.available);
  out.set_business_calendar_id(w.business_calendar_id);
  *out.mutable_wrap_up_duration() = DurationToProto(w.wrap_up);
  for (const auto& [k, v] : w.attributes) (*out.mutable_attributes())[k] = v;
  return out;
}

// ---- queues and workflows --------------------------------------------------------------------

void ValidateQueue(const v1::Queue& queue, FieldViolations& bad, const std::string& prefix) {
  if (queue.display_name().empty() || CharacterCount(queue.display_name()) > 128) {
    bad.Add(prefix + "display_name", "is required, 1..128 characters");
  }
  ValidateExpression(queue.target_workers(), prefix + "target_workers", bad);
  if (!v1::WorkerOrdering_IsValid(queue.ordering())) bad.Add(prefix + "ordering", "unknown");
}

Queue QueueFromProto(const v1::Queue& queue) {
  return Queue{queue.queue_id(), queue.target_workers(),
               static_cast<WorkerOrdering>(queue.ordering())};
}

void ValidateWorkflow(const v1::Workflow& workflow,
                      const std::function<bool(const std::string&)>& queue_exists,
                      FieldViolations& bad, const std::string& prefix) {
  const std::string& p = prefix;
  if (workflow.display_name().empty() || CharacterCount(workflow.display_name()) > 128) {
    bad.Add(p + "display_name", "is required, 1..128 characters");
  }
  ValidateExpression(workflow.task_filter(), p + "task_filter", bad);
  if (workflow.rank() < 0 || workflow.rank() > 1000) bad.Add(p + "rank", "must be 0..1000");
  if (workflow.steps_size() < 1 || workflow.steps_size() > 20) {
    bad.Add(p + "steps", "must have 1..20 steps");
  }
  std::set<std::string> ids;
  for (int i = 0; i < workflow.steps_size(); ++i) {
    const v1::WorkflowStep& s = workflow.steps(i);
    const std::string f = absl::StrCat(p, "steps[", i, "]");
    if (!IsIdentifier(s.step_id(), true)) {
      bad.Add(f + ".step_id", "must be 1..64 characters of [a-z0-9_-]");
    } else if (!ids.insert(s.step_id()).second) {
      bad.Add(f + ".step_id", "duplicate step id");
    }
    if (s.queue_id().empty()) {
      bad.Add(f + ".queue_id", "is required");
    } else if (!queue_exists(s.queue_id())) {
      bad.Add(f + ".queue_id", "unknown queue");
    }
    ValidateExpression(s.target(), f + ".target", bad);
    if (s.skill_requirements_size() > 10) bad.Add(f + ".skill_requirements", "at most 10");
    for (int j = 0; j < s.skill_requirements_size(); ++j) {
      const v1::SkillRequirement& r = s.skill_requirements(j);
      const std::string rf = absl::StrCat(f, ".skill_requirements[", j, "]");
      if (!IsIdentifier(r.skill(), false)) bad.Add(rf + ".skill", "must be 1..64 of [a-z0-9_]");
      if (r.level() < 1 || r.level() > 10) bad.Add(rf + ".level", "must be 1..10");
      if (r.min_level() < 0 || r.min_level() > r.level()) {
        bad.Add(rf + ".min_level", "must be 0..level");
      }
      if (r.has_relax_interval() && (!ValidDuration(r.relax_interval()) ||
                                      DurationFromProto(r.relax_interval()) <= absl::ZeroDuration())) {
        bad.Add(rf + ".relax_interval", "must be positive");
      }
    }
    if (!v1::WorkerOrdering_IsValid(s.ordering())) bad.Add(f + ".ordering", "unknown");
    if (s.has_timeout()) {
      const absl::Duration d = DurationFromProto(s.timeout());
      if (!ValidDuration(s.timeout()) || d < absl::Seconds(1) || d > absl::Hours(24 * 30)) {
        bad.Add(f + ".timeout", "must be 1 second..30 days");
      }
    } else if (i + 1 < workflow.steps_size()) {
      bad.Add(f + ".timeout", "is required on every step but the last");
    }
    if (s.priority_increase() < -10000 || s.priority_increase() > 10000) {
      bad.Add(f + ".priority_increase", "must be -10000..10000");
    }
    if (s.parallel_offers() < 0 || s.parallel_offers() > 10) {
      bad.Add(f + ".parallel_offers", "must be 0..10 (0 = 1)");
    }
  }
  if (workflow.has_reservation_timeout()) {
    const absl::Duration d = DurationFromProto(workflow.reservation_timeout());
    if (!ValidDuration(workflow.reservation_timeout()) || d < absl::Seconds(5) ||
        d > absl::Hours(1)) {
      bad.Add(p + "reservation_timeout", "must be 5 seconds..1 hour");
    }
  }
  if (!workflow.missed_activity_id().empty() &&
      !IsIdentifier(workflow.missed_activity_id(), true)) {
    bad.Add(p + "missed_activity_id", "must be 1..64 characters of [a-z0-9_-]");
  }
}

Workflow WorkflowFromProto(const v1::Workflow& workflow) {
  Workflow w;
  w.workflow_id = workflow.workflow_id();
  w.task_filter = workflow.task_filter();
  w.rank = workflow.rank();
  for (const v1::WorkflowStep& s : workflow.steps()) {
    WorkflowStep step;
    step.step_id = s.step_id();
    step.queue_id = s.queue_id();
    step.target = s.target();
    for (const v1::SkillRequirement& r : s.skill_requirements()) {
      step.skill_requirements.push_back(SkillRequirement{
          r.skill(), r.level(), r.min_level(),
          r.has_relax_interval() ? DurationFromProto(r.relax_interval()) : absl::ZeroDuration()});
    }
    step.ordering = static_cast<WorkerOrdering>(s.ordering());
    step.timeout = s.has_timeout() ? DurationFromProto(s.timeout()) : absl::InfiniteDuration();
    step.priority_increase = s.priority_increase();
    step.skip_if_nobody_available = s.skip_if_nobody_available();
    step.parallel_offers = s.parallel_offers() == 0 ? 1 : s.parallel_offers();
    w.steps.push_back(std::move(step));
  }
  if (workflow.has_reservation_timeout()) {
    w.reservation_timeout = DurationFromProto(workflow.reservation_timeout());
  }
  if (!workflow.missed_activity_id().empty()) w.missed_activity_id = workflow.missed_activity_id();
  return w;
}

// ---- tasks and reservations ------------------------------------------------------------------

void ValidateNewTask(const v1::Task& task, FieldViolations& bad, const std::string& prefix) {
  const std::string& p = prefix;
  if (task.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(task.channel())) {
    bad.Add(p + "channel", "is required");
  }
  if (task.category() == v1::TASK_CATEGORY_UNSPECIFIED ||
      !v1::TaskCategory_IsValid(task.category())) {
    bad.Add(p + "category", "is required");
  }
  ValidateTaskFields(task, kTaskWritablePaths, bad, prefix);
  if (CharacterCount(task.dedupe_key()) > 256) bad.Add(p + "dedupe_key", "at most 256 characters");
  if (task.has_ttl()) {
    const absl::Duration d = DurationFromProto(task.ttl());
    if (!ValidDuration(task.ttl()) || d < absl::Minutes(1) || d > absl::Hours(24 * 30)) {
      bad.Add(p + "ttl", "must be 1 minute..30 days");
    }
  }
  if (CharacterCount(task.related_deal_id()) > 128) {
    bad.Add(p + "related_deal_id", "at most 128 characters");
  }
  if (CharacterCount(task.workflow_id()) > 128) {
    bad.Add(p + "workflow_id", "at most 128 characters");
  }
}

void ValidateTaskFields(const v1::Task& task, const std::vector<std::string>& paths,
                        FieldViolations& bad, const std::string& prefix) {
  const std::string& p = prefix;
  auto has = [&](const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
  };
  if (has("language") && task.language().size() > 35) {
    bad.Add(p + "language", "must be a BCP 47 tag");
  }
  if (has("region") && CharacterCount(task.region()) > 64) {
    bad.Add(p + "region", "at most 64 characters");
  }
  if (has("title") && CharacterCount(task.title()) > 256) {
    bad.Add(p + "title", "at most 256 characters");
  }
  if (has("attributes")) ValidateAttributes(task.attributes(), 4096, p + "attributes", bad);
  if (has("priority") && task.has_priority() && (task.priority() < 0 || task.priority() > 10000)) {
    bad.Add(p + "priority", "must be 0..10000");
  }
}

TaskUpdate TaskUpdateFromProto(const v1::Task& task, const std::vector<std::string>& paths) {
  TaskUpdate u;
  for (const std::string& path : paths) {
    if (path == "title") u.title = task.title();
    if (path == "language") u.language = task.language();
    if (path == "region") u.region = task.region();
    if (path == "attributes") {
      u.attributes.emplace();
      for (const auto& [k, v] : task.attributes()) (*u.attributes)[k] = v;
    }
    if (path == "priority" && task.has_priority()) u.priority = task.priority();
  }
  return u;
}

NewTask NewTaskFromProto(const v1::Task& task, std::string task_id) {
  NewTask t;
  t.task_id = std::move(task_id);
  t.partner_id = task.partner_id();
  t.channel = static_cast<Channel>(task.channel());
  t.category = static_cast<TaskCategory>(task.category());
  t.language = task.language();
  t.region = task.region();
  t.title = task.title();
  for (const auto& [k, v] : task.attributes()) t.attributes[k] = v;
  if (task.has_priority()) t.priority = task.priority();
  t.dedupe_key = task.dedupe_key();
  if (task.has_ttl()) t.ttl = DurationFromProto(task.ttl());
  t.related_deal_id = task.related_deal_id();
  t.workflow_id = task.workflow_id();
  return t;
}

v1::Task TaskToProto(const Task& t, const std::string& vendor_id) {
  v1::Task out;
  out.set_vendor_id(vendor_id);
  out.set_task_id(t.task_id);
  out.set_partner_id(t.partner_id);
  out.set_channel(static_cast<v1::Channel>(t.channel));
  out.set_category(static_cast<v1::TaskCategory>(t.category));
  out.set_language(t.language);
  out.set_region(t.region);
  out.set_title(t.title);
  for (const auto& [k, v] : t.attributes) (*out.mutable_attributes())[k] = v;
  out.set_priority(t.priority);
  out.set_dedupe_key(t.dedupe_key);
  *out.mutable_ttl() = DurationToProto(t.ttl);
  *out.mutable_expire_time() = TimeToProto(t.expire_time);
  out.set_related_deal_id(t.related_deal_id);
  out.set_workflow_id(t.workflow_id);
  out.set_step_id(t.step_id);
  out.set_queue_id(t.queue_id);
  *out.mutable_step_enter_time() = TimeToProto(t.step_enter_time);
  out.set_state(static_cast<v1::TaskState>(t.state));
  if (!t.reservation_ids.empty()) out.set_reservation_id(t.reservation_ids.front());
  out.set_worker_id(t.worker_id);
  for (const std::string& w : t.declined_worker_ids) out.add_declined_worker_ids(w);
  v1::PartnerContext* pc = out.mutable_partner_context();
  pc->set_tier_id(t.partner.tier_id);
  pc->set_tier_rank(t.partner.tier_rank);
  pc->set_concierge_worker_id(t.partner.concierge_worker_id);
  pc->set_channel_manager_worker_id(t.partner.channel_manager_worker_id);
  pc->set_time_zone(t.partner.time_zone);
  if (t.sla.state != SlaState::kUnspecified) {
    v1::TaskSla* sla = out.mutable_sla();
    *sla->mutable_target() = DurationToProto(t.sla.target);
    if (t.sla.due_time != absl::InfiniteFuture()) {
      *sla->mutable_due_time() = TimeToProto(t.sla.due_time);
    }
    if (t.sla.warning_time != absl::InfiniteFuture()) {
      *sla->mutable_warning_time() = TimeToProto(t.sla.warning_time);
    }
    if (t.sla.first_response_time) {
      *sla->mutable_first_response_time() = TimeToProto(*t.sla.first_response_time);
    }
    sla->set_state(static_cast<v1::SlaState>(t.sla.state));
    sla->set_time_zone(t.sla.time_zone);
  }
  if (t.assign_time) *out.mutable_assign_time() = TimeToProto(*t.assign_time);
  if (t.wrap_up_start_time) *out.mutable_wrap_up_start_time() = TimeToProto(*t.wrap_up_start_time);
  if (t.end_time) *out.mutable_end_time() = TimeToProto(*t.end_time);
  out.set_end_reason(t.end_reason);
  out.set_cancel_source(static_cast<v1::CancelSource>(t.cancel_source));
  out.set_version(t.version);
  out.set_etag(EtagOf(t.version));
  *out.mutable_create_time() = TimeToProto(t.create_time);
  *out.mutable_update_time() = TimeToProto(t.update_time);
  out.set_previous_worker_id(t.previous_worker_id);
  return out;
}

v1::Reservation ReservationToProto(const Reservation& r, const std::string& vendor_id) {
  v1::Reservation out;
  out.set_vendor_id(vendor_id);
  out.set_reservation_id(r.reservation_id);
  out.set_task_id(r.task_id);
  out.set_worker_id(r.worker_id);
  out.set_step_id(r.step_id);
  out.set_state(static_cast<v1::ReservationState>(r.state));
  *out.mutable_create_time() = TimeToProto(r.create_time);
  *out.mutable_expire_time() = TimeToProto(r.expire_time);
  if (r.end_time) *out.mutable_end_time() = TimeToProto(*r.end_time);
  out.set_end_reason(r.end_reason);
  return out;
}

// ---- calendars and SLA policy ---------------------------------------------------------------

void ValidateCalendar(const v1::BusinessCalendar& calendar, FieldViolations& bad,
                      const std::string& prefix) {
  const std::string& p = prefix;
  if (calendar.display_name().empty() || CharacterCount(calendar.display_name()) > 128) {
    bad.Add(p + "display_name", "is required, 1..128 characters");
  }
  if (calendar.time_zone().empty()) bad.Add(p + "time_zone", "is required");
  if (calendar.weekly_hours_size() > 50) bad.Add(p + "weekly_hours", "at most 50");
  for (int i = 0; i < calendar.weekly_hours_size(); ++i) {
    const v1::BusinessHours& h = calendar.weekly_hours(i);
    const std::string f = absl::StrCat(p, "weekly_hours[", i, "]");
    if (h.day() == v1::DAY_OF_WEEK_UNSPECIFIED || !v1::DayOfWeek_IsValid(h.day())) {
      bad.Add(f + ".day", "is required");
    }
    for (const auto& [name, t] : {std::pair<const char*, const v1::TimeOfDay*>{"start", &h.start()},
                                  {"end", &h.end()}}) {
      if (t->hours() < 0 || t->hours() > 24 || t->minutes() < 0 || t->minutes() > 59 ||
          (t->hours() == 24 && t->minutes() != 0)) {
        bad.Add(absl::StrCat(f, ".", name), "must be 00:00..24:00");
      }
    }
  }
  if (calendar.holidays_size() > 1000) bad.Add(p + "holidays", "at most 1000");
  for (int i = 0; i < calendar.holidays_size(); ++i) {
    const prm::common::v1::Date& d = calendar.holidays(i).date();
    const absl::CivilDay day(d.year(), d.month(), d.day());
    if (d.year() < 1970 || d.year() > 9999 || day.year() != d.year() || day.month() != d.month() ||
        day.day() != d.day()) {
      bad.Add(absl::StrCat(p, "holidays[", i, "].date"), "must be a valid date");
    }
    if (CharacterCount(calendar.holidays(i).name()) > 128) {
      bad.Add(absl::StrCat(p, "holidays[", i, "].name"), "at most 128 characters");
    }
  }
}

absl::StatusOr<BusinessCalendar> CalendarFromProto(const v1::BusinessCalendar& calendar,
                                                   const std::string& prefix) {
  static constexpr absl::Weekday kDays[] = {
      absl::Weekday::monday, absl::Weekday::monday,   absl::Weekday::tuesday,
      absl::Weekday::wednesday, absl::Weekday::thursday, absl::Weekday::friday,
      absl::Weekday::saturday, absl::Weekday::sunday};
  std::vector<WeeklyHours> hours;
  for (const v1::BusinessHours& h : calendar.weekly_hours()) {
    hours.push_back(WeeklyHours{kDays[std::clamp(static_cast<int>(h.day()), 0, 7)],
                                h.start().hours() * 60 + h.start().minutes(),
                                h.end().hours() * 60 + h.end().minutes()});
  }
  std::vector<absl::CivilDay> holidays;
  for (const v1::Holiday& h : calendar.holidays()) {
    holidays.emplace_back(h.date().year(), h.date().month(), h.date().day());
  }
  absl::StatusOr<BusinessCalendar> out =
      BusinessCalendar::Create(calendar.time_zone(), std::move(hours), std::move(holidays));
  if (out.ok()) return out;
  FieldViolations bad;
  for (FieldViolation& v : FieldViolationsOf(out.status())) {
    bad.Add(prefix + v.field, std::move(v.description));
  }
  if (bad.empty()) return out.status();
  return bad.ToStatus(out.status().message());
}

void ValidateSlaPolicy(const v1::SlaPolicy& policy, const std::vector<std::string>& paths,
                       FieldViolations& bad, const std::string& prefix) {
  const std::string& p = prefix;
  auto sets = [&](const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
  };
  if (sets("targets")) {
    if (policy.targets_size() > 200) bad.Add(p + "targets", "at most 200");
    std::set<std::pair<std::string, int>> keys;
    for (int i = 0; i < policy.targets_size(); ++i) {
      const v1::SlaTarget& t = policy.targets(i);
      const std::string f = absl::StrCat(p, "targets[", i, "]");
      if (!v1::TaskCategory_IsValid(t.category())) bad.Add(f + ".category", "unknown category");
      if (!keys.insert({t.tier_id(), t.category()}).second) {
        bad.Add(f, "(tier_id, category) repeats an earlier target");
      }
      const absl::Duration d = DurationFromProto(t.first_response());
      if (!t.has_first_response() || !ValidDuration(t.first_response()) || d < absl::Minutes(1) ||
          d > absl::Hours(24 * 30)) {
        bad.Add(f + ".first_response", "is required, 1 minute..30 days");
      }
    }
  }
  if (sets("warning_percent") && (policy.warning_percent() < 1 || policy.warning_percent() > 99)) {
    bad.Add(p + "warning_percent", "must be 1..99");
  }
  if (sets("category_priorities")) {
    std::set<int> categories;
    for (int i = 0; i < policy.category_priorities_size(); ++i) {
      const v1::CategoryPriority& c = policy.category_priorities(i);
      const std::string f = absl::StrCat(p, "category_priorities[", i, "]");
      if (c.category() == v1::TASK_CATEGORY_UNSPECIFIED ||
          !v1::TaskCategory_IsValid(c.category())) {
        bad.Add(f + ".category", "is required");
      } else if (!categories.insert(c.category()).second) {
        bad.Add(f + ".category", "duplicate category");
      }
      if (c.priority() < 0 || c.priority() > 5000) bad.Add(f + ".priority", "must be 0..5000");
    }
  }
}

SlaPolicy SlaPolicyFromProto(const v1::SlaPolicy& policy) {
  SlaPolicy out;
  for (const v1::SlaTarget& t : policy.targets()) {
    out.targets.push_back(SlaTarget{t.tier_id(), static_cast<TaskCategory>(t.category()),
                                    DurationFromProto(t.first_response())});
  }
  out.warning_percent = policy.warning_percent();
  out.business_calendar_id = policy.business_calendar_id();
  for (const v1::CategoryPriority& c : policy.category_priorities()) {
    if (c.category() > 0 && c.category() < static_cast<int>(out.category_priorities.size())) {
      out.category_priorities[c.category()] = c.priority();
    }
  }
  return out;
}

// ---- statistics ------------------------------------------------------------------------------

v1::QueueStatistics QueueStatisticsToProto(const QueueStatistics& s, const std::string& vendor_id,
                                           const std::string& queue_id) {
  v1::QueueStatistics out;
  out.set_vendor_id(vendor_id);
  out.set_queue_id(queue_id);
  for (int state = static_cast<int>(TaskState::kPending);
       state <= static_cast<int>(TaskState::kWrapping); ++state) {
    v1::TaskStateCount* c = out.add_task_counts();
    c->set_state(static_cast<v1::TaskState>(state));
    c->set_count(s.task_counts[state]);
  }
  *out.mutable_longest_wait() = DurationToProto(s.longest_wait);
  out.set_oldest_task_id(s.oldest_task_id);
  out.set_eligible_workers(s.eligible_workers);
  out.set_available_workers(s.available_workers);
  out.set_workers_with_capacity(s.workers_with_capacity);
  if (s.sla_attainment) out.set_sla_attainment(*s.sla_attainment);
  out.set_sla_warning_count(s.sla_warning_count);
  out.set_sla_breach_count(s.sla_breach_count);
  *out.mutable_average_wait() = DurationToProto(s.average_wait);
  *out.mutable_window() = DurationToProto(s.window);
  *out.mutable_compute_time() = TimeToProto(s.compute_time);
  return out;
}

v1::WorkerStatistics WorkerStatisticsToProto(const WorkerStatistics& s,
                                             const std::string& vendor_id,
                                             const std::string& worker_id) {
  v1::WorkerStatistics out;
  out.set_vendor_id(vendor_id);
  out.set_worker_id(worker_id);
  out.set_activity_id(s.activity_id);
  int capacity = 0, used = 0;
  for (int c = 1; c < kChannelCount; ++c) {
    const ChannelLoad& l = s.channels[c];
    if (l.capacity == 0 && l.reserved + l.assigned + l.wrapping == 0) continue;
    v1::ChannelUtilization* u = out.add_channels();
    u->set_channel(static_cast<v1::Channel>(c));
    u->set_capacity(l.capacity);
    u->set_reserved(l.reserved);
    u->set_assigned(l.assigned);
    u->set_wrapping(l.wrapping);
    capacity += l.capacity;
    used += l.reserved + l.assigned + l.wrapping;
  }
  // The domain keeps no time-weighted load history: utilization is the current load.
  if (capacity > 0) out.set_utilization(static_cast<double>(used) / capacity);
  out.set_reservations_offered(s.reservations_offered);
  out.set_reservations_accepted(s.reservations_accepted);
  out.set_reservations_rejected(s.reservations_rejected);
  out.set_reservations_timed_out(s.reservations_timed_out);
  out.set_tasks_completed(s.tasks_completed);
  *out.mutable_average_handle_time() = DurationToProto(s.average_handle_time);
  *out.mutable_window() = DurationToProto(s.window);
  *out.mutable_compute_time() = TimeToProto(s.compute_time);
  return out;
}

}  // namespace prm::routing
