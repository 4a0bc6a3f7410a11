#pragma once

// Hostile records for the consumed topics (issue 7, "Hostile input"): what a broken or malicious
// producer could put on prm.sales.v1, prm.partner.v1 or prm.deal.v1. Each record carries the
// header kCaseHeader naming its case; the decoder ignores headers that are not ce_* and the
// consumer keeps every header in the dead letter, so the test finds each case's dead letters
// by it (even those of records with no ce_id at all).

#include <set>
#include <string>
#include <vector>

#include "common/events/payload.h"
#include "common/kafka/record.h"
#include "google/protobuf/message.h"

namespace prm::e2e {

inline constexpr char kCaseHeader[] = "e2e_case";

// Put this into a string field of a payload, then encode it with InvalidUtf8Case: the marker's
// bytes become bytes that are no UTF-8 (the same number of them, so protobuf lengths still hold).
inline constexpr char kUtf8Marker[] = "HOSTILE-UTF8-MARKER";

struct HostileRecord {
  std::string name;  // "sales/negative-amount"; the value of kCaseHeader
  kafka::Record record;
  // The services that must dead-letter the record; empty when every consumer ignores it.
  std::set<std::string> dead_letterers;
};

// A binary-mode record of `payload` as event `type` with id `id`, key `key`, on `topic`.
kafka::Record EventRecord(const google::protobuf::Message& payload, const std::string& type,
                          const std::string& key, const std::string& topic, const std::string& id,
                          events::PayloadEncoding encoding = events::PayloadEncoding::kProtobuf);

// A case of `payload`, which holds kUtf8Marker in a string field: the record's payload
// (protobuf or JSON) has that field's bytes replaced by invalid UTF-8.
HostileRecord InvalidUtf8Case(const std::string& name, const google::protobuf::Message& payload,
                              const std::string& type, const std::string& key,
                              const std::string& topic, const std::string& id,
                              events::PayloadEncoding encoding, std::set<std::string> consumers);

// The cases every consumed topic gets, made from `valid` (a good binary-mode protobuf record of
// the topic, with its ce_id): a value that is no protobuf, no JSON, empty JSON, ~1 MiB of
// garbage (as large as the broker takes), an unknown content type; no ce_type, ce_id or
// ce_source, a bad ce_specversion, a ce_time that is no time or an impossible date, too many
// headers; structured mode that is no JSON, holds invalid UTF-8 or nests too deep — all
// dead-lettered by every one of `consumers` — and two unknown event types (a PRM-looking one and
// a foreign one), which the contract (AsyncAPI, runtime::DecodeRecord) says consumers ignore.
std::vector<HostileRecord> EnvelopeCases(const std::string& topic_name, const kafka::Record& valid,
                                         const std::set<std::string>& consumers);

// The size of the garbage case's value: 1 MiB less room for the record's key and headers, so
// that the record fits the broker's default message.max.bytes (1048588).
inline constexpr size_t kHugeValueBytes = 1024 * 1024 - 2048;

}  // namespace prm::e2e
