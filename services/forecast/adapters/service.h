#pragma once

// Wires the forecast service into the shared runtime: its gRPC handlers and its reaction to
// consumed events. The domain lives in domain/ (plain C++), the storage in adapters/.

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/runtime/service_runtime.h"

namespace prm::forecast {

struct ServiceOptions {
  // How often the stale stored forecasts are recomputed and changed ones published
  // (ForecastUpdated); a change is in them at most this long (plus the recomputation) after its
  // event is applied. Reads never wait for it: a forecast whose inputs changed since it was
  // stored is computed on read.
  absl::Duration refresh_interval = absl::Seconds(2);
};

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(
    runtime::Runtime& runtime, const ServiceOptions& options = {});

}  // namespace prm::forecast
