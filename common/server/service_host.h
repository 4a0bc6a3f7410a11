#pragma once

// Runs a PRM service's gRPC server with everything SPEC §3.1/§3.4 asks of every server:
// grpc.health.v1 (overall "" and per service), server reflection, RED metrics per RPC and a
// Prometheus /metrics endpoint with build_info, message size limits, and a bounded graceful
// drain on SIGTERM/SIGINT.
//
//   int main(int argc, char** argv) {
//     prm::server::BlockTerminationSignals();          // before any thread exists
//     ... parse flags into ServerOptions (RegisterServerFlags), InitLogging ...
//     prm::server::ServiceHost host(options, "partner-registry", PRM_VERSION);
//     PartnerRegistryService service(...);               // must outlive `host`'s server
//     host.Register(&service, PartnerRegistry::service_full_name());
//     host.AddDrainStep("kafka consumer", [&] { consumer.Stop(); });
//     if (absl::Status s = host.Start(); !s.ok()) { spdlog::error(...); return 1; }
//     return host.RunUntilSignal();
//   }
//
// Drain (RunUntilSignal after a signal, or Shutdown), each step logged with its duration:
//   1. every health status goes NOT_SERVING for good; health Watch streams get NOT_SERVING and
//      end with UNAVAILABLE;
//   2. the stream closers run (AddStreamCloser), so long-lived streams end now instead of
//      holding the drain until drain_timeout;
//   3. the gRPC server stops accepting calls (new calls fail UNAVAILABLE), waits up to
//      drain_timeout for in-flight ones and cancels the rest (clients see UNAVAILABLE), then
//      closes the remaining, idle, connections without waiting for the clients;
//   4. the drain steps run in reverse order of addition (AddDrainStep);
//   5. the metrics endpoint stops (civetweb may take up to 2 s to notice).
// Under RunUntilSignal a watchdog ends the process with exit code 1 if the drain has not
// finished kMaxShutdownTime after the signal, or when a second signal arrives.
//
// Thread safety: Register and Start are for the main thread, before serving. Everything else
// is thread-safe. Registered services and drain-step captures must outlive the host's drain
// (declare them before the host, or call Shutdown before they go away).

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/metrics/grpc_server_metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/server/health_service.h"
#include "common/server/handler_pool.h"
#include "common/server/rate_limiter.h"
#include "common/server/server_options.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server.h"
#include "prometheus/registry.h"

namespace prm::server {

class ServiceHost {
 public:
  // `service_name` ("partner-registry") and `version` label build_info. A null `registry` makes
  // the host create its own; either way metrics_registry() is where components add theirs.
  ServiceHost(ServerOptions options, std::string service_name, std::string version,
              std::shared_ptr<prometheus::Registry> registry = nullptr);
  // Stops a server that was never drained (cancelling in-flight calls at once, without drain
  // steps, which may reference objects already destroyed) and logs a warning.
  ~ServiceHost();
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // Adds a callback-API service, before Start. `grpc_service_full_name` is its
  // "package.Service" name (the generated Service::service_full_name()); its health status is
  // reported under that name. Not owned; must outlive the drain.
  void Register(grpc::Service* service, std::string grpc_service_full_name);

  // Adds a step that stops a component (Kafka consumer, outbox relay...) during the drain,
  // after the gRPC server has finished; steps run in reverse order of addition. A step should
  // return within a few seconds; exceptions are caught and logged.
  void AddDrainStep(std::string name, std::function<void()> step);

  // Adds a function that ends a service's long-lived streams (server-streaming watches such as
  // WatchOffers) at step 2 of the drain. It must also make streams that start afterwards end at
  // once (set a flag under the lock that guards the stream list): calls can still arrive until
  // step 3. Must not block for long. Thread-safe; exceptions are caught and logged.
  void AddStreamCloser(std::string name, std::function<void()> closer);

