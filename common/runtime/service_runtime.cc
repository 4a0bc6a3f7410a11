#include "common/runtime/service_runtime.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/types/span.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/consumer.h"
#include "common/log/log.h"
#include "common/server/service_host.h"
#include "common/server/termination_signals.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "common/storage/processed_events.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace prm::runtime {
namespace {

// Consumed records applied per transaction at most: large enough that one fsync serves many
// events when a backlog is drained, small enough that a batch commits in milliseconds.
constexpr int kConsumerBatch = 500;

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The HS256 secret: --jwt-secret-file read as every PRM process reads it, or the inline secret.
absl::StatusOr<std::string> Hs256Secret(const RuntimeOptions& o) {
  if (o.jwt_secret_file.empty()) return o.jwt_secret;
  absl::StatusOr<std::string> secret = auth::ReadHs256SecretFile(o.jwt_secret_file);
  if (!secret.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--jwt-secret-file: ", secret.status().message()));
  }
  return secret;
}

absl::StatusOr<auth::TokenVerifier> MakeVerifier(const RuntimeOptions& o, const Clock& clock) {
  auth::JwtOptions jwt{.algorithm = o.jwt_algorithm,
                       .issuer = o.jwt_issuer,
                       .audience = o.jwt_audience};
  if (o.jwt_algorithm == "HS256") {
    ASSIGN_OR_RETURN(jwt.hs256_secret, Hs256Secret(o));
  } else {
    ASSIGN_OR_RETURN(jwt.rs256_public_key_pem,
                     ReadFile(o.jwt_public_key_file, "jwt-public-key-file"));
  }
  return auth::TokenVerifier::Create(std::move(jwt), clock);
}

// A consumed record decoded; nullptr payload for a newer producer's event type (not ours to
// judge, and not poison: it is skipped).
absl::StatusOr<ConsumedEvent> DecodeRecord(const kafka::Record& record,
                                           google::protobuf::Arena& arena) {
  ASSIGN_OR_RETURN(events::CloudEvent event, events::Decode(record));
  absl::StatusOr<Payload> payload = DecodeEventPayload(event, &arena);
  if (absl::IsNotFound(payload.status())) {
    spdlog::debug("ignoring event type {} from {}", event.type, event.source);
    return ConsumedEvent{std::move(event), nullptr};
  }
  RETURN_IF_ERROR(payload.status());
  return ConsumedEvent{std::move(event), *std::move(payload)};
}

// A batch of consumed records, converted and decoded in chunks (the kafka::Preparation of the
// runtime's consumer): on the consumer's fetching thread while the batch before is applied
// (Prepare), and by the applying thread too once it gets to this batch (WaitFor decodes the
// chunks nobody has taken rather than wait), so that the two threads share the work however it
// falls. The payloads are on the batch's arena.
class DecodedBatch final : public kafka::Preparation {
 public:
  explicit DecodedBatch(const kafka::Batch& records)
      : records_(records),
        events_(records.size()),
        statuses_(records.size()),
        chunks_((records.size() + kChunk - 1) / kChunk),
        chunk_done_(chunks_, false) {}

  void Prepare() override {
    while (DecodeNextChunk()) {
    }
  }

