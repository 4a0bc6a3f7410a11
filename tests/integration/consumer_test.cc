// The consumer stores an offset only after the effect is durable, dead-letters poison records
// with their origin, retries transient failures in order, and with processed-event dedupe a
// consumer killed between effect and offset store has no second effect on redelivery.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/storage/processed_events.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/integration/kafka_fixture.h"

namespace prm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTopic[] = "prm.it.consumer";

std::unique_ptr<kafka::Producer> NewProducer() {
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
  EXPECT_OK(producer.status());
  return producer.ok() ? *std::move(producer) : nullptr;
}

kafka::ConsumerOptions Options(const std::string& group) {
  return {.client = {.brokers = testing::KafkaBrokers()},
          .group_id = group,
          .topics = {kTopic},
          .min_retry_backoff = absl::Milliseconds(20),
          .max_retry_backoff = absl::Milliseconds(200)};
}

void Produce(kafka::Producer& producer, std::vector<kafka::Record> records) {
  for (const auto& status : producer.ProduceAndWait(records, absl::Seconds(30))) {
    ASSERT_OK(status);
  }
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

TEST(ConsumerIT, PoisonRecordGoesToDlqAndPartitionKeepsFlowing) {
  const std::string run = testing::UniqueName("dlq");
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  // One key, so all three share a partition and must flow past the poison in order.
  Produce(*producer, {{.topic = kTopic, .key = run, .value = "1", .headers = {{"run", run}}},
                      {.topic = kTopic, .key = run, .value = "poison", .headers = {{"run", run}}},
                      {.topic = kTopic, .key = run, .value = "2", .headers = {{"run", run}}}});

  std::mutex mu;
  std::vector<std::string> handled;
  int64_t poison_offset = -1;
  auto consumer = kafka::Consumer::Create(
      Options(testing::UniqueName("dlq-group")),
      [&](const kafka::Record& r) -> absl::Status {
        if (r.FindHeader("run") != run) return absl::OkStatus();
        int n = 0;
        if (!absl::SimpleAtoi(r.value, &n)) {
          std::lock_guard lock(mu);
          poison_offset = r.offset;
          return absl::InvalidArgumentError("value is not a number");
        }
        std::lock_guard lock(mu);
        handled.push_back(r.value);
        return absl::OkStatus();
      },
      producer.get(), nullptr);
  ASSERT_OK(consumer.status());
  ASSERT_OK((*consumer)->Start());
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return handled.size() == 2;
      },
      absl::Seconds(60)));
  (*consumer)->Stop();
  EXPECT_THAT(handled, ElementsAre("1", "2"));

  auto dead = testing::ReadTopicWhere(absl::StrCat(kTopic, ".dlq"), "run", run, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "poison");
  EXPECT_EQ(dead[0].key, run);
  EXPECT_EQ(dead[0].FindHeader(kafka::kDlqTopicHeader), kTopic);
  EXPECT_EQ(dead[0].FindHeader(kafka::kDlqOffsetHeader), absl::StrCat(poison_offset));
  EXPECT_TRUE(dead[0].FindHeader(kafka::kDlqPartitionHeader).has_value());
  EXPECT_THAT(std::string(*dead[0].FindHeader(kafka::kDlqErrorHeader)),
              HasSubstr("INVALID_ARGUMENT: value is not a number"));
}

// The value of the sample of `family` whose labels include every pair of `labels`, or -1.
double Sample(prometheus::Registry& registry, const std::string& family,
              const std::map<std::string, std::string>& labels) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      size_t matched = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++matched;
      }
      if (matched != labels.size()) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

TEST(ConsumerIT, ExportsDlqCountAndLag) {
  const std::string run = testing::UniqueName("metrics");
  const std::string group = testing::UniqueName("metrics-group");
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  Produce(*producer, {{.topic = kTopic, .key = run, .value = "bad", .headers = {{"run", run}}},
                      {.topic = kTopic, .key = run, .value = "7", .headers = {{"run", run}}}});
  prometheus::Registry registry;
  std::atomic<bool> done{false};
  kafka::ConsumerOptions options = Options(group);
  options.stats_interval = absl::Milliseconds(100);
  auto consumer = kafka::Consumer::Create(
      options,
      [&](const kafka::Record& r) -> absl::Status {
        if (r.FindHeader("run") != run) return absl::OkStatus();
        if (r.value == "bad") return absl::InvalidArgumentError("not a number");
        done = true;
        return absl::OkStatus();
      },
      producer.get(), &registry);
  ASSERT_OK(consumer.status());
  ASSERT_OK((*consumer)->Start());
  ASSERT_TRUE(WaitFor([&] { return done.load(); }, absl::Seconds(60)));
  // Every partition is read to its end, so the lag settles at 0 on each assigned partition.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (int p = 0; p < 3; ++p) {
          if (Sample(registry, "kafka_consumer_lag",
                     {{"topic", kTopic}, {"partition", absl::StrCat(p)}, {"group", group}}) != 0) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(30)));
  (*consumer)->Stop();
  EXPECT_EQ(Sample(registry, "kafka_consumer_dlq_total", {{"topic", kTopic}, {"group", group}}), 1);
  EXPECT_GE(Sample(registry, "kafka_consumer_records_total",
                   {{"topic", kTopic}, {"group", group}, {"outcome", "ok"}}),
            1);
}

