#pragma once

// Everything a PRM service process runs besides its own domain, wired once for all four
// services: validated configuration, JSON logs, JWT authentication, the SQLite store with the
// outbox and processed-event tables, the idempotent Kafka producer and outbox relay, the
// consumer of the service's input topics (decode → dedupe → apply, DLQ for poison), and the
// gRPC host with health, reflection, metrics and the SIGTERM drain.
//
// A service's main.cc only describes the service:
//
//   int main(int argc, char** argv) {
//     return prm::runtime::RunService(argc, argv, {
//         .name = "deal-registration",
//         .summary = "Registers partner deals and protects them without channel conflict.",
//         .schemas = {deal::StoreSchema()},
//         .consumed_topics = [](const prm::runtime::Topics& t) { return {t.sales, t.partner}; },
//         .build = [](prm::runtime::Runtime& rt) { return deal::BuildService(rt); },
//     });
//   }
//
// Health: every service reports SERVING once started, NOT_SERVING while no Kafka broker
// answers (checked every 2 s) and from the start of the drain on.
//
// Drain order on SIGTERM: health NOT_SERVING → gRPC server finishes in-flight calls → the
// consumer finishes its record, commits and leaves the group → the outbox relay publishes what
// was committed → exit 0, all within 25 s (SPEC §3.4).

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/auth/jwt.h"
#include "common/client/service_identity.h"
#include "common/config/flags.h"
#include "common/events/cloud_event.h"
#include "common/kafka/outbox_relay.h"
#include "common/kafka/producer.h"
#include "common/server/call_context.h"
#include "common/server/server_options.h"
#include "common/storage/sqlite.h"
#include "common/time/clock.h"
#include "google/protobuf/message.h"
#include "grpcpp/impl/service_type.h"
#include "prometheus/registry.h"

namespace prm::runtime {

// Topic names (SPEC §2); configurable so that one broker can host several installations.
struct Topics {
  std::string sales = "prm.sales.v1";
  std::string partner = "prm.partner.v1";
  std::string deal = "prm.deal.v1";
  std::string routing = "prm.routing.v1";
  std::string forecast = "prm.forecast.v1";
};

struct RuntimeOptions {
  server::ServerOptions server;
  std::string data_dir;                      // default .prm/data/<service>
  std::string sqlite_durability = "full";    // full | normal
  std::string kafka_brokers = "127.0.0.1:9092";
  std::string kafka_group;                   // default prm-<service>
  Topics topics;
  std::string jwt_algorithm = "HS256";
  std::string jwt_secret_file;               // HS256 shared secret (preferred over jwt_secret)
  std::string jwt_secret;                    // HS256 shared secret given inline (development)
  std::string jwt_public_key_file;           // RS256 public key, PEM
  std::string jwt_issuer = "prm-dev";
  std::string jwt_audience = "prm";
};

// The running process's shared parts, handed to a service's `build`.
class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const std::string& service_name() const = 0;
  virtual const RuntimeOptions& options() const = 0;
  virtual sqlite::Database& db() = 0;
  virtual const Clock& clock() const = 0;
  // Call after committing outbox rows so they are published without waiting for the poll.
  virtual kafka::OutboxRelay& relay() = 0;
  virtual prometheus::Registry& metrics() = 0;
  virtual const server::Authenticator& authenticator() const = 0;
  // The source attribute of events this service emits, e.g. "prm/deal-registration".
  virtual const std::string& event_source() const = 0;
  // Ends the service's long-lived streams when the drain starts (server::ServiceHost::
  // AddStreamCloser has the contract), so that they do not hold the drain until its timeout.
  virtual void AddStreamCloser(std::string name, std::function<void()> closer) = 0;
};

// A decoded payload: deleted with it when on the heap, left to its arena when on one.
struct PayloadDeleter {
  void operator()(google::protobuf::Message* message) const {
    if (message->GetArena() == nullptr) delete message;
  }
};
using Payload = std::unique_ptr<google::protobuf::Message, PayloadDeleter>;

