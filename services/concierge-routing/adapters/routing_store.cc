#include "services/concierge-routing/adapters/routing_store.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "prm/routing/v1/routing_events.pb.h"
#include "prm/routing/v1/routing_service.pb.h"
#include "services/concierge-routing/adapters/proto_mapping.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;
using command_log::Command;
using prm::common::v1::Actor;

// ---- replies ---------------------------------------------------------------------------------
// A reply is "+" and the response bytes, or "-<code>:<message length>:<message>" followed by the
// google.rpc.BadRequest bytes of an INVALID_ARGUMENT (possibly empty).

std::string EncodeOk(const google::protobuf::Message& response) {
  return absl::StrCat("+", events::SerializeDeterministically(response));
}

std::string EncodeError(const absl::Status& status) {
  std::string out = absl::StrCat("-", static_cast<int>(status.code()), ":",
                                 status.message().size(), ":", status.message());
  if (auto payload = status.GetPayload(kBadRequestTypeUrl)) out.append(std::string(*payload));
  return out;
}

absl::Status DecodeReply(absl::string_view reply, google::protobuf::Message* response) {
  if (!reply.empty() && reply[0] == '+') {
    if (!response->ParseFromArray(reply.data() + 1, static_cast<int>(reply.size() - 1))) {
      return absl::InternalError("logged reply does not parse");
    }
    return absl::OkStatus();
  }
  const size_t colon = reply.find(':');
  int code = 0;
  size_t length = 0;
  const size_t colon2 = colon == absl::string_view::npos ? colon : reply.find(':', colon + 1);
  if (reply.empty() || reply[0] != '-' || colon2 == absl::string_view::npos ||
      !absl::SimpleAtoi(reply.substr(1, colon - 1), &code) ||
      !absl::SimpleAtoi(reply.substr(colon + 1, colon2 - colon - 1), &length) ||
      colon2 + 1 + length > reply.size()) {
    return absl::InternalError("logged reply is malformed");
  }
  absl::Status status(static_cast<absl::StatusCode>(code), reply.substr(colon2 + 1, length));
  const absl::string_view details = reply.substr(colon2 + 1 + length);
  if (!details.empty()) status.SetPayload(kBadRequestTypeUrl, absl::Cord(details));
  return status;
}

// The domain names fields relative to its own structs; the API names them relative to the
// request.
absl::Status PrefixFields(absl::Status status, const std::string& prefix) {
  std::vector<FieldViolation> violations = FieldViolationsOf(status);
  if (violations.empty()) return status;
  FieldViolations bad;
  for (FieldViolation& v : violations) bad.Add(prefix + v.field, std::move(v.description));
  return bad.ToStatus(status.message());
}

// ---- state helpers ---------------------------------------------------------------------------

const std::vector<std::pair<std::string, bool>>& BuiltInActivities() {
  static const auto* kActivities = new std::vector<std::pair<std::string, bool>>{
      {"available", true}, {"busy", false},   {"break", false},
      {"offline", false},  {"missed", false}, {"paused", false}};
  return *kActivities;
}

std::unique_ptr<VendorState> NewVendor(const std::string& vendor_id, const Clock& clock) {
  auto v = std::make_unique<VendorState>();
  v->vendor_id = vendor_id;
  v->router = std::make_unique<Router>(clock);
  const absl::Time now = clock.Now();
  for (const auto& [id, available] : BuiltInActivities()) {
    v1::Activity a;
    a.set_vendor_id(vendor_id);
    a.set_activity_id(id);
    a.set_display_name(id);
    a.set_available(available);
    a.set_version(1);
    a.set_etag(EtagOf(1));
    *a.mutable_create_time() = TimeToProto(now);
    *a.mutable_update_time() = TimeToProto(now);
    v->activity_ids.push_back(id);
    v->activities[id] = std::move(a);
  }
  v1::Queue q;
  q.set_vendor_id(vendor_id);
  q.set_queue_id(std::string(kDefaultQueueId));
  q.set_display_name("Default");
  q.set_version(1);
  q.set_etag(EtagOf(1));
  *q.mutable_create_time() = TimeToProto(now);
  *q.mutable_update_time() = TimeToProto(now);
  v->queue_ids.push_back(q.queue_id());
  v->queues[q.queue_id()] = std::move(q);
  // The domain's built-in workflow (router.cc), as the API shows it.
  const RouterOptions defaults;
  v1::Workflow wf;
  wf.set_vendor_id(vendor_id);
  wf.set_workflow_id(std::string(kDefaultWorkflowId));
  wf.set_display_name("Default: previous worker, concierge, region pool, overflow");
  wf.set_rank(1000);
  auto step = [&](const char* id, const char* target, absl::Duration timeout) {
    v1::WorkflowStep* s = wf.add_steps();
    s->set_step_id(id);
    s->set_queue_id(std::string(kDefaultQueueId));
    s->set_target(target);
    if (timeout != absl::InfiniteDuration()) {
      *s->mutable_timeout() = DurationToProto(timeout);
      s->set_skip_if_nobody_available(true);
    }
  };
  step("previous_worker", "worker.worker_id == task.previous_worker_id",
       defaults.default_previous_worker_timeout);
  step("concierge", "worker.worker_id == task.partner.concierge_worker_id",
       defaults.default_concierge_timeout);
  step("region_pool", "worker.regions HAS task.region", defaults.default_region_pool_timeout);
  step("overflow", "", absl::InfiniteDuration());
  *wf.mutable_reservation_timeout() = DurationToProto(absl::Seconds(30));
  wf.set_missed_activity_id("missed");
  wf.set_version(1);
  wf.set_etag(EtagOf(1));
  *wf.mutable_create_time() = TimeToProto(now);
  *wf.mutable_update_time() = TimeToProto(now);
  v->workflow_ids.push_back(wf.workflow_id());
  v->workflows[wf.workflow_id()] = std::move(wf);
  v->sla_policy.set_vendor_id(vendor_id);
  v->sla_policy.set_warning_percent(SlaPolicy().warning_percent);
  v->sla_policy.set_etag(EtagOf(0));
  return v;
}

