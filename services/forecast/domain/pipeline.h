#pragma once

// The pipeline blend (SPEC §7.3): open registered deals, each valued at its amount × the win
// probability of its stage, placed in the forecast period of its expected close date and blended
// into the statistical forecast's first periods. Plain C++; deterministic.
//
// Win probability of a stage is learned from the vendor's closed deals (won versus lost or
// expired), per (stage, partner tier, partner type), each estimate shrunk towards the coarser one
// so that a small group does not swing to 0 or 1 (k = kShrinkage pseudo-deals):
//   p_vendor                 = (won + 1) / (closed + 2)                 (Laplace)
//   p_stage                  = (won_s + k · p_vendor) / (closed_s + k)
//   p_stage,tier,type        = (won_g + k · p_stage)  / (closed_g + k)
// Blend: in forecast period h = 1..B (B = the vendor's pipeline_blend_periods), the pipeline's
// weight is w_h = c · (B − h + 1) / (B + 1) — nearer periods lean on the deals, farther ones on
// the statistics — where c, the coverage, is the share of the series' recent sales that came
// through registered deals (won deal value ÷ net sales over the same window, clamped to 0..1): a
// series whose sales never come through registrations is not pulled towards its (empty)
// pipeline. mean = w_h · pipeline_h + (1 − w_h) · statistical_h; the prediction bounds move with
// the mean. An open deal whose expected close is already past counts in the first period
// (it is still expected); one after the last period counts in the summary only.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "services/forecast/domain/forecast_types.h"

namespace prm::forecast {

// The group a deal's win probability is learned in.
struct DealGroup {
  int stage = 0;  // prm.deal.v1.DealStage number
  std::string tier_id;
  int partner_type = 0;  // prm.common.v1.PartnerType number
  friend auto operator<=>(const DealGroup&, const DealGroup&) = default;
};

struct ClosedDeal {
  DealGroup group;
  bool won = false;
};

struct OpenDeal {
  DealGroup group;
  double value = 0;  // in the forecast's currency
  absl::CivilDay expected_close;
};

class StageProbabilities {
 public:
  static constexpr double kShrinkage = 5;
  explicit StageProbabilities(const std::vector<ClosedDeal>& closed);
  double Of(const DealGroup& group) const;

 private:
  struct Count {
    double won = 0;
    double closed = 0;
  };
  Count vendor_;
  std::map<int, Count> stages_;
  std::map<DealGroup, Count> groups_;
};

struct PipelineBlend {
  std::vector<double> pipeline;  // per forecast period: Σ value × p of the deals closing in it
  std::vector<double> weight;    // w_h per forecast period (0 after the first B)
  int32_t open_deal_count = 0;
  double open_value = 0;      // Σ value of the open deals
  double expected_value = 0;  // Σ value × p of the open deals
  int32_t blend_periods = 0;
  double coverage = 0;
};

// won ÷ sales clamped to 0..1 (0 when sales ≤ 0).
double PipelineCoverage(double won_value, double sales);

// The blend of `open` into a forecast over `periods` (first and last day of each future period,
// in order), with the series' coverage.
PipelineBlend BlendPipeline(const std::vector<OpenDeal>& open,
                            const StageProbabilities& probabilities,
                            const std::vector<std::pair<absl::CivilDay, absl::CivilDay>>& periods,
                            int blend_periods, double coverage);

// mean_h ← w_h · pipeline_h + (1 − w_h) · mean_h, every bound moved by the same amount.
void ApplyBlend(const PipelineBlend& blend, Forecast& forecast);

}  // namespace prm::forecast