// One consumed record, decoded: its CloudEvent and its payload as the message its type names
// (on the arena of the consumed batch, which outlives it).
struct ConsumedEvent {
  events::CloudEvent event;
  Payload payload;
};

// What a service contributes once the runtime is up. Owned by the runtime; destroyed after the
// drain.
class ServiceParts {
 public:
  virtual ~ServiceParts() = default;

  // The callback-API services to serve, with their full names ("prm.deal.v1.DealRegistration").
  virtual std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() = 0;

  // Applies one consumed event inside `tx`, the transaction that also records the event as
  // processed (so a redelivered event never reaches this). The payload has already been checked
  // to decode as the message its type names. Return INVALID_ARGUMENT/FAILED_PRECONDITION/
  // NOT_FOUND for an event that can never apply (it goes to the DLQ), UNAVAILABLE to retry.
  virtual absl::Status ApplyEvent(const events::CloudEvent& event,
                                  const google::protobuf::Message& payload,
                                  sqlite::Transaction& tx) = 0;

  // Applies the decoded events of a consumed batch inside `tx`, in order, and returns the status
  // of each event it handled (meanings as for ApplyEvent); it may stop early, and stops at the
  // first transient status. The default is ApplyEachOnce. A service may apply runs of events at
  // once instead (e.g. one command-log entry for many events) when its domain recognises a
  // redelivered event by itself; it must keep the guarantees: a poison event changes nothing and
  // is reported alone, and no event has a second effect.
  virtual std::vector<absl::Status> ApplyEvents(absl::Span<const ConsumedEvent> events,
                                                sqlite::Transaction& tx, absl::Time now);
};

// Each event through parts.ApplyEvent in its own savepoint, together with its CloudEvents
// (source, id) row in processed_events (recorded at `now`), so that a redelivered event is skipped
// and a poison one rolls back alone.
std::vector<absl::Status> ApplyEachOnce(ServiceParts& parts,
                                        absl::Span<const ConsumedEvent> events,
                                        sqlite::Transaction& tx, absl::Time now);

struct ServiceDefinition {
  std::string name;     // "deal-registration": binary, logs, metrics, default data dir
  std::string summary;  // one line for --help
  std::vector<sqlite::Schema> schemas;  // the outbox and processed_events schemas are added
  std::function<std::vector<std::string>(const Topics&)> consumed_topics;
  // Service-specific flags, bound before parsing. May be empty.
  std::function<void(FlagSet&)> add_flags;
  std::function<absl::StatusOr<std::unique_ptr<ServiceParts>>(Runtime&)> build;
};

// This service's identity for calling another one (common/client): the token in `token_file`
// when given, otherwise a token minted with the HS256 secret the runtime verifies tokens with
// (RS256 deployments must give a token file).
absl::StatusOr<std::unique_ptr<client::ServiceIdentity>> MakeServiceIdentity(
    const Runtime& runtime, std::string token_file);

// Binds the shared flags (server, storage, Kafka, topics, JWT) to `options`.
void RegisterRuntimeFlags(FlagSet& flags, RuntimeOptions* options);

// The protobuf message a PRM event type names: "prm.deal.DealSubmitted.v1" →
// prm.deal.v1.DealSubmitted decoded from the event's payload. NOT_FOUND for a type with no
// such message in this binary; INVALID_ARGUMENT for a payload that does not decode. On `arena`
// when given (a batch's messages then cost one allocation per block, not one per field).
absl::StatusOr<Payload> DecodeEventPayload(const events::CloudEvent& event,
                                           google::protobuf::Arena* arena = nullptr);

// Parses flags and environment, runs the service until SIGTERM/SIGINT and drains. Returns the
// process exit code: 0 after a clean drain or --help/--version, 2 for bad configuration, 1 when
// start-up fails.
int RunService(int argc, char** argv, const ServiceDefinition& definition);

}  // namespace prm::runtime
