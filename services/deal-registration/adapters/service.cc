#include "services/deal-registration/adapters/service.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/runtime/periodic_task.h"
#include "common/server/call_context.h"
#include "common/server/limits.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/text/text.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "services/deal-registration/adapters/deal_query.h"
#include "services/deal-registration/adapters/durable_deal_book.h"
#include "services/deal-registration/adapters/proto_mapping.h"
#include "spdlog/spdlog.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
using auth::Principal;
using PartnerRegistryClient = client::ServiceClient<::prm::partner::v1::PartnerRegistry>;
using server::CallContext;

// The base clock shifted by a fixed offset (ServiceOptions::clock_offset).
class OffsetClock final : public Clock {
 public:
  OffsetClock(const Clock& base, absl::Duration offset) : base_(base), offset_(offset) {}
  absl::Time Now() const override { return base_.Now() + offset_; }

 private:
  const Clock& base_;
  const absl::Duration offset_;
};

bool IsStaff(const Principal& p) {
  return p.role == auth::Role::kVendorAdmin || p.role == auth::Role::kChannelManager ||
         p.role == auth::Role::kService;
}

absl::Status Denied() {
  return absl::PermissionDeniedError("the caller may not access this deal");
}

absl::Status CheckVendor(const Principal& p, const std::string& vendor_id) {
  if (!p.CoversVendor(vendor_id)) {
    return absl::PermissionDeniedError("the caller's token does not cover this vendor");
  }
  return absl::OkStatus();
}

absl::Status RequireStaff(const Principal& p) {
  if (!IsStaff(p)) {
    return absl::PermissionDeniedError(
        "only vendor admins, channel managers and services may do this");
  }
  return absl::OkStatus();
}

// ReturnDealRequest.fields_to_fix, as deal_service.proto documents it.
constexpr size_t kMaxFieldsToFix = 50;

// Adds a violation to `bad` for each of the required vendor_id / deal_id that is missing.
void AddMissingIds(const std::string& vendor_id, const std::string& deal_id, FieldViolations& bad,
                   absl::string_view prefix = "") {
  if (vendor_id.empty()) bad.Add(absl::StrCat(prefix, "vendor_id"), "is required");
  if (deal_id.empty()) bad.Add(absl::StrCat(prefix, "deal_id"), "is required");
}

// The required vendor_id / deal_id of a request, every missing one named.
absl::Status RequireIds(const std::string& vendor_id, const std::string& deal_id,
                        absl::string_view prefix = "") {
  FieldViolations bad;
  AddMissingIds(vendor_id, deal_id, bad, prefix);
  return bad.ToStatus("bad deal reference");
}

// Domain violations name the deal's fields ("title"); the request nests them under `prefix`.
absl::Status PrefixFields(absl::Status status, absl::string_view prefix) {
  std::vector<FieldViolation> violations = FieldViolationsOf(status);
  if (violations.empty()) return status;
  FieldViolations bad;
  for (FieldViolation& v : violations) {
    bad.Add(v.field == "update_mask" ? v.field : absl::StrCat(prefix, v.field),
            std::move(v.description));
  }
  return bad.ToStatus(status.message());
}

std::string EncodeToken(const std::string& position) {
  return position.empty() ? std::string() : absl::WebSafeBase64Escape(position);
}

absl::StatusOr<std::string> DecodeToken(const std::string& token) {
  std::string position;
  if (!token.empty() && (!absl::WebSafeBase64Unescape(token, &position) || position.empty())) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  return position;
}

// Where a page of IndexPage resumes: 0 for no token, the token's index otherwise; a violation on
// page_token in `bad` for a token IndexPage did not issue.
size_t IndexPageStart(const std::string& token, FieldViolations& bad) {
  absl::StatusOr<std::string> position = DecodeToken(token);
  size_t start = 0;
  if (!position.ok() || (!position->empty() && !absl::SimpleAtoi(*position, &start))) {
    bad.Add("page_token", "is not a token this service issued");
  }
  return start;
}

