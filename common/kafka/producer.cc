#include "common/kafka/producer.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/kafka/rdkafka_config.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace prm::kafka {
namespace {

// One batch of ProduceAndWait: counts outstanding deliveries and keeps their outcome.
struct Batch {
  std::mutex mu;
  std::condition_variable done;
  size_t outstanding = 0;
  std::vector<absl::Status> results;
};

struct Delivery {
  Batch* batch;
  size_t index;
};

absl::Status DeliveryStatus(RdKafka::ErrorCode err, const std::string& what) {
  switch (err) {
    case RdKafka::ERR_NO_ERROR:
      return absl::OkStatus();
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
      return absl::InvalidArgumentError(what);
    default:
      return absl::UnavailableError(what);
  }
}

class DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto* delivery = static_cast<Delivery*>(message.msg_opaque());
    if (delivery == nullptr) return;
    Batch* batch = delivery->batch;
    std::lock_guard lock(batch->mu);
    batch->results[delivery->index] =
        DeliveryStatus(message.err(), absl::StrCat("delivery to ", message.topic_name(), ": ",
                                                   message.errstr()));
    if (--batch->outstanding == 0) batch->done.notify_all();
    delete delivery;
  }
};

class RdProducer final : public Producer {
 public:
  RdProducer(std::unique_ptr<RdKafka::Producer> producer,
             std::unique_ptr<DeliveryReports> reports)
      : reports_(std::move(reports)), producer_(std::move(producer)) {
    poller_ = std::thread([this] {
      while (!stop_.load()) producer_->poll(50);
    });
  }

  ~RdProducer() override {
    producer_->flush(5000);
    stop_.store(true);
    poller_.join();
    // Deliveries still pending belong to batches that have timed out and gone; drop them.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->poll(0);
  }

  std::vector<absl::Status> ProduceAndWait(const std::vector<Record>& records,
                                           absl::Duration timeout) override {
    // The batch lives on the heap as long as a delivery report may still reference it.
    auto batch = std::make_shared<Batch>();
    batch->results.assign(records.size(), absl::UnavailableError("not acknowledged in time"));
    {
      std::lock_guard lock(batch->mu);
      batch->outstanding = records.size();
    }
    for (size_t i = 0; i < records.size(); ++i) {
      const Record& r = records[i];
      RdKafka::Headers* headers = nullptr;
      if (!r.headers.empty()) {
        headers = RdKafka::Headers::create();
        for (const auto& h : r.headers) headers->add(h.key, h.value.data(), h.value.size());
      }
      auto* delivery = new Delivery{batch.get(), i};
      RdKafka::ErrorCode err;
      while (true) {
        err = producer_->produce(r.topic, RdKafka::Topic::PARTITION_UA,
                                 RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(r.value.data()), r.value.size(),
                                 r.key.data(), r.key.size(), 0, headers, delivery);
        if (err != RdKafka::ERR__QUEUE_FULL) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        delete headers;  // ownership passes to librdkafka only on success
        delete delivery;
        std::lock_guard lock(batch->mu);
        batch->results[i] = DeliveryStatus(err, absl::StrCat("produce to ", r.topic, ": ",
                                                             RdKafka::err2str(err)));
        --batch->outstanding;
      }
    }
    std::unique_lock lock(batch->mu);
    bool all = batch->done.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                                    [&] { return batch->outstanding == 0; });
    if (!all) {
      // Reports still to come must not touch this batch: keep it alive with the reports.
      Abandon(batch);
    }
    return batch->results;
  }

  absl::Status CheckBrokers(absl::Duration timeout) override {
    RdKafka::Metadata* metadata = nullptr;
    RdKafka::ErrorCode err = producer_->metadata(
        /*all_topics=*/false, nullptr, &metadata,
        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    delete metadata;
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("kafka: ", RdKafka::err2str(err)));
    }
    return absl::OkStatus();
  }

  absl::Status Flush(absl::Duration timeout) override {
    RdKafka::ErrorCode err = producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("flush: ", RdKafka::err2str(err)));
    }
    return absl::OkStatus();
  }

 private:
  void Abandon(std::shared_ptr<Batch> batch) {
    std::lock_guard lock(abandoned_mu_);
    abandoned_.push_back(std::move(batch));
  }

  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::mutex abandoned_mu_;
  std::vector<std::shared_ptr<Batch>> abandoned_;
};

}  // namespace

absl::Status Producer::Produce(const Record& record, absl::Duration timeout) {
  return ProduceAndWait({record}, timeout)[0];
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ClientOptions& options) {
  auto reports = std::make_unique<DeliveryReports>();
  static EventLogger logger;  // stateless, shared by every producer
  std::map<std::string, std::string> props = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "2"},
      {"message.timeout.ms", "30000"},
  };
  ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> conf, MakeConf(options, props));
  std::string error;
  if (conf->set("dr_cb", reports.get(), error) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(&logger), error) !=
          RdKafka::Conf::CONF_OK) {
    return absl::InternalError(error);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", error));
  return std::unique_ptr<Producer>(new RdProducer(std::move(producer), std::move(reports)));
}

}  // namespace prm::kafka
