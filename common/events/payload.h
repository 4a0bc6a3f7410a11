#pragma once

// Protobuf payloads in CloudEvents (SPEC §3.3): a domain event message travels as its binary
// encoding (`application/protobuf`) or its canonical proto3 JSON mapping (`application/json`);
// consumers accept both.
//
// Thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/cloud_event.h"
#include "google/protobuf/message.h"

namespace prm::events {

enum class PayloadEncoding { kProtobuf, kJson };

// An event carrying `payload`. `subject_and_key` (the aggregate id: partner, deal or task id)
// becomes both the `subject` attribute and the Kafka record key. Binary encoding is
// deterministic. If the JSON mapping of `payload` fails (e.g. a NaN in a google.protobuf.Value,
// or an Any of an unknown type), the event falls back to application/protobuf, which every
// consumer accepts, rather than losing the event.
CloudEvent MakeEvent(const google::protobuf::Message& payload, std::string type,
                     std::string source, std::string id, absl::Time time,
                     std::string subject_and_key,
                     PayloadEncoding encoding = PayloadEncoding::kProtobuf);

// The binary encoding of `message` with deterministic map order: equal messages give equal
// bytes (event payloads, command-log payloads and replies).
std::string SerializeDeterministically(const google::protobuf::Message& message);

// The longest string a consumed payload may hold at any depth: the limit every RPC applies to
// its requests (common/server/limits.h kMaxStringBytes), from which every event is made.
inline constexpr size_t kMaxPayloadStringBytes = 16 * 1024;

// OK when `message` is well formed at every depth, whatever its type: no string longer than
// kMaxPayloadStringBytes (map keys and values included); every google.protobuf.Timestamp within
// 0001-01-01..9999-12-31 with nanos 0..999999999; every google.protobuf.Duration within
// ±315576000000 s with nanos of the same sign; every prm.common.v1.Money with nanos within
// ±999999999 of the same sign as units. Otherwise INVALID_ARGUMENT naming each bad field by its
// path ("deal.outcome.close_time", "lines[0].amount"). Enum values a consumer does not know are
// left to it (a newer producer may add values). Nesting is bounded by the protobuf parser.
absl::Status ValidatePayload(const google::protobuf::Message& message);

// Parses the event's data into `out` (cleared first). Accepts datacontenttype
// application/protobuf, application/x-protobuf and application/json (parameters such as
// "; charset=utf-8" ignored). JSON is the canonical proto3 mapping and unknown fields are
// rejected so that a producer's typo surfaces at once instead of silently dropping data.
// Unknown fields in binary protobuf are kept (wire-format evolution).
// When `expected_type` is not empty, the event's type must equal it.
// INVALID_ARGUMENT for a type mismatch, another (or missing) content type, data that does not
// parse as `out`'s message type, or a payload ValidatePayload rejects (issue 7: a consumer
// dead-letters it rather than apply a 100 KiB id or an impossible time); on error `*out` is
// unspecified.
absl::Status UnpackPayload(const CloudEvent& event, google::protobuf::Message* out,
                           std::string_view expected_type = {});

}  // namespace prm::events
