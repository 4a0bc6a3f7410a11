#include "common/storage/command_log.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace prm::command_log {
namespace {

// The command being applied on this thread, if any, and its log's clock.
thread_local const CommandClock* pinned_clock = nullptr;
thread_local absl::Time pinned_time;

class PinClock {
 public:
  PinClock(const CommandClock& clock, absl::Time time) {
    previous_clock_ = pinned_clock;
    previous_time_ = pinned_time;
    pinned_clock = &clock;
    pinned_time = time;
  }
  ~PinClock() {
    pinned_clock = previous_clock_;
    pinned_time = previous_time_;
  }
  PinClock(const PinClock&) = delete;
  PinClock& operator=(const PinClock&) = delete;

 private:
  const CommandClock* previous_clock_;
  absl::Time previous_time_;
};

// Times are logged in microseconds; a command sees the logged value from the start.
absl::Time Truncate(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

}  // namespace

sqlite::Schema Schema() {
  return {"command_log",
          {{1, "create commands",
            "CREATE TABLE commands ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
            " request_id TEXT, at_us INTEGER NOT NULL, payload BLOB NOT NULL,"
            " reply BLOB NOT NULL);"
            "CREATE UNIQUE INDEX commands_request_id ON commands(request_id)"
            " WHERE request_id IS NOT NULL;"},
           {2, "command inputs", "ALTER TABLE commands ADD COLUMN inputs BLOB;"}}};
}

absl::Time CommandClock::Now() const {
  if (pinned_clock == this) return pinned_time;
  return base_.Now();
}

absl::StatusOr<std::string> CommandLog::Execute(Command command, Apply apply) {
  std::string reply;
  bool applied = false;
  absl::Status status = db_.Transact([&](sqlite::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(reply, ExecuteIn(tx, command, [&](sqlite::Transaction& tx,
                                                        const Command& c) {
      absl::StatusOr<std::string> result = apply(tx, c);
      applied = result.ok();
      return result;
    }));
    return absl::OkStatus();
  });
  if (!status.ok() && applied) {
    // The domain changed but the store did not: only a restart (replaying what was committed)
    // brings them back together.
    spdlog::critical("command {} changed the state but its commit failed ({}); restarting to "
                     "rebuild from the command log",
                     command.kind, status.ToString());
    std::abort();
  }
  RETURN_IF_ERROR(status);
  return reply;
}

absl::StatusOr<std::string> CommandLog::ExecuteIn(sqlite::Transaction& tx, Command command,
                                                  Apply apply) {
  if (!command.request_id.empty()) {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT kind, payload, reply FROM commands"
                                         " WHERE request_id = ?",
                                         command.request_id));
    if (!rows.empty()) {
      if (std::get<std::string>(rows[0][0]) != command.kind ||
          std::get<std::string>(rows[0][1]) != command.payload) {
        return InvalidField("request_id", "was already used for a different request");
      }
      return std::get<std::string>(rows[0][2]);
    }
  }
  command.time = Truncate(clock_.base_.Now());
  ASSIGN_OR_RETURN(auto next, tx.Query("SELECT COALESCE(MAX(seq), 0) + 1 FROM commands"));
  command.seq = std::get<int64_t>(next[0][0]);

  std::string reply;
  {
    PinClock pin(clock_, command.time);
    ASSIGN_OR_RETURN(reply, apply(tx, command));
  }
  ASSIGN_OR_RETURN(sqlite::Statement * insert,
                   tx.Prepare("INSERT INTO commands(seq, kind, request_id, at_us, payload, reply,"
                              " inputs) VALUES(?,?,?,?,?,?,?)"));
  insert->Bind(1, command.seq).Bind(2, command.kind);
  if (command.request_id.empty()) {
    insert->Bind(3, nullptr);
  } else {
    insert->Bind(3, command.request_id);
  }
  insert->Bind(4, absl::ToUnixMicros(command.time))
      .Bind(5, sqlite::Blob{command.payload})
      .Bind(6, sqlite::Blob{reply});
  if (command.inputs.empty()) {
    insert->Bind(7, nullptr);
  } else {
    insert->Bind(7, sqlite::Blob{command.inputs});
  }
  if (absl::Status logged = insert->Run(); !logged.ok()) {
    // The domain took the command but it cannot be logged: memory is ahead of the store.
    spdlog::critical("command {} was applied but cannot be logged ({}); restarting to rebuild "
                     "from the command log",
                     command.kind, logged.ToString());
    std::abort();
  }
  return reply;
}

absl::StatusOr<CommandLog::Replayed> CommandLog::Replay(
    absl::FunctionRef<absl::StatusOr<std::string>(const Command& command)> apply) {
  Replayed replayed;
  RETURN_IF_ERROR(db_.Read([&](sqlite::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Statement * rows,
                     tx.Prepare("SELECT seq, kind, request_id, at_us, payload, reply, inputs"
                                " FROM commands ORDER BY seq"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, rows->Step());
      if (!row) break;
      Command command{.kind = rows->Text(1),
                      .request_id = rows->IsNull(2) ? "" : rows->Text(2),
                      .payload = rows->Text(4),
                      .inputs = rows->IsNull(6) ? "" : rows->Text(6),
                      .seq = rows->Int(0),
                      .time = absl::FromUnixMicros(rows->Int(3))};
      absl::StatusOr<std::string> reply;
      {
        PinClock pin(clock_, command.time);
        reply = apply(command);
      }
      if (!reply.ok()) {
        return absl::InternalError(absl::StrCat("replaying command ", command.seq, " (",
                                                command.kind, ") failed: ",
                                                reply.status().ToString()));
      }
      if (*reply != rows->Text(5)) {
        if (replayed.changed_replies == 0) {
          spdlog::warn("replayed command {} ({}) gave a different reply than when it was "
                       "accepted; the domain's behavior changed",
                       command.seq, command.kind);
        }
        ++replayed.changed_replies;
      }
      ++replayed.commands;
    }
    return absl::OkStatus();
  }));
  return replayed;
}

}  // namespace prm::command_log
