#include "services/deal-registration/adapters/durable_deal_book.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "common/text/text.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "prm/deal/v1/deal_service.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "services/deal-registration/adapters/proto_mapping.h"
#include "spdlog/spdlog.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
using command_log::Command;

constexpr char kTick[] = "Tick";
constexpr char kSaleRecorded[] = "prm.sales.SaleRecorded.v1";
constexpr char kPartnerCreated[] = "prm.partner.PartnerCreated.v1";
constexpr char kPartnerUpdated[] = "prm.partner.PartnerUpdated.v1";
constexpr char kEnrollmentStateChanged[] = "prm.partner.EnrollmentStateChanged.v1";
constexpr char kEnrollmentUpdated[] = "prm.partner.EnrollmentUpdated.v1";
constexpr char kTierChanged[] = "prm.partner.TierChanged.v1";

bool IsConsumedKind(std::string_view kind) {
  return kind == kSaleRecorded || kind == kPartnerCreated || kind == kPartnerUpdated ||
         kind == kEnrollmentStateChanged || kind == kEnrollmentUpdated || kind == kTierChanged;
}

absl::Status Parse(std::string_view bytes, google::protobuf::Message* message) {
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload is not a ", message->GetDescriptor()->full_name()));
  }
  return absl::OkStatus();
}

// The prm.sales.v1 contract of SaleRecorded (AsyncAPI; the rules partner-registry and forecast
// apply too): OK, or INVALID_ARGUMENT naming every bad field, so that a sale that breaks it is
// dead-lettered here as well instead of closing a deal with a negative amount, an impossible
// date or a 100 KiB document id (issue 7).
absl::Status ValidateSale(const prm::sales::v1::SaleRecorded& s, absl::Time now) {
  namespace sv1 = ::prm::sales::v1;
  FieldViolations bad;
  auto id_field = [&](const std::string& value, const char* name) {
    if (value.empty() || CharacterCount(value) > 64) bad.Add(name, "is required, 1..64 characters");
  };
  id_field(s.vendor_id(), "vendor_id");
  id_field(s.erp_system_id(), "erp_system_id");
  id_field(s.partner_external_id(), "partner_external_id");
  id_field(s.erp_document_id(), "erp_document_id");
  if (CharacterCount(s.deal_id()) > 64) bad.Add("deal_id", "at most 64 characters");
  if (s.kind() == sv1::SALE_KIND_UNSPECIFIED || !sv1::SaleKind_IsValid(s.kind())) {
    bad.Add("kind", "must be SELL_IN, SELL_THROUGH or RETURN");
  }
  const std::string& currency = s.currency_code();
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    bad.Add("currency_code", "must be a 3-letter upper-case ISO 4217 code");
  }
  if (s.lines_size() < 1 || s.lines_size() > 1000) bad.Add("lines", "must have 1..1000 lines");
  for (int i = 0; i < s.lines_size() && i < 1000; ++i) {
    const prm::common::v1::ProductLine& line = s.lines(i);
    const std::string f = absl::StrCat("lines[", i, "]");
    const prm::common::v1::Money& amount = line.amount();
    if (amount.units() < 0 || amount.nanos() < 0 || amount.nanos() > 999'999'999) {
      bad.Add(f + ".amount", "must be non-negative, nanos 0..999999999");
    }
    if (amount.currency_code() != currency) {
      bad.Add(f + ".amount.currency_code", "must equal currency_code");
    }
    if (line.quantity() < 0) bad.Add(f + ".quantity", "must be non-negative");
  }
  const google::protobuf::Timestamp& t = s.sale_time();
  const absl::Time earliest = absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone());
  if (!s.has_sale_time() || t.nanos() < 0 || t.nanos() > 999'999'999 ||
      t.seconds() < absl::ToUnixSeconds(earliest) ||
      t.seconds() > absl::ToUnixSeconds(now + absl::Hours(24))) {
    bad.Add("sale_time", "is required, from 1990-01-01 to 1 day in the future");
  }
  return bad.ToStatus("SaleRecorded is invalid");
}

// The writable paths of UpdateDeal's "*".
const std::vector<std::string>& AllDealPaths() {
  static const auto* paths = new std::vector<std::string>{
      "title", "end_customer", "products", "value", "expected_close_date", "stage",
      "description"};
  return *paths;
}

