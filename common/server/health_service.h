#pragma once

// grpc.health.v1.Health for ServiceHost (SPEC §3.1): Check and Watch per service name, "" for
// the whole server. Open to unauthenticated callers (probes).
//
// gRPC's built-in DefaultHealthCheckService is not used because its Watch streams outlive a
// drain: after its Shutdown() they stay open, so grpc::Server::Shutdown waits the whole
// drain_timeout for them. Here Shutdown() sends NOT_SERVING to every watcher and then ends the
// stream with UNAVAILABLE, and answers later Watch calls the same way at once.
//
// Check: the status, or NOT_FOUND for a name never set. Watch: the current status
// (SERVICE_UNKNOWN for a name never set) and every change after it; a watcher that falls behind
// receives only the latest status.
//
// Thread-safe.

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace prm::server {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  // Every Watch call must be done (server shut down) before destruction.
  ~HealthService() override = default;

  // Sets one name's status; ignored after Shutdown.
  void SetStatus(const std::string& service, bool serving);
  // Sets the status of every name set so far; ignored after Shutdown.
  void SetAll(bool serving);
  // Sets every name NOT_SERVING for good and ends every Watch stream (see above).
  void Shutdown();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* ctx,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  friend class WatchReactor;

  void Notify(const std::string& service, ServingStatus status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(WatchReactor* reactor);

  absl::Mutex mu_;
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace prm::server
