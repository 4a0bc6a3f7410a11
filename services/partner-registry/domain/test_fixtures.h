#pragma once

// Tiny builders shared by the partner domain tests.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/partner-registry/domain/events.h"
#include "services/partner-registry/domain/partner.h"
#include "services/partner-registry/domain/program.h"

namespace prm::partner::testing {

inline Partner MakePartner(std::string legal_name, std::string tax_id, std::string domain) {
  Partner p;
  p.legal_name = std::move(legal_name);
  p.tax_id = std::move(tax_id);
  if (!domain.empty()) p.web_domains = {std::move(domain)};
  p.hq_country_code = "LV";
  p.types = {PartnerType::kReseller};
  p.country_codes = {"LV", "EE"};
  p.sales_regions = {"EMEA"};
  p.verticals = {"healthcare"};
  return p;
}

// registered (no requirements) < silver (EUR 100k) < gold (EUR 500k + 1 active competency
// "cloud" level ≥ 2). Grace 30 days, expiry notice 30 days; "cloud" has max level 3 and 14 days
// of renewal grace, "security" none.
inline Program MakeProgram(std::string vendor_id) {
  Program p;
  p.vendor_id = std::move(vendor_id);
  p.display_name = "Partner Program";
  CompetencyDefinition cloud{"cloud", "Cloud", 3, absl::Hours(24 * 365), absl::Hours(24 * 14)};
  CompetencyDefinition security{"security", "Security", 1, absl::Hours(24 * 365),
                                absl::ZeroDuration()};
  p.competencies = {cloud, security};
  Tier registered{"registered", "Registered", {}, {}};
  Tier silver{"silver", "Silver", {}, {}};
  silver.requirements.min_trailing_revenue = Money::FromUnits("EUR", 100'000);
  silver.benefits.discount_basis_points = 1000;
  Tier gold{"gold", "Gold", {}, {}};
  gold.requirements.min_trailing_revenue = Money::FromUnits("EUR", 500'000);
  gold.requirements.min_active_competencies = 1;
  gold.requirements.required_competencies = {{"cloud", 2}};
  gold.benefits.discount_basis_points = 2000;
  gold.benefits.deal_protection_days = 180;
  p.tiers = {registered, silver, gold};
  p.downgrade_grace_period = absl::Hours(24 * 30);
  p.competency_expiry_notice = absl::Hours(24 * 30);
  return p;
}

template <typename T>
std::vector<T> EventsOf(const std::vector<DomainEvent>& events) {
  std::vector<T> out;
  for (const DomainEvent& e : events) {
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

}  // namespace prm::partner::testing
