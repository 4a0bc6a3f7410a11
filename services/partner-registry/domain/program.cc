#include "services/partner-registry/domain/program.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"

namespace prm::partner {
namespace {

bool IdChars(std::string_view id, size_t max, bool allow_dot) {
  if (id.empty() || id.size() > max) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (allow_dot && c == '.');
  });
}

bool ValidCurrency(std::string_view code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

const Tier* Program::FindTier(std::string_view tier_id) const {
  for (const Tier& t : tiers) {
    if (t.tier_id == tier_id) return &t;
  }
  return nullptr;
}

int Program::RankOf(std::string_view tier_id) const {
  if (tier_id.empty()) return 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].tier_id == tier_id) return static_cast<int>(i) + 1;
  }
  return 0;
}

const CompetencyDefinition* Program::FindCompetency(std::string_view competency_id) const {
  for (const CompetencyDefinition& c : competencies) {
    if (c.competency_id == competency_id) return &c;
  }
  return nullptr;
}

bool Program::Accepts(const std::vector<PartnerType>& types) const {
  if (eligible_types.empty()) return true;
  return std::any_of(types.begin(), types.end(), [&](PartnerType t) {
    return std::find(eligible_types.begin(), eligible_types.end(), t) != eligible_types.end();
  });
}

absl::Status ValidateProgram(const Program& p) {
  FieldViolations bad;
  if (p.vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (p.display_name.empty() || CharacterCount(p.display_name) > 128) {
    bad.Add("display_name", "is required, 1..128 characters");
  }
  if (CharacterCount(p.description) > 4000) bad.Add("description", "at most 4000 characters");
  for (size_t i = 0; i < p.eligible_types.size(); ++i) {
    const int t = static_cast<int>(p.eligible_types[i]);
    if (t < 1 || t > kMaxPartnerType) {
      bad.Add(absl::StrCat("eligible_types[", i, "]"), "is not a partner type");
    }
  }
  if (p.competencies.size() > 200) bad.Add("competencies", "at most 200 entries");
  std::set<std::string> competency_ids;
  for (size_t i = 0; i < p.competencies.size(); ++i) {
    const CompetencyDefinition& c = p.competencies[i];
    const std::string f = absl::StrCat("competencies[", i, "]");
    if (!IdChars(c.competency_id, 64, true)) {
      bad.Add(f + ".competency_id", "must be 1..64 characters of [a-z0-9_.-]");
    } else if (!competency_ids.insert(c.competency_id).second) {
      bad.Add(f + ".competency_id", "is not unique");
    }
    if (c.display_name.empty() || CharacterCount(c.display_name) > 128) {
      bad.Add(f + ".display_name", "is required, 1..128 characters");
    }
    if (c.max_level < 1 || c.max_level > 10) bad.Add(f + ".max_level", "must be 1..10");
    if (c.default_validity < absl::Hours(24) || c.default_validity > absl::Hours(24 * 3650)) {
      bad.Add(f + ".default_validity", "must be 1..3650 days");
    }
    if (c.renewal_grace_period < absl::ZeroDuration() ||
        c.renewal_grace_period > absl::Hours(24 * 365)) {
      bad.Add(f + ".renewal_grace_period", "must be 0..365 days");
    }
  }
  if (p.tiers.empty() || p.tiers.size() > 10) bad.Add("tiers", "must have 1..10 tiers");
  std::set<std::string> tier_ids;
  for (size_t i = 0; i < p.tiers.size(); ++i) {
    const Tier& t = p.tiers[i];
    const std::string f = absl::StrCat("tiers[", i, "]");
    if (!IdChars(t.tier_id, 32, false)) {
      bad.Add(f + ".tier_id", "must be 1..32 characters of [a-z0-9_-]");
    } else if (!tier_ids.insert(t.tier_id).second) {
      bad.Add(f + ".tier_id", "is not unique");
    }
    if (t.display_name.empty() || CharacterCount(t.display_name) > 64) {
      bad.Add(f + ".display_name", "is required, 1..64 characters");
    }
    const TierRequirements& r = t.requirements;
    if (r.min_trailing_revenue.has_value() &&
        (!ValidCurrency(r.min_trailing_revenue->currency_code) ||
         r.min_trailing_revenue->nanos < 0)) {
      bad.Add(f + ".requirements.min_trailing_revenue",
              "must be non-negative with an ISO 4217 currency");
    }
    if (r.min_active_competencies < 0 || r.min_active_competencies > 200) {
      bad.Add(f + ".requirements.min_active_competencies", "must be 0..200");
    }
    if (r.required_competencies.size() > 50) {
      bad.Add(f + ".requirements.required_competencies", "at most 50 entries");
    }
    for (size_t j = 0; j < r.required_competencies.size(); ++j) {
      const CompetencyRequirement& req = r.required_competencies[j];
      const std::string rf = absl::StrCat(f, ".requirements.required_competencies[", j, "]");
      const CompetencyDefinition* def = p.FindCompetency(req.competency_id);
      if (def == nullptr) {
        bad.Add(rf + ".competency_id", "is not a competency of the program");
      } else if (req.min_level < 0 || req.min_level > def->max_level) {
        bad.Add(rf + ".min_level", "must be 0..the competency's max_level");
      }
    }
    if (r.min_points.has_value() && (*r.min_points < 0 || *r.min_points > 1'000'000'000)) {
      bad.Add(f + ".requirements.min_points", "must be 0..1000000000");
    }
    const TierBenefits& b = t.benefits;
    if (b.discount_basis_points < 0 || b.discount_basis_points > 10000) {
      bad.Add(f + ".benefits.discount_basis_points", "must be 0..10000");
    }
    if (b.deal_protection_days < 1 || b.deal_protection_days > 3650) {
      bad.Add(f + ".benefits.deal_protection_days", "must be 1..3650");
    }
    if (b.routing_priority < 0 || b.routing_priority > 1000) {
      bad.Add(f + ".benefits.routing_priority", "must be 0..1000");
    }
    if (b.first_response_sla.has_value() &&
        (*b.first_response_sla < absl::Minutes(1) || *b.first_response_sla > absl::Hours(720))) {
      bad.Add(f + ".benefits.first_response_sla", "must be 1 minute..30 days");
    }
  }
  if (p.downgrade_grace_period < absl::ZeroDuration() ||
      p.downgrade_grace_period > absl::Hours(24 * 365)) {
    bad.Add("downgrade_grace_period", "must be 0..365 days");
  }
  if (p.competency_expiry_notice < absl::Hours(24) ||
      p.competency_expiry_notice > absl::Hours(24 * 365)) {
    bad.Add("competency_expiry_notice", "must be 1..365 days");
  }
  return bad.ToStatus("program is invalid");
}

}  // namespace prm::partner
