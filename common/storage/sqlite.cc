#include "common/storage/sqlite.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace prm::sqlite {
namespace {

absl::Status StatusFromCode(int code, absl::string_view what, sqlite3* db) {
  std::string message = absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

Statement& Statement::Bind(int index, std::nullptr_t) {
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = StatusFromCode(rc, "bind", sqlite3_db_handle(stmt_));
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = StatusFromCode(rc, "bind", sqlite3_db_handle(stmt_));
  }
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  if (int rc = sqlite3_bind_double(stmt_, index, value); rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = StatusFromCode(rc, "bind", sqlite3_db_handle(stmt_));
  }
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = StatusFromCode(rc, "bind", sqlite3_db_handle(stmt_));
  }
  return *this;
}

Statement& Statement::Bind(int index, Blob blob) {
  int rc = sqlite3_bind_blob64(stmt_, index, blob.bytes.data(), blob.bytes.size(),
                               SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = StatusFromCode(rc, "bind", sqlite3_db_handle(stmt_));
  }
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return StatusFromCode(rc, sqlite3_sql(stmt_), sqlite3_db_handle(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Statement::Text(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}
int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = absl::OkStatus();
}

absl::StatusOr<Statement*> Transaction::Prepare(absl::string_view sql) { return db_->Prepare(sql); }

absl::Status Transaction::Savepoint(absl::FunctionRef<absl::Status(Transaction&)> fn) {
  RETURN_IF_ERROR(db_->Control("SAVEPOINT prm_nested"));
  absl::Status status = fn(*this);
  if (!status.ok()) {
    for (Statement* stmt : db_->in_use_) sqlite3_reset(stmt->stmt_);
    db_->Control("ROLLBACK TO prm_nested").IgnoreError();
  }
  absl::Status released = db_->Control("RELEASE prm_nested");
  return status.ok() ? released : status;
}

int64_t Transaction::ChangedRows() const { return sqlite3_changes64(db_->db_); }
int64_t Transaction::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_->db_); }

absl::StatusOr<std::vector<std::vector<Value>>> Transaction::Rows(Statement& stmt) {
  std::vector<std::vector<Value>> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    std::vector<Value>& row = rows.emplace_back();
    for (int c = 0; c < stmt.ColumnCount(); ++c) {
      switch (sqlite3_column_type(stmt.stmt_, c)) {
        case SQLITE_NULL:
          row.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          row.emplace_back(stmt.Int(c));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(stmt.Double(c));
          break;
        default:
          row.emplace_back(stmt.Text(c));
      }
    }
  }
  return rows;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options,
                                                         const std::vector<Schema>& schemas) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("cannot open database ", options.path, ": ",
                     raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_close(raw);
    return status;
  }
  std::unique_ptr<Database> db(new Database(raw, options.path));
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(db->Exec(options.durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                                                   : "PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
      " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
      " PRIMARY KEY (component, version))"));
  for (const Schema& schema : schemas) RETURN_IF_ERROR(db->Migrate(schema));
  return db;
}

Database::~Database() {
  statements_.clear();
  for (auto& [sql, stmt] : control_) sqlite3_finalize(stmt);
  control_.clear();
  // Statements are finalized before the connection closes.
  sqlite3_stmt* stmt = nullptr;
  while ((stmt = sqlite3_next_stmt(db_, nullptr)) != nullptr) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status Database::Error(absl::string_view what) const {
  return StatusFromCode(sqlite3_extended_errcode(db_), what, db_);
}

absl::Status Database::Exec(absl::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  absl::Status status = StatusFromCode(rc, absl::StrCat(sql.substr(0, 80), ": ", error ? error : ""),
                                       nullptr);
  sqlite3_free(error);
  return status;
}

absl::Status Database::Control(const char* sql) {
  sqlite3_stmt*& stmt = control_[sql];
  if (stmt == nullptr) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      stmt = nullptr;
      return StatusFromCode(rc, sql, db_);
    }
  }
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  return StatusFromCode(rc, sql, db_);
}

absl::StatusOr<Statement*> Database::Prepare(absl::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it != statements_.end()) {
    it->second->Reset();
    in_use_.push_back(it->second.get());
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(absl::StrCat("prepare ", sql));
  auto owned = std::unique_ptr<Statement>(new Statement(stmt));
  Statement* raw = owned.get();
  statements_.emplace(std::string(sql), std::move(owned));
  in_use_.push_back(raw);
  return raw;
}

