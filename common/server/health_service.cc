#include "common/server/health_service.h"

#include <optional>
#include <utility>

namespace prm::server {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

// One Watch stream. At most one write is outstanding; a status arriving meanwhile replaces any
// other waiting one. The final write (at shutdown) carries the stream's end with it.
class HealthService::WatchReactor final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService& service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Sends `status` (latest wins while a write is in flight).
  void Push(ServingStatus status) {
    absl::MutexLock lock(&mu_);
    if (finished_ || final_) return;
    if (writing_) {
      pending_ = status;
      return;
    }
    StartWriteLocked(status);
  }

  // Sends NOT_SERVING and ends the stream with UNAVAILABLE.
  void PushFinal() {
    absl::MutexLock lock(&mu_);
    if (finished_ || final_) return;
    final_ = true;
    if (!writing_) FinishWithNotServingLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finished_) return;
    if (!ok || cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "health watch cancelled"));
    } else if (final_) {
      FinishWithNotServingLocked();
    } else if (pending_.has_value()) {
      const ServingStatus next = *pending_;
      pending_.reset();
      StartWriteLocked(next);
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_ && !finished_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "health watch cancelled"));
    }
  }

  void OnDone() override {
    service_.Unregister(this);
    delete this;
  }

 private:
  void StartWriteLocked(ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    response_.set_status(status);
    StartWrite(&response_);
  }

  void FinishWithNotServingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    writing_ = true;
    response_.set_status(HealthCheckResponse::NOT_SERVING);
    StartWriteAndFinish(&response_, grpc::WriteOptions(),
                        grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    Finish(std::move(status));
  }

  HealthService& service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool final_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

void HealthService::SetStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  const ServingStatus status = serving ? HealthCheckResponse::SERVING
                                       : HealthCheckResponse::NOT_SERVING;
  statuses_[service] = status;
  Notify(service, status);
}

void HealthService::SetAll(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  const ServingStatus status = serving ? HealthCheckResponse::SERVING
                                       : HealthCheckResponse::NOT_SERVING;
  for (auto& [name, current] : statuses_) {
    current = status;
    Notify(name, status);
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  for (WatchReactor* watcher : watchers_) watcher->PushFinal();
}

void HealthService::Notify(const std::string& service, ServingStatus status) {
  for (WatchReactor* watcher : watchers_) {
    if (watcher->name() == service) watcher->Push(status);
  }
}

void HealthService::Unregister(WatchReactor* reactor) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(reactor);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* ctx,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    auto it = statuses_.find(request->service());
    if (it == statuses_.end()) {
      status = grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
    } else {
      response->set_status(it->second);
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*ctx*/, const HealthCheckRequest* request) {
  auto* reactor = new WatchReactor(*this, request->service());
  absl::MutexLock lock(&mu_);
  watchers_.insert(reactor);
  if (shut_down_) {
    reactor->PushFinal();
  } else {
    auto it = statuses_.find(request->service());
    reactor->Push(it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second);
  }
  return reactor;
}

}  // namespace prm::server
