// A Kafka record with arbitrary key, value and headers (CloudEvents binary or structured mode):
// Decode never crashes, and whatever it accepts survives a binary-mode round trip unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/events/kafka_binding.h"

namespace {

constexpr const char* kHeaderNames[] = {
    "ce_specversion", "ce_id",        "ce_source",  "ce_type",      "ce_subject",
    "ce_time",        "content-type", "ce_dataschema", "ce_traceparent", "ce_x"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  prm::kafka::Record record;
  record.topic = "prm.fuzz.v1";
  record.key = in.ConsumeRandomLengthString(64);
  const int headers = in.ConsumeIntegralInRange(0, 24);
  for (int i = 0; i < headers; ++i) {
    std::string name = in.ConsumeBool() ? kHeaderNames[in.ConsumeIntegralInRange<size_t>(
                                              0, std::size(kHeaderNames) - 1)]
                                        : in.ConsumeRandomLengthString(24);
    record.headers.push_back({std::move(name), in.ConsumeRandomLengthString(128)});
  }
  record.value = in.ConsumeRemainingBytesAsString();

  auto event = prm::events::Decode(record);
  if (!event.ok()) return 0;
  auto again = prm::events::Decode(prm::events::EncodeBinary(*event, record.topic));
  if (!again.ok() || !(*again == *event)) std::abort();  // accepted but not re-encodable
  return 0;
}
