#include "tools/prmctl/render.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"

namespace prm::prmctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Columns per resource type, where the first simple fields would not be the useful ones.
const std::map<std::string, std::vector<std::string>, std::less<>>& Columns() {
  static const auto* columns = new std::map<std::string, std::vector<std::string>, std::less<>>{
      {"prm.partner.v1.Partner",
       {"partner_id", "display_name", "legal_name", "hq_country_code", "types", "update_time"}},
      {"prm.partner.v1.Program", {"vendor_id", "program_id", "display_name", "tiers"}},
      {"prm.partner.v1.Enrollment",
       {"vendor_id", "partner_id", "program_id", "state", "tier_id", "concierge_worker_id"}},
      {"prm.deal.v1.Deal",
       {"deal_id", "partner_id", "state", "stage", "title", "has_conflict",
        "protection.expire_time"}},
      {"prm.routing.v1.Task",
       {"task_id", "partner_id", "category", "state", "queue_id", "worker_id", "title"}},
      {"prm.routing.v1.Worker",
       {"worker_id", "display_name", "role", "activity_id", "available"}},
      {"prm.forecast.v1.ForecastPoint",
       {"period_start", "mean", "lower_80", "upper_80", "lower_95", "upper_95"}},
      {"prm.forecast.v1.ActualPoint", {"period_start", "period_end", "actual"}},
  };
  return *columns;
}

constexpr size_t kMaxCell = 60;
constexpr size_t kMaxDefaultColumns = 7;

bool IsType(const Descriptor* d, std::string_view full_name) { return d->full_name() == full_name; }

// Message types shown as one value rather than as fields.
bool IsValueType(const Descriptor* d) {
  return IsType(d, "google.protobuf.Timestamp") || IsType(d, "google.protobuf.Duration") ||
         IsType(d, "google.protobuf.FieldMask") || IsType(d, "prm.common.v1.Money") ||
         IsType(d, "prm.common.v1.Date") ||
         (absl::StartsWith(d->full_name(), "google.protobuf.") &&
          absl::EndsWith(d->full_name(), "Value"));
}

// DEAL_STATE_APPROVED → APPROVED: the prefix shared with the zero value "…_UNSPECIFIED".
std::string EnumText(const google::protobuf::EnumValueDescriptor* value) {
  const std::string& name = value->name();
  const std::string& zero = value->type()->value(0)->name();
  const size_t cut = zero.rfind('_');
  if (cut != std::string::npos && name.size() > cut + 1 && name.compare(0, cut + 1, zero, 0, cut + 1) == 0) {
    return name.substr(cut + 1);
  }
  return name;
}

std::string Compact(const Message& message);

std::string ValueMessageText(const Message& m) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  auto i64 = [&](const char* name) { return r->GetInt64(m, d->FindFieldByName(name)); };
  auto i32 = [&](const char* name) { return r->GetInt32(m, d->FindFieldByName(name)); };
  if (IsType(d, "google.protobuf.Timestamp")) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ",
                            absl::FromUnixSeconds(i64("seconds")) + absl::Nanoseconds(i32("nanos")),
                            absl::UTCTimeZone());
  }
  if (IsType(d, "google.protobuf.Duration")) {
    return absl::FormatDuration(absl::Seconds(i64("seconds")) + absl::Nanoseconds(i32("nanos")));
  }
  if (IsType(d, "prm.common.v1.Money")) {
    const int64_t units = i64("units");
    const int32_t nanos = i32("nanos");
    const bool negative = units < 0 || nanos < 0;
    const uint64_t abs_units = units < 0 ? -static_cast<uint64_t>(units) : units;
    const int32_t abs_nanos = nanos < 0 ? -nanos : nanos;
    char cents[16];
    std::string fraction;
    if (abs_nanos % 10000000 == 0) {
      std::snprintf(cents, sizeof cents, "%02d", abs_nanos / 10000000);
      fraction = cents;
    } else {
      std::snprintf(cents, sizeof cents, "%09d", abs_nanos);
      fraction = cents;
      while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
    }
    return absl::StrCat(negative ? "-" : "", abs_units, ".", fraction, " ",
                        r->GetString(m, d->FindFieldByName("currency_code")));
  }
  if (IsType(d, "prm.common.v1.Date")) {
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", i32("year"), i32("month"), i32("day"));
    return text;
  }
  if (IsType(d, "google.protobuf.FieldMask")) {
    const FieldDescriptor* paths = d->FindFieldByName("paths");
    std::vector<std::string> out;
    for (int i = 0; i < r->FieldSize(m, paths); ++i) out.push_back(r->GetRepeatedString(m, paths, i));
    return absl::StrJoin(out, ",");
  }
  // Wrappers (google.protobuf.*Value): their one field.
  const FieldDescriptor* value = d->FindFieldByName("value");
  return value != nullptr ? FormatField(m, value) : Compact(m);
}

