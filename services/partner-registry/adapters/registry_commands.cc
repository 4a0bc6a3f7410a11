#include "services/partner-registry/adapters/registry_commands.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/text/text.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "services/partner-registry/adapters/event_mapping.h"
#include "services/partner-registry/adapters/proto_mapping.h"
#include "services/partner-registry/domain/access.h"
#include "spdlog/spdlog.h"

namespace prm::partner {
namespace {

namespace pb = ::prm::partner::v1;
using auth::Principal;
using auth::Role;

constexpr char kNothingToLog[] = "partner-registry: tick changed nothing";

absl::Status Denied() {
  return absl::PermissionDeniedError("the caller's token does not cover this object");
}

std::string Key3(const std::string& a, const std::string& b, const std::string& c) {
  std::string key = a;
  key.push_back('\0');
  key += b;
  key.push_back('\0');
  key += c;
  return key;
}

common::v1::Actor ActorOf(const Principal& who) {
  common::v1::Actor actor;
  switch (who.role) {
    case Role::kVendorAdmin: actor.set_role(common::v1::ROLE_VENDOR_ADMIN); break;
    case Role::kChannelManager: actor.set_role(common::v1::ROLE_CHANNEL_MANAGER); break;
    case Role::kPartnerUser: actor.set_role(common::v1::ROLE_PARTNER_USER); break;
    case Role::kConcierge: actor.set_role(common::v1::ROLE_CONCIERGE); break;
    case Role::kErpIntegration: actor.set_role(common::v1::ROLE_ERP_INTEGRATION); break;
    case Role::kService: actor.set_role(common::v1::ROLE_SERVICE); break;
  }
  actor.set_subject(who.subject);
  actor.set_partner_id(who.partner_id);
  actor.set_worker_id(who.worker_id);
  return actor;
}

common::v1::Actor SystemActor() {
  common::v1::Actor actor;
  actor.set_role(common::v1::ROLE_SYSTEM);
  actor.set_subject("partner-registry");
  return actor;
}

bool IsStaff(const Principal& who) {
  return who.role == Role::kVendorAdmin || who.role == Role::kChannelManager;
}

// A partner user naming another partner is denied whether or not it exists (AIP-211).
absl::Status CheckPartnerScope(const Principal& who, std::string_view partner_id) {
  if (who.role == Role::kPartnerUser && !who.IsPartner(partner_id)) return Denied();
  return absl::OkStatus();
}

absl::Status CheckVendorScope(const Principal& who, std::string_view vendor_id) {
  if (!who.CoversVendor(vendor_id)) return Denied();
  return absl::OkStatus();
}

// Contacts without an id get "c<n>", unique within the partner.
void AssignContactIds(Partner& partner) {
  int next = 1;
  std::set<std::string> used;
  for (const Contact& c : partner.contacts) used.insert(c.contact_id);
  for (Contact& c : partner.contacts) {
    if (!c.contact_id.empty()) continue;
    std::string id;
    do {
      id = absl::StrCat("c", next++);
    } while (used.contains(id));
    used.insert(id);
    c.contact_id = id;
  }
}

const std::vector<std::string> kPartnerWritable = {
    "legal_name",    "display_name",  "tax_id",          "web_domains", "hq_country_code",
    "time_zone",     "types",         "country_codes",   "sales_regions", "verticals",
    "carried_vendors", "contacts",    "external_ids",    "attributes"};
const std::vector<std::string> kPartnerOutputOnly = {"partner_id", "version", "etag",
                                                     "create_time", "update_time"};
const std::vector<std::string> kProgramWritable = {
    "display_name", "description", "eligible_types", "tiers", "competencies",
    "downgrade_grace_period", "competency_expiry_notice"};
const std::vector<std::string> kProgramOutputOnly = {"vendor_id", "program_id", "version", "etag",
                                                     "create_time", "update_time"};
const std::vector<std::string> kEnrollmentWritable = {
    "program_id", "channel_manager_worker_id", "points", "lead_opt_out", "attributes"};

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The mask's paths ("*" expanded); INVALID_ARGUMENT on update_mask for an empty mask, output-only
// or unknown paths.
absl::StatusOr<std::vector<std::string>> MaskPaths(const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& writable,
                                                   const std::vector<std::string>& output_only) {
  if (mask.paths_size() == 0) return InvalidField("update_mask", "is required");
  std::vector<std::string> paths;
  FieldViolations bad;
  for (const std::string& p : mask.paths()) {
    if (p == "*") return writable;
    if (Contains(output_only, p)) {
      bad.Add("update_mask", absl::StrCat("'", p, "' is output only"));
    } else if (!Contains(writable, p)) {
      bad.Add("update_mask", absl::StrCat("'", p, "' is not a writable field"));
    } else if (!Contains(paths, p)) {
      paths.push_back(p);
    }
  }
  RETURN_IF_ERROR(bad.ToStatus("update_mask is invalid"));
  return paths;
}

std::vector<std::string> PartnerChangedPaths(const Partner& a, const Partner& b) {
  std::vector<std::string> out;
  auto add = [&](bool changed, const char* path) {
    if (changed) out.push_back(path);
  };
  add(a.legal_name != b.legal_name, "legal_name");
  add(a.display_name != b.display_name, "display_name");
  add(a.tax_id != b.tax_id, "tax_id");
  add(a.web_domains != b.web_domains, "web_domains");
  add(a.hq_country_code != b.hq_country_code, "hq_country_code");
  add(a.time_zone != b.time_zone, "time_zone");
  add(a.types != b.types, "types");
  add(a.country_codes != b.country_codes, "country_codes");
  add(a.sales_regions != b.sales_regions, "sales_regions");
  add(a.verticals != b.verticals, "verticals");
  add(a.carried_vendors != b.carried_vendors, "carried_vendors");
  add(a.contacts != b.contacts, "contacts");
  add(a.external_ids != b.external_ids, "external_ids");
  add(a.attributes != b.attributes, "attributes");
  return out;
}

std::vector<std::string> ProgramChangedPaths(const Program& a, const Program& b) {
  std::vector<std::string> out;
  auto add = [&](bool changed, const char* path) {
    if (changed) out.push_back(path);
  };
  add(a.display_name != b.display_name, "display_name");
  add(a.description != b.description, "description");
  add(a.eligible_types != b.eligible_types, "eligible_types");
  add(a.tiers != b.tiers, "tiers");
  add(a.competencies != b.competencies, "competencies");
  add(a.downgrade_grace_period != b.downgrade_grace_period, "downgrade_grace_period");
  add(a.competency_expiry_notice != b.competency_expiry_notice, "competency_expiry_notice");
  return out;
}

// The checks of Enrollment::SetAttributes etc., made before a composite command's first change.
absl::Status CheckEnrollmentFields(const pb::Enrollment& e, const std::vector<std::string>& paths,
                                   const std::string& prefix) {
  FieldViolations bad;
  if (Contains(paths, "channel_manager_worker_id") &&
      CharacterCount(e.channel_manager_worker_id()) > 128) {
    bad.Add(absl::StrCat(prefix, "channel_manager_worker_id"), "at most 128 characters");
  }
  if (Contains(paths, "points") && (e.points() < 0 || e.points() > 1'000'000'000)) {
    bad.Add(absl::StrCat(prefix, "points"), "must be 0..1000000000");
  }
  if (Contains(paths, "attributes")) {
    if (e.attributes_size() > 64) bad.Add(absl::StrCat(prefix, "attributes"), "at most 64 entries");
    for (const auto& [key, value] : e.attributes()) {
      const bool key_ok =
          !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                   c == '-';
          });
      if (!key_ok) {
        bad.Add(absl::StrCat(prefix, "attributes[", key.substr(0, 64), "]"),
                "key must be 1..64 characters of [a-z0-9_.-]");
      } else if (CharacterCount(value) > 1024) {
        bad.Add(absl::StrCat(prefix, "attributes[", key, "]"), "value at most 1024 characters");
      }
    }
  }
  return bad.ToStatus("enrollment is invalid");
}

// Partner warnings as the caller may see them: the other partner is named only when visible.
void AddWarnings(const std::vector<IdentityWarning>& warnings, const Principal& who,
                 const PartnerDirectory& directory,
                 google::protobuf::RepeatedPtrField<pb::PartnerWarning>* out) {
  for (const IdentityWarning& w : warnings) {
    if (out->size() >= 10) break;
    pb::PartnerWarning* o = out->Add();
    o->set_kind(pb::PARTNER_WARNING_KIND_SIMILAR_NAME);
    absl::StatusOr<Partner> other = directory.GetPartnerFor(who, w.existing_partner_id);
    if (other.ok()) {
      o->set_other_partner_id(other->partner_id);
      o->set_message(absl::StrCat("legal name similar to '", other->legal_name, "'"));
    } else {
      o->set_message("legal name similar to another partner's");
    }
  }
}

bool HasTierChanged(const Events& events) {
  return std::any_of(events.begin(), events.end(), [](const DomainEvent& e) {
    return std::holds_alternative<TierChanged>(e);
  });
}

}  // namespace

