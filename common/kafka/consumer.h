#pragma once

// A Kafka consumer-group member that hands each record to a handler and stores the record's
// offset only after the handler says its effect is durable (SPEC §2). Delivery is at least
// once, so handlers must be idempotent (see common/storage/processed_events.h).
//
// What the handler's status means:
//   OK                      the effect is stored: the offset is stored and later committed.
//   INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, OUT_OF_RANGE, ALREADY_EXISTS, DATA_LOSS
//                           the record can never be processed (poison): it is copied to
//                           `<topic><dlq_suffix>` with headers naming its origin and the error,
//                           then its offset is stored, so the partition keeps flowing.
//   anything else           transient (a store or dependency is down): the same record is
//                           retried after a growing backoff; the partition waits.
//
// One thread per consumer calls the handler, in partition order. A BatchHandler gets the records
// already fetched (up to ConsumerOptions::max_batch, never waiting to fill a batch), so that it can
// make all their effects durable in one transaction; it converts them itself (Batch::Get).
//
// Fetching runs a batch ahead, on a thread of its own: while the handler is busy with a batch, the
// next one is fetched and prepared (BatchPreparer, optional) for the work that needs neither the
// records' order nor the handler's store, such as decoding. A batch fetched ahead is dropped and
// fetched again whenever the handler stops early (a transient status), so records are still
// handled in order, each partition's from the first record not yet handled.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/producer.h"
#include "common/kafka/record.h"

namespace prometheus {
class Registry;
}

namespace prm::kafka {

// Header names of a DLQ record (its key, value and original headers are kept as they were).
// Dead-lettering is at least once: a poison record redelivered before its offset was committed
// (a rebalance, a crash) is dead-lettered again with the same origin headers, which identify it.
inline constexpr char kDlqTopicHeader[] = "prm_dlq_topic";
inline constexpr char kDlqPartitionHeader[] = "prm_dlq_partition";
inline constexpr char kDlqOffsetHeader[] = "prm_dlq_offset";
inline constexpr char kDlqErrorHeader[] = "prm_dlq_error";
inline constexpr char kDlqGroupHeader[] = "prm_dlq_consumer_group";
// Set (to the dropped value's size in bytes) on a dead letter whose value was left out because
// the DLQ topic would not take the record with it (see SendDeadLetter).
inline constexpr char kDlqValueDroppedHeader[] = "prm_dlq_value_dropped_bytes";
// Set (to the dropped sizes) on a dead letter that did not fit even without its value: the
// original key and headers were left out too, and the reason cut to 4 KiB.
inline constexpr char kDlqKeyDroppedHeader[] = "prm_dlq_key_dropped_bytes";
inline constexpr char kDlqHeadersDroppedHeader[] = "prm_dlq_headers_dropped_bytes";

struct ConsumerOptions {
  ClientOptions client;
  std::string group_id;
  std::vector<std::string> topics;
  std::string dlq_suffix = ".dlq";
  absl::Duration min_retry_backoff = absl::Milliseconds(100);
  absl::Duration max_retry_backoff = absl::Seconds(5);
  absl::Duration stats_interval = absl::Seconds(5);  // consumer-lag metric refresh
  // Records per batch at most. A Handler, given one record at a time, gets them from batches too:
  // handing a batch from the fetching thread to the handling thread costs a few microseconds,
  // more than a record's own handling in a fast handler.
  int max_batch = 500;
};

// What a BatchPreparer makes of a batch, for its handler. The fetching thread queues the batch for
// the handler first and calls Prepare after, so that a handler that gets the batch before its
// preparation is done can share the rest of the work (taking the parts Prepare has not started).
class Preparation {
 public:
  virtual ~Preparation() = default;
  virtual void Prepare() = 0;
};

// The records of one fetch, still in librdkafka's buffers. Get converts one (copying its key, value
// and headers out); it may be called from any number of threads at once, for different records.
class Batch {
 public:
  virtual ~Batch() = default;
  virtual size_t size() const = 0;
  virtual Record Get(size_t i) const = 0;
  // What the consumer's BatchPreparer made of this batch; null without one.
  virtual Preparation* preparation() const = 0;
};

// Runs on the fetching thread, once per batch, before the batch is queued for its handler: makes
// the batch's Preparation (cheaply: the work is Preparation::Prepare's). The batch owns what it
// makes, so the Preparation may keep a reference to the batch.
using BatchPreparer = std::function<std::unique_ptr<Preparation>(const Batch& records)>;

using Handler = std::function<absl::Status(const Record&)>;
// Handles `records` in order and returns the status of each record it handled, with the meaning
// above. It may stop early, and stops at the first transient status: records after the last
// status returned are delivered again (after the backoff when the last status is transient).
using BatchHandler = std::function<std::vector<absl::Status>(const Batch& records)>;

// True for the codes that send a record to the DLQ.
bool IsPoison(const absl::Status& status);

// Sends `record` (consumed by `group`, rejected with `why`) to `<record.topic><dlq_suffix>`: its
// key, value and headers, plus the kDlq* headers naming its origin and the error. A record the
// DLQ topic can never take as it is (INVALID_ARGUMENT from the producer: e.g. a value near the
// broker's message.max.bytes, which the added headers push over it) is sent again without its
// value, with kDlqValueDroppedHeader, and if that is still too large without its key and
// headers too (kDlqKeyDroppedHeader, kDlqHeadersDroppedHeader), so that the partition keeps
// flowing; the original stays readable at its offset until retention. Returns the producer's
// status (OK once sent); a status other than OK means the record must be retried.
absl::Status SendDeadLetter(Producer& dlq, const Record& record, const absl::Status& why,
                            const std::string& group, const std::string& dlq_suffix);

class Consumer {
 public:
  // `dlq` must outlive the consumer. `metrics` may be null; when given, the consumer exports
  // kafka_consumer_records_total{topic,group,outcome}, kafka_consumer_dlq_total{topic,group}
  // and kafka_consumer_lag{topic,partition,group}.
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerOptions options,
                                                          Handler handler, Producer* dlq,
                                                          prometheus::Registry* metrics);
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerOptions options,
                                                          BatchHandler handler, Producer* dlq,
                                                          prometheus::Registry* metrics,
                                                          BatchPreparer prepare = nullptr);
  virtual ~Consumer() = default;

  // Joins the group and starts the fetching and handling threads.
  virtual absl::Status Start() = 0;

  // Finishes the batch in hand (drops the one fetched ahead), commits stored offsets and leaves
  // the group. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace prm::kafka