std::string MessageText(const Message& m) {
  return IsValueType(m.GetDescriptor()) ? ValueMessageText(m) : "{" + Compact(m) + "}";
}

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumText(rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (rep) return MessageText(r->GetRepeatedMessage(m, f, index));
      return r->HasField(m, f) ? MessageText(r->GetMessage(m, f)) : "";
  }
  return "";
}

bool IsSet(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  return f->is_repeated() ? r->FieldSize(m, f) > 0 : r->HasField(m, f);
}

// "key=value" pairs of the set fields, nested messages in braces.
std::string Compact(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  std::vector<std::string> parts;
  for (const FieldDescriptor* f : fields) parts.push_back(f->name() + "=" + FormatField(message, f));
  return absl::StrJoin(parts, " ");
}

std::string Cut(std::string text) {
  if (text.size() <= kMaxCell) return text;
  size_t end = kMaxCell - 1;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // UTF-8
  return text.substr(0, end) + "…";
}

// Display width of UTF-8 text (code points).
size_t Width(absl::string_view text) {
  size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

bool IsTableField(const FieldDescriptor* f) {
  return f->is_repeated() && !f->is_map() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         !IsValueType(f->message_type());
}

}  // namespace

std::string FormatField(const Message& message, const FieldDescriptor* field, int index) {
  if (!field->is_repeated() || index >= 0) return ScalarText(message, field, index);
  const Reflection* r = message.GetReflection();
  const int size = r->FieldSize(message, field);
  if (field->is_map()) {
    std::vector<std::string> entries;
    for (int i = 0; i < size; ++i) {
      const Message& entry = r->GetRepeatedMessage(message, field, i);
      const Descriptor* d = entry.GetDescriptor();
      entries.push_back(FormatField(entry, d->map_key()) + "=" + FormatField(entry, d->map_value()));
    }
    return absl::StrJoin(entries, ", ");
  }
  if (IsTableField(field)) return absl::StrCat("(", size, ")");
  std::vector<std::string> items;
  for (int i = 0; i < size; ++i) items.push_back(ScalarText(message, field, i));
  return absl::StrJoin(items, ", ");
}

std::string FormatPath(const Message& message, std::string_view path) {
  const Message* m = &message;
  std::vector<absl::string_view> names = absl::StrSplit(absl::string_view(path.data(), path.size()), '.');
  for (size_t i = 0; i < names.size(); ++i) {
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(std::string(names[i]));
    if (f == nullptr) return "";
    if (i + 1 == names.size()) return FormatField(*m, f);
    if (f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        !m->GetReflection()->HasField(*m, f)) {
      return "";
    }
    m = &m->GetReflection()->GetMessage(*m, f);
  }
  return "";
}

std::vector<std::string> ColumnsOf(const Descriptor* type) {
  if (auto it = Columns().find(type->full_name()); it != Columns().end()) return it->second;
  std::vector<std::string> columns;
  for (int i = 0; i < type->field_count() && columns.size() < kMaxDefaultColumns; ++i) {
    const FieldDescriptor* f = type->field(i);
    if (f->name() == "etag" || f->name() == "description" || f->name() == "update_time" ||
        IsTableField(f) || f->is_map()) {
      continue;
    }
    columns.push_back(f->name());
  }
  return columns;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths(header.size(), 0);
  std::vector<std::vector<std::string>> cells;
  cells.push_back({});
  for (const std::string& h : header) cells.back().push_back(absl::AsciiStrToUpper(h));
  for (const auto& row : rows) {
    cells.push_back({});
    for (const std::string& cell : row) cells.back().push_back(Cut(cell));
  }
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    out << line << "\n";
  }
}