// The proto worker with the adapter's metadata.
v1::Worker WorkerView(const VendorState& v, const WorkerStatus& status) {
  v1::Worker out = WorkerToProto(status);
  out.set_vendor_id(v.vendor_id);
  if (auto it = v.workers.find(status.worker.worker_id); it != v.workers.end()) {
    const WorkerMeta& m = it->second;
    out.set_email(m.email);
    *out.mutable_activity_change_time() = TimeToProto(m.activity_change_time);
    out.set_version(m.version);
    out.set_etag(EtagOf(m.version));
    *out.mutable_create_time() = TimeToProto(m.create_time);
    *out.mutable_update_time() = TimeToProto(m.update_time);
  }
  return out;
}


// One domain event as the API event it is published as; nullptr for internal events.
std::unique_ptr<google::protobuf::Message> ToApiEvent(const RoutingEvent& e,
                                                      const std::string& vendor_id,
                                                      prm::common::v1::EventMetadata** metadata) {
  const v1::Task task = TaskToProto(e.task, vendor_id);
  auto with_task = [&](auto message) -> std::unique_ptr<google::protobuf::Message> {
    *message->mutable_task() = task;
    *metadata = message->mutable_metadata();
    return message;
  };
  auto with_reservation = [&](auto message) -> std::unique_ptr<google::protobuf::Message> {
    if (e.reservation) *message->mutable_reservation() = ReservationToProto(*e.reservation, vendor_id);
    return with_task(std::move(message));
  };
  switch (e.type) {
    case RoutingEventType::kTaskCreated:
      return with_task(std::make_unique<v1::TaskCreated>());
    case RoutingEventType::kTaskReserved:
      return with_reservation(std::make_unique<v1::TaskReserved>());
    case RoutingEventType::kTaskRequeued:
      return with_reservation(std::make_unique<v1::TaskRequeued>());
    case RoutingEventType::kTaskAssigned:
      return with_reservation(std::make_unique<v1::TaskAssigned>());
    case RoutingEventType::kTaskWrapUpStarted:
      return with_task(std::make_unique<v1::TaskWrapUpStarted>());
    case RoutingEventType::kTaskCompleted:
      return with_task(std::make_unique<v1::TaskCompleted>());
    case RoutingEventType::kTaskCanceled:
      return with_task(std::make_unique<v1::TaskCanceled>());
    case RoutingEventType::kSlaWarning: {
      auto m = std::make_unique<v1::SlaWarning>();
      *m->mutable_elapsed() = DurationToProto(e.sla_elapsed);
      m->set_percent(e.sla_percent);
      return with_task(std::move(m));
    }
    case RoutingEventType::kSlaBreached: {
      auto m = std::make_unique<v1::SlaBreached>();
      m->set_escalate_to_worker_id(e.escalate_to_worker_id);
      return with_task(std::move(m));
    }
    case RoutingEventType::kWorkerActivityChanged:
    case RoutingEventType::kOfferEnded:
      return nullptr;
  }
  return nullptr;
}

// A server-assigned id: the command's time and log position, so the same on replay and, with
// the time, unique across installations that share a broker (event keys are task ids).
std::string NewId(absl::string_view kind, const Command& c) {
  return absl::StrCat(kind, "-", absl::Hex(absl::ToUnixMicros(c.time)), "-", c.seq);
}

constexpr char kLookupBenefitsKey[] = "tier_benefits";

// The tier's benefits that routing uses: its routing priority (task priorities) and its
// first-response SLA (the fallback when no SlaPolicy target matches).
void ApplyTierBenefits(const prm::partner::v1::TierBenefits& b, PartnerRecord& p) {
  p.tier_routing_priority = std::clamp(b.routing_priority(), 0, 10000);
  const absl::Duration sla = DurationFromProto(b.first_response_sla());
  p.context.first_response_sla =
      sla > absl::ZeroDuration() && sla <= absl::Hours(24 * 30) ? sla : absl::ZeroDuration();
}

Actor SystemActor() {
  Actor a;
  a.set_role(prm::common::v1::ROLE_SYSTEM);
  a.set_subject("concierge-routing");
  return a;
}

void Erase(std::vector<std::string>& ids, const std::string& id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

absl::Status CheckEtag(const std::string& given, int64_t version) {
  if (!given.empty() && given != EtagOf(version)) {
    return absl::AbortedError("etag does not match the current version");
  }
  return absl::OkStatus();
}

// A partner lookup (EncodePartnerLookup) becomes the vendor's record of the partner, as the
// prm.partner.v1 events would have made it.
absl::Status ApplyPartnerLookup(VendorState& v, const std::string& partner_id,
                                const std::string& inputs) {
  // The encoding: a ListEnrollmentsResponse whose enrollments[0], if any, is the enrollment
  // (tier, concierge, channel manager) with the tier's TierBenefits bytes, base64, as attribute
  // kLookupBenefitsKey.
  prm::partner::v1::ListEnrollmentsResponse lookup;
  if (!lookup.ParseFromString(inputs)) return absl::InternalError("partner lookup does not parse");
  PartnerRecord& p = v.partners[partner_id];
  if (lookup.enrollments_size() > 0) {
    const prm::partner::v1::Enrollment& e = lookup.enrollments(0);
    p.context.tier_id = e.tier_id();
    p.context.tier_rank = e.tier_rank();
    p.context.concierge_worker_id = e.concierge_worker_id();
    p.context.channel_manager_worker_id = e.channel_manager_worker_id();
    prm::partner::v1::TierBenefits benefits;
    std::string bytes;
    if (auto it = e.attributes().find(kLookupBenefitsKey);
        it != e.attributes().end() &&
        (!absl::Base64Unescape(it->second, &bytes) || !benefits.ParseFromString(bytes))) {
      return absl::InternalError("partner lookup: tier benefits do not parse");
    }
    ApplyTierBenefits(benefits, p);
  }
  v.router->PutPartner(partner_id, p.context, p.tier_routing_priority);
  return absl::OkStatus();
}

}  // namespace

