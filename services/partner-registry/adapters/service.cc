#include "services/partner-registry/adapters/service.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/events/payload.h"
#include "common/runtime/periodic_task.h"
#include "common/server/call_context.h"
#include "common/server/limits.h"
#include "common/server/list_query.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/storage/command_log.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "services/partner-registry/adapters/proto_mapping.h"
#include "services/partner-registry/adapters/registry_commands.h"
#include "services/partner-registry/domain/access.h"
#include "spdlog/spdlog.h"

namespace prm::partner {
namespace {

namespace pb = ::prm::partner::v1;
using auth::Principal;
using auth::Role;
using server::FilterFieldType;
using server::FilterSchema;
using server::FilterValue;
using server::ListEntry;
using server::ListFilter;
using server::ListPage;
using server::OrderBy;
using server::Paginate;
using server::ParseListFilter;
using server::ParseOrderBy;
using server::SortableNumber;
using server::SortableTime;

// FindPartnersRequest.leads and .max_results, as partner_service.proto documents them.
constexpr size_t kMaxLeads = 100;
constexpr int kMaxResultsPerLead = 50;

absl::Status Denied() {
  return absl::PermissionDeniedError("the caller's token does not cover this object");
}

// Vendor staff name the vendor they act for (a violation on vendor_id in `bad` when they do
// not), and it must be in their token (PERMISSION_DENIED); services and partner users are scoped
// otherwise (every vendor; their own partner).
absl::Status CheckStaffVendor(const Principal& who, const std::string& vendor_id,
                              FieldViolations& bad) {
  if (who.role == Role::kService || who.role == Role::kPartnerUser) return absl::OkStatus();
  if (vendor_id.empty()) {
    bad.Add("vendor_id", "is required");
    return absl::OkStatus();
  }
  if (!who.CoversVendor(vendor_id)) return Denied();
  return absl::OkStatus();
}

// The value of `result`, or nullopt with the field violations it carries added to `bad`.
template <typename T>
std::optional<T> ValueOrViolations(absl::StatusOr<T> result, FieldViolations& bad) {
  if (result.ok()) return *std::move(result);
  for (FieldViolation& v : FieldViolationsOf(result.status())) {
    bad.Add(std::move(v.field), std::move(v.description));
  }
  return std::nullopt;
}

bool ValidRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// A stable 64-bit FNV-1a of the list parameters a page token is bound to.
std::string Fingerprint(std::initializer_list<std::string_view> parts) {
  uint64_t h = 1469598103934665603ULL;
  for (std::string_view part : parts) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xFF;
    h *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

std::string EnumName(const google::protobuf::EnumDescriptor* d, int value) {
  const google::protobuf::EnumValueDescriptor* v = d->FindValueByNumber(value);
  return v == nullptr ? "" : v->name();
}

std::vector<FilterValue> StringValues(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

class Handler final : public pb::PartnerRegistry::CallbackService {
 public:
  Handler(runtime::Runtime& rt, command_log::CommandLog& log, RegistryCommands& commands)
      : rt_(rt), log_(log), commands_(commands) {}

  const PartnerDirectory& directory() const { return commands_.directory(); }
  absl::Time Now() const { return log_.clock().Now(); }

  // ---- writes: one logged command each ----------------------------------------------------

  template <typename Req, typename Resp>
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* ctx, const char* method,
                                  const Req* request, Resp* response,
                                  const std::string& request_id) {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      return Execute(call.principal(), method, *request, request_id, response);
    });
  }

