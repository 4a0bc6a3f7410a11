#include "services/partner-registry/domain/partner_finder.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/text/text.h"

namespace prm::partner {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// FNV-1a, then mixed: a hash that is the same on every platform and run.
uint64_t StableHash(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return SplitMix64(h);
}

// Uniform double in (0, 1) from 53 bits of `bits`.
double Uniform01(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

std::string Key(std::string_view vendor, std::string_view partner) {
  std::string key(vendor);
  key.push_back('\0');
  key.append(partner);
  return key;
}

absl::Status ValidateFind(const std::vector<Lead>& leads, const FindOptions& o) {
  FieldViolations bad;
  if (leads.empty() || leads.size() > kMaxLeadsPerBatch) {
    bad.Add("leads", absl::StrCat("must have 1..", kMaxLeadsPerBatch, " leads"));
  }
  if (o.max_results < 1 || o.max_results > kMaxResultsPerLead) {
    bad.Add("max_results", "must be 1..100");
  }
  const ScoreWeights& w = o.weights;
  if (w.competency_fit < 0 || w.tier < 0 || w.win_rate < 0 || w.velocity < 0 || w.load < 0 ||
      w.competency_fit + w.tier + w.win_rate + w.velocity + w.load <= 0) {
    bad.Add("weights", "must be >= 0 and not all 0");
  }
  for (size_t i = 0; i < leads.size() && i < kMaxLeadsPerBatch; ++i) {
    const Lead& l = leads[i];
    const std::string f = absl::StrCat("leads[", i, "]");
    if (CharacterCount(l.lead_id) > 64) bad.Add(f + ".lead_id", "at most 64 characters");
    if (!l.country_code.empty() && !IsIsoCountryCode(l.country_code)) {
      bad.Add(f + ".country_code", "must be an ISO 3166-1 alpha-2 code");
    }
    if (l.required_competencies.size() > kMaxRequiredCompetenciesPerLead) {
      bad.Add(f + ".required_competencies", "at most 20 entries");
    }
    for (size_t j = 0; j < l.types.size(); ++j) {
      const int t = static_cast<int>(l.types[j]);
      if (t < 1 || t > kMaxPartnerType) {
        bad.Add(absl::StrCat(f, ".types[", j, "]"), "is not a partner type");
      }
    }
    if (l.min_tier_rank < 0 || l.min_tier_rank > 10) bad.Add(f + ".min_tier_rank", "must be 0..10");
    if (l.excluded_partner_ids.size() > kMaxExcludedPerLead) {
      bad.Add(f + ".excluded_partner_ids", "at most 1000 entries");
    }
  }
  return bad.ToStatus("find request is invalid");
}

}  // namespace

uint32_t PartnerFinder::Intern(std::string_view s) {
  auto [it, inserted] =
      symbols_.try_emplace(std::string(s), static_cast<uint32_t>(symbols_.size() + 1));
  return it->second;
}

uint32_t PartnerFinder::Lookup(std::string_view s) const {
  auto it = symbols_.find(absl::string_view(s.data(), s.size()));
  return it == symbols_.end() ? 0 : it->second;
}

uint64_t PartnerFinder::PostingKey(Kind kind, uint32_t vendor, uint32_t symbol) {
  return (static_cast<uint64_t>(kind) << 60) | (static_cast<uint64_t>(vendor) << 30) | symbol;
}

void PartnerFinder::AddPostings(uint32_t slot) {
  const Record& r = records_[slot];
  postings_[PostingKey(Kind::kAll, r.vendor, 0)].push_back(slot);
  for (uint32_t c : r.countries) postings_[PostingKey(Kind::kCountry, r.vendor, c)].push_back(slot);
  for (uint32_t c : r.regions) postings_[PostingKey(Kind::kRegion, r.vendor, c)].push_back(slot);
  for (uint32_t c : r.verticals) postings_[PostingKey(Kind::kVertical, r.vendor, c)].push_back(slot);
  for (const Held& h : r.competencies) {
    std::vector<uint32_t>& list = postings_[PostingKey(Kind::kCompetency, r.vendor, h.id)];
    if (list.empty() || list.back() != slot) list.push_back(slot);
  }
}

void PartnerFinder::Upsert(const FinderCandidate& c) {
  Remove(c.vendor_id, c.partner_id);
  Record r;
  Hot hot;
  r.vendor = Intern(c.vendor_id);
  for (PartnerType t : c.types) hot.type_mask |= static_cast<uint16_t>(1u << static_cast<int>(t));
  hot.tier_rank = static_cast<int16_t>(c.tier_rank);
  hot.tier_count = static_cast<int16_t>(c.tier_count);
  hot.win_rate = c.win_rate;
  hot.revenue = c.trailing_revenue;
  hot.open_deals = c.open_deal_count;
  hot.id_hash = StableHash(c.partner_id);
  auto intern_all = [&](const std::vector<std::string>& in, std::vector<uint32_t>& out) {
    for (const std::string& s : in) out.push_back(Intern(s));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  };
  intern_all(c.country_codes, r.countries);
  intern_all(c.sales_regions, r.regions);
  intern_all(c.verticals, r.verticals);
  for (const auto& h : c.competencies) {
    r.competencies.push_back(Held{Intern(h.competency_id), static_cast<int16_t>(h.level),
                                  static_cast<int16_t>(std::max(h.max_level, 1)), h.counts_until});
  }
  std::sort(r.competencies.begin(), r.competencies.end(),
            [](const Held& a, const Held& b) { return a.id < b.id; });
  for (const auto& [category, share] : c.category_shares) {
    r.categories.emplace_back(Intern(category), share);
  }
  r.partner_id = c.partner_id;
  r.display_name = c.display_name;
  r.tier_id = c.tier_id;
  const auto slot = static_cast<uint32_t>(records_.size());
  records_.push_back(std::move(r));
  hot_.push_back(hot);
  slot_by_key_[Key(c.vendor_id, c.partner_id)] = slot;
  AddPostings(slot);
}

void PartnerFinder::Remove(std::string_view vendor_id, std::string_view partner_id) {
  auto it = slot_by_key_.find(Key(vendor_id, partner_id));
  if (it == slot_by_key_.end()) return;
  Record& r = records_[it->second];
  hot_[it->second].alive = false;
  r.competencies.clear();
  r.categories.clear();
  slot_by_key_.erase(it);
  ++dead_;
  CompactIfNeeded();
}

void PartnerFinder::CompactIfNeeded() {
  if (dead_ < 1024 || dead_ < records_.size() / 2) return;
  std::vector<Record> live;
  std::vector<Hot> live_hot;
  live.reserve(records_.size() - dead_);
  live_hot.reserve(records_.size() - dead_);
  for (size_t i = 0; i < records_.size(); ++i) {
    if (!hot_[i].alive) continue;
    live.push_back(std::move(records_[i]));
    live_hot.push_back(hot_[i]);
  }
  records_ = std::move(live);
  hot_ = std::move(live_hot);
  dead_ = 0;
  postings_.clear();
  slot_by_key_.clear();
  std::vector<std::string> vendor_names(symbols_.size() + 1);
  for (const auto& [name, id] : symbols_) vendor_names[id] = name;
  for (uint32_t slot = 0; slot < records_.size(); ++slot) {
    slot_by_key_[Key(vendor_names[records_[slot].vendor], records_[slot].partner_id)] = slot;
    AddPostings(slot);
  }
}

absl::StatusOr<std::vector<LeadMatches>> PartnerFinder::Find(std::string_view vendor_id,
                                                             const std::vector<Lead>& leads,
                                                             const FindOptions& options,
                                                             absl::Time now) const {
  RETURN_IF_ERROR(ValidateFind(leads, options));
  const uint32_t vendor = Lookup(vendor_id);
  std::vector<LeadMatches> out;
  out.reserve(leads.size());
  for (size_t i = 0; i < leads.size(); ++i) {
    if (vendor == 0) {
      out.push_back(LeadMatches{leads[i].lead_id, {}, 0});
      continue;
    }
    const uint64_t lead_seed = SplitMix64(options.seed ^ SplitMix64(i + 1));
    out.push_back(FindOne(vendor, leads[i], options, now, lead_seed));
  }
  return out;
}

LeadMatches PartnerFinder::FindOne(uint32_t vendor, const Lead& lead, const FindOptions& options,
                                   absl::Time now, uint64_t lead_seed) const {
  LeadMatches result;
  result.lead_id = lead.lead_id;

  // Resolve the lead's values to symbols; a value no record holds matches nobody.
  struct Req {
    uint32_t id;
    int min_level;
  };
  const uint32_t country = lead.country_code.empty() ? 0 : Lookup(lead.country_code);
  const uint32_t region = lead.sales_region.empty() ? 0 : Lookup(lead.sales_region);
  const uint32_t vertical = lead.vertical.empty() ? 0 : Lookup(lead.vertical);
  const uint32_t category = lead.product_category.empty() ? 0 : Lookup(lead.product_category);
  if ((!lead.country_code.empty() && country == 0) ||
      (!lead.sales_region.empty() && region == 0) || (!lead.vertical.empty() && vertical == 0)) {
    return result;
  }
  std::vector<Req> reqs;
  for (const CompetencyRequirement& cr : lead.required_competencies) {
    const uint32_t id = Lookup(cr.competency_id);
    if (id == 0) return result;
    reqs.push_back(Req{id, std::max(cr.min_level, 1)});
  }
  uint16_t type_mask = 0;
  for (PartnerType t : lead.types) type_mask |= static_cast<uint16_t>(1u << static_cast<int>(t));
  // Excluded ids by hash first, so that most candidates are rejected without their record.
  absl::flat_hash_set<uint64_t> excluded;
  for (const std::string& id : lead.excluded_partner_ids) excluded.insert(StableHash(id));
  auto is_excluded = [&](uint32_t slot) {
    if (!excluded.contains(hot_[slot].id_hash)) return false;
    const std::string& id = records_[slot].partner_id;
    return std::find(lead.excluded_partner_ids.begin(), lead.excluded_partner_ids.end(), id) !=
           lead.excluded_partner_ids.end();
  };

  // Intersect the posting lists of the set filters, shortest first, before touching records.
  static const std::vector<uint32_t> kEmpty;
  std::vector<const std::vector<uint32_t>*> lists;
  auto list_of = [&](Kind kind, uint32_t symbol) {
    auto it = postings_.find(PostingKey(kind, vendor, symbol));
    lists.push_back(it == postings_.end() ? &kEmpty : &it->second);
  };
  if (country != 0) list_of(Kind::kCountry, country);
  if (region != 0) list_of(Kind::kRegion, region);
  if (vertical != 0) list_of(Kind::kVertical, vertical);
  for (const Req& r : reqs) list_of(Kind::kCompetency, r.id);
  if (lists.empty()) list_of(Kind::kAll, 0);
  std::sort(lists.begin(), lists.end(),
            [](const auto* a, const auto* b) { return a->size() < b->size(); });
  std::vector<uint32_t> slots;
  slots.reserve(lists[0]->size());
  for (uint32_t slot : *lists[0]) {
    if (hot_[slot].alive) slots.push_back(slot);
  }
  for (size_t l = 1; l < lists.size() && !slots.empty(); ++l) {
    const std::vector<uint32_t>& other = *lists[l];
    auto from = other.begin();
    size_t kept = 0;
    for (uint32_t slot : slots) {
      from = std::lower_bound(from, other.end(), slot);
      if (from == other.end()) break;
      if (*from == slot) slots[kept++] = slot;
    }
    slots.resize(kept);
  }

  struct Eligible {
    uint32_t slot;
    double fit;  // raw competency fit in [0, 1]
  };
  std::vector<Eligible> eligible;
  eligible.reserve(slots.size());
  double max_revenue = 0;
  int64_t max_open = 0;
  for (uint32_t slot : slots) {
    const Hot& h = hot_[slot];
    if (type_mask != 0 && (h.type_mask & type_mask) == 0) continue;
    if (h.tier_rank < lead.min_tier_rank) continue;
    double fit = 0;
    int fit_parts = 0;
    if (!reqs.empty() || category != 0) {
      const Record& r = records_[slot];
      double level_sum = 0;
      bool ok = true;
      for (const Req& q : reqs) {
        int best = 0, max_level = 1;
        for (const Held& held : r.competencies) {
          if (held.id == q.id && held.counts_until > now && held.level > best) {
            best = held.level;
            max_level = held.max_level;
          }
        }
        if (best < q.min_level) {
          ok = false;
          break;
        }
        level_sum += std::min(1.0, static_cast<double>(best) / max_level);
      }
      if (!ok) continue;
      if (!reqs.empty()) {
        fit += level_sum / static_cast<double>(reqs.size());
        ++fit_parts;
      }
      if (category != 0) {
        for (const auto& [cat, share] : r.categories) {
          if (cat == category) fit += std::clamp(share, 0.0, 1.0);
        }
      }
    }
    if (!lead.product_category.empty()) ++fit_parts;
    if (!excluded.empty() && is_excluded(slot)) continue;
    eligible.push_back(Eligible{slot, fit_parts > 0 ? fit / fit_parts : 0.0});
    max_revenue = std::max(max_revenue, h.revenue);
    max_open = std::max(max_open, h.open_deals);
  }
  result.eligible_count = static_cast<int>(eligible.size());
  if (eligible.empty()) return result;

  const ScoreWeights& w = options.weights;
  auto score_of = [&](const Eligible& e) {
    const Hot& h = hot_[e.slot];
    ScoreParts p;
    p.competency_fit = w.competency_fit * e.fit;
    p.tier = h.tier_count > 0 ? w.tier * static_cast<double>(h.tier_rank) / h.tier_count : 0;
    p.win_rate = w.win_rate * std::clamp(h.win_rate, 0.0, 1.0);
    p.velocity = max_revenue > 0 ? w.velocity * std::max(h.revenue, 0.0) / max_revenue : 0;
    p.load = w.load * (max_open > 0 ? 1.0 - static_cast<double>(h.open_deals) / max_open : 1.0);
    return p;
  };
  auto make_match = [&](const Eligible& e, const ScoreParts& parts, double probability) {
    const Record& r = records_[e.slot];
    return PartnerMatch{r.partner_id, r.display_name, r.tier_id, hot_[e.slot].tier_rank,
                        parts.Sum(), parts, probability};
  };
  const size_t k = std::min<size_t>(static_cast<size_t>(options.max_results), eligible.size());
  const bool weighted = options.mode == FindMode::kWeightedRandom;

  // Ranked: key = score, highest first. Weighted random: Efraimidis–Spirakis sampling without
  // replacement — key = U^(1/w) with U uniform from (seed, partner id), highest first; the first
  // pick is partner i with probability w_i / Σw, independently of the order of the candidates.
  std::vector<double> scores(eligible.size());
  double total = 0;
  for (size_t i = 0; i < eligible.size(); ++i) total += (scores[i] = score_of(eligible[i]).Sum());
  const bool all_zero = total <= 0;
  struct Keyed {
    double key;
    uint32_t index;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(eligible.size());
  for (uint32_t i = 0; i < eligible.size(); ++i) {
    double key = scores[i];
    if (weighted) {
      const double weight = all_zero ? 1.0 : scores[i];
      if (weight <= 0) continue;  // a zero weight is never drawn
      const double u = Uniform01(SplitMix64(lead_seed ^ hot_[eligible[i].slot].id_hash));
      key = std::log(u) / weight;  // log(U^(1/w)): monotone in U^(1/w)
    }
    keyed.push_back(Keyed{key, i});
  }
  auto better = [&](const Keyed& a, const Keyed& b) {
    if (a.key != b.key) return a.key > b.key;
    return records_[eligible[a.index].slot].partner_id <
           records_[eligible[b.index].slot].partner_id;
  };
  const size_t take = std::min(k, keyed.size());
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<ptrdiff_t>(take), keyed.end(),
                    better);
  for (size_t i = 0; i < take; ++i) {
    const Eligible& e = eligible[keyed[i].index];
    const double probability =
        !weighted ? 0.0
                  : all_zero ? 1.0 / static_cast<double>(eligible.size())
                             : scores[keyed[i].index] / total;
    result.matches.push_back(make_match(e, score_of(e), probability));
  }
  return result;
}

}  // namespace prm::partner