absl::Status Database::Migrate(const Schema& schema) {
  std::lock_guard lock(mu_);
  for (const Migration& m : schema.migrations) {
    absl::Status status = RunInTransaction("BEGIN IMMEDIATE", [&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto applied,
                       tx.Query("SELECT name FROM schema_migrations WHERE component=? AND version=?",
                                schema.component, m.version));
      if (!applied.empty()) {
        const auto& name = std::get<std::string>(applied[0][0]);
        if (name != m.name) {
          return absl::FailedPreconditionError(
              absl::StrCat("migration ", schema.component, "/", m.version, " was applied as '",
                           name, "' but this build calls it '", m.name, "'"));
        }
        return absl::OkStatus();
      }
      RETURN_IF_ERROR(Exec(m.sql));
      return tx.Execute("INSERT INTO schema_migrations(component, version, name) VALUES(?,?,?)",
                        schema.component, m.version, m.name);
    });
    RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

absl::Status Database::RunInTransaction(absl::string_view begin,
                                        absl::FunctionRef<absl::Status(Transaction&)> fn) {
  RETURN_IF_ERROR(Exec(begin));
  Transaction tx(this);
  absl::Status status = fn(tx);
  // Statements left mid-result would hold the snapshot open past the transaction.
  for (Statement* stmt : in_use_) sqlite3_reset(stmt->stmt_);
  in_use_.clear();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) {
    // A failed COMMIT may leave the transaction open; roll back whatever remains.
    if (!sqlite3_get_autocommit(db_)) Exec("ROLLBACK").IgnoreError();
    return status;
  }
  return absl::OkStatus();
}

struct Database::Group {
  int members = 0;
  bool committed = false;
  absl::Status status;  // of the COMMIT, once committed
};

absl::Status Database::Transact(absl::FunctionRef<absl::Status(Transaction&)> fn) {
  arriving_.fetch_add(1, std::memory_order_relaxed);
  std::unique_lock lock(mu_);
  arriving_.fetch_sub(1, std::memory_order_relaxed);
  // A full group is committing: wait for the next one.
  group_cv_.wait(lock, [&] { return !open_group_ || open_group_->members < kMaxGroup; });
  const bool leader = open_group_ == nullptr;
  if (leader) {
    RETURN_IF_ERROR(Control("BEGIN IMMEDIATE"));
    open_group_ = std::make_shared<Group>();
  }
  std::shared_ptr<Group> group = open_group_;
  ++group->members;

  absl::Status status = Control("SAVEPOINT prm_unit");
  if (status.ok()) {
    Transaction tx(this);
    status = fn(tx);
    // Statements left mid-result would hold the snapshot open past the unit.
    for (Statement* stmt : in_use_) sqlite3_reset(stmt->stmt_);
    in_use_.clear();
    if (!status.ok()) Control("ROLLBACK TO prm_unit").IgnoreError();
    absl::Status released = Control("RELEASE prm_unit");
    if (status.ok()) status = released;
  }

  if (!leader) {
    group_cv_.notify_all();  // the leader may be waiting for this unit
    if (!status.ok()) return status;  // nothing of it is in the group
    group_cv_.wait(lock, [&] { return group->committed; });
    return group->status;
  }
  // Let everyone already queued for the connection add their unit, then commit them all.
  group_cv_.wait(lock, [&] {
    return arriving_.load(std::memory_order_relaxed) == 0 || group->members >= kMaxGroup;
  });
  absl::Status committed = CommitGroup(*group);
  return status.ok() ? committed : status;
}

absl::Status Database::CommitGroup(Group& group) {
  group.status = Control("COMMIT");
  if (!group.status.ok() && !sqlite3_get_autocommit(db_)) {
    // A failed COMMIT may leave the transaction open; roll back whatever remains.
    Control("ROLLBACK").IgnoreError();
  }
  group.committed = true;
  open_group_.reset();
  group_cv_.notify_all();
  return group.status;
}

absl::Status Database::Read(absl::FunctionRef<absl::Status(Transaction&)> fn) {
  std::unique_lock lock(mu_);
  // Not inside a write group that is still gathering units: it would see their writes.
  group_cv_.wait(lock, [&] { return !open_group_; });
  return RunInTransaction("BEGIN DEFERRED", fn);
}

}  // namespace prm::sqlite
