#include "services/partner-registry/domain/identity.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace prm::partner {
namespace {

constexpr std::array<std::string_view, 40> kLegalForms = {
    "inc",  "incorporated", "corp", "corporation", "co",   "company", "ltd", "limited",
    "llc",  "llp",          "lp",   "plc",         "gmbh", "mbh",     "ag",  "kg",
    "ohg",  "ug",           "sa",   "sas",         "sarl", "srl",     "spa", "bv",
    "nv",   "oy",           "oyj",  "ab",          "as",   "asa",     "aps", "sia",
    "uab",  "ou",           "sp",   "zoo",         "kft",  "pty",     "pte", "sro",
};

bool IsLegalForm(std::string_view word) {
  return std::find(kLegalForms.begin(), kLegalForms.end(), word) != kLegalForms.end();
}

bool ValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

std::string NormalizeTaxId(std::string_view tax_id) {
  std::string out;
  for (char c : tax_id) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::optional<std::string> NormalizeWebDomain(std::string_view input) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(
      absl::string_view(input.data(), input.size())));
  if (const size_t scheme = s.find("://"); scheme != std::string::npos) s.erase(0, scheme + 3);
  if (const size_t end = s.find_first_of("/?#"); end != std::string::npos) s.erase(end);
  if (const size_t at = s.rfind('@'); at != std::string::npos) s.erase(0, at + 1);
  if (const size_t colon = s.find(':'); colon != std::string::npos) s.erase(colon);
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (absl::StartsWith(s, "www.")) s.erase(0, 4);
  if (s.empty() || s.size() > 253) return std::nullopt;
  std::vector<absl::string_view> labels = absl::StrSplit(s, '.');
  if (labels.size() < 2) return std::nullopt;
  for (absl::string_view label : labels) {
    if (!ValidLabel(std::string_view(label.data(), label.size()))) return std::nullopt;
  }
  const absl::string_view tld = labels.back();
  if (!std::all_of(tld.begin(), tld.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
      !absl::StartsWith(tld, "xn--")) {
    return std::nullopt;
  }
  return s;
}

std::string NormalizeLegalName(std::string_view legal_name) {
  std::string cleaned;
  for (char c : legal_name) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || u >= 0x80) {
      cleaned.push_back(absl::ascii_tolower(u));
    } else if (c == '.' || c == '\'') {
      // "S.A." → "sa", "O'Neil" → "oneil"
    } else {
      cleaned.push_back(' ');
    }
  }
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(cleaned, ' ', absl::SkipEmpty())) {
    if (!IsLegalForm(std::string_view(w.data(), w.size()))) words.emplace_back(w);
  }
  return absl::StrJoin(words, " ");
}

std::string IdentityIndex::ExternalKey(const ExternalId& id) {
  return absl::StrCat(id.vendor_id.size(), ":", id.vendor_id, id.erp_system_id.size(), ":",
                      id.erp_system_id, id.account_id);
}

absl::Status IdentityIndex::CheckUnique(const Partner& partner) const {
  if (const std::string tax = NormalizeTaxId(partner.tax_id); !tax.empty()) {
    if (auto it = by_tax_id_.find(tax); it != by_tax_id_.end() && it->second != partner.partner_id) {
      return absl::AlreadyExistsError(
          absl::StrCat("partner ", it->second, " already has this tax_id"));
    }
  }
  for (const std::string& d : partner.web_domains) {
    const std::string domain = NormalizeWebDomain(d).value_or(d);
    if (auto it = by_domain_.find(domain);
        it != by_domain_.end() && it->second != partner.partner_id) {
      return absl::AlreadyExistsError(
          absl::StrCat("partner ", it->second, " already has web domain ", domain));
    }
  }
  for (const ExternalId& e : partner.external_ids) {
    if (auto it = by_external_id_.find(ExternalKey(e));
        it != by_external_id_.end() && it->second != partner.partner_id) {
      return absl::AlreadyExistsError(absl::StrCat("partner ", it->second,
                                                   " already has this external id in ",
                                                   e.erp_system_id));
    }
  }
  return absl::OkStatus();
}

std::vector<IdentityWarning> IdentityIndex::Warnings(const Partner& partner) const {
  std::vector<IdentityWarning> out;
  const std::string name = NormalizeLegalName(partner.legal_name);
  if (name.empty()) return out;
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    for (const std::string& id : it->second) {
      if (id == partner.partner_id) continue;
      out.push_back({"SIMILAR_LEGAL_NAME", id,
                     absl::StrCat("partner ", id, " has a similar legal name")});
    }
  }
  return out;
}

void IdentityIndex::Add(const Partner& partner) {
  if (const std::string tax = NormalizeTaxId(partner.tax_id); !tax.empty()) {
    by_tax_id_[tax] = partner.partner_id;
  }
  for (const std::string& d : partner.web_domains) {
    by_domain_[NormalizeWebDomain(d).value_or(d)] = partner.partner_id;
  }
  for (const ExternalId& e : partner.external_ids) {
    by_external_id_[ExternalKey(e)] = partner.partner_id;
  }
  if (const std::string name = NormalizeLegalName(partner.legal_name); !name.empty()) {
    by_name_[name].push_back(partner.partner_id);
  }
}

void IdentityIndex::Remove(const Partner& partner) {
  auto erase_if_owned = [&](auto& map, const std::string& key) {
    if (auto it = map.find(key); it != map.end() && it->second == partner.partner_id) {
      map.erase(it);
    }
  };
  erase_if_owned(by_tax_id_, NormalizeTaxId(partner.tax_id));
  for (const std::string& d : partner.web_domains) {
    erase_if_owned(by_domain_, NormalizeWebDomain(d).value_or(d));
  }
  for (const ExternalId& e : partner.external_ids) erase_if_owned(by_external_id_, ExternalKey(e));
  if (auto it = by_name_.find(NormalizeLegalName(partner.legal_name)); it != by_name_.end()) {
    auto& ids = it->second;
    ids.erase(std::remove(ids.begin(), ids.end(), partner.partner_id), ids.end());
    if (ids.empty()) by_name_.erase(it);
  }
}

std::optional<std::string> IdentityIndex::FindByTaxId(std::string_view tax_id) const {
  const std::string key = NormalizeTaxId(tax_id);
  if (auto it = by_tax_id_.find(key); !key.empty() && it != by_tax_id_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> IdentityIndex::FindByWebDomain(std::string_view domain) const {
  std::optional<std::string> normalized = NormalizeWebDomain(domain);
  if (!normalized.has_value()) return std::nullopt;
  absl::string_view d = *normalized;
  while (true) {
    if (auto it = by_domain_.find(d); it != by_domain_.end()) return it->second;
    const size_t dot = d.find('.');
    if (dot == absl::string_view::npos || d.find('.', dot + 1) == absl::string_view::npos) break;
    d.remove_prefix(dot + 1);  // keep at least two labels
  }
  return std::nullopt;
}

std::optional<std::string> IdentityIndex::FindByExternalId(const ExternalId& external_id) const {
  if (auto it = by_external_id_.find(ExternalKey(external_id)); it != by_external_id_.end()) {
    return it->second;
  }
  return std::nullopt;
}

}  // namespace prm::partner