internal::v1::Caller ToCaller(const Principal& p) {
  internal::v1::Caller c;
  c.set_subject(p.subject);
  c.set_role(std::string(auth::RoleName(p.role)));
  for (const auto& v : p.vendor_ids) c.add_vendor_ids(v);
  c.set_partner_id(p.partner_id);
  c.set_worker_id(p.worker_id);
  return c;
}

Principal FromCaller(const internal::v1::Caller& c) {
  Principal p;
  p.subject = c.subject();
  p.role = auth::RoleFromName(c.role()).value_or(Role::kPartnerUser);
  p.vendor_ids = {c.vendor_ids().begin(), c.vendor_ids().end()};
  p.partner_id = c.partner_id();
  p.worker_id = c.worker_id();
  return p;
}

bool IsDealOutcomeType(std::string_view type) {
  return type == "prm.deal.DealSubmitted.v1" || type == "prm.deal.DealWon.v1" ||
         type == "prm.deal.DealLost.v1" || type == "prm.deal.DealExpired.v1" ||
         type == "prm.deal.DealRejected.v1" || type == "prm.deal.DealCancelled.v1" ||
         type == "prm.deal.DealDeleted.v1";
}

RegistryCommands::RegistryCommands(const Clock& clock, RegistryOptions options)
    : clock_(clock), options_(std::move(options)), directory_(clock) {}

bool RegistryCommands::IsNothingToLog(const absl::Status& status) {
  return absl::IsCancelled(status) && status.message() == kNothingToLog;
}

size_t RegistryCommands::pending_sale_count() const { return pending_count_; }

void RegistryCommands::ToResponse(const Enrollment& e, pb::Enrollment* out) const {
  ToProto(e, clock_.Now(), out);
}