// The update mask's paths; "*" = every field writable in `state`.
std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask, DealState state) {
  std::vector<std::string> paths;
  for (const std::string& p : mask.paths()) {
    if (p == "*") {
      if (state == DealState::kApproved) return {"stage", "expected_close_date", "description"};
      return AllDealPaths();
    }
    paths.push_back(p);
  }
  return paths;
}

}  // namespace

std::string EncodeEnrollmentCheck(const prm::partner::v1::Enrollment& enrollment) {
  prm::partner::v1::Enrollment kept;
  kept.set_vendor_id(enrollment.vendor_id());
  kept.set_partner_id(enrollment.partner_id());
  kept.set_program_id(enrollment.program_id());
  kept.set_state(enrollment.state());
  kept.set_tier_id(enrollment.tier_id());
  kept.set_tier_rank(enrollment.tier_rank());
  kept.set_version(enrollment.version());
  return events::SerializeDeterministically(kept);
}

std::string EncodeCommand(const Actor& actor, const google::protobuf::Message& request) {
  const std::string actor_bytes = events::SerializeDeterministically(ToProto(actor));
  const std::string request_bytes = events::SerializeDeterministically(request);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint32(static_cast<uint32_t>(actor_bytes.size()));
    coded.WriteString(actor_bytes);
    coded.WriteString(request_bytes);
  }
  return out;
}

absl::Status DecodeCommand(std::string_view payload, Actor* actor,
                           google::protobuf::Message* request) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  uint32_t actor_size = 0;
  std::string actor_bytes;
  if (!in.ReadVarint32(&actor_size) || !in.ReadString(&actor_bytes, static_cast<int>(actor_size))) {
    return absl::InvalidArgumentError("command payload has no actor");
  }
  prm::common::v1::Actor actor_proto;
  RETURN_IF_ERROR(Parse(actor_bytes, &actor_proto));
  *actor = FromProto(actor_proto);
  return Parse(payload.substr(static_cast<size_t>(in.CurrentPosition())), request);
}

// Collects a command's events in order. Ids are "deal-registration-<time us>-<seq>-<n>": the
// same on replay (both come from the log), and the time keeps them unique should a store ever
// be started afresh (the sequence alone would restart at 1).
class DurableDealBook::Emitter {
 public:
  Emitter(const Command& command, const Options& options)
      : command_(command), options_(options) {}

  EventContext NextContext() {
    return EventContext{absl::StrCat("deal-registration-", absl::ToUnixMicros(command_.time), "-",
                                     command_.seq, "-", ++count_),
                        command_.request_id};
  }

  void Add(const EventContext& context, EventMessage event, const std::string& deal_id) {
    records_.push_back(events::EncodeBinary(
        events::MakeEvent(*event.message, std::move(event.type), options_.event_source,
                          context.event_id, command_.time, deal_id),
        options_.deal_topic));
  }

  absl::Status Flush(sqlite::Transaction& tx) {
    for (const kafka::Record& record : records_) {
      RETURN_IF_ERROR(outbox::Append(tx, record, command_.time));
    }
    return absl::OkStatus();
  }

 private:
  const Command& command_;
  const Options& options_;
  int count_ = 0;
  std::vector<kafka::Record> records_;
};

DurableDealBook::DurableDealBook(sqlite::Database& db, const Clock& clock, Options options)
    : db_(db), log_(db, clock), options_(std::move(options)), book_(log_.clock()) {}

std::string DurableDealBook::Key(std::string_view vendor_id, std::string_view deal_id) {
  std::string key(vendor_id);
  key.push_back('\x1f');
  key.append(deal_id);
  return key;
}

absl::StatusOr<command_log::CommandLog::Replayed> DurableDealBook::Replay() {
  return log_.Replay([&](const Command& command) { return Apply(command, nullptr); });
}

absl::Status DurableDealBook::Execute(std::string_view kind,
                                      const google::protobuf::Message& request,
                                      const std::string& request_id, const Actor& actor,
                                      google::protobuf::Message* response, std::string inputs) {
  ASSIGN_OR_RETURN(std::string reply,
                   log_.Execute({.kind = std::string(kind),
                                 .request_id = request_id,
                                 .payload = EncodeCommand(actor, request),
                                 .inputs = std::move(inputs)},
                                [&](sqlite::Transaction& tx, const Command& command) {
                                  return Apply(command, &tx);
                                }));
  if (!response->ParseFromString(reply)) {
    return absl::InternalError(absl::StrCat("logged reply of ", std::string(kind), " does not parse"));
  }
  return absl::OkStatus();
}