// The page of at most `size` items from `start` of a list by index (audit entries, notes), with
// the token of the next page (its index; empty after the last).
template <typename T>
std::pair<std::vector<T>, std::string> IndexPage(std::vector<T> items, size_t size,
                                                 size_t start) {
  std::vector<T> page;
  for (size_t i = start; i < items.size() && page.size() < size; ++i) {
    page.push_back(std::move(items[i]));
  }
  const size_t next = start + page.size();
  return std::make_pair(std::move(page),
                        next < items.size() ? EncodeToken(absl::StrCat(next)) : std::string());
}

// The gRPC API (prm.deal.v1.DealRegistration): translate, check scope, call the durable book.
class DealRegistrationHandler final : public v1::DealRegistration::CallbackService {
 public:
  // `partner_registry` may be null (no --partner-registry-address); it must outlive this.
  DealRegistrationHandler(runtime::Runtime& runtime, DurableDealBook& book,
                          const PartnerRegistryClient* partner_registry)
      : runtime_(runtime), book_(book), partner_registry_(partner_registry) {}

  grpc::ServerUnaryReactor* CreateDeal(grpc::CallbackServerContext* ctx,
                                       const v1::CreateDealRequest* request,
                                       v1::CreateDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      v1::CreateDealRequest req = *request;
      if (p.role == auth::Role::kPartnerUser && req.deal().partner_id().empty()) {
        req.mutable_deal()->set_partner_id(p.partner_id);
      }
      FieldViolations bad;
      if (!req.has_deal()) bad.Add("deal", "is required");
      if (req.deal().vendor_id().empty()) bad.Add("deal.vendor_id", "is required");
      if (req.deal().partner_id().empty()) bad.Add("deal.partner_id", "is required");
      if (req.deal().title().empty() || CharacterCount(req.deal().title()) > 200) {
        bad.Add("deal.title", "must be 1..200 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus("bad deal"));
      RETURN_IF_ERROR(CheckVendor(p, req.deal().vendor_id()));
      if (p.role == auth::Role::kPartnerUser && !p.IsPartner(req.deal().partner_id())) {
        return absl::PermissionDeniedError("a partner user may only register its own deals");
      }
      if (!IsStaff(p) && p.role != auth::Role::kPartnerUser) {
        return absl::PermissionDeniedError("only partner users and vendor staff create deals");
      }
      return PrefixFields(Write("CreateDeal", req, req.request_id(), call, response), "deal.");
    });
  }

