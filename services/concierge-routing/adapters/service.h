#pragma once

// Wires the concierge-routing service into the shared runtime: its gRPC handlers and its reaction to
// consumed events. The domain lives in domain/ (plain C++), the storage in adapters/.

#include <memory>

#include <string>

#include "absl/status/statusor.h"
#include "common/client/service_client.h"
#include "common/runtime/service_runtime.h"

namespace prm::routing {

struct ServiceOptions {
  // --partner-registry-address etc.: where to ask about a partner the service has not heard of
  // from prm.partner.v1 yet when a task is created for it. Empty address = never ask.
  client::ClientOptions partner_registry{.target_name = "partner-registry"};
  std::string service_token_file;  // --service-token-file
};

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(
    runtime::Runtime& runtime, const ServiceOptions& options);

}  // namespace prm::routing
