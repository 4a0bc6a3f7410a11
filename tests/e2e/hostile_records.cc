#include "tests/e2e/hostile_records.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"

namespace prm::e2e {
namespace {

constexpr char kSource[] = "e2e/hostile-producer";

HostileRecord Case(const std::string& topic_name, const std::string& name, kafka::Record record,
                   std::set<std::string> dead_letterers) {
  HostileRecord h{absl::StrCat(topic_name, "/", name), std::move(record),
                  std::move(dead_letterers)};
  return h;
}

void SetHeader(kafka::Record& record, const std::string& key, const std::string& value) {
  for (kafka::Header& h : record.headers) {
    if (h.key == key) {
      h.value = value;
      return;
    }
  }
  record.headers.push_back({key, value});
}

void RemoveHeader(kafka::Record& record, const std::string& key) {
  record.headers.erase(std::remove_if(record.headers.begin(), record.headers.end(),
                                      [&](const kafka::Header& h) { return h.key == key; }),
                       record.headers.end());
}

// A structured-mode record whose value is `value`.
kafka::Record Structured(const kafka::Record& valid, std::string value) {
  kafka::Record r;
  r.topic = valid.topic;
  r.key = valid.key;
  r.value = std::move(value);
  r.headers.push_back({"content-type", std::string(events::content_type::kCloudEventsJson)});
  return r;
}

}  // namespace

kafka::Record EventRecord(const google::protobuf::Message& payload, const std::string& type,
                          const std::string& key, const std::string& topic, const std::string& id,
                          events::PayloadEncoding encoding) {
  return events::EncodeBinary(
      events::MakeEvent(payload, type, kSource, id, absl::Now(), key, encoding), topic);
}

HostileRecord InvalidUtf8Case(const std::string& name, const google::protobuf::Message& payload,
                              const std::string& type, const std::string& key,
                              const std::string& topic, const std::string& id,
                              events::PayloadEncoding encoding, std::set<std::string> consumers) {
  kafka::Record r = EventRecord(payload, type, key, topic, id, encoding);
  const std::string marker = kUtf8Marker;
  // 0xC3 0x28: a lead byte followed by no continuation byte; then lone continuation bytes.
  std::string bad = "\xc3\x28";
  bad.resize(marker.size(), '\x80');
  r.value = absl::StrReplaceAll(r.value, {{marker, bad}});
  return {name, std::move(r), std::move(consumers)};
}

std::vector<HostileRecord> EnvelopeCases(const std::string& topic_name, const kafka::Record& valid,
                                         const std::set<std::string>& consumers) {
  std::vector<HostileRecord> out;
  auto add = [&](const std::string& name, kafka::Record r, std::set<std::string> dlq) {
    out.push_back(Case(topic_name, name, std::move(r), std::move(dlq)));
  };
  const std::string type(valid.FindHeader("ce_type").value_or(""));
  const std::string id(valid.FindHeader("ce_id").value_or(""));

  kafka::Record r = valid;
  r.value = "\xff\xff\xff\x07 not a protobuf";
  add("not-protobuf", r, consumers);

  r = valid;
  SetHeader(r, "content-type", "application/json");
  r.value = "{\"vendorId\": [1, 2";
  add("not-json", r, consumers);

  r = valid;
  SetHeader(r, "content-type", "application/json");
  r.value.clear();
  add("empty-json", r, consumers);

  // All 0xFF: a varint that never ends, so no prefix of it parses either.
  r = valid;
  r.value.assign(kHugeValueBytes, '\xff');
  add("huge-garbage", r, consumers);

  r = valid;
  SetHeader(r, "content-type", "text/plain");
  add("unknown-content-type", r, consumers);

  r = valid;
  RemoveHeader(r, "ce_type");
  add("no-ce-type", r, consumers);

  r = valid;
  RemoveHeader(r, "ce_id");
  add("no-ce-id", r, consumers);

  r = valid;
  RemoveHeader(r, "ce_source");
  add("no-ce-source", r, consumers);

  r = valid;
  SetHeader(r, "ce_specversion", "0.3");
  add("bad-specversion", r, consumers);

  r = valid;
  SetHeader(r, "ce_time", "yesterday at noon");
  add("ce-time-not-a-time", r, consumers);

  r = valid;
  SetHeader(r, "ce_time", "2026-02-30T25:61:00Z");
  add("ce-time-impossible", r, consumers);

  r = valid;
  SetHeader(r, "ce_id", std::string(100 * 1024, 'i'));
  add("ce-id-100kib", r, consumers);

  r = valid;
  for (int i = 0; i < 70; ++i) r.headers.push_back({absl::StrCat("x-extra-", i), "x"});
  add("too-many-headers", r, consumers);

  add("structured-not-json", Structured(valid, "{\"specversion\": \"1.0\", \"id\": "), consumers);

  const std::string attributes = absl::StrCat("\"specversion\":\"1.0\",\"id\":\"", id,
                                              "-structured\",\"source\":\"", kSource,
                                              "\",\"type\":\"", type, "\"");
  add("structured-invalid-utf8",
      Structured(valid, absl::StrCat("{", attributes, ",\"datacontenttype\":\"application/json\","
                                     "\"data\":{\"vendorId\":\"\xc3\x28\xff\"}}")),
      consumers);

  add("structured-nested-100k",
      Structured(valid, absl::StrCat("{", attributes, ",\"data\":", std::string(100'000, '['),
                                     std::string(100'000, ']'), "}")),
      consumers);

  // Unknown event types: ignored by every consumer (a newer producer's), never dead-lettered.
  const std::string area = type.substr(0, type.find('.', 4));  // "prm.sales"
  r = valid;
  SetHeader(r, "ce_type", absl::StrCat(area, ".HostileUnknownEvent.v1"));
  r.value = "\xff\xff not even a payload";
  add("unknown-prm-type", r, {});

  r = valid;
  SetHeader(r, "ce_type", "com.example.hostile.Unknown.v7");
  add("unknown-foreign-type", r, {});
  return out;
}

}  // namespace prm::e2e