  // Returns once records [0, count) are decoded (count ≤ size), with how many from the start
  // are; decodes chunks itself while some are left to take.
  size_t WaitFor(size_t count) {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (decoded_ >= count) return decoded_;
      }
      if (!DecodeNextChunk()) break;
    }
    absl::MutexLock lock(&mu_);
    want_ = count;
    mu_.Await(absl::Condition(this, &DecodedBatch::Reached));
    return decoded_;
  }

  // Record i decoded (i < a count WaitFor returned): OK with its event (payload null for a type
  // this binary does not know), or why it is poison.
  const absl::Status& status(size_t i) const { return statuses_[i]; }
  const ConsumedEvent& event(size_t i) const { return events_[i]; }
  absl::Span<const ConsumedEvent> events(size_t from, size_t to) const {
    return absl::MakeConstSpan(events_).subspan(from, to - from);
  }
  size_t size() const { return records_.size(); }

 private:
  static constexpr size_t kChunk = 32;

  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return decoded_ >= want_; }

  // Takes the next chunk nobody has taken and decodes it; false when none is left.
  bool DecodeNextChunk() {
    const size_t chunk = next_chunk_.fetch_add(1);
    if (chunk >= chunks_) return false;
    const size_t end = std::min(records_.size(), (chunk + 1) * kChunk);
    for (size_t i = chunk * kChunk; i < end; ++i) {
      absl::StatusOr<ConsumedEvent> decoded = DecodeRecord(records_.Get(i), arena_);
      if (decoded.ok()) {
        events_[i] = *std::move(decoded);
      } else {
        statuses_[i] = decoded.status();
      }
    }
    absl::MutexLock lock(&mu_);
    chunk_done_[chunk] = true;
    while (decoded_ < records_.size() && chunk_done_[decoded_ / kChunk]) {
      decoded_ = std::min(records_.size(), decoded_ + kChunk);
    }
    return true;
  }

  const kafka::Batch& records_;  // owns this preparation, so outlives it
  google::protobuf::Arena arena_;  // thread-safe; before the events, whose payloads it holds
  // Element i is written by the thread that took its chunk before decoded_ passes i, and read
  // after.
  std::vector<ConsumedEvent> events_;
  std::vector<absl::Status> statuses_;
  const size_t chunks_;
  std::atomic<size_t> next_chunk_{0};
  absl::Mutex mu_;
  std::vector<bool> chunk_done_ ABSL_GUARDED_BY(mu_);
  size_t decoded_ ABSL_GUARDED_BY(mu_) = 0;  // records decoded from the start, whole chunks
  size_t want_ ABSL_GUARDED_BY(mu_) = 0;
};

class RuntimeImpl final : public Runtime {
 public:
  RuntimeImpl(std::string name, RuntimeOptions options, server::ServiceHost& host)
      : name_(std::move(name)),
        options_(std::move(options)),
        host_(host),
        source_(absl::StrCat("prm/", name_)) {}

  absl::Status Open(const ServiceDefinition& definition) {
    ASSIGN_OR_RETURN(auto verifier, MakeVerifier(options_, clock()));
    verifier_ = std::make_unique<auth::TokenVerifier>(std::move(verifier));
    authenticator_ = [v = verifier_.get()](std::string_view authorization) {
      return v->VerifyAuthorizationHeader(authorization);
    };

    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create data directory ", options_.data_dir, ": ", ec.message()));
    }
    std::vector<sqlite::Schema> schemas = {outbox::Schema(), processed_events::Schema()};
    schemas.insert(schemas.end(), definition.schemas.begin(), definition.schemas.end());
    ASSIGN_OR_RETURN(
        db_, sqlite::Database::Open(
                 {.path = (std::filesystem::path(options_.data_dir) / (name_ + ".sqlite")).string(),
                  .durability = options_.sqlite_durability == "normal" ? sqlite::Durability::kNormal
                                                                       : sqlite::Durability::kFull},
                 schemas));

