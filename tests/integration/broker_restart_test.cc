// The broker goes away while a service built on the shared runtime is writing: first a clean
// stop (deploy/local/kafka stop, SIGTERM), then a crash (SIGKILL of the broker's JVM), each
// followed by a restart on the same port and data directory. Appends keep being acknowledged
// while the broker is down (the outbox holds their events), and once it is back every
// acknowledged append reaches Kafka, at least once and in commit order (issue 7, SPEC §2).
//
// The test runs its own broker: the shared one (TEST_KAFKA_BROKERS) must not be stopped.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "gtest/gtest.h"
#include "journal.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

constexpr char kOutTopic[] = "prm.it.journal";
constexpr char kInTopic[] = "prm.it.journal.in";
constexpr int kClients = 4;
constexpr int kKeysPerClient = 2;  // 8 keys; each key is written by one client, in sequence

// A broker of the test's own, run by deploy/local/kafka on two free loopback ports with a data
// directory of its own. The guard stops the broker and removes the directory when it goes out
// of scope, also when the test fails.
class LocalBroker {
 public:
  LocalBroker()
      : port_(testing::FreePort()),
        controller_port_(testing::FreePort()),
        dir_((std::filesystem::temp_directory_path() / testing::UniqueName("broker-restart-kafka"))
                 .string()) {}
  ~LocalBroker() {
    Run("stop");
    std::filesystem::remove_all(dir_);
  }
  LocalBroker(const LocalBroker&) = delete;
  LocalBroker& operator=(const LocalBroker&) = delete;

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Starts the broker and waits until it serves metadata (the script's own 60 s bound).
  bool Start() { return Run("start --timeout 60"); }
  // Creates the topics of `topics_file` and their .dlq twins.
  bool CreateTopics(const std::string& topics_file) {
    return Run(absl::StrCat("create-topics --topics ", topics_file));
  }
  // A clean stop: SIGTERM, and the script's SIGKILL after 30 s.
  bool Stop() { return Run("stop"); }
  // A crash: SIGKILL to the broker's JVM, then waits (at most 10 s) until it is gone.
  bool Kill() {
    int pid = 0;
    std::ifstream pid_file(dir_ + "/kafka.pid");
    std::string text;
    if (!(pid_file >> text) || !absl::SimpleAtoi(text, &pid) || pid <= 1) return false;
    std::ifstream cmdline_file(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                        std::istreambuf_iterator<char>());
    if (cmdline.find("kafka.Kafka") == std::string::npos ||
        cmdline.find(dir_) == std::string::npos) {
      return false;  // not this test's broker (pid reused): never kill it
    }
    if (::kill(pid, SIGKILL) != 0) return false;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (!Alive(pid)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  // Alive = exists and is not a zombie (nobody may reap the broker in a container).
  static bool Alive(int pid) {
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    if (!std::getline(stat, line)) return false;
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
  }

  bool Run(const std::string& command) const {
    const std::string line =
        absl::StrCat(PRM_SOURCE_DIR, "/deploy/local/kafka ", command, " --port ", port_,
                     " --controller-port ", controller_port_, " --data-dir ", dir_);
    const int status = std::system(line.c_str());
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  int port_;
  int controller_port_;
  std::string dir_;
};

// Removes a directory when it goes out of scope.
struct RemoveDirectory {
  std::string path;
  ~RemoveDirectory() { std::filesystem::remove_all(path); }
};

// request_id "<run>/k<key>/<seq>": the key a client writes and its sequence number in that key.
struct KeySeq {
  int key = -1;
  int64_t seq = -1;
};

std::string RequestId(const std::string& run, int key, int64_t seq) {
  return absl::StrCat(run, "/k", key, "/", seq);
}

bool ParseRequestId(const std::string& run, const std::string& id, KeySeq* out) {
  std::vector<std::string> parts = absl::StrSplit(id, '/');
  return parts.size() == 3 && parts[0] == run && parts[1].size() > 1 && parts[1][0] == 'k' &&
         absl::SimpleAtoi(parts[1].substr(1), &out->key) && absl::SimpleAtoi(parts[2], &out->seq);
}

// Clients appending in the background: each owns kKeysPerClient keys and appends to them in
// turn, retrying an unanswered append with the same request_id (the RPC is idempotent on it)
// until it is acknowledged, so that every key's acknowledged sequence has no gaps.
class Writers {
 public:
  Writers(std::shared_ptr<grpc::Channel> channel, std::string run, std::string token)
      : channel_(std::move(channel)), run_(std::move(run)), token_(std::move(token)) {
    for (int t = 0; t < kClients; ++t) threads_.emplace_back([this, t] { Write(t); });
  }
  ~Writers() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int64_t acknowledged_count() const { return acknowledged_count_.load(); }
  int64_t failed_calls() const { return failed_calls_.load(); }
  // Request ids acknowledged so far; call after Stop.
  const std::set<std::string>& acknowledged() const { return acknowledged_; }

  // Waits until `count` appends are acknowledged; false after `timeout`.
  bool WaitForAcknowledged(int64_t count, absl::Duration timeout) const {
    const absl::Time deadline = absl::Now() + timeout;
    while (acknowledged_count() < count) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

 private:
  void Write(int client) {
    auto stub = testing::v1::Journal::NewStub(channel_);
    std::vector<int64_t> next_seq(kKeysPerClient, 0);
    for (int i = 0; !stop_.load(); ++i) {
      const int slot = i % kKeysPerClient;
      const int key = client * kKeysPerClient + slot;
      testing::v1::AppendEntryRequest request;
      request.set_request_id(RequestId(run_, key, next_seq[slot]));
      request.set_text("entry");
      while (!stop_.load()) {
        auto ctx = testing::Context(token_, absl::Seconds(5));
        testing::v1::AppendEntryResponse response;
        if (stub->AppendEntry(ctx.get(), request, &response).ok()) {
          {
            std::lock_guard lock(mu_);
            acknowledged_.insert(request.request_id());
          }
          ++acknowledged_count_;
          ++next_seq[slot];
          break;
        }
        ++failed_calls_;
        absl::SleepFor(absl::Milliseconds(20));
      }
      // A steady rate rather than as fast as possible: the broker's JVM restarts on the same
      // two cores.
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::string run_;
  std::string token_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acknowledged_count_{0};
  std::atomic<int64_t> failed_calls_{0};
  std::mutex mu_;
  std::set<std::string> acknowledged_;
  std::vector<std::thread> threads_;
};

// How long the broker stays down in each outage: TEST_BROKER_DOWN_SECONDS, 2 by default. Past
// the producer's message timeout (30 s) the relay's retry path runs as well, in a test of
// minutes instead of seconds.
absl::Duration DownTime() {
  const char* text = std::getenv("TEST_BROKER_DOWN_SECONDS");
  int seconds = 2;
  if (text != nullptr && *text != '\0' && (!absl::SimpleAtoi(text, &seconds) || seconds < 0)) {
    ADD_FAILURE() << "TEST_BROKER_DOWN_SECONDS is not a number of seconds: " << text;
    seconds = 2;
  }
  return absl::Seconds(seconds);
}

// A duration to a tenth of a second, for the figures.
std::string Rounded(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(100)));
}

// One broker outage as the writers saw it.
struct Outage {
  absl::Duration length;          // from the stop (or kill) until the broker serves again
  absl::Duration broker_gone;     // of which no broker process existed
  int64_t acknowledged = 0;       // appends acknowledged during `length`
  int64_t acknowledged_gone = 0;  // appends acknowledged during `broker_gone`
};

// Takes the broker away with `take_down`, keeps it down for `down`, starts it again.
Outage BreakBroker(LocalBroker& broker, const Writers& writers, bool (LocalBroker::*take_down)(),
                   absl::Duration down) {
  Outage o;
  const absl::Time begin = absl::Now();
  const int64_t acked_begin = writers.acknowledged_count();
  EXPECT_TRUE((broker.*take_down)()) << "could not take the broker down";
  const absl::Time gone = absl::Now();
  const int64_t acked_gone = writers.acknowledged_count();
  absl::SleepFor(down);
  const absl::Time restart = absl::Now();
  const int64_t acked_restart = writers.acknowledged_count();
  EXPECT_TRUE(broker.Start()) << "the broker did not come back";
  o.length = absl::Now() - begin;
  o.broker_gone = restart - gone;
  o.acknowledged = writers.acknowledged_count() - acked_begin;
  o.acknowledged_gone = acked_restart - acked_gone;
  return o;
}

TEST(BrokerRestartIT, StopAndKillDuringProductionLoseNoAcknowledgedEventAndKeepOrder) {
  const absl::Time test_start = absl::Now();
  LocalBroker broker;
  ASSERT_TRUE(broker.Start()) << "could not start the test's own broker";
  ASSERT_TRUE(broker.CreateTopics(absl::StrCat(PRM_SOURCE_DIR, "/tests/integration/topics.txt")));

  const std::string run = testing::UniqueName("broker-restart");
  RemoveDirectory data_dir{(std::filesystem::temp_directory_path() / run).string()};
  testing::ServiceProcess journal(
      "prm-journal-testd", data_dir.path, run + "-group",
      {absl::StrCat("--topic-journal=", kOutTopic), absl::StrCat("--topic-journal-in=", kInTopic)},
      broker.address());
  ASSERT_TRUE(journal.StartAndWaitServing(absl::Seconds(60)));

  Writers writers(journal.channel(), run, testing::ServiceToken());
  ASSERT_TRUE(writers.WaitForAcknowledged(100, absl::Seconds(30))) << "no load before the stop";

  const absl::Duration down = DownTime();
  Outage stopped = BreakBroker(broker, writers, &LocalBroker::Stop, down);
  ASSERT_TRUE(writers.WaitForAcknowledged(writers.acknowledged_count() + 100, absl::Seconds(30)))
      << "no load after the first restart";
  Outage killed = BreakBroker(broker, writers, &LocalBroker::Kill, down);
  ASSERT_TRUE(writers.WaitForAcknowledged(writers.acknowledged_count() + 100, absl::Seconds(30)))
      << "no load after the second restart";
  writers.Stop();
  const std::set<std::string>& acknowledged = writers.acknowledged();

  // The outbox held the events: appends went on being acknowledged while no broker existed.
  EXPECT_GT(stopped.acknowledged_gone, 0) << "no append acknowledged while the broker was stopped";
  EXPECT_GT(killed.acknowledged_gone, 0) << "no append acknowledged while the broker was killed";

  // Wait until the relay has published every acknowledged append.
  const absl::Time publish_start = absl::Now();
  std::vector<kafka::Record> records;
  std::set<std::string> missing = acknowledged;
  while (!missing.empty() && absl::Now() - publish_start < absl::Seconds(120)) {
    records = testing::ReadTopic(kOutTopic, absl::Seconds(30), broker.address());
    missing = acknowledged;
    for (const auto& r : records) missing.erase(r.key);
    if (!missing.empty()) absl::SleepFor(absl::Milliseconds(500));
  }
  const absl::Duration publish_wait = absl::Now() - publish_start;
  EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged appends never reached Kafka, "
                               << "e.g. " << *missing.begin();

  // Order. The journal keys each event by its request_id, so one client key's appends spread
  // over the partitions, and the order Kafka keeps is the order within a partition. There, the
  // first copy of each event must come in commit order (the entry's seq in the store), which
  // covers every record key; and each client key's sequence numbers must increase. Later copies
  // (at least once) may repeat anything already seen.
  std::map<int32_t, int64_t> last_entry_seq;                // partition -> entry seq
  std::map<std::pair<int32_t, int>, int64_t> last_key_seq;  // (partition, key) -> key seq
  std::set<std::string> seen;
  int64_t ours = 0, duplicates = 0, undecodable = 0, reordered = 0, key_reordered = 0;
  std::string examples;  // the first few order violations, for the failure message
  auto note = [&](const kafka::Record& r, const std::string& what) {
    if (reordered + key_reordered <= 5) {
      absl::StrAppend(&examples, "\n  partition ", r.partition, " offset ", r.offset, " (", r.key,
                      "): ", what);
    }
  };
  for (const auto& r : records) {
    KeySeq ks;
    if (!ParseRequestId(run, r.key, &ks)) continue;
    ++ours;
    if (!seen.insert(r.key).second) {
      ++duplicates;
      continue;
    }
    testing::v1::EntryAppended entry;
    auto event = events::Decode(r);
    if (!event.ok() ||
        !events::UnpackPayload(*event, &entry, "prm.testing.EntryAppended.v1").ok()) {
      ++undecodable;
      continue;
    }
    auto [entry_it, first_in_partition] = last_entry_seq.try_emplace(r.partition, entry.seq());
    if (!first_in_partition) {
      if (entry.seq() <= entry_it->second) {
        ++reordered;
        note(r, absl::StrCat("entry ", entry.seq(), " first seen after entry ", entry_it->second));
      }
      entry_it->second = std::max(entry_it->second, entry.seq());
    }
    auto [key_it, first_of_key] = last_key_seq.try_emplace({r.partition, ks.key}, ks.seq);
    if (!first_of_key) {
      if (ks.seq <= key_it->second) {
        ++key_reordered;
        note(r, absl::StrCat("key ", ks.key, " seq ", ks.seq, " first seen after seq ",
                             key_it->second));
      }
      key_it->second = std::max(key_it->second, ks.seq);
    }
  }
  EXPECT_EQ(undecodable, 0) << "records of this run that are not EntryAppended events";
  EXPECT_EQ(reordered, 0) << "events first seen out of commit order:" << examples;
  EXPECT_EQ(key_reordered, 0) << "keys first seen out of sequence:" << examples;
  // An append whose reply was lost may have committed all the same; only the last attempt of
  // each key, never acknowledged because the writers stopped, can be such an append.
  EXPECT_LE(seen.size(), acknowledged.size() + kClients * kKeysPerClient);

  auto [wstatus, drain] = journal.Terminate();
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "wait status " << wstatus;

  std::cout << "broker restart: " << acknowledged.size() << " acknowledged appends ("
            << writers.failed_calls() << " failed calls retried); clean stop: outage "
            << Rounded(stopped.length) << ", broker gone "
            << Rounded(stopped.broker_gone) << ", " << stopped.acknowledged
            << " appends acknowledged in the outage (" << stopped.acknowledged_gone
            << " while gone); SIGKILL: outage " << Rounded(killed.length)
            << ", broker gone " << Rounded(killed.broker_gone) << ", "
            << killed.acknowledged << " appends acknowledged in the outage ("
            << killed.acknowledged_gone << " while gone); " << ours << " records read, "
            << seen.size() << " distinct, " << duplicates << " duplicates, " << missing.size()
            << " events lost, " << reordered + key_reordered << " reordered; waited "
            << Rounded(publish_wait) << " for publication after the writers stopped; drained in "
            << Rounded(drain) << "; whole test "
            << Rounded(absl::Now() - test_start) << "\n";
}

}  // namespace
}  // namespace prm
