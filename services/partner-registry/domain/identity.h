#pragma once

// Partner identity rules (SPEC §4.1): a partner is unique by normalized tax id and by each
// normalized web domain; a similar legal name alone is only a warning. Also maps ERP accounts
// (vendor, ERP system, account) to partners.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "services/partner-registry/domain/partner.h"

namespace prm::partner {

// Upper-case letters and digits only: "lv-40003 123" → "LV40003123". Empty stays empty.
std::string NormalizeTaxId(std::string_view tax_id);

// The canonical host of a web domain or URL: scheme, user info, port, path, query, trailing dot
// and a leading "www." removed, lower case ("https://WWW.Acme.com:443/x?y" → "acme.com").
// nullopt when what remains is not a syntactically valid domain name (labels of 1..63
// characters of [a-z0-9-], not starting or ending with '-', at least two labels, total at most
// 253, alphabetic top-level label).
std::optional<std::string> NormalizeWebDomain(std::string_view domain_or_url);

// A legal name reduced for similarity: lower case, punctuation dropped, legal-form words
// (inc, ltd, llc, gmbh, sia, ag, sa, bv, oy, ab, plc, corp, co, ...) removed, whitespace
// collapsed: "ACME, Inc." and "Acme Ltd" → "acme".
std::string NormalizeLegalName(std::string_view legal_name);

// A warning returned with a successful create or update; not an error.
struct IdentityWarning {
  std::string code;                 // "SIMILAR_LEGAL_NAME"
  std::string existing_partner_id;  // the partner with the similar name
  std::string message;
  friend bool operator==(const IdentityWarning&, const IdentityWarning&) = default;
};

// Index of identity keys of the stored partners. Thread-compatible (the owner locks).
class IdentityIndex {
 public:
  // OK when `partner` (canonicalized) collides with no other partner than itself
  // (partner.partner_id). Otherwise ALREADY_EXISTS naming the existing partner id and the key:
  // same normalized tax id, a shared normalized web domain, or an external id already mapped.
  absl::Status CheckUnique(const Partner& partner) const;

  // Partners other than `partner` whose normalized legal name equals its own.
  std::vector<IdentityWarning> Warnings(const Partner& partner) const;

  // Adds the keys of `partner`. Call Remove with the old value first when replacing.
  void Add(const Partner& partner);
  void Remove(const Partner& partner);

  // The partner with this tax id (normalized); nullopt when none.
  std::optional<std::string> FindByTaxId(std::string_view tax_id) const;
  // The partner owning this web domain (normalized) or, walking up, one of its parent domains
  // ("shop.acme.com" finds the owner of "acme.com"); nullopt when none or not a valid domain.
  std::optional<std::string> FindByWebDomain(std::string_view domain) const;
  // Partner id mapped to an ERP account; nullopt when none.
  std::optional<std::string> FindByExternalId(const ExternalId& external_id) const;

 private:
  static std::string ExternalKey(const ExternalId& id);

  absl::flat_hash_map<std::string, std::string> by_tax_id_;
  absl::flat_hash_map<std::string, std::string> by_domain_;
  absl::flat_hash_map<std::string, std::vector<std::string>> by_name_;
  absl::flat_hash_map<std::string, std::string> by_external_id_;
};

}  // namespace prm::partner