TEST(ConsumerIT, TransientFailureIsRetriedInOrderWithoutDlq) {
  const std::string run = testing::UniqueName("retry");
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  Produce(*producer, {{.topic = kTopic, .key = run, .value = "1", .headers = {{"run", run}}},
                      {.topic = kTopic, .key = run, .value = "2", .headers = {{"run", run}}}});
  std::mutex mu;
  std::vector<std::string> handled;
  int failures_left = 3;
  auto consumer = kafka::Consumer::Create(
      Options(testing::UniqueName("retry-group")),
      [&](const kafka::Record& r) -> absl::Status {
        if (r.FindHeader("run") != run) return absl::OkStatus();
        std::lock_guard lock(mu);
        if (r.value == "1" && failures_left > 0) {
          --failures_left;
          return absl::UnavailableError("store is down");
        }
        handled.push_back(r.value);
        return absl::OkStatus();
      },
      producer.get(), nullptr);
  ASSERT_OK(consumer.status());
  ASSERT_OK((*consumer)->Start());
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return handled.size() == 2;
      },
      absl::Seconds(60)));
  (*consumer)->Stop();
  EXPECT_THAT(handled, ElementsAre("1", "2"));
  EXPECT_EQ(failures_left, 0);
  EXPECT_TRUE(
      testing::ReadTopicWhere(absl::StrCat(kTopic, ".dlq"), "run", run, absl::Seconds(30)).empty());
}

// A batch's values, read on the consumer's fetching thread (ahead of the handler, which may get
// the batch before they are all read: it waits for them).
class Values final : public kafka::Preparation {
 public:
  explicit Values(const kafka::Batch& batch) : batch_(batch) {}
  void Prepare() override {
    for (size_t i = 0; i < batch_.size(); ++i) values_.push_back(batch_.Get(i).value);
    done_.Notify();
  }
  const std::vector<std::string>& Get() const {
    done_.WaitForNotification();
    return values_;
  }

 private:
  const kafka::Batch& batch_;
  std::vector<std::string> values_;
  absl::Notification done_;
};

// Batches: a handler that stops early, and one that hits a transient failure mid-batch, get the
// rest of the batch again, in order, with the preparation of that batch (fetching runs a batch
// ahead, and the batch fetched ahead is dropped on each rewind); every record is handled exactly
// once in the end, the poison one dead-lettered once.
TEST(ConsumerIT, BatchesStopEarlyOrFailMidwayAndTheRestIsRedeliveredInOrder) {
  const std::string run = testing::UniqueName("batch");
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  std::vector<kafka::Record> records;
  constexpr int kRecords = 60;
  for (int i = 0; i < kRecords; ++i) {
    // One key: one partition, so the order is the production order.
    records.push_back({.topic = kTopic, .key = run,
                       .value = i == 17 ? "poison" : absl::StrCat(i), .headers = {{"run", run}}});
  }
  Produce(*producer, records);
  std::mutex mu;
  std::vector<std::string> handled;
  int calls = 0;
  int failures_left = 2;
  kafka::ConsumerOptions options = Options(testing::UniqueName("batch-group"));
  options.max_batch = 16;
  auto consumer = kafka::Consumer::Create(
      options,
      kafka::BatchHandler([&](const kafka::Batch& batch) {
        std::lock_guard lock(mu);
        std::vector<absl::Status> statuses;
        ++calls;
        const std::vector<std::string>& values =
            static_cast<const Values*>(batch.preparation())->Get();
        EXPECT_EQ(values.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
          const kafka::Record r = batch.Get(i);
          EXPECT_EQ(r.value, values[i]);
          if (r.FindHeader("run") != run) {
            statuses.push_back(absl::OkStatus());
            continue;
          }
          if (calls % 3 == 0 && i == batch.size() / 2) break;  // stop early now and then
          if (r.value == "40" && failures_left > 0) {
            --failures_left;
            statuses.push_back(absl::UnavailableError("store is down"));
            break;
          }
          if (r.value == "poison") {
            statuses.push_back(absl::InvalidArgumentError("not a number"));
            continue;
          }
          handled.push_back(r.value);
          statuses.push_back(absl::OkStatus());
        }
        return statuses;
      }),
      producer.get(), nullptr,
      [](const kafka::Batch& batch) { return std::make_unique<Values>(batch); });
  ASSERT_OK(consumer.status());
  ASSERT_OK((*consumer)->Start());
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return handled.size() == kRecords - 1;
      },
      absl::Seconds(60)));
  (*consumer)->Stop();
  std::vector<std::string> expected;
  for (int i = 0; i < kRecords; ++i) {
    if (i != 17) expected.push_back(absl::StrCat(i));
  }
  EXPECT_EQ(handled, expected);
  EXPECT_EQ(failures_left, 0);
  EXPECT_EQ(
      testing::ReadTopicWhere(absl::StrCat(kTopic, ".dlq"), "run", run, absl::Seconds(30)).size(),
      1u);
}

