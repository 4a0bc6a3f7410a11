#pragma once

// Domain events → prm.partner.v1 event messages → CloudEvents records in the outbox (SPEC §4.7,
// proto/prm/partner/v1/partner_events.proto). Type `prm.partner.<Message>.v1`, source
// `prm/partner-registry`, key = partner id (partner and enrollment events) or program id
// (program events). Enrollment events carry the enrollment snapshot after the command.
// Thread-compatible.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/storage/sqlite.h"
#include "google/protobuf/message.h"
#include "prm/common/v1/actor.pb.h"
#include "services/partner-registry/domain/partner_directory.h"

namespace prm::partner {

struct EventContext {
  std::string source;   // CloudEvents source, "prm/partner-registry"
  std::string topic;    // "prm.partner.v1"
  std::string request_id;
  common::v1::Actor actor;
  // Field paths that changed, for PartnerUpdated / ProgramUpdated.
  std::vector<std::string> changed_paths;
};

struct EncodedEvent {
  std::string type;  // "prm.partner.TierChanged.v1"
  std::string key;   // record key and CloudEvents subject
  std::unique_ptr<google::protobuf::Message> payload;
};

// The event message of `event`; `event_id` goes into its metadata. Enrollment snapshots are
// read from `directory` (current state).
EncodedEvent EncodeEvent(const DomainEvent& event, const PartnerDirectory& directory,
                         const EventContext& context, const std::string& event_id);

// Appends every event to the outbox in `tx`, each with a fresh random UUID as its id.
absl::Status AppendToOutbox(sqlite::Transaction& tx, const Events& events,
                            const PartnerDirectory& directory, const EventContext& context);

// A random (version 4) UUID.
std::string NewEventId();

}  // namespace prm::partner
