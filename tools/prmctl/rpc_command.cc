#include "tools/prmctl/rpc_command.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/config/flags.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/sync_stream.h"
#include "prm/deal/v1/deal_service.pb.h"
#include "prm/forecast/v1/forecast_service.pb.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "prm/routing/v1/routing_service.pb.h"
#include "tools/prmctl/channel.h"
#include "tools/prmctl/command_flags.h"
#include "tools/prmctl/plot.h"
#include "tools/prmctl/render.h"

namespace prm::prmctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

struct Verb {
  const char* noun;
  const char* verb;
  const char* method;  // "<package>.<Service>/<Method>"
  const char* summary;
  bool plot = false;        // offers --plot=FILE.svg (a GetForecastResponse)
};

// Every verb of prmctl. Nouns are plural (partners, deals), except forecast and velocity.
const std::vector<Verb>& Verbs() {
  static const auto* verbs = new std::vector<Verb>{
      {"partners", "list", "prm.partner.v1.PartnerRegistry/ListPartners", "list partners"},
      {"partners", "get", "prm.partner.v1.PartnerRegistry/GetPartner", "show one partner"},
      {"partners", "create", "prm.partner.v1.PartnerRegistry/CreatePartner", "create a partner"},
      {"partners", "update", "prm.partner.v1.PartnerRegistry/UpdatePartner",
       "change a partner (--update-mask, --partner.etag)"},
      {"partners", "delete", "prm.partner.v1.PartnerRegistry/DeletePartner", "delete a partner"},
      {"partners", "lookup", "prm.partner.v1.PartnerRegistry/LookupPartner",
       "find a partner by ERP account, tax id or domain"},
      {"partners", "find", "prm.partner.v1.PartnerRegistry/FindPartners",
       "find partners by skills, region, tier…"},
      {"programs", "list", "prm.partner.v1.PartnerRegistry/ListPrograms", "list a vendor's programs"},
      {"programs", "get", "prm.partner.v1.PartnerRegistry/GetProgram", "show one program"},
      {"programs", "create", "prm.partner.v1.PartnerRegistry/CreateProgram", "create a program"},
      {"programs", "update", "prm.partner.v1.PartnerRegistry/UpdateProgram", "change a program"},
      {"programs", "delete", "prm.partner.v1.PartnerRegistry/DeleteProgram", "delete a program"},
      {"enrollments", "list", "prm.partner.v1.PartnerRegistry/ListEnrollments", "list enrollments"},
      {"enrollments", "get", "prm.partner.v1.PartnerRegistry/GetEnrollment", "show one enrollment"},
      {"enrollments", "create", "prm.partner.v1.PartnerRegistry/CreateEnrollment",
       "enroll a partner in a program"},
      {"enrollments", "update", "prm.partner.v1.PartnerRegistry/UpdateEnrollment",
       "change an enrollment"},
      {"enrollments", "onboard", "prm.partner.v1.PartnerRegistry/StartEnrollmentOnboarding",
       "start onboarding"},
      {"enrollments", "activate", "prm.partner.v1.PartnerRegistry/ActivateEnrollment",
       "activate an enrollment"},
      {"enrollments", "suspend", "prm.partner.v1.PartnerRegistry/SuspendEnrollment",
       "suspend an enrollment"},
      {"enrollments", "terminate", "prm.partner.v1.PartnerRegistry/TerminateEnrollment",
       "terminate an enrollment"},
      {"enrollments", "evaluate", "prm.partner.v1.PartnerRegistry/EvaluateEnrollmentTier",
       "evaluate the tier now"},
      {"enrollments", "grant-competency", "prm.partner.v1.PartnerRegistry/GrantCompetency",
       "grant a competency"},
      {"enrollments", "renew-competency", "prm.partner.v1.PartnerRegistry/RenewCompetency",
       "renew a competency"},
      {"enrollments", "revoke-competency", "prm.partner.v1.PartnerRegistry/RevokeCompetency",
       "revoke a competency"},
      {"enrollments", "assign-concierge", "prm.partner.v1.PartnerRegistry/AssignConcierge",
       "assign the concierge / channel manager"},
      {"deals", "list", "prm.deal.v1.DealRegistration/ListDeals", "list deal registrations"},
      {"deals", "get", "prm.deal.v1.DealRegistration/GetDeal", "show one deal"},
      {"deals", "create", "prm.deal.v1.DealRegistration/CreateDeal", "register a deal (draft)"},
      {"deals", "update", "prm.deal.v1.DealRegistration/UpdateDeal", "change a draft deal"},
      {"deals", "delete", "prm.deal.v1.DealRegistration/DeleteDeal", "delete a draft deal"},
      {"deals", "submit", "prm.deal.v1.DealRegistration/SubmitDeal", "submit a deal for review"},
      {"deals", "review", "prm.deal.v1.DealRegistration/StartReview", "start reviewing a deal"},
      {"deals", "return", "prm.deal.v1.DealRegistration/ReturnDeal",
       "return a deal to the partner"},
      {"deals", "approve", "prm.deal.v1.DealRegistration/ApproveDeal", "approve a deal"},
      {"deals", "reject", "prm.deal.v1.DealRegistration/RejectDeal", "reject a deal"},
      {"deals", "cancel", "prm.deal.v1.DealRegistration/CancelDeal", "cancel a deal"},
      {"deals", "win", "prm.deal.v1.DealRegistration/MarkDealWon", "mark a deal won"},
      {"deals", "lose", "prm.deal.v1.DealRegistration/MarkDealLost", "mark a deal lost"},
      {"deals", "extend", "prm.deal.v1.DealRegistration/ExtendProtection",
       "extend a deal's protection"},
      {"deals", "conflicts", "prm.deal.v1.DealRegistration/GetDealConflicts",
       "a deal's conflicts"},
      {"deals", "audit", "prm.deal.v1.DealRegistration/ListDealAuditEntries",
       "a deal's audit trail"},
      {"deals", "note", "prm.deal.v1.DealRegistration/CreateDealNote", "add a note to a deal"},
      {"deals", "notes", "prm.deal.v1.DealRegistration/ListDealNotes", "a deal's notes"},
      {"deals", "policy", "prm.deal.v1.DealRegistration/GetDealPolicy", "a vendor's deal policy"},
      {"deals", "set-policy", "prm.deal.v1.DealRegistration/UpdateDealPolicy",
       "change a vendor's deal policy"},
      {"tasks", "list", "prm.routing.v1.ConciergeRouting/ListTasks", "list routing tasks"},
      {"tasks", "get", "prm.routing.v1.ConciergeRouting/GetTask", "show one task"},
      {"tasks", "create", "prm.routing.v1.ConciergeRouting/CreateTask", "create a task"},
      {"tasks", "update", "prm.routing.v1.ConciergeRouting/UpdateTask", "change a task"},
      {"tasks", "cancel", "prm.routing.v1.ConciergeRouting/CancelTask", "cancel a task"},
      {"tasks", "wrap-up", "prm.routing.v1.ConciergeRouting/WrapUpTask", "start wrap-up"},
      {"tasks", "complete", "prm.routing.v1.ConciergeRouting/CompleteTask", "complete a task"},
      {"offers", "watch", "prm.routing.v1.ConciergeRouting/WatchOffers",
       "stream a worker's offers as they come"},
      {"offers", "list", "prm.routing.v1.ConciergeRouting/ListReservations",
       "list offers (reservations)"},
      {"offers", "get", "prm.routing.v1.ConciergeRouting/GetReservation", "show one offer"},
      {"offers", "accept", "prm.routing.v1.ConciergeRouting/AcceptReservation", "accept an offer"},
      {"offers", "reject", "prm.routing.v1.ConciergeRouting/RejectReservation", "reject an offer"},
      {"workers", "list", "prm.routing.v1.ConciergeRouting/ListWorkers", "list concierges"},
      {"workers", "get", "prm.routing.v1.ConciergeRouting/GetWorker", "show one concierge"},
      {"workers", "create", "prm.routing.v1.ConciergeRouting/CreateWorker", "create a concierge"},
      {"workers", "update", "prm.routing.v1.ConciergeRouting/UpdateWorker", "change a concierge"},
      {"workers", "delete", "prm.routing.v1.ConciergeRouting/DeleteWorker", "delete a concierge"},
      {"workers", "set-activity", "prm.routing.v1.ConciergeRouting/SetWorkerActivity",
       "set a concierge's activity (available, break…)"},
      {"workers", "stats", "prm.routing.v1.ConciergeRouting/GetWorkerStatistics",
       "a concierge's statistics"},
      {"queues", "list", "prm.routing.v1.ConciergeRouting/ListQueues", "list queues"},
      {"queues", "get", "prm.routing.v1.ConciergeRouting/GetQueue", "show one queue"},
      {"queues", "create", "prm.routing.v1.ConciergeRouting/CreateQueue", "create a queue"},
      {"queues", "update", "prm.routing.v1.ConciergeRouting/UpdateQueue", "change a queue"},
      {"queues", "delete", "prm.routing.v1.ConciergeRouting/DeleteQueue", "delete a queue"},
      {"queues", "stats", "prm.routing.v1.ConciergeRouting/GetQueueStatistics",
       "a queue's statistics and SLA attainment"},
      {"activities", "list", "prm.routing.v1.ConciergeRouting/ListActivities", "list activities"},
      {"activities", "create", "prm.routing.v1.ConciergeRouting/CreateActivity",
       "create an activity"},
      {"workflows", "list", "prm.routing.v1.ConciergeRouting/ListWorkflows", "list workflows"},
      {"workflows", "get", "prm.routing.v1.ConciergeRouting/GetWorkflow", "show one workflow"},
      {"workflows", "create", "prm.routing.v1.ConciergeRouting/CreateWorkflow",
       "create a workflow"},
      {"workflows", "update", "prm.routing.v1.ConciergeRouting/UpdateWorkflow",
       "change a workflow"},
      {"calendars", "list", "prm.routing.v1.ConciergeRouting/ListBusinessCalendars",
       "list business calendars"},
      {"calendars", "create", "prm.routing.v1.ConciergeRouting/CreateBusinessCalendar",
       "create a business calendar"},
      {"sla", "get", "prm.routing.v1.ConciergeRouting/GetSlaPolicy", "a vendor's SLA policy"},
      {"sla", "update", "prm.routing.v1.ConciergeRouting/UpdateSlaPolicy",
       "change a vendor's SLA policy"},
      {"forecast", "get", "prm.forecast.v1.Forecast/GetForecast",
       "a series' history, forecast and 80/95 % intervals (--plot=FILE.svg draws it)", true},
      {"forecast", "segments", "prm.forecast.v1.Forecast/ListSegments", "a vendor's segments"},
      {"forecast", "backtest", "prm.forecast.v1.Forecast/RunBacktest",
       "backtest the models on a series"},
      {"forecast", "settings", "prm.forecast.v1.Forecast/GetForecastSettings",
       "a vendor's forecast settings"},
      {"forecast", "set-settings", "prm.forecast.v1.Forecast/UpdateForecastSettings",
       "change a vendor's forecast settings"},
      {"forecast", "rates", "prm.forecast.v1.Forecast/ListExchangeRates", "list exchange rates"},
      {"forecast", "set-rates", "prm.forecast.v1.Forecast/SetExchangeRates",
       "set exchange rates"},
      {"forecast", "delete-rate", "prm.forecast.v1.Forecast/DeleteExchangeRate",
       "delete an exchange rate"},
      {"velocity", "get", "prm.forecast.v1.Forecast/GetVelocity",
       "sales velocity of a partner, segment or vendor"},
  };
  return *verbs;
}