std::string EncodePartnerLookup(const prm::partner::v1::Enrollment* enrollment,
                                const prm::partner::v1::TierBenefits& benefits) {
  prm::partner::v1::ListEnrollmentsResponse lookup;
  if (enrollment != nullptr) {
    prm::partner::v1::Enrollment* e = lookup.add_enrollments();
    e->set_vendor_id(enrollment->vendor_id());
    e->set_partner_id(enrollment->partner_id());
    e->set_tier_id(enrollment->tier_id());
    e->set_tier_rank(enrollment->tier_rank());
    e->set_concierge_worker_id(enrollment->concierge_worker_id());
    e->set_channel_manager_worker_id(enrollment->channel_manager_worker_id());
    (*e->mutable_attributes())[kLookupBenefitsKey] =
        absl::Base64Escape(events::SerializeDeterministically(benefits));
  }
  // Never empty, so that "no enrollment" is an answer too ("" = no inputs).
  lookup.set_next_page_token("partner-registry");
  return events::SerializeDeterministically(lookup);
}

absl::StatusOr<v1::Worker> WorkerResource(const VendorState& v, const std::string& worker_id) {
  ASSIGN_OR_RETURN(WorkerStatus status, v.router->GetWorker(worker_id));
  return WorkerView(v, status);
}

RoutingStore::RoutingStore(runtime::Runtime& runtime, command_log::CommandLog& log,
                           OfferHub& offers)
    : runtime_(runtime), log_(log), offers_(offers) {}

RoutingStore::~RoutingStore() = default;

absl::StatusOr<int64_t> RoutingStore::Replay() {
  const Actor none;
  ASSIGN_OR_RETURN(command_log::CommandLog::Replayed replayed,
                   log_.Replay([&](const Command& c) { return Apply(c, nullptr, none); }));
  return replayed.commands;
}

absl::Status RoutingStore::Execute(const std::string& kind, const std::string& request_id,
                                   const google::protobuf::Message& request, const Actor& actor,
                                   google::protobuf::Message* response, std::string inputs) {
  ASSIGN_OR_RETURN(std::string reply,
                   log_.Execute({.kind = kind, .request_id = request_id,
                                 .payload = events::SerializeDeterministically(request),
                                 .inputs = std::move(inputs)},
                                [&](sqlite::Transaction& tx, const Command& c) {
                                  return Apply(c, &tx, actor);
                                }));
  runtime_.relay().Notify();
  return DecodeReply(reply, response);
}

absl::Status RoutingStore::ApplyEvent(const std::string& type,
                                      const google::protobuf::Message& payload,
                                      sqlite::Transaction& tx) {
  static const auto* kUsed = new absl::flat_hash_set<std::string>{
      "prm.partner.ConciergeAssigned.v1", "prm.partner.TierChanged.v1",
      "prm.deal.DealSubmitted.v1",        "prm.deal.DealApproved.v1",
      "prm.deal.DealRejected.v1",         "prm.deal.DealCancelled.v1"};
  if (!kUsed->contains(type)) return absl::OkStatus();
  Actor actor;
  actor.set_role(prm::common::v1::ROLE_SERVICE);
  actor.set_subject(type);
  const Command command{.kind = type, .payload = events::SerializeDeterministically(payload)};
  ASSIGN_OR_RETURN(std::string reply,
                   log_.ExecuteIn(tx, command, [&](sqlite::Transaction& t, const Command& c) {
                     return Apply(c, &t, actor);
                   }));
  google::protobuf::Empty ignored;
  const absl::Status status = DecodeReply(reply, &ignored);
  // An event about something this service does not know (e.g. a task already closed) has no
  // effect; it is not retried.
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) return absl::OkStatus();
  return status;
}

absl::Time RoutingStore::NextTimerTime() const {
  std::shared_lock lock(mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [id, v] : vendors_) next = std::min(next, v->router->NextTimerTime());
  return next;
}

absl::Status RoutingStore::Tick() {
  google::protobuf::Empty request, response;
  return Execute("Tick", "", request, SystemActor(), &response);
}

void RoutingStore::Read(const std::string& vendor_id,
                        const std::function<void(const VendorState*)>& read) const {
  std::shared_lock lock(mu_);
  auto it = vendors_.find(vendor_id);
  read(it == vendors_.end() ? nullptr : it->second.get());
}

