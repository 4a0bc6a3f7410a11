#pragma once

// A CloudEvents 1.0 event as PRM code handles it (SPEC §3.3), independent of how it travels.
// kafka_binding.h maps it to and from Kafka records; payload.h packs protobuf messages into it.
//
// Attributes are kept as strings; an empty string (or InfinitePast() for `time`) means the
// optional attribute is absent. `specversion` is always "1.0" and so is not stored. Extension
// attribute values are kept in their canonical string form (the JSON format's booleans and
// integers become "true" / "42").
//
// Limits (enforced by ValidateEvent and the Kafka decoder; documented in the AsyncAPI file):
//   kMaxAttributeBytes      any attribute value, including content-type
//   kMaxAttributeNameBytes  any attribute name
//   kMaxExtensions          extension attributes per event
//   kMaxHeaders             headers on one Kafka record, of any kind
//   kMaxStructuredBytes     a structured-mode (JSON) record value
//   kMaxJsonDepth           nesting of a structured-mode JSON document, data included

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prm::events {

inline constexpr std::string_view kSpecVersion = "1.0";

namespace content_type {
// The payload encodings of SPEC §3.3.
inline constexpr std::string_view kProtobuf = "application/protobuf";
inline constexpr std::string_view kJson = "application/json";
// A whole event in the JSON event format (structured content mode).
inline constexpr std::string_view kCloudEventsJson = "application/cloudevents+json; charset=UTF-8";
}  // namespace content_type

inline constexpr size_t kMaxAttributeBytes = 4 * 1024;
inline constexpr size_t kMaxAttributeNameBytes = 64;
inline constexpr size_t kMaxExtensions = 32;
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxStructuredBytes = 4 * 1024 * 1024;
inline constexpr int kMaxJsonDepth = 64;

struct CloudEvent {
  // (Every member has an initializer so that designated initializers may omit any of them.)
  std::string id{};                        // required; with `source`, the dedupe key
  std::string source{};                    // required, a URI-reference
  std::string type{};                      // required, e.g. "prm.deal.DealSubmitted.v1"
  std::string subject{};                   // optional, e.g. the aggregate id
  absl::Time time = absl::InfinitePast();  // optional; InfinitePast() = absent
  std::string data_content_type{};         // optional, e.g. content_type::kProtobuf
  std::string data_schema{};               // optional, a URI
  std::string data{};                      // the payload bytes, encoded per data_content_type
  std::vector<std::pair<std::string, std::string>> extensions{};  // name, value
  // Not an attribute: the Kafka record key (the aggregate id), so per-aggregate order holds.
  std::string partition_key{};

  friend bool operator==(const CloudEvent&, const CloudEvent&) = default;
};

// OK when the event can be sent as is; otherwise INVALID_ARGUMENT naming every bad attribute:
// id/source/type missing; a value longer than kMaxAttributeBytes, not UTF-8, or holding a
// control character (CloudEvents §"Type System", String); time outside years 0000–9999; more
// than kMaxExtensions extensions; an extension whose name is not a valid attribute name, repeats,
// or is one of the core attribute names (specversion, id, source, type, subject, time,
// datacontenttype, dataschema, data).
absl::Status ValidateEvent(const CloudEvent& event);

// CloudEvents naming rule: 1 to kMaxAttributeNameBytes characters from [a-z0-9].
bool IsValidAttributeName(std::string_view name);

// RFC 3339 in UTC, e.g. "2018-04-05T03:56:24Z" or "2018-04-05T03:56:24.5Z" (fractional
// seconds only when non-zero, with as many digits as needed).
std::string FormatEventTime(absl::Time time);

// Parses an RFC 3339 timestamp ("YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", T and Z in either
// case, nothing before or after). INVALID_ARGUMENT otherwise (including impossible dates).
absl::StatusOr<absl::Time> ParseEventTime(std::string_view text);

// True when the media type, stripped of parameters, is */json or */*+json (the JSON format's
// definition of JSON-formatted data).
bool IsJsonContentType(std::string_view content_type);

// The media type of a content type, lower-cased, without parameters or surrounding blanks:
// "Application/JSON; charset=utf-8" → "application/json".
std::string MediaTypeOf(std::string_view content_type);

}  // namespace prm::events