// The address flag of each service: its name and the scripts/dev default.
struct ServiceAddress {
  const char* package;
  const char* flag;
  const char* default_address;
};
constexpr ServiceAddress kAddresses[] = {
    {"prm.partner.v1", "partner-address", "127.0.0.1:50051"},
    {"prm.deal.v1", "deal-address", "127.0.0.1:50052"},
    {"prm.routing.v1", "routing-address", "127.0.0.1:50053"},
    {"prm.forecast.v1", "forecast-address", "127.0.0.1:50054"},
};

// The method, from the generated descriptors (linked in by naming one message of each file).
const MethodDescriptor* FindMethod(absl::string_view path) {
  static const bool linked = [] {
    (void)partner::v1::GetPartnerRequest::descriptor();
    (void)deal::v1::GetDealRequest::descriptor();
    (void)routing::v1::GetTaskRequest::descriptor();
    (void)forecast::v1::GetForecastRequest::descriptor();
    return true;
  }();
  (void)linked;
  const size_t slash = path.find('/');
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(path.substr(0, slash)));
  return service == nullptr ? nullptr : service->FindMethodByName(std::string(path.substr(slash + 1)));
}

// One flag per simple field of the request.
struct FieldFlag {
  std::string name;                          // "partner.legal-name"
  std::vector<const FieldDescriptor*> path;  // partner, legal_name
  std::string text;
  bool on = false;                           // bool fields
};

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool IsLeafMessage(const Descriptor* d) {
  const std::string& n = d->full_name();
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask" || n == "prm.common.v1.Money" ||
         n == "prm.common.v1.Date";
}