  grpc::ServerUnaryReactor* GetDeal(grpc::CallbackServerContext* ctx,
                                    const v1::GetDealRequest* request,
                                    v1::GetDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      ASSIGN_OR_RETURN(Deal deal,
                       Readable(call.principal(), request->vendor_id(), request->deal_id()));
      ToProto(deal, response->mutable_deal());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListDeals(grpc::CallbackServerContext* ctx,
                                      const v1::ListDealsRequest* request,
                                      v1::ListDealsResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      const Principal& p = call.principal();
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      if (!request->order_by().empty() && request->order_by() != "deal_id") {
        bad.Add("order_by", "only the default order (by deal_id) is supported");
      }
      absl::StatusOr<DealQuery> query = ParseDealFilter(
          server::CheckFilterLength(request->filter(), "filter", bad) ? request->filter() : "");
      if (!query.ok()) {
        for (FieldViolation& v : FieldViolationsOf(query.status())) {
          bad.Add(std::move(v.field), std::move(v.description));
        }
      }
      absl::StatusOr<std::string> position = DecodeToken(request->page_token());
      if (!position.ok()) bad.Add("page_token", "is not a token this service issued");
      RETURN_IF_ERROR(bad.ToStatus("bad deal list request"));
      RETURN_IF_ERROR(CheckVendor(p, request->vendor_id()));
      if (p.role == auth::Role::kPartnerUser) {
        if (query->partner_id && !p.IsPartner(*query->partner_id)) {
          return absl::PermissionDeniedError("a partner user may only list its own deals");
        }
        query->partner_id = p.partner_id;
      }
      query->vendor_id = request->vendor_id();
      query->page_size = page_size;
      query->page_token = *position;
      ASSIGN_OR_RETURN(DealPage page, book_.book().List(*query));
      for (const Deal& deal : page.deals) ToProto(deal, response->add_deals());
      response->set_next_page_token(EncodeToken(page.next_page_token));
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateDeal(grpc::CallbackServerContext* ctx,
                                       const v1::UpdateDealRequest* request,
                                       v1::UpdateDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->deal().vendor_id(), request->deal().deal_id(), "deal."));
      RETURN_IF_ERROR(
          Writable(call.principal(), request->deal().vendor_id(), request->deal().deal_id())
              .status());
      return PrefixFields(Write("UpdateDeal", *request, request->request_id(), call, response),
                          "deal.");
    });
  }

  grpc::ServerUnaryReactor* DeleteDeal(grpc::CallbackServerContext* ctx,
                                       const v1::DeleteDealRequest* request,
                                       v1::DeleteDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      RETURN_IF_ERROR(
          Writable(call.principal(), request->vendor_id(), request->deal_id()).status());
      return Write("DeleteDeal", *request, request->request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* SubmitDeal(grpc::CallbackServerContext* ctx,
                                       const v1::SubmitDealRequest* request,
                                       v1::SubmitDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      ASSIGN_OR_RETURN(Deal deal,
                       Writable(call.principal(), request->vendor_id(), request->deal_id()));
      std::string checked;
      if (partner_registry_ != nullptr) {
        ASSIGN_OR_RETURN(checked, CheckEnrollment(request->vendor_id(), deal.partner_id, call));
      }
      return Write("SubmitDeal", *request, request->request_id(), call, response,
                   std::move(checked));
    });
  }

  grpc::ServerUnaryReactor* StartReview(grpc::CallbackServerContext* ctx,
                                        const v1::StartReviewRequest* request,
                                        v1::StartReviewResponse* response) override {
    return StaffWrite(ctx, "StartReview", *request, request->vendor_id(), request->deal_id(),
                      request->request_id(), response);
  }

  grpc::ServerUnaryReactor* ReturnDeal(grpc::CallbackServerContext* ctx,
                                       const v1::ReturnDealRequest* request,
                                       v1::ReturnDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      AddMissingIds(request->vendor_id(), request->deal_id(), bad);
      server::CheckBatchSize(request->fields_to_fix_size(), kMaxFieldsToFix, "fields_to_fix", bad);
      RETURN_IF_ERROR(bad.ToStatus("bad ReturnDeal request"));
      RETURN_IF_ERROR(CheckVendor(call.principal(), request->vendor_id()));
      RETURN_IF_ERROR(RequireStaff(call.principal()));
      return Write("ReturnDeal", *request, request->request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* ApproveDeal(grpc::CallbackServerContext* ctx,
                                        const v1::ApproveDealRequest* request,
                                        v1::ApproveDealResponse* response) override {
    return StaffWrite(ctx, "ApproveDeal", *request, request->vendor_id(), request->deal_id(),
                      request->request_id(), response);
  }

  grpc::ServerUnaryReactor* RejectDeal(grpc::CallbackServerContext* ctx,
                                       const v1::RejectDealRequest* request,
                                       v1::RejectDealResponse* response) override {
    return StaffWrite(ctx, "RejectDeal", *request, request->vendor_id(), request->deal_id(),
                      request->request_id(), response);
  }

  grpc::ServerUnaryReactor* CancelDeal(grpc::CallbackServerContext* ctx,
                                       const v1::CancelDealRequest* request,
                                       v1::CancelDealResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      RETURN_IF_ERROR(
          Writable(call.principal(), request->vendor_id(), request->deal_id()).status());
      return Write("CancelDeal", *request, request->request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* MarkDealWon(grpc::CallbackServerContext* ctx,
                                        const v1::MarkDealWonRequest* request,
                                        v1::MarkDealWonResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      if (request->deal_id().empty()) bad.Add("deal_id", "is required");
      if (!request->has_won_amount()) bad.Add("won_amount", "is required");
      if (CharacterCount(request->erp_document_id()) > 64) {
        bad.Add("erp_document_id", "must be at most 64 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus("bad MarkDealWon request"));
      RETURN_IF_ERROR(Closable(call.principal(), request->vendor_id(), request->deal_id()));
      return Write("MarkDealWon", *request, request->request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* MarkDealLost(grpc::CallbackServerContext* ctx,
                                         const v1::MarkDealLostRequest* request,
                                         v1::MarkDealLostResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      RETURN_IF_ERROR(Closable(call.principal(), request->vendor_id(), request->deal_id()));
      return Write("MarkDealLost", *request, request->request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* ExtendProtection(grpc::CallbackServerContext* ctx,
                                             const v1::ExtendProtectionRequest* request,
                                             v1::ExtendProtectionResponse* response) override {
    return StaffWrite(ctx, "ExtendProtection", *request, request->vendor_id(),
                      request->deal_id(), request->request_id(), response);
  }

  grpc::ServerUnaryReactor* ListDealAuditEntries(
      grpc::CallbackServerContext* ctx, const v1::ListDealAuditEntriesRequest* request,
      v1::ListDealAuditEntriesResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      AddMissingIds(request->vendor_id(), request->deal_id(), bad);
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      if (server::CheckFilterLength(request->filter(), "filter", bad) &&
          !request->filter().empty()) {
        bad.Add("filter", "filtering audit entries is not supported yet");
      }
      const size_t start = IndexPageStart(request->page_token(), bad);
      RETURN_IF_ERROR(bad.ToStatus("bad audit entry list request"));
      RETURN_IF_ERROR(
          Readable(call.principal(), request->vendor_id(), request->deal_id()).status());
      auto page = IndexPage(book_.AuditEntries(request->vendor_id(), request->deal_id()),
                            page_size, start);
      for (v1::DealAuditEntry& entry : page.first) *response->add_entries() = std::move(entry);
      response->set_next_page_token(page.second);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetDealConflicts(grpc::CallbackServerContext* ctx,
                                             const v1::GetDealConflictsRequest* request,
                                             v1::GetDealConflictsResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(request->vendor_id(), request->deal_id()));
      const Principal& p = call.principal();
      ASSIGN_OR_RETURN(Deal deal, Readable(p, request->vendor_id(), request->deal_id()));
      response->set_deal_id(deal.deal_id);
      response->set_has_conflict(deal.has_conflict);
      if (p.role == auth::Role::kPartnerUser) return absl::OkStatus();  // the flag only
      ASSIGN_OR_RETURN(std::vector<ConflictMatch> matches,
                       book_.book().CurrentConflicts(request->vendor_id(), request->deal_id()));
      const absl::Time now = book_.clock().Now();
      // Newest first, at most 100.
      for (auto it = matches.rbegin(); it != matches.rend() && response->conflicts_size() < 100;
           ++it) {
        *response->add_conflicts() = ToConflictProto(deal, *it, now);
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* CreateDealNote(grpc::CallbackServerContext* ctx,
                                           const v1::CreateDealNoteRequest* request,
                                           v1::CreateDealNoteResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      const v1::DealNote& note = request->note();
      FieldViolations bad;
      if (note.vendor_id().empty()) bad.Add("note.vendor_id", "is required");
      if (note.deal_id().empty()) bad.Add("note.deal_id", "is required");
      if (note.visibility() == v1::NOTE_VISIBILITY_UNSPECIFIED) {
        bad.Add("note.visibility", "is required");
      }
      if (note.text().empty() || CharacterCount(note.text()) > 4000) {
        bad.Add("note.text", "must be 1..4000 characters");
      }
      RETURN_IF_ERROR(bad.ToStatus("bad note"));
      const Principal& p = call.principal();
      RETURN_IF_ERROR(Readable(p, note.vendor_id(), note.deal_id()).status());
      if (p.role == auth::Role::kPartnerUser &&
          note.visibility() != v1::NOTE_VISIBILITY_PARTNER) {
        return absl::PermissionDeniedError("partner users cannot write internal notes");
      }
      v1::CreateDealNoteRequest req = *request;
      req.mutable_note()->clear_note_id();
      req.mutable_note()->clear_author();
      req.mutable_note()->clear_create_time();
      return Write("CreateDealNote", req, req.request_id(), call, response);
    });
  }

  grpc::ServerUnaryReactor* ListDealNotes(grpc::CallbackServerContext* ctx,
                                          const v1::ListDealNotesRequest* request,
                                          v1::ListDealNotesResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      AddMissingIds(request->vendor_id(), request->deal_id(), bad);
      const int32_t page_size = server::EffectivePageSize(request->page_size(), bad);
      if (server::CheckFilterLength(request->filter(), "filter", bad) &&
          !request->filter().empty()) {
        bad.Add("filter", "filtering notes is not supported yet");
      }
      const size_t start = IndexPageStart(request->page_token(), bad);
      RETURN_IF_ERROR(bad.ToStatus("bad note list request"));
      const Principal& p = call.principal();
      RETURN_IF_ERROR(Readable(p, request->vendor_id(), request->deal_id()).status());
      std::vector<v1::DealNote> visible;
      for (v1::DealNote& note : book_.Notes(request->vendor_id(), request->deal_id())) {
        if (p.role == auth::Role::kPartnerUser &&
            note.visibility() != v1::NOTE_VISIBILITY_PARTNER) {
          continue;
        }
        visible.push_back(std::move(note));
      }
      auto page = IndexPage(std::move(visible), page_size, start);
      for (v1::DealNote& note : page.first) *response->add_notes() = std::move(note);
      response->set_next_page_token(page.second);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetDealPolicy(grpc::CallbackServerContext* ctx,
                                          const v1::GetDealPolicyRequest* request,
                                          v1::GetDealPolicyResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
      if (request->program_id().empty()) bad.Add("program_id", "is required");
      RETURN_IF_ERROR(bad.ToStatus("bad policy reference"));
      RETURN_IF_ERROR(CheckVendor(call.principal(), request->vendor_id()));
      PolicyView view = book_.Policy(request->vendor_id(), request->program_id());
      *response->mutable_policy() = ToProto(view.policy);
      response->mutable_policy()->set_version(view.version);
      response->mutable_policy()->set_etag(Etag(view.version));
      if (view.update_time) {
        *response->mutable_policy()->mutable_update_time() = ToTimestamp(*view.update_time);
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateDealPolicy(grpc::CallbackServerContext* ctx,
                                             const v1::UpdateDealPolicyRequest* request,
                                             v1::UpdateDealPolicyResponse* response) override {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      FieldViolations bad;
      if (request->policy().vendor_id().empty()) bad.Add("policy.vendor_id", "is required");
      if (request->policy().program_id().empty()) bad.Add("policy.program_id", "is required");
      RETURN_IF_ERROR(bad.ToStatus("bad policy"));
      const Principal& p = call.principal();
      RETURN_IF_ERROR(CheckVendor(p, request->policy().vendor_id()));
      if (p.role != auth::Role::kVendorAdmin && p.role != auth::Role::kService) {
        return absl::PermissionDeniedError("only vendor admins may change deal policies");
      }
      return Write("UpdateDealPolicy", *request, request->request_id(), call, response);
    });
  }

 private:
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, server::Handler handler) {
    return server::Serve(ctx, runtime_.authenticator(), std::move(handler));
  }

  // A logged write; the outbox relay is woken once it has committed.
  absl::Status Write(std::string_view kind, const google::protobuf::Message& request,
                     const std::string& request_id, const CallContext& call,
                     google::protobuf::Message* response, std::string inputs = "") {
    RETURN_IF_ERROR(book_.Execute(kind, request, request_id, ActorOf(call.principal()), response,
                                  std::move(inputs)));
    runtime_.relay().Notify();
    return absl::OkStatus();
  }

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* StaffWrite(grpc::CallbackServerContext* ctx, std::string_view kind,
                                       const Request& request, const std::string& vendor_id,
                                       const std::string& deal_id, const std::string& request_id,
                                       Response* response) {
    return Serve(ctx, [=, this](const CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(RequireIds(vendor_id, deal_id));
      RETURN_IF_ERROR(CheckVendor(call.principal(), vendor_id));
      RETURN_IF_ERROR(RequireStaff(call.principal()));
      return Write(kind, request, request_id, call, response);
    });
  }

  // The deal, if the caller may read it: staff and other vendor roles read every deal of their
  // vendors; a partner user only its own partner's (PERMISSION_DENIED otherwise, also when the
  // deal does not exist).
  absl::StatusOr<Deal> Readable(const Principal& p, const std::string& vendor_id,
                                const std::string& deal_id) {
    RETURN_IF_ERROR(CheckVendor(p, vendor_id));
    absl::StatusOr<Deal> deal = book_.book().Get(vendor_id, deal_id);
    if (p.role == auth::Role::kPartnerUser && (!deal.ok() || !p.IsPartner(deal->partner_id))) {
      return Denied();
    }
    return deal;
  }

  // Readable, and the caller is a partner user of the deal's partner or vendor staff.
  absl::StatusOr<Deal> Writable(const Principal& p, const std::string& vendor_id,
                                const std::string& deal_id) {
    ASSIGN_OR_RETURN(Deal deal, Readable(p, vendor_id, deal_id));
    if (p.role != auth::Role::kPartnerUser && !IsStaff(p)) return Denied();
    return deal;
  }

  // Won/lost may also be set by the vendor's ERP integration.
  absl::Status Closable(const Principal& p, const std::string& vendor_id,
                        const std::string& deal_id) {
    if (p.role == auth::Role::kErpIntegration) {
      return Readable(p, vendor_id, deal_id).status();
    }
    return Writable(p, vendor_id, deal_id).status();
  }

  // partner-registry's current answer on the partner's enrollment with the vendor, as the
  // SubmitDeal command's inputs (EncodeEnrollmentCheck). No enrollment → FAILED_PRECONDITION;
  // partner-registry down or slow → UNAVAILABLE within --partner-registry-deadline.
  absl::StatusOr<std::string> CheckEnrollment(const std::string& vendor_id,
                                              const std::string& partner_id,
                                              const CallContext& call) {
    ::prm::partner::v1::GetEnrollmentRequest get;
    get.set_vendor_id(vendor_id);
    get.set_partner_id(partner_id);
    absl::StatusOr<::prm::partner::v1::GetEnrollmentResponse> got =
        partner_registry_->Call(&::prm::partner::v1::PartnerRegistry::Stub::GetEnrollment, get,
                                {.not_after = call.deadline(), .request_id = call.request_id()});
    if (absl::IsNotFound(got.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "partner ", partner_id, " has no enrollment at vendor ", vendor_id));
    }
    if (!got.ok()) return got.status();
    return EncodeEnrollmentCheck(got->enrollment());
  }

  runtime::Runtime& runtime_;
  DurableDealBook& book_;
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

class DealRegistrationParts final : public runtime::ServiceParts {
 public:
  DealRegistrationParts(runtime::Runtime& runtime, const ServiceOptions& options,
                        std::unique_ptr<PartnerRegistryClient> partner_registry)
      : runtime_(runtime),
        partner_registry_(std::move(partner_registry)),
        clock_(runtime.clock(), options.clock_offset),
        book_(runtime.db(), clock_,
              {.deal_topic = runtime.options().topics.deal,
               .event_source = runtime.event_source()}),
        handler_(runtime, book_, partner_registry_.get()),
        timer_interval_(options.timer_interval) {}

  absl::Status Start() {
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(command_log::CommandLog::Replayed replayed, book_.Replay());
    spdlog::info("deal-registration replayed {} commands in {} ms ({} changed replies)",
                 replayed.commands, absl::ToInt64Milliseconds(absl::Now() - start),
                 replayed.changed_replies);
    timers_ = std::make_unique<runtime::PeriodicTask>(timer_interval_, [this] { RunTimers(); });
    return absl::OkStatus();
  }

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, v1::DealRegistration::service_full_name()}};
  }

  absl::Status ApplyEvent(const events::CloudEvent& event,
                          const google::protobuf::Message& payload,
                          sqlite::Transaction& tx) override {
    return book_.ApplyEvent(event, payload, tx);
  }

 private:
  // Time-based transitions become logged Tick commands, only when one is due.
  void RunTimers() {
    absl::StatusOr<int> fired = book_.Tick();
    if (!fired.ok()) {
      spdlog::warn("deal timers failed: {}", fired.status().ToString());
    } else if (*fired > 0) {
      runtime_.relay().Notify();
    }
  }

  runtime::Runtime& runtime_;
  std::unique_ptr<PartnerRegistryClient> partner_registry_;
  OffsetClock clock_;
  DurableDealBook book_;
  DealRegistrationHandler handler_;
  absl::Duration timer_interval_;
  std::unique_ptr<runtime::PeriodicTask> timers_;  // last: stopped first
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(
    runtime::Runtime& runtime, const ServiceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PartnerRegistryClient> partner_registry,
                   MakePartnerRegistryClient(runtime, options));
  auto parts = std::make_unique<DealRegistrationParts>(runtime, options,
                                                       std::move(partner_registry));
  RETURN_IF_ERROR(parts->Start());
  return parts;
}

}  // namespace prm::deal
