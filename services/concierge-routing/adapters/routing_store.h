#pragma once

// The durable state of concierge-routing: one domain Router per vendor (the domain is
// single-tenant), plus what the API shows that the domain does not keep (display names and times
// of queues, workflows and activities, worker e-mails, the order resources were created in, the
// partner contexts learnt from prm.partner.v1), all changed only by commands of the command log
// (common/storage/command_log.h) and so rebuilt exactly by replaying it at start-up.
//
// Commands (Command.kind): the write RPC names ("CreateWorker", "CreateTask", …) with the
// request as payload; "Tick", which fires the routers' due timers (reservation and step
// timeouts, aging, TTL, SLA warning/breach, wrap-up end) so that timer effects are logged,
// replayed and published like any other change; and the consumed event types
// ("prm.deal.DealSubmitted.v1", …) with the event payload.
//
// A command that the domain refuses (NOT_FOUND, FAILED_PRECONDITION, …) is still logged, its
// error as the reply: each domain call first fires the timers that are due, and those effects
// must be logged with the command that caused them or replay would diverge. Requests that fail
// the adapter's own validation never reach the domain and are not logged.
//
// Server-assigned ids come from the command's time and log position ("task-<hex µs>-<seq>",
// likewise worker-, queue-, workflow-, calendar-), so they are the same on replay and unique
// across vendors and installations.
// Reservation ids are the domain's ("res-<n>", per vendor).
//
// Events: every domain event of a command becomes a CloudEvent
// "prm.routing.<Message>.v1" on the routing topic, keyed by task id, with id
// "concierge-routing-<seq>-<n>", appended to the outbox in the command's transaction.
//
// Thread safety: writes (Apply) hold one exclusive lock; reads (Read) hold it shared and never
// fire timers.

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/runtime/service_runtime.h"
#include "common/storage/command_log.h"
#include "google/protobuf/message.h"
#include "prm/common/v1/actor.pb.h"
#include "prm/partner/v1/partner_resources.pb.h"
#include "prm/routing/v1/routing_resources.pb.h"
#include "services/concierge-routing/adapters/offer_hub.h"
#include "services/concierge-routing/domain/router.h"

namespace prm::routing {

// What the adapter keeps about a worker besides the domain's Worker.
struct WorkerMeta {
  std::string email;
  absl::Time create_time;
  absl::Time update_time;
  absl::Time activity_change_time;
  int64_t version = 1;
};

// Partner data from prm.partner.v1, merged from several events.
struct PartnerRecord {
  PartnerContext context;
  int tier_routing_priority = 0;
};

// One vendor's state.
struct VendorState {
  std::string vendor_id;
  std::unique_ptr<Router> router;
  std::vector<std::string> worker_ids;  // creation order; deleted workers removed
  absl::flat_hash_map<std::string, WorkerMeta> workers;
  std::vector<std::string> activity_ids;
  absl::flat_hash_map<std::string, prm::routing::v1::Activity> activities;
  std::vector<std::string> queue_ids;
  absl::flat_hash_map<std::string, prm::routing::v1::Queue> queues;
  std::vector<std::string> workflow_ids;
  absl::flat_hash_map<std::string, prm::routing::v1::Workflow> workflows;
  std::vector<std::string> calendar_ids;
  absl::flat_hash_map<std::string, prm::routing::v1::BusinessCalendar> calendars;
  prm::routing::v1::SlaPolicy sla_policy;  // the defaults until updated
  std::vector<std::string> task_ids;  // creation order
  std::vector<std::string> reservation_ids;  // creation order
  absl::flat_hash_map<std::string, PartnerRecord> partners;
};

// partner-registry's answer about a partner, as CreateTask's command inputs: its enrollment at
// the vendor (tier, concierge, channel manager) and that tier's benefits; `enrollment` null =
// the partner has no enrollment at the vendor. Applied only while the vendor has still heard
// nothing of the partner from prm.partner.v1 (events are never overridden).
std::string EncodePartnerLookup(const prm::partner::v1::Enrollment* enrollment,
                                const prm::partner::v1::TierBenefits& benefits);

// The API worker: the domain's worker with the adapter's metadata. NOT_FOUND for an unknown
// worker. Call under RoutingStore::Read.
absl::StatusOr<prm::routing::v1::Worker> WorkerResource(const VendorState& v,
                                                        const std::string& worker_id);

class RoutingStore {
 public:
  // `runtime`, `log` and `offers` must outlive the store. `offers` gets every domain event.
  RoutingStore(runtime::Runtime& runtime, command_log::CommandLog& log, OfferHub& offers);
  ~RoutingStore();

  // Replays the log; call once before serving. Returns the number of commands replayed.
  absl::StatusOr<int64_t> Replay();

  // Logs and applies a write RPC: `kind` is the RPC name, `request` its (validated) request.
  // Returns the domain's error, or fills `response` with the reply (the logged one for a retried
  // request_id). INVALID_ARGUMENT naming request_id when it was used for another request.
  // `inputs`: what the command was decided on besides the request, fetched before it is logged
  // and logged with it (Command::inputs); for CreateTask, EncodePartnerLookup's answer.
  absl::Status Execute(const std::string& kind, const std::string& request_id,
                       const google::protobuf::Message& request,
                       const prm::common::v1::Actor& actor, google::protobuf::Message* response,
                       std::string inputs = "");

  // Applies a consumed event inside the consumer's transaction. Event types this service does
  // not use are ignored (not logged).
  absl::Status ApplyEvent(const std::string& type, const google::protobuf::Message& payload,
                          sqlite::Transaction& tx);

  // When the earliest timer of any vendor is due; InfiniteFuture when none.
  absl::Time NextTimerTime() const;
  // Logs a "Tick" command, which fires every due timer of every vendor.
  absl::Status Tick();

  // Runs `read` under the shared lock with the vendor's state, or nullptr for a vendor that
  // never had a write.
  void Read(const std::string& vendor_id,
            const std::function<void(const VendorState*)>& read) const;

 private:
  absl::StatusOr<std::string> Apply(const command_log::Command& command, sqlite::Transaction* tx,
                                    const prm::common::v1::Actor& actor);

  runtime::Runtime& runtime_;
  command_log::CommandLog& log_;
  OfferHub& offers_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<VendorState>> vendors_;  // ordered: Tick order
};

}  // namespace prm::routing