// "1234.50 EUR" → {"currency_code":"EUR","units":"1234","nanos":500000000}, as output shows it.
std::string MoneyJson(absl::string_view text, std::string* error) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  absl::string_view amount = parts.empty() ? "" : parts[0];
  const bool negative = absl::ConsumePrefix(&amount, "-");
  const size_t dot = amount.find('.');
  const absl::string_view whole = amount.substr(0, dot);
  std::string fraction(dot == absl::string_view::npos ? "" : amount.substr(dot + 1));
  int64_t units = 0;
  int32_t nanos = 0;
  const bool digits = std::all_of(fraction.begin(), fraction.end(), absl::ascii_isdigit);
  if (parts.size() != 2 || parts[1].size() != 3 || !digits || fraction.size() > 9 ||
      !absl::SimpleAtoi(whole, &units) || whole.find_first_of("+-") != absl::string_view::npos ||
      !absl::SimpleAtoi(fraction.append(9 - fraction.size(), '0'), &nanos)) {
    *error = absl::StrCat("must be an amount and a currency, e.g. \"1234.50 EUR\" (got \"", text,
                          "\")");
    return "";
  }
  if (negative) units = -units, nanos = -nanos;
  return absl::StrCat("{\"currency_code\":", JsonQuote(parts[1]), ",\"units\":\"", units,
                      "\",\"nanos\":", nanos, "}");
}

