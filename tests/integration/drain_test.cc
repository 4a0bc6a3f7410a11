// A service binary built on the shared runtime, under load, gets SIGTERM: it drains within
// 25 s and exits 0, and every write it acknowledged is in its store and on Kafka. Consumed
// events are applied once, also across the restart that follows (SPEC §3.4, §2).

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "common/storage/outbox.h"
#include "common/storage/sqlite.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "journal.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

constexpr char kOutTopic[] = "prm.it.journal";
constexpr char kInTopic[] = "prm.it.journal.in";

// The runtime's test service (journal/journal_main.cc) on the given store and group.
std::unique_ptr<testing::ServiceProcess> JournalProcess(
    const std::string& data_dir, const std::string& group,
    std::string brokers = testing::KafkaBrokers()) {
  return std::make_unique<testing::ServiceProcess>(
      "prm-journal-testd", data_dir, group,
      std::vector<std::string>{absl::StrCat("--topic-journal=", kOutTopic),
                               absl::StrCat("--topic-journal-in=", kInTopic)},
      std::move(brokers));
}

std::string Token() { return testing::ServiceToken(); }

absl::StatusOr<testing::v1::GetJournalStatsResponse> Stats(testing::v1::Journal::Stub& stub,
                                                            const std::string& token,
                                                            const std::string& run) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  testing::v1::GetJournalStatsRequest request;
  request.set_run(run);
  testing::v1::GetJournalStatsResponse response;
  grpc::Status status = stub.GetJournalStats(&ctx, request, &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return response;
}