void PrintRepeatedAsTable(const Message& message, const FieldDescriptor* field, std::ostream& out) {
  const Reflection* r = message.GetReflection();
  const std::vector<std::string> columns = ColumnsOf(field->message_type());
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < r->FieldSize(message, field); ++i) {
    const Message& element = r->GetRepeatedMessage(message, field, i);
    rows.emplace_back();
    for (const std::string& column : columns) rows.back().push_back(FormatPath(element, column));
  }
  PrintTable(columns, rows, out);
}

void PrintDetail(const Message& message, std::ostream& out, int indent,
                 bool skip_repeated_messages) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  size_t width = 0;
  for (const FieldDescriptor* f : fields) width = std::max(width, f->name().size());
  const std::string pad(indent, ' ');
  const Reflection* r = message.GetReflection();
  for (const FieldDescriptor* f : fields) {
    if (IsTableField(f)) {
      if (skip_repeated_messages) continue;
      out << pad << f->name() << ":\n";
      std::ostringstream table;
      PrintRepeatedAsTable(message, f, table);
      for (absl::string_view line : absl::StrSplit(table.str(), '\n', absl::SkipEmpty())) {
        out << pad << "  " << line << "\n";
      }
    } else if (!f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !IsValueType(f->message_type())) {
      out << pad << f->name() << ":\n";
      PrintDetail(r->GetMessage(message, f), out, indent + 2, skip_repeated_messages);
    } else {
      out << pad << f->name() << ":" << std::string(width - f->name().size() + 1, ' ')
          << FormatField(message, f) << "\n";
    }
  }
}

void PrintResponse(const Message& response, std::ostream& out) {
  const Descriptor* d = response.GetDescriptor();
  const Reflection* r = response.GetReflection();
  std::vector<const FieldDescriptor*> resources, tables, scalars;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (IsTableField(f)) {
      tables.push_back(f);
    } else if (IsSet(response, f)) {
      (!f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !IsValueType(f->message_type())
           ? resources
           : scalars)
          .push_back(f);
    }
  }
  // One resource, in detail; several under their names.
  for (const FieldDescriptor* f : resources) {
    if (resources.size() > 1) out << f->name() << ":\n";
    PrintDetail(r->GetMessage(response, f), out, resources.size() > 1 ? 2 : 0);
  }
  // Lists as tables; an empty one says so unless it only accompanies a resource (warnings).
  for (const FieldDescriptor* f : tables) {
    if (r->FieldSize(response, f) == 0) {
      if (resources.empty()) out << "(no " << f->name() << ")\n";
      continue;
    }
    if (tables.size() > 1 || !resources.empty()) out << f->name() << ":\n";
    PrintRepeatedAsTable(response, f, out);
  }
  for (const FieldDescriptor* f : scalars) {
    out << f->name() << ": " << FormatField(response, f) << "\n";
  }
  if (resources.empty() && tables.empty() && scalars.empty()) out << "OK\n";
}

void PrintStatus(const grpc::Status& status, std::ostream& err) {
  const absl::Status s = FromGrpcStatus(status);
  const std::vector<FieldViolation> violations = FieldViolationsOf(s);
  // The services' messages end with the violations (FieldViolations::ToStatus); they are listed
  // below, one per line, so that part is not repeated.
  std::vector<std::string> parts;
  for (const FieldViolation& v : violations) parts.push_back(v.field + " " + v.description);
  absl::string_view message = s.message();
  if (!violations.empty()) absl::ConsumeSuffix(&message, ": " + absl::StrJoin(parts, "; "));
  err << "prmctl: " << absl::StatusCodeToString(s.code()) << ": " << message << "\n";
  for (const FieldViolation& v : violations) {
    err << "  " << v.field << ": " << v.description << "\n";
  }
}

double MoneyValue(const Message& money) {
  const Descriptor* d = money.GetDescriptor();
  const Reflection* r = money.GetReflection();
  return static_cast<double>(r->GetInt64(money, d->FindFieldByName("units"))) +
         r->GetInt32(money, d->FindFieldByName("nanos")) / 1e9;
}

}  // namespace prm::prmctl
