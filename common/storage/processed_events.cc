#include "common/storage/processed_events.h"

#include "common/status/status_macros.h"

namespace prm::processed_events {

sqlite::Schema Schema() {
  return {"processed_events",
          {{1, "create processed_events",
            "CREATE TABLE processed_events ("
            " source TEXT NOT NULL, id TEXT NOT NULL, processed_at_us INTEGER NOT NULL,"
            " PRIMARY KEY (source, id)) WITHOUT ROWID;"
            "CREATE INDEX processed_events_at ON processed_events(processed_at_us);"}}};
}

absl::StatusOr<bool> MarkProcessed(sqlite::Transaction& tx, absl::string_view source,
                                   absl::string_view id, absl::Time now) {
  RETURN_IF_ERROR(tx.Execute(
      "INSERT INTO processed_events(source, id, processed_at_us) VALUES(?,?,?)"
      " ON CONFLICT(source, id) DO NOTHING",
      source, id, absl::ToUnixMicros(now)));
  return tx.ChangedRows() == 1;
}

absl::Status ApplyOnce(sqlite::Database& db, absl::string_view source, absl::string_view id,
                       absl::Time now,
                       absl::FunctionRef<absl::Status(sqlite::Transaction&)> effect) {
  return db.Transact([&](sqlite::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool first, MarkProcessed(tx, source, id, now));
    if (!first) return absl::OkStatus();
    return effect(tx);
  });
}

absl::StatusOr<int64_t> Prune(sqlite::Database& db, absl::Time cutoff) {
  int64_t pruned = 0;
  RETURN_IF_ERROR(db.Transact([&](sqlite::Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM processed_events WHERE processed_at_us < ?",
                               absl::ToUnixMicros(cutoff)));
    pruned = tx.ChangedRows();
    return absl::OkStatus();
  }));
  return pruned;
}

}  // namespace prm::processed_events
