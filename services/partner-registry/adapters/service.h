#pragma once

// Wires the partner-registry service into the shared runtime: the gRPC API
// (prm.partner.v1.PartnerRegistry), the consumed events (prm.sales.v1 SaleRecorded, prm.deal.v1
// deal outcomes) and the timer that lets time pass for competencies and downgrade grace periods.
//
// State: the domain's PartnerDirectory in memory, made durable by the command log
// (common/storage/command_log.h): every accepted write, consumed event and state-changing tick is
// logged in the transaction that also holds its outbox events, and replayed at start-up. Reads
// are served from memory.
//
// Access (SPEC §3.2, proto/README.md "Access denials"): a request naming a vendor the token does
// not cover, or (for a partner user) another partner, is PERMISSION_DENIED whether or not the
// object exists; within the caller's namespace a missing object is NOT_FOUND. Vendor staff see a
// partner identity once their vendor created or enrolled it, and may look identities up by tax id
// or web domain (to enroll an existing partner); they never see other vendors' external ids,
// enrollments, tiers, competencies or figures.

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/runtime/service_runtime.h"
#include "common/storage/sqlite.h"

namespace prm::partner {

struct ServiceOptions {
  // How often time passes for every enrollment (competency notices and expiry, the trailing
  // window, downgrade grace); each tick holds the directory's write lock for one pass over the
  // enrollments. 0 = never by itself (tests call Tick).
  absl::Duration tick_interval = absl::Seconds(30);
};

class PartnerRegistryParts : public runtime::ServiceParts {
 public:
  // Lets time pass now, as the timer does: logs and publishes what changed.
  virtual absl::Status Tick() = 0;
  // Number of logged commands replayed when the service was built.
  virtual int64_t replayed_commands() const = 0;
};

// The command log's schema, to list among the service's schemas.
sqlite::Schema StoreSchema();

absl::StatusOr<std::unique_ptr<PartnerRegistryParts>> BuildPartnerRegistry(
    runtime::Runtime& runtime, ServiceOptions options);

}  // namespace prm::partner
