#pragma once

// The CloudEvents 1.0 Kafka protocol binding (SPEC §3.3).
//
// Binary content mode (what PRM services publish):
//   headers  ce_specversion "1.0", ce_type, ce_source, ce_id, ce_time (when set),
//            content-type = datacontenttype (when set), ce_subject, ce_dataschema (when set),
//            then ce_<name> for each extension, in the event's order
//   value    the data bytes as is
//   key      the event's partition_key (the aggregate id)
// Structured content mode (accepted from ERP systems, also produced on request):
//   headers  content-type: application/cloudevents+json; charset=UTF-8
//   value    the JSON event format: "data" as a JSON value when datacontenttype is JSON and the
//            data parses as JSON, otherwise "data_base64"
//   key      the event's partition_key
//
// Decode picks the mode from the record's content-type header (case-insensitively): structured
// when its media type starts with "application/cloudevents", binary otherwise. It is total and
// bounded on any input: every problem is INVALID_ARGUMENT whose message and
// google.rpc.BadRequest payload (common/status/field_violations.h) name each bad attribute, as
// the consumer's dead-letter path expects. Decoded extensions are sorted by name; the
// partition_key is the record key. Headers that are neither content-type nor ce_* are ignored.
//
// All functions are thread-safe (no shared state).

#include <string>

#include "absl/status/statusor.h"
#include "common/events/cloud_event.h"
#include "common/kafka/record.h"

namespace prm::events {

// Binary content mode. `event` should satisfy ValidateEvent; encoding never fails.
kafka::Record EncodeBinary(const CloudEvent& event, std::string topic);

// Structured content mode (JSON event format). `event` should satisfy ValidateEvent; encoding
// never fails (strings that are not UTF-8 are written with U+FFFD replacements).
kafka::Record EncodeStructured(const CloudEvent& event, std::string topic);

// The event in `record`, in either mode. INVALID_ARGUMENT (naming each problem) for: more than
// kMaxHeaders headers; missing or empty specversion, id, source or type; specversion other than
// "1.0"; a malformed time; a header or member name that breaks the naming rule; a repeated
// attribute; any ValidateEvent failure; in structured mode also an unsupported event format,
// a value over kMaxStructuredBytes, invalid or too deeply nested JSON, attributes of the wrong
// JSON type, both data and data_base64, invalid base64, and non-string data for a non-JSON
// datacontenttype.
absl::StatusOr<CloudEvent> Decode(const kafka::Record& record);

}  // namespace prm::events