template <typename Req, typename Resp, RegistryCommands::TypedHandler<Req, Resp> F>
absl::Status RegistryCommands::Run(const Principal& who, const internal::v1::LoggedCall& call,
                                   std::string* reply, Effects& fx) {
  Req request;
  if (!request.ParseFromString(call.request())) {
    return absl::InvalidArgumentError("the request does not parse");
  }
  Resp response;
  RETURN_IF_ERROR((this->*F)(who, request, &response, fx));
  if (!response.SerializeToString(reply)) return absl::InternalError("cannot serialize reply");
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryCommands::Apply(const command_log::Command& command,
                                                    sqlite::Transaction* tx) {
  Effects fx;
  EventContext context{options_.event_source, options_.partner_topic, "", SystemActor(), {}};
  std::string reply;
  if (command.kind == kTickCommand) {
    PruneSales(clock_.Now());
    bool changed = false;
    fx.events = directory_.Tick(&changed);
    if (!changed) return absl::CancelledError(kNothingToLog);
  } else if (command.kind == kSaleRecordedType) {
    RETURN_IF_ERROR(ApplySaleRecorded(command.payload, fx));
  } else if (IsDealOutcomeType(command.kind)) {
    RETURN_IF_ERROR(ApplyDealEvent(command.kind, command.payload, fx));
  } else {
    internal::v1::LoggedCall call;
    if (!call.ParseFromString(command.payload)) {
      return absl::InternalError(absl::StrCat("logged ", command.kind, " does not parse"));
    }
    const Principal who = FromCaller(call.caller());
    context.actor = ActorOf(who);
    context.request_id = call.request_id();
    static const auto* const kHandlers = new absl::flat_hash_map<std::string, Handler>{
        {"CreatePartner", &RegistryCommands::Run<pb::CreatePartnerRequest, pb::CreatePartnerResponse, &RegistryCommands::CreatePartner>},
        {"UpdatePartner", &RegistryCommands::Run<pb::UpdatePartnerRequest, pb::UpdatePartnerResponse, &RegistryCommands::UpdatePartner>},
        {"DeletePartner", &RegistryCommands::Run<pb::DeletePartnerRequest, pb::DeletePartnerResponse, &RegistryCommands::DeletePartner>},
        {"CreateProgram", &RegistryCommands::Run<pb::CreateProgramRequest, pb::CreateProgramResponse, &RegistryCommands::CreateProgram>},
        {"UpdateProgram", &RegistryCommands::Run<pb::UpdateProgramRequest, pb::UpdateProgramResponse, &RegistryCommands::UpdateProgram>},
        {"DeleteProgram", &RegistryCommands::Run<pb::DeleteProgramRequest, pb::DeleteProgramResponse, &RegistryCommands::DeleteProgram>},
        {"CreateEnrollment", &RegistryCommands::Run<pb::CreateEnrollmentRequest, pb::CreateEnrollmentResponse, &RegistryCommands::CreateEnrollment>},
        {"UpdateEnrollment", &RegistryCommands::Run<pb::UpdateEnrollmentRequest, pb::UpdateEnrollmentResponse, &RegistryCommands::UpdateEnrollment>},
        {"StartEnrollmentOnboarding", &RegistryCommands::Run<pb::StartEnrollmentOnboardingRequest, pb::StartEnrollmentOnboardingResponse, &RegistryCommands::StartEnrollmentOnboarding>},
        {"ActivateEnrollment", &RegistryCommands::Run<pb::ActivateEnrollmentRequest, pb::ActivateEnrollmentResponse, &RegistryCommands::ActivateEnrollment>},
        {"SuspendEnrollment", &RegistryCommands::Run<pb::SuspendEnrollmentRequest, pb::SuspendEnrollmentResponse, &RegistryCommands::SuspendEnrollment>},
        {"TerminateEnrollment", &RegistryCommands::Run<pb::TerminateEnrollmentRequest, pb::TerminateEnrollmentResponse, &RegistryCommands::TerminateEnrollment>},
        {"EvaluateEnrollmentTier", &RegistryCommands::Run<pb::EvaluateEnrollmentTierRequest, pb::EvaluateEnrollmentTierResponse, &RegistryCommands::EvaluateEnrollmentTier>},
        {"GrantCompetency", &RegistryCommands::Run<pb::GrantCompetencyRequest, pb::GrantCompetencyResponse, &RegistryCommands::GrantCompetency>},
        {"RenewCompetency", &RegistryCommands::Run<pb::RenewCompetencyRequest, pb::RenewCompetencyResponse, &RegistryCommands::RenewCompetency>},
        {"RevokeCompetency", &RegistryCommands::Run<pb::RevokeCompetencyRequest, pb::RevokeCompetencyResponse, &RegistryCommands::RevokeCompetency>},
        {"AssignConcierge", &RegistryCommands::Run<pb::AssignConciergeRequest, pb::AssignConciergeResponse, &RegistryCommands::AssignConcierge>},
    };
    auto it = kHandlers->find(command.kind);
    if (it == kHandlers->end()) {
      return absl::InternalError(absl::StrCat("unknown command kind ", command.kind));
    }
    RETURN_IF_ERROR((this->*(it->second))(who, call, &reply, fx));
  }
  if (tx != nullptr && !fx.events.empty()) {
    context.changed_paths = std::move(fx.changed_paths);
    RETURN_IF_ERROR(AppendToOutbox(*tx, fx.events, directory_, context));
  }
  return reply;
}

// ---- partners ----------------------------------------------------------------------------

absl::Status RegistryCommands::CreatePartner(const Principal& who,
                                             const pb::CreatePartnerRequest& req,
                                             pb::CreatePartnerResponse* resp, Effects& fx) {
  std::string creator;
  if (IsStaff(who)) {
    if (req.vendor_id().empty()) return InvalidField("vendor_id", "is required for vendor staff");
    RETURN_IF_ERROR(CheckVendorScope(who, req.vendor_id()));
    creator = req.vendor_id();
  } else if (who.role != Role::kService) {
    return absl::PermissionDeniedError("only vendor staff and services create partners");
  }
  if (!req.has_partner()) return InvalidField("partner", "is required");
  Partner partner = FromProto(req.partner());
  partner.partner_id.clear();
  partner.etag.clear();
  for (const ExternalId& e : partner.external_ids) {
    if (!e.vendor_id.empty()) RETURN_IF_ERROR(CheckVendorScope(who, e.vendor_id));
  }
  for (Contact& c : partner.contacts) c.contact_id.clear();
  AssignContactIds(partner);
  absl::StatusOr<PartnerResult> result = directory_.CreatePartner(partner, creator);
  if (!result.ok()) return PrefixFieldPaths(result.status(), "partner.");
  ToProto(RedactPartner(who, result->partner), resp->mutable_partner());
  AddWarnings(result->warnings, who, directory_, resp->mutable_warnings());
  fx.events = std::move(result->events);
  return absl::OkStatus();
}

absl::Status RegistryCommands::UpdatePartner(const Principal& who,
                                             const pb::UpdatePartnerRequest& req,
                                             pb::UpdatePartnerResponse* resp, Effects& fx) {
  if (!req.has_partner() || req.partner().partner_id().empty()) {
    return InvalidField("partner.partner_id", "is required");
  }
  const std::string& id = req.partner().partner_id();
  RETURN_IF_ERROR(CheckPartnerScope(who, id));
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), kPartnerWritable, kPartnerOutputOnly));
  absl::StatusOr<Partner> current = directory_.GetPartner(id);
  const std::vector<std::string> vendors = directory_.VendorsOf(id);
  if (!current.ok() || !CanReadPartner(who, id, vendors)) {
    return absl::NotFoundError("partner not found");
  }
  if (!CanWritePartner(who, id, vendors)) {
    return absl::PermissionDeniedError("the caller may read but not change this partner");
  }
  const Partner given = FromProto(req.partner());
  Partner next = *current;
  for (const std::string& p : paths) {
    if (p == "legal_name") next.legal_name = given.legal_name;
    else if (p == "display_name") next.display_name = given.display_name;
    else if (p == "tax_id") next.tax_id = given.tax_id;
    else if (p == "web_domains") next.web_domains = given.web_domains;
    else if (p == "hq_country_code") next.hq_country_code = given.hq_country_code;
    else if (p == "time_zone") next.time_zone = given.time_zone;
    else if (p == "types") next.types = given.types;
    else if (p == "country_codes") next.country_codes = given.country_codes;
    else if (p == "sales_regions") next.sales_regions = given.sales_regions;
    else if (p == "verticals") next.verticals = given.verticals;
    else if (p == "carried_vendors") next.carried_vendors = given.carried_vendors;
    else if (p == "contacts") next.contacts = given.contacts;
    else if (p == "attributes") next.attributes = given.attributes;
    else if (p == "external_ids") {
      // The caller's vendors' entries are replaced; other vendors' entries stay.
      std::vector<ExternalId> ids;
      for (const ExternalId& e : current->external_ids) {
        if (!who.CoversVendor(e.vendor_id)) ids.push_back(e);
      }
      for (const ExternalId& e : given.external_ids) {
        if (!e.vendor_id.empty()) RETURN_IF_ERROR(CheckVendorScope(who, e.vendor_id));
        ids.push_back(e);
      }
      next.external_ids = std::move(ids);
    }
  }
  AssignContactIds(next);
  next.etag = given.etag;
  absl::StatusOr<PartnerResult> result = directory_.UpdatePartner(next);
  if (!result.ok()) return PrefixFieldPaths(result.status(), "partner.");
  fx.changed_paths = PartnerChangedPaths(*current, result->partner);
  fx.events = std::move(result->events);
  ApplyPendingSales(id, "", fx);
  ToProto(RedactPartner(who, result->partner), resp->mutable_partner());
  AddWarnings(result->warnings, who, directory_, resp->mutable_warnings());
  return absl::OkStatus();
}