absl::StatusOr<std::string> RoutingStore::Apply(const Command& c, sqlite::Transaction* tx,
                                                const Actor& actor) {
  std::unique_lock lock(mu_);
  const Clock& clock = log_.clock();
  const absl::Time now = clock.Now();
  std::vector<VendorState*> touched;
  auto vendor = [&](const std::string& id) -> VendorState& {
    auto& slot = vendors_[id];
    if (slot == nullptr) slot = NewVendor(id, clock);
    touched.push_back(slot.get());
    return *slot;
  };
  // Parses the payload as Req, runs `op`, encodes its outcome as the reply.
  auto run = [&](auto request, auto response, auto op) -> absl::StatusOr<std::string> {
    if (!request.ParseFromString(c.payload)) {
      return absl::InternalError(absl::StrCat("command ", c.seq, " (", c.kind, ") does not parse"));
    }
    const absl::Status status = op(request, response);
    return status.ok() ? EncodeOk(response) : EncodeError(status);
  };

  absl::StatusOr<std::string> reply;
  const std::string& k = c.kind;
  if (k == "Tick") {
    for (auto& [id, v] : vendors_) {
      v->router->Tick();
      touched.push_back(v.get());
    }
    reply = EncodeOk(google::protobuf::Empty());
  } else if (k == "CreateWorker") {
    reply = run(v1::CreateWorkerRequest(), v1::CreateWorkerResponse(),
                [&](const v1::CreateWorkerRequest& r, v1::CreateWorkerResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.worker().vendor_id());
                  Worker w = WorkerFromProto(r.worker());
                  w.worker_id = NewId("worker", c);
                  const std::string id = w.worker_id;
                  RETURN_IF_ERROR(PrefixFields(v.router->PutWorker(std::move(w)), "worker."));
                  v.worker_ids.push_back(id);
                  v.workers[id] = WorkerMeta{r.worker().email(), now, now, now, 1};
                  ASSIGN_OR_RETURN(*out.mutable_worker(), WorkerResource(v, id));
                  return absl::OkStatus();
                });
  } else if (k == "UpdateWorker") {
    reply = run(v1::UpdateWorkerRequest(), v1::UpdateWorkerResponse(),
                [&](const v1::UpdateWorkerRequest& r, v1::UpdateWorkerResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.worker().vendor_id());
                  const std::string& id = r.worker().worker_id();
                  ASSIGN_OR_RETURN(v1::Worker current, WorkerResource(v, id));
                  WorkerMeta& meta = v.workers[id];
                  RETURN_IF_ERROR(CheckEtag(r.worker().etag(), meta.version));
                  v1::Worker merged = current;
                  std::vector<std::string> paths(r.update_mask().paths().begin(),
                                                 r.update_mask().paths().end());
                  if (paths.size() == 1 && paths[0] == "*") {
                    paths = {"display_name", "email",      "role",
                             "skills",       "languages",  "regions",
                             "capacities",   "business_calendar_id",
                             "wrap_up_duration", "attributes"};
                  }
                  google::protobuf::FieldMask mask;
                  for (const std::string& p : paths) mask.add_paths(p);
                  google::protobuf::util::FieldMaskUtil::MergeOptions options;
                  options.set_replace_repeated_fields(true);
                  options.set_replace_message_fields(true);
                  google::protobuf::util::FieldMaskUtil::MergeMessageTo(r.worker(), mask, options,
                                                                        &merged);
                  // Maps merge key by key; an update replaces them.
                  if (std::find(paths.begin(), paths.end(), "attributes") != paths.end()) {
                    *merged.mutable_attributes() = r.worker().attributes();
                  }
                  RETURN_IF_ERROR(
                      PrefixFields(v.router->PutWorker(WorkerFromProto(merged)), "worker."));
                  meta.email = merged.email();
                  meta.update_time = now;
                  ++meta.version;
                  ASSIGN_OR_RETURN(*out.mutable_worker(), WorkerResource(v, id));
                  return absl::OkStatus();
                });
  } else if (k == "SetWorkerActivity") {
    reply = run(v1::SetWorkerActivityRequest(), v1::SetWorkerActivityResponse(),
                [&](const v1::SetWorkerActivityRequest& r,
                    v1::SetWorkerActivityResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  RETURN_IF_ERROR(v.router->SetWorkerActivity(r.worker_id(), r.activity_id()));
                  WorkerMeta& meta = v.workers[r.worker_id()];
                  meta.activity_change_time = now;
                  meta.update_time = now;
                  ++meta.version;
                  ASSIGN_OR_RETURN(*out.mutable_worker(), WorkerResource(v, r.worker_id()));
                  return absl::OkStatus();
                });
  } else if (k == "DeleteWorker") {
    reply = run(v1::DeleteWorkerRequest(), v1::DeleteWorkerResponse(),
                [&](const v1::DeleteWorkerRequest& r, v1::DeleteWorkerResponse&) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  auto meta = v.workers.find(r.worker_id());
                  if (meta != v.workers.end()) RETURN_IF_ERROR(CheckEtag(r.etag(), meta->second.version));
                  RETURN_IF_ERROR(v.router->DeleteWorker(r.worker_id()));
                  v.workers.erase(r.worker_id());
                  v.worker_ids.erase(
                      std::remove(v.worker_ids.begin(), v.worker_ids.end(), r.worker_id()),
                      v.worker_ids.end());
                  return absl::OkStatus();
                });
  } else if (k == "CreateActivity") {
    reply = run(v1::CreateActivityRequest(), v1::CreateActivityResponse(),
                [&](const v1::CreateActivityRequest& r,
                    v1::CreateActivityResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.activity().vendor_id());
                  const std::string& id = r.activity().activity_id();
                  if (v.activities.contains(id)) {
                    return absl::AlreadyExistsError(absl::StrCat("activity ", id, " already exists"));
                  }
                  RETURN_IF_ERROR(v.router->PutActivity(Activity{id, r.activity().available()}));
                  v1::Activity a = r.activity();
                  a.set_version(1);
                  a.set_etag(EtagOf(1));
                  *a.mutable_create_time() = TimeToProto(now);
                  *a.mutable_update_time() = TimeToProto(now);
                  v.activity_ids.push_back(id);
                  *out.mutable_activity() = v.activities[id] = std::move(a);
                  return absl::OkStatus();
                });
  } else if (k == "UpdateActivity") {
    reply = run(v1::UpdateActivityRequest(), v1::UpdateActivityResponse(),
                [&](const v1::UpdateActivityRequest& r,
                    v1::UpdateActivityResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.activity().vendor_id());
                  auto it = v.activities.find(r.activity().activity_id());
                  if (it == v.activities.end()) {
                    return absl::NotFoundError(
                        absl::StrCat("activity ", r.activity().activity_id(), " not found"));
                  }
                  RETURN_IF_ERROR(CheckEtag(r.activity().etag(), it->second.version()));
                  // Only the display name is writable (availability is immutable).
                  v1::Activity a = Merged(it->second, r.activity(), r.update_mask(), {"display_name"});
                  a.set_version(a.version() + 1);
                  a.set_etag(EtagOf(a.version()));
                  *a.mutable_update_time() = TimeToProto(now);
                  *out.mutable_activity() = it->second = std::move(a);
                  return absl::OkStatus();
                });
  } else if (k == "DeleteActivity") {
    reply = run(v1::DeleteActivityRequest(), v1::DeleteActivityResponse(),
                [&](const v1::DeleteActivityRequest& r, v1::DeleteActivityResponse&) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  auto it = v.activities.find(r.activity_id());
                  if (it != v.activities.end()) RETURN_IF_ERROR(CheckEtag(r.etag(), it->second.version()));
                  RETURN_IF_ERROR(v.router->DeleteActivity(r.activity_id()));
                  v.activities.erase(r.activity_id());
                  Erase(v.activity_ids, r.activity_id());
                  return absl::OkStatus();
                });
  } else if (k == "UpdateBusinessCalendar") {
    reply = run(v1::UpdateBusinessCalendarRequest(), v1::UpdateBusinessCalendarResponse(),
                [&](const v1::UpdateBusinessCalendarRequest& r,
                    v1::UpdateBusinessCalendarResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.calendar().vendor_id());
                  auto it = v.calendars.find(r.calendar().business_calendar_id());
                  if (it == v.calendars.end()) {
                    return absl::NotFoundError(absl::StrCat(
                        "business calendar ", r.calendar().business_calendar_id(), " not found"));
                  }
                  RETURN_IF_ERROR(CheckEtag(r.calendar().etag(), it->second.version()));
                  v1::BusinessCalendar cal =
                      Merged(it->second, r.calendar(), r.update_mask(), kCalendarWritablePaths);
                  ASSIGN_OR_RETURN(BusinessCalendar domain, CalendarFromProto(cal));
                  RETURN_IF_ERROR(v.router->PutCalendar(cal.business_calendar_id(), std::move(domain)));
                  cal.set_version(cal.version() + 1);
                  cal.set_etag(EtagOf(cal.version()));
                  *cal.mutable_update_time() = TimeToProto(now);
                  *out.mutable_calendar() = it->second = std::move(cal);
                  return absl::OkStatus();
                });
  } else if (k == "DeleteBusinessCalendar") {
    reply = run(v1::DeleteBusinessCalendarRequest(), v1::DeleteBusinessCalendarResponse(),
                [&](const v1::DeleteBusinessCalendarRequest& r,
                    v1::DeleteBusinessCalendarResponse&) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  auto it = v.calendars.find(r.business_calendar_id());
                  if (it != v.calendars.end()) RETURN_IF_ERROR(CheckEtag(r.etag(), it->second.version()));
                  RETURN_IF_ERROR(v.router->DeleteCalendar(r.business_calendar_id()));
                  v.calendars.erase(r.business_calendar_id());
                  Erase(v.calendar_ids, r.business_calendar_id());
                  return absl::OkStatus();
                });
  } else if (k == "DeleteQueue") {
    reply = run(v1::DeleteQueueRequest(), v1::DeleteQueueResponse(),
                [&](const v1::DeleteQueueRequest& r, v1::DeleteQueueResponse&) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  auto it = v.queues.find(r.queue_id());
                  if (it != v.queues.end()) RETURN_IF_ERROR(CheckEtag(r.etag(), it->second.version()));
                  RETURN_IF_ERROR(v.router->DeleteQueue(r.queue_id()));
                  v.queues.erase(r.queue_id());
                  Erase(v.queue_ids, r.queue_id());
                  return absl::OkStatus();
                });
  } else if (k == "DeleteWorkflow") {
    reply = run(v1::DeleteWorkflowRequest(), v1::DeleteWorkflowResponse(),
                [&](const v1::DeleteWorkflowRequest& r, v1::DeleteWorkflowResponse&) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  auto it = v.workflows.find(r.workflow_id());
                  if (it != v.workflows.end()) RETURN_IF_ERROR(CheckEtag(r.etag(), it->second.version()));
                  RETURN_IF_ERROR(v.router->DeleteWorkflow(r.workflow_id()));
                  v.workflows.erase(r.workflow_id());
                  Erase(v.workflow_ids, r.workflow_id());
                  return absl::OkStatus();
                });
  } else if (k == "UpdateTask") {
    reply = run(v1::UpdateTaskRequest(), v1::UpdateTaskResponse(),
                [&](const v1::UpdateTaskRequest& r, v1::UpdateTaskResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.task().vendor_id());
                  ASSIGN_OR_RETURN(Task before, v.router->GetTask(r.task().task_id()));
                  RETURN_IF_ERROR(CheckEtag(r.task().etag(), before.version));
                  std::vector<std::string> paths;
                  for (const std::string& path : r.update_mask().paths()) {
                    if (path == "*") {
                      paths.insert(paths.end(), kTaskWritablePaths.begin(), kTaskWritablePaths.end());
                    } else {
                      paths.push_back(path);
                    }
                  }
                  RETURN_IF_ERROR(PrefixFields(
                      v.router->UpdateTask(r.task().task_id(), TaskUpdateFromProto(r.task(), paths)),
                      "task."));
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(r.task().task_id()));
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "CreateQueue") {
    reply = run(v1::CreateQueueRequest(), v1::CreateQueueResponse(),
                [&](const v1::CreateQueueRequest& r, v1::CreateQueueResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.queue().vendor_id());
                  v1::Queue q = r.queue();
                  q.set_queue_id(NewId("queue", c));
                  RETURN_IF_ERROR(PrefixFields(v.router->PutQueue(QueueFromProto(q)), "queue."));
                  q.set_version(1);
                  q.set_etag(EtagOf(1));
                  *q.mutable_create_time() = TimeToProto(now);
                  *q.mutable_update_time() = TimeToProto(now);
                  v.queue_ids.push_back(q.queue_id());
                  *out.mutable_queue() = v.queues[q.queue_id()] = std::move(q);
                  return absl::OkStatus();
                });
  } else if (k == "UpdateQueue") {
    reply = run(v1::UpdateQueueRequest(), v1::UpdateQueueResponse(),
                [&](const v1::UpdateQueueRequest& r, v1::UpdateQueueResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.queue().vendor_id());
                  auto it = v.queues.find(r.queue().queue_id());
                  if (it == v.queues.end()) {
                    return absl::NotFoundError(absl::StrCat("queue ", r.queue().queue_id(), " not found"));
                  }
                  RETURN_IF_ERROR(CheckEtag(r.queue().etag(), it->second.version()));
                  v1::Queue q = Merged(it->second, r.queue(), r.update_mask(),
                                       {"display_name", "target_workers", "ordering"});
                  RETURN_IF_ERROR(PrefixFields(v.router->PutQueue(QueueFromProto(q)), "queue."));
                  q.set_version(q.version() + 1);
                  q.set_etag(EtagOf(q.version()));
                  *q.mutable_update_time() = TimeToProto(now);
                  *out.mutable_queue() = it->second = std::move(q);
                  return absl::OkStatus();
                });
  } else if (k == "UpdateWorkflow") {
    reply = run(v1::UpdateWorkflowRequest(), v1::UpdateWorkflowResponse(),
                [&](const v1::UpdateWorkflowRequest& r,
                    v1::UpdateWorkflowResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.workflow().vendor_id());
                  auto it = v.workflows.find(r.workflow().workflow_id());
                  if (it == v.workflows.end()) {
                    return absl::NotFoundError(
                        absl::StrCat("workflow ", r.workflow().workflow_id(), " not found"));
                  }
                  RETURN_IF_ERROR(CheckEtag(r.workflow().etag(), it->second.version()));
                  v1::Workflow wf =
                      Merged(it->second, r.workflow(), r.update_mask(),
                             {"display_name", "task_filter", "rank", "steps",
                              "reservation_timeout", "missed_activity_id"});
                  if (!wf.has_reservation_timeout()) {
                    *wf.mutable_reservation_timeout() = DurationToProto(absl::Seconds(30));
                  }
                  if (wf.missed_activity_id().empty()) wf.set_missed_activity_id("missed");
                  RETURN_IF_ERROR(
                      PrefixFields(v.router->PutWorkflow(WorkflowFromProto(wf)), "workflow."));
                  wf.set_version(wf.version() + 1);
                  wf.set_etag(EtagOf(wf.version()));
                  *wf.mutable_update_time() = TimeToProto(now);
                  *out.mutable_workflow() = it->second = std::move(wf);
                  return absl::OkStatus();
                });
  } else if (k == "CreateWorkflow") {
    reply = run(v1::CreateWorkflowRequest(), v1::CreateWorkflowResponse(),
                [&](const v1::CreateWorkflowRequest& r,
                    v1::CreateWorkflowResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.workflow().vendor_id());
                  v1::Workflow wf = r.workflow();
                  wf.set_workflow_id(NewId("workflow", c));
                  if (!wf.has_reservation_timeout()) {
                    *wf.mutable_reservation_timeout() = DurationToProto(absl::Seconds(30));
                  }
                  if (wf.missed_activity_id().empty()) wf.set_missed_activity_id("missed");
                  RETURN_IF_ERROR(
                      PrefixFields(v.router->PutWorkflow(WorkflowFromProto(wf)), "workflow."));
                  wf.set_version(1);
                  wf.set_etag(EtagOf(1));
                  *wf.mutable_create_time() = TimeToProto(now);
                  *wf.mutable_update_time() = TimeToProto(now);
                  v.workflow_ids.push_back(wf.workflow_id());
                  *out.mutable_workflow() = v.workflows[wf.workflow_id()] = std::move(wf);
                  return absl::OkStatus();
                });
  } else if (k == "CreateBusinessCalendar") {
    reply = run(v1::CreateBusinessCalendarRequest(), v1::CreateBusinessCalendarResponse(),
                [&](const v1::CreateBusinessCalendarRequest& r,
                    v1::CreateBusinessCalendarResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.calendar().vendor_id());
                  v1::BusinessCalendar cal = r.calendar();
                  cal.set_business_calendar_id(NewId("calendar", c));
                  ASSIGN_OR_RETURN(BusinessCalendar domain, CalendarFromProto(cal));
                  RETURN_IF_ERROR(v.router->PutCalendar(cal.business_calendar_id(), std::move(domain)));
                  cal.set_version(1);
                  cal.set_etag(EtagOf(1));
                  *cal.mutable_create_time() = TimeToProto(now);
                  *cal.mutable_update_time() = TimeToProto(now);
                  v.calendar_ids.push_back(cal.business_calendar_id());
                  *out.mutable_calendar() = v.calendars[cal.business_calendar_id()] = std::move(cal);
                  return absl::OkStatus();
                });
  } else if (k == "UpdateSlaPolicy") {
    reply = run(v1::UpdateSlaPolicyRequest(), v1::UpdateSlaPolicyResponse(),
                [&](const v1::UpdateSlaPolicyRequest& r,
                    v1::UpdateSlaPolicyResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.policy().vendor_id());
                  RETURN_IF_ERROR(CheckEtag(r.policy().etag(), v.sla_policy.version()));
                  v1::SlaPolicy merged = v.sla_policy;
                  for (const std::string& path : r.update_mask().paths()) {
                    const bool all = path == "*";
                    if (all || path == "targets") *merged.mutable_targets() = r.policy().targets();
                    if (all || path == "warning_percent") {
                      merged.set_warning_percent(r.policy().warning_percent());
                    }
                    if (all || path == "business_calendar_id") {
                      merged.set_business_calendar_id(r.policy().business_calendar_id());
                    }
                    if (all || path == "category_priorities") {
                      *merged.mutable_category_priorities() = r.policy().category_priorities();
                    }
                  }
                  RETURN_IF_ERROR(PrefixFields(v.router->SetSlaPolicy(SlaPolicyFromProto(merged)),
                                               "policy."));
                  merged.set_version(merged.version() + 1);
                  merged.set_etag(EtagOf(merged.version()));
                  *merged.mutable_update_time() = TimeToProto(now);
                  *out.mutable_policy() = v.sla_policy = std::move(merged);
                  return absl::OkStatus();
                });
  } else if (k == "CreateTask") {
    reply = run(v1::CreateTaskRequest(), v1::CreateTaskResponse(),
                [&](const v1::CreateTaskRequest& r, v1::CreateTaskResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.task().vendor_id());
                  if (!c.inputs.empty() && !v.partners.contains(r.task().partner_id())) {
                    RETURN_IF_ERROR(ApplyPartnerLookup(v, r.task().partner_id(), c.inputs));
                  }
                  ASSIGN_OR_RETURN(CreateTaskResult created,
                                   v.router->CreateTask(
                                       NewTaskFromProto(r.task(), NewId("task", c))));
                  // The task as it is now: routing may have offered it already.
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(created.task.task_id));
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  out.set_deduplicated(!created.created);
                  return absl::OkStatus();
                });
  } else if (k == "CancelTask") {
    reply = run(v1::CancelTaskRequest(), v1::CancelTaskResponse(),
                [&](const v1::CancelTaskRequest& r, v1::CancelTaskResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  ASSIGN_OR_RETURN(Task before, v.router->GetTask(r.task_id()));
                  RETURN_IF_ERROR(CheckEtag(r.etag(), before.version));
                  RETURN_IF_ERROR(v.router->CancelTask(r.task_id(), r.reason(), CancelSource::kApi));
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(r.task_id()));
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "WrapUpTask") {
    reply = run(v1::WrapUpTaskRequest(), v1::WrapUpTaskResponse(),
                [&](const v1::WrapUpTaskRequest& r, v1::WrapUpTaskResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  RETURN_IF_ERROR(v.router->WrapUpTask(r.task_id(), ""));
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(r.task_id()));
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "CompleteTask") {
    reply = run(v1::CompleteTaskRequest(), v1::CompleteTaskResponse(),
                [&](const v1::CompleteTaskRequest& r, v1::CompleteTaskResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  RETURN_IF_ERROR(v.router->CompleteTask(r.task_id(), "", r.resolution()));
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(r.task_id()));
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "AcceptReservation") {
    reply = run(v1::AcceptReservationRequest(), v1::AcceptReservationResponse(),
                [&](const v1::AcceptReservationRequest& r,
                    v1::AcceptReservationResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  RETURN_IF_ERROR(v.router->AcceptReservation(r.reservation_id(), ""));
                  ASSIGN_OR_RETURN(Reservation res, v.router->GetReservation(r.reservation_id()));
                  ASSIGN_OR_RETURN(Task task, v.router->GetTask(res.task_id));
                  *out.mutable_reservation() = ReservationToProto(res, v.vendor_id);
                  *out.mutable_task() = TaskToProto(task, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "RejectReservation") {
    reply = run(v1::RejectReservationRequest(), v1::RejectReservationResponse(),
                [&](const v1::RejectReservationRequest& r,
                    v1::RejectReservationResponse& out) -> absl::Status {
                  VendorState& v = vendor(r.vendor_id());
                  ASSIGN_OR_RETURN(Reservation before, v.router->GetReservation(r.reservation_id()));
                  if (!r.activity_id().empty() && !v.activities.contains(r.activity_id())) {
                    return InvalidField("activity_id", "unknown activity");
                  }
                  RETURN_IF_ERROR(v.router->RejectReservation(r.reservation_id(), "", r.reason()));
                  if (!r.activity_id().empty()) {
                    RETURN_IF_ERROR(v.router->SetWorkerActivity(before.worker_id, r.activity_id()));
                    WorkerMeta& meta = v.workers[before.worker_id];
                    meta.activity_change_time = now;
                    meta.update_time = now;
                    ++meta.version;
                  }
                  ASSIGN_OR_RETURN(Reservation res, v.router->GetReservation(r.reservation_id()));
                  *out.mutable_reservation() = ReservationToProto(res, v.vendor_id);
                  return absl::OkStatus();
                });
  } else if (k == "prm.partner.ConciergeAssigned.v1") {
    reply = run(prm::partner::v1::ConciergeAssigned(), google::protobuf::Empty(),
                [&](const prm::partner::v1::ConciergeAssigned& e,
                    google::protobuf::Empty&) -> absl::Status {
                  if (e.metadata().vendor_id().empty() || e.partner_id().empty()) {
                    return absl::InvalidArgumentError("vendor_id and partner_id are required");
                  }
                  VendorState& v = vendor(e.metadata().vendor_id());
                  PartnerRecord& p = v.partners[e.partner_id()];
                  p.context.concierge_worker_id = e.worker_id();
                  v.router->PutPartner(e.partner_id(), p.context, p.tier_routing_priority);
                  return absl::OkStatus();
                });
  } else if (k == "prm.partner.TierChanged.v1") {
    reply = run(prm::partner::v1::TierChanged(), google::protobuf::Empty(),
                [&](const prm::partner::v1::TierChanged& e,
                    google::protobuf::Empty&) -> absl::Status {
                  if (e.metadata().vendor_id().empty() || e.partner_id().empty()) {
                    return absl::InvalidArgumentError("vendor_id and partner_id are required");
                  }
                  VendorState& v = vendor(e.metadata().vendor_id());
                  PartnerRecord& p = v.partners[e.partner_id()];
                  p.context.tier_id = e.to_tier_id();
                  p.context.tier_rank = e.to_tier_rank();
                  // The tier's routing priority benefit feeds derived task priorities.
                  ApplyTierBenefits(e.to_tier_benefits(), p);
                  v.router->PutPartner(e.partner_id(), p.context, p.tier_routing_priority);
                  return absl::OkStatus();
                });
  } else if (k == "prm.deal.DealSubmitted.v1") {
    reply = run(prm::deal::v1::DealSubmitted(), google::protobuf::Empty(),
                [&](const prm::deal::v1::DealSubmitted& e,
                    google::protobuf::Empty&) -> absl::Status {
                  const prm::deal::v1::Deal& d = e.deal();
                  if (d.vendor_id().empty() || d.deal_id().empty()) {
                    return absl::InvalidArgumentError("deal.vendor_id and deal.deal_id are required");
                  }
                  if (!e.review_required()) return absl::OkStatus();
                  VendorState& v = vendor(d.vendor_id());
                  NewTask t;
                  t.task_id = NewId("task", c);
                  t.partner_id = d.partner_id();
                  t.channel = Channel::kInternal;
                  t.category = TaskCategory::kDealApproval;
                  t.title = absl::StrCat("Approve deal: ", d.title()).substr(0, 256);
                  // One open approval task per deal, even if the deal is submitted again.
                  t.dedupe_key = absl::StrCat("deal-approval:", d.deal_id());
                  t.related_deal_id = d.deal_id();
                  if (e.has_conflict()) t.attributes["has_conflict"] = "true";
                  return v.router->CreateTask(std::move(t)).status();
                });
  } else if (k == "prm.deal.DealApproved.v1" || k == "prm.deal.DealRejected.v1" ||
             k == "prm.deal.DealCancelled.v1") {
    prm::deal::v1::DealApproved approved;
    prm::deal::v1::DealRejected rejected;
    prm::deal::v1::DealCancelled cancelled;
    google::protobuf::Message& event = k == "prm.deal.DealApproved.v1"   ? approved
                                       : k == "prm.deal.DealRejected.v1" ? static_cast<google::protobuf::Message&>(rejected)
                                                                         : cancelled;
    if (!event.ParseFromString(c.payload)) {
      return absl::InternalError(absl::StrCat("command ", c.seq, " (", c.kind, ") does not parse"));
    }
    const prm::deal::v1::Deal& d = k == "prm.deal.DealApproved.v1"   ? approved.deal()
                                   : k == "prm.deal.DealRejected.v1" ? rejected.deal()
                                                                     : cancelled.deal();
    if (d.vendor_id().empty() || d.deal_id().empty()) {
      reply = EncodeError(absl::InvalidArgumentError("deal.vendor_id and deal.deal_id are required"));
    } else {
      if (auto it = vendors_.find(d.vendor_id()); it != vendors_.end()) {
        touched.push_back(it->second.get());
        const std::string outcome = k == "prm.deal.DealApproved.v1"   ? "deal_approved"
                                    : k == "prm.deal.DealRejected.v1" ? "deal_rejected"
                                                                      : "deal_cancelled";
        it->second->router->CloseDealTasks(d.deal_id(), outcome);
      }
      reply = EncodeOk(google::protobuf::Empty());
    }
  } else {
    return absl::InternalError(absl::StrCat("command ", c.seq, ": unknown kind ", c.kind));
  }
  if (!reply.ok()) return reply;

  // The domain's events: internal ones update the adapter's view, the others go to the outbox.
  int n = 0;
  absl::flat_hash_set<VendorState*> drained;
  for (VendorState* v : touched) {
    if (!drained.insert(v).second) continue;
    for (const RoutingEvent& e : v->router->DrainEvents()) {
      if (e.type == RoutingEventType::kOfferEnded) {
        offers_.OnEvent(v->vendor_id, e, /*live=*/tx != nullptr);
        continue;
      }
      if (e.type == RoutingEventType::kWorkerActivityChanged) {
        if (auto meta = v->workers.find(e.worker_id); meta != v->workers.end()) {
          meta->second.activity_change_time = e.time;
          meta->second.update_time = e.time;
          ++meta->second.version;
        }
        continue;
      }
      if (e.type == RoutingEventType::kTaskCreated) v->task_ids.push_back(e.task.task_id);
      if (e.type == RoutingEventType::kTaskReserved && e.reservation) {
        v->reservation_ids.push_back(e.reservation->reservation_id);
      }
      offers_.OnEvent(v->vendor_id, e, /*live=*/tx != nullptr);
      if (tx == nullptr) continue;  // replay: the events were published the first time
      prm::common::v1::EventMetadata* metadata = nullptr;
      std::unique_ptr<google::protobuf::Message> message = ToApiEvent(e, v->vendor_id, &metadata);
      if (message == nullptr) continue;
      const std::string id = absl::StrCat(runtime_.service_name(), "-", c.seq, "-", ++n);
      metadata->set_event_id(id);
      metadata->set_vendor_id(v->vendor_id);
      metadata->set_aggregate_version(e.task.version);
      *metadata->mutable_event_time() = TimeToProto(e.time);
      *metadata->mutable_actor() = c.kind == "Tick" ? SystemActor() : actor;
      if (c.kind != "Tick") metadata->set_request_id(c.request_id);
      const events::CloudEvent event = events::MakeEvent(
          *message, absl::StrCat("prm.routing.", message->GetDescriptor()->name(), ".v1"),
          runtime_.event_source(), id, e.time, e.task.task_id);
      RETURN_IF_ERROR(outbox::Append(
          *tx, events::EncodeBinary(event, runtime_.options().topics.routing), c.time));
    }
  }
  return reply;
}

}  // namespace prm::routing
