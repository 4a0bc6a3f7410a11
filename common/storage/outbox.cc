#include "common/storage/outbox.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace prm::outbox {

sqlite::Schema Schema() {
  return {"outbox",
          {{1, "create outbox",
            "CREATE TABLE outbox ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " topic TEXT NOT NULL,"
            " record_key BLOB NOT NULL,"
            " value BLOB NOT NULL,"
            " headers BLOB NOT NULL,"
            " created_at_us INTEGER NOT NULL,"
            " sent_at_us INTEGER);"
            "CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at_us IS NULL;"
            "CREATE INDEX outbox_sent ON outbox(sent_at_us) WHERE sent_at_us IS NOT NULL;"}}};
}

std::string EncodeHeaders(const std::vector<kafka::Header>& headers) {
  std::string out;
  for (const auto& h : headers) {
    absl::StrAppend(&out, h.key.size(), ":", h.key, h.value.size(), ":", h.value);
  }
  return out;
}

absl::StatusOr<std::vector<kafka::Header>> DecodeHeaders(absl::string_view bytes) {
  std::vector<kafka::Header> out;
  auto next = [&bytes](std::string* field) -> bool {
    size_t colon = bytes.find(':');
    size_t size = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(bytes.substr(0, colon), &size) ||
        bytes.size() - colon - 1 < size) {
      return false;
    }
    *field = std::string(bytes.substr(colon + 1, size));
    bytes.remove_prefix(colon + 1 + size);
    return true;
  };
  while (!bytes.empty()) {
    kafka::Header h;
    if (!next(&h.key) || !next(&h.value)) {
      return absl::DataLossError("outbox headers are corrupt");
    }
    out.push_back(std::move(h));
  }
  return out;
}

absl::Status Append(sqlite::Transaction& tx, const kafka::Record& record, absl::Time now) {
  return tx.Execute(
      "INSERT INTO outbox(topic, record_key, value, headers, created_at_us) VALUES(?,?,?,?,?)",
      record.topic, sqlite::Blob{record.key}, sqlite::Blob{record.value},
      sqlite::Blob{EncodeHeaders(record.headers)}, absl::ToUnixMicros(now));
}

absl::StatusOr<std::vector<PendingRecord>> Pending(sqlite::Database& db, int limit) {
  std::vector<PendingRecord> out;
  RETURN_IF_ERROR(db.Read([&](sqlite::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                     tx.Prepare("SELECT seq, topic, record_key, value, headers FROM outbox"
                                " WHERE sent_at_us IS NULL ORDER BY seq LIMIT ?"));
    stmt->Bind(1, limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      PendingRecord& p = out.emplace_back();
      p.seq = stmt->Int(0);
      p.record.topic = stmt->Text(1);
      p.record.key = stmt->Text(2);
      p.record.value = stmt->Text(3);
      ASSIGN_OR_RETURN(p.record.headers, DecodeHeaders(stmt->Text(4)));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status MarkSent(sqlite::Database& db, const std::vector<int64_t>& seqs, absl::Time now) {
  if (seqs.empty()) return absl::OkStatus();
  return db.Transact([&](sqlite::Transaction& tx) -> absl::Status {
    for (int64_t seq : seqs) {
      RETURN_IF_ERROR(tx.Execute("UPDATE outbox SET sent_at_us=? WHERE seq=?",
                                 absl::ToUnixMicros(now), seq));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> Backlog(sqlite::Database& db) {
  int64_t count = 0;
  RETURN_IF_ERROR(db.Read([&](sqlite::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT count(*) FROM outbox WHERE sent_at_us IS NULL"));
    count = std::get<int64_t>(rows[0][0]);
    return absl::OkStatus();
  }));
  return count;
}

absl::StatusOr<int64_t> PruneSent(sqlite::Database& db, absl::Time cutoff) {
  int64_t pruned = 0;
  RETURN_IF_ERROR(db.Transact([&](sqlite::Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outbox WHERE sent_at_us IS NOT NULL AND sent_at_us < ?",
                               absl::ToUnixMicros(cutoff)));
    pruned = tx.ChangedRows();
    return absl::OkStatus();
  }));
  return pruned;
}

}  // namespace prm::outbox
