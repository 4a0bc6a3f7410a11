#include "common/auth/principal.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace prm::auth {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kVendorAdmin:
      return "vendor_admin";
    case Role::kChannelManager:
      return "channel_manager";
    case Role::kPartnerUser:
      return "partner_user";
    case Role::kConcierge:
      return "concierge";
    case Role::kErpIntegration:
      return "erp_integration";
    case Role::kService:
      return "service";
  }
  return "unknown";  // not reached: the switch covers every enumerator
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role role : kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

bool Principal::CoversVendor(std::string_view vendor_id) const {
  if (vendor_id.empty()) return false;
  if (role == Role::kService) return true;
  return std::find(vendor_ids.begin(), vendor_ids.end(), vendor_id) != vendor_ids.end();
}

bool Principal::IsPartner(std::string_view id) const {
  return role == Role::kPartnerUser && !id.empty() && partner_id == id;
}

bool Principal::IsWorker(std::string_view id) const {
  return role == Role::kConcierge && !id.empty() && worker_id == id;
}

namespace {

enum class Count { kNone, kExactlyOne, kOneOrMore };

struct ScopeRule {
  Count vendors;
  bool partner;  // prm_partner required (true) or forbidden (false)
  bool worker;   // prm_worker required (true) or forbidden (false)
};

ScopeRule RuleFor(Role role) {
  switch (role) {
    case Role::kVendorAdmin:
      return {Count::kOneOrMore, false, false};
    case Role::kChannelManager:
      return {Count::kExactlyOne, false, false};
    case Role::kPartnerUser:
      return {Count::kOneOrMore, true, false};
    case Role::kConcierge:
      return {Count::kExactlyOne, false, true};
    case Role::kErpIntegration:
      return {Count::kExactlyOne, false, false};
    case Role::kService:
      return {Count::kNone, false, false};
  }
  return {Count::kNone, false, false};  // not reached
}

}  // namespace

absl::Status ValidateScope(const Principal& p) {
  const std::string_view name = RoleName(p.role);
  const absl::string_view role(name.data(), name.size());  // Debian's Abseil: not std's type
  auto bad = [&](absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat("scope does not fit role ", role, ": ", rule));
  };
  if (p.subject.empty()) return bad("subject is required");
  if (p.subject.size() > kMaxScopeIdBytes) return bad("subject is too long");

  const ScopeRule rule = RuleFor(p.role);
  const size_t n = p.vendor_ids.size();
  switch (rule.vendors) {
    case Count::kNone:
      if (n != 0) return bad("vendors must be absent");
      break;
    case Count::kExactlyOne:
      if (n != 1) return bad("exactly one vendor is required");
      break;
    case Count::kOneOrMore:
      if (n == 0) return bad("at least one vendor is required");
      break;
  }
  if (n > kMaxScopeVendors) return bad(absl::StrCat("at most ", kMaxScopeVendors, " vendors"));
  absl::flat_hash_set<std::string_view> seen;
  for (const auto& id : p.vendor_ids) {
    if (id.empty()) return bad("vendor ids must not be empty");
    if (id.size() > kMaxScopeIdBytes) return bad("vendor id is too long");
    if (!seen.insert(id).second) return bad("vendor ids must be unique");
  }

  if (rule.partner && p.partner_id.empty()) return bad("partner is required");
  if (!rule.partner && !p.partner_id.empty()) return bad("partner must be absent");
  if (p.partner_id.size() > kMaxScopeIdBytes) return bad("partner id is too long");

  if (rule.worker && p.worker_id.empty()) return bad("worker is required");
  if (!rule.worker && !p.worker_id.empty()) return bad("worker must be absent");
  if (p.worker_id.size() > kMaxScopeIdBytes) return bad("worker id is too long");
  return absl::OkStatus();
}

}  // namespace prm::auth
