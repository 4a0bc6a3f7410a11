#pragma once

// Publishes the transactional outbox (common/storage/outbox.h) to Kafka: unsent rows in
// commit order, through the idempotent producer, marked sent only once the broker has
// acknowledged them. Only the leading run of acknowledged rows is marked, so a failure in the
// middle of a batch re-sends what follows it instead of reordering a key. At least once: a
// crash between acknowledgement and marking re-publishes those rows after restart.
//
// Thread safety: Notify may be called from any thread; Start/Stop from one.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/producer.h"
#include "common/storage/sqlite.h"
#include "common/time/clock.h"

namespace prometheus {
class Gauge;
class Counter;
class Registry;
}  // namespace prometheus

namespace prm::kafka {

struct RelayOptions {
  int batch_size = 500;
  absl::Duration idle_poll = absl::Milliseconds(200);  // poll interval when not notified
  absl::Duration produce_timeout = absl::Seconds(30);
  absl::Duration sent_retention = absl::Hours(1);  // sent rows kept for inspection
};

class OutboxRelay {
 public:
  // `db`, `producer` and `clock` must outlive the relay. `metrics` may be null; when given it
  // exports outbox_backlog and outbox_published_total.
  OutboxRelay(sqlite::Database& db, Producer& producer, const Clock& clock,
              RelayOptions options, prometheus::Registry* metrics);
  ~OutboxRelay();

  // Publishes one batch; returns how many rows were marked sent.
  absl::StatusOr<int> PublishOnce();

  // Runs PublishOnce in a background thread until Stop.
  void Start();
  // Wakes the relay after a commit so the event goes out without waiting for the poll.
  void Notify();
  // Publishes what is pending (for at most `timeout`) and stops the thread. Idempotent.
  absl::Status Stop(absl::Duration timeout);

 private:
  void Loop();
  absl::StatusOr<int> PublishBatch(absl::Duration produce_timeout);

  sqlite::Database& db_;
  Producer& producer_;
  const Clock& clock_;
  RelayOptions options_;
  prometheus::Gauge* backlog_ = nullptr;
  prometheus::Counter* published_ = nullptr;

  std::mutex mu_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stop_ = false;
  absl::Time last_prune_ = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace prm::kafka