absl::Status RegistryCommands::DeletePartner(const Principal& who,
                                             const pb::DeletePartnerRequest& req,
                                             pb::DeletePartnerResponse*, Effects& fx) {
  if (req.partner_id().empty()) return InvalidField("partner_id", "is required");
  RETURN_IF_ERROR(CheckPartnerScope(who, req.partner_id()));
  const std::vector<std::string> vendors = directory_.VendorsOf(req.partner_id());
  if (!directory_.GetPartner(req.partner_id()).ok() ||
      !CanReadPartner(who, req.partner_id(), vendors)) {
    return absl::NotFoundError("partner not found");
  }
  if (who.role == Role::kPartnerUser || !CanWritePartner(who, req.partner_id(), vendors)) {
    return absl::PermissionDeniedError("only vendor staff and services delete partners");
  }
  ASSIGN_OR_RETURN(fx.events, directory_.DeletePartner(req.partner_id(), req.etag()));
  return absl::OkStatus();
}

// ---- programs ----------------------------------------------------------------------------

absl::Status RegistryCommands::CreateProgram(const Principal& who,
                                             const pb::CreateProgramRequest& req,
                                             pb::CreateProgramResponse* resp, Effects& fx) {
  if (!req.has_program() || req.program().vendor_id().empty()) {
    return InvalidField("program.vendor_id", "is required");
  }
  if (!CanManageVendor(who, req.program().vendor_id())) return Denied();
  ASSIGN_OR_RETURN(Program program, FromProto(req.program(), "program."));
  program.program_id.clear();
  program.etag.clear();
  absl::StatusOr<ProgramResult> result = directory_.CreateProgram(program);
  if (!result.ok()) return PrefixFieldPaths(result.status(), "program.");
  ToProto(result->program, resp->mutable_program());
  fx.events = std::move(result->events);
  return absl::OkStatus();
}

absl::Status RegistryCommands::UpdateProgram(const Principal& who,
                                             const pb::UpdateProgramRequest& req,
                                             pb::UpdateProgramResponse* resp, Effects& fx) {
  FieldViolations bad;
  if (req.program().vendor_id().empty()) bad.Add("program.vendor_id", "is required");
  if (req.program().program_id().empty()) bad.Add("program.program_id", "is required");
  RETURN_IF_ERROR(bad.ToStatus());
  if (!CanManageVendor(who, req.program().vendor_id())) return Denied();
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), kProgramWritable, kProgramOutputOnly));
  ASSIGN_OR_RETURN(Program current,
                   directory_.GetProgram(req.program().vendor_id(), req.program().program_id()));
  ASSIGN_OR_RETURN(Program given, FromProto(req.program(), "program."));
  Program next = current;
  for (const std::string& p : paths) {
    if (p == "display_name") next.display_name = given.display_name;
    else if (p == "description") next.description = given.description;
    else if (p == "eligible_types") next.eligible_types = given.eligible_types;
    else if (p == "tiers") next.tiers = given.tiers;
    else if (p == "competencies") next.competencies = given.competencies;
    else if (p == "downgrade_grace_period") next.downgrade_grace_period = given.downgrade_grace_period;
    else if (p == "competency_expiry_notice") next.competency_expiry_notice = given.competency_expiry_notice;
  }
  next.etag = given.etag;
  absl::StatusOr<ProgramResult> result = directory_.UpdateProgram(next);
  if (!result.ok()) return PrefixFieldPaths(result.status(), "program.");
  fx.changed_paths = ProgramChangedPaths(current, result->program);
  ToProto(result->program, resp->mutable_program());
  fx.events = std::move(result->events);
  return absl::OkStatus();
}

absl::Status RegistryCommands::DeleteProgram(const Principal& who,
                                             const pb::DeleteProgramRequest& req,
                                             pb::DeleteProgramResponse*, Effects& fx) {
  FieldViolations bad;
  if (req.vendor_id().empty()) bad.Add("vendor_id", "is required");
  if (req.program_id().empty()) bad.Add("program_id", "is required");
  RETURN_IF_ERROR(bad.ToStatus());
  if (!CanManageVendor(who, req.vendor_id())) return Denied();
  ASSIGN_OR_RETURN(fx.events,
                   directory_.DeleteProgram(req.vendor_id(), req.program_id(), req.etag()));
  return absl::OkStatus();
}

// ---- enrollments -------------------------------------------------------------------------

