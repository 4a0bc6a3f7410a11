#include "common/kafka/consumer.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <mutex>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/kafka/rdkafka_config.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "common/text/text.h"
#include "spdlog/spdlog.h"

namespace prm::kafka {

bool IsPoison(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

absl::Status SendDeadLetter(Producer& dlq, const Record& record, const absl::Status& why,
                            const std::string& group, const std::string& dlq_suffix) {
  constexpr size_t kMaxErrorBytes = 4096;  // of the reason, when the record had to shrink
  // What goes, in order, when the DLQ topic refuses the record as too large: the value; then
  // the original key and headers (keeping only the origin, the group and a shortened reason).
  for (int shrink = 0;; ++shrink) {
    Record dead;
    dead.topic = record.topic + dlq_suffix;
    dead.partition = -1;
    dead.offset = -1;
    std::string error = why.ToString();
    if (shrink < 2) {
      dead.key = record.key;
      dead.headers = record.headers;
    } else {
      error = std::string(TruncateUtf8(error, kMaxErrorBytes));  // never half a code point
    }
    if (shrink == 0) dead.value = record.value;
    dead.headers.push_back({kDlqTopicHeader, record.topic});
    dead.headers.push_back({kDlqPartitionHeader, absl::StrCat(record.partition)});
    dead.headers.push_back({kDlqOffsetHeader, absl::StrCat(record.offset)});
    dead.headers.push_back({kDlqErrorHeader, std::move(error)});
    dead.headers.push_back({kDlqGroupHeader, group});
    if (shrink >= 1) {
      dead.headers.push_back({kDlqValueDroppedHeader, absl::StrCat(record.value.size())});
    }
    if (shrink >= 2) {
      size_t header_bytes = 0;
      for (const Header& h : record.headers) header_bytes += h.key.size() + h.value.size();
      dead.headers.push_back({kDlqKeyDroppedHeader, absl::StrCat(record.key.size())});
      dead.headers.push_back({kDlqHeadersDroppedHeader, absl::StrCat(header_bytes)});
    }
    absl::Status sent = dlq.Produce(dead, absl::Seconds(30));
    if (!absl::IsInvalidArgument(sent) || shrink == 2) return sent;
    spdlog::warn("kafka consumer {}: {}[{}]@{} does not fit {} ({}): dead-lettering it without "
                 "its {}",
                 group, record.topic, record.partition, record.offset, dead.topic,
                 sent.ToString(), shrink == 0 ? "value" : "key and headers");
  }
}

namespace {

// The lag gauges, refreshed from librdkafka's statistics.
class LagStats final : public RdKafka::EventCb {
 public:
  LagStats(prometheus::Registry* registry, std::string group) : group_(std::move(group)) {
    if (registry != nullptr) {
      family_ = &prometheus::BuildGauge()
                     .Name("kafka_consumer_lag")
                     .Help("Records between the consumer's stored offset and the partition end")
                     .Register(*registry);
    }
  }

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_STATS:
        if (family_ != nullptr) Update(event.str());
        break;
      default:
        LogRdKafkaEvent(event);
        break;
    }
  }

 private:
  void Update(const std::string& json) {
    auto stats = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (stats.is_discarded() || !stats.contains("topics")) return;
    for (const auto& [topic, t] : stats["topics"].items()) {
      if (!t.contains("partitions")) continue;
      for (const auto& [partition, p] : t["partitions"].items()) {
        if (partition == "-1") continue;
        int64_t lag = Offset(p, "consumer_lag");
        if (lag < 0 && p.value("fetch_state", "") == "active") {
          // Assigned but nothing committed yet (a new group, or a partition that has never held
          // a record): all of the log is still to be read — 0 for an empty partition.
          const int64_t hi = Offset(p, "hi_offset");
          const int64_t lo = Offset(p, "lo_offset");
          if (hi >= 0 && lo >= 0) lag = hi - lo;
        }
        if (lag < 0) continue;  // not assigned to this member, or offsets not known yet
        family_->Add({{"topic", topic}, {"partition", partition}, {"group", group_}})
            .Set(static_cast<double>(lag));
      }
    }
  }

  // An offset field of librdkafka's partition statistics; -1 when absent or not a number.
  static int64_t Offset(const nlohmann::json& partition, const char* field) {
    auto it = partition.find(field);
    return it != partition.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
  }

  std::string group_;
  prometheus::Family<prometheus::Gauge>* family_ = nullptr;
};

class RdConsumer final : public Consumer {
 public:
  RdConsumer(ConsumerOptions options, BatchHandler handler, BatchPreparer prepare, Producer* dlq,
             prometheus::Registry* metrics)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        prepare_(std::move(prepare)),
        dlq_(dlq),
        lag_(metrics, options_.group_id) {
    if (metrics != nullptr) {
      records_ = &prometheus::BuildCounter()
                      .Name("kafka_consumer_records_total")
                      .Help("Records handled, by outcome (ok, dlq, retry)")
                      .Register(*metrics);
      dlq_total_ = &prometheus::BuildCounter()
                        .Name("kafka_consumer_dlq_total")
                        .Help("Records sent to a dead-letter topic")
                        .Register(*metrics);
    }
  }