// "2026-06-30" → {"year":2026,"month":6,"day":30}.
std::string DateJson(absl::string_view text, std::string* error) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int year, month, day;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &year) ||
      !absl::SimpleAtoi(parts[1], &month) || !absl::SimpleAtoi(parts[2], &day)) {
    *error = absl::StrCat("must be a date YYYY-MM-DD (got \"", text, "\")");
    return "";
  }
  return absl::StrCat("{\"year\":", year, ",\"month\":", month, ",\"day\":", day, "}");
}

void CollectFieldFlags(const Descriptor* d, std::vector<const FieldDescriptor*>& prefix,
                       std::vector<FieldFlag>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) continue;
    prefix.push_back(f);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || IsLeafMessage(f->message_type())) {
      if (!(f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)) {
        std::vector<std::string> names;
        for (const FieldDescriptor* p : prefix) names.push_back(p->name());
        std::string name = absl::StrJoin(names, ".");
        absl::StrReplaceAll({{"_", "-"}}, &name);
        out->push_back({.name = std::move(name), .path = prefix});
      }
    } else if (!f->is_repeated() && prefix.size() < 4) {
      CollectFieldFlags(f->message_type(), prefix, out);
    }
    prefix.pop_back();
  }
}

std::string FieldHelp(const FieldDescriptor* f) {
  std::string help;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    std::vector<std::string> values;
    const auto* e = f->enum_type();
    for (int i = 1; i < e->value_count(); ++i) {
      const std::string& name = e->value(i)->name();
      const std::string& zero = e->value(0)->name();
      const size_t cut = zero.rfind('_') + 1;
      values.push_back(absl::StartsWith(name, zero.substr(0, cut)) ? name.substr(cut) : name);
    }
    help = absl::StrCat("one of ", absl::StrJoin(values, "|"));
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const std::string& n = f->message_type()->full_name();
    help = n == "google.protobuf.Timestamp"   ? "time, RFC 3339 (2026-01-31T12:00:00Z)"
           : n == "google.protobuf.Duration"  ? "duration in seconds (90s, 3600s)"
           : n == "prm.common.v1.Money"       ? "money, amount and currency (\"1234.50 EUR\")"
           : n == "prm.common.v1.Date"        ? "date, YYYY-MM-DD"
                                              : "field paths, comma-separated";
  } else {
    help = f->cpp_type_name();
  }
  if (f->is_repeated()) help += "; a list, comma-separated";
  return help;
}


