#include "common/events/kafka_binding.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/json/bounded_json.h"
#include "nlohmann/json.hpp"

namespace prm::events {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kContentTypeHeader = "content-type";
constexpr std::string_view kHeaderPrefix = "ce_";
constexpr char kSummary[] = "invalid CloudEvent";
constexpr char kBadName[] = "attribute names must be 1-64 lowercase letters or digits";

// Debian's Abseil keeps its own string_view type (ABSL_OPTION_USE_STD_STRING_VIEW 0).
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::optional<Json> ParseBoundedJson(std::string_view text) {
  return json::ParseBounded(text, kMaxJsonDepth);
}

std::string DumpJson(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A bounded, escaped rendering of a name taken from the record, for violation messages.
std::string Printable(std::string_view name) {
  return absl::CHexEscape(Sv(name.substr(0, kMaxAttributeNameBytes)));
}

// An event as parsed, before the checks common to both modes.
struct Parsed {
  CloudEvent event;
  std::optional<std::string> specversion;
};

bool IsCoreStringAttribute(std::string_view name) {
  return name == "specversion" || name == "id" || name == "source" || name == "type" ||
         name == "subject" || name == "dataschema" || name == "datacontenttype";
}

// Assigns a core string attribute other than time; false when `name` is not one.
bool SetCoreString(Parsed& parsed, std::string_view name, std::string value,
                   FieldViolations& bad) {
  if (!IsCoreStringAttribute(name)) return false;
  CloudEvent& e = parsed.event;
  if (name == "specversion") {
    parsed.specversion = std::move(value);
  } else if (name == "id") {
    e.id = std::move(value);
  } else if (name == "source") {
    e.source = std::move(value);
  } else if (name == "type") {
    e.type = std::move(value);
  } else if (name == "subject" || name == "dataschema") {
    if (value.empty()) bad.Add(std::string(name), "must not be empty when present");
    (name == "subject" ? e.subject : e.data_schema) = std::move(value);
  } else {  // datacontenttype
    e.data_content_type = std::move(value);
  }
  return true;
}

void SetTime(Parsed& parsed, std::string_view text, FieldViolations& bad) {
  absl::StatusOr<absl::Time> time = ParseEventTime(text);
  if (time.ok()) {
    parsed.event.time = *time;
  } else {
    bad.Add("time", "must be an RFC 3339 timestamp");
  }
}

Parsed DecodeBinary(const kafka::Record& record, FieldViolations& bad) {
  Parsed parsed;
  parsed.event.partition_key = record.key;
  parsed.event.data = record.value;
  bool have_content_type = false;
  // The attribute names met so far (a record has at most kMaxHeaders headers; most have eight).
  absl::InlinedVector<std::string_view, 16> seen;
  for (const kafka::Header& header : record.headers) {
    const std::string_view key = header.key;
    if (absl::EqualsIgnoreCase(Sv(key), Sv(kContentTypeHeader))) {
      if (have_content_type) {
        bad.Add("datacontenttype", "content-type header is repeated");
      } else {
        have_content_type = true;
        parsed.event.data_content_type = header.value;
      }
      continue;
    }
    if (key.size() < kHeaderPrefix.size() ||
        !absl::EqualsIgnoreCase(Sv(key.substr(0, kHeaderPrefix.size())), Sv(kHeaderPrefix))) {
      continue;  // not ours: tracing and other application headers pass through
    }
    const std::string_view name = key.substr(kHeaderPrefix.size());
    if (!absl::StartsWith(Sv(key), Sv(kHeaderPrefix)) || !IsValidAttributeName(name)) {
      bad.Add(Printable(key), kBadName);
      continue;
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      bad.Add(std::string(name), "is repeated");
      continue;
    }
    seen.push_back(name);
    if (name == "time") {
      SetTime(parsed, header.value, bad);
    } else if (name == "datacontenttype") {
      bad.Add("datacontenttype", "travels in the content-type header in binary mode");
    } else if (name == "data") {
      bad.Add("data", "is the record value, not a header");
    } else if (!SetCoreString(parsed, name, header.value, bad)) {
      parsed.event.extensions.emplace_back(name, header.value);
    }
  }
  return parsed;
}

// nullopt (with the reason in `bad`) when the value is not a usable JSON object at all.
std::optional<Parsed> DecodeStructured(const kafka::Record& record, FieldViolations& bad) {
  if (record.value.size() > kMaxStructuredBytes) {
    bad.Add("value", absl::StrCat("is longer than ", kMaxStructuredBytes, " bytes"));
    return std::nullopt;
  }
  std::optional<Json> json = ParseBoundedJson(record.value);
  if (!json) {
    bad.Add("value", absl::StrCat("must be JSON nested at most ", kMaxJsonDepth, " deep"));
    return std::nullopt;
  }
  if (!json->is_object()) {
    bad.Add("value", "must be a JSON object");
    return std::nullopt;
  }
  if (json->size() > kMaxHeaders) {
    bad.Add("value", absl::StrCat("has more than ", kMaxHeaders, " members"));
    return std::nullopt;
  }
  Parsed parsed;
  parsed.event.partition_key = record.key;

  const Json* data = nullptr;
  const Json* data_base64 = nullptr;
  for (const auto& [name, value] : json->items()) {
    if (name == "data") {
      data = &value;
      continue;
    }
    if (value.is_null()) continue;  // JSON format §2.2: null means unset
    if (name == "data_base64") {
      data_base64 = &value;
      continue;
    }
    if (!IsValidAttributeName(name)) {
      bad.Add(Printable(name), kBadName);
      continue;
    }
    if (name == "time") {
      if (value.is_string()) {
        SetTime(parsed, value.get_ref<const std::string&>(), bad);
      } else {
        bad.Add("time", "must be a JSON string");
      }
      continue;
    }
    if (value.is_string()) {
      if (!SetCoreString(parsed, name, value.get<std::string>(), bad)) {
        parsed.event.extensions.emplace_back(name, value.get<std::string>());
      }
      continue;
    }
    if (IsCoreStringAttribute(name)) {
      bad.Add(name, "must be a JSON string");
    } else if (value.is_boolean()) {
      parsed.event.extensions.emplace_back(name, value.get<bool>() ? "true" : "false");
    } else if (value.is_number_integer()) {
      parsed.event.extensions.emplace_back(name, DumpJson(value));
    } else {
      bad.Add(name, "extension values must be JSON strings, integers or booleans");
    }
  }

  std::string& content_type = parsed.event.data_content_type;
  if (data != nullptr && data_base64 != nullptr) {
    bad.Add("data", "data and data_base64 are mutually exclusive");
  } else if (data_base64 != nullptr) {
    if (!data_base64->is_string()) {
      bad.Add("data_base64", "must be a JSON string");
    } else if (!absl::Base64Unescape(data_base64->get_ref<const std::string&>(),
                                     &parsed.event.data)) {
      bad.Add("data_base64", "is not valid base64");
    }
  } else if (data != nullptr) {
    // JSON format §3.1.2: no datacontenttype means application/json.
    if (content_type.empty()) content_type = std::string(content_type::kJson);
    if (IsJsonContentType(content_type)) {
      parsed.event.data = DumpJson(*data);
    } else if (data->is_string()) {
      parsed.event.data = data->get<std::string>();
    } else if (!data->is_null()) {
      bad.Add("data", "must be a JSON string for a non-JSON datacontenttype");
    }
  }
  return parsed;
}

}  // namespace

kafka::Record EncodeBinary(const CloudEvent& event, std::string topic) {
  kafka::Record record;
  record.topic = std::move(topic);
  record.key = event.partition_key;
  record.value = event.data;
  auto add = [&record](std::string_view name, std::string_view value) {
    record.headers.push_back({std::string(name), std::string(value)});
  };
  add("ce_specversion", kSpecVersion);
  add("ce_type", event.type);
  add("ce_source", event.source);
  add("ce_id", event.id);
  if (event.time != absl::InfinitePast()) add("ce_time", FormatEventTime(event.time));
  if (!event.data_content_type.empty()) add(kContentTypeHeader, event.data_content_type);
  if (!event.subject.empty()) add("ce_subject", event.subject);
  if (!event.data_schema.empty()) add("ce_dataschema", event.data_schema);
  for (const auto& [name, value] : event.extensions) {
    add(absl::StrCat(Sv(kHeaderPrefix), name), value);
  }
  return record;
}

kafka::Record EncodeStructured(const CloudEvent& event, std::string topic) {
  OrderedJson json;
  json["specversion"] = kSpecVersion;
  json["id"] = event.id;
  json["source"] = event.source;
  json["type"] = event.type;
  if (event.time != absl::InfinitePast()) json["time"] = FormatEventTime(event.time);
  if (!event.subject.empty()) json["subject"] = event.subject;
  if (!event.data_content_type.empty()) json["datacontenttype"] = event.data_content_type;
  if (!event.data_schema.empty()) json["dataschema"] = event.data_schema;
  for (const auto& [name, value] : event.extensions) json[name] = value;
  std::string text = json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);

