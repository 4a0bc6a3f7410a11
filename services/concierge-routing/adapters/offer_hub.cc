#include "services/concierge-routing/adapters/offer_hub.h"

#include <deque>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/concierge-routing/adapters/proto_mapping.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;

constexpr auto kHeartbeatInterval = std::chrono::seconds(15);

}  // namespace

// One WatchOffers call. Writes one message at a time from a queue; finishes once, after the
// write in flight (if any) is done. Deletes itself when gRPC is done with it.
class OfferHub::Stream final : public grpc::ServerWriteReactor<v1::WatchOffersResponse> {
 public:
  Stream(OfferHub& hub, WorkerKey key) : hub_(hub), key_(std::move(key)) {}

  const WorkerKey& key() const { return key_; }

  void Push(v1::WatchOffersResponse message) {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    queue_.push_back(std::move(message));
    if (!writing_) WriteNextLocked();
  }

  void FinishWith(grpc::Status status) {
    std::lock_guard lock(mu_);
    FinishLocked(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream is closed"));
    } else if (finishing_) {
      FinishNowLocked();
    } else {
      WriteNextLocked();
    }
  }

  void OnCancel() override { FinishWith(grpc::Status::CANCELLED); }

  void OnDone() override {
    hub_.Remove(this);
    delete this;
  }

 private:
  void WriteNextLocked() {
    if (queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }
  void FinishLocked(grpc::Status status) {
    if (finishing_) return;
    finishing_ = true;
    status_ = std::move(status);
    if (!writing_) FinishNowLocked();
  }
  void FinishNowLocked() {
    if (finished_) return;
    finished_ = true;
    Finish(status_);
  }

  OfferHub& hub_;
  const WorkerKey key_;
  std::mutex mu_;
  std::deque<v1::WatchOffersResponse> queue_;
  v1::WatchOffersResponse current_;
  bool writing_ = false;
  bool finishing_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

OfferHub::OfferHub(const Clock& clock) : clock_(clock) {
  heartbeat_ = std::thread([this] { Heartbeats(); });
}

OfferHub::~OfferHub() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  heartbeat_.join();
}

void OfferHub::OnEvent(const std::string& vendor_id, const RoutingEvent& e, bool live) {
  std::unique_lock lock(mu_);
  const std::string task_key = absl::StrCat(vendor_id, "/", e.task.task_id);
  switch (e.type) {
    case RoutingEventType::kTaskReserved: {
      if (!e.reservation) return;
      PendingOffer p;
      p.worker = {vendor_id, e.reservation->worker_id};
      p.task_key = task_key;
      *p.offer.mutable_reservation() = ReservationToProto(*e.reservation, vendor_id);
      *p.offer.mutable_task() = TaskToProto(e.task, vendor_id);
      const std::string key = absl::StrCat(vendor_id, "/", e.reservation->reservation_id);
      pending_by_task_[task_key].insert(key);
      if (live) {
        v1::WatchOffersResponse message;
        *message.mutable_offer() = p.offer;
        Send(p.worker, message);
      }
      pending_[key] = std::move(p);
      return;
    }
    case RoutingEventType::kOfferEnded: {
      // One of several parallel offers ended; the task's other offers stay pending.
      if (!e.reservation) return;
      const std::string key = absl::StrCat(vendor_id, "/", e.reservation->reservation_id);
      if (auto by_task = pending_by_task_.find(task_key); by_task != pending_by_task_.end()) {
        by_task->second.erase(key);
        if (by_task->second.empty()) pending_by_task_.erase(by_task);
      }
      auto offer = pending_.find(key);
      if (offer == pending_.end()) return;
      const WorkerKey worker = offer->second.worker;
      pending_.erase(offer);
      if (live && (e.reservation->state == ReservationState::kTimedOut ||
                   e.reservation->state == ReservationState::kRescinded)) {
        v1::WatchOffersResponse message;
        *message.mutable_withdrawn()->mutable_reservation() =
            ReservationToProto(*e.reservation, vendor_id);
        Send(worker, message);
      }
      return;
    }
    case RoutingEventType::kTaskRequeued:
    case RoutingEventType::kTaskAssigned:
    case RoutingEventType::kTaskCanceled:
    case RoutingEventType::kTaskCompleted: {
      // Every pending offer of the task ends; the one the event names ended as it says, the
      // others (a cancel, another worker's accept) were rescinded.
      auto it = pending_by_task_.find(task_key);
      if (it == pending_by_task_.end()) return;
      std::set<std::string> keys = std::move(it->second);
      pending_by_task_.erase(it);
      for (const std::string& key : keys) {
        auto offer = pending_.find(key);
        if (offer == pending_.end()) continue;
        v1::Reservation ended = offer->second.offer.reservation();
        if (e.reservation && e.reservation->reservation_id == ended.reservation_id()) {
          ended = ReservationToProto(*e.reservation, vendor_id);
        } else {
          ended.set_state(v1::RESERVATION_STATE_RESCINDED);
          *ended.mutable_end_time() = TimeToProto(e.time);
        }
        const WorkerKey worker = offer->second.worker;
        pending_.erase(offer);
        // The worker's own answers (accept, reject) need no withdrawal.
        if (live && (ended.state() == v1::RESERVATION_STATE_TIMED_OUT ||
                     ended.state() == v1::RESERVATION_STATE_RESCINDED)) {
          v1::WatchOffersResponse message;
          *message.mutable_withdrawn()->mutable_reservation() = std::move(ended);
          Send(worker, message);
        }
      }
      return;
    }
    default:
      return;
  }
}

void OfferHub::CloseAll() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (auto& [key, stream] : streams_) {
    stream->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  }
}

grpc::ServerWriteReactor<v1::WatchOffersResponse>* OfferHub::Watch(const std::string& vendor_id,
                                                                   const std::string& worker_id) {
  std::lock_guard lock(mu_);
  WorkerKey key{vendor_id, worker_id};
  auto* stream = new Stream(*this, key);
  streams_.emplace(key, stream);
  if (closed_) {
    stream->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    return stream;
  }
  for (const auto& [id, p] : pending_) {
    if (p.worker != key) continue;
    v1::WatchOffersResponse message;
    *message.mutable_offer() = p.offer;
    stream->Push(std::move(message));
  }
  return stream;
}

void OfferHub::Remove(Stream* stream) {
  std::lock_guard lock(mu_);
  auto [begin, end] = streams_.equal_range(stream->key());
  for (auto it = begin; it != end; ++it) {
    if (it->second == stream) {
      streams_.erase(it);
      return;
    }
  }
}

void OfferHub::Send(const WorkerKey& worker, const v1::WatchOffersResponse& message) {
  auto [begin, end] = streams_.equal_range(worker);
  for (auto it = begin; it != end; ++it) it->second->Push(message);
}

void OfferHub::Heartbeats() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kHeartbeatInterval);
    if (stop_) break;
    v1::WatchOffersResponse message;
    *message.mutable_heartbeat_time() = TimeToProto(clock_.Now());
    for (auto& [key, stream] : streams_) stream->Push(message);
  }
}

}  // namespace prm::routing
