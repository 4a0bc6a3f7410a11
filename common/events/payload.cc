#include "common/events/payload.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "common/status/field_violations.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/util/json_util.h"

namespace prm::events {
namespace {

constexpr std::string_view kXProtobuf = "application/x-protobuf";

// Text from the record, bounded and escaped for error messages.
std::string Clip(std::string_view s) {
  s = s.substr(0, 256);
  return absl::CHexEscape(absl::string_view(s.data(), s.size()));
}

constexpr int64_t kMinTimestampSeconds = -62'135'596'800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;   // 9999-12-31T23:59:59Z
constexpr int64_t kMaxDurationSeconds = 315'576'000'000;    // 10,000 years
constexpr int32_t kMaxNanos = 999'999'999;

// Where a field sits in the payload. Built into its text ("lines[0].amount") only for a
// violation: payloads are checked on every consumed event, and almost all are well formed.
struct Path {
  const Path* parent = nullptr;
  const google::protobuf::FieldDescriptor* field = nullptr;  // null: the payload itself
  int index = -1;                                             // an element of a repeated field
};

std::string ToString(const Path& path) {
  if (path.field == nullptr) return "data";
  std::string text;
  if (path.parent != nullptr && path.parent->field != nullptr) {
    text = absl::StrCat(ToString(*path.parent), ".");
  }
  absl::StrAppend(&text, path.field->name());
  if (path.index >= 0) absl::StrAppend(&text, "[", path.index, "]");
  return text;
}

// Checks a message of a well-known type or prm.common.v1.Money by its fields 1 and 2 (seconds
// or units, nanos); false when `message` is of none of them.
bool CheckSpecial(const google::protobuf::Message& message, const Path& path,
                  FieldViolations& bad) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const std::string& name = d->full_name();
  const bool timestamp = name == "google.protobuf.Timestamp";
  const bool duration = name == "google.protobuf.Duration";
  const bool money = name == "prm.common.v1.Money";
  if (!timestamp && !duration && !money) return false;
  const google::protobuf::FieldDescriptor* first =
      d->FindFieldByName(money ? "units" : "seconds");
  const google::protobuf::FieldDescriptor* nanos_field = d->FindFieldByName("nanos");
  if (first == nullptr || nanos_field == nullptr) return false;
  const google::protobuf::Reflection* r = message.GetReflection();
  const int64_t whole = r->GetInt64(message, first);
  const int32_t nanos = r->GetInt32(message, nanos_field);
  if (timestamp) {
    if (whole < kMinTimestampSeconds || whole > kMaxTimestampSeconds || nanos < 0 ||
        nanos > kMaxNanos) {
      bad.Add(ToString(path), "must be a time within 0001-01-01..9999-12-31, nanos 0..999999999");
    }
  } else if (nanos < -kMaxNanos || nanos > kMaxNanos || (whole > 0 && nanos < 0) ||
             (whole < 0 && nanos > 0) ||
             (duration && (whole < -kMaxDurationSeconds || whole > kMaxDurationSeconds))) {
    bad.Add(ToString(path), duration
                                ? "must be within 10000 years, nanos of the same sign"
                                : "nanos must be within -999999999..999999999, of the sign of units");
  }
  return true;
}

void CheckString(const std::string& value, const Path& path, FieldViolations& bad) {
  if (value.size() > kMaxPayloadStringBytes) {
    bad.Add(ToString(path), absl::StrCat("is longer than ", kMaxPayloadStringBytes, " bytes"));
  }
}

void Check(const google::protobuf::Message& message, const Path& path, FieldViolations& bad) {
  if (CheckSpecial(message, path, bad)) return;
  const google::protobuf::Reflection* r = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    using google::protobuf::FieldDescriptor;
    const bool string = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    const bool nested = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!string && !nested) continue;
    if (f->is_repeated()) {
      const int n = r->FieldSize(message, f);
      for (int i = 0; i < n; ++i) {
        const Path element{&path, f, i};
        if (string) {
          CheckString(r->GetRepeatedString(message, f, i), element, bad);
        } else {
          // Map entries are messages of a key and a value: both are checked.
          Check(r->GetRepeatedMessage(message, f, i), element, bad);
        }
      }
    } else if (string) {
      CheckString(r->GetString(message, f), Path{&path, f}, bad);
    } else {
      Check(r->GetMessage(message, f), Path{&path, f}, bad);
    }
  }
}

}  // namespace

absl::Status ValidatePayload(const google::protobuf::Message& message) {
  FieldViolations bad;
  Check(message, Path{}, bad);
  return bad.ToStatus(absl::StrCat("data: not a well-formed ", message.GetDescriptor()->full_name()));
}

std::string SerializeDeterministically(const google::protobuf::Message& payload) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    payload.SerializePartialToCodedStream(&coded);
  }
  return bytes;
}

CloudEvent MakeEvent(const google::protobuf::Message& payload, std::string type,
                     std::string source, std::string id, absl::Time time,
                     std::string subject_and_key, PayloadEncoding encoding) {
  CloudEvent event;
  event.id = std::move(id);
  event.source = std::move(source);
  event.type = std::move(type);
  event.time = time;
  event.subject = subject_and_key;
  event.partition_key = std::move(subject_and_key);
  if (encoding == PayloadEncoding::kJson) {
    std::string json;
    if (google::protobuf::util::MessageToJsonString(payload, &json).ok()) {
      event.data_content_type = std::string(content_type::kJson);
      event.data = std::move(json);
      return event;
    }
  }
  event.data_content_type = std::string(content_type::kProtobuf);
  event.data = SerializeDeterministically(payload);
  return event;
}

absl::Status UnpackPayload(const CloudEvent& event, google::protobuf::Message* out,
                           std::string_view expected_type) {
  if (!expected_type.empty() && event.type != expected_type) {
    return absl::InvalidArgumentError(absl::StrCat("type: expected ", Clip(expected_type),
                                                   ", got ", Clip(event.type)));
  }
  out->Clear();
  const std::string media_type = MediaTypeOf(event.data_content_type);
  const std::string& message_name = out->GetDescriptor()->full_name();
  if (media_type == content_type::kProtobuf || media_type == kXProtobuf) {
    if (!out->ParseFromString(event.data)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data: not a valid ", message_name, " in protobuf encoding"));
    }
    return ValidatePayload(*out);
  }
  if (media_type == content_type::kJson) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(event.data, out, options);
    if (!status.ok()) {
      const auto message = status.message();
      return absl::InvalidArgumentError(
          absl::StrCat("data: not a valid ", message_name, " in proto3 JSON: ",
                       Clip(std::string_view(message.data(), message.size()))));
    }
    return ValidatePayload(*out);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("datacontenttype: must be application/protobuf or application/json, got \"",
                   Clip(event.data_content_type), "\""));
}

}  // namespace prm::events
