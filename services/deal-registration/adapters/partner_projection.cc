#include "services/deal-registration/adapters/partner_projection.h"

#include <utility>

namespace prm::deal {

std::string PartnerProjection::Key(std::string_view a, std::string_view b, std::string_view c) {
  std::string key;
  key.reserve(a.size() + b.size() + c.size() + 2);
  key.append(a).push_back('\x1f');
  key.append(b).push_back('\x1f');
  key.append(c);
  return key;
}

void PartnerProjection::ApplyPartner(const prm::partner::v1::Partner& partner) {
  PartnerView& view = partners_[partner.partner_id()];
  if (partner.version() != 0 && partner.version() < view.version) return;
  for (const std::string& key : view.account_keys) {
    auto it = accounts_.find(key);
    if (it != accounts_.end() && it->second == partner.partner_id()) accounts_.erase(it);
  }
  view.version = partner.version();
  view.types.assign(partner.types().begin(), partner.types().end());
  view.account_keys.clear();
  for (const prm::partner::v1::ExternalId& id : partner.external_ids()) {
    std::string key = Key(id.vendor_id(), id.erp_system_id(), id.account_id());
    accounts_[key] = partner.partner_id();
    view.account_keys.push_back(std::move(key));
  }
}

void PartnerProjection::ApplyEnrollment(const prm::partner::v1::Enrollment& enrollment) {
  EnrollmentView& view = enrollments_[Key(enrollment.vendor_id(), enrollment.partner_id())];
  if (enrollment.version() != 0 && enrollment.version() < view.version) return;
  view.version = enrollment.version();
  view.program_id = enrollment.program_id();
  view.state = enrollment.state();
  view.tier_rank = enrollment.tier_rank();
}

void PartnerProjection::ApplyTierChanged(const prm::partner::v1::TierChanged& changed) {
  EnrollmentView& view =
      enrollments_[Key(changed.metadata().vendor_id(), changed.partner_id())];
  const int64_t version = changed.metadata().aggregate_version();
  if (version != 0 && version < view.version) return;
  view.version = version;
  if (!changed.program_id().empty()) view.program_id = changed.program_id();
  view.tier_rank = changed.to_tier_rank();
  if (changed.to_tier_benefits().deal_protection_days() > 0) {
    view.protection_days = changed.to_tier_benefits().deal_protection_days();
  } else {
    view.protection_days.reset();
  }
}

std::optional<std::string> PartnerProjection::PartnerForAccount(
    std::string_view vendor_id, std::string_view erp_system_id,
    std::string_view account_id) const {
  auto it = accounts_.find(Key(vendor_id, erp_system_id, account_id));
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

std::optional<EnrollmentView> PartnerProjection::Enrollment(std::string_view vendor_id,
                                                            std::string_view partner_id) const {
  auto it = enrollments_.find(Key(vendor_id, partner_id));
  if (it == enrollments_.end()) return std::nullopt;
  return it->second;
}

PartnerFacts PartnerProjection::FactsFor(std::string_view vendor_id,
                                         std::string_view partner_id) const {
  PartnerFacts facts;
  if (auto e = Enrollment(vendor_id, partner_id)) {
    facts.program_id = e->program_id;
    facts.tier_rank = e->tier_rank;
    facts.protection_days = e->protection_days;
  }
  if (auto it = partners_.find(std::string(partner_id)); it != partners_.end() && !it->second.types.empty()) {
    facts.partner_type = it->second.types.front();
  }
  return facts;
}

}  // namespace prm::deal