  if (!event.data.empty()) {
    text.pop_back();  // the closing brace; the object is never empty
    if (IsJsonContentType(event.data_content_type) && ParseBoundedJson(event.data).has_value()) {
      absl::StrAppend(&text, ",\"data\":", event.data, "}");
    } else {
      absl::StrAppend(&text, ",\"data_base64\":\"", absl::Base64Escape(event.data), "\"}");
    }
  }

  kafka::Record record;
  record.topic = std::move(topic);
  record.key = event.partition_key;
  record.value = std::move(text);
  record.headers.push_back(
      {std::string(kContentTypeHeader), std::string(content_type::kCloudEventsJson)});
  return record;
}

absl::StatusOr<CloudEvent> Decode(const kafka::Record& record) {
  FieldViolations bad;
  if (record.headers.size() > kMaxHeaders) {
    bad.Add("headers", absl::StrCat("more than ", kMaxHeaders));
    return bad.ToStatus(kSummary);
  }
  // The media type of the content-type header, if any (not lowered: compared ignoring case).
  std::optional<absl::string_view> media_type;
  for (const kafka::Header& header : record.headers) {
    if (absl::EqualsIgnoreCase(header.key, Sv(kContentTypeHeader))) {
      const std::string_view value = header.value;
      media_type = absl::StripAsciiWhitespace(Sv(value.substr(0, value.find(';'))));
      break;
    }
  }

  Parsed parsed;
  if (media_type && absl::StartsWithIgnoreCase(*media_type, "application/cloudevents")) {
    if (!absl::EqualsIgnoreCase(*media_type, "application/cloudevents+json")) {
      bad.Add("content-type", "unsupported event format (only application/cloudevents+json)");
      return bad.ToStatus(kSummary);
    }
    std::optional<Parsed> structured = DecodeStructured(record, bad);
    if (!structured) return bad.ToStatus(kSummary);
    parsed = *std::move(structured);
  } else {
    parsed = DecodeBinary(record, bad);
  }

  if (!parsed.specversion || parsed.specversion->empty()) {
    bad.Add("specversion", "is required");
  } else if (*parsed.specversion != kSpecVersion) {
    bad.Add("specversion", "must be 1.0");
  }
  for (const FieldViolation& v : FieldViolationsOf(ValidateEvent(parsed.event))) {
    bad.Add(v.field, v.description);
  }
  if (!bad.empty()) return bad.ToStatus(kSummary);
  std::sort(parsed.event.extensions.begin(), parsed.event.extensions.end());
  return std::move(parsed.event);
}

}  // namespace prm::events
