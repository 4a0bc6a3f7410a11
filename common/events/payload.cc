#include "common/events/payload.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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

// What ValidatePayload checks in messages of one type, worked out once per type (payloads are
// checked on every consumed event; looking fields up by name each time was most of the cost).
struct Plan {
  enum class Kind { kMessage, kTimestamp, kDuration, kMoney };
  Kind kind = Kind::kMessage;
  // kTimestamp, kDuration, kMoney: the seconds (or units) and nanos fields.
  const google::protobuf::FieldDescriptor* whole = nullptr;
  const google::protobuf::FieldDescriptor* nanos = nullptr;
  // kMessage: its string fields, and its message fields with their plans.
  struct Field {
    const google::protobuf::FieldDescriptor* field;
    const Plan* message;  // null for a string field
  };
  std::vector<Field> fields;
  // Whether a Timestamp, Duration or Money may sit in such a message at some depth.
  bool holds_special = false;
};

// The plan of `type` and of every type it holds, made on first use and kept (a process sees a
// few dozen payload types). Recursive types (google.protobuf.Struct) refer to their own plan.
const Plan& PlanOf(const google::protobuf::Descriptor* type) {
  static absl::Mutex mu;
  static auto* plans = new absl::flat_hash_map<const google::protobuf::Descriptor*,
                                               std::unique_ptr<Plan>>;
  {
    absl::ReaderMutexLock lock(&mu);
    if (auto it = plans->find(type); it != plans->end()) return *it->second;
  }
  absl::MutexLock lock(&mu);
  // Made under the lock, children first in the map so that a cycle ends.
  std::function<const Plan*(const google::protobuf::Descriptor*)> make =
      [&](const google::protobuf::Descriptor* d) -> const Plan* {
    auto [it, inserted] = plans->try_emplace(d, nullptr);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<Plan>();
    Plan* plan = it->second.get();
    const std::string& name = d->full_name();
    const bool money = name == "prm.common.v1.Money";
    plan->kind = name == "google.protobuf.Timestamp" ? Plan::Kind::kTimestamp
                 : name == "google.protobuf.Duration" ? Plan::Kind::kDuration
                 : money                               ? Plan::Kind::kMoney
                                                       : Plan::Kind::kMessage;
    if (plan->kind != Plan::Kind::kMessage) {
      plan->whole = d->FindFieldByName(money ? "units" : "seconds");
      plan->nanos = d->FindFieldByName("nanos");
      if (plan->whole != nullptr && plan->nanos != nullptr) return plan;
      plan->kind = Plan::Kind::kMessage;
    }
    using google::protobuf::FieldDescriptor;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        plan->fields.push_back({f, nullptr});
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        plan->fields.push_back({f, make(f->message_type())});
      }
    }
    return plan;
  };
  const Plan* plan = make(type);
  // holds_special of every plan, to a fixed point (types may refer to each other in cycles).
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [d, p] : *plans) {
      bool holds = p->kind != Plan::Kind::kMessage;
      for (const Plan::Field& f : p->fields) {
        holds |= f.message != nullptr && f.message->holds_special;
      }
      if (holds && !p->holds_special) {
        p->holds_special = true;
        changed = true;
      }
    }
  }
  return *plan;
}

// Checks a Timestamp, Duration or Money by its two fields.
void CheckSpecial(const google::protobuf::Message& message, const Plan& plan, const Path& path,
                  FieldViolations& bad) {
  const google::protobuf::Reflection* r = message.GetReflection();
  const int64_t whole = r->GetInt64(message, plan.whole);
  const int32_t nanos = r->GetInt32(message, plan.nanos);
  const bool duration = plan.kind == Plan::Kind::kDuration;
  if (plan.kind == Plan::Kind::kTimestamp) {
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
}

void CheckString(const std::string& value, const Path& path, FieldViolations& bad) {
  if (value.size() > kMaxPayloadStringBytes) {
    bad.Add(ToString(path), absl::StrCat("is longer than ", kMaxPayloadStringBytes, " bytes"));
  }
}

// `strings` false: string lengths are known to be within bounds (the whole encoding is), so
// only messages that may hold a Timestamp, Duration or Money are visited.
void Check(const google::protobuf::Message& message, const Plan& plan, bool strings,
           const Path& path, FieldViolations& bad) {
  if (plan.kind != Plan::Kind::kMessage) {
    CheckSpecial(message, plan, path, bad);
    return;
  }
  const google::protobuf::Reflection* r = message.GetReflection();
  std::string scratch;  // GetStringReference's buffer for fields not stored as std::string
  for (const Plan::Field& field : plan.fields) {
    const google::protobuf::FieldDescriptor* f = field.field;
    if (field.message == nullptr ? !strings : !strings && !field.message->holds_special) continue;
    if (f->is_repeated()) {
      const int n = r->FieldSize(message, f);
      for (int i = 0; i < n; ++i) {
        const Path element{&path, f, i};
        if (field.message == nullptr) {
          CheckString(r->GetRepeatedStringReference(message, f, i, &scratch), element, bad);
        } else {
          // Map entries are messages of a key and a value: both are checked.
          Check(r->GetRepeatedMessage(message, f, i), *field.message, strings, element, bad);
        }
      }
    } else if (field.message == nullptr) {
      CheckString(r->GetStringReference(message, f, &scratch), Path{&path, f}, bad);
    } else if (r->HasField(message, f)) {
      Check(r->GetMessage(message, f), *field.message, strings, Path{&path, f}, bad);
    }
  }
}

// ValidatePayload of a message decoded from `encoded_bytes` bytes of binary encoding (0: not
// known), which bound the length of every string in it.
absl::Status Validate(const google::protobuf::Message& message, size_t encoded_bytes) {
  FieldViolations bad;
  const bool strings = encoded_bytes == 0 || encoded_bytes > kMaxPayloadStringBytes;
  Check(message, PlanOf(message.GetDescriptor()), strings, Path{}, bad);
  if (bad.empty()) return absl::OkStatus();
  return bad.ToStatus(
      absl::StrCat("data: not a well-formed ", message.GetDescriptor()->full_name()));
}

}  // namespace

absl::Status ValidatePayload(const google::protobuf::Message& message) {
  return Validate(message, 0);
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
  // (Normalized only when it is not already the usual spelling.)
  std::string normalized;
  std::string_view media_type = event.data_content_type;
  if (media_type != content_type::kProtobuf) media_type = normalized = MediaTypeOf(media_type);
  const std::string& message_name = out->GetDescriptor()->full_name();
  if (media_type == content_type::kProtobuf || media_type == kXProtobuf) {
    if (!out->ParseFromString(event.data)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data: not a valid ", message_name, " in protobuf encoding"));
    }
    return Validate(*out, event.data.size());
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