absl::Status DurableDealBook::ApplyEvent(const events::CloudEvent& event,
                                         const google::protobuf::Message& payload,
                                         sqlite::Transaction& tx) {
  if (!IsConsumedKind(event.type)) return absl::OkStatus();  // not used here; not logged
  return log_
      .ExecuteIn(tx, {.kind = event.type, .payload = events::SerializeDeterministically(payload)},
                 [&](sqlite::Transaction& tx, const Command& command) {
                   return Apply(command, &tx);
                 })
      .status();
}

bool DurableDealBook::TimersDue() const {
  std::optional<absl::Time> next = book_.NextTimerDue();
  return next && *next <= log_.clock().Now();
}

absl::StatusOr<int> DurableDealBook::Tick() {
  if (!TimersDue()) return 0;
  absl::StatusOr<std::string> reply =
      log_.Execute({.kind = kTick}, [&](sqlite::Transaction& tx, const Command& command) {
        return Apply(command, &tx);
      });
  // Armed timers that could not fire (e.g. a reminder whose window passed) log nothing.
  if (absl::IsFailedPrecondition(reply.status())) return 0;
  if (!reply.ok()) return reply.status();
  return static_cast<int>(reply->size());
}

absl::StatusOr<std::string> DurableDealBook::Apply(const Command& command,
                                                   sqlite::Transaction* tx) {
  Emitter emit(command, options_);
  absl::StatusOr<std::string> reply;
  if (command.kind == kTick) {
    std::vector<Transition> fired = book_.RunTimers();
    if (fired.empty()) return absl::FailedPreconditionError("no timer is due");
    CommandResult result;
    result.transitions = std::move(fired);
    Record(result, emit);
    // One byte per transition: the count, comparable on replay.
    reply = std::string(result.transitions.size(), 't');
  } else if (IsConsumedKind(command.kind)) {
    reply = ApplyConsumed(command, emit);
  } else {
    reply = ApplyWrite(command, emit);
  }
  if (!reply.ok() || tx == nullptr) return reply;
  if (absl::Status flushed = emit.Flush(*tx); !flushed.ok()) {
    // The domain took the command but its events cannot be stored with it: only a restart
    // (replaying what was committed) makes memory and store agree again.
    spdlog::critical("command {} was applied but its events could not be stored ({})",
                     command.kind, flushed.ToString());
    std::abort();
  }
  return reply;
}

void DurableDealBook::Record(const CommandResult& result, Emitter& emit) {
  std::unique_lock lock(mu_);
  bool first = true;
  for (const Transition& t : result.transitions) {
    const Deal& deal = t.event.deal;
    const std::string key = Key(deal.vendor_id, deal.deal_id);
    if (t.event.type == DealEventType::kDeleted) {
      audit_.erase(key);
      notes_.erase(key);
    } else {
      audit_[key].push_back(ToProto(t.audit).SerializeAsString());
    }
    EventContext context = emit.NextContext();
    emit.Add(context, ToEventProto(t.event, context), deal.deal_id);
    if (first && t.event.type == DealEventType::kSubmitted && !result.conflicts.empty()) {
      // Right after DealSubmitted, before a rule's DealApproved (deal_events.proto).
      EventContext c = emit.NextContext();
      emit.Add(c, ToConflictDetectedProto(deal, result.conflicts, t.event.actor, t.event.time, c),
               deal.deal_id);
    }
    first = false;
  }
}

