#pragma once

// Domain events of partner-registry (SPEC §4.7), one struct per prm.partner.v1 event message.
// Commands return them in order; the adapter writes them to the outbox in the same transaction
// as the state change. Plain values; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "services/partner-registry/domain/competency.h"
#include "services/partner-registry/domain/partner.h"
#include "services/partner-registry/domain/program.h"
#include "services/partner-registry/domain/tier_evaluator.h"

namespace prm::partner {

// Same numbers as prm.partner.v1.EnrollmentState.
enum class EnrollmentState : int {
  kUnspecified = 0,
  kProspect = 1,
  kOnboarding = 2,
  kActive = 3,
  kSuspended = 4,
  kTerminated = 5,
};

// prm.common.v1.EventMetadata's domain part. The record key is partner_id for partner and
// enrollment events and program_id for program events; vendor_id is empty for partner events.
struct EventMeta {
  std::string vendor_id;
  std::string partner_id;
  int64_t aggregate_version = 0;  // the aggregate's version after the change
  absl::Time time = absl::InfinitePast();
  friend bool operator==(const EventMeta&, const EventMeta&) = default;
};

struct PartnerCreated {
  EventMeta meta;
  Partner partner;
  std::string creator_vendor_id;
};
struct PartnerUpdated {
  EventMeta meta;
  Partner partner;
};
struct PartnerDeleted {
  EventMeta meta;
};
struct ProgramCreated {
  EventMeta meta;  // partner_id empty
  Program program;
};
struct ProgramUpdated {
  EventMeta meta;  // partner_id empty
  Program program;
};
struct ProgramDeleted {
  EventMeta meta;  // partner_id empty
  std::string program_id;
};
struct EnrollmentStateChanged {
  EventMeta meta;
  std::string program_id;
  EnrollmentState from = EnrollmentState::kUnspecified;
  EnrollmentState to = EnrollmentState::kUnspecified;
  std::string reason;
};
struct EnrollmentUpdated {
  EventMeta meta;
  std::vector<std::string> changed_paths;  // e.g. "points", "lead_opt_out"
};
struct TierChanged {
  EventMeta meta;
  std::string program_id;
  std::string from_tier_id;
  int from_tier_rank = 0;
  std::string to_tier_id;
  int to_tier_rank = 0;
  std::optional<TierBenefits> to_tier_benefits;  // unset when to_tier_id is empty
  TierEvaluation evaluation;
  std::optional<absl::Time> grace_start_time;  // downgrades: when requirements stopped being met
};
struct CompetencyGranted {
  EventMeta meta;
  Competency competency;
};
struct CompetencyRenewed {
  EventMeta meta;
  Competency competency;
  absl::Time previous_expire_time;
};
struct CompetencyRevoked {
  EventMeta meta;
  Competency competency;
};
struct CompetencyExpiring {
  EventMeta meta;
  Competency competency;
  absl::Duration notice;
};
struct CompetencyExpired {
  EventMeta meta;
  Competency competency;
};
struct ConciergeAssigned {
  EventMeta meta;
  std::string previous_worker_id;
  std::string worker_id;
};

using DomainEvent =
    std::variant<PartnerCreated, PartnerUpdated, PartnerDeleted, ProgramCreated, ProgramUpdated,
                 ProgramDeleted, EnrollmentStateChanged, EnrollmentUpdated, TierChanged, CompetencyGranted,
                 CompetencyRenewed, CompetencyRevoked, CompetencyExpiring, CompetencyExpired,
                 ConciergeAssigned>;

// The metadata of any event.
inline const EventMeta& MetaOf(const DomainEvent& e) {
  return std::visit([](const auto& ev) -> const EventMeta& { return ev.meta; }, e);
}

}  // namespace prm::partner