// The effect: count applications per event id.
sqlite::Schema CountersSchema() {
  return {"counters",
          {{1, "create counters", "CREATE TABLE counters (id TEXT PRIMARY KEY, n INTEGER)"}}};
}

std::unique_ptr<sqlite::Database> OpenDb(const std::string& path) {
  auto db = sqlite::Database::Open({.path = path},
                                   {processed_events::Schema(), CountersSchema()});
  EXPECT_OK(db.status());
  return db.ok() ? *std::move(db) : nullptr;
}

absl::Status ApplyEffect(sqlite::Database& db, const kafka::Record& r) {
  std::string id(*r.FindHeader("ce_id"));
  return processed_events::ApplyOnce(db, "it", id, absl::Now(), [&](sqlite::Transaction& tx) {
    return tx.Execute(
        "INSERT INTO counters(id, n) VALUES(?, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1", id);
  });
}

TEST(ConsumerIT, KilledAfterEffectBeforeOffsetStoreHasNoSecondEffect) {
  const std::string run = testing::UniqueName("kill");
  const std::string group = testing::UniqueName("kill-group");
  const std::string path = (std::filesystem::temp_directory_path() / (run + ".sqlite")).string();
  constexpr int kEvents = 60;
  constexpr int kKillAt = 37;  // the 38th event of this run
  {
    auto producer = NewProducer();
    ASSERT_NE(producer, nullptr);
    std::vector<kafka::Record> records;
    for (int i = 0; i < kEvents; ++i) {
      records.push_back({.topic = kTopic,
                         .key = absl::StrCat(run, i % 3),
                         .value = absl::StrCat(i),
                         .headers = {{"run", run}, {"ce_id", absl::StrCat(run, "/", i)}}});
    }
    Produce(*producer, records);
  }

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = OpenDb(path);
    auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
    if (!db || !producer.ok()) _exit(2);
    std::atomic<int> applied{0};
    auto consumer = kafka::Consumer::Create(
        Options(group),
        [&](const kafka::Record& r) -> absl::Status {
          if (r.FindHeader("run") != run) return absl::OkStatus();
          absl::Status status = ApplyEffect(*db, r);
          // The effect is durable; die before the consumer can store the offset.
          if (status.ok() && ++applied == kKillAt + 1) ::raise(SIGKILL);
          return status;
        },
        producer->get(), nullptr);
    if (!consumer.ok() || !(*consumer)->Start().ok()) _exit(3);
    absl::SleepFor(absl::Seconds(120));
    _exit(4);  // never reached when the kill happens
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child: " << wstatus;

  // Restart in the same group over the same store.
  auto db = OpenDb(path);
  ASSERT_NE(db, nullptr);
  auto producer = NewProducer();
  std::atomic<int> seen{0};
  auto consumer = kafka::Consumer::Create(
      Options(group),
      [&](const kafka::Record& r) -> absl::Status {
        if (r.FindHeader("run") != run) return absl::OkStatus();
        ++seen;
        return ApplyEffect(*db, r);
      },
      producer.get(), nullptr);
  ASSERT_OK(consumer.status());
  ASSERT_OK((*consumer)->Start());
  auto counts = [&] {
    std::vector<std::vector<sqlite::Value>> rows;
    EXPECT_OK(db->Read([&](sqlite::Transaction& tx) -> absl::Status {
      auto r = tx.Query("SELECT count(*), COALESCE(max(n), 0), COALESCE(sum(n), 0) FROM counters");
      if (!r.ok()) return r.status();
      rows = *r;
      return absl::OkStatus();
    }));
    return rows;
  };
  ASSERT_TRUE(WaitFor([&] { return std::get<int64_t>(counts()[0][0]) == kEvents; },
                      absl::Seconds(60)));
  // Let any further redelivery arrive before judging.
  absl::SleepFor(absl::Seconds(1));
  (*consumer)->Stop();
  auto rows = counts();
  EXPECT_EQ(std::get<int64_t>(rows[0][0]), kEvents);
  EXPECT_EQ(std::get<int64_t>(rows[0][1]), 1) << "an event was applied twice";
  EXPECT_EQ(std::get<int64_t>(rows[0][2]), kEvents);
  // The killed event's offset was never stored, so it must have been delivered again.
  EXPECT_GE(seen.load(), kEvents - kKillAt) << "no redelivery happened";
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace prm
