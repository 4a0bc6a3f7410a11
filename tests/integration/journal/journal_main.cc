// prm-journal-testd: the runtime's test service (see journal.proto). Publishes EntryAppended
// events to --topic-journal and consumes (counts) the ones on --topic-journal-in.

#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/runtime/service_runtime.h"
#include "common/server/call_context.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "journal.grpc.pb.h"

namespace prm::testing {
namespace {

using v1::AppendEntryRequest;
using v1::AppendEntryResponse;

sqlite::Schema JournalSchema() {
  return {"journal",
          {{1, "create entries and consumed",
            "CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " request_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL);"
            "CREATE TABLE consumed (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,"
            " run TEXT NOT NULL);"}}};
}

// Bound to the binary's own flags; read after parsing.
std::string journal_topic = "prm.it.journal";
std::string journal_in_topic = "prm.it.journal.in";

class JournalHandler final : public v1::Journal::CallbackService {
 public:
  explicit JournalHandler(runtime::Runtime& rt) : rt_(rt) {}

  grpc::ServerUnaryReactor* AppendEntry(grpc::CallbackServerContext* ctx,
                                        const AppendEntryRequest* request,
                                        AppendEntryResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext&) {
      FieldViolations bad;
      if (request->request_id().empty()) bad.Add("request_id", "is required");
      if (request->text().size() > 1024) bad.Add("text", "is longer than 1024 bytes");
      RETURN_IF_ERROR(bad.ToStatus());
      RETURN_IF_ERROR(rt_.db().Transact([&](sqlite::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto existing, tx.Query("SELECT seq FROM entries WHERE request_id=?",
                                                 request->request_id()));
        if (!existing.empty()) {
          response->set_seq(std::get<int64_t>(existing[0][0]));
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(tx.Execute("INSERT INTO entries(request_id, text) VALUES(?,?)",
                                   request->request_id(), request->text()));
        response->set_seq(tx.LastInsertRowId());
        v1::EntryAppended event;
        event.set_seq(response->seq());
        event.set_request_id(request->request_id());
        event.set_text(request->text());
        return outbox::Append(
            tx,
            events::EncodeBinary(
                events::MakeEvent(event, "prm.testing.EntryAppended.v1", rt_.event_source(),
                                  absl::StrCat("entry-", response->seq()), rt_.clock().Now(),
                                  request->request_id()),
                journal_topic),
            rt_.clock().Now());
      }));
      rt_.relay().Notify();
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetJournalStats(grpc::CallbackServerContext* ctx,
                                            const v1::GetJournalStatsRequest* request,
                                            v1::GetJournalStatsResponse* response) override {
    return server::Serve(ctx, rt_.authenticator(), [=, this](const server::CallContext&) {
      return rt_.db().Read([&](sqlite::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto rows,
                         tx.Query("SELECT (SELECT count(*) FROM entries WHERE substr(request_id, 1,"
                                  " length(?1)) = ?1), (SELECT count(*) FROM consumed WHERE run = ?1)",
                                  request->run()));
        response->set_entries(std::get<int64_t>(rows[0][0]));
        response->set_consumed_events(std::get<int64_t>(rows[0][1]));
        return absl::OkStatus();
      });
    });
  }

 private:
  runtime::Runtime& rt_;
};

class JournalParts final : public runtime::ServiceParts {
 public:
  explicit JournalParts(runtime::Runtime& rt) : handler_(rt) {}
  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, v1::Journal::service_full_name()}};
  }
  absl::Status ApplyEvent(const events::CloudEvent& event, const google::protobuf::Message& payload,
                          sqlite::Transaction& tx) override {
    const auto* entry = dynamic_cast<const v1::EntryAppended*>(&payload);
    if (entry == nullptr) return absl::InvalidArgumentError("not an EntryAppended event");
    return tx.Execute("INSERT INTO consumed(event_id, run) VALUES(?,?)", event.id,
                      entry->request_id());
  }

 private:
  JournalHandler handler_;
};

}  // namespace
}  // namespace prm::testing

int main(int argc, char** argv) {
  return prm::runtime::RunService(
      argc, argv,
      {.name = "prm-journal-testd",
       .summary = "The shared runtime's test service: appends entries, emits and consumes events.",
       .schemas = {prm::testing::JournalSchema()},
       .consumed_topics =
           [](const prm::runtime::Topics&) {
             return std::vector<std::string>{prm::testing::journal_in_topic};
           },
       .add_flags =
           [](prm::FlagSet& flags) {
             flags.String("topic-journal", &prm::testing::journal_topic, "events out");
             flags.String("topic-journal-in", &prm::testing::journal_in_topic, "events in");
           },
       .build = [](prm::runtime::Runtime& rt)
           -> absl::StatusOr<std::unique_ptr<prm::runtime::ServiceParts>> {
         return std::make_unique<prm::testing::JournalParts>(rt);
       }});
}
