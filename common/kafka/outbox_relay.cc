#include "common/kafka/outbox_relay.h"

#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "spdlog/spdlog.h"

namespace prm::kafka {

OutboxRelay::OutboxRelay(sqlite::Database& db, Producer& producer, const Clock& clock,
                         RelayOptions options, prometheus::Registry* metrics)
    : db_(db), producer_(producer), clock_(clock), options_(options) {
  if (metrics != nullptr) {
    backlog_ = &prometheus::BuildGauge()
                    .Name("outbox_backlog")
                    .Help("Committed events not yet acknowledged by Kafka")
                    .Register(*metrics)
                    .Add({});
    published_ = &prometheus::BuildCounter()
                      .Name("outbox_published_total")
                      .Help("Outbox rows published and marked sent")
                      .Register(*metrics)
                      .Add({});
  }
}

OutboxRelay::~OutboxRelay() { Stop(absl::Seconds(5)).IgnoreError(); }

absl::StatusOr<int> OutboxRelay::PublishOnce() { return PublishBatch(options_.produce_timeout); }

absl::StatusOr<int> OutboxRelay::PublishBatch(absl::Duration produce_timeout) {
  ASSIGN_OR_RETURN(std::vector<outbox::PendingRecord> pending,
                   outbox::Pending(db_, options_.batch_size));
  int marked = 0;
  if (!pending.empty()) {
    std::vector<Record> records;
    records.reserve(pending.size());
    for (const auto& p : pending) records.push_back(p.record);
    std::vector<absl::Status> results = producer_.ProduceAndWait(records, produce_timeout);
    std::vector<int64_t> sent;
    absl::Status first_error;
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        first_error = results[i];
        break;
      }
      sent.push_back(pending[i].seq);
    }
    RETURN_IF_ERROR(outbox::MarkSent(db_, sent, clock_.Now()));
    marked = static_cast<int>(sent.size());
    if (published_ != nullptr) published_->Increment(marked);
    if (!first_error.ok()) return first_error;
  }
  absl::Time now = clock_.Now();
  if (now - last_prune_ > absl::Minutes(1)) {
    last_prune_ = now;
    RETURN_IF_ERROR(outbox::PruneSent(db_, now - options_.sent_retention).status());
  }
  if (backlog_ != nullptr) {
    ASSIGN_OR_RETURN(int64_t backlog, outbox::Backlog(db_));
    backlog_->Set(static_cast<double>(backlog));
  }
  return marked;
}

void OutboxRelay::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxRelay::Notify() {
  std::lock_guard lock(mu_);
  notified_ = true;
  wake_.notify_one();
}

void OutboxRelay::Loop() {
  absl::Duration backoff = options_.idle_poll;
  while (true) {
    absl::StatusOr<int> marked = PublishOnce();
    if (!marked.ok()) {
      spdlog::warn("outbox relay: {}; retrying in {}", marked.status().ToString(),
                   absl::FormatDuration(backoff));
    }
    bool more = marked.ok() && *marked == options_.batch_size;
    std::unique_lock lock(mu_);
    if (stop_) return;
    if (more) continue;
    absl::Duration wait = marked.ok() ? options_.idle_poll : backoff;
    backoff = marked.ok() ? options_.idle_poll : std::min(backoff * 2, absl::Seconds(5));
    wake_.wait_for(lock, absl::ToChronoMilliseconds(wait), [this] { return notified_ || stop_; });
    notified_ = false;
    if (stop_) return;
  }
}

absl::Status OutboxRelay::Stop(absl::Duration timeout) {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return absl::OkStatus();
    stop_ = true;
    wake_.notify_one();
  }
  thread_.join();
  // Drain what was committed before the stop, within the bound.
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<int> marked =
        PublishBatch(std::min(options_.produce_timeout, deadline - absl::Now()));
    if (!marked.ok()) return marked.status();
    ASSIGN_OR_RETURN(int64_t backlog, outbox::Backlog(db_));
    if (backlog == 0) return absl::OkStatus();
  }
  return absl::DeadlineExceededError("outbox not drained before the deadline");
}

}  // namespace prm::kafka
