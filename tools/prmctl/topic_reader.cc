#include "tools/prmctl/topic_reader.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace prm::prmctl {
namespace {

// librdkafka's own log lines (connection attempts, retries) would garble the output of a
// command-line tool; its failures reach the caller as Status instead.
class Silence final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event&) override {}
};

int Milliseconds(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

kafka::Record ToRecord(const RdKafka::Message& m) {
  kafka::Record r;
  r.topic = m.topic_name();
  r.partition = m.partition();
  r.offset = m.offset();
  if (m.key() != nullptr) r.key = *m.key();
  r.value.assign(static_cast<const char*>(m.payload()), m.len());
  if (RdKafka::Headers* headers = const_cast<RdKafka::Message&>(m).headers(); headers != nullptr) {
    for (const RdKafka::Headers::Header& h : headers->get_all()) {
      r.headers.push_back(
          {h.key(), h.value() != nullptr
                        ? std::string(static_cast<const char*>(h.value()), h.value_size())
                        : std::string()});
    }
  }
  return r;
}

class RdTopicReader final : public TopicReader {
 public:
  RdTopicReader(std::unique_ptr<Silence> silence, std::unique_ptr<RdKafka::KafkaConsumer> consumer)
      : silence_(std::move(silence)), consumer_(std::move(consumer)) {}

  ~RdTopicReader() override { consumer_->close(); }

  absl::Status CheckTopic(const std::string& topic, absl::Duration timeout) override {
    return Partitions(topic, timeout).status();
  }

  absl::StatusOr<std::vector<kafka::Record>> ReadToEnd(const std::string& topic,
                                                       absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<std::vector<int32_t>> partitions = Partitions(topic, timeout);
    if (!partitions.ok()) return partitions.status();

    std::map<int32_t, int64_t> end;  // partition → high watermark, for those with records
    std::vector<RdKafka::TopicPartition*> assignment;
    for (int32_t partition : *partitions) {
      int64_t low = 0, high = 0;
      RdKafka::ErrorCode err = consumer_->query_watermark_offsets(
          topic, partition, &low, &high, Milliseconds(deadline - absl::Now()));
      if (err != RdKafka::ERR_NO_ERROR) {
        RdKafka::TopicPartition::destroy(assignment);
        return absl::UnavailableError(absl::StrCat("the end offsets of ", topic, "[", partition,
                                                   "]: ", RdKafka::err2str(err)));
      }
      if (high > low) {
        end[partition] = high;
        assignment.push_back(RdKafka::TopicPartition::create(topic, partition, low));
      }
    }
    RdKafka::ErrorCode err = consumer_->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("assign ", topic, ": ", RdKafka::err2str(err)));
    }

    std::vector<kafka::Record> records;
    std::string last_error;
    while (!end.empty()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        consumer_->unassign();
        return absl::DeadlineExceededError(absl::StrCat(
            "read ", records.size(), " record(s) of ", topic, " but not its end within ",
            absl::FormatDuration(timeout), last_error.empty() ? "" : ": ", last_error));
      }
      std::unique_ptr<RdKafka::Message> m(
          consumer_->consume(std::min(Milliseconds(left), 200)));
      if (m->err() == RdKafka::ERR__PARTITION_EOF) {
        end.erase(m->partition());
        continue;
      }
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        if (m->err() != RdKafka::ERR__TIMED_OUT) last_error = m->errstr();
        continue;
      }
      auto it = end.find(m->partition());
      if (it == end.end()) continue;  // past its end already
      if (m->offset() < it->second) records.push_back(ToRecord(*m));
      if (m->offset() + 1 >= it->second) end.erase(it);
    }
    consumer_->unassign();
    std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
      return std::pair(a.partition, a.offset) < std::pair(b.partition, b.offset);
    });
    return records;
  }

 private:
  // The partition ids of `topic`.
  absl::StatusOr<std::vector<int32_t>> Partitions(const std::string& topic,
                                                  absl::Duration timeout) {
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(consumer_.get(), topic, nullptr, error));
    if (!handle) return absl::InvalidArgumentError(absl::StrCat("topic ", topic, ": ", error));
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode err =
        consumer_->metadata(/*all_topics=*/false, handle.get(), &raw, Milliseconds(timeout));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("no answer within ", absl::FormatDuration(timeout),
                                                 " (", RdKafka::err2str(err), ")"));
    }
    for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
      if (t->topic() != topic) continue;
      if (t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
        return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
      }
      if (t->err() != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError(
            absl::StrCat("topic ", topic, ": ", RdKafka::err2str(t->err())));
      }
      std::vector<int32_t> partitions;
      for (const RdKafka::PartitionMetadata* p : *t->partitions()) partitions.push_back(p->id());
      std::sort(partitions.begin(), partitions.end());
      return partitions;
    }
    return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
  }

  std::unique_ptr<Silence> silence_;  // outlives the consumer that calls it
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TopicReader>> TopicReader::Create(const std::string& brokers) {
  auto silence = std::make_unique<Silence>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  // group.id is required by the consumer type but unused: partitions are assigned, never
  // subscribed, and nothing is committed.
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"bootstrap.servers", brokers},
           {"client.id", "prmctl"},
           {"group.id", "prmctl-reader"},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           {"enable.partition.eof", "true"},
           {"allow.auto.create.topics", "false"}}) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", key, ": ", error));
    }
  }
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(silence.get()), error) !=
      RdKafka::Conf::CONF_OK) {
    return absl::InternalError(error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  return std::unique_ptr<TopicReader>(new RdTopicReader(std::move(silence), std::move(consumer)));
}

}  // namespace prm::prmctl