  // Starts the metrics endpoint and the gRPC server, and reports every registered service and
  // "" as SERVING. INVALID_ARGUMENT for bad options; UNAVAILABLE when an address cannot be
  // bound (port in use); FAILED_PRECONDITION when called twice, when a service name is
  // registered twice, or when a registered service has no descriptor in the generated pool
  // (needed to declare its RED metrics).
  absl::Status Start();

  // After a successful Start: the bound gRPC port (the chosen one for port 0), and the bound
  // metrics port (0 without a metrics endpoint).
  int selected_port() const { return selected_port_; }
  int metrics_port() const { return metrics_port_; }
  // The plaintext health port (--health-listen), 0 when there is none.
  int health_port() const { return health_port_; }

  // Sets the health status of "" and of every registered service; or of one service name
  // (any name may be used, e.g. for a hard dependency). Ignored once the drain has begun, which
  // keeps everything NOT_SERVING. Start reports SERVING for "" and every registered service, so
  // a service that must wait for a hard dependency calls SetServing(false) right after Start.
  void SetServing(bool serving);
  void SetServing(std::string_view grpc_service, bool serving);

  // Blocks until SIGTERM or SIGINT (or RequestShutdown), then drains and returns 0. Blocks the
  // two signals in the calling thread; main must already have called BlockTerminationSignals
  // (see termination_signals.h) or other threads may die by the signal — logged as a warning.
  // Returns 1 at once when the host was not started.
  int RunUntilSignal();

  // Makes a running RunUntilSignal begin the drain, as a signal would. Does not wait.
  void RequestShutdown();

  // Drains now (without the watchdog) and returns when done. The first call drains; concurrent
  // and later calls wait for that drain and return. Safe before Start (then it only runs the
  // drain steps).
  void Shutdown();

  // Calls the server is handling right now (all services, health and reflection included).
  int64_t in_flight_calls() const { return policy_.calls.load(); }

  // What the per-call interceptor applies (ServerOptions limits) and counts.
  struct CallPolicy {
    std::atomic<int64_t> calls{0};
    std::unique_ptr<RateLimiter> rate_limiter;
    std::unique_ptr<HandlerPool> handlers;  // outlives server_ (declared before it)
    absl::Duration max_deadline;
    absl::Duration max_stream_duration;
  };

  prometheus::Registry& metrics_registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_metrics_registry() const { return registry_; }

 private:
  struct DrainStep {
    std::string name;
    std::function<void()> step;
  };
  void Drain();
  void StopServer();
  void StopHealthServer();
  // Plaintext, or TLS / mutual TLS from watched certificate files (ServerOptions).
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials() const;
  static void RunStep(DrainStep& step);

  const ServerOptions options_;
  const std::string service_name_;
  const std::string version_;
  std::shared_ptr<prometheus::Registry> registry_;

  struct Registration {
    grpc::Service* service;
    std::string name;
  };
  std::vector<Registration> services_;

  absl::Mutex drain_steps_mu_;
  std::vector<DrainStep> drain_steps_ ABSL_GUARDED_BY(drain_steps_mu_);
  std::vector<DrainStep> stream_closers_ ABSL_GUARDED_BY(drain_steps_mu_);

  bool started_ = false;
  int selected_port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<metrics::GrpcServerMetrics> rpc_metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint_;
  HealthService health_;  // outlives server_
  HealthService plain_health_;  // the --health-listen copy; outlives health_server_
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  CallPolicy policy_;
  std::unique_ptr<grpc::Server> server_;

  std::once_flag drain_once_;
  absl::Notification drained_;

  absl::Mutex shutdown_request_mu_;
  bool shutdown_requested_ ABSL_GUARDED_BY(shutdown_request_mu_) = false;
  bool has_waiter_ ABSL_GUARDED_BY(shutdown_request_mu_) = false;
  pthread_t waiter_ ABSL_GUARDED_BY(shutdown_request_mu_){};
};

}  // namespace prm::server
