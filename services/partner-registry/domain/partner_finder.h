#pragma once

// FindPartners (SPEC §4.6): an index of the enrollments that can receive leads, filters per lead,
// an explainable score with its parts, and a weighted-random mode that spreads leads over
// partners in proportion to their scores, deterministically for a given seed.
//
// Country, region, vertical and competency filters are posting lists per vendor (sorted slot
// ids) intersected shortest first; type, tier, competency level/expiry and exclusions are then
// checked on compact per-candidate records. The weighted mode is Efraimidis–Spirakis sampling
// without replacement (key U^(1/w), U from the seed and the partner id), so the first draw picks
// partner i with probability w_i / Σw whatever the order of the candidates.
//
// The index holds one FinderCandidate per (vendor, partner) — a snapshot the owner refreshes with
// Upsert after every change of the partner or the enrollment, and drops with Remove. Only
// candidates the owner upserts are searched: the owner upserts ACTIVE enrollments without
// lead_opt_out and removes the rest (PartnerDirectory does).
//
// Thread-compatible: const methods may run concurrently; writes need exclusive access.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/partner-registry/domain/partner.h"
#include "services/partner-registry/domain/program.h"

namespace prm::partner {

// Limits of one FindPartners call (INVALID_ARGUMENT beyond them).
inline constexpr size_t kMaxLeadsPerBatch = 10'000;
inline constexpr int kMaxResultsPerLead = 100;
inline constexpr size_t kMaxExcludedPerLead = 1000;
inline constexpr size_t kMaxRequiredCompetenciesPerLead = 20;

// As prm.partner.v1.Lead: every filter is optional.
struct Lead {
  std::string lead_id;
  std::string country_code;
  std::string sales_region;
  std::string vertical;
  std::string product_category;
  std::vector<CompetencyRequirement> required_competencies;
  std::vector<PartnerType> types;  // any of them; empty = any
  int min_tier_rank = 0;
  std::vector<std::string> excluded_partner_ids;  // e.g. partners that declined this lead
};

struct ScoreWeights {
  double competency_fit = 0.35;
  double tier = 0.20;
  double win_rate = 0.20;
  double velocity = 0.15;
  double load = 0.10;
};

// Each part is its raw factor in [0, 1] times its weight; the score is their sum.
//   competency_fit: mean of (held level ÷ max level) over the lead's required competencies and,
//                   when the lead names a product category, the category's share of the sales
//                   mix; 0 when the lead has neither.
//   tier:           tier_rank ÷ number of tiers of the program.
//   win_rate:       the enrollment's win rate.
//   velocity:       trailing revenue ÷ the highest trailing revenue among the eligible (0 if ≤ 0).
//   load:           1 − open deals ÷ the most open deals among the eligible (1 when none open).
struct ScoreParts {
  double competency_fit = 0;
  double tier = 0;
  double win_rate = 0;
  double velocity = 0;
  double load = 0;
  double Sum() const { return competency_fit + tier + win_rate + velocity + load; }
};

enum class FindMode { kRanked, kWeightedRandom };

struct FindOptions {
  FindMode mode = FindMode::kRanked;
  ScoreWeights weights;
  int max_results = 10;  // 1..100
  // kWeightedRandom: the same seed, leads and data give the same result. Each lead of a batch
  // draws with its own seed derived from (seed, position), so a batch spreads its leads; a
  // caller repeating single-lead calls must vary the seed to spread them.
  uint64_t seed = 0;
};

struct PartnerMatch {
  std::string partner_id;
  std::string display_name;
  std::string tier_id;
  int tier_rank = 0;
  double score = 0;
  ScoreParts parts;
  // kWeightedRandom: score ÷ Σ scores of the eligible (equal shares when all are 0); else 0.
  double selection_probability = 0;
};

struct LeadMatches {
  std::string lead_id;
  std::vector<PartnerMatch> matches;  // best first, or in draw order
  int eligible_count = 0;             // partners that passed the filters
};

// What the index keeps of one enrollment and its partner.
struct FinderCandidate {
  struct HeldCompetency {
    std::string competency_id;
    int level = 1;
    int max_level = 1;
    absl::Time counts_until = absl::InfiniteFuture();  // expire + grace, or revoke time
  };
  std::string vendor_id;
  std::string partner_id;
  std::string display_name;
  std::vector<PartnerType> types;
  std::vector<std::string> country_codes;
  std::vector<std::string> sales_regions;
  std::vector<std::string> verticals;
  std::string tier_id;
  int tier_rank = 0;
  int tier_count = 0;
  std::vector<HeldCompetency> competencies;
  double win_rate = 0;
  double trailing_revenue = 0;  // in the reporting currency
  int64_t open_deal_count = 0;
  std::vector<std::pair<std::string, double>> category_shares;
};

class PartnerFinder {
 public:
  // Adds or replaces the candidate of (vendor_id, partner_id).
  void Upsert(const FinderCandidate& candidate);
  // Drops the candidate; no-op when absent.
  void Remove(std::string_view vendor_id, std::string_view partner_id);
  size_t size() const { return slot_by_key_.size(); }

  // One LeadMatches per lead, in order. INVALID_ARGUMENT (every bad field) when a limit above is
  // exceeded, a weight is negative or all are 0, max_results is outside 1..100, or a lead's
  // country code or type is invalid. Competencies count when unexpired (counts_until > now).
  absl::StatusOr<std::vector<LeadMatches>> Find(std::string_view vendor_id,
                                                const std::vector<Lead>& leads,
                                                const FindOptions& options,
                                                absl::Time now) const;

 private:
  struct Held {
    uint32_t id;
    int16_t level;
    int16_t max_level;
    absl::Time counts_until;
  };
  // The fields every scan touches, kept apart from Record for cache locality.
  struct Hot {
    bool alive = true;
    uint16_t type_mask = 0;
    int16_t tier_rank = 0;
    int16_t tier_count = 0;
    double win_rate = 0;
    double revenue = 0;
    int64_t open_deals = 0;
    uint64_t id_hash = 0;  // of partner_id; keys the weighted draw independently of layout
  };
  struct Record {
    uint32_t vendor = 0;
    std::vector<uint32_t> countries, regions, verticals;  // sorted symbol ids
    std::vector<Held> competencies;
    std::vector<std::pair<uint32_t, double>> categories;
    std::string partner_id, display_name, tier_id;
  };
  enum class Kind : uint64_t { kAll = 0, kCountry = 1, kRegion = 2, kVertical = 3, kCompetency = 4 };

  uint32_t Intern(std::string_view s);
  // 0 when unknown (no record holds it).
  uint32_t Lookup(std::string_view s) const;
  static uint64_t PostingKey(Kind kind, uint32_t vendor, uint32_t symbol);
  void AddPostings(uint32_t slot);
  void CompactIfNeeded();
  LeadMatches FindOne(uint32_t vendor, const Lead& lead, const FindOptions& options,
                      absl::Time now, uint64_t lead_seed) const;

  absl::flat_hash_map<std::string, uint32_t> symbols_;  // ids from 1
  std::vector<Record> records_;
  std::vector<Hot> hot_;  // parallel to records_
  absl::flat_hash_map<std::string, uint32_t> slot_by_key_;  // vendor + '\0' + partner
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> postings_;  // ascending slots
  size_t dead_ = 0;
};

}  // namespace prm::partner
