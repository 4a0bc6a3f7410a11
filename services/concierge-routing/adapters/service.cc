#include "services/concierge-routing/adapters/service.h"

#include <algorithm>
#include <memory>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/runtime/periodic_task.h"
#include "common/server/limits.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/storage/command_log.h"
#include "common/text/text.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "services/concierge-routing/adapters/offer_hub.h"
#include "services/concierge-routing/adapters/proto_mapping.h"
#include "services/concierge-routing/adapters/routing_store.h"
#include "spdlog/spdlog.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;
namespace partner_v1 = ::prm::partner::v1;
using PartnerRegistryClient = client::ServiceClient<partner_v1::PartnerRegistry>;
using auth::Principal;
using auth::Role;
using server::CallContext;

prm::common::v1::Actor ActorOf(const Principal& p) {
  prm::common::v1::Actor a;
  switch (p.role) {
    case Role::kVendorAdmin: a.set_role(prm::common::v1::ROLE_VENDOR_ADMIN); break;
    case Role::kChannelManager: a.set_role(prm::common::v1::ROLE_CHANNEL_MANAGER); break;
    case Role::kPartnerUser: a.set_role(prm::common::v1::ROLE_PARTNER_USER); break;
    case Role::kConcierge: a.set_role(prm::common::v1::ROLE_CONCIERGE); break;
    case Role::kErpIntegration: a.set_role(prm::common::v1::ROLE_ERP_INTEGRATION); break;
    case Role::kService: a.set_role(prm::common::v1::ROLE_SERVICE); break;
  }
  a.set_subject(p.subject);
  a.set_partner_id(p.partner_id);
  a.set_worker_id(p.worker_id);
  return a;
}

absl::Status Denied() {
  return absl::PermissionDeniedError("the caller may not act on this resource");
}

// Vendor staff who manage tasks: every vendor's for `service`, the token's vendors otherwise.
bool IsStaff(const Principal& p) {
  return p.role == Role::kVendorAdmin || p.role == Role::kChannelManager ||
         p.role == Role::kService;
}
bool IsAdmin(const Principal& p) {
  return p.role == Role::kVendorAdmin || p.role == Role::kService;
}

// INVALID_ARGUMENT when `vendor_id` is empty (added to `bad`), PERMISSION_DENIED when the caller
// does not cover it. Denials come first only once the request names a vendor.
absl::Status CheckVendor(const Principal& p, const std::string& vendor_id,
                         const std::string& field, FieldViolations& bad) {
  if (vendor_id.empty()) {
    bad.Add(field, "is required");
    return absl::OkStatus();
  }
  if (!p.CoversVendor(vendor_id)) return Denied();
  return absl::OkStatus();
}

void RequireId(const std::string& value, const std::string& field, FieldViolations& bad) {
  if (value.empty()) {
    bad.Add(field, "is required");
  } else if (CharacterCount(value) > 128) {
    bad.Add(field, "at most 128 characters");
  }
}

// ---- lists -----------------------------------------------------------------------------------

struct Page {
  size_t offset = 0;
  size_t size = server::kDefaultPageSize;
};

Page ParsePage(int32_t page_size, const std::string& token, FieldViolations& bad) {
  Page page;
  page.size = server::EffectivePageSize(page_size, bad);
  if (!token.empty() && !absl::SimpleAtoi(token, &page.offset)) {
    bad.Add("page_token", "is not a token this service issued");
  }
  return page;
}

// An AIP-160 filter restricted to conjunctions of equalities: `a = "x" AND b = y`.
using Filter = std::vector<std::pair<std::string, std::string>>;