    ASSIGN_OR_RETURN(producer_, kafka::Producer::Create({.brokers = options_.kafka_brokers,
                                                         .client_id = name_}));
    relay_ = std::make_unique<kafka::OutboxRelay>(*db_, *producer_, clock(), kafka::RelayOptions{},
                                                  &host_.metrics_registry());
    return absl::OkStatus();
  }

  absl::Status StartConsumer(std::vector<std::string> topics, ServiceParts& parts) {
    if (topics.empty()) return absl::OkStatus();
    // A batch of fetched records is decoded (DecodedBatch) while the batch before is applied, then
    // applied in one transaction — one commit, one fsync. Records that do not decode are poison
    // on their own; the decoded ones go to the service in runs (ServiceParts::ApplyEvents), which
    // keeps a poison event from affecting the others.
    kafka::BatchPreparer decode = [](const kafka::Batch& records) {
      return std::make_unique<DecodedBatch>(records);
    };
    kafka::BatchHandler handler = [this, &parts](const kafka::Batch& records) {
      std::vector<absl::Status> statuses;
      bool applied = false;
      const absl::Time now = clock().Now();
      auto& decoded = *static_cast<DecodedBatch*>(records.preparation());
      absl::Status committed = db_->Transact([&](sqlite::Transaction& tx) -> absl::Status {
        statuses.clear();
        // Applies a run of decoded events; false when the service stopped before its end.
        auto apply = [&](size_t from, size_t to) {
          std::vector<absl::Status> done = parts.ApplyEvents(decoded.events(from, to), tx, now);
          const bool whole = done.size() == to - from &&
                             (done.empty() || done.back().ok() || kafka::IsPoison(done.back()));
          for (absl::Status& s : done) {
            applied |= s.ok();
            statuses.push_back(std::move(s));
          }
          return whole;
        };
        auto applicable = [&](size_t i) {
          return decoded.status(i).ok() && decoded.event(i).payload != nullptr;
        };
        for (size_t i = 0; i < decoded.size();) {
          // Two chunks ahead where the batch has them, so that runs are not cut to a chunk.
          const size_t ready = decoded.WaitFor(std::min(i + 64, decoded.size()));
          if (!applicable(i)) {
            statuses.push_back(decoded.status(i));  // poison, or OK for a skipped type
            ++i;
            continue;
          }
          size_t end = i + 1;
          while (end < ready && applicable(end)) ++end;
          if (!apply(i, end)) return absl::OkStatus();
          i = end;
        }
        return absl::OkStatus();
      });
      if (!committed.ok()) {
        if (applied) {
          // The service's in-memory state took events but the store did not: only a restart
          // (rebuilding from what was committed) brings them back together; the events are
          // redelivered then.
          spdlog::critical("a batch of {} events was applied but its commit failed ({}); "
                           "restarting",
                           records.size(), committed.ToString());
          std::abort();
        }
        return std::vector<absl::Status>{absl::UnavailableError(committed.ToString())};
      }
      relay_->Notify();
      return statuses;
    };
    ASSIGN_OR_RETURN(consumer_,
                     kafka::Consumer::Create({.client = {.brokers = options_.kafka_brokers,
                                                         .client_id = name_},
                                              .group_id = options_.kafka_group,
                                              .topics = std::move(topics),
                                              .max_batch = kConsumerBatch},
                                             std::move(handler), producer_.get(),
                                             &host_.metrics_registry(), std::move(decode)));
    return consumer_->Start();
  }

  void StartRelay() { relay_->Start(); }

  // Health follows Kafka, the hard dependency: NOT_SERVING while no broker answers.
  void StartDependencyWatch() {
    watch_ = std::thread([this] {
      bool serving = true;
      while (!stop_watch_.WaitForNotificationWithTimeout(absl::Seconds(2))) {
        absl::Status kafka = producer_->CheckBrokers(absl::Seconds(2));
        if (kafka.ok() != serving) {
          serving = kafka.ok();
          if (serving) {
            spdlog::info("kafka is reachable again: SERVING");
          } else {
            spdlog::error("kafka is unreachable: NOT_SERVING ({})", kafka.ToString());
          }
          host_.SetServing(serving);
        }
      }
    });
  }
  void StopDependencyWatch() {
    if (!watch_.joinable()) return;
    stop_watch_.Notify();
    watch_.join();
  }
  void StopConsumer() {
    if (consumer_) consumer_->Stop();
  }
  void StopRelay() {
    if (absl::Status s = relay_->Stop(absl::Seconds(3)); !s.ok()) {
      spdlog::warn("outbox relay stopped with events left to publish after restart: {}",
                   s.ToString());
    }
  }

  const std::string& service_name() const override { return name_; }
  const RuntimeOptions& options() const override { return options_; }
  sqlite::Database& db() override { return *db_; }
  const Clock& clock() const override { return SystemClock::Instance(); }
  kafka::OutboxRelay& relay() override { return *relay_; }
  prometheus::Registry& metrics() override { return host_.metrics_registry(); }
  const server::Authenticator& authenticator() const override { return authenticator_; }
  const std::string& event_source() const override { return source_; }
  void AddStreamCloser(std::string name, std::function<void()> closer) override {
    host_.AddStreamCloser(std::move(name), std::move(closer));
  }

 private:
  std::string name_;
  RuntimeOptions options_;
  server::ServiceHost& host_;
  std::string source_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  server::Authenticator authenticator_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::OutboxRelay> relay_;
  std::unique_ptr<kafka::Consumer> consumer_;
  absl::Notification stop_watch_;
  std::thread watch_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<client::ServiceIdentity>> MakeServiceIdentity(
    const Runtime& runtime, std::string token_file) {
  const RuntimeOptions& o = runtime.options();
  client::ServiceIdentityOptions identity{.subject = runtime.service_name(),
                                          .token_file = std::move(token_file),
                                          .jwt_algorithm = o.jwt_algorithm,
                                          .jwt_issuer = o.jwt_issuer,
                                          .jwt_audience = o.jwt_audience};
  if (identity.token_file.empty() && o.jwt_algorithm == "HS256") {
    ASSIGN_OR_RETURN(identity.hs256_secret, Hs256Secret(o));
  }
  return client::ServiceIdentity::Create(std::move(identity), runtime.clock());
}