// One element of a flag's value as JSON, or an error.
std::string ElementJson(const FieldDescriptor* f, absl::string_view text, std::string* error) {
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    if (text == "true" || text == "false") return std::string(text);
    *error = "must be true or false";
    return "";
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    const auto* e = f->enum_type();
    const std::string upper = absl::AsciiStrToUpper(text);
    const std::string& zero = e->value(0)->name();
    const std::string prefix = zero.substr(0, zero.rfind('_') + 1);
    for (const std::string& name : {upper, prefix + upper}) {
      if (e->FindValueByName(name) != nullptr) return JsonQuote(name);
    }
    *error = absl::StrCat("unknown value \"", text, "\" (", FieldHelp(f), ")");
    return "";
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (f->message_type()->full_name() == "prm.common.v1.Money") return MoneyJson(text, error);
    if (f->message_type()->full_name() == "prm.common.v1.Date") return DateJson(text, error);
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      int64_t i;
      uint64_t u;
      if (absl::SimpleAtoi(text, &i) || absl::SimpleAtoi(text, &u)) return JsonQuote(text);
      *error = absl::StrCat("must be a whole number (got \"", text, "\")");
      return "";
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double d;
      if (absl::SimpleAtod(text, &d)) return JsonQuote(text);
      *error = absl::StrCat("must be a number (got \"", text, "\")");
      return "";
    }
    default:
      return JsonQuote(text);
  }
}

// {"partner": {"legal_name": "ACME"}} from the flags that were given.
struct JsonNode {
  std::map<std::string, JsonNode> children;
  std::string value;  // set for leaves
  std::string Text() const {
    if (children.empty()) return value;
    std::vector<std::string> members;
    for (const auto& [name, child] : children) members.push_back(JsonQuote(name) + ":" + child.Text());
    return "{" + absl::StrJoin(members, ",") + "}";
  }
};

bool ReadFile(const std::string& path, std::string* out) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    buffer << in.rdbuf();
  }
  *out = buffer.str();
  return true;
}

struct CommonOptions {
  ChannelOptions channel;
  std::string token;
  std::string token_file;
  std::string request_json;
  std::string request_file;
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
  std::string plot;
  bool all = false;
};

constexpr int kMaxPages = 10000;

void PrintNounUsage(absl::string_view noun, std::ostream& out) {
  out << "Usage: prmctl " << noun << " <verb> [--flag=value ...]\n\nVerbs:\n";
  for (const Verb& v : Verbs()) {
    if (v.noun != noun) continue;
    const size_t len = std::strlen(v.verb);
    const size_t pad = len < 18 ? 18 - len : 1;
    out << "  " << v.verb << std::string(pad, ' ') << v.summary << "\n";
  }
  out << "\n  prmctl " << noun << " <verb> --help   the verb's flags (one per request field)\n";
}

std::string Json(const Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!pretty) out += "\n";
  return out;
}

// The request: the JSON of --request-file and --request, then the field flags. Returns the
// problems, each naming its flag.
std::vector<std::string> BuildRequest(const CommonOptions& options,
                                      const std::vector<FieldFlag>& fields, Message* request) {
  std::vector<std::pair<std::string, std::string>> sources;  // origin, JSON text
  std::vector<std::string> errors;
  if (!options.request_file.empty()) {
    std::string text;
    if (ReadFile(options.request_file, &text)) {
      sources.emplace_back("--request-file", std::move(text));
    } else {
      errors.push_back("--request-file: cannot read " + options.request_file);
    }
  }
  if (!options.request_json.empty()) sources.emplace_back("--request", options.request_json);
  JsonNode root;
  for (const FieldFlag& field : fields) {
    const FieldDescriptor* leaf = field.path.back();
    const bool is_bool = leaf->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && !leaf->is_repeated();
    if (is_bool ? !field.on : field.text.empty()) continue;
    JsonNode* node = &root;
    for (const FieldDescriptor* p : field.path) node = &node->children[p->name()];
    std::string error;
    if (is_bool) {
      node->value = "true";
    } else if (leaf->is_repeated()) {
      std::vector<std::string> items;
      for (absl::string_view item : absl::StrSplit(field.text, ',')) {
        items.push_back(ElementJson(leaf, absl::StripAsciiWhitespace(item), &error));
      }
      node->value = "[" + absl::StrJoin(items, ",") + "]";
    } else {
      node->value = ElementJson(leaf, field.text, &error);
    }
    if (!error.empty()) errors.push_back(absl::StrCat("--", field.name, ": ", error));
  }
  if (!root.children.empty()) sources.emplace_back("the flags", root.Text());
  for (const auto& [origin, text] : sources) {
    std::unique_ptr<Message> part(request->New());
    const auto status = google::protobuf::util::JsonStringToMessage(text, part.get());
    if (!status.ok()) {
      errors.push_back(absl::StrCat(origin, ": ", status.ToString()));
    } else {
      request->MergeFrom(*part);
    }
  }
  return errors;
}