  absl::Status Execute(const Principal& who, const char* method,
                       const google::protobuf::Message& request, const std::string& request_id,
                       google::protobuf::Message* response) {
    if (!request_id.empty() && !ValidRequestId(request_id)) {
      return InvalidField("request_id", "must be 1..64 characters of [A-Za-z0-9_-]");
    }
    internal::v1::LoggedCall call;
    *call.mutable_caller() = ToCaller(who);
    call.set_request(events::SerializeDeterministically(request));
    call.set_request_id(request_id);
    command_log::Command command{
        .kind = method,
        .request_id = request_id.empty() ? "" : absl::StrCat(who.subject, "\x1f", request_id),
        .payload = events::SerializeDeterministically(call)};
    ASSIGN_OR_RETURN(std::string reply,
                     log_.Execute(std::move(command),
                                  [&](sqlite::Transaction& tx, const command_log::Command& c) {
                                    return commands_.Apply(c, &tx);
                                  }));
    if (!response->ParseFromString(reply)) return absl::InternalError("logged reply unreadable");
    rt_.relay().Notify();
    return absl::OkStatus();
  }

#define PRM_WRITE_RPC(Method)                                                              \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                       \
                                   const pb::Method##Request* request,                     \
                                   pb::Method##Response* response) override {              \
    return Write(ctx, #Method, request, response, request->request_id());                   \
  }
  PRM_WRITE_RPC(CreatePartner)
  PRM_WRITE_RPC(UpdatePartner)
  PRM_WRITE_RPC(DeletePartner)
  PRM_WRITE_RPC(CreateProgram)
  PRM_WRITE_RPC(UpdateProgram)
  PRM_WRITE_RPC(DeleteProgram)
  PRM_WRITE_RPC(CreateEnrollment)
  PRM_WRITE_RPC(UpdateEnrollment)
  PRM_WRITE_RPC(StartEnrollmentOnboarding)
  PRM_WRITE_RPC(ActivateEnrollment)
  PRM_WRITE_RPC(SuspendEnrollment)
  PRM_WRITE_RPC(TerminateEnrollment)
  PRM_WRITE_RPC(EvaluateEnrollmentTier)
  PRM_WRITE_RPC(GrantCompetency)
  PRM_WRITE_RPC(RenewCompetency)
  PRM_WRITE_RPC(RevokeCompetency)
  PRM_WRITE_RPC(AssignConcierge)
#undef PRM_WRITE_RPC

  // ---- reads: from memory -----------------------------------------------------------------

