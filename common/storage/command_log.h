#pragma once

// The command log: how every PRM service makes its in-memory domain durable (SPEC §2).
//
// A service's domain (services/<name>/domain) is plain C++ that holds its state in memory and
// applies each command atomically and deterministically given the clock. The command log stores
// every accepted command — a gRPC write request or a consumed event, as bytes — in the same
// SQLite transaction as the domain's change and the events it emits (outbox). At start-up the
// service replays the log through the same code, with the clock pinned to each command's
// original time, and gets back exactly the state it had. One mechanism, four services; no
// per-entity tables to keep in step with the domain.
//
// It also gives AIP-155 request idempotency for free: a retried request with a request_id
// already in the log gets the logged response back, without a second effect.
//
//   command_log::CommandLog log(runtime.db(), runtime.clock());
//   PartnerDirectory directory(log.clock());
//   RETURN_IF_ERROR(log.Replay([&](const Command& c) { return Apply(directory, c); }).status());
//   ...
//   ASSIGN_OR_RETURN(std::string reply, log.Execute({.kind = "CreatePartner",
//       .request_id = request.request_id(), .payload = Serialize(request)},
//       [&](sqlite::Transaction& tx, const Command& c) { return Apply(directory, c, &tx); }));
//
// Ordering: `apply` runs inside the write transaction, which SQLite serializes, so the order the
// domain saw the commands is the order they are logged and replayed in.
//
// A failed command (apply returns an error) leaves nothing behind: the domain's commands change
// nothing when they fail, and the transaction rolls back. If the commit itself fails after the
// domain has changed, memory is ahead of the store; the log then aborts the process so that the
// restart rebuilds the state from what was committed (no accepted write is lost: the caller got
// no answer).
//
// Thread-safe.

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/sqlite.h"
#include "common/time/clock.h"

namespace prm::command_log {

// The `commands` table; services using a CommandLog open their database with it.
sqlite::Schema Schema();

struct Command {
  std::string kind;        // e.g. "CreatePartner", or a consumed event's type
  std::string request_id;  // the client's request_id; "" for none (no deduplication)
  std::string payload;     // the serialized request or event payload (deterministic bytes)
  // What the command was decided on besides the payload and the clock, fetched before it is
  // logged — e.g. another service's answer (deal-registration's enrollment check). Logged and
  // replayed with the command, so replay never asks again and gives the same reply; not part of
  // the request's identity: a retried request_id with the same kind and payload gets the logged
  // reply whatever its inputs. "" for none.
  std::string inputs;
  // Filled in by the log:
  int64_t seq = 0;         // position in the log, from 1
  absl::Time time;         // when it was accepted (microsecond precision)
};

// The clock to give the domain: the base clock, except on the thread applying a command, where it
// reads the command's time. So a command sees the same time when it is first applied and when it
// is replayed.
class CommandClock final : public Clock {
 public:
  explicit CommandClock(const Clock& base) : base_(base) {}
  absl::Time Now() const override;

 private:
  friend class CommandLog;
  const Clock& base_;
};

class CommandLog {
 public:
  // What a command does: changes the domain (and may append outbox rows in `tx`) and returns the
  // serialized reply, which is logged for retries of the same request_id.
  using Apply = absl::FunctionRef<absl::StatusOr<std::string>(sqlite::Transaction& tx,
                                                              const Command& command)>;

  CommandLog(sqlite::Database& db, const Clock& base) : db_(db), clock_(base) {}

  const Clock& clock() const { return clock_; }

  // Applies and logs a new command in one transaction; returns its reply.
  // When `command.request_id` is already logged for the same kind and payload, returns the
  // logged reply without applying anything. INVALID_ARGUMENT naming request_id when it was used
  // for a different command. Otherwise whatever `apply` returns.
  absl::StatusOr<std::string> Execute(Command command, Apply apply);

  // The same inside the caller's transaction (a consumed event, inside the runtime's
  // exactly-once transaction). The caller must abort the process if its commit fails after this
  // succeeded (the runtime does).
  absl::StatusOr<std::string> ExecuteIn(sqlite::Transaction& tx, Command command, Apply apply);

  // Replays every logged command, oldest first, with the clock pinned to each one's time;
  // call once at start-up, before serving. `apply` gets no transaction: replay writes nothing.
  // A command that fails on replay, or whose reply differs from the logged one, means the domain
  // is not deterministic or changed its behavior: the former fails with INTERNAL naming the
  // command; the latter is counted in `Replayed::changed_replies` and logged once.
  struct Replayed {
    int64_t commands = 0;
    int64_t changed_replies = 0;
  };
  absl::StatusOr<Replayed> Replay(
      absl::FunctionRef<absl::StatusOr<std::string>(const Command& command)> apply);

 private:
  sqlite::Database& db_;
  CommandClock clock_;
};

}  // namespace prm::command_log