absl::StatusOr<std::string> DurableDealBook::ApplyWrite(const Command& command, Emitter& emit) {
  Actor actor;
  auto decode = [&](google::protobuf::Message* request) {
    return DecodeCommand(command.payload, &actor, request);
  };
  const std::string& kind = command.kind;

  // The commands whose reply is just the deal after a single-deal command.
  auto deal_reply = [&](auto response, const CommandResult& result) -> std::string {
    Record(result, emit);
    ToProto(result.deal, response.mutable_deal());
    return events::SerializeDeterministically(response);
  };

  if (kind == "CreateDeal") {
    v1::CreateDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    Deal draft = WritableFromProto(req.deal());
    draft.deal_id.clear();  // server-assigned, deterministic under replay
    ASSIGN_OR_RETURN(CommandResult r, book_.Create(std::move(draft), actor));
    return deal_reply(v1::CreateDealResponse(), r);
  }
  if (kind == "UpdateDeal") {
    v1::UpdateDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.deal().etag(), "deal.etag"));
    ASSIGN_OR_RETURN(Deal current, book_.Get(req.deal().vendor_id(), req.deal().deal_id()));
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Update(req.deal().vendor_id(), req.deal().deal_id(),
                                  WritableFromProto(req.deal()),
                                  MaskPaths(req.update_mask(), current.state), actor, expected));
    return deal_reply(v1::UpdateDealResponse(), r);
  }
  if (kind == "DeleteDeal") {
    v1::DeleteDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Delete(req.vendor_id(), req.deal_id(), actor, expected));
    Record(r, emit);
    return events::SerializeDeterministically(v1::DeleteDealResponse());
  }
  if (kind == "SubmitDeal") {
    v1::SubmitDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(Deal deal, book_.Get(req.vendor_id(), req.deal_id()));
    PartnerFacts facts;
    {
      std::shared_lock lock(mu_);
      // partner-registry's answer when it was asked, else what its events said, if anything.
      std::optional<prm::partner::v1::EnrollmentState> state;
      if (!command.inputs.empty()) {
        prm::partner::v1::Enrollment checked;
        RETURN_IF_ERROR(Parse(command.inputs, &checked));
        state = checked.state();
      } else if (std::optional<EnrollmentView> known =
                     partners_.Enrollment(req.vendor_id(), deal.partner_id)) {
        state = known->state;
      }
      if (state && *state != prm::partner::v1::ENROLLMENT_STATE_ACTIVE) {
        return absl::FailedPreconditionError(
            absl::StrCat("partner ", deal.partner_id, " has no ACTIVE enrollment at vendor ",
                         req.vendor_id(), " (", prm::partner::v1::EnrollmentState_Name(*state),
                         ")"));
      }
      facts = partners_.FactsFor(req.vendor_id(), deal.partner_id);
    }
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Submit(req.vendor_id(), req.deal_id(), actor, facts, expected));
    Record(r, emit);
    v1::SubmitDealResponse response;
    ToProto(r.deal, response.mutable_deal());
    response.set_has_conflict(!r.conflicts.empty());
    response.set_auto_approved(r.transitions.size() > 1);
    return events::SerializeDeterministically(response);
  }
  if (kind == "StartReview") {
    v1::StartReviewRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.StartReview(req.vendor_id(), req.deal_id(), actor, expected));
    return deal_reply(v1::StartReviewResponse(), r);
  }
  if (kind == "ReturnDeal") {
    v1::ReturnDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    std::vector<std::string> fields(req.fields_to_fix().begin(), req.fields_to_fix().end());
    ASSIGN_OR_RETURN(CommandResult r, book_.Return(req.vendor_id(), req.deal_id(), actor,
                                                   req.note(), fields, expected));
    return deal_reply(v1::ReturnDealResponse(), r);
  }
  if (kind == "ApproveDeal") {
    v1::ApproveDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(Deal deal, book_.Get(req.vendor_id(), req.deal_id()));
    PartnerFacts facts;
    {
      std::shared_lock lock(mu_);
      facts = partners_.FactsFor(req.vendor_id(), deal.partner_id);
    }
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Approve(req.vendor_id(), req.deal_id(), actor, facts, expected));
    return deal_reply(v1::ApproveDealResponse(), r);
  }
  if (kind == "RejectDeal") {
    v1::RejectDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Reject(req.vendor_id(), req.deal_id(), actor,
                                  static_cast<RejectionReason>(req.reason()), req.note(),
                                  req.duplicate_of_deal_id(), expected));
    return deal_reply(v1::RejectDealResponse(), r);
  }
  if (kind == "CancelDeal") {
    v1::CancelDealRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r, book_.Cancel(req.vendor_id(), req.deal_id(), actor,
                                                   req.reason(), expected));
    return deal_reply(v1::CancelDealResponse(), r);
  }
  if (kind == "MarkDealWon") {
    v1::MarkDealWonRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    WinDetails win;
    win.won_amount = FromProto(req.won_amount());
    win.source = CloseSource::kApi;
    if (req.has_close_date()) win.close_date = FromProto(req.close_date());
    win.erp_document_id = req.erp_document_id();
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.MarkWon(req.vendor_id(), req.deal_id(), actor, win, expected));
    return deal_reply(v1::MarkDealWonResponse(), r);
  }
  if (kind == "MarkDealLost") {
    v1::MarkDealLostRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r, book_.MarkLost(req.vendor_id(), req.deal_id(), actor,
                                                     req.reason(), expected));
    return deal_reply(v1::MarkDealLostResponse(), r);
  }
  if (kind == "ExtendProtection") {
    v1::ExtendProtectionRequest req;
    RETURN_IF_ERROR(decode(&req));
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(req.etag(), "etag"));
    ASSIGN_OR_RETURN(CommandResult r,
                     book_.Extend(req.vendor_id(), req.deal_id(), actor, req.extension_days(),
                                  req.reason(), expected));
    return deal_reply(v1::ExtendProtectionResponse(), r);
  }
  if (kind == "CreateDealNote") {
    v1::CreateDealNoteRequest req;
    RETURN_IF_ERROR(decode(&req));
    RETURN_IF_ERROR(book_.Get(req.note().vendor_id(), req.note().deal_id()).status());
    v1::DealNote note = req.note();
    note.set_note_id(absl::StrCat("note-", command.seq));
    *note.mutable_author() = ToProto(actor);
    *note.mutable_create_time() = ToTimestamp(command.time);
    {
      std::unique_lock lock(mu_);
      notes_[Key(note.vendor_id(), note.deal_id())].push_back(note);
    }
    v1::CreateDealNoteResponse response;
    *response.mutable_note() = std::move(note);
    return events::SerializeDeterministically(response);
  }
  if (kind == "UpdateDealPolicy") {
    v1::UpdateDealPolicyRequest req;
    RETURN_IF_ERROR(decode(&req));
    const v1::DealPolicy& in = req.policy();
    ASSIGN_OR_RETURN(std::optional<int64_t> expected, ParseEtag(in.etag(), "policy.etag"));
    PolicyView current = Policy(in.vendor_id(), in.program_id());
    if (expected && *expected != current.version) {
      return absl::AbortedError(absl::StrCat("deal policy changed since version ", *expected,
                                             " (now ", current.version, "); reread and retry"));
    }
    std::vector<std::string> paths(req.update_mask().paths().begin(),
                                   req.update_mask().paths().end());
    ASSIGN_OR_RETURN(DealPolicy merged, MergePolicy(current.policy, in, paths));
    merged.vendor_id = in.vendor_id();
    merged.program_id = in.program_id();
    book_.SetPolicy(merged);
    PolicyView updated{merged, current.version + 1, command.time};
    {
      std::unique_lock lock(mu_);
      policies_[Key(in.vendor_id(), in.program_id())] = updated;
    }
    v1::UpdateDealPolicyResponse response;
    *response.mutable_policy() = ToProto(merged);
    response.mutable_policy()->set_version(updated.version);
    response.mutable_policy()->set_etag(Etag(updated.version));
    *response.mutable_policy()->mutable_update_time() = ToTimestamp(command.time);
    return events::SerializeDeterministically(response);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command kind ", kind));
}

