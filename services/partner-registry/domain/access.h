#pragma once

// Access rules of partner-registry (SPEC §3.2) as pure predicates over a verified principal, for
// the adapter to call before and after the domain:
//   - service: everything;
//   - vendor staff (vendor_admin, channel_manager, concierge, erp_integration): only enrollments,
//     programs and figures of the vendors in the token, and partners enrolled at (or created by)
//     one of those vendors; never another vendor's tier, competencies, figures or external ids;
//   - partner_user: only its own partner, and its enrollments only at the vendors in the token.
// A denial is reported as NOT_FOUND, uniformly, so it never reveals whether the object exists.
// Pure functions; thread-safe.

#include <string_view>
#include <vector>

#include "common/auth/principal.h"
#include "services/partner-registry/domain/partner.h"

namespace prm::partner {

// May read the partner identity, given the vendors it is enrolled at (or was created by).
bool CanReadPartner(const auth::Principal& who, std::string_view partner_id,
                    const std::vector<std::string>& partner_vendor_ids);
// May change the partner identity: its own partner_user, or a vendor_admin / channel_manager of a
// vendor it is enrolled at, or service.
bool CanWritePartner(const auth::Principal& who, std::string_view partner_id,
                     const std::vector<std::string>& partner_vendor_ids);
// May read the enrollment (vendor, partner): tier, competencies, figures.
bool CanReadEnrollment(const auth::Principal& who, std::string_view vendor_id,
                       std::string_view partner_id);
// May run vendor-side commands on enrollments of `vendor_id` (transitions, tiers, competencies,
// programs): vendor_admin and channel_manager of that vendor, or service.
bool CanManageVendor(const auth::Principal& who, std::string_view vendor_id);
// May apply sales events of `vendor_id`: erp_integration of that vendor, or service.
bool CanIngestSales(const auth::Principal& who, std::string_view vendor_id);
// May call FindPartners for `vendor_id`: vendor staff of that vendor (not partners), or service.
bool CanFindPartners(const auth::Principal& who, std::string_view vendor_id);

// May see the partner's external ids (ERP accounts) at `vendor_id`: service, or a token covering
// that vendor.
bool CanSeeExternalIdsOf(const auth::Principal& who, std::string_view vendor_id);
// The partner as `who` may see it: external ids it may not see (above) are removed.
Partner RedactPartner(const auth::Principal& who, Partner partner);

}  // namespace prm::partner
