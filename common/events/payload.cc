#include "common/events/payload.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"

namespace prm::events {
namespace {

constexpr std::string_view kXProtobuf = "application/x-protobuf";

// Text from the record, bounded and escaped for error messages.
std::string Clip(std::string_view s) {
  s = s.substr(0, 256);
  return absl::CHexEscape(absl::string_view(s.data(), s.size()));
}

}  // namespace

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
    return absl::OkStatus();
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
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("datacontenttype: must be application/protobuf or application/json, got \"",
                   Clip(event.data_content_type), "\""));
}

}  // namespace prm::events
