#pragma once

// The transactional outbox (SPEC §2): a state change and the events describing it are written
// in one SQLite transaction; the OutboxRelay (common/kafka/outbox_relay.h) later publishes the
// rows to Kafka in commit order and marks them sent. A crash after the commit loses nothing:
// unsent rows are published after restart (possibly twice, never zero times).

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/record.h"
#include "common/storage/sqlite.h"

namespace prm::outbox {

// The outbox table; every service lists it among the schemas it opens its database with.
sqlite::Schema Schema();

// Adds `record` (topic, key, value, headers) to the outbox inside the caller's transaction.
absl::Status Append(sqlite::Transaction& tx, const kafka::Record& record, absl::Time now);

struct PendingRecord {
  int64_t seq;
  kafka::Record record;
};

// Up to `limit` unsent records, oldest first.
absl::StatusOr<std::vector<PendingRecord>> Pending(sqlite::Database& db, int limit);

// Marks the given rows sent at `now`.
absl::Status MarkSent(sqlite::Database& db, const std::vector<int64_t>& seqs, absl::Time now);

// Number of unsent rows.
absl::StatusOr<int64_t> Backlog(sqlite::Database& db);

// Deletes rows sent before `cutoff`; returns how many.
absl::StatusOr<int64_t> PruneSent(sqlite::Database& db, absl::Time cutoff);

// Header list <-> the bytes stored in the `headers` column (length-prefixed, binary-safe).
std::string EncodeHeaders(const std::vector<kafka::Header>& headers);
absl::StatusOr<std::vector<kafka::Header>> DecodeHeaders(absl::string_view bytes);

}  // namespace prm::outbox
