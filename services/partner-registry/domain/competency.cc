#include "services/partner-registry/domain/competency.h"

namespace prm::partner {

CompetencyState StateAt(const Competency& c, absl::Time t) {
  if (c.revoke_time.has_value() && t >= *c.revoke_time) return CompetencyState::kRevoked;
  if (t < c.expire_time) return CompetencyState::kActive;
  if (t < CountsUntil(c)) return CompetencyState::kInGrace;
  return CompetencyState::kExpired;
}

}  // namespace prm::partner
