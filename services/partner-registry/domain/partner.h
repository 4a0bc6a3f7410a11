#pragma once

// The Partner aggregate (SPEC §4.1), field for field as prm.partner.v1.Partner, and its
// validation. Plain values; thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace prm::partner {

// Same numbers as prm.common.v1.PartnerType.
enum class PartnerType : int {
  kUnspecified = 0,
  kReseller = 1,
  kVar = 2,
  kDistributor = 3,
  kMsp = 4,
  kSystemIntegrator = 5,
  kReferralAgent = 6,
  kIsv = 7,
  kRetailer = 8,
  kFranchise = 9,
};
inline constexpr int kMaxPartnerType = 9;

// Same numbers as prm.partner.v1.ContactRole.
enum class ContactRole : int {
  kUnspecified = 0,
  kPrimary = 1,
  kSales = 2,
  kTechnical = 3,
  kBilling = 4,
  kMarketing = 5,
  kExecutive = 6,
};
inline constexpr int kMaxContactRole = 6;

struct CarriedVendor {
  std::string name;
  std::string vendor_id;
  std::vector<std::string> product_categories;
  friend bool operator==(const CarriedVendor&, const CarriedVendor&) = default;
};

struct Contact {
  std::string contact_id;
  std::string display_name;
  std::string email;
  std::string phone;
  std::string job_title;
  std::vector<ContactRole> roles;
  std::string language_code;
  friend bool operator==(const Contact&, const Contact&) = default;
};

// A partner's account in one ERP system of one vendor; (vendor_id, erp_system_id, account_id) is
// unique across partners.
struct ExternalId {
  std::string vendor_id;
  std::string erp_system_id;
  std::string account_id;
  friend bool operator==(const ExternalId&, const ExternalId&) = default;
};

struct Partner {
  std::string partner_id;  // server-assigned
  std::string legal_name;
  std::string display_name;
  std::string tax_id;
  std::vector<std::string> web_domains;  // stored normalized (lower case, no "www.")
  std::string hq_country_code;
  std::string time_zone;
  std::vector<PartnerType> types;
  std::vector<std::string> country_codes;
  std::vector<std::string> sales_regions;
  std::vector<std::string> verticals;
  std::vector<CarriedVendor> carried_vendors;
  std::vector<Contact> contacts;
  std::vector<ExternalId> external_ids;
  std::map<std::string, std::string> attributes;
  int64_t version = 0;
  std::string etag;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  friend bool operator==(const Partner&, const Partner&) = default;
};

// True for an assigned ISO 3166-1 alpha-2 code, upper case ("LV", "US"; not "lv", "UK").
bool IsIsoCountryCode(std::string_view code);

// OK, or INVALID_ARGUMENT listing every bad field (prm::FieldViolations) with proto field paths,
// e.g. "web_domains[1]", "contacts[0].display_name". Checks required fields, lengths and counts,
// ISO country codes, domain syntax, enum ranges, distinct types and roles, attribute keys, and
// that each external id is complete. Does not check uniqueness across partners (IdentityIndex).
// Output-only fields (partner_id, version, etag, times) are not checked.
absl::Status ValidatePartner(const Partner& partner);

// Fills defaults and canonical forms in place: display_name defaults to legal_name, web domains
// are normalized (NormalizeWebDomain; unparseable ones are kept as given so that validation
// names them) and de-duplicated, country codes are upper-cased.
void CanonicalizePartner(Partner& partner);

}  // namespace prm::partner