  grpc::ServerUnaryReactor* GetPartner(grpc::CallbackServerContext* ctx,
                                       const pb::GetPartnerRequest* request,
                                       pb::GetPartnerResponse* response) override {
    return server::ServeInline(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      if (request->partner_id().empty()) return InvalidField("partner_id", "is required");
      if (who.role == Role::kPartnerUser && !who.IsPartner(request->partner_id())) return Denied();
      // Straight from the directory into the response (no copy), then what `who` may not see
      // goes.
      pb::Partner* out = response->mutable_partner();
      RETURN_IF_ERROR(directory().ReadPartnerFor(who, request->partner_id(),
                                                 [&](const Partner& p) { ToProto(p, out); }));
      auto* ids = out->mutable_external_ids();
      ids->erase(std::remove_if(ids->begin(), ids->end(),
                                [&](const pb::ExternalId& e) {
                                  return !CanSeeExternalIdsOf(who, e.vendor_id());
                                }),
                 ids->end());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* LookupPartner(grpc::CallbackServerContext* ctx,
                                          const pb::LookupPartnerRequest* request,
                                          pb::LookupPartnerResponse* response) override {
    return server::ServeInline(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      FieldViolations missing_vendor;
      RETURN_IF_ERROR(CheckStaffVendor(who, request->vendor_id(), missing_vendor));
      RETURN_IF_ERROR(missing_vendor.ToStatus());
      std::optional<std::string> id;
      switch (request->key_case()) {
        case pb::LookupPartnerRequest::kExternalId: {
          const pb::ExternalId& e = request->external_id();
          FieldViolations bad;
          if (e.vendor_id().empty()) bad.Add("external_id.vendor_id", "is required");
          if (e.erp_system_id().empty()) bad.Add("external_id.erp_system_id", "is required");
          if (e.account_id().empty()) bad.Add("external_id.account_id", "is required");
          if (!request->vendor_id().empty() && e.vendor_id() != request->vendor_id()) {
            bad.Add("external_id.vendor_id", "must equal vendor_id");
          }
          RETURN_IF_ERROR(bad.ToStatus());
          if (!who.CoversVendor(e.vendor_id())) return Denied();
          id = directory().FindPartnerByExternalId({e.vendor_id(), e.erp_system_id(), e.account_id()});
          break;
        }
        case pb::LookupPartnerRequest::kTaxId:
          if (request->tax_id().empty()) return InvalidField("tax_id", "must not be empty");
          id = directory().FindPartnerByTaxId(request->tax_id());
          break;
        case pb::LookupPartnerRequest::kWebDomain:
          if (request->web_domain().empty()) return InvalidField("web_domain", "must not be empty");
          id = directory().FindPartnerByWebDomain(request->web_domain());
          break;
        case pb::LookupPartnerRequest::KEY_NOT_SET:
          return InvalidField("key", "one of external_id, tax_id and web_domain is required");
      }
      if (!id.has_value()) return absl::NotFoundError("no partner has this key");
      if (who.role == Role::kPartnerUser && !who.IsPartner(*id)) {
        return absl::NotFoundError("no partner has this key");
      }
      // The identity is shared by every vendor (so staff can enroll an existing partner); other
      // vendors' external ids are removed.
      ASSIGN_OR_RETURN(Partner partner, directory().GetPartner(*id));
      ToProto(RedactPartner(who, std::move(partner)), response->mutable_partner());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListPartners(grpc::CallbackServerContext* ctx,
                                         const pb::ListPartnersRequest* request,
                                         pb::ListPartnersResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      FieldViolations bad;
      RETURN_IF_ERROR(CheckStaffVendor(who, request->vendor_id(), bad));
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      const std::optional<OrderBy> order = ValueOrViolations(
          ParseOrderBy(request->order_by(), {"display_name", "create_time", "update_time"},
                       "create_time"),
          bad);
      static const FilterSchema kSchema = {
          {"legal_name", FilterFieldType::kString},
          {"display_name", FilterFieldType::kString},
          {"tax_id", FilterFieldType::kString},
          {"hq_country_code", FilterFieldType::kString},
          {"types", FilterFieldType::kEnum},
          {"country_codes", FilterFieldType::kString},
          {"sales_regions", FilterFieldType::kString},
          {"verticals", FilterFieldType::kString},
          {"web_domains", FilterFieldType::kString},
          {"external_ids.erp_system_id", FilterFieldType::kString},
          {"external_ids.account_id", FilterFieldType::kString},
          {"create_time", FilterFieldType::kTime},
          {"update_time", FilterFieldType::kTime}};
      const std::optional<ListFilter> filter = ParseListFilter(request->filter(), kSchema, bad);
      RETURN_IF_ERROR(bad.ToStatus("ListPartners request is invalid"));
      std::vector<Partner> partners = directory().ListPartnersFor(who);
      const std::string vendor = who.role == Role::kPartnerUser ? "" : request->vendor_id();
      std::vector<ListEntry> entries;
      for (size_t i = 0; i < partners.size(); ++i) {
        const Partner& p = partners[i];
        if (!vendor.empty()) {
          std::vector<std::string> vendors = directory().VendorsOf(p.partner_id);
          if (std::find(vendors.begin(), vendors.end(), vendor) == vendors.end()) continue;
        }
        const bool match = filter->Matches([&](absl::string_view f) -> std::vector<FilterValue> {
          if (f == "legal_name") return {p.legal_name};
          if (f == "display_name") return {p.display_name};
          if (f == "tax_id") return {p.tax_id};
          if (f == "hq_country_code") return {p.hq_country_code};
          if (f == "country_codes") return StringValues(p.country_codes);
          if (f == "sales_regions") return StringValues(p.sales_regions);
          if (f == "verticals") return StringValues(p.verticals);
          if (f == "web_domains") return StringValues(p.web_domains);
          if (f == "create_time") return {p.create_time};
          if (f == "update_time") return {p.update_time};
          std::vector<FilterValue> out;
          if (f == "types") {
            for (PartnerType t : p.types) {
              out.push_back(EnumName(common::v1::PartnerType_descriptor(), static_cast<int>(t)));
            }
          }
          for (const ExternalId& e : p.external_ids) {
            if (f == "external_ids.erp_system_id") out.push_back(e.erp_system_id);
            if (f == "external_ids.account_id") out.push_back(e.account_id);
          }
          return out;
        });
        if (!match) continue;
        std::string key = order->field == "display_name" ? p.display_name
                          : order->field == "update_time" ? SortableTime(p.update_time)
                                                          : SortableTime(p.create_time);
        entries.push_back({std::move(key), p.partner_id, i});
      }
      ASSIGN_OR_RETURN(ListPage page,
                       Paginate(std::move(entries), order->descending, page_size,
                                request->page_token(),
                                Fingerprint({"ListPartners", who.subject, vendor, request->filter(),
                                             request->order_by()}),
                                Now()));
      for (size_t i : page.indices) ToProto(partners[i], response->add_partners());
      response->set_next_page_token(page.next_page_token);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetProgram(grpc::CallbackServerContext* ctx,
                                       const pb::GetProgramRequest* request,
                                       pb::GetProgramResponse* response) override {
    return server::ServeInline(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      if (request->program_id().empty()) bad.Add("program_id", "is required");
      RETURN_IF_ERROR(bad.ToStatus());
      if (!call.principal().CoversVendor(request->vendor_id())) return Denied();
      ASSIGN_OR_RETURN(Program program,
                       directory().GetProgram(request->vendor_id(), request->program_id()));
      ToProto(program, response->mutable_program());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListPrograms(grpc::CallbackServerContext* ctx,
                                         const pb::ListProgramsRequest* request,
                                         pb::ListProgramsResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      FieldViolations bad;
      if (request->vendor_id().empty()) {
        bad.Add("vendor_id", "is required");
      } else if (!who.CoversVendor(request->vendor_id())) {
        return Denied();
      }
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      const std::optional<OrderBy> order = ValueOrViolations(
          ParseOrderBy(request->order_by(), {"display_name", "create_time"}, "create_time"), bad);
      static const FilterSchema kSchema = {{"display_name", FilterFieldType::kString},
                                           {"eligible_types", FilterFieldType::kEnum},
                                           {"create_time", FilterFieldType::kTime},
                                           {"update_time", FilterFieldType::kTime}};
      const std::optional<ListFilter> filter = ParseListFilter(request->filter(), kSchema, bad);
      RETURN_IF_ERROR(bad.ToStatus("ListPrograms request is invalid"));
      std::vector<Program> programs = directory().ListPrograms(request->vendor_id());
      std::vector<ListEntry> entries;
      for (size_t i = 0; i < programs.size(); ++i) {
        const Program& p = programs[i];
        const bool match = filter->Matches([&](absl::string_view f) -> std::vector<FilterValue> {
          if (f == "display_name") return {p.display_name};
          if (f == "create_time") return {p.create_time};
          if (f == "update_time") return {p.update_time};
          std::vector<FilterValue> out;
          for (PartnerType t : p.eligible_types) {
            out.push_back(EnumName(common::v1::PartnerType_descriptor(), static_cast<int>(t)));
          }
          return out;
        });
        if (!match) continue;
        entries.push_back({order->field == "display_name" ? p.display_name
                                                          : SortableTime(p.create_time),
                           p.program_id, i});
      }
      ASSIGN_OR_RETURN(ListPage page,
                       Paginate(std::move(entries), order->descending, page_size,
                                request->page_token(),
                                Fingerprint({"ListPrograms", who.subject, request->vendor_id(),
                                             request->filter(), request->order_by()}),
                                Now()));
      for (size_t i : page.indices) ToProto(programs[i], response->add_programs());
      response->set_next_page_token(page.next_page_token);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetEnrollment(grpc::CallbackServerContext* ctx,
                                          const pb::GetEnrollmentRequest* request,
                                          pb::GetEnrollmentResponse* response) override {
    return server::ServeInline(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      if (request->partner_id().empty()) bad.Add("partner_id", "is required");
      RETURN_IF_ERROR(bad.ToStatus());
      if (!who.CoversVendor(request->vendor_id())) return Denied();
      if (who.role == Role::kPartnerUser && !who.IsPartner(request->partner_id())) return Denied();
      const absl::Time now = Now();
      pb::Enrollment* out = response->mutable_enrollment();
      RETURN_IF_ERROR(directory().ReadEnrollmentFor(
          who, request->vendor_id(), request->partner_id(),
          [&](const Enrollment& e) { ToProto(e, now, out); }));
      if (request->has_as_of()) {
        const absl::Time as_of = FromProto(request->as_of());
        if (as_of > now) return InvalidField("as_of", "must not be in the future");
        ASSIGN_OR_RETURN(EnrollmentAsOf view, directory().GetEnrollmentAsOf(
                                                  request->vendor_id(), request->partner_id(), as_of));
        out->set_program_id(view.program_id);
        out->set_state(static_cast<pb::EnrollmentState>(view.state));
        out->set_state_reason(view.state_reason);
        ToProto(view.state_change_time, out->mutable_state_change_time());
        out->set_tier_id(view.tier_id);
        out->set_tier_rank(view.tier_rank);
        out->clear_tier_start_time();
        if (!view.tier_id.empty()) ToProto(view.tier_start_time, out->mutable_tier_start_time());
        out->clear_competencies();
        for (const Competency& c : view.competencies) ToProto(c, as_of, out->add_competencies());
        out->clear_pending_downgrade();
        out->clear_etag();
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListEnrollments(grpc::CallbackServerContext* ctx,
                                            const pb::ListEnrollmentsRequest* request,
                                            pb::ListEnrollmentsResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      const std::string& vendor = request->vendor_id();
      const std::string& partner = request->partner_id();
      if (vendor.empty() && partner.empty()) {
        return InvalidField("vendor_id", "vendor_id or partner_id is required");
      }
      if (who.role == Role::kPartnerUser) {
        if (!partner.empty() && !who.IsPartner(partner)) return Denied();
      } else if (who.role != Role::kService && vendor.empty()) {
        return InvalidField("vendor_id", "is required for vendor staff");
      }
      if (!vendor.empty() && !who.CoversVendor(vendor)) return Denied();
      FieldViolations bad;
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      const std::optional<OrderBy> order = ValueOrViolations(
          ParseOrderBy(request->order_by(), {"create_time", "update_time", "tier_rank"},
                       "create_time"),
          bad);
      static const FilterSchema kSchema = {
          {"program_id", FilterFieldType::kString},
          {"state", FilterFieldType::kEnum},
          {"tier_id", FilterFieldType::kString},
          {"tier_rank", FilterFieldType::kInt},
          {"concierge_worker_id", FilterFieldType::kString},
          {"channel_manager_worker_id", FilterFieldType::kString},
          {"lead_opt_out", FilterFieldType::kBool},
          {"competencies.competency_id", FilterFieldType::kString},
          {"update_time", FilterFieldType::kTime}};
      const std::optional<ListFilter> filter = ParseListFilter(request->filter(), kSchema, bad);
      RETURN_IF_ERROR(bad.ToStatus("ListEnrollments request is invalid"));
      std::vector<Enrollment> all;
      if (!vendor.empty()) {
        all = directory().ListEnrollments(vendor);
        if (!partner.empty() || who.role == Role::kPartnerUser) {
          const std::string& only = partner.empty() ? who.partner_id : partner;
          all.erase(std::remove_if(all.begin(), all.end(),
                                   [&](const Enrollment& e) { return e.partner_id() != only; }),
                    all.end());
        }
      } else {
        all = directory().ListEnrollmentsFor(who, partner);
      }
      std::vector<ListEntry> entries;
      for (size_t i = 0; i < all.size(); ++i) {
        const Enrollment& e = all[i];
        const bool match = filter->Matches([&](absl::string_view f) -> std::vector<FilterValue> {
          if (f == "program_id") return {e.program_id()};
          if (f == "state") {
            return {EnumName(pb::EnrollmentState_descriptor(), static_cast<int>(e.state()))};
          }
          if (f == "tier_id") return {e.tier_id()};
          if (f == "tier_rank") return {static_cast<int64_t>(e.tier_rank())};
          if (f == "concierge_worker_id") return {e.concierge_worker_id()};
          if (f == "channel_manager_worker_id") return {e.channel_manager_worker_id()};
          if (f == "lead_opt_out") return {e.lead_opt_out()};
          if (f == "update_time") return {e.update_time()};
          std::vector<FilterValue> out;
          for (const Competency& c : e.competencies()) out.push_back(c.competency_id);
          return out;
        });
        if (!match) continue;
        std::string key = order->field == "tier_rank"     ? SortableNumber(e.tier_rank())
                          : order->field == "update_time" ? SortableTime(e.update_time())
                                                          : SortableTime(e.create_time());
        entries.push_back({std::move(key), absl::StrCat(e.vendor_id(), "/", e.partner_id()), i});
      }
      ASSIGN_OR_RETURN(ListPage page,
                       Paginate(std::move(entries), order->descending, page_size,
                                request->page_token(),
                                Fingerprint({"ListEnrollments", who.subject, vendor, partner,
                                             request->filter(), request->order_by()}),
                                Now()));
      const absl::Time now = Now();
      for (size_t i : page.indices) ToProto(all[i], now, response->add_enrollments());
      response->set_next_page_token(page.next_page_token);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* FindPartners(grpc::CallbackServerContext* ctx,
                                         const pb::FindPartnersRequest* request,
                                         pb::FindPartnersResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext& call) {
      const Principal& who = call.principal();
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      if (request->leads_size() < 1) {
        bad.Add("leads", absl::StrCat("must have 1..", kMaxLeads, " leads"));
      }
      server::CheckBatchSize(request->leads_size(), kMaxLeads, "leads", bad);
      if (request->max_results() < 0 || request->max_results() > kMaxResultsPerLead) {
        bad.Add("max_results", absl::StrCat("must be 0..", kMaxResultsPerLead));
      }
      if (!pb::FindMode_IsValid(request->mode())) bad.Add("mode", "is not a find mode");
      RETURN_IF_ERROR(bad.ToStatus("FindPartners request is invalid"));
      if (!CanFindPartners(who, request->vendor_id())) return Denied();
      FindOptions options;
      options.mode = request->mode() == pb::FIND_MODE_WEIGHTED_RANDOM ? FindMode::kWeightedRandom
                                                                       : FindMode::kRanked;
      options.max_results = request->max_results() == 0 ? 10 : request->max_results();
      if (request->has_weights()) {
        const pb::ScoreWeights& w = request->weights();
        options.weights = {w.competency_fit(), w.tier(), w.win_rate(), w.velocity(), w.load()};
      }
      uint64_t seed = 0;
      if (options.mode == FindMode::kWeightedRandom) {
        seed = request->seed();
        while (seed == 0) {
          thread_local absl::BitGen gen;
          seed = absl::Uniform<uint64_t>(gen);
        }
      }
      options.seed = seed;
      std::vector<Lead> leads;
      leads.reserve(request->leads_size());
      for (const pb::Lead& l : request->leads()) leads.push_back(FromProto(l));
      ASSIGN_OR_RETURN(std::vector<LeadMatches> results,
                       directory().FindPartners(request->vendor_id(), leads, options));
      for (const LeadMatches& m : results) ToProto(m, response->add_results());
      response->set_seed(seed);
      return absl::OkStatus();
    });
  }

 private:
  runtime::Runtime& rt_;
  command_log::CommandLog& log_;
  RegistryCommands& commands_;
};

class Parts final : public PartnerRegistryParts {
 public:
  Parts(runtime::Runtime& rt, ServiceOptions options)
      : rt_(rt),
        options_(options),
        log_(rt.db(), rt.clock()),
        commands_(log_.clock(), RegistryOptions{rt.event_source(), rt.options().topics.partner}),
        handler_(rt, log_, commands_) {}

  absl::Status Start() {
    ASSIGN_OR_RETURN(command_log::CommandLog::Replayed replayed,
                     log_.Replay([&](const command_log::Command& c) -> absl::StatusOr<std::string> {
                       absl::StatusOr<std::string> reply = commands_.Apply(c, nullptr);
                       if (RegistryCommands::IsNothingToLog(reply.status())) return std::string();
                       return reply;
                     }));
    replayed_ = replayed.commands;
    spdlog::info("partner-registry: replayed {} commands ({} with a changed reply)",
                 replayed.commands, replayed.changed_replies);
    if (options_.tick_interval > absl::ZeroDuration()) {
      ticker_ = std::make_unique<runtime::PeriodicTask>(options_.tick_interval, [this] {
        if (absl::Status s = Tick(); !s.ok()) spdlog::error("tick failed: {}", s.ToString());
      });
    }
    return absl::OkStatus();
  }

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, pb::PartnerRegistry::service_full_name()}};
  }

  absl::Status ApplyEvent(const events::CloudEvent& event, const google::protobuf::Message& payload,
                          sqlite::Transaction& tx) override {
    if (event.type != kSaleRecordedType && !IsDealOutcomeType(event.type)) {
      return absl::OkStatus();  // other events of the consumed topics do not concern us
    }
    return log_
        .ExecuteIn(tx, {.kind = event.type, .payload = events::SerializeDeterministically(payload)},
                   [&](sqlite::Transaction& t, const command_log::Command& c) {
                     return commands_.Apply(c, &t);
                   })
        .status();
  }

  absl::Status Tick() override {
    bool changed = false;
    absl::Status status = rt_.db().Transact([&](sqlite::Transaction& tx) -> absl::Status {
      absl::StatusOr<std::string> reply =
          log_.ExecuteIn(tx, {.kind = std::string(kTickCommand)},
                         [&](sqlite::Transaction& t, const command_log::Command& c) {
                           return commands_.Apply(c, &t);
                         });
      RETURN_IF_ERROR(reply.status());
      changed = true;
      return absl::OkStatus();
    });
    if (RegistryCommands::IsNothingToLog(status)) return absl::OkStatus();
    if (!status.ok() && changed) {
      spdlog::critical("a tick changed the state but its commit failed ({}); restarting",
                       status.ToString());
      std::abort();
    }
    RETURN_IF_ERROR(status);
    rt_.relay().Notify();
    return absl::OkStatus();
  }

  int64_t replayed_commands() const override { return replayed_; }

 private:
  runtime::Runtime& rt_;
  ServiceOptions options_;
  command_log::CommandLog log_;
  RegistryCommands commands_;
  Handler handler_;
  int64_t replayed_ = 0;
  std::unique_ptr<runtime::PeriodicTask> ticker_;  // last: stopped first
};

}  // namespace

sqlite::Schema StoreSchema() { return command_log::Schema(); }

absl::StatusOr<std::unique_ptr<PartnerRegistryParts>> BuildPartnerRegistry(
    runtime::Runtime& runtime, ServiceOptions options) {
  auto parts = std::make_unique<Parts>(runtime, options);
  RETURN_IF_ERROR(parts->Start());
  return parts;
}

}  // namespace prm::partner
