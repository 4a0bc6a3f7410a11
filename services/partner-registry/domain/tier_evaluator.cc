#include "services/partner-registry/domain/tier_evaluator.h"

#include <algorithm>

namespace prm::partner {
namespace {

// Highest level at which `competency_id` counts at `now`; 0 when it does not.
int CountingLevel(const std::vector<Competency>* comps, const std::string& competency_id,
                  absl::Time now) {
  int level = 0;
  if (comps == nullptr) return level;
  for (const Competency& c : *comps) {
    if (c.competency_id == competency_id && CountsAt(c, now)) {
      level = std::max(level, std::max(c.level, 1));
    }
  }
  return level;
}

}  // namespace

TierEvaluation EvaluateTiers(const Program& program, const TierInputs& in, absl::Time now,
                             EvaluationTrigger trigger) {
  TierEvaluation eval;
  eval.evaluate_time = now;
  eval.trigger = trigger;
  int64_t active_count = 0;
  if (in.competencies != nullptr) {
    for (const Competency& c : *in.competencies) active_count += CountsAt(c, now) ? 1 : 0;
  }
  for (size_t i = 0; i < program.tiers.size(); ++i) {
    const Tier& tier = program.tiers[i];
    const TierRequirements& req = tier.requirements;
    bool all_pass = true;
    auto add = [&](RequirementResult r) {
      r.tier_id = tier.tier_id;
      all_pass = all_pass && r.passed;
      eval.results.push_back(std::move(r));
    };
    if (req.min_trailing_revenue.has_value()) {
      RequirementResult r;
      r.kind = RequirementKind::kTrailingRevenue;
      r.required_amount = req.min_trailing_revenue;
      r.actual_amount = in.trailing_revenue;
      r.passed = in.trailing_revenue.currency_code == req.min_trailing_revenue->currency_code &&
                 in.trailing_revenue.nanos >= req.min_trailing_revenue->nanos;
      add(std::move(r));
    }
    if (req.min_active_competencies > 0) {
      RequirementResult r;
      r.kind = RequirementKind::kActiveCompetencyCount;
      r.required_value = req.min_active_competencies;
      r.actual_value = active_count;
      r.passed = active_count >= req.min_active_competencies;
      add(std::move(r));
    }
    for (const CompetencyRequirement& cr : req.required_competencies) {
      RequirementResult r;
      r.kind = RequirementKind::kRequiredCompetency;
      r.competency_id = cr.competency_id;
      r.required_value = std::max(cr.min_level, 1);
      r.actual_value = CountingLevel(in.competencies, cr.competency_id, now);
      r.passed = r.actual_value >= r.required_value;
      add(std::move(r));
    }
    if (req.min_points.has_value()) {
      RequirementResult r;
      r.kind = RequirementKind::kPoints;
      r.required_value = *req.min_points;
      r.actual_value = in.points;
      r.passed = in.points >= *req.min_points;
      add(std::move(r));
    }
    if (all_pass) {
      eval.qualified_tier_id = tier.tier_id;
      eval.qualified_tier_rank = static_cast<int>(i) + 1;
    }
  }
  return eval;
}

}  // namespace prm::partner