Filter ParseFilter(const std::string& text, const std::vector<std::string>& fields,
                   FieldViolations& bad) {
  Filter out;
  if (!server::CheckFilterLength(text, "filter", bad)) return out;
  if (absl::StripAsciiWhitespace(text).empty()) return out;
  for (absl::string_view term : absl::StrSplit(text, " AND ")) {
    std::vector<std::string> sides = absl::StrSplit(term, absl::MaxSplits('=', 1));
    if (sides.size() != 2) {
      bad.Add("filter", "only `field = value` terms joined by AND are supported");
      return {};
    }
    std::string name(absl::StripAsciiWhitespace(sides[0]));
    std::string value(absl::StripAsciiWhitespace(sides[1]));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
      bad.Add("filter", absl::StrCat("unsupported field '", name, "'"));
      return {};
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// An enum value matches by its full proto name or without its prefix, case-insensitively.
bool EnumMatches(const std::string& full_name, const std::string& prefix,
                 const std::string& wanted) {
  const std::string w = absl::AsciiStrToUpper(wanted);
  return w == full_name || prefix + w == full_name;
}

bool TaskMatches(const v1::Task& t, const Filter& filter) {
  for (const auto& [field, value] : filter) {
    bool ok = true;
    if (field == "state") {
      ok = EnumMatches(v1::TaskState_Name(t.state()), "TASK_STATE_", value);
    } else if (field == "channel") {
      ok = EnumMatches(v1::Channel_Name(t.channel()), "CHANNEL_", value);
    } else if (field == "category") {
      ok = EnumMatches(v1::TaskCategory_Name(t.category()), "TASK_CATEGORY_", value);
    } else if (field == "partner_id") {
      ok = t.partner_id() == value;
    } else if (field == "worker_id") {
      ok = t.worker_id() == value;
    } else if (field == "queue_id") {
      ok = t.queue_id() == value;
    } else if (field == "workflow_id") {
      ok = t.workflow_id() == value;
    } else if (field == "related_deal_id") {
      ok = t.related_deal_id() == value;
    } else if (field == "dedupe_key") {
      ok = t.dedupe_key() == value;
    } else if (field == "priority") {
      ok = absl::StrCat(t.priority()) == value;
    } else if (field == "sla.state") {
      ok = EnumMatches(v1::SlaState_Name(t.sla().state()), "SLA_STATE_", value);
    }
    if (!ok) return false;
  }
  return true;
}

bool WorkerMatches(const v1::Worker& w, const Filter& filter) {
  for (const auto& [field, value] : filter) {
    bool ok = true;
    if (field == "role") {
      ok = EnumMatches(v1::WorkerRole_Name(w.role()), "WORKER_ROLE_", value);
    } else if (field == "activity_id") {
      ok = w.activity_id() == value;
    } else if (field == "available") {
      ok = (w.available() ? "true" : "false") == absl::AsciiStrToLower(value);
    } else if (field == "business_calendar_id") {
      ok = w.business_calendar_id() == value;
    } else if (field == "languages") {
      ok = std::find(w.languages().begin(), w.languages().end(), value) != w.languages().end();
    } else if (field == "regions") {
      ok = std::find(w.regions().begin(), w.regions().end(), value) != w.regions().end();
    }
    if (!ok) return false;
  }
  return true;
}

// order_by: only creation order is kept, ascending or descending.
bool ParseOrder(const std::string& order_by, FieldViolations& bad) {
  const std::string o(absl::StripAsciiWhitespace(order_by));
  if (o.empty() || o == "create_time") return false;
  if (o == "create_time desc") return true;
  bad.Add("order_by", "only \"create_time\" or \"create_time desc\" is supported");
  return false;
}

// Fills one page from `ids` (creation order) with the items `view` yields (nullopt = skipped).
template <typename T, typename View>
std::string FillPage(const std::vector<std::string>& ids, bool descending, const Page& page,
                     View view, google::protobuf::RepeatedPtrField<T>* out) {
  size_t matched = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = descending ? ids[ids.size() - 1 - i] : ids[i];
    std::optional<T> item = view(id);
    if (!item) continue;
    if (matched++ < page.offset) continue;
    if (static_cast<size_t>(out->size()) == page.size) return absl::StrCat(page.offset + page.size);
    *out->Add() = *std::move(item);
  }
  return "";
}

// Every path of an update mask must be writable ("*" = all of them).
void CheckMask(const google::protobuf::FieldMask& mask, const std::vector<std::string>& writable,
               FieldViolations& bad) {
  if (mask.paths_size() == 0) bad.Add("update_mask", "is required");
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    if (path != "*" && std::find(writable.begin(), writable.end(), path) == writable.end()) {
      bad.Add(absl::StrCat("update_mask.paths[", i, "]"),
              absl::StrCat("'", path, "' is not a writable field"));
    }
  }
}

absl::Duration StatisticsWindow(const v1::GetQueueStatisticsRequest& r, FieldViolations& bad) {
  if (!r.has_window()) return absl::Hours(1);
  const absl::Duration d = DurationFromProto(r.window());
  if (d < absl::Minutes(1) || d > absl::Hours(24)) bad.Add("window", "must be 1 minute..24 hours");
  return d;
}

// Validates a Delete* request (vendor, id, etag length) for an admin; `id_field` names the id.
absl::Status CheckDelete(const Principal& p, const std::string& vendor_id, const std::string& id,
                         const std::string& id_field, const std::string& etag) {
  FieldViolations bad;
  RETURN_IF_ERROR(CheckVendor(p, vendor_id, "vendor_id", bad));
  if (!vendor_id.empty() && !IsAdmin(p)) return Denied();
  RequireId(id, id_field, bad);
  if (CharacterCount(etag) > 64) bad.Add("etag", "at most 64 characters");
  return bad.ToStatus();
}

// ---- the handler -----------------------------------------------------------------------------

// The gRPC API (prm.routing.v1.ConciergeRouting): every RPC of the service.
class ConciergeRoutingHandler final : public v1::ConciergeRouting::CallbackService {
 public:
  // `partner_registry` may be null (no --partner-registry-address); it must outlive this.
  ConciergeRoutingHandler(runtime::Runtime& runtime, RoutingStore& store, OfferHub& offers,
                          const PartnerRegistryClient* partner_registry)
      : runtime_(runtime), store_(store), offers_(offers), partner_registry_(partner_registry) {}

