#pragma once

// A competency held by a partner at one vendor (SPEC §4.4), as prm.partner.v1.Competency, and
// its state as a pure function of time. Plain values; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace prm::partner {

// Same numbers as prm.partner.v1.CompetencyState.
enum class CompetencyState : int {
  kUnspecified = 0,
  kActive = 1,   // before expire_time; counts
  kInGrace = 2,  // expire_time ≤ t < expire_time + renewal_grace_period; counts
  kExpired = 3,  // after grace; does not count
  kRevoked = 4,  // revoked by the vendor; does not count
};

struct Competency {
  std::string competency_id;
  int level = 1;
  int certified_people = 0;
  absl::Time grant_time = absl::InfinitePast();
  absl::Time expire_time = absl::InfiniteFuture();
  absl::Duration renewal_grace_period = absl::ZeroDuration();
  // State as last recorded by an event (Grant/Renew/Revoke/Tick). Use StateAt for a given time.
  CompetencyState state = CompetencyState::kActive;
  std::optional<absl::Time> revoke_time;
  std::string revoke_reason;
  // True once CompetencyExpiring was emitted for the current expire_time (a renewal re-arms).
  bool expiring_notified = false;
  friend bool operator==(const Competency&, const Competency&) = default;
};

// The state of `c` at time `t` computed from its times (revocation wins from revoke_time on).
CompetencyState StateAt(const Competency& c, absl::Time t);

// True when `c` counts toward tier requirements at `t` (ACTIVE or IN_GRACE).
inline bool CountsAt(const Competency& c, absl::Time t) {
  const CompetencyState s = StateAt(c, t);
  return s == CompetencyState::kActive || s == CompetencyState::kInGrace;
}

// When `c` stops counting (expire_time + grace), absent revocation.
inline absl::Time CountsUntil(const Competency& c) {
  return c.expire_time + c.renewal_grace_period;
}

}  // namespace prm::partner
