#pragma once

// The Prometheus scrape endpoint of a PRM process (SPEC §3.4): `GET /metrics` over plain HTTP,
// served by prometheus-cpp's civetweb-based Exposer on its own threads.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace prm::metrics {

class MetricsEndpoint {
 public:
  // Listens on `listen` ("host:port"; port 0 picks a free port) and serves `registry` at
  // /metrics until destroyed. INVALID_ARGUMENT for an address without a port; UNAVAILABLE when
  // the address cannot be bound (port in use, unknown interface).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      std::string_view listen, std::shared_ptr<prometheus::Registry> registry);

  // Stops listening; in-progress scrapes complete first.
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound port (the chosen one when `listen` asked for port 0). Thread-safe.
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

// Adds the `build_info{service,version} 1` gauge to `registry`. Call once per process.
void AddBuildInfo(prometheus::Registry& registry, std::string_view service,
                  std::string_view version);

}  // namespace prm::metrics
