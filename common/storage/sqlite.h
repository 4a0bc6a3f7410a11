#pragma once

// Embedded SQLite storage every service uses by default (SPEC §2): one file in WAL mode,
// schema migrations applied at open, and transactions that either commit whole or not at all.
// SQLite stays behind these types; nothing outside common/storage includes sqlite3.h.
//
// Thread safety: a Database is safe to use from many threads. Transactions are serialized on
// one connection (SQLite allows a single writer anyway); a Transaction object is valid only
// inside the callback it is handed to.

#include <cstdint>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <unordered_map>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace prm::sqlite {

// One step of a component's schema. Versions of a component start at 1 and never change once
// shipped; a changed name for an applied version stops Open with FAILED_PRECONDITION.
struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// The migrations of one component ("outbox", "deals", ...), applied in version order.
struct Schema {
  std::string component;
  std::vector<Migration> migrations;
};

enum class Durability {
  kFull,    // fsync at every commit: survives power loss (default)
  kNormal,  // survives a process crash, not a power loss; much faster commits
};

struct DatabaseOptions {
  std::string path;  // ":memory:" for tests that need no file
  Durability durability = Durability::kFull;
  int busy_timeout_ms = 5000;
};

// A bound value or a column value.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct Blob {
  absl::string_view bytes;
};

// A prepared statement, cached by its SQL text. Bind indexes start at 1.
class Statement {
 public:
  Statement& Bind(int index, std::nullptr_t);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, absl::string_view text);
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, absl::string_view(text));
  }
  Statement& Bind(int index, const char* text) { return Bind(index, absl::string_view(text)); }
  Statement& Bind(int index, Blob blob);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : Bind(index, nullptr);
  }

  // Advances: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows.
  absl::Status Run();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;  // text or blob bytes
  int ColumnCount() const;

  // Clears bindings and rewinds; done automatically when the statement is prepared again.
  void Reset();

 private:
  friend class Database;
  friend class Transaction;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_;
  absl::Status bind_error_;
};

class Transaction {
 public:
  // A prepared statement for `sql`, reset and ready to bind. The pointer stays valid for the
  // life of the transaction.
  absl::StatusOr<Statement*> Prepare(absl::string_view sql);

  // Runs `sql` with positional arguments.
  template <typename... Args>
  absl::Status Execute(absl::string_view sql, const Args&... args) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    BindAll(**stmt, 1, args...);
    return (*stmt)->Run();
  }

  // All rows of a query, each column as a Value.
  template <typename... Args>
  absl::StatusOr<std::vector<std::vector<Value>>> Query(absl::string_view sql, const Args&... args) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    BindAll(**stmt, 1, args...);
    return Rows(**stmt);
  }

  // Runs `fn` in a nested SAVEPOINT: when it fails, its writes alone are rolled back and its
  // error is returned; the transaction goes on.
  absl::Status Savepoint(absl::FunctionRef<absl::Status(Transaction&)> fn);
  // Number of rows changed by the last INSERT/UPDATE/DELETE.
  int64_t ChangedRows() const;
  int64_t LastInsertRowId() const;

 private:
  friend class Database;
  explicit Transaction(class Database* db) : db_(db) {}
  static void BindAll(Statement&, int) {}
  template <typename First, typename... Rest>
  static void BindAll(Statement& stmt, int index, const First& first, const Rest&... rest) {
    stmt.Bind(index, first);
    BindAll(stmt, index + 1, rest...);
  }
  static absl::StatusOr<std::vector<std::vector<Value>>> Rows(Statement& stmt);
  class Database* db_;
};

class Database {
 public:
  // Opens (creating if needed) the file, enables WAL and foreign keys, and applies every
  // pending migration of `schemas` in one transaction each.
  // Errors: UNAVAILABLE when the file cannot be opened; FAILED_PRECONDITION when an applied
  // migration differs from the one given; INTERNAL when a migration's SQL fails.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseOptions& options,
                                                        const std::vector<Schema>& schemas);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `fn` as one atomic unit of writes. When `fn` returns an error, or the commit fails,
  // everything it wrote is rolled back and that error is returned. Once this returns OK the
  // writes are durable (per DatabaseOptions::durability).
  //
  // Group commit: callers that arrive while another caller's unit is being written join its
  // SQLite transaction, each `fn` in its own SAVEPOINT (so one caller's error rolls back only
  // its own writes), and the group commits — and fsyncs — once. Every caller still sees only
  // committed-or-own state and returns only after the commit that made its writes durable.
  // Under concurrent load this turns one fsync per write into one per group; a lone caller
  // commits at once. A group holds at most kMaxGroup units.
  absl::Status Transact(absl::FunctionRef<absl::Status(Transaction&)> fn);
  static constexpr int kMaxGroup = 256;

  // Runs `fn` in a read transaction (a consistent snapshot). Writing inside is a bug.
  absl::Status Read(absl::FunctionRef<absl::Status(Transaction&)> fn);

  const std::string& path() const { return path_; }

 private:
  friend class Transaction;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Exec(absl::string_view sql);
  // One transaction-control statement (BEGIN, COMMIT, SAVEPOINT, ...), prepared once and kept:
  // Transact runs several per unit, and parsing them each time was a measurable part of a
  // write's CPU.
  absl::Status Control(const char* sql);
  absl::Status Migrate(const Schema& schema);
  absl::Status RunInTransaction(absl::string_view begin,
                                absl::FunctionRef<absl::Status(Transaction&)> fn);
  absl::StatusOr<Statement*> Prepare(absl::string_view sql);
  absl::Status Error(absl::string_view what) const;

  struct Group;  // the transaction callers are currently joining
  absl::Status CommitGroup(Group& group);  // with mu_ held

  std::mutex mu_;
  std::condition_variable group_cv_;
  std::shared_ptr<Group> open_group_;   // guarded by mu_; null when no write transaction is open
  std::atomic<int> arriving_{0};        // Transact callers not yet holding mu_
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
  std::vector<Statement*> in_use_;  // prepared during the current transaction
  std::unordered_map<const char*, sqlite3_stmt*> control_;  // by Control's literal
};

}  // namespace prm::sqlite