absl::StatusOr<Enrollment> RegistryCommands::ManagedEnrollment(const Principal& who,
                                                               const std::string& vendor_id,
                                                               const std::string& partner_id) {
  FieldViolations bad;
  if (vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (partner_id.empty()) bad.Add("partner_id", "is required");
  RETURN_IF_ERROR(bad.ToStatus());
  if (!CanManageVendor(who, vendor_id)) return Denied();
  return directory_.GetEnrollment(vendor_id, partner_id);
}

absl::Status RegistryCommands::CreateEnrollment(const Principal& who,
                                                const pb::CreateEnrollmentRequest& req,
                                                pb::CreateEnrollmentResponse* resp, Effects& fx) {
  const pb::Enrollment& e = req.enrollment();
  FieldViolations bad;
  if (e.vendor_id().empty()) bad.Add("enrollment.vendor_id", "is required");
  if (e.partner_id().empty()) bad.Add("enrollment.partner_id", "is required");
  if (e.program_id().empty()) bad.Add("enrollment.program_id", "is required");
  RETURN_IF_ERROR(bad.ToStatus());
  if (!CanManageVendor(who, e.vendor_id())) return Denied();
  const std::vector<std::string> optional = {"channel_manager_worker_id", "points", "attributes"};
  RETURN_IF_ERROR(CheckEnrollmentFields(e, optional, "enrollment."));
  ASSIGN_OR_RETURN(fx.events, directory_.Enroll(e.vendor_id(), e.partner_id(), e.program_id()));
  // The optional fields cannot fail now (checked above, the enrollment is new).
  auto append = [&](absl::StatusOr<Events> more) {
    if (more.ok()) {
      fx.events.insert(fx.events.end(), more->begin(), more->end());
    } else {
      spdlog::error("CreateEnrollment: optional field failed after enrolling: {}",
                    more.status().ToString());
    }
  };
  if (!e.channel_manager_worker_id().empty()) {
    append(directory_.SetChannelManager(e.vendor_id(), e.partner_id(),
                                        e.channel_manager_worker_id()));
  }
  if (e.points() != 0) append(directory_.SetPoints(e.vendor_id(), e.partner_id(), e.points()));
  if (e.lead_opt_out()) append(directory_.SetLeadOptOut(e.vendor_id(), e.partner_id(), true));
  if (e.attributes_size() > 0) {
    append(directory_.SetEnrollmentAttributes(
        e.vendor_id(), e.partner_id(), {e.attributes().begin(), e.attributes().end()}));
  }
  ApplyPendingSales(e.partner_id(), e.vendor_id(), fx);
  ASSIGN_OR_RETURN(Enrollment created, directory_.GetEnrollment(e.vendor_id(), e.partner_id()));
  ToResponse(created, resp->mutable_enrollment());
  return absl::OkStatus();
}

absl::Status RegistryCommands::UpdateEnrollment(const Principal& who,
                                                const pb::UpdateEnrollmentRequest& req,
                                                pb::UpdateEnrollmentResponse* resp, Effects& fx) {
  const pb::Enrollment& e = req.enrollment();
  FieldViolations bad;
  if (e.vendor_id().empty()) bad.Add("enrollment.vendor_id", "is required");
  if (e.partner_id().empty()) bad.Add("enrollment.partner_id", "is required");
  RETURN_IF_ERROR(bad.ToStatus());
  RETURN_IF_ERROR(CheckVendorScope(who, e.vendor_id()));
  RETURN_IF_ERROR(CheckPartnerScope(who, e.partner_id()));
  std::vector<std::string> paths;
  if (req.update_mask().paths_size() == 0) return InvalidField("update_mask", "is required");
  for (const std::string& p : req.update_mask().paths()) {
    if (p == "*") {
      paths = kEnrollmentWritable;
      break;
    }
    if (!Contains(kEnrollmentWritable, p)) {
      bad.Add("update_mask", absl::StrCat("'", p, "' is not a writable field"));
    } else if (!Contains(paths, p)) {
      paths.push_back(p);
    }
  }
  RETURN_IF_ERROR(bad.ToStatus("update_mask is invalid"));
  const bool manager = CanManageVendor(who, e.vendor_id());
  if (!manager) {
    // Partner users decide only whether they receive leads.
    if (who.role != Role::kPartnerUser ||
        std::any_of(paths.begin(), paths.end(), [](const std::string& p) { return p != "lead_opt_out"; })) {
      return Denied();
    }
  }
  ASSIGN_OR_RETURN(Enrollment current, directory_.GetEnrollment(e.vendor_id(), e.partner_id()));
  if (!e.etag().empty() && e.etag() != EnrollmentEtag(current)) {
    return absl::AbortedError("enrollment changed since it was read (stale etag)");
  }
  // Every bad field in one INVALID_ARGUMENT; the program must be one of this vendor's (another
  // vendor's program is not named as such: it is outside the caller's namespace).
  const bool move = Contains(paths, "program_id") && e.program_id() != current.program_id();
  const absl::Status fields = CheckEnrollmentFields(e, paths, "enrollment.");
  for (const FieldViolation& v : FieldViolationsOf(fields)) bad.Add(v.field, v.description);
  if (move && !directory_.GetProgram(e.vendor_id(), e.program_id()).ok()) {
    bad.Add("enrollment.program_id", absl::StrCat("is not a program of vendor ", e.vendor_id()));
  }
  RETURN_IF_ERROR(bad.ToStatus("enrollment is invalid"));
  if (current.state() == EnrollmentState::kTerminated) {
    return absl::FailedPreconditionError("enrollment is TERMINATED");
  }
  auto append = [&](absl::StatusOr<Events> more) -> absl::Status {
    RETURN_IF_ERROR(more.status());
    fx.events.insert(fx.events.end(), more->begin(), more->end());
    return absl::OkStatus();
  };
  // The move first, so that points are evaluated under the new program's requirements. It is
  // the only path that can still fail (eligibility, currency), before anything changed.
  if (move) {
    RETURN_IF_ERROR(
        append(directory_.ChangeProgram(e.vendor_id(), e.partner_id(), e.program_id())));
  }
  for (const std::string& p : paths) {
    if (p == "channel_manager_worker_id") {
      RETURN_IF_ERROR(append(directory_.SetChannelManager(e.vendor_id(), e.partner_id(),
                                                          e.channel_manager_worker_id())));
    } else if (p == "points") {
      RETURN_IF_ERROR(append(directory_.SetPoints(e.vendor_id(), e.partner_id(), e.points())));
    } else if (p == "lead_opt_out") {
      RETURN_IF_ERROR(
          append(directory_.SetLeadOptOut(e.vendor_id(), e.partner_id(), e.lead_opt_out())));
    } else if (p == "attributes") {
      RETURN_IF_ERROR(append(directory_.SetEnrollmentAttributes(
          e.vendor_id(), e.partner_id(), {e.attributes().begin(), e.attributes().end()})));
    }
  }
  ASSIGN_OR_RETURN(Enrollment updated, directory_.GetEnrollment(e.vendor_id(), e.partner_id()));
  ToResponse(updated, resp->mutable_enrollment());
  return absl::OkStatus();
}

absl::Status RegistryCommands::Transition(const Principal& who, const std::string& vendor_id,
                                          const std::string& partner_id, const std::string& etag,
                                          EnrollmentState to, const std::string& reason,
                                          bool reason_required, pb::Enrollment* out,
                                          Effects& fx) {
  FieldViolations bad;
  if (vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (partner_id.empty()) bad.Add("partner_id", "is required");
  if (reason_required && reason.empty()) bad.Add("reason", "is required, 1..1024 characters");
  if (CharacterCount(reason) > 1024) bad.Add("reason", "at most 1024 characters");
  RETURN_IF_ERROR(bad.ToStatus());
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, vendor_id, partner_id));
  if (!etag.empty() && etag != EnrollmentEtag(current)) {
    return absl::AbortedError("enrollment changed since it was read (stale etag)");
  }
  ASSIGN_OR_RETURN(fx.events, directory_.Transition(vendor_id, partner_id, to, reason));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(vendor_id, partner_id));
  ToResponse(after, out);
  return absl::OkStatus();
}