int RunVerb(const Verb& verb, int argc, const char* const* argv, const CommandContext& context) {
  const MethodDescriptor* method = FindMethod(verb.method);
  if (method == nullptr) {
    context.err << "prmctl: " << verb.method << ": no such method in this build\n";
    return kExitFailure;
  }
  const ServiceAddress* service = nullptr;
  for (const ServiceAddress& a : kAddresses) {
    if (method->service()->file()->package() == a.package) service = &a;
  }
  CommonOptions options;
  options.channel.address = service->default_address;
  if (method->server_streaming()) options.timeout = absl::ZeroDuration();
  FlagSet flags(absl::StrCat("prmctl ", verb.noun, " ", verb.verb),
                absl::StrCat(verb.summary, " (", method->full_name(), ")"));
  AddChannelFlags(flags, &options.channel, service->flag);
  flags.String("token", &options.token, "bearer token (a JWT, as `prmctl token` prints)");
  flags.String("token-file", &options.token_file, "file holding the bearer token");
  flags.Duration("timeout", &options.timeout,
                 method->server_streaming() ? "stop watching after this long (0 = never)"
                                            : "deadline of the call");
  flags.Bool("json", &options.json, "print the response as canonical proto3 JSON");
  flags.String("request", &options.request_json,
               absl::StrCat("the whole request as proto3 JSON (", method->input_type()->full_name(),
                            "); the flags below override its fields"));
  flags.String("request-file", &options.request_file, "the request as proto3 JSON from a file (- = stdin)");
  if (verb.plot) flags.String("plot", &options.plot, "also draw the forecast into this SVG file");
  const FieldDescriptor* page_token = method->input_type()->FindFieldByName("page_token");
  const FieldDescriptor* next_token = method->output_type()->FindFieldByName("next_page_token");
  if (page_token != nullptr && next_token != nullptr &&
      page_token->type() == FieldDescriptor::TYPE_STRING &&
      next_token->type() == FieldDescriptor::TYPE_STRING) {
    flags.Bool("all", &options.all,
               absl::StrCat("fetch every page (at most ", kMaxPages, ") and print them as one"));
  }

  std::vector<FieldFlag> fields;
  std::vector<const FieldDescriptor*> prefix;
  CollectFieldFlags(method->input_type(), prefix, &fields);
  const std::vector<std::string> taken = flags.Names();
  for (FieldFlag& field : fields) {
    if (std::find(taken.begin(), taken.end(), field.name) != taken.end()) continue;
    const FieldDescriptor* leaf = field.path.back();
    if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && !leaf->is_repeated()) {
      flags.Bool(field.name, &field.on, "request field, bool");
    } else {
      flags.String(field.name, &field.text, absl::StrCat("request field, ", FieldHelp(leaf)));
    }
  }
  if (std::optional<int> stop = ParseCommandFlags(flags, argc, argv, context)) return *stop;

  std::unique_ptr<Message> request(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
  std::vector<std::string> errors = BuildRequest(options, fields, request.get());
  std::string token = options.token;
  if (!options.token_file.empty() && !ReadFile(options.token_file, &token)) {
    errors.push_back("--token-file: cannot read " + options.token_file);
  }
  if (!errors.empty()) {
    context.err << "prmctl " << verb.noun << " " << verb.verb << ": "
                << absl::StrJoin(errors, "; ") << "\n";
    return kExitUsage;
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (absl::StartsWithIgnoreCase(token, "bearer ")) token = token.substr(7);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> opened = OpenChannel(options.channel);
  if (!opened.ok()) {
    context.err << "prmctl " << verb.noun << " " << verb.verb << ": " << opened.status().message()
                << "\n";
    return kExitUsage;
  }
  const std::shared_ptr<grpc::Channel>& channel = *opened;
  grpc::ClientContext call;
  if (options.timeout > absl::ZeroDuration()) {
    call.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.timeout));
  }
  if (!token.empty()) call.AddMetadata("authorization", "Bearer " + token);
  const std::string path = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  const Message* response_prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->output_type());
  std::unique_ptr<Message> response(response_prototype->New());

  if (method->server_streaming()) {
    grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING,
                                  channel);
    std::unique_ptr<grpc::ClientReader<Message>> reader(
        grpc::internal::ClientReaderFactory<Message>::Create(channel.get(), rpc, &call, *request));
    while (reader->Read(response.get())) {
      if (options.json) {
        context.out << Json(*response, false);
      } else {
        PrintDetail(*response, context.out);
        context.out << "\n";
      }
      context.out.flush();
    }
    const grpc::Status status = reader->Finish();
    if (status.ok() || (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
                        options.timeout > absl::ZeroDuration())) {
      return kExitOk;
    }
    PrintStatus(status, context.err);
    return kExitFailure;
  }

  grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, channel);
  grpc::Status status = grpc::internal::BlockingUnaryCall<Message, Message>(
      channel.get(), rpc, &call, *request, response.get());
  // --all: the next pages, their lists appended (MergeFrom), until no next_page_token is left.
  for (int page = 1; status.ok() && options.all && page < kMaxPages; ++page) {
    const std::string next = response->GetReflection()->GetString(*response, next_token);
    if (next.empty()) break;
    request->GetReflection()->SetString(request.get(), page_token, next);
    grpc::ClientContext next_call;
    if (options.timeout > absl::ZeroDuration()) {
      next_call.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(options.timeout));
    }
    if (!token.empty()) next_call.AddMetadata("authorization", "Bearer " + token);
    std::unique_ptr<Message> more(response->New());
    status = grpc::internal::BlockingUnaryCall<Message, Message>(channel.get(), rpc, &next_call,
                                                                 *request, more.get());
    response->MergeFrom(*more);
    if (status.ok() && more->GetReflection()->GetString(*more, next_token).empty()) {
      response->GetReflection()->ClearField(response.get(), next_token);
    }
  }
  if (!status.ok()) {
    PrintStatus(status, context.err);
    return kExitFailure;
  }
  if (options.json) {
    context.out << Json(*response, true);
  } else {
    PrintResponse(*response, context.out);
  }
  if (!options.plot.empty()) {
    const auto* forecast = dynamic_cast<const forecast::v1::GetForecastResponse*>(response.get());
    std::ofstream file(options.plot, std::ios::binary | std::ios::trunc);
    if (forecast == nullptr || !(file << ForecastSvg(forecast->forecast())) || !file.flush()) {
      context.err << "prmctl: --plot: cannot write " << options.plot << "\n";
      return kExitFailure;
    }
    context.err << "wrote " << options.plot << "\n";
  }
  return kExitOk;
}

}  // namespace

