// `prmctl dlq` end to end (label integration): topics of the test's own, records dead-lettered by
// the real common/kafka consumer (plus a repeated copy, another group's letter for the same
// record and a record that is no dead letter), then the real prmctl binary lists them, replays
// them, and the same consumer group applies the replayed originals once its cause is fixed.

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  return "'" + absl::StrReplaceAll(arg, {{"'", "'\\''"}}) + "'";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Creates `topics` (name → partitions) with the admin API: the broker never creates topics on
// first use (deploy/local/kafka), and these are the test's alone.
void CreateTopics(const std::map<std::string, int>& topics) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", testing::KafkaBrokers().c_str(), error,
                              sizeof error),
            RD_KAFKA_CONF_OK)
      << error;
  rd_kafka_t* admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  ASSERT_NE(admin, nullptr) << error;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const auto& [name, partitions] : topics) {
    requests.push_back(rd_kafka_NewTopic_new(name.c_str(), partitions, 1, error, sizeof error));
    ASSERT_NE(requests.back(), nullptr) << error;
  }
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(admin, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, error, sizeof error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreateTopics(admin, requests.data(), requests.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60000);
  ASSERT_NE(event, nullptr) << "no answer to CreateTopics";
  ASSERT_EQ(rd_kafka_event_error(event), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_event_error_string(event);
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
  ASSERT_EQ(count, topics.size());
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(rd_kafka_topic_result_error(results[i]), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_topic_result_name(results[i]) << ": "
        << rd_kafka_topic_result_error_string(results[i]);
  }
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  rd_kafka_destroy(admin);
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

class PrmctlDlqIT : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = testing::UniqueName("prmctl-dlq-it");
    topic_ = "prm.it." + run_;
    dlq_ = topic_ + ".dlq";
    dir_ = std::filesystem::temp_directory_path() / run_;
    std::filesystem::create_directories(dir_);
    auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
    ASSERT_OK(producer.status());
    producer_ = *std::move(producer);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The prmctl binary with `args`, its output captured; the test's own environment stays out.
  Outcome Prmctl(std::vector<std::string> args) {
    args.push_back("--kafka-brokers=" + testing::KafkaBrokers());
    std::string command = "env -i " + Quote(testing::BinaryPath("prmctl"));
    for (const std::string& arg : args) command += " " + Quote(arg);
    const std::string out = (dir_ / "out").string(), err = (dir_ / "err").string();
    command += " >" + Quote(out) + " 2>" + Quote(err);
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out), Slurp(err)};
  }

  void Produce(const std::vector<kafka::Record>& records) {
    for (const absl::Status& status : producer_->ProduceAndWait(records, absl::Seconds(30))) {
      ASSERT_OK(status);
    }
  }

  kafka::Record Sale(const std::string& id, const std::string& key) {
    kafka::Record record = events::EncodeBinary(
        {.id = id, .source = "erp/" + run_, .type = "prm.sales.SaleRecorded.v1",
         .data_content_type = "application/json", .data = R"({"vendor_id":"acme"})",
         .partition_key = key},
        topic_);
    record.headers.push_back({"traceparent", "00-" + id + "-01"});
    return record;
  }

  // The ce_ids of `topic`'s records, each with its count.
  std::map<std::string, int> CeIds(const std::string& topic) {
    std::map<std::string, int> ids;
    for (const kafka::Record& r : testing::ReadTopic(topic, absl::Seconds(30))) {
      ++ids[std::string(r.FindHeader("ce_id").value_or("-"))];
    }
    return ids;
  }

  // Runs the consumer group `group` on the test topic until `done` holds; `handler` decides.
  void Consume(const std::string& group, kafka::Handler handler,
               const std::function<bool()>& done) {
    auto consumer = kafka::Consumer::Create(
        {.client = {.brokers = testing::KafkaBrokers()}, .group_id = group, .topics = {topic_},
         .min_retry_backoff = absl::Milliseconds(20), .max_retry_backoff = absl::Milliseconds(200)},
        std::move(handler), producer_.get(), nullptr);
    ASSERT_OK(consumer.status());
    ASSERT_OK((*consumer)->Start());
    EXPECT_TRUE(WaitFor(done, absl::Seconds(60)));
    (*consumer)->Stop();
  }

  std::string run_, topic_, dlq_;
  std::filesystem::path dir_;
  std::unique_ptr<kafka::Producer> producer_;
};

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST_F(PrmctlDlqIT, ListsAndReplaysDeadLettersThatTheConsumerThenApplies) {
  ASSERT_NO_FATAL_FAILURE(CreateTopics({{topic_, 2}, {dlq_, 2}}));
  const kafka::Record a = Sale("sale-a", "acme/sap/ACC-7"), b = Sale("sale-b", "acme/sap/ACC-8"),
                      c = Sale("sale-c", "acme/sap/ACC-1");
  ASSERT_NO_FATAL_FAILURE(Produce({a, b, c}));

  // partner-registry's view before the accounts are mapped: a and b are unknown partners.
  const std::string registry = run_ + "-registry";
  std::mutex mu;
  std::set<std::string> handled;
  ASSERT_NO_FATAL_FAILURE(Consume(
      registry,
      [&](const kafka::Record& r) -> absl::Status {
        const std::string id(r.FindHeader("ce_id").value_or(""));
        std::lock_guard lock(mu);
        handled.insert(id);
        if (id == "sale-c") return absl::OkStatus();
        return absl::NotFoundError(absl::StrCat("partner_external_id: no partner of vendor acme "
                                                "has account ", r.key));
      },
      [&] {
        std::lock_guard lock(mu);
        return handled.size() == 3;
      }));
  std::vector<kafka::Record> dead;
  ASSERT_TRUE(WaitFor(
      [&] { return (dead = testing::ReadTopic(dlq_, absl::Seconds(30))).size() == 2; },
      absl::Seconds(60)));

  // Dead-lettering is at least once: a's letter again; another group rejected b for another
  // reason; and a record some other tool wrote, which is no dead letter.
  const kafka::Record& dead_a = dead[0].FindHeader("ce_id") == "sale-a" ? dead[0] : dead[1];
  const kafka::Record& dead_b = dead[0].FindHeader("ce_id") == "sale-b" ? dead[0] : dead[1];
  kafka::Record again = dead_a, other = dead_b;
  again.topic = other.topic = dlq_;
  for (kafka::Header& h : other.headers) {
    if (h.key == kafka::kDlqGroupHeader) h.value = run_ + "-forecast";
    if (h.key == kafka::kDlqErrorHeader) h.value = "INVALID_ARGUMENT: currency_code: not rated";
  }
  ASSERT_NO_FATAL_FAILURE(Produce({again, other, {.topic = dlq_, .key = "x", .value = "junk"}}));

  // list: three dead letters (the repeated copy once), the junk record reported and skipped.
  Outcome list = Prmctl({"dlq", "list", "--topic=" + dlq_});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, StartsWith("DLQ_OFFSET  ORIGIN"));
  EXPECT_THAT(list.out, HasSubstr("3 dead letter(s) of 5 record(s) in " + dlq_ +
                                  "; 1 repeated cop(ies) shown once; 1 record(s) not PRM dead "
                                  "letters\n"));
  EXPECT_THAT(list.err, HasSubstr("skipped: record " + dlq_));
  EXPECT_THAT(list.err, HasSubstr("prm_dlq_topic is missing"));
  for (const std::string& group : {registry, run_ + "-forecast"}) {
    EXPECT_THAT(list.out, HasSubstr(group)) << group;
  }

  // --json, one object per line, selected by group or reason.
  list = Prmctl({"dlq", "list", "--topic=" + dlq_, "--group=" + registry, "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  std::vector<nlohmann::json> letters = JsonLines(list.out);
  ASSERT_EQ(letters.size(), 2u) << list.out;
  std::set<std::string> ids;
  for (const nlohmann::json& j : letters) {
    ids.insert(j["ce_id"].get<std::string>());
    EXPECT_EQ(j["group"], registry);
    EXPECT_EQ(j["origin_topic"], topic_);
    EXPECT_EQ(j["ce_type"], "prm.sales.SaleRecorded.v1");
    EXPECT_THAT(j["reason"].get<std::string>(), StartsWith("NOT_FOUND: partner_external_id: "));
    const kafka::Record& letter = j["ce_id"] == "sale-a" ? dead_a : dead_b;
    EXPECT_EQ(absl::StrCat(j["origin_offset"].get<int64_t>()),
              letter.FindHeader(kafka::kDlqOffsetHeader).value_or("?"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"sale-a", "sale-b"}));
  list = Prmctl({"dlq", "list", "--topic=" + dlq_, "--reason-contains=currency_code", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  letters = JsonLines(list.out);
  ASSERT_EQ(letters.size(), 1u) << list.out;
  EXPECT_EQ(letters[0]["group"], run_ + "-forecast");
  EXPECT_EQ(letters[0]["ce_id"], "sale-b");

  // No selector, no --all: nothing happens. A dry run sends nothing either.
  Outcome replay = Prmctl({"dlq", "replay", "--topic=" + dlq_});
  EXPECT_EQ(replay.code, 2);
  EXPECT_THAT(replay.err, HasSubstr("--all: is required"));
  replay = Prmctl({"dlq", "replay", "--topic=" + dlq_, "--group=" + registry,
                   "--reason-contains=partner_external_id", "--dry-run"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("dry run   2 original(s) would be replayed to " + topic_));
  EXPECT_EQ(CeIds(topic_),
            (std::map<std::string, int>{{"sale-a", 1}, {"sale-b", 1}, {"sale-c", 1}}));

  // The operator maps the accounts, then replays what partner-registry dead-lettered.
  replay = Prmctl({"dlq", "replay", "--topic=" + dlq_, "--group=" + registry,
                   "--reason-contains=partner_external_id"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("selected  2 dead letter(s) of 5 record(s) in " + dlq_ +
                                    " (1 repeated cop(ies) counted once)\n"));
  EXPECT_THAT(replay.out, HasSubstr("replayed  2 original(s) to " + topic_ + "\n"));
  EXPECT_THAT(replay.out, HasSubstr("failed    0\n"));
  std::vector<kafka::Record> now = testing::ReadTopic(topic_, absl::Seconds(30));
  ASSERT_EQ(now.size(), 5u);
  for (const kafka::Record* original : {&a, &b}) {
    int copies = 0;
    for (const kafka::Record& r : now) {
      if (r.key != original->key) continue;
      ++copies;
      EXPECT_EQ(r.value, original->value);
      EXPECT_EQ(r.headers, original->headers) << "the original's headers, no prm_dlq_*";
    }
    EXPECT_EQ(copies, 2) << original->key;
  }

  // The same consumer group now applies them (it had not marked them processed).
  std::set<std::string> applied;
  ASSERT_NO_FATAL_FAILURE(Consume(
      registry,
      [&](const kafka::Record& r) -> absl::Status {
        std::lock_guard lock(mu);
        applied.insert(std::string(r.FindHeader("ce_id").value_or("")));
        return absl::OkStatus();
      },
      [&] {
        std::lock_guard lock(mu);
        return applied.size() == 2;
      }));
  EXPECT_EQ(applied, (std::set<std::string>{"sale-a", "sale-b"}));

  // --all: b was dead-lettered by two groups and is republished once.
  replay = Prmctl({"dlq", "replay", "--topic=" + dlq_, "--all", "--json"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  nlohmann::json summary = nlohmann::json::parse(replay.out);
  EXPECT_EQ(summary["selected"], 3);
  EXPECT_EQ(summary["originals"], 2);
  EXPECT_EQ(summary["replayed"], 2);
  EXPECT_EQ(summary["failed"], 0);
  EXPECT_EQ(CeIds(topic_),
            (std::map<std::string, int>{{"sale-a", 3}, {"sale-b", 3}, {"sale-c", 1}}));
}

TEST_F(PrmctlDlqIT, AReplayToATopicThatIsGoneFailsAndSaysWhy) {
  ASSERT_NO_FATAL_FAILURE(CreateTopics({{dlq_, 1}}));
  kafka::Record letter = Sale("sale-gone", "acme/sap/ACC-9");
  letter.topic = dlq_;
  letter.headers.insert(letter.headers.end(),
                        {{kafka::kDlqTopicHeader, topic_},  // never created
                         {kafka::kDlqPartitionHeader, "0"},
                         {kafka::kDlqOffsetHeader, "41"},
                         {kafka::kDlqErrorHeader, "NOT_FOUND: partner_external_id: ACC-9"},
                         {kafka::kDlqGroupHeader, run_ + "-registry"}});
  ASSERT_NO_FATAL_FAILURE(Produce({letter}));

  Outcome replay = Prmctl({"dlq", "replay", "--topic=" + dlq_, "--ce-id=sale-gone"});
  EXPECT_EQ(replay.code, 1) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("replayed  0 original(s) to " + topic_ + "\n"));
  EXPECT_THAT(replay.out, HasSubstr("failed    1\n"));
  EXPECT_THAT(replay.err, HasSubstr(topic_ + "[0]@41 (ce_id sale-gone) not replayed: NOT_FOUND: "
                                    "topic " + topic_ + " does not exist"));

  // A DLQ topic that does not exist is named too.
  Outcome list = Prmctl({"dlq", "list", "--topic=" + topic_ + ".nothing"});
  EXPECT_EQ(list.code, 1);
  EXPECT_THAT(list.err, HasSubstr("topic " + topic_ + ".nothing does not exist"));
}

}  // namespace
}  // namespace prm
