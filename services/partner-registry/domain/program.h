#pragma once

// A vendor's channel program (SPEC §4.2) as prm.partner.v1.Program: ordered tiers with
// requirements and benefits, and the competencies partners can earn. Plain values;
// thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/partner-registry/domain/money.h"
#include "services/partner-registry/domain/partner.h"

namespace prm::partner {

struct CompetencyRequirement {
  std::string competency_id;
  int min_level = 1;  // 0 means 1
  friend bool operator==(const CompetencyRequirement&, const CompetencyRequirement&) = default;
};

// An unset requirement always passes.
struct TierRequirements {
  std::optional<Money> min_trailing_revenue;
  int min_active_competencies = 0;
  std::vector<CompetencyRequirement> required_competencies;
  std::optional<int64_t> min_points;
  friend bool operator==(const TierRequirements&, const TierRequirements&) = default;
};

struct TierBenefits {
  int discount_basis_points = 0;
  int deal_protection_days = 90;
  int routing_priority = 0;
  std::optional<absl::Duration> first_response_sla;
  friend bool operator==(const TierBenefits&, const TierBenefits&) = default;
};

struct Tier {
  std::string tier_id;
  std::string display_name;
  TierRequirements requirements;
  TierBenefits benefits;
  friend bool operator==(const Tier&, const Tier&) = default;
};

struct CompetencyDefinition {
  std::string competency_id;
  std::string display_name;
  int max_level = 1;
  absl::Duration default_validity = absl::Hours(24 * 365);
  absl::Duration renewal_grace_period = absl::ZeroDuration();
  friend bool operator==(const CompetencyDefinition&, const CompetencyDefinition&) = default;
};

struct Program {
  std::string vendor_id;
  std::string program_id;
  std::string display_name;
  std::string description;
  std::vector<PartnerType> eligible_types;  // empty = all
  std::vector<Tier> tiers;                  // lowest first; rank = index + 1
  std::vector<CompetencyDefinition> competencies;
  absl::Duration downgrade_grace_period = absl::Hours(24 * 90);
  absl::Duration competency_expiry_notice = absl::Hours(24 * 30);
  int64_t version = 0;
  std::string etag;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();

  // The tier with `tier_id` and its rank (1-based); nullptr / 0 when absent.
  const Tier* FindTier(std::string_view tier_id) const;
  int RankOf(std::string_view tier_id) const;
  const CompetencyDefinition* FindCompetency(std::string_view competency_id) const;
  // True when a partner with `types` may enroll (eligible_types empty or sharing one).
  bool Accepts(const std::vector<PartnerType>& types) const;
};

// OK or INVALID_ARGUMENT listing every bad field: vendor_id and display_name required, 1..10
// tiers with unique ids of [a-z0-9_-]{1,32}, requirement competency ids defined in the program and
// levels within max_level, non-negative revenue of an ISO-like currency, benefits in range
// (discount 0..10000, protection 1..3650 days, routing 0..1000, SLA 1 min..30 days), at most 200
// competencies with unique ids, grace 0..365 days, notice 1..365 days.
absl::Status ValidateProgram(const Program& program);

}  // namespace prm::partner