absl::Status RegistryCommands::StartEnrollmentOnboarding(
    const Principal& who, const pb::StartEnrollmentOnboardingRequest& req,
    pb::StartEnrollmentOnboardingResponse* resp, Effects& fx) {
  return Transition(who, req.vendor_id(), req.partner_id(), req.etag(),
                    EnrollmentState::kOnboarding, req.reason(), false,
                    resp->mutable_enrollment(), fx);
}

absl::Status RegistryCommands::ActivateEnrollment(const Principal& who,
                                                  const pb::ActivateEnrollmentRequest& req,
                                                  pb::ActivateEnrollmentResponse* resp,
                                                  Effects& fx) {
  return Transition(who, req.vendor_id(), req.partner_id(), req.etag(), EnrollmentState::kActive,
                    req.reason(), false, resp->mutable_enrollment(), fx);
}

absl::Status RegistryCommands::SuspendEnrollment(const Principal& who,
                                                 const pb::SuspendEnrollmentRequest& req,
                                                 pb::SuspendEnrollmentResponse* resp,
                                                 Effects& fx) {
  return Transition(who, req.vendor_id(), req.partner_id(), req.etag(),
                    EnrollmentState::kSuspended, req.reason(), true, resp->mutable_enrollment(),
                    fx);
}

absl::Status RegistryCommands::TerminateEnrollment(const Principal& who,
                                                   const pb::TerminateEnrollmentRequest& req,
                                                   pb::TerminateEnrollmentResponse* resp,
                                                   Effects& fx) {
  return Transition(who, req.vendor_id(), req.partner_id(), req.etag(),
                    EnrollmentState::kTerminated, req.reason(), true, resp->mutable_enrollment(),
                    fx);
}

absl::Status RegistryCommands::EvaluateEnrollmentTier(const Principal& who,
                                                      const pb::EvaluateEnrollmentTierRequest& req,
                                                      pb::EvaluateEnrollmentTierResponse* resp,
                                                      Effects& fx) {
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(fx.events, directory_.EvaluateTier(req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(Program program, directory_.GetProgram(req.vendor_id(), after.program_id()));
  ToResponse(after, resp->mutable_enrollment());
  ToProto(after.Evaluate(program, clock_.Now(), EvaluationTrigger::kManual),
          resp->mutable_evaluation());
  resp->set_tier_changed(HasTierChanged(fx.events));
  return absl::OkStatus();
}

// ---- competencies and concierge ----------------------------------------------------------

absl::Status RegistryCommands::GrantCompetency(const Principal& who,
                                               const pb::GrantCompetencyRequest& req,
                                               pb::GrantCompetencyResponse* resp, Effects& fx) {
  if (req.competency().competency_id().empty()) {
    return InvalidField("competency.competency_id", "is required");
  }
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(fx.events, directory_.GrantCompetency(req.vendor_id(), req.partner_id(),
                                                         FromProto(req.competency())));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(req.vendor_id(), req.partner_id()));
  ToResponse(after, resp->mutable_enrollment());
  for (const Competency& c : after.competencies()) {
    if (c.competency_id == req.competency().competency_id()) {
      ToProto(c, clock_.Now(), resp->mutable_competency());
    }
  }
  return absl::OkStatus();
}

absl::Status RegistryCommands::RenewCompetency(const Principal& who,
                                               const pb::RenewCompetencyRequest& req,
                                               pb::RenewCompetencyResponse* resp, Effects& fx) {
  if (req.competency_id().empty()) return InvalidField("competency_id", "is required");
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, req.vendor_id(), req.partner_id()));
  const Competency* held = nullptr;
  for (const Competency& c : current.competencies()) {
    if (c.competency_id == req.competency_id()) held = &c;
  }
  if (held == nullptr) {
    return absl::NotFoundError(absl::StrCat("competency ", req.competency_id(), " is not held"));
  }
  absl::Time expire = absl::InfinitePast();
  if (req.has_expire_time()) {
    expire = FromProto(req.expire_time());
  } else {
    ASSIGN_OR_RETURN(Program program, directory_.GetProgram(req.vendor_id(), current.program_id()));
    const CompetencyDefinition* def = program.FindCompetency(req.competency_id());
    expire = held->expire_time + (def != nullptr ? def->default_validity : absl::Hours(24 * 365));
  }
  std::optional<int> level;
  if (req.level() != 0) level = req.level();
  std::optional<int> people;
  if (req.has_certified_people()) people = req.certified_people();
  ASSIGN_OR_RETURN(fx.events, directory_.RenewCompetency(req.vendor_id(), req.partner_id(),
                                                         req.competency_id(), expire, level,
                                                         people));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(req.vendor_id(), req.partner_id()));
  ToResponse(after, resp->mutable_enrollment());
  for (const Competency& c : after.competencies()) {
    if (c.competency_id == req.competency_id()) ToProto(c, clock_.Now(), resp->mutable_competency());
  }
  return absl::OkStatus();
}

absl::Status RegistryCommands::RevokeCompetency(const Principal& who,
                                                const pb::RevokeCompetencyRequest& req,
                                                pb::RevokeCompetencyResponse* resp, Effects& fx) {
  FieldViolations bad;
  if (req.competency_id().empty()) bad.Add("competency_id", "is required");
  if (req.reason().empty() || CharacterCount(req.reason()) > 1024) {
    bad.Add("reason", "is required, 1..1024 characters");
  }
  RETURN_IF_ERROR(bad.ToStatus());
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(fx.events, directory_.RevokeCompetency(req.vendor_id(), req.partner_id(),
                                                          req.competency_id(), req.reason()));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(req.vendor_id(), req.partner_id()));
  ToResponse(after, resp->mutable_enrollment());
  return absl::OkStatus();
}

