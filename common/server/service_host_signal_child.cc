// Test helper for service_host_test: serves the probe service until SIGTERM/SIGINT, the way a
// service's main() does. Prints "port <grpc port>" on stderr once serving, logs JSON on stdout,
// and runs one drain step that prints "drain step ran" on stderr.

#include <cstdio>

#include "common/log/log.h"
#include "common/server/service_host.h"
#include "common/server/termination_signals.h"
#include "tests/support/probe_service.h"

int main() {
  prm::server::BlockTerminationSignals();
  prm::logging::InitLogging("signal-child", "info");

  prm::server::ServerOptions options;
  options.metrics_listen = "";
  options.drain_timeout = absl::Seconds(5);
  prm::testing::ProbeService probe([](std::string_view) -> absl::StatusOr<prm::auth::Principal> {
    prm::auth::Principal principal;
    principal.subject = "child";
    principal.role = prm::auth::Role::kService;
    return principal;
  });
  prm::server::ServiceHost host(options, "signal-child", "0.0.0");
  host.Register(&probe, prm::testing::v1::Probe::service_full_name());
  host.AddDrainStep("report", [] { std::fprintf(stderr, "drain step ran\n"); });
  if (absl::Status status = host.Start(); !status.ok()) {
    std::fprintf(stderr, "start failed: %s\n", status.ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "port %d\n", host.selected_port());
  std::fflush(stderr);
  return host.RunUntilSignal();
}
