#pragma once

// An idempotent Kafka producer (enable.idempotence, acks=all): retries never duplicate or
// reorder records of one partition. librdkafka stays behind this type.
//
// Thread safety: Produce* may be called from several threads at once.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/record.h"

namespace prm::kafka {

struct ClientOptions {
  std::string brokers = "127.0.0.1:9092";  // bootstrap.servers
  std::string client_id;
  // Extra librdkafka properties, for tuning only (e.g. "linger.ms").
  std::map<std::string, std::string> properties;
};

class Producer {
 public:
  // INVALID_ARGUMENT for a bad property. Does not wait for the broker.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ClientOptions& options);
  virtual ~Producer() = default;

  // Sends every record and waits until each is acknowledged by the broker or has failed, up to
  // `timeout`. Returns one status per record, in order: OK once the broker has it; UNAVAILABLE
  // when it was not acknowledged in time (it may still arrive: callers that need "at least once"
  // send it again); INVALID_ARGUMENT for a record the broker can never accept (unknown topic,
  // too large).
  virtual std::vector<absl::Status> ProduceAndWait(const std::vector<Record>& records,
                                                   absl::Duration timeout) = 0;

  // One record; same contract.
  absl::Status Produce(const Record& record, absl::Duration timeout);

  // Waits for everything in flight, up to `timeout`.
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // OK when a broker answers a metadata request within `timeout`, UNAVAILABLE otherwise. For
  // health checks: Kafka is a hard dependency of every service.
  virtual absl::Status CheckBrokers(absl::Duration timeout) = 0;
};

}  // namespace prm::kafka