absl::Status RegistryCommands::AssignConcierge(const Principal& who,
                                               const pb::AssignConciergeRequest& req,
                                               pb::AssignConciergeResponse* resp, Effects& fx) {
  ASSIGN_OR_RETURN(Enrollment current, ManagedEnrollment(who, req.vendor_id(), req.partner_id()));
  ASSIGN_OR_RETURN(fx.events,
                   directory_.AssignConcierge(req.vendor_id(), req.partner_id(), req.worker_id()));
  ASSIGN_OR_RETURN(Enrollment after, directory_.GetEnrollment(req.vendor_id(), req.partner_id()));
  ToResponse(after, resp->mutable_enrollment());
  return absl::OkStatus();
}

// ---- consumed events ---------------------------------------------------------------------

absl::Status RegistryCommands::ApplySaleRecorded(const std::string& payload, Effects& fx) {
  sales::v1::SaleRecorded s;
  if (!s.ParseFromString(payload)) return absl::InvalidArgumentError("SaleRecorded does not parse");
  const absl::Time now = clock_.Now();
  FieldViolations bad;
  auto id_field = [&](const std::string& value, const char* name) {
    if (value.empty() || CharacterCount(value) > 64) bad.Add(name, "is required, 1..64 characters");
  };
  id_field(s.vendor_id(), "vendor_id");
  id_field(s.erp_system_id(), "erp_system_id");
  id_field(s.partner_external_id(), "partner_external_id");
  id_field(s.erp_document_id(), "erp_document_id");
  if (s.kind() == sales::v1::SALE_KIND_UNSPECIFIED || !sales::v1::SaleKind_IsValid(s.kind())) {
    bad.Add("kind", "is required");
  }
  if (s.kind() == sales::v1::SALE_KIND_RETURN && s.returned_kind() == sales::v1::SALE_KIND_RETURN) {
    bad.Add("returned_kind", "must not be SALE_KIND_RETURN");
  }
  if (CharacterCount(s.original_erp_document_id()) > 64) {
    bad.Add("original_erp_document_id", "at most 64 characters");
  }
  if (s.kind() == sales::v1::SALE_KIND_SELL_THROUGH && !s.has_end_customer()) {
    bad.Add("end_customer", "is required for SALE_KIND_SELL_THROUGH");
  }
  if (s.has_end_customer()) {
    if (s.end_customer().legal_name().empty()) bad.Add("end_customer.legal_name", "is required");
    if (!IsIsoCountryCode(s.end_customer().country_code())) {
      bad.Add("end_customer.country_code", "must be an ISO 3166-1 alpha-2 code");
    }
  }
  if (s.attributes_size() > 32) bad.Add("attributes", "at most 32 entries");
  for (const auto& [key, value] : s.attributes()) {
    if (CharacterCount(key) > 64 || CharacterCount(value) > 1024) {
      bad.Add(absl::StrCat("attributes[", key.substr(0, 64), "]"),
              "key at most 64 and value at most 1024 characters");
    }
  }
  if (s.lines_size() < 1 || s.lines_size() > 1000) bad.Add("lines", "must have 1..1000 lines");
  const std::string& currency = s.currency_code();
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    bad.Add("currency_code", "must be a 3-letter upper-case ISO 4217 code");
  }
  std::map<std::string, absl::int128> by_category;
  for (int i = 0; i < s.lines_size(); ++i) {
    const common::v1::ProductLine& line = s.lines(i);
    const std::string f = absl::StrCat("lines[", i, "].amount");
    absl::StatusOr<Money> amount = FromProto(line.amount(), f);
    if (!amount.ok()) {
      for (const FieldViolation& v : FieldViolationsOf(amount.status())) bad.Add(v.field, v.description);
      continue;
    }
    if (amount->nanos < 0) bad.Add(f, "must be non-negative");
    if (amount->currency_code != s.currency_code()) {
      bad.Add(absl::StrCat(f, ".currency_code"), "must equal currency_code");
    }
    if (line.quantity() < 0) bad.Add(absl::StrCat("lines[", i, "].quantity"), "must be non-negative");
    by_category[line.product_category()] += amount->nanos;
  }
  const absl::Time sale_time = FromProto(s.sale_time());
  // Nanos outside 0..999999999 make no timestamp (issue 7: such a sale used to be counted).
  if (!s.has_sale_time() || s.sale_time().nanos() < 0 || s.sale_time().nanos() > 999'999'999 ||
      sale_time < absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone()) ||
      sale_time > now + absl::Hours(24)) {
    bad.Add("sale_time", "is required, from 1990-01-01 to 1 day in the future");
  }
  RETURN_IF_ERROR(bad.ToStatus("SaleRecorded is invalid"));

  const std::string document = Key3(s.vendor_id(), s.erp_system_id(), s.erp_document_id());
  if (seen_documents_.contains(document)) return absl::OkStatus();  // a duplicate document
  if (sale_time <= now - kTrailingWindow) return absl::OkStatus();  // too old to count
  if (!directory_.FindPartnerByExternalId(
          {s.vendor_id(), s.erp_system_id(), s.partner_external_id()})) {
    // Issue 9: a sale of an unknown partner is dead-lettered with its reason. Nothing of it is
    // kept, so once the account is mapped the record can be replayed from the DLQ.
    return absl::NotFoundError(absl::StrCat(
        "partner_external_id: no partner of vendor ", s.vendor_id(), " has account ",
        s.partner_external_id(), " in ERP ", s.erp_system_id(),
        "; map it (UpdatePartner external_ids) and replay the record"));
  }

  SaleKind kind = SaleKind::kSellIn;
  if (s.kind() == sales::v1::SALE_KIND_SELL_THROUGH) kind = SaleKind::kSellThrough;
  if (s.kind() == sales::v1::SALE_KIND_RETURN) kind = SaleKind::kReturn;
  std::vector<Sale> sales;
  for (const auto& [category, nanos] : by_category) {
    sales.push_back(Sale{s.erp_document_id(), sale_time, kind, category,
                         Money{s.currency_code(), nanos}});
  }
  // Every sale of the document has the same currency and account, so the first one decides
  // for all: applied, kept for later (not enrolled at the vendor yet), or ignored (terminated).
  bool first = true;
  for (const Sale& sale : sales) {
    absl::StatusOr<Events> events =
        directory_.ApplySale(s.vendor_id(), s.erp_system_id(), s.partner_external_id(), sale);
    if (events.ok()) {
      fx.events.insert(fx.events.end(), events->begin(), events->end());
    } else if (absl::IsNotFound(events.status())) {
      pending_sales_[Key3(s.vendor_id(), s.erp_system_id(), s.partner_external_id())].push_back(
          sale);
      ++pending_count_;
    } else if (absl::IsFailedPrecondition(events.status())) {
      // The enrollment is TERMINATED: its figures are frozen.
    } else if (first) {
      return events.status();  // e.g. a currency other than the program's: never applies
    } else {
      spdlog::error("sale of document {} half applied: {}", s.erp_document_id(),
                    events.status().ToString());
    }
    first = false;
  }
  seen_documents_.emplace(document, sale_time);
  return absl::OkStatus();
}

