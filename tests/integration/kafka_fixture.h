#pragma once

// What the integration tests share: the address of the real broker that scripts/test starts
// (TEST_KAFKA_BROKERS; a test fails, never skips, without it), unique names per test run, and a
// reader that fetches a topic's records directly with librdkafka, independent of the code
// under test.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/kafka/record.h"

namespace prm::testing {

// The broker's bootstrap address; fails the current test when TEST_KAFKA_BROKERS is unset.
std::string KafkaBrokers();

// A name unique to this test process and call, e.g. for consumer groups and event ids.
std::string UniqueName(const std::string& prefix);

// Every record of every partition of `topic` from the beginning up to the end offsets read at
// call time (the high watermarks), or until `timeout`.
std::vector<kafka::Record> ReadTopic(const std::string& topic, absl::Duration timeout);
// The same from the broker at `brokers` (a test's own broker) instead of TEST_KAFKA_BROKERS.
std::vector<kafka::Record> ReadTopic(const std::string& topic, absl::Duration timeout,
                                     const std::string& brokers);

// Records of `topic` whose header `header` equals `value`.
std::vector<kafka::Record> ReadTopicWhere(const std::string& topic, const std::string& header,
                                          const std::string& value, absl::Duration timeout);

// The committed offset of `group` summed over the topic's partitions (-1 when none).
int64_t CommittedOffsetSum(const std::string& group, const std::string& topic);

}  // namespace prm::testing
