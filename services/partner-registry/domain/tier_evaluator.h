#pragma once

// Tier evaluation (SPEC §4.2): which tiers' requirements a partner meets, with the reason for
// each requirement, as prm.partner.v1.TierEvaluation. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/partner-registry/domain/competency.h"
#include "services/partner-registry/domain/money.h"
#include "services/partner-registry/domain/program.h"

namespace prm::partner {

// Same numbers as prm.partner.v1.RequirementKind.
enum class RequirementKind : int {
  kUnspecified = 0,
  kTrailingRevenue = 1,
  kActiveCompetencyCount = 2,
  kRequiredCompetency = 3,
  kPoints = 4,
};

// Same numbers as prm.partner.v1.EvaluationTrigger.
enum class EvaluationTrigger : int {
  kUnspecified = 0,
  kSales = 1,
  kCompetency = 2,
  kProgram = 3,
  kEnrollment = 4,
  kGraceElapsed = 5,
  kManual = 6,
};

struct RequirementResult {
  std::string tier_id;
  RequirementKind kind = RequirementKind::kUnspecified;
  std::string competency_id;  // kRequiredCompetency only
  bool passed = false;
  std::optional<Money> required_amount;  // kTrailingRevenue only
  std::optional<Money> actual_amount;    // kTrailingRevenue only
  int64_t required_value = 0;            // count, level or points
  int64_t actual_value = 0;
  friend bool operator==(const RequirementResult&, const RequirementResult&) = default;
};

struct TierEvaluation {
  std::string qualified_tier_id;  // empty = none
  int qualified_tier_rank = 0;
  std::vector<RequirementResult> results;  // every set requirement of every tier, lowest first
  absl::Time evaluate_time = absl::InfinitePast();
  EvaluationTrigger trigger = EvaluationTrigger::kUnspecified;
  friend bool operator==(const TierEvaluation&, const TierEvaluation&) = default;
};

// What an enrollment brings to an evaluation.
struct TierInputs {
  Money trailing_revenue;
  const std::vector<Competency>* competencies = nullptr;  // may be null = none
  int64_t points = 0;
};

// Evaluates every tier of `program` at `now`: a competency counts when CountsAt(now). A revenue
// requirement in another currency than the trailing revenue fails (convert before applying
// sales). The qualified tier is the highest-ranked tier all of whose requirements pass.
TierEvaluation EvaluateTiers(const Program& program, const TierInputs& inputs, absl::Time now,
                             EvaluationTrigger trigger);

}  // namespace prm::partner