void RegisterRuntimeFlags(FlagSet& flags, RuntimeOptions* o) {
  server::RegisterServerFlags(flags, &o->server);
  flags.String("data-dir", &o->data_dir, "directory holding the service's SQLite database");
  flags.Choice("sqlite-durability", &o->sqlite_durability, {"full", "normal"},
               "full fsyncs every commit (survives power loss); normal survives process crashes");
  flags.String("kafka-brokers", &o->kafka_brokers, "Kafka bootstrap servers host:port[,...]");
  flags.String("kafka-group", &o->kafka_group, "consumer group id");
  flags.String("topic-sales", &o->topics.sales, "ERP sales events topic");
  flags.String("topic-partner", &o->topics.partner, "partner-registry events topic");
  flags.String("topic-deal", &o->topics.deal, "deal-registration events topic");
  flags.String("topic-routing", &o->topics.routing, "concierge-routing events topic");
  flags.String("topic-forecast", &o->topics.forecast, "forecast events topic");
  flags.Choice("jwt-algorithm", &o->jwt_algorithm, {"HS256", "RS256"},
               "signature algorithm accepted on bearer tokens (only this one)");
  flags.String("jwt-secret-file", &o->jwt_secret_file, "HS256: file holding the shared secret");
  flags.String("jwt-secret", &o->jwt_secret,
               "HS256: the shared secret itself (development; prefer --jwt-secret-file)");
  flags.String("jwt-public-key-file", &o->jwt_public_key_file, "RS256: PEM public key file");
  flags.String("jwt-issuer", &o->jwt_issuer, "required `iss` of bearer tokens");
  flags.String("jwt-audience", &o->jwt_audience, "required `aud` of bearer tokens");
  flags.Required("data-dir");
  flags.Required("kafka-brokers");
  flags.Required("kafka-group");
  flags.Check([o]() -> std::string {
    if (o->jwt_algorithm == "HS256" && o->jwt_secret_file.empty() && o->jwt_secret.empty()) {
      return "--jwt-secret-file (PRM_JWT_SECRET_FILE) or --jwt-secret (PRM_JWT_SECRET): one is "
             "required with HS256";
    }
    if (o->jwt_algorithm == "RS256" && o->jwt_public_key_file.empty()) {
      return "--jwt-public-key-file (PRM_JWT_PUBLIC_KEY_FILE): is required with RS256";
    }
    return "";
  });
}

std::vector<absl::Status> ServiceParts::ApplyEvents(absl::Span<const ConsumedEvent> events,
                                                    sqlite::Transaction& tx, absl::Time now) {
  return ApplyEachOnce(*this, events, tx, now);
}

std::vector<absl::Status> ApplyEachOnce(ServiceParts& parts,
                                        absl::Span<const ConsumedEvent> events,
                                        sqlite::Transaction& tx, absl::Time now) {
  std::vector<absl::Status> statuses;
  for (const ConsumedEvent& consumed : events) {
    const events::CloudEvent& event = consumed.event;
    statuses.push_back(tx.Savepoint([&](sqlite::Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(bool first,
                       processed_events::MarkProcessed(tx, event.source, event.id, now));
      if (!first) return absl::OkStatus();  // a redelivery: applied before
      return parts.ApplyEvent(event, *consumed.payload, tx);
    }));
    if (!statuses.back().ok() && !kafka::IsPoison(statuses.back())) break;
  }
  return statuses;
}