// Waits until the stats satisfy `done`.
bool WaitForStats(testing::v1::Journal::Stub& stub, const std::string& token,
                  const std::string& run,
                  const std::function<bool(const testing::v1::GetJournalStatsResponse&)>& done,
                  absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto stats = Stats(stub, token, run);
    if (stats.ok() && done(*stats)) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST(DrainIT, SigtermUnderLoadLosesNoAcceptedWorkAndAppliesNoEventTwice) {
  const std::string run = testing::UniqueName("drain");
  const std::string data_dir = (std::filesystem::temp_directory_path() / run).string();
  const std::string group = run + "-group";
  const std::string token = Token();
  constexpr int kInEvents = 200;

  // Events for the service to consume, produced before it starts.
  {
    auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
    ASSERT_OK(producer.status());
    std::vector<kafka::Record> records;
    for (int i = 0; i < kInEvents; ++i) {
      testing::v1::EntryAppended payload;
      payload.set_seq(i);
      payload.set_request_id(run);
      records.push_back(events::EncodeBinary(
          events::MakeEvent(payload, "prm.testing.EntryAppended.v1", "prm/drain-test",
                            absl::StrCat(run, "-", i), absl::Now(), absl::StrCat(i % 7)),
          kInTopic));
    }
    for (const auto& s : (*producer)->ProduceAndWait(records, absl::Seconds(30))) ASSERT_OK(s);
  }

  auto process = JournalProcess(data_dir, group);
  process->Start();
  auto channel = process->channel();
  auto stub = testing::v1::Journal::NewStub(channel);
  ASSERT_TRUE(WaitForStats(
      *stub, token, run, [&](const auto& s) { return s.consumed_events() == kInEvents; },
      absl::Seconds(60)))
      << "the service did not come up and consume its input";

  // Load: four clients append until the server stops answering.
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> errors_after_ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto client = testing::v1::Journal::NewStub(channel);
      for (int i = 0; !stop.load(); ++i) {
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", token);
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        testing::v1::AppendEntryRequest request;
        request.set_request_id(absl::StrCat(run, "/", t, "/", i));
        request.set_text("entry");
        testing::v1::AppendEntryResponse response;
        grpc::Status status = client->AppendEntry(&ctx, request, &response);
        if (status.ok()) {
          std::lock_guard lock(mu);
          acknowledged.insert(request.request_id());
        } else {
          ++errors_after_ok;
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(1500));
  auto [wstatus, took] = process->Terminate();
  stop.store(true);
  for (auto& c : clients) c.join();

  ASSERT_TRUE(WIFEXITED(wstatus)) << "killed by signal " << WTERMSIG(wstatus);
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_LT(took, absl::Seconds(25));
  ASSERT_GT(acknowledged.size(), 50u) << "too little load to prove anything";
  std::cout << "acknowledged " << acknowledged.size() << " appends; drained in "
            << absl::FormatDuration(took) << "\n";

  // Every acknowledged write is in the store, and the outbox was flushed to Kafka.
  {
    auto db = sqlite::Database::Open({.path = data_dir + "/prm-journal-testd.sqlite"}, {});
    ASSERT_OK(db.status());
    std::set<std::string> stored;
    ASSERT_OK((*db)->Read([&](sqlite::Transaction& tx) -> absl::Status {
      auto rows = tx.Query("SELECT request_id FROM entries");
      if (!rows.ok()) return rows.status();
      for (const auto& r : *rows) stored.insert(std::get<std::string>(r[0]));
      return absl::OkStatus();
    }));
    for (const auto& id : acknowledged) EXPECT_TRUE(stored.count(id)) << id << " lost";
    EXPECT_EQ(*outbox::Backlog(**db), 0) << "the drain left events unpublished";
  }
  std::set<std::string> published;
  for (const auto& r : testing::ReadTopic(kOutTopic, absl::Seconds(30))) published.insert(r.key);
  for (const auto& id : acknowledged) EXPECT_TRUE(published.count(id)) << id << " not on Kafka";

  // Restart on the same store and group: nothing consumed is applied again.
  auto again = JournalProcess(data_dir, group);
  again->Start();
  auto stub2 = testing::v1::Journal::NewStub(again->channel());
  ASSERT_TRUE(
      WaitForStats(*stub2, token, run, [](const auto&) { return true; }, absl::Seconds(60)));
  absl::SleepFor(absl::Seconds(3));  // time for any redelivery to arrive
  auto stats = Stats(*stub2, token, run);
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->consumed_events(), kInEvents);
  // A write may commit while its reply is lost to the shutdown, never the other way round.
  EXPECT_GE(stats->entries(), static_cast<int64_t>(acknowledged.size()));
  auto [wstatus2, took2] = again->Terminate();
  EXPECT_TRUE(WIFEXITED(wstatus2) && WEXITSTATUS(wstatus2) == 0);
  std::filesystem::remove_all(data_dir);
}

TEST(HealthIT, ServingWithKafkaNotServingWithoutIt) {
  using grpc::health::v1::HealthCheckResponse;
  const std::string run = testing::UniqueName("health");
  const std::string dir = (std::filesystem::temp_directory_path() / run).string();

  auto healthy = JournalProcess(dir + "-a", run + "-a");
  EXPECT_TRUE(healthy->StartAndWaitServing(absl::Seconds(30)));
  // prmctl's health check, which scripts/dev relies on, agrees.
  const char* bin = std::getenv("TEST_BIN_DIR");
  std::string prmctl = absl::StrCat(bin ? bin : "build/bin", "/prmctl health --address=");
  EXPECT_EQ(std::system((prmctl + healthy->address() + " --wait=10s").c_str()), 0);

  // Nothing listens on this port: Kafka, a hard dependency, is down.
  auto orphan =
      JournalProcess(dir + "-b", run + "-b", absl::StrCat("127.0.0.1:", testing::FreePort()));
  orphan->Start();
  EXPECT_TRUE(testing::WaitForHealth(orphan->address(), HealthCheckResponse::NOT_SERVING,
                                     absl::Seconds(30)));
  EXPECT_NE(std::system((prmctl + orphan->address()).c_str()), 0);

  EXPECT_EQ(healthy->Terminate().first, 0);
  auto [orphan_status, took] = orphan->Terminate();
  EXPECT_TRUE(WIFEXITED(orphan_status)) << "killed by signal " << WTERMSIG(orphan_status);
  EXPECT_LT(took, absl::Seconds(25)) << "drain without Kafka must still be bounded";
  std::filesystem::remove_all(dir + "-a");
  std::filesystem::remove_all(dir + "-b");
}

}  // namespace
}  // namespace prm
