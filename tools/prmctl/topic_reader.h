#pragma once

// Reads a Kafka topic as it is now, for prmctl's inspection commands: every partition from its
// first record up to its end offset (high watermark) at the time of the call, then stops. It
// assigns partitions directly — it joins no consumer group and commits nothing, so the services'
// groups never see it. librdkafka stays behind this type.
//
// Not thread-safe: one call at a time.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/record.h"

namespace prm::prmctl {

class TopicReader {
 public:
  // INVALID_ARGUMENT for a malformed broker list. Does not wait for the broker.
  static absl::StatusOr<std::unique_ptr<TopicReader>> Create(const std::string& brokers);
  virtual ~TopicReader() = default;

  // OK when `topic` exists; NOT_FOUND when it does not; UNAVAILABLE when no broker answers
  // within `timeout`.
  virtual absl::Status CheckTopic(const std::string& topic, absl::Duration timeout) = 0;

  // Every record of `topic`, ordered by partition then offset, up to the end offsets read when
  // the call starts. NOT_FOUND / UNAVAILABLE as CheckTopic; DEADLINE_EXCEEDED when the end is
  // not reached within `timeout` (all of it: metadata, watermarks and fetching).
  virtual absl::StatusOr<std::vector<kafka::Record>> ReadToEnd(const std::string& topic,
                                                               absl::Duration timeout) = 0;
};

}  // namespace prm::prmctl
