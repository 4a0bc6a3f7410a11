// The outbox publishes every committed event, even when the process is killed with SIGKILL at
// an arbitrary point between commit and publish (SPEC §2, "no event is lost").

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/kafka/outbox_relay.h"
#include "common/kafka/producer.h"
#include "common/storage/outbox.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/integration/kafka_fixture.h"

namespace prm {
namespace {

constexpr char kTopic[] = "prm.it.outbox";

std::unique_ptr<sqlite::Database> OpenDb(const std::string& path) {
  auto db = sqlite::Database::Open({.path = path}, {outbox::Schema()});
  if (!db.ok()) {
    ADD_FAILURE() << db.status();
    return nullptr;
  }
  return *std::move(db);
}

// Child process: commits events one by one with a relay running (or not), then SIGKILLs itself
// right after commit number `kill_at`.
[[noreturn]] void CommitThenDie(const std::string& path, const std::string& run, int first,
                                int kill_at, bool with_relay) {
  auto db = OpenDb(path);
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
  if (!db || !producer.ok()) _exit(2);
  kafka::OutboxRelay relay(*db, **producer, SystemClock::Instance(), {.batch_size = 7}, nullptr);
  if (with_relay) relay.Start();
  for (int i = first;; ++i) {
    absl::Status status = db->Transact([&](sqlite::Transaction& tx) {
      return outbox::Append(tx,
                            {.topic = kTopic,
                             .key = absl::StrCat("k", i % 5),
                             .value = absl::StrCat(i),
                             .headers = {{"run", run}, {"seq", absl::StrCat(i)}}},
                            absl::Now());
    });
    if (!status.ok()) _exit(3);
    relay.Notify();
    if (i == kill_at) ::raise(SIGKILL);
  }
}

TEST(OutboxRelayIT, PublishesEveryCommittedEventAfterKill9) {
  const std::string run = testing::UniqueName("outbox");
  const std::string path =
      (std::filesystem::temp_directory_path() / (run + ".sqlite")).string();
  std::mt19937 rng(20261129);
  int next = 0;
  for (int round = 0; round < 4; ++round) {
    int kill_at = next + std::uniform_int_distribution<int>(5, 150)(rng);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) CommitThenDie(path, run, next, kill_at, /*with_relay=*/round % 2 == 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited with " << wstatus;
    next = kill_at + 1;
  }

  // Restart: a new relay publishes whatever the dead processes left behind.
  auto db = OpenDb(path);
  ASSERT_NE(db, nullptr);
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
  ASSERT_OK(producer.status());
  kafka::OutboxRelay relay(*db, **producer, SystemClock::Instance(), {}, nullptr);
  relay.Start();
  ASSERT_OK(relay.Stop(absl::Seconds(30)));
  EXPECT_EQ(*outbox::Backlog(*db), 0);

  std::vector<kafka::Record> published =
      testing::ReadTopicWhere(kTopic, "run", run, absl::Seconds(30));
  std::set<int> seen;
  std::map<std::string, int> last_new_per_key;
  for (const auto& r : published) {
    int seq = -1;
    ASSERT_TRUE(absl::SimpleAtoi(std::string(*r.FindHeader("seq")), &seq));
    if (!seen.insert(seq).second) continue;  // a re-send after a crash: allowed
    // The first copy of each event arrives in commit order within its key.
    auto [it, inserted] = last_new_per_key.try_emplace(r.key, seq);
    if (!inserted) {
      EXPECT_GT(seq, it->second) << "key " << r.key << " out of order";
      it->second = seq;
    }
  }
  // Every committed event (0 .. last kill point) is on the topic.
  for (int i = 0; i < next; ++i) EXPECT_TRUE(seen.count(i)) << "event " << i << " was lost";
  EXPECT_EQ(static_cast<int>(seen.size()), next);
  std::cout << "committed " << next << " events across 4 kill -9 rounds; published "
            << published.size() << " records (" << published.size() - seen.size()
            << " re-sent)\n";
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace prm