bool IsRpcNoun(std::string_view noun) {
  for (const Verb& v : Verbs()) {
    if (v.noun == noun) return true;
  }
  return false;
}

int RunRpcNoun(int argc, const char* const* argv, const CommandContext& context) {
  const absl::string_view noun = argv[0];
  if (argc < 2 || absl::string_view(argv[1]) == "--help" || absl::string_view(argv[1]) == "-h") {
    PrintNounUsage(noun, argc < 2 ? context.err : context.out);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  for (const Verb& v : Verbs()) {
    if (v.noun == noun && v.verb == absl::string_view(argv[1])) return RunVerb(v, argc - 1, argv + 1, context);
  }
  context.err << "prmctl: unknown verb \"" << argv[1] << "\" for " << noun << " (see prmctl "
              << noun << " --help)\n";
  return kExitUsage;
}

void PrintRpcUsage(std::ostream& out) {
  absl::string_view last;
  for (const Verb& v : Verbs()) {
    if (v.noun == last) continue;
    last = v.noun;
    std::vector<std::string> verbs;
    for (const Verb& w : Verbs()) {
      if (absl::string_view(w.noun) == v.noun) verbs.emplace_back(w.verb);
    }
    const size_t len = std::strlen(v.noun);
    std::string line = absl::StrCat("  ", v.noun, std::string(len < 12 ? 12 - len : 1, ' '));
    for (size_t i = 0; i < verbs.size(); ++i) {
      if (i > 0 && line.size() + 1 + verbs[i].size() > 96) {
        out << line << "\n";
        line = std::string(14, ' ');
      } else if (i > 0) {
        line += ' ';
      }
      line += verbs[i];
    }
    out << line << "\n";
  }
}

}  // namespace prm::prmctl