  ~RdConsumer() override { Stop(); }

  absl::Status Start() override {
    std::map<std::string, std::string> defaults = {
        {"group.id", options_.group_id},
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        {"auto.commit.interval.ms", "1000"},
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "1000"},
        // librdkafka 2.0 stops fetching for a second whenever its queue holds queued.min.messages
        // (default 100,000): a consumer draining a backlog faster than that empties the queue
        // and waits out the rest of the second (a third of the time at 150,000 records/s). The
        // prefetch is bounded by bytes instead, 32 MiB of records.
        {"queued.min.messages", "10000000"},
        {"queued.max.messages.kbytes", "32768"},
        {"statistics.interval.ms",
         absl::StrCat(absl::ToInt64Milliseconds(options_.stats_interval))},
    };
    ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> conf, MakeConf(options_.client, defaults));
    std::string error;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&lag_), error) !=
        RdKafka::Conf::CONF_OK) {
      return absl::InternalError(error);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer_) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
    if (RdKafka::ErrorCode err = consumer_->subscribe(options_.topics);
        err != RdKafka::ERR_NO_ERROR) {
      return absl::InvalidArgumentError(
          absl::StrCat("subscribe to ", absl::StrJoin(options_.topics, ","), ": ",
                       RdKafka::err2str(err)));
    }
    fetch_thread_ = std::thread([this] { FetchLoop(); });
    thread_ = std::thread([this] { HandleLoop(); });
    return absl::OkStatus();
  }

  void Stop() override {
    std::lock_guard lock(stop_mu_);
    if (!consumer_) return;
    {
      absl::MutexLock lock(&mu_);  // wakes both threads' waits
      stop_.store(true);
    }
    if (thread_.joinable()) thread_.join();
    if (fetch_thread_.joinable()) fetch_thread_.join();
    {
      absl::MutexLock lock(&mu_);
      ahead_.reset();  // its messages go back to librdkafka before the handle does
    }
    // close() commits the stored offsets and leaves the group.
    if (RdKafka::ErrorCode err = consumer_->close(); err != RdKafka::ERR_NO_ERROR) {
      spdlog::warn("kafka consumer {}: close: {}", options_.group_id, RdKafka::err2str(err));
    }
    consumer_.reset();
  }

 private:
  // A batch as fetched, and what the BatchPreparer made of it; records convert only when the
  // preparation or the handler asks.
  struct Fetched final : public Batch {
    size_t size() const override { return messages.size(); }
    Record Get(size_t i) const override { return ToRecord(*messages[i]); }
    Preparation* preparation() const override { return prepared.get(); }

    std::vector<std::unique_ptr<RdKafka::Message>> messages;
    std::unique_ptr<Preparation> prepared;
  };

  // The fetching thread: fetches the next batch as soon as the handling thread has taken the one
  // before, and prepares it.
  void FetchLoop() {
    const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &RdConsumer::MayFetch));
        if (stop_.load()) return;
        fetching_ = true;
      }
      auto fetched = std::make_shared<Fetched>();  // shared with the handler once queued
      // What is already fetched, up to max_batch; waits only for the first record.
      for (int timeout_ms = 100; fetched->messages.size() < max_batch; timeout_ms = 0) {
        std::unique_ptr<RdKafka::Message> message(consumer_->consume(timeout_ms));
        if (message->err() == RdKafka::ERR_NO_ERROR) {
          fetched->messages.push_back(std::move(message));
          continue;
        }
        if (message->err() != RdKafka::ERR__TIMED_OUT &&
            message->err() != RdKafka::ERR__PARTITION_EOF) {
          spdlog::warn("kafka consumer {}: {}", options_.group_id, message->errstr());
        }
        break;
      }
      if (fetched->messages.empty()) {
        absl::MutexLock lock(&mu_);
        fetching_ = false;
        continue;
      }
      if (prepare_) fetched->prepared = prepare_(*fetched);
      {
        absl::MutexLock lock(&mu_);
        ahead_ = fetched;
      }
      if (fetched->prepared != nullptr) fetched->prepared->Prepare();
      absl::MutexLock lock(&mu_);
      fetching_ = false;
    }
  }

  bool MayFetch() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_.load() || (ahead_ == nullptr && !paused_);
  }
  bool HasFetched() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_.load() || ahead_ != nullptr;
  }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !fetching_; }

  // The batch fetched ahead, waiting for it up to kStoreInterval; null when none came.
  std::shared_ptr<Fetched> TakeFetched() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &RdConsumer::HasFetched), kStoreInterval);
    return std::move(ahead_);
  }

  // The handling thread: hands each fetched batch to the handler, stores the offsets of what it
  // handled, and rewinds to what it did not.
  void HandleLoop() {
    absl::Duration backoff = options_.min_retry_backoff;
    while (!stop_.load()) {
      std::shared_ptr<Fetched> fetched = TakeFetched();
      if (fetched == nullptr || pending_ >= kStoreEvery ||
          absl::Now() - last_store_ > kStoreInterval) {
        StoreOffsets();
      }
      if (fetched == nullptr) continue;
      const std::vector<std::unique_ptr<RdKafka::Message>>& messages = fetched->messages;

      const Batch& batch = *fetched;
      std::vector<absl::Status> statuses = handler_(batch);
      size_t handled = 0;
      bool retry = false;
      for (; handled < statuses.size() && handled < messages.size(); ++handled) {
        const absl::Status& status = statuses[handled];
        RdKafka::Message& message = *messages[handled];
        const std::string_view topic = TopicOf(message);
        if (status.ok()) {
          Count(topic, "ok");
        } else if (IsPoison(status)) {
          if (!DeadLetter(batch.Get(handled), status)) {
            retry = true;  // the DLQ is unreachable: the record is retried like a transient
            break;
          }
          Count(topic, "dlq");
        } else {
          Count(topic, "retry");
          spdlog::warn("kafka consumer {}: {}[{}]@{} will be retried in {}: {}",
                       options_.group_id, topic, message.partition(), message.offset(),
                       absl::FormatDuration(backoff), status.ToString());
          retry = true;
          break;
        }
        StoreOffset(*messages[handled]);
        backoff = options_.min_retry_backoff;
      }
      FlushCounts();
      if (handled < messages.size()) RewindFrom(messages, handled);
      if (retry) {
        Sleep(backoff);
        backoff = std::min(backoff * 2, options_.max_retry_backoff);
      }
    }
    StoreOffsets();  // before close() commits
  }

  static const rd_kafka_message_t* CMessage(RdKafka::Message& m) {
    return static_cast<const rd_kafka_message_t*>(m.c_ptr());
  }
  static std::string_view TopicOf(RdKafka::Message& m) {
    return rd_kafka_topic_name(CMessage(m)->rkt);
  }

  // Through librdkafka's C API: the C++ one copies the headers twice more (detached, then
  // listed), which was a tenth of the ingestion's time. Messages differ in what they hold, so
  // different messages convert on different threads at once.
  static Record ToRecord(RdKafka::Message& m) {
    const rd_kafka_message_t* c = CMessage(m);
    Record r;
    r.topic = rd_kafka_topic_name(c->rkt);
    r.partition = c->partition;
    r.offset = c->offset;
    if (c->key != nullptr) r.key.assign(static_cast<const char*>(c->key), c->key_len);
    r.value.assign(static_cast<const char*>(c->payload), c->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(c, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      r.headers.reserve(rd_kafka_header_cnt(headers));
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        r.headers.push_back(
            {name, value != nullptr ? std::string(static_cast<const char*>(value), size)
                                    : std::string()});
      }
    }
    return r;
  }

  bool DeadLetter(const Record& record, const absl::Status& why) {
    absl::Status sent =
        SendDeadLetter(*dlq_, record, why, options_.group_id, options_.dlq_suffix);
    if (!sent.ok()) {
      spdlog::error("kafka consumer {}: cannot dead-letter {}[{}]@{}: {}", options_.group_id,
                    record.topic, record.partition, record.offset, sent.ToString());
      return false;
    }
    spdlog::warn("kafka consumer {}: {}[{}]@{} sent to {}{}: {}", options_.group_id, record.topic,
                 record.partition, record.offset, record.topic, options_.dlq_suffix,
                 why.ToString());
    if (dlq_total_ != nullptr) {
      dlq_total_->Add({{"topic", record.topic}, {"group", options_.group_id}}).Increment();
    }
    return true;
  }

  // Marks the record done. Offsets reach librdkafka in small batches (StoreOffsets), which is
  // still only ever after the record's effect is durable: storing late means redelivery after a
  // crash, never loss.
  void StoreOffset(const RdKafka::Message& m) {
    done_[{m.topic_name(), m.partition()}] = m.offset() + 1;
    ++pending_;
  }

  void StoreOffsets() {
    last_store_ = absl::Now();
    if (pending_ == 0) return;
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, offset] : done_) {
      offsets.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, offset));
    }
    if (RdKafka::ErrorCode err = consumer_->offsets_store(offsets); err != RdKafka::ERR_NO_ERROR) {
      // A partition was revoked meanwhile; its new owner will see those records again.
      spdlog::warn("kafka consumer {}: offsets_store: {}", options_.group_id,
                   RdKafka::err2str(err));
    }
    RdKafka::TopicPartition::destroy(offsets);
    done_.clear();
    pending_ = 0;
  }

  // Seeks every partition of messages[from..] back to its first such message, so that they are
  // delivered again; the batch fetched ahead is dropped, its partitions sought back likewise
  // (seeking also drops what librdkafka had prefetched past it). Fetching waits meanwhile.
  void RewindFrom(const std::vector<std::unique_ptr<RdKafka::Message>>& messages, size_t from) {
    std::shared_ptr<Fetched> ahead;
    {
      absl::MutexLock lock(&mu_);
      paused_ = true;
      mu_.Await(absl::Condition(this, &RdConsumer::Idle));
      ahead = std::move(ahead_);
    }
    std::vector<RdKafka::Message*> unhandled;
    for (size_t i = from; i < messages.size(); ++i) unhandled.push_back(messages[i].get());
    if (ahead != nullptr) {
      for (const auto& m : ahead->messages) unhandled.push_back(m.get());
    }
    std::set<std::pair<std::string, int32_t>> seen;
    for (RdKafka::Message* m : unhandled) {
      if (!seen.insert({m->topic_name(), m->partition()}).second) continue;
      std::unique_ptr<RdKafka::TopicPartition> tp(
          RdKafka::TopicPartition::create(m->topic_name(), m->partition(), m->offset()));
      if (RdKafka::ErrorCode err = consumer_->seek(*tp, 5000); err != RdKafka::ERR_NO_ERROR) {
        spdlog::warn("kafka consumer {}: seek: {}", options_.group_id, RdKafka::err2str(err));
      }
    }
    absl::MutexLock lock(&mu_);
    paused_ = false;
  }

  void Sleep(absl::Duration d) {
    absl::Time until = absl::Now() + d;
    while (!stop_.load() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  }

  // Tallied per batch and added by FlushCounts: finding a labelled counter costs more than
  // handling a record.
  void Count(std::string_view topic, const char* outcome) {
    for (Tally& t : tallies_) {
      if (std::string_view(t.outcome) == outcome && t.topic == topic) {
        ++t.count;
        return;
      }
    }
    tallies_.push_back({std::string(topic), outcome, 1});
  }
  void FlushCounts() {
    if (records_ != nullptr) {
      for (const Tally& t : tallies_) {
        records_->Add({{"topic", t.topic}, {"group", options_.group_id}, {"outcome", t.outcome}})
            .Increment(static_cast<double>(t.count));
      }
    }
    tallies_.clear();
  }

  ConsumerOptions options_;
  BatchHandler handler_;
  BatchPreparer prepare_;
  Producer* dlq_;
  LagStats lag_;
  prometheus::Family<prometheus::Counter>* records_ = nullptr;
  struct Tally {
    std::string topic;
    const char* outcome;
    int64_t count;
  };
  std::vector<Tally> tallies_;  // this batch's records by topic and outcome, not yet counted
  prometheus::Family<prometheus::Counter>* dlq_total_ = nullptr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  // Offsets of handled records not yet given to librdkafka; consuming thread only.
  static constexpr int kStoreEvery = 1000;
  static constexpr absl::Duration kStoreInterval = absl::Milliseconds(100);
  std::map<std::pair<std::string, int32_t>, int64_t> done_;
  int pending_ = 0;
  absl::Time last_store_ = absl::InfinitePast();
  std::mutex stop_mu_;
  std::atomic<bool> stop_{false};
  // Between the fetching thread and the handling thread.
  absl::Mutex mu_;
  std::shared_ptr<Fetched> ahead_ ABSL_GUARDED_BY(mu_);  // fetched, not yet taken
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;  // fetching or preparing
  bool paused_ ABSL_GUARDED_BY(mu_) = false;  // while the handler rewinds
  std::thread fetch_thread_;
  std::thread thread_;  // handling
};

}  // namespace

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerOptions options,
                                                           BatchHandler handler, Producer* dlq,
                                                           prometheus::Registry* metrics,
                                                           BatchPreparer prepare) {
  if (options.group_id.empty()) return absl::InvalidArgumentError("consumer group_id is empty");
  if (options.topics.empty()) return absl::InvalidArgumentError("consumer has no topics");
  if (dlq == nullptr) return absl::InvalidArgumentError("consumer needs a DLQ producer");
  return std::unique_ptr<Consumer>(
      new RdConsumer(std::move(options), std::move(handler), std::move(prepare), dlq, metrics));
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerOptions options,
                                                           Handler handler, Producer* dlq,
                                                           prometheus::Registry* metrics) {
  BatchHandler one_by_one = [handler = std::move(handler)](const Batch& records) {
    std::vector<absl::Status> statuses;
    for (size_t i = 0; i < records.size(); ++i) {
      statuses.push_back(handler(records.Get(i)));
      if (!statuses.back().ok() && !IsPoison(statuses.back())) break;
    }
    return statuses;
  };
  return Create(std::move(options), std::move(one_by_one), dlq, metrics);
}

}  // namespace prm::kafka
