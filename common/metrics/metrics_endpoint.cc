#include "common/metrics/metrics_endpoint.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"

namespace prm::metrics {

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, int port)
    : exposer_(std::move(exposer)), port_(port) {}

MetricsEndpoint::~MetricsEndpoint() = default;

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    std::string_view listen_view, std::shared_ptr<prometheus::Registry> registry) {
  // Debian's Abseil has its own string_view, so absl::StrCat gets std::string arguments.
  const std::string listen(listen_view);
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen address \"", listen, "\" is not host:port"));
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // Two civetweb worker threads: scrapes are rare and small.
    exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry, "/metrics");
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen));
  }
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(exposer), ports.front()));
}

void AddBuildInfo(prometheus::Registry& registry, std::string_view service,
                  std::string_view version) {
  prometheus::BuildGauge()
      .Name("build_info")
      .Help("Always 1; labels name the service and its version.")
      .Register(registry)
      .Add({{"service", std::string(service)}, {"version", std::string(version)}})
      .Set(1);
}

}  // namespace prm::metrics
