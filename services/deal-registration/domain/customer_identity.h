#pragma once

// The end customer of a deal and the normalized identity conflict detection compares
// (SPEC §5.3): a legal-name key per country, a registrable web domain, a tax id per country.
//
// Web domains: "HTTPS://www.EU.Acme.com.:443/path" → "eu.acme.com"; its registrable domain is
// the label left of the public suffix ("acme.com"; "acme.co.uk" under the built-in multi-label
// suffixes such as co.uk, com.au, co.jp). Two domains match when their registrable domains are
// equal, so a subdomain matches its parent ("eu.acme.com" ~ "acme.com") while
// "acme.com.evil.io" (registrable "evil.io") and "other.co.uk" do not. Shared mailbox and
// hosting domains (gmail.com, github.io, ...) are never an identity.
//
// Tax ids: spaces, dots, dashes and slashes removed, upper case, and the country's VAT prefix
// removed when present ("LV 40003-032949" and "40003032949" for LV are equal; "EL" for GR,
// "CHE" for CH, trailing "MVA" for NO). Tax ids match only within one country.
//
// Thread safety: pure functions, thread-safe.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace prm::deal {

struct EndCustomer {
  std::string legal_name;
  std::string country_code;  // ISO 3166-1 alpha-2, upper case
  std::string web_domain;    // optional
  std::string tax_id;        // optional
  friend bool operator==(const EndCustomer&, const EndCustomer&) = default;
};

struct CustomerIdentity {
  std::string country_code;
  std::string name_key;            // NormalizeCompanyName(legal_name).key; may be empty
  std::string web_domain;          // normalized full domain; empty if none
  std::string registrable_domain;  // empty if none or a shared domain
  std::string tax_key;             // normalized tax id without country prefix; empty if none
};

// Host name of `input` in lower case without scheme, user info, port, path, trailing dot or a
// leading "www.". INVALID_ARGUMENT when it is not a syntactically valid ASCII host name with at
// least two labels (use punycode for IDNs), or is itself a public suffix.
absl::StatusOr<std::string> NormalizeWebDomain(std::string_view input);

// The registrable domain ("eTLD+1") of a normalized domain, or "" for a shared domain.
std::string RegistrableDomain(std::string_view normalized_domain);

// INVALID_ARGUMENT when the result would be empty, contain other than letters and digits, or
// exceed 64 characters.
absl::StatusOr<std::string> NormalizeTaxId(std::string_view tax_id, std::string_view country_code);

// Normalizes every part that is present. INVALID_ARGUMENT naming the field
// ("end_customer.web_domain", "end_customer.tax_id") when a present part is malformed; does not
// require any part (validation of required fields is ValidateForSubmission's job).
absl::StatusOr<CustomerIdentity> ResolveCustomerIdentity(const EndCustomer& customer);

}  // namespace prm::deal
