#include "tests/integration/kafka_fixture.h"

#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace prm::testing {
namespace {

std::unique_ptr<RdKafka::Conf> Conf(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", brokers, error);
  return conf;
}

std::unique_ptr<RdKafka::Conf> Conf() { return Conf(KafkaBrokers()); }

}  // namespace

std::string KafkaBrokers() {
  const char* brokers = std::getenv("TEST_KAFKA_BROKERS");
  if (brokers == nullptr || *brokers == '\0') {
    ADD_FAILURE() << "TEST_KAFKA_BROKERS is not set: run the integration tests through "
                     "scripts/test, which starts a Kafka broker";
    return "127.0.0.1:1";
  }
  return brokers;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", ::getpid(), "-", absl::ToUnixMicros(absl::Now()), "-",
                      counter.fetch_add(1));
}

std::vector<kafka::Record> ReadTopic(const std::string& topic, absl::Duration timeout) {
  return ReadTopic(topic, timeout, KafkaBrokers());
}

std::vector<kafka::Record> ReadTopic(const std::string& topic, absl::Duration timeout,
                                     const std::string& brokers) {
  std::vector<kafka::Record> out;
  auto conf = Conf(brokers);
  std::string error;
  conf->set("group.id", UniqueName("reader"), error);
  conf->set("enable.auto.commit", "false", error);
  conf->set("enable.partition.eof", "true", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) {
    ADD_FAILURE() << error;
    return out;
  }
  RdKafka::Metadata* raw_metadata = nullptr;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
  if (consumer->metadata(false, handle.get(), &raw_metadata, 10000) != RdKafka::ERR_NO_ERROR) {
    ADD_FAILURE() << "metadata for " << topic;
    return out;
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
  std::vector<RdKafka::TopicPartition*> assignment;
  int open_partitions = 0;
  for (const auto* t : *metadata->topics()) {
    for (const auto* p : *t->partitions()) {
      int64_t low = 0, high = 0;
      consumer->query_watermark_offsets(topic, p->id(), &low, &high, 10000);
      if (high > low) {
        assignment.push_back(RdKafka::TopicPartition::create(topic, p->id(), low));
        ++open_partitions;
      }
    }
  }
  consumer->assign(assignment);
  absl::Time deadline = absl::Now() + timeout;
  while (open_partitions > 0 && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      --open_partitions;
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    kafka::Record r;
    r.topic = m->topic_name();
    r.partition = m->partition();
    r.offset = m->offset();
    if (m->key()) r.key = *m->key();
    r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (auto* headers = m->headers()) {
      for (const auto& h : headers->get_all()) {
        r.headers.push_back({h.key(), std::string(static_cast<const char*>(h.value()),
                                                  h.value_size())});
      }
    }
    out.push_back(std::move(r));
  }
  EXPECT_EQ(open_partitions, 0) << "timed out reading " << topic;
  RdKafka::TopicPartition::destroy(assignment);
  consumer->close();
  return out;
}

std::vector<kafka::Record> ReadTopicWhere(const std::string& topic, const std::string& header,
                                          const std::string& value, absl::Duration timeout) {
  std::vector<kafka::Record> out;
  for (auto& r : ReadTopic(topic, timeout)) {
    if (r.FindHeader(header) == value) out.push_back(std::move(r));
  }
  return out;
}

int64_t CommittedOffsetSum(const std::string& group, const std::string& topic) {
  auto conf = Conf();
  std::string error;
  conf->set("group.id", group, error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  RdKafka::Metadata* raw_metadata = nullptr;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
  consumer->metadata(false, handle.get(), &raw_metadata, 10000);
  std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
  std::vector<RdKafka::TopicPartition*> partitions;
  for (const auto* t : *metadata->topics()) {
    for (const auto* p : *t->partitions()) {
      partitions.push_back(RdKafka::TopicPartition::create(topic, p->id()));
    }
  }
  consumer->committed(partitions, 10000);
  int64_t sum = -1;
  for (auto* tp : partitions) {
    if (tp->offset() >= 0) sum = (sum < 0 ? 0 : sum) + tp->offset();
  }
  RdKafka::TopicPartition::destroy(partitions);
  consumer->close();
  return sum;
}

}  // namespace prm::testing