absl::StatusOr<Payload> DecodeEventPayload(const events::CloudEvent& event,
                                           google::protobuf::Arena* arena) {
  // "prm.<area>.<Event>.v<N>" names the message prm.<area>.v<N>.<Event>. The prototypes of the
  // types seen are kept (a consumer sees few types, many times).
  static absl::Mutex mu;
  static auto* prototypes = new absl::flat_hash_map<std::string, const google::protobuf::Message*>;
  const google::protobuf::Message* prototype = nullptr;
  {
    absl::MutexLock lock(&mu);
    if (auto it = prototypes->find(event.type); it != prototypes->end()) prototype = it->second;
  }
  if (prototype == nullptr) {
    std::vector<std::string> parts = absl::StrSplit(event.type, '.');
    if (parts.size() != 4 || parts[0] != "prm") {
      return absl::NotFoundError(absl::StrCat("event type ", event.type, " is not a PRM type"));
    }
    std::string message_name = absl::StrCat("prm.", parts[1], ".", parts[3], ".", parts[2]);
    const google::protobuf::Descriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(message_name);
    if (descriptor == nullptr) {
      return absl::NotFoundError(absl::StrCat("no message ", message_name));
    }
    prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
    absl::MutexLock lock(&mu);
    prototypes->emplace(event.type, prototype);
  }
  Payload message(prototype->New(arena));
  RETURN_IF_ERROR(events::UnpackPayload(event, message.get()));
  return message;
}

int RunService(int argc, char** argv, const ServiceDefinition& definition) {
  server::BlockTerminationSignals();
  // Debian's Abseil is built with the mutex deadlock detector on (a debugging aid): it kept a
  // lock graph for every absl::Mutex gRPC takes, ~1.5 % of a busy service's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  RuntimeOptions options;
  options.data_dir = absl::StrCat(".prm/data/", definition.name);
  options.kafka_group = absl::StrCat("prm-", definition.name);
  FlagSet flags(definition.name, definition.summary);
  RegisterRuntimeFlags(flags, &options);
  if (definition.add_flags) definition.add_flags(flags);
  absl::StatusOr<FlagSet::Outcome> outcome = flags.Parse(argc, argv, environ);
  if (!outcome.ok()) {
    std::cerr << outcome.status().message() << "\n";
    return 2;
  }
  if (*outcome == FlagSet::Outcome::kHelp) {
    std::cout << flags.Usage();
    return 0;
  }
  if (*outcome == FlagSet::Outcome::kVersion) {
    std::cout << definition.name << " " << PRM_VERSION << "\n";
    return 0;
  }

  logging::InitLogging(definition.name, options.server.log_level);
  server::ServiceHost host(options.server, definition.name, PRM_VERSION);
  RuntimeImpl runtime(definition.name, options, host);
  std::unique_ptr<ServiceParts> parts;
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(runtime.Open(definition));
    ASSIGN_OR_RETURN(parts, definition.build(runtime));
    for (auto& [service, name] : parts->GrpcServices()) host.Register(service, name);
    runtime.StartRelay();
    host.AddDrainStep("outbox relay", [&] { runtime.StopRelay(); });
    std::vector<std::string> topics;
    if (definition.consumed_topics) topics = definition.consumed_topics(options.topics);
    RETURN_IF_ERROR(runtime.StartConsumer(topics, *parts));
    host.AddDrainStep("kafka consumer", [&] { runtime.StopConsumer(); });
    host.AddDrainStep("dependency watch", [&] { runtime.StopDependencyWatch(); });
    RETURN_IF_ERROR(host.Start());
    runtime.StartDependencyWatch();
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    spdlog::critical("cannot start: {}", status.ToString());
    host.Shutdown();
    return 1;
  }
  spdlog::info("data in {}, kafka at {}, consuming as group {}", options.data_dir,
               options.kafka_brokers, options.kafka_group);
  return host.RunUntilSignal();
}

}  // namespace prm::runtime
