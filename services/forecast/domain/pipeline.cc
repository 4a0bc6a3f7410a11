#include "services/forecast/domain/pipeline.h"

#include <algorithm>

namespace prm::forecast {

StageProbabilities::StageProbabilities(const std::vector<ClosedDeal>& closed) {
  for (const ClosedDeal& deal : closed) {
    const double won = deal.won ? 1 : 0;
    for (Count* c : {&vendor_, &stages_[deal.group.stage], &groups_[deal.group]}) {
      c->won += won;
      c->closed += 1;
    }
  }
}

double StageProbabilities::Of(const DealGroup& group) const {
  const double vendor = (vendor_.won + 1) / (vendor_.closed + 2);
  auto shrink = [](const Count& c, double prior) {
    return (c.won + kShrinkage * prior) / (c.closed + kShrinkage);
  };
  auto stage = stages_.find(group.stage);
  const double p_stage = stage == stages_.end() ? vendor : shrink(stage->second, vendor);
  auto g = groups_.find(group);
  return g == groups_.end() ? p_stage : shrink(g->second, p_stage);
}

double PipelineCoverage(double won_value, double sales) {
  if (sales <= 0) return 0;
  return std::clamp(won_value / sales, 0.0, 1.0);
}

PipelineBlend BlendPipeline(const std::vector<OpenDeal>& open,
                            const StageProbabilities& probabilities,
                            const std::vector<std::pair<absl::CivilDay, absl::CivilDay>>& periods,
                            int blend_periods, double coverage) {
  PipelineBlend blend;
  blend.coverage = std::clamp(coverage, 0.0, 1.0);
  const int n = static_cast<int>(periods.size());
  blend.blend_periods = std::clamp(blend_periods, 0, n);
  blend.pipeline.assign(periods.size(), 0);
  blend.weight.assign(periods.size(), 0);
  for (int h = 1; h <= blend.blend_periods; ++h) {
    blend.weight[h - 1] =
        blend.coverage * static_cast<double>(blend_periods - h + 1) / (blend_periods + 1);
  }
  for (const OpenDeal& deal : open) {
    const double expected = deal.value * probabilities.Of(deal.group);
    ++blend.open_deal_count;
    blend.open_value += deal.value;
    blend.expected_value += expected;
    if (periods.empty() || deal.expected_close > periods.back().second) continue;
    // The first period whose last day is on or after the close date (past dates: the first).
    auto it = std::lower_bound(periods.begin(), periods.end(), deal.expected_close,
                               [](const auto& period, absl::CivilDay day) {
                                 return period.second < day;
                               });
    blend.pipeline[it - periods.begin()] += expected;
  }
  return blend;
}

void ApplyBlend(const PipelineBlend& blend, Forecast& forecast) {
  for (size_t h = 0; h < forecast.mean.size() && h < blend.weight.size(); ++h) {
    const double shift = blend.weight[h] * (blend.pipeline[h] - forecast.mean[h]);
    for (std::vector<double>* v : {&forecast.mean, &forecast.lower80, &forecast.upper80,
                                   &forecast.lower95, &forecast.upper95}) {
      if (h < v->size()) (*v)[h] += shift;
    }
  }
}

}  // namespace prm::forecast