absl::StatusOr<std::string> DurableDealBook::ApplyConsumed(const Command& command,
                                                           Emitter& emit) {
  const std::string& kind = command.kind;
  if (kind == kSaleRecorded) {
    prm::sales::v1::SaleRecorded sale;
    RETURN_IF_ERROR(Parse(command.payload, &sale));
    RETURN_IF_ERROR(ValidateSale(sale, log_.clock().Now()));
    // Returns and stock purchases without a customer never close a deal.
    if (sale.kind() == prm::sales::v1::SALE_KIND_RETURN || !sale.has_end_customer()) {
      return std::string();
    }
    std::optional<std::string> partner_id;
    {
      std::shared_lock lock(mu_);
      partner_id = partners_.PartnerForAccount(sale.vendor_id(), sale.erp_system_id(),
                                               sale.partner_external_id());
    }
    if (!partner_id && !sale.deal_id().empty()) {
      // The order names the registration: its partner is the one to check (the match on
      // customer and products below still has to hold).
      if (absl::StatusOr<Deal> deal = book_.Get(sale.vendor_id(), sale.deal_id()); deal.ok()) {
        partner_id = deal->partner_id;
      }
    }
    if (!partner_id) return std::string();  // an account this service cannot map (yet)
    SaleRecord record;
    record.vendor_id = sale.vendor_id();
    record.partner_id = *partner_id;
    record.erp_system_id = sale.erp_system_id();
    record.erp_document_id = sale.erp_document_id();
    record.end_customer = FromProto(sale.end_customer());
    for (const prm::common::v1::ProductLine& line : sale.lines()) {
      record.lines.push_back(FromProto(line));
    }
    record.currency_code = sale.currency_code();
    record.sale_time = FromTimestamp(sale.sale_time());
    record.deal_id = sale.deal_id();
    absl::StatusOr<std::optional<CommandResult>> closed = book_.CloseFromSale(record);
    if (absl::IsInvalidArgument(closed.status())) {
      // A customer identity or line the closed loop cannot use is no match, not poison: other
      // consumers of the sales topic may well use the sale.
      spdlog::debug("sale {}/{} matches no deal: {}", sale.vendor_id(), sale.erp_document_id(),
                    closed.status().ToString());
      return std::string();
    }
    if (!closed.ok()) return closed.status();
    if (!*closed) return std::string();
    Record(**closed, emit);
    return (*closed)->deal.deal_id;
  }
  std::unique_lock lock(mu_);
  if (kind == kPartnerCreated || kind == kPartnerUpdated) {
    prm::partner::v1::PartnerCreated created;
    prm::partner::v1::PartnerUpdated updated;
    if (kind == kPartnerCreated) {
      RETURN_IF_ERROR(Parse(command.payload, &created));
    } else {
      RETURN_IF_ERROR(Parse(command.payload, &updated));
    }
    const prm::partner::v1::Partner& partner =
        kind == kPartnerCreated ? created.partner() : updated.partner();
    if (partner.partner_id().empty()) return InvalidField("partner.partner_id", "is required");
    partners_.ApplyPartner(partner);
  } else if (kind == kEnrollmentStateChanged || kind == kEnrollmentUpdated) {
    prm::partner::v1::EnrollmentStateChanged changed;
    prm::partner::v1::EnrollmentUpdated updated;
    if (kind == kEnrollmentStateChanged) {
      RETURN_IF_ERROR(Parse(command.payload, &changed));
    } else {
      RETURN_IF_ERROR(Parse(command.payload, &updated));
    }
    const prm::partner::v1::Enrollment& enrollment =
        kind == kEnrollmentStateChanged ? changed.enrollment() : updated.enrollment();
    // Issue 7: an enrollment this service cannot judge submissions by is poison.
    FieldViolations bad;
    if (enrollment.vendor_id().empty()) bad.Add("enrollment.vendor_id", "is required");
    if (enrollment.partner_id().empty()) bad.Add("enrollment.partner_id", "is required");
    if (!prm::partner::v1::EnrollmentState_IsValid(enrollment.state())) {
      bad.Add("enrollment.state", "is not an EnrollmentState");
    }
    RETURN_IF_ERROR(bad.ToStatus("the enrollment event is invalid"));
    partners_.ApplyEnrollment(enrollment);
  } else if (kind == kTierChanged) {
    prm::partner::v1::TierChanged changed;
    RETURN_IF_ERROR(Parse(command.payload, &changed));
    FieldViolations bad;
    if (changed.metadata().vendor_id().empty()) bad.Add("metadata.vendor_id", "is required");
    if (changed.partner_id().empty()) bad.Add("partner_id", "is required");
    RETURN_IF_ERROR(bad.ToStatus("TierChanged is invalid"));
    partners_.ApplyTierChanged(changed);
  }
  return std::string();
}

