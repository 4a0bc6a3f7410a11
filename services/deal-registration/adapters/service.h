#pragma once

// Wires the deal-registration service into the shared runtime: its gRPC handlers
// (prm.deal.v1.DealRegistration, adapters/service.cc), its reaction to consumed events, and the
// timer thread. The domain lives in domain/ (plain C++); durability is the command log
// (adapters/durable_deal_book.h); proto translation is adapters/proto_mapping.h.
//
// Access (SPEC §3.2): every RPC needs a token covering the request's vendor. Partner users act
// only on their own partner's deals; a partner user naming a deal that is not its own — or that
// does not exist — gets PERMISSION_DENIED either way, so it learns nothing about other
// partners' deals. Staff-only RPCs (review, return, approve, reject, extend, policy updates)
// deny other roles with PERMISSION_DENIED.

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/client/service_client.h"
#include "common/runtime/service_runtime.h"

namespace prm::deal {

struct ServiceOptions {
  // How often the timer thread checks whether an approval SLA, expiry reminder or expiry is
  // due; a Tick command is logged only when one is.
  absl::Duration timer_interval = absl::Seconds(2);
  // Testing only: shifts the service's clock (the command log's base clock) forward, so an
  // end-to-end test can restart the binary "days later" to see protection expire.
  absl::Duration clock_offset = absl::ZeroDuration();
  // partner-registry's gRPC API (--partner-registry-address and its TLS, deadline and retry
  // flags). When set, SubmitDeal asks it whether the partner's enrollment with the vendor is
  // ACTIVE before the submission is logged, and the answer is logged with the command (replay
  // never calls it). Empty: only the enrollment events consumed from prm.partner.v1 are used.
  client::ClientOptions partner_registry{.target_name = "partner-registry"};
  // --service-token-file: this service's identity for those calls (common/client/
  // service_identity.h); empty with HS256: deal-registration mints its own service token.
  std::string service_token_file;
};

// Replays the command log and returns the service's parts, ready to serve.
absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(
    runtime::Runtime& runtime, const ServiceOptions& options = {});

}  // namespace prm::deal