void RegistryCommands::PruneSales(absl::Time now) {
  const absl::Time cutoff = now - kTrailingWindow;
  absl::erase_if(seen_documents_, [&](const auto& entry) { return entry.second <= cutoff; });
  for (auto it = pending_sales_.begin(); it != pending_sales_.end();) {
    std::vector<Sale>& sales = it->second;
    const size_t before = sales.size();
    sales.erase(std::remove_if(sales.begin(), sales.end(),
                               [&](const Sale& sale) { return sale.time <= cutoff; }),
                sales.end());
    pending_count_ -= before - sales.size();
    if (sales.empty()) {
      pending_sales_.erase(it++);
    } else {
      ++it;
    }
  }
}

void RegistryCommands::ApplyPendingSales(const std::string& partner_id,
                                         const std::string& vendor_id, Effects& fx) {
  if (pending_sales_.empty()) return;
  absl::StatusOr<Partner> partner = directory_.GetPartner(partner_id);
  if (!partner.ok()) return;
  for (const ExternalId& id : partner->external_ids) {
    if (!vendor_id.empty() && id.vendor_id != vendor_id) continue;
    auto it = pending_sales_.find(Key3(id.vendor_id, id.erp_system_id, id.account_id));
    if (it == pending_sales_.end()) continue;
    std::vector<Sale> keep;
    const absl::Time cutoff = clock_.Now() - kTrailingWindow;
    for (const Sale& sale : it->second) {
      if (sale.time <= cutoff) continue;  // no longer counts (whether or not pruned yet)
      absl::StatusOr<Events> events =
          directory_.ApplySale(id.vendor_id, id.erp_system_id, id.account_id, sale);
      if (events.ok()) {
        fx.events.insert(fx.events.end(), events->begin(), events->end());
      } else if (absl::IsNotFound(events.status())) {
        keep.push_back(sale);
      }
    }
    pending_count_ -= it->second.size() - keep.size();
    if (keep.empty()) {
      pending_sales_.erase(it);
    } else {
      it->second = std::move(keep);
    }
  }
}

absl::Status RegistryCommands::ApplyDealEvent(const std::string& type, const std::string& payload,
                                              Effects&) {
  const std::string name = type.substr(9, type.size() - 9 - 3);  // "prm.deal." … ".v1"
  deal::v1::Deal deal;
  std::string vendor_id, partner_id, deal_id;
  absl::Time event_time = clock_.Now();
  DealOutcome outcome;
  if (name == "DealDeleted") {
    deal::v1::DealDeleted e;
    if (!e.ParseFromString(payload)) return absl::InvalidArgumentError("DealDeleted does not parse");
    vendor_id = e.metadata().vendor_id();
    partner_id = e.partner_id();
    deal_id = e.deal_id();
    outcome.kind = DealOutcomeKind::kWithdrawn;
  } else {
    // Every other handled deal event is {metadata = 1, deal = 2, ...}.
    deal::v1::DealSubmitted e;
    if (!e.ParseFromString(payload)) return absl::InvalidArgumentError(absl::StrCat(name, " does not parse"));
    deal = e.deal();
    if (e.metadata().has_event_time()) event_time = FromProto(e.metadata().event_time());
    vendor_id = deal.vendor_id();
    partner_id = deal.partner_id();
    deal_id = deal.deal_id();
    outcome.submit_time = deal.review().has_submit_time() ? FromProto(deal.review().submit_time())
                                                          : FromProto(deal.create_time());
    outcome.close_time = deal.outcome().has_close_time() ? FromProto(deal.outcome().close_time())
                                                         : event_time;
    if (outcome.close_time < outcome.submit_time) outcome.close_time = outcome.submit_time;
    if (name == "DealSubmitted") outcome.kind = DealOutcomeKind::kSubmitted;
    else if (name == "DealWon") outcome.kind = DealOutcomeKind::kWon;
    else if (name == "DealLost") outcome.kind = DealOutcomeKind::kLost;
    else if (name == "DealExpired") outcome.kind = DealOutcomeKind::kExpired;
    else outcome.kind = DealOutcomeKind::kWithdrawn;
  }
  FieldViolations bad;
  if (vendor_id.empty()) bad.Add("deal.vendor_id", "is required");
  if (partner_id.empty()) bad.Add("deal.partner_id", "is required");
  if (deal_id.empty()) bad.Add("deal.deal_id", "is required");
  if (name != "DealDeleted") {
    // Issue 7: a deal event no deal-registration could have sent is poison, not counted.
    if (!deal::v1::DealState_IsValid(deal.state())) bad.Add("deal.state", "is not a DealState");
    const absl::Time earliest = absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone());
    const absl::Time latest = clock_.Now() + absl::Hours(24);
    auto check = [&](bool has, const google::protobuf::Timestamp& t, const char* field) {
      if (has && (FromProto(t) < earliest || FromProto(t) > latest)) {
        bad.Add(field, "must be from 1990-01-01 to 1 day in the future");
      }
    };
    check(deal.review().has_submit_time(), deal.review().submit_time(), "deal.review.submit_time");
    check(deal.outcome().has_close_time(), deal.outcome().close_time(), "deal.outcome.close_time");
    if (name == "DealWon") {
      deal::v1::DealWon won;
      if (won.ParseFromString(payload) &&
          (won.won_amount().units() < 0 || won.won_amount().nanos() < 0)) {
        bad.Add("won_amount", "must be non-negative");
      }
    }
  }
  RETURN_IF_ERROR(bad.ToStatus(absl::StrCat(name, " is invalid")));
  outcome.deal_id = deal_id;
  absl::StatusOr<Events> events = directory_.ApplyDealOutcome(vendor_id, partner_id, outcome);
  if (absl::IsNotFound(events.status()) || absl::IsFailedPrecondition(events.status())) {
    return absl::OkStatus();  // not enrolled here, or terminated: nothing to count
  }
  return events.status();
}

}  // namespace prm::partner
