#pragma once

// Deduplication for idempotent consumers (SPEC §2): every consumed event's CloudEvents
// `source` + `id` is recorded in the same transaction as its effect, so a redelivered event
// is recognised and has no second effect.

#include "absl/strings/string_view.h"

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/sqlite.h"

namespace prm::processed_events {

// The processed_events table; services that consume events open their database with it.
sqlite::Schema Schema();

// Records (source, id) inside `tx`. Returns false when it was already recorded (a redelivery).
absl::StatusOr<bool> MarkProcessed(sqlite::Transaction& tx, absl::string_view source,
                                   absl::string_view id, absl::Time now);

// Applies `effect` exactly once per (source, id): in one transaction, records the id and runs
// `effect`. Returns OK without running `effect` for a duplicate. When `effect` fails nothing
// is recorded, so a later redelivery tries again.
absl::Status ApplyOnce(sqlite::Database& db, absl::string_view source, absl::string_view id,
                       absl::Time now, absl::FunctionRef<absl::Status(sqlite::Transaction&)> effect);

// Forgets ids recorded before `cutoff` (Kafka retention bounds how late a redelivery can be).
absl::StatusOr<int64_t> Prune(sqlite::Database& db, absl::Time cutoff);

}  // namespace prm::processed_events
