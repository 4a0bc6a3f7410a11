#include "services/partner-registry/domain/partner.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"
#include "services/partner-registry/domain/identity.h"

namespace prm::partner {
namespace {

// ISO 3166-1 alpha-2 officially assigned codes (249).
constexpr std::string_view kIsoCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

constexpr size_t kMaxName = 256;
constexpr size_t kMaxTaxId = 64;
constexpr size_t kMaxDomains = 20;
constexpr size_t kMaxCountries = 250;
constexpr size_t kMaxRegions = 50;
constexpr size_t kMaxVerticals = 50;
constexpr size_t kMaxLabel = 64;
constexpr size_t kMaxCarried = 100;
constexpr size_t kMaxContacts = 100;
constexpr size_t kMaxExternalIds = 100;
constexpr size_t kMaxAttributes = 64;
constexpr size_t kMaxAttributeValue = 1024;

std::string At(std::string_view field, size_t i) {
  return absl::StrCat(absl::string_view(field.data(), field.size()), "[", i, "]");
}

bool ValidAttributeKey(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

bool ValidE164(std::string_view phone) {
  if (phone.size() < 3 || phone.size() > 16 || phone[0] != '+' || phone[1] == '0') return false;
  return std::all_of(phone.begin() + 1, phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ValidEmail(std::string_view email) {
  const size_t at = email.find('@');
  return email.size() <= 320 && at != std::string_view::npos && at > 0 &&
         email.find('@', at + 1) == std::string_view::npos &&
         NormalizeWebDomain(email.substr(at + 1)).has_value();
}

void CheckLabels(const std::vector<std::string>& values, std::string_view field, size_t max_count,
                 FieldViolations& bad) {
  if (values.size() > max_count) {
    bad.Add(std::string(field), absl::StrCat("at most ", max_count, " entries"));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].empty() || CharacterCount(values[i]) > kMaxLabel) {
      bad.Add(At(field, i), absl::StrCat("must be 1..", kMaxLabel, " characters"));
    }
  }
}

}  // namespace

bool IsIsoCountryCode(std::string_view code) {
  if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
    return false;
  }
  for (size_t i = 0; i + 1 < kIsoCountries.size(); i += 3) {
    if (kIsoCountries.substr(i, 2) == code) return true;
  }
  return false;
}

void CanonicalizePartner(Partner& partner) {
  if (partner.display_name.empty()) partner.display_name = partner.legal_name;
  std::vector<std::string> domains;
  for (const std::string& d : partner.web_domains) {
    std::optional<std::string> n = NormalizeWebDomain(d);
    std::string value = n ? *n : d;
    if (std::find(domains.begin(), domains.end(), value) == domains.end()) {
      domains.push_back(std::move(value));
    }
  }
  partner.web_domains = std::move(domains);
  absl::AsciiStrToUpper(&partner.hq_country_code);
  for (std::string& c : partner.country_codes) absl::AsciiStrToUpper(&c);
}

absl::Status ValidatePartner(const Partner& p) {
  FieldViolations bad;
  if (p.legal_name.empty() || CharacterCount(p.legal_name) > kMaxName) {
    bad.Add("legal_name", "is required, 1..256 characters");
  }
  if (CharacterCount(p.display_name) > kMaxName) bad.Add("display_name", "at most 256 characters");
  if (CharacterCount(p.tax_id) > kMaxTaxId) bad.Add("tax_id", "at most 64 characters");
  if (!p.tax_id.empty() && NormalizeTaxId(p.tax_id).empty()) {
    bad.Add("tax_id", "must contain letters or digits");
  }
  if (p.web_domains.size() > kMaxDomains) bad.Add("web_domains", "at most 20 domains");
  for (size_t i = 0; i < p.web_domains.size(); ++i) {
    if (!NormalizeWebDomain(p.web_domains[i]).has_value()) {
      bad.Add(At("web_domains", i), "is not a valid domain name");
    }
  }
  if (!IsIsoCountryCode(p.hq_country_code)) {
    bad.Add("hq_country_code", "must be an ISO 3166-1 alpha-2 code");
  }
  if (CharacterCount(p.time_zone) > 64) bad.Add("time_zone", "at most 64 characters");
  if (p.types.empty() || p.types.size() > kMaxPartnerType) {
    bad.Add("types", "must list 1..9 partner types");
  }
  std::set<int> seen_types;
  for (size_t i = 0; i < p.types.size(); ++i) {
    const int t = static_cast<int>(p.types[i]);
    if (t < 1 || t > kMaxPartnerType) {
      bad.Add(At("types", i), "is not a partner type");
    } else if (!seen_types.insert(t).second) {
      bad.Add(At("types", i), "is listed twice");
    }
  }
  if (p.country_codes.size() > kMaxCountries) bad.Add("country_codes", "at most 250 entries");
  for (size_t i = 0; i < p.country_codes.size(); ++i) {
    if (!IsIsoCountryCode(p.country_codes[i])) {
      bad.Add(At("country_codes", i), "must be an ISO 3166-1 alpha-2 code");
    }
  }
  CheckLabels(p.sales_regions, "sales_regions", kMaxRegions, bad);
  CheckLabels(p.verticals, "verticals", kMaxVerticals, bad);
  if (p.carried_vendors.size() > kMaxCarried) bad.Add("carried_vendors", "at most 100 entries");
  for (size_t i = 0; i < p.carried_vendors.size(); ++i) {
    const CarriedVendor& v = p.carried_vendors[i];
    const std::string f = At("carried_vendors", i);
    if (v.name.empty() || CharacterCount(v.name) > kMaxName) {
      bad.Add(f + ".name", "1..256 characters");
    }
    if (v.product_categories.size() > 50) bad.Add(f + ".product_categories", "at most 50");
  }
  if (p.contacts.size() > kMaxContacts) bad.Add("contacts", "at most 100 entries");
  for (size_t i = 0; i < p.contacts.size(); ++i) {
    const Contact& c = p.contacts[i];
    const std::string f = At("contacts", i);
    if (c.display_name.empty() || CharacterCount(c.display_name) > kMaxName) {
      bad.Add(f + ".display_name", "is required, 1..256 characters");
    }
    if (!c.email.empty() && !ValidEmail(c.email)) bad.Add(f + ".email", "is not an e-mail address");
    if (!c.phone.empty() && !ValidE164(c.phone)) bad.Add(f + ".phone", "must be in E.164 form");
    if (CharacterCount(c.job_title) > 128) bad.Add(f + ".job_title", "at most 128 characters");
    std::set<int> seen_roles;
    for (size_t r = 0; r < c.roles.size(); ++r) {
      const int role = static_cast<int>(c.roles[r]);
      if (role < 1 || role > kMaxContactRole || !seen_roles.insert(role).second) {
        bad.Add(At(f + ".roles", r), "is not a distinct contact role");
      }
    }
    if (c.language_code.size() > 35) bad.Add(f + ".language_code", "is not a BCP 47 tag");
  }
  if (p.external_ids.size() > kMaxExternalIds) bad.Add("external_ids", "at most 100 entries");
  std::set<std::tuple<std::string, std::string, std::string>> seen_ext;
  for (size_t i = 0; i < p.external_ids.size(); ++i) {
    const ExternalId& e = p.external_ids[i];
    const std::string f = At("external_ids", i);
    if (e.vendor_id.empty()) bad.Add(f + ".vendor_id", "is required");
    if (e.erp_system_id.empty() || CharacterCount(e.erp_system_id) > 64) {
      bad.Add(f + ".erp_system_id", "is required, 1..64 characters");
    }
    if (e.account_id.empty() || CharacterCount(e.account_id) > 64) {
      bad.Add(f + ".account_id", "is required, 1..64 characters");
    }
    if (!seen_ext.emplace(e.vendor_id, e.erp_system_id, e.account_id).second) {
      bad.Add(f, "is listed twice");
    }
  }
  if (p.attributes.size() > kMaxAttributes) bad.Add("attributes", "at most 64 entries");
  for (const auto& [key, value] : p.attributes) {
    if (!ValidAttributeKey(key)) {
      bad.Add(absl::StrCat("attributes[", key.substr(0, 64), "]"),
              "key must be 1..64 characters of [a-z0-9_.-]");
    } else if (CharacterCount(value) > kMaxAttributeValue) {
      bad.Add(absl::StrCat("attributes[", key, "]"), "value at most 1024 characters");
    }
  }
  return bad.ToStatus("partner is invalid");
}

}  // namespace prm::partner
