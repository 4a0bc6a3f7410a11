#pragma once

// Who is calling, as established by a verified bearer token, and the scope rules that every
// service applies to it (SPEC §3.2).
//
// The vendor is the tenant. A token carries one role and the scope that role needs:
//
//   role             prm_vendors        prm_partner   prm_worker   may act on
//   vendor_admin     one or more        -             -            the vendors listed
//   channel_manager  exactly one        -             -            that vendor
//   partner_user     one or more        required      -            its own partner, at the
//                                                                  vendors listed
//   concierge        exactly one        -             required     that vendor, as that worker
//   erp_integration  exactly one        -             -            that vendor (sales events)
//   service          none               -             -            every vendor (service-to-
//                                                                  service calls only)
//
// "-" means the claim must be absent: a scope that does not fit its role is rejected rather
// than partly ignored, so a mis-minted token fails loudly instead of granting the wrong thing.
// Only `service` covers every vendor; a vendor_admin covers exactly the vendors in its token.
//
// Principal is a plain value; its predicates are pure and thread-compatible.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace prm::auth {

enum class Role {
  kVendorAdmin,
  kChannelManager,
  kPartnerUser,
  kConcierge,
  kErpIntegration,
  kService,
};

inline constexpr std::array<Role, 6> kAllRoles = {
    Role::kVendorAdmin, Role::kChannelManager, Role::kPartnerUser,
    Role::kConcierge,   Role::kErpIntegration, Role::kService,
};

// "vendor_admin", "channel_manager", "partner_user", "concierge", "erp_integration", "service".
std::string_view RoleName(Role role);
// The inverse of RoleName; nullopt for any other string (matching is exact and case-sensitive).
std::optional<Role> RoleFromName(std::string_view name);

// Bounds on a principal's scope, enforced by ValidateScope (and so on every verified token).
inline constexpr size_t kMaxScopeVendors = 64;
inline constexpr size_t kMaxScopeIdBytes = 128;  // subject, vendor, partner and worker ids

struct Principal {
  // (Every member has an initializer so that designated initializers may omit any of them.)
  std::string subject{};                 // the token's `sub`: who, for audit entries
  Role role = Role::kPartnerUser;        // the least privileged role
  std::vector<std::string> vendor_ids{};
  std::string partner_id{};              // partner_user only
  std::string worker_id{};               // concierge only

  // True when the principal may act on `vendor_id`'s data: `service` for every vendor, every
  // other role for the vendors listed in its token. False for an empty id.
  bool CoversVendor(std::string_view vendor_id) const;

  // True when the principal is a partner_user of exactly `partner_id` (never for an empty id).
  // Staff roles are not "a partner": they reach partner data through CoversVendor.
  bool IsPartner(std::string_view partner_id) const;

  // True when the principal is a concierge with worker id `worker_id` (never for an empty id).
  bool IsWorker(std::string_view worker_id) const;

  friend bool operator==(const Principal&, const Principal&) = default;
};

// OK when the principal's scope fits its role as in the table above, with a non-empty subject,
// non-empty unique vendor ids and every id within kMaxScopeIdBytes; otherwise INVALID_ARGUMENT
// naming the rule broken (never echoing the ids).
absl::Status ValidateScope(const Principal& principal);

}  // namespace prm::auth
