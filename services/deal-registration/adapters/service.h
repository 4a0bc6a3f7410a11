#pragma once

// Wires the deal-registration service into the shared runtime: its gRPC handlers and its reaction to
// consumed events. The domain lives in domain/ (plain C++), the storage in adapters/.

#include <memory>

#include "absl/status/statusor.h"
#include "common/runtime/service_runtime.h"

namespace prm::deal {

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime);

}  // namespace prm::deal
