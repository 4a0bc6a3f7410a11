#pragma once

// DurableDealBook: the DealBook (domain/deal_book.h) made durable with the command log
// (common/storage/command_log.h), plus what the adapters keep beside it — the audit history,
// deal notes, policy versions and the partner projection — all rebuilt by replaying the log.
//
// Every change is a logged command, applied by ONE function both when it is accepted and when
// it is replayed:
//   - a write RPC: kind = the RPC name ("SubmitDeal"), payload = the caller's Actor and the
//     request (deterministic bytes, see EncodeCommand), reply = the serialized response;
//   - a consumed event: kind = its CloudEvents type, payload = its protobuf payload;
//   - "Tick": the timers (approval SLA, expiry reminder, expiry) that are due at the command's
//     time. Reads never change state; expiry becomes a state change only through a Tick, so it
//     is durable, replayable and emits its events.
// When a command is accepted, the domain's events are appended to the outbox in the same
// transaction (topic `deal_topic`, key = deal id, id "deal-registration-<time>-<seq>-<n>").
//
// Scope checks are the caller's (the gRPC handlers): this class trusts the actor it is given.
//
// Status codes: those of DealBook (NOT_FOUND, ALREADY_EXISTS, ABORTED for a stale etag,
// FAILED_PRECONDITION, INVALID_ARGUMENT), INVALID_ARGUMENT for a reused request_id, and
// FAILED_PRECONDITION for a submission of a partner whose enrollment is not ACTIVE — as
// partner-registry answered when it was asked (the command's inputs), otherwise as the consumed
// enrollment events last said (a partner no event named yet may submit).
//
// Thread safety: thread-safe. Writes are serialized by the store's write transaction; reads take
// the book's lock or this class's shared lock, never the database.

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/events/cloud_event.h"
#include "common/storage/command_log.h"
#include "common/storage/sqlite.h"
#include "common/time/clock.h"
#include "google/protobuf/message.h"
#include "prm/deal/v1/deal_resources.pb.h"
#include "prm/partner/v1/partner_resources.pb.h"
#include "services/deal-registration/adapters/partner_projection.h"
#include "services/deal-registration/domain/deal_book.h"

namespace prm::deal {

// The inputs of a SubmitDeal checked with partner-registry: the enrollment it returned (only
// what the decision needs), deterministic bytes.
std::string EncodeEnrollmentCheck(const prm::partner::v1::Enrollment& enrollment);

// The payload of a write command: the actor, then the request, both deterministic.
std::string EncodeCommand(const Actor& actor, const google::protobuf::Message& request);
// The inverse; INVALID_ARGUMENT when the bytes are not such a payload.
absl::Status DecodeCommand(std::string_view payload, Actor* actor,
                           google::protobuf::Message* request);

struct PolicyView {
  DealPolicy policy;
  int64_t version = 0;                   // 0 while it holds the defaults
  std::optional<absl::Time> update_time;
};

class DurableDealBook {
 public:
  struct Options {
    std::string deal_topic = "prm.deal.v1";
    std::string event_source = "prm/deal-registration";
  };

  // `db` must have been opened with command_log::Schema() and outbox::Schema(). Both `db` and
  // `clock` must outlive this object.
  DurableDealBook(sqlite::Database& db, const Clock& clock, Options options);

  // Rebuilds the state from the log; call once, before serving.
  absl::StatusOr<command_log::CommandLog::Replayed> Replay();

  // Runs the write RPC `kind` with `request` for `actor`; fills `response` with the reply (the
  // logged one for a retried request_id). `inputs` (command_log::Command::inputs) is what was
  // fetched for it from elsewhere: for SubmitDeal, EncodeEnrollmentCheck of partner-registry's
  // answer, which then decides instead of the projection.
  absl::Status Execute(std::string_view kind, const google::protobuf::Message& request,
                       const std::string& request_id, const Actor& actor,
                       google::protobuf::Message* response, std::string inputs = "");

  // A consumed event (prm.sales.v1 SaleRecorded, prm.partner.v1 partner and enrollment
  // events), logged inside the runtime's transaction `tx`. Other types are accepted and ignored.
  absl::Status ApplyEvent(const events::CloudEvent& event,
                          const google::protobuf::Message& payload, sqlite::Transaction& tx);

  // True when a timer is due at the clock's now.
  bool TimersDue() const;
  // Logs and applies a Tick when a timer is due; returns the number of transitions fired (0
  // and nothing logged when none was due).
  absl::StatusOr<int> Tick();

  // Reads.
  const DealBook& book() const { return book_; }
  std::vector<prm::deal::v1::DealAuditEntry> AuditEntries(std::string_view vendor_id,
                                                         std::string_view deal_id) const;
  std::vector<prm::deal::v1::DealNote> Notes(std::string_view vendor_id,
                                             std::string_view deal_id) const;
  PolicyView Policy(std::string_view vendor_id, std::string_view program_id) const;
  std::optional<EnrollmentView> Enrollment(std::string_view vendor_id,
                                           std::string_view partner_id) const;
  const Clock& clock() const { return log_.clock(); }

 private:
  class Emitter;

  // The one apply function of every command kind; `tx` is null on replay.
  absl::StatusOr<std::string> Apply(const command_log::Command& command,
                                    sqlite::Transaction* tx);
  absl::StatusOr<std::string> ApplyWrite(const command_log::Command& command, Emitter& emit);
  absl::StatusOr<std::string> ApplyConsumed(const command_log::Command& command, Emitter& emit);
  // Records the audit entries of `result`'s transitions and emits their events.
  void Record(const CommandResult& result, Emitter& emit);
  static std::string Key(std::string_view vendor_id, std::string_view deal_id);

  sqlite::Database& db_;
  command_log::CommandLog log_;
  Options options_;
  DealBook book_;

  // Guards everything below (the book has its own lock).
  mutable std::shared_mutex mu_;
  // By Key(): each entry as serialized prm.deal.v1.DealAuditEntry bytes. An entry holds two
  // full deal snapshots (before, after); as domain structs they made ~10 KB per registration,
  // as bytes a fraction of that (bench/deal/README.md, RSS).
  absl::flat_hash_map<std::string, std::vector<std::string>> audit_;
  absl::flat_hash_map<std::string, std::vector<prm::deal::v1::DealNote>> notes_;
  absl::flat_hash_map<std::string, PolicyView> policies_;  // by Key(vendor, program)
  PartnerProjection partners_;
};

}  // namespace prm::deal
