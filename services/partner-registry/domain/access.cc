#include "services/partner-registry/domain/access.h"

#include <algorithm>

namespace prm::partner {

using auth::Role;

namespace {
bool CoversAny(const auth::Principal& who, const std::vector<std::string>& vendor_ids) {
  return std::any_of(vendor_ids.begin(), vendor_ids.end(),
                     [&](const std::string& v) { return who.CoversVendor(v); });
}
}  // namespace

bool CanReadPartner(const auth::Principal& who, std::string_view partner_id,
                    const std::vector<std::string>& partner_vendor_ids) {
  if (who.role == Role::kService) return true;
  if (who.role == Role::kPartnerUser) return who.IsPartner(partner_id);
  return CoversAny(who, partner_vendor_ids);
}

bool CanWritePartner(const auth::Principal& who, std::string_view partner_id,
                     const std::vector<std::string>& partner_vendor_ids) {
  switch (who.role) {
    case Role::kService: return true;
    case Role::kPartnerUser: return who.IsPartner(partner_id);
    case Role::kVendorAdmin:
    case Role::kChannelManager: return CoversAny(who, partner_vendor_ids);
    case Role::kConcierge:
    case Role::kErpIntegration: return false;
  }
  return false;
}

bool CanReadEnrollment(const auth::Principal& who, std::string_view vendor_id,
                       std::string_view partner_id) {
  if (who.role == Role::kPartnerUser) {
    return who.IsPartner(partner_id) && who.CoversVendor(vendor_id);
  }
  return who.CoversVendor(vendor_id);
}

bool CanManageVendor(const auth::Principal& who, std::string_view vendor_id) {
  return (who.role == Role::kService || who.role == Role::kVendorAdmin ||
          who.role == Role::kChannelManager) &&
         who.CoversVendor(vendor_id);
}

bool CanIngestSales(const auth::Principal& who, std::string_view vendor_id) {
  return (who.role == Role::kService || who.role == Role::kErpIntegration) &&
         who.CoversVendor(vendor_id);
}

bool CanFindPartners(const auth::Principal& who, std::string_view vendor_id) {
  return who.role != Role::kPartnerUser && who.role != Role::kErpIntegration &&
         who.CoversVendor(vendor_id);
}

bool CanSeeExternalIdsOf(const auth::Principal& who, std::string_view vendor_id) {
  return who.role == Role::kService || who.CoversVendor(vendor_id);
}

Partner RedactPartner(const auth::Principal& who, Partner partner) {
  auto& ids = partner.external_ids;
  ids.erase(std::remove_if(
                ids.begin(), ids.end(),
                [&](const ExternalId& e) { return !CanSeeExternalIdsOf(who, e.vendor_id); }),
            ids.end());
  return partner;
}

}  // namespace prm::partner