 private:
  template <typename F>
  grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* ctx, F f) {
    return server::Serve(ctx, runtime_.authenticator(), std::move(f));
  }

  // ---- workers -------------------------------------------------------------------------------

  grpc::ServerUnaryReactor* CreateWorker(grpc::CallbackServerContext* ctx,
                                         const v1::CreateWorkerRequest* request,
                                         v1::CreateWorkerResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->worker().vendor_id(), "worker.vendor_id", bad));
      if (!request->worker().vendor_id().empty() && !IsAdmin(p)) return Denied();
      ValidateWorker(request->worker(), /*require_all=*/true, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid worker"));
      return store_.Execute("CreateWorker", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* GetWorker(grpc::CallbackServerContext* ctx,
                                      const v1::GetWorkerRequest* request,
                                      v1::GetWorkerResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->worker_id(), "worker_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p) && !p.IsWorker(request->worker_id())) return Denied();
      return ReadWorker(request->vendor_id(), request->worker_id(), response->mutable_worker());
    });
  }

  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* ctx,
                                        const v1::ListWorkersRequest* request,
                                        v1::ListWorkersResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      const Filter filter =
          ParseFilter(request->filter(),
                      {"role", "activity_id", "available", "business_calendar_id", "languages",
                       "regions"},
                      bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Worker>(
            v->worker_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Worker> {
              absl::StatusOr<v1::Worker> w = WorkerResource(*v, id);
              if (!w.ok() || !WorkerMatches(*w, filter)) return std::nullopt;
              return *std::move(w);
            },
            response->mutable_workers()));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateWorker(grpc::CallbackServerContext* ctx,
                                         const v1::UpdateWorkerRequest* request,
                                         v1::UpdateWorkerResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Worker& w = request->worker();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, w.vendor_id(), "worker.vendor_id", bad));
      if (!w.vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(w.worker_id(), "worker.worker_id", bad);
      static const auto* kWritable = new std::vector<std::string>{
          "*",         "display_name", "email",      "role",
          "skills",    "languages",    "regions",    "capacities",
          "business_calendar_id", "wrap_up_duration", "attributes"};
      if (request->update_mask().paths_size() == 0) bad.Add("update_mask", "is required");
      for (int i = 0; i < request->update_mask().paths_size(); ++i) {
        const std::string& path = request->update_mask().paths(i);
        if (std::find(kWritable->begin(), kWritable->end(), path) == kWritable->end()) {
          bad.Add(absl::StrCat("update_mask.paths[", i, "]"),
                  absl::StrCat("'", path, "' is not a writable field"));
        }
      }
      ValidateWorker(w, /*require_all=*/false, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid worker update"));
      return store_.Execute("UpdateWorker", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* DeleteWorker(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteWorkerRequest* request,
                                         v1::DeleteWorkerResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(request->worker_id(), "worker_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      return store_.Execute("DeleteWorker", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* SetWorkerActivity(grpc::CallbackServerContext* ctx,
                                              const v1::SetWorkerActivityRequest* request,
                                              v1::SetWorkerActivityResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->worker_id(), "worker_id", bad);
      RequireId(request->activity_id(), "activity_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p) && !p.IsWorker(request->worker_id())) return Denied();
      RETURN_IF_ERROR(RequireWorker(request->vendor_id(), request->worker_id()));
      return store_.Execute("SetWorkerActivity", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  // ---- activities ----------------------------------------------------------------------------

  grpc::ServerUnaryReactor* CreateActivity(grpc::CallbackServerContext* ctx,
                                           const v1::CreateActivityRequest* request,
                                           v1::CreateActivityResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Activity& a = request->activity();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, a.vendor_id(), "activity.vendor_id", bad));
      if (!a.vendor_id().empty() && !IsAdmin(p)) return Denied();
      const std::string& id = a.activity_id();
      if (id.empty() || id.size() > 64 ||
          !std::all_of(id.begin(), id.end(), [](char c) {
            return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-';
          })) {
        bad.Add("activity.activity_id", "is required, 1..64 characters of [a-z0-9_-]");
      }
      if (a.display_name().empty() || CharacterCount(a.display_name()) > 64) {
        bad.Add("activity.display_name", "is required, 1..64 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus("invalid activity"));
      return store_.Execute("CreateActivity", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* UpdateActivity(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateActivityRequest* request,
                                           v1::UpdateActivityResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Activity& a = request->activity();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, a.vendor_id(), "activity.vendor_id", bad));
      if (!a.vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(a.activity_id(), "activity.activity_id", bad);
      CheckMask(request->update_mask(), {"display_name"}, bad);
      if (a.display_name().empty() || CharacterCount(a.display_name()) > 64) {
        bad.Add("activity.display_name", "is required, 1..64 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus("invalid activity update"));
      return store_.Execute("UpdateActivity", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* DeleteActivity(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteActivityRequest* request,
                                           v1::DeleteActivityResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      RETURN_IF_ERROR(CheckDelete(p, request->vendor_id(), request->activity_id(), "activity_id",
                                  request->etag()));
      return store_.Execute("DeleteActivity", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* GetActivity(grpc::CallbackServerContext* ctx,
                                        const v1::GetActivityRequest* request,
                                        v1::GetActivityResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->activity_id(), "activity_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p) && p.role != Role::kConcierge) return Denied();
      absl::Status status = absl::NotFoundError("activity not found");
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        if (auto it = v->activities.find(request->activity_id()); it != v->activities.end()) {
          *response->mutable_activity() = it->second;
          status = absl::OkStatus();
        }
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* ListActivities(grpc::CallbackServerContext* ctx,
                                           const v1::ListActivitiesRequest* request,
                                           v1::ListActivitiesResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p) && p.role != Role::kConcierge) {
        return Denied();
      }
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      ParseFilter(request->filter(), {}, bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Activity>(
            v->activity_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Activity> {
              return v->activities.at(id);
            },
            response->mutable_activities()));
      });
      return absl::OkStatus();
    });
  }

  // ---- queues and workflows ------------------------------------------------------------------

  grpc::ServerUnaryReactor* CreateQueue(grpc::CallbackServerContext* ctx,
                                        const v1::CreateQueueRequest* request,
                                        v1::CreateQueueResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->queue().vendor_id(), "queue.vendor_id", bad));
      if (!request->queue().vendor_id().empty() && !IsAdmin(p)) return Denied();
      ValidateQueue(request->queue(), bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid queue"));
      return store_.Execute("CreateQueue", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* GetQueue(grpc::CallbackServerContext* ctx,
                                     const v1::GetQueueRequest* request,
                                     v1::GetQueueResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->queue_id(), "queue_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p)) return Denied();
      absl::Status status = absl::NotFoundError(absl::StrCat("queue ", request->queue_id(), " not found"));
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        if (auto it = v->queues.find(request->queue_id()); it != v->queues.end()) {
          *response->mutable_queue() = it->second;
          status = absl::OkStatus();
        }
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* ctx,
                                       const v1::ListQueuesRequest* request,
                                       v1::ListQueuesResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      const Filter filter = ParseFilter(request->filter(), {"display_name"}, bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Queue>(
            v->queue_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Queue> {
              const v1::Queue& q = v->queues.at(id);
              for (const auto& [field, value] : filter) {
                if (q.display_name() != value) return std::nullopt;
              }
              return q;
            },
            response->mutable_queues()));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateQueue(grpc::CallbackServerContext* ctx,
                                        const v1::UpdateQueueRequest* request,
                                        v1::UpdateQueueResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Queue& q = request->queue();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, q.vendor_id(), "queue.vendor_id", bad));
      if (!q.vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(q.queue_id(), "queue.queue_id", bad);
      static const auto* kWritable =
          new std::vector<std::string>{"display_name", "target_workers", "ordering"};
      CheckMask(request->update_mask(), *kWritable, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid queue update"));
      absl::Status found = absl::NotFoundError(absl::StrCat("queue ", q.queue_id(), " not found"));
      store_.Read(q.vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        auto it = v->queues.find(q.queue_id());
        if (it == v->queues.end()) return;
        found = absl::OkStatus();
        ValidateQueue(Merged(it->second, q, request->update_mask(), *kWritable), bad);
      });
      RETURN_IF_ERROR(found);
      RETURN_IF_ERROR(bad.ToStatus("invalid queue update"));
      return store_.Execute("UpdateQueue", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* DeleteQueue(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteQueueRequest* request,
                                        v1::DeleteQueueResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      RETURN_IF_ERROR(
          CheckDelete(p, request->vendor_id(), request->queue_id(), "queue_id", request->etag()));
      return store_.Execute("DeleteQueue", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* DeleteWorkflow(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteWorkflowRequest* request,
                                           v1::DeleteWorkflowResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      RETURN_IF_ERROR(CheckDelete(p, request->vendor_id(), request->workflow_id(), "workflow_id",
                                  request->etag()));
      return store_.Execute("DeleteWorkflow", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* UpdateWorkflow(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateWorkflowRequest* request,
                                           v1::UpdateWorkflowResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Workflow& wf = request->workflow();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, wf.vendor_id(), "workflow.vendor_id", bad));
      if (!wf.vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(wf.workflow_id(), "workflow.workflow_id", bad);
      static const auto* kWritable = new std::vector<std::string>{
          "display_name", "task_filter", "rank", "steps", "reservation_timeout",
          "missed_activity_id"};
      CheckMask(request->update_mask(), *kWritable, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid workflow update"));
      absl::Status found =
          absl::NotFoundError(absl::StrCat("workflow ", wf.workflow_id(), " not found"));
      store_.Read(wf.vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        auto it = v->workflows.find(wf.workflow_id());
        if (it == v->workflows.end()) return;
        found = absl::OkStatus();
        ValidateWorkflow(
            Merged(it->second, wf, request->update_mask(), *kWritable),
            [&](const std::string& queue_id) { return v->queues.contains(queue_id); }, bad);
      });
      RETURN_IF_ERROR(found);
      RETURN_IF_ERROR(bad.ToStatus("invalid workflow update"));
      return store_.Execute("UpdateWorkflow", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* CreateWorkflow(grpc::CallbackServerContext* ctx,
                                           const v1::CreateWorkflowRequest* request,
                                           v1::CreateWorkflowResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const std::string& vendor_id = request->workflow().vendor_id();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, vendor_id, "workflow.vendor_id", bad));
      if (!vendor_id.empty() && !IsAdmin(p)) return Denied();
      store_.Read(vendor_id, [&](const VendorState* v) {
        ValidateWorkflow(
            request->workflow(),
            [&](const std::string& queue_id) {
              return queue_id == kDefaultQueueId || (v != nullptr && v->queues.contains(queue_id));
            },
            bad);
      });
      RETURN_IF_ERROR(bad.ToStatus("invalid workflow"));
      return store_.Execute("CreateWorkflow", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* GetWorkflow(grpc::CallbackServerContext* ctx,
                                        const v1::GetWorkflowRequest* request,
                                        v1::GetWorkflowResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->workflow_id(), "workflow_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p)) return Denied();
      absl::Status status =
          absl::NotFoundError(absl::StrCat("workflow ", request->workflow_id(), " not found"));
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        if (auto it = v->workflows.find(request->workflow_id()); it != v->workflows.end()) {
          *response->mutable_workflow() = it->second;
          status = absl::OkStatus();
        }
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* ListWorkflows(grpc::CallbackServerContext* ctx,
                                          const v1::ListWorkflowsRequest* request,
                                          v1::ListWorkflowsResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      ParseFilter(request->filter(), {}, bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Workflow>(
            v->workflow_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Workflow> {
              return v->workflows.at(id);
            },
            response->mutable_workflows()));
      });
      return absl::OkStatus();
    });
  }

  // ---- calendars and the SLA policy ---------------------------------------------------------

  grpc::ServerUnaryReactor* CreateBusinessCalendar(
      grpc::CallbackServerContext* ctx, const v1::CreateBusinessCalendarRequest* request,
      v1::CreateBusinessCalendarResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->calendar().vendor_id(), "calendar.vendor_id", bad));
      if (!request->calendar().vendor_id().empty() && !IsAdmin(p)) return Denied();
      ValidateCalendar(request->calendar(), bad);
      if (bad.empty()) {
        // Time zone and interval checks of the domain, named like the others.
        if (absl::Status s = CalendarFromProto(request->calendar()).status(); !s.ok()) {
          for (FieldViolation& v : FieldViolationsOf(s)) bad.Add(v.field, v.description);
          if (bad.empty()) return s;
        }
      }
      RETURN_IF_ERROR(bad.ToStatus("invalid business calendar"));
      return store_.Execute("CreateBusinessCalendar", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* GetBusinessCalendar(grpc::CallbackServerContext* ctx,
                                                const v1::GetBusinessCalendarRequest* request,
                                                v1::GetBusinessCalendarResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->business_calendar_id(), "business_calendar_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p)) return Denied();
      absl::Status status = absl::NotFoundError(
          absl::StrCat("business calendar ", request->business_calendar_id(), " not found"));
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        if (auto it = v->calendars.find(request->business_calendar_id()); it != v->calendars.end()) {
          *response->mutable_calendar() = it->second;
          status = absl::OkStatus();
        }
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* ListBusinessCalendars(
      grpc::CallbackServerContext* ctx, const v1::ListBusinessCalendarsRequest* request,
      v1::ListBusinessCalendarsResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      ParseFilter(request->filter(), {}, bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::BusinessCalendar>(
            v->calendar_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::BusinessCalendar> {
              return v->calendars.at(id);
            },
            response->mutable_calendars()));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateBusinessCalendar(
      grpc::CallbackServerContext* ctx, const v1::UpdateBusinessCalendarRequest* request,
      v1::UpdateBusinessCalendarResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::BusinessCalendar& cal = request->calendar();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, cal.vendor_id(), "calendar.vendor_id", bad));
      if (!cal.vendor_id().empty() && !IsAdmin(p)) return Denied();
      RequireId(cal.business_calendar_id(), "calendar.business_calendar_id", bad);
      CheckMask(request->update_mask(), kCalendarWritablePaths, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid business calendar update"));
      absl::Status found = absl::NotFoundError(
          absl::StrCat("business calendar ", cal.business_calendar_id(), " not found"));
      store_.Read(cal.vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        auto it = v->calendars.find(cal.business_calendar_id());
        if (it == v->calendars.end()) return;
        found = absl::OkStatus();
        // The merged calendar must be valid as a whole, named like CreateBusinessCalendar's.
        const v1::BusinessCalendar merged =
            Merged(it->second, cal, request->update_mask(), kCalendarWritablePaths);
        ValidateCalendar(merged, bad);
        if (bad.empty()) {
          for (FieldViolation& fv : FieldViolationsOf(CalendarFromProto(merged).status())) {
            bad.Add(fv.field, fv.description);
          }
        }
      });
      RETURN_IF_ERROR(found);
      RETURN_IF_ERROR(bad.ToStatus("invalid business calendar update"));
      return store_.Execute("UpdateBusinessCalendar", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* DeleteBusinessCalendar(
      grpc::CallbackServerContext* ctx, const v1::DeleteBusinessCalendarRequest* request,
      v1::DeleteBusinessCalendarResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      RETURN_IF_ERROR(CheckDelete(p, request->vendor_id(), request->business_calendar_id(),
                                  "business_calendar_id", request->etag()));
      return store_.Execute("DeleteBusinessCalendar", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* GetSlaPolicy(grpc::CallbackServerContext* ctx,
                                         const v1::GetSlaPolicyRequest* request,
                                         v1::GetSlaPolicyResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p)) return Denied();
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v != nullptr) {
          *response->mutable_policy() = v->sla_policy;
          return;
        }
        v1::SlaPolicy* defaults = response->mutable_policy();
        defaults->set_vendor_id(request->vendor_id());
        defaults->set_warning_percent(SlaPolicy().warning_percent);
        defaults->set_etag(EtagOf(0));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateSlaPolicy(grpc::CallbackServerContext* ctx,
                                            const v1::UpdateSlaPolicyRequest* request,
                                            v1::UpdateSlaPolicyResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->policy().vendor_id(), "policy.vendor_id", bad));
      if (!request->policy().vendor_id().empty() && !IsAdmin(p)) return Denied();
      static const auto* kWritable = new std::vector<std::string>{
          "targets", "warning_percent", "business_calendar_id", "category_priorities"};
      std::vector<std::string> paths;
      if (request->update_mask().paths_size() == 0) bad.Add("update_mask", "is required");
      for (int i = 0; i < request->update_mask().paths_size(); ++i) {
        const std::string& path = request->update_mask().paths(i);
        if (path == "*") {
          paths.insert(paths.end(), kWritable->begin(), kWritable->end());
        } else if (std::find(kWritable->begin(), kWritable->end(), path) != kWritable->end()) {
          paths.push_back(path);
        } else {
          bad.Add(absl::StrCat("update_mask.paths[", i, "]"),
                  absl::StrCat("'", path, "' is not a writable field"));
        }
      }
      ValidateSlaPolicy(request->policy(), paths, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid SLA policy"));
      return store_.Execute("UpdateSlaPolicy", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  // ---- tasks ---------------------------------------------------------------------------------

  grpc::ServerUnaryReactor* CreateTask(grpc::CallbackServerContext* ctx,
                                       const v1::CreateTaskRequest* request,
                                       v1::CreateTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      v1::CreateTaskRequest r = *request;
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, r.task().vendor_id(), "task.vendor_id", bad));
      if (!r.task().vendor_id().empty()) {
        if (p.role == Role::kPartnerUser) {
          // A partner user creates tasks for its own partner only.
          if (r.task().partner_id().empty()) r.mutable_task()->set_partner_id(p.partner_id);
          if (!p.IsPartner(r.task().partner_id())) return Denied();
        } else if (!IsStaff(p)) {
          return Denied();
        }
      }
      ValidateNewTask(r.task(), bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid task"));
      return store_.Execute("CreateTask", r.request_id(), r, ActorOf(p), response,
                            LookUpPartner(r.task().vendor_id(), r.task().partner_id(), call));
    });
  }

  grpc::ServerUnaryReactor* UpdateTask(grpc::CallbackServerContext* ctx,
                                       const v1::UpdateTaskRequest* request,
                                       v1::UpdateTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      const v1::Task& t = request->task();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, t.vendor_id(), "task.vendor_id", bad));
      if (!t.vendor_id().empty() && !IsStaff(p)) return Denied();
      RequireId(t.task_id(), "task.task_id", bad);
      CheckMask(request->update_mask(), kTaskWritablePaths, bad);
      std::vector<std::string> paths;
      for (const std::string& path : request->update_mask().paths()) {
        if (path == "*") {
          paths.insert(paths.end(), kTaskWritablePaths.begin(), kTaskWritablePaths.end());
        } else {
          paths.push_back(path);
        }
      }
      ValidateTaskFields(t, paths, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid task update"));
      return store_.Execute("UpdateTask", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* ctx,
                                    const v1::GetTaskRequest* request,
                                    v1::GetTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->task_id(), "task_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      absl::Status status = absl::OkStatus();
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        status = ReadTask(p, v, request->task_id(), response->mutable_task());
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* ctx,
                                      const v1::ListTasksRequest* request,
                                      v1::ListTasksResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p) && p.role != Role::kPartnerUser &&
          p.role != Role::kConcierge) {
        return Denied();
      }
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      const Filter filter =
          ParseFilter(request->filter(),
                      {"state", "channel", "category", "partner_id", "worker_id", "queue_id",
                       "workflow_id", "related_deal_id", "dedupe_key", "priority", "sla.state"},
                      bad);
      const bool desc = ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Task>(
            v->task_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Task> {
              v1::Task t;
              // Tasks the caller may not see are left out (partner users: their partner's;
              // concierges: their own).
              if (!ReadTask(p, v, id, &t).ok() || !TaskMatches(t, filter)) return std::nullopt;
              return t;
            },
            response->mutable_tasks()));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* CancelTask(grpc::CallbackServerContext* ctx,
                                       const v1::CancelTaskRequest* request,
                                       v1::CancelTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      RequireId(request->task_id(), "task_id", bad);
      if (CharacterCount(request->reason()) > 4000) bad.Add("reason", "at most 4000 characters");
      RETURN_IF_ERROR(bad.ToStatus());
      return store_.Execute("CancelTask", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* WrapUpTask(grpc::CallbackServerContext* ctx,
                                       const v1::WrapUpTaskRequest* request,
                                       v1::WrapUpTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->task_id(), "task_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      RETURN_IF_ERROR(RequireTaskHolder(p, request->vendor_id(), request->task_id()));
      return store_.Execute("WrapUpTask", request->request_id(), *request, ActorOf(p), response);
    });
  }

  grpc::ServerUnaryReactor* CompleteTask(grpc::CallbackServerContext* ctx,
                                         const v1::CompleteTaskRequest* request,
                                         v1::CompleteTaskResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->task_id(), "task_id", bad);
      if (CharacterCount(request->resolution()) > 4000) {
        bad.Add("resolution", "at most 4000 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus());
      RETURN_IF_ERROR(RequireTaskHolder(p, request->vendor_id(), request->task_id()));
      return store_.Execute("CompleteTask", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  // ---- reservations --------------------------------------------------------------------------

  grpc::ServerUnaryReactor* GetReservation(grpc::CallbackServerContext* ctx,
                                           const v1::GetReservationRequest* request,
                                           v1::GetReservationResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->reservation_id(), "reservation_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      absl::StatusOr<Reservation> r =
          ReadReservation(p, request->vendor_id(), request->reservation_id());
      if (!r.ok()) return r.status();
      *response->mutable_reservation() = ReservationToProto(*r, request->vendor_id());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListReservations(grpc::CallbackServerContext* ctx,
                                             const v1::ListReservationsRequest* request,
                                             v1::ListReservationsResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p) && p.role != Role::kConcierge) {
        return Denied();
      }
      const Page page = ParsePage(request->page_size(), request->page_token(), bad);
      const Filter filter =
          ParseFilter(request->filter(), {"worker_id", "task_id", "state", "step_id"}, bad);
      // Newest first unless asked otherwise.
      const bool desc = request->order_by().empty() || ParseOrder(request->order_by(), bad);
      RETURN_IF_ERROR(bad.ToStatus());
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        response->set_next_page_token(FillPage<v1::Reservation>(
            v->reservation_ids, desc, page,
            [&](const std::string& id) -> std::optional<v1::Reservation> {
              absl::StatusOr<Reservation> r = v->router->GetReservation(id);
              // Concierges get only their own reservations.
              if (!r.ok() || (!IsStaff(p) && !p.IsWorker(r->worker_id))) return std::nullopt;
              v1::Reservation out = ReservationToProto(*r, v->vendor_id);
              for (const auto& [field, value] : filter) {
                const bool ok =
                    field == "worker_id" ? out.worker_id() == value
                    : field == "task_id" ? out.task_id() == value
                    : field == "step_id" ? out.step_id() == value
                                         : EnumMatches(v1::ReservationState_Name(out.state()),
                                                       "RESERVATION_STATE_", value);
                if (!ok) return std::nullopt;
              }
              return out;
            },
            response->mutable_reservations()));
      });
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* AcceptReservation(grpc::CallbackServerContext* ctx,
                                              const v1::AcceptReservationRequest* request,
                                              v1::AcceptReservationResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->reservation_id(), "reservation_id", bad);
      RETURN_IF_ERROR(bad.ToStatus());
      RETURN_IF_ERROR(ReadReservation(p, request->vendor_id(), request->reservation_id()).status());
      return store_.Execute("AcceptReservation", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerUnaryReactor* RejectReservation(grpc::CallbackServerContext* ctx,
                                              const v1::RejectReservationRequest* request,
                                              v1::RejectReservationResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->reservation_id(), "reservation_id", bad);
      if (CharacterCount(request->reason()) > 1024) bad.Add("reason", "at most 1024 characters");
      if (CharacterCount(request->activity_id()) > 64) {
        bad.Add("activity_id", "at most 64 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus());
      RETURN_IF_ERROR(ReadReservation(p, request->vendor_id(), request->reservation_id()).status());
      return store_.Execute("RejectReservation", request->request_id(), *request, ActorOf(p),
                            response);
    });
  }

  grpc::ServerWriteReactor<v1::WatchOffersResponse>* WatchOffers(
      grpc::CallbackServerContext* ctx, const v1::WatchOffersRequest* request) override {
    absl::StatusOr<CallContext> call = server::AdmitCall(ctx, runtime_.authenticator());
    absl::Status status = call.status();
    if (status.ok()) {
      status = server::RunHandler(*call, [&](const CallContext& c) -> absl::Status {
        const Principal& p = c.principal();
        FieldViolations bad;
        RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
        RequireId(request->worker_id(), "worker_id", bad);
        RETURN_IF_ERROR(bad.ToStatus());
        if (!IsStaff(p) && !p.IsWorker(request->worker_id())) return Denied();
        return RequireWorker(request->vendor_id(), request->worker_id());
      });
    }
    if (!status.ok()) return new RefusedStream(ToGrpcStatus(status));
    return offers_.Watch(request->vendor_id(), request->worker_id());
  }

  // A WatchOffers call refused before it started.
  class RefusedStream final : public grpc::ServerWriteReactor<v1::WatchOffersResponse> {
   public:
    explicit RefusedStream(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };

  // ---- statistics ----------------------------------------------------------------------------

  grpc::ServerUnaryReactor* GetQueueStatistics(grpc::CallbackServerContext* ctx,
                                               const v1::GetQueueStatisticsRequest* request,
                                               v1::GetQueueStatisticsResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      if (!request->vendor_id().empty() && !IsStaff(p)) return Denied();
      RequireId(request->queue_id(), "queue_id", bad);
      const absl::Duration window = StatisticsWindow(*request, bad);
      RETURN_IF_ERROR(bad.ToStatus());
      absl::Status status = absl::NotFoundError(absl::StrCat("queue ", request->queue_id(), " not found"));
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        absl::StatusOr<QueueStatistics> s = v->router->GetQueueStatistics(request->queue_id(), window);
        status = s.status();
        if (s.ok()) {
          *response->mutable_statistics() =
              QueueStatisticsToProto(*s, request->vendor_id(), request->queue_id());
        }
      });
      return status;
    });
  }

  grpc::ServerUnaryReactor* GetWorkerStatistics(grpc::CallbackServerContext* ctx,
                                                const v1::GetWorkerStatisticsRequest* request,
                                                v1::GetWorkerStatisticsResponse* response) override {
    return Handle(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id(), "vendor_id", bad));
      RequireId(request->worker_id(), "worker_id", bad);
      absl::Duration window = absl::Hours(1);
      if (request->has_window()) {
        window = DurationFromProto(request->window());
        if (window < absl::Minutes(1) || window > absl::Hours(24)) {
          bad.Add("window", "must be 1 minute..24 hours");
        }
      }
      RETURN_IF_ERROR(bad.ToStatus());
      if (!IsStaff(p) && !p.IsWorker(request->worker_id())) return Denied();
      absl::Status status = absl::NotFoundError(absl::StrCat("worker ", request->worker_id(), " not found"));
      store_.Read(request->vendor_id(), [&](const VendorState* v) {
        if (v == nullptr) return;
        absl::StatusOr<WorkerStatistics> s =
            v->router->GetWorkerStatistics(request->worker_id(), window);
        status = s.status();
        if (s.ok()) {
          *response->mutable_statistics() =
              WorkerStatisticsToProto(*s, request->vendor_id(), request->worker_id());
        }
      });
      return status;
    });
  }

  // ---- read helpers --------------------------------------------------------------------------

  absl::Status ReadWorker(const std::string& vendor_id, const std::string& worker_id,
                          v1::Worker* out) {
    absl::Status status = absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
    store_.Read(vendor_id, [&](const VendorState* v) {
      if (v == nullptr) return;
      absl::StatusOr<v1::Worker> w = WorkerResource(*v, worker_id);
      status = w.status();
      if (w.ok()) *out = *std::move(w);
    });
    return status;
  }

  absl::Status RequireWorker(const std::string& vendor_id, const std::string& worker_id) {
    v1::Worker ignored;
    return ReadWorker(vendor_id, worker_id, &ignored);
  }

  // The task if the caller may see it. Callers outside the vendor's staff get PERMISSION_DENIED
  // for tasks that are not theirs and for tasks that do not exist alike, so that a denial never
  // tells whether a task exists.
  static absl::Status ReadTask(const Principal& p, const VendorState* v,
                               const std::string& task_id, v1::Task* out) {
    absl::StatusOr<Task> task = v == nullptr
                                    ? absl::NotFoundError(absl::StrCat("task ", task_id, " not found"))
                                    : v->router->GetTask(task_id);
    if (IsStaff(p)) {
      if (!task.ok()) return task.status();
    } else {
      bool visible = false;
      if (task.ok() && p.role == Role::kPartnerUser) visible = p.IsPartner(task->partner_id);
      if (task.ok() && p.role == Role::kConcierge) {
        visible = p.IsWorker(task->worker_id);
        for (const std::string& rid : task->reservation_ids) {
          absl::StatusOr<Reservation> r = v->router->GetReservation(rid);
          if (r.ok() && p.IsWorker(r->worker_id)) visible = true;
        }
      }
      if (!visible) return Denied();
    }
    *out = TaskToProto(*task, v->vendor_id);
    return absl::OkStatus();
  }

  // Staff, or the concierge holding the task.
  absl::Status RequireTaskHolder(const Principal& p, const std::string& vendor_id,
                                 const std::string& task_id) {
    if (IsStaff(p)) return absl::OkStatus();
    if (p.role != Role::kConcierge) return Denied();
    absl::Status status = Denied();
    store_.Read(vendor_id, [&](const VendorState* v) {
      if (v == nullptr) return;
      absl::StatusOr<Task> t = v->router->GetTask(task_id);
      // A task's worker never changes once assigned, so this check cannot go stale.
      if (t.ok() && p.IsWorker(t->worker_id)) status = absl::OkStatus();
    });
    return status;
  }

  // The reservation if the caller is staff or the concierge it was offered to (a reservation's
  // worker never changes).
  absl::StatusOr<Reservation> ReadReservation(const Principal& p, const std::string& vendor_id,
                                              const std::string& reservation_id) {
    absl::StatusOr<Reservation> r =
        absl::NotFoundError(absl::StrCat("reservation ", reservation_id, " not found"));
    store_.Read(vendor_id, [&](const VendorState* v) {
      if (v != nullptr) r = v->router->GetReservation(reservation_id);
    });
    if (IsStaff(p)) return r;
    if (p.role != Role::kConcierge || !r.ok() || !p.IsWorker(r->worker_id)) return Denied();
    return r;
  }

  // For a partner the vendor has not heard of from prm.partner.v1 yet: partner-registry's
  // answer (EncodePartnerLookup), fetched before CreateTask is logged and logged with it, so
  // replay never asks again. "" when there is nothing to ask (no client configured, no partner,
  // a known partner) or partner-registry could not answer: the task is then routed without the
  // partner's tier and concierge, as without a lookup, and the next task asks again.
  std::string LookUpPartner(const std::string& vendor_id, const std::string& partner_id,
                            const CallContext& call) {
    if (partner_registry_ == nullptr || partner_id.empty()) return "";
    bool known = false;
    store_.Read(vendor_id, [&](const VendorState* v) {
      known = v != nullptr && v->partners.contains(partner_id);
    });
    if (known) return "";
    const client::CallOptions options{.not_after = call.deadline(),
                                      .request_id = call.request_id()};
    partner_v1::GetEnrollmentRequest get;
    get.set_vendor_id(vendor_id);
    get.set_partner_id(partner_id);
    absl::StatusOr<partner_v1::GetEnrollmentResponse> enrollment =
        partner_registry_->Call(&partner_v1::PartnerRegistry::Stub::GetEnrollment, get, options);
    if (absl::IsNotFound(enrollment.status())) return EncodePartnerLookup(nullptr, {});
    if (!enrollment.ok()) {
      spdlog::warn("partner {} of vendor {}: partner-registry lookup failed: {}", partner_id,
                   vendor_id, enrollment.status().ToString());
      return "";
    }
    partner_v1::TierBenefits benefits;
    const partner_v1::Enrollment& e = enrollment->enrollment();
    if (!e.tier_id().empty() && !e.program_id().empty()) {
      partner_v1::GetProgramRequest program_request;
      program_request.set_vendor_id(vendor_id);
      program_request.set_program_id(e.program_id());
      absl::StatusOr<partner_v1::GetProgramResponse> program = partner_registry_->Call(
          &partner_v1::PartnerRegistry::Stub::GetProgram, program_request, options);
      if (!program.ok()) {
        spdlog::warn("program {} of vendor {}: partner-registry lookup failed: {}", e.program_id(),
                     vendor_id, program.status().ToString());
        return "";
      }
      for (const partner_v1::Tier& tier : program->program().tiers()) {
        if (tier.tier_id() == e.tier_id()) benefits = tier.benefits();
      }
    }
    return EncodePartnerLookup(&e, benefits);
  }

  runtime::Runtime& runtime_;
  RoutingStore& store_;
  OfferHub& offers_;
  const PartnerRegistryClient* partner_registry_;
};

// The partner-registry client, or null when no address is configured.
absl::StatusOr<std::unique_ptr<PartnerRegistryClient>> MakePartnerRegistryClient(
    runtime::Runtime& runtime, const ServiceOptions& options) {
  if (options.partner_registry.address.empty()) return nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<client::ServiceIdentity> identity,
                   runtime::MakeServiceIdentity(runtime, options.service_token_file));
  return PartnerRegistryClient::Create(options.partner_registry, std::move(identity));
}

// Logs a "Tick" command whenever a timer of some vendor is due (checked every second on the
// runtime clock), so that offer timeouts, aging, TTL and SLA escalations take effect, are logged
// and replayed, and publish their events, even while no request arrives.
void FireDueTimers(const Clock& clock, RoutingStore& store) {
  if (store.NextTimerTime() > clock.Now()) return;
  if (absl::Status s = store.Tick(); !s.ok()) {
    spdlog::error("firing due routing timers failed: {}", s.ToString());
  }
}

class ConciergeRoutingParts final : public runtime::ServiceParts {
 public:
  ConciergeRoutingParts(runtime::Runtime& runtime,
                        std::unique_ptr<PartnerRegistryClient> partner_registry)
      : partner_registry_(std::move(partner_registry)),
        log_(runtime.db(), runtime.clock()),
        offers_(runtime.clock()),
        store_(runtime, log_, offers_),
        handler_(runtime, store_, offers_, partner_registry_.get()) {}

  absl::Status Start(runtime::Runtime& runtime) {
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(int64_t commands, store_.Replay());
    spdlog::info("replayed {} routing commands in {} ms", commands,
                 absl::ToInt64Milliseconds(absl::Now() - start));
    ticker_ = std::make_unique<runtime::PeriodicTask>(
        absl::Seconds(1), [&clock = runtime.clock(), this] { FireDueTimers(clock, store_); });
    runtime.AddStreamCloser("WatchOffers streams", [this] { offers_.CloseAll(); });
    return absl::OkStatus();
  }

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, v1::ConciergeRouting::service_full_name()}};
  }

  // prm.partner.v1 (tier, assigned concierge) and prm.deal.v1 (approval tasks) change routing
  // state through the command log, in the consumer's transaction.
  absl::Status ApplyEvent(const events::CloudEvent& event,
                          const google::protobuf::Message& payload,
                          sqlite::Transaction& tx) override {
    return store_.ApplyEvent(event.type, payload, tx);
  }

 private:
  std::unique_ptr<PartnerRegistryClient> partner_registry_;  // null: no lookups
  command_log::CommandLog log_;
  OfferHub offers_;
  RoutingStore store_;
  ConciergeRoutingHandler handler_;
  std::unique_ptr<runtime::PeriodicTask> ticker_;  // last: stopped first
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime,
                                                                    const ServiceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PartnerRegistryClient> partner_registry,
                   MakePartnerRegistryClient(runtime, options));
  auto parts = std::make_unique<ConciergeRoutingParts>(runtime, std::move(partner_registry));
  RETURN_IF_ERROR(parts->Start(runtime));
  return parts;
}

}  // namespace prm::routing