std::vector<v1::DealAuditEntry> DurableDealBook::AuditEntries(std::string_view vendor_id,
                                                              std::string_view deal_id) const {
  std::shared_lock lock(mu_);
  std::vector<v1::DealAuditEntry> entries;
  auto it = audit_.find(Key(vendor_id, deal_id));
  if (it == audit_.end()) return entries;
  entries.resize(it->second.size());
  for (size_t i = 0; i < entries.size(); ++i) entries[i].ParseFromString(it->second[i]);
  return entries;
}

std::vector<v1::DealNote> DurableDealBook::Notes(std::string_view vendor_id,
                                                 std::string_view deal_id) const {
  std::shared_lock lock(mu_);
  auto it = notes_.find(Key(vendor_id, deal_id));
  return it == notes_.end() ? std::vector<v1::DealNote>() : it->second;
}

PolicyView DurableDealBook::Policy(std::string_view vendor_id, std::string_view program_id) const {
  {
    std::shared_lock lock(mu_);
    auto it = policies_.find(Key(vendor_id, program_id));
    if (it != policies_.end()) return it->second;
  }
  PolicyView view;
  view.policy = book_.PolicyFor(vendor_id, program_id);
  view.policy.vendor_id = std::string(vendor_id);
  view.policy.program_id = std::string(program_id);
  return view;
}

std::optional<EnrollmentView> DurableDealBook::Enrollment(std::string_view vendor_id,
                                                          std::string_view partner_id) const {
  std::shared_lock lock(mu_);
  return partners_.Enrollment(vendor_id, partner_id);
}

}  // namespace prm::deal
