#include "services/deal-registration/domain/customer_identity.h"

#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"
#include "services/deal-registration/domain/company_name.h"

namespace prm::deal {
namespace {

// Multi-label public suffixes (a small built-in subset of the Public Suffix List) and shared
// hosting suffixes whose subdomains belong to unrelated owners.
const absl::flat_hash_set<std::string_view>& MultiLabelSuffixes() {
  static const auto* const kSuffixes = new absl::flat_hash_set<std::string_view>{
      "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "com.au",
      "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz", "co.jp", "ne.jp",
      "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.br", "net.br", "org.br", "gov.br",
      "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg", "com.my", "co.id", "or.id",
      "co.in", "net.in", "org.in", "firm.in", "gen.in", "co.za", "org.za", "co.il", "org.il",
      "com.mx", "com.ar", "com.co", "com.pe", "com.ve", "com.uy", "com.ec", "com.tr", "com.ua",
      "com.pl", "net.pl", "org.pl", "com.ru", "com.ph", "com.vn", "co.th", "in.th", "com.pk",
      "com.bd", "com.eg", "com.sa", "com.ng", "co.ke", "com.gr", "com.cy", "com.mt", "co.at",
      "or.at", "com.es", "com.pt", "co.hu", "com.lv", "com.ee", "co.uz", "com.kz",
      // shared hosting
      "github.io", "gitlab.io", "herokuapp.com", "blogspot.com", "azurewebsites.net",
      "cloudfront.net", "appspot.com", "netlify.app", "vercel.app", "pages.dev",
      "wixsite.com", "myshopify.com", "web.app", "firebaseapp.com",
  };
  return *kSuffixes;
}

// Mailbox providers: a domain here says nothing about who the customer is.
const absl::flat_hash_set<std::string_view>& SharedDomains() {
  static const auto* const kDomains = new absl::flat_hash_set<std::string_view>{
      "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
      "yahoo.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
      "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com",
      "inbox.lv", "zoho.com",
  };
  return *kDomains;
}

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

absl::StatusOr<std::string> NormalizeWebDomain(std::string_view input) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(absl::string_view(
      input.data(), input.size())));
  if (const size_t scheme = s.find("://"); scheme != std::string::npos) s.erase(0, scheme + 3);
  if (const size_t end = s.find_first_of("/?#"); end != std::string::npos) s.erase(end);
  if (const size_t at = s.rfind('@'); at != std::string::npos) s.erase(0, at + 1);
  if (const size_t colon = s.find(':'); colon != std::string::npos) s.erase(colon);
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (absl::StartsWith(s, "www.")) s.erase(0, 4);
  if (s.empty() || CharacterCount(s) > 253) {
    return absl::InvalidArgumentError("web domain must be a host name of 1..253 characters");
  }
  size_t labels = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string::npos) dot = s.size();
    const std::string_view label(s.data() + start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return absl::InvalidArgumentError("web domain has an empty or malformed label");
    }
    for (char c : label) {
      if (!IsLabelChar(c)) {
        return absl::InvalidArgumentError(
            "web domain may contain only ASCII letters, digits, '-' and '.' (use punycode)");
      }
    }
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return absl::InvalidArgumentError("web domain needs at least two labels");
  if (MultiLabelSuffixes().contains(s)) {
    return absl::InvalidArgumentError("web domain is a public suffix, not a customer's domain");
  }
  return s;
}

std::string RegistrableDomain(std::string_view domain) {
  // Position of the start of the last two and last three labels.
  const size_t last_dot = domain.rfind('.');
  if (last_dot == std::string_view::npos || last_dot == 0) return std::string(domain);
  const size_t second_dot = domain.rfind('.', last_dot - 1);
  const std::string_view last_two =
      second_dot == std::string_view::npos ? domain : domain.substr(second_dot + 1);
  std::string_view registrable = last_two;
  if (MultiLabelSuffixes().contains(last_two)) {
    if (second_dot == std::string_view::npos) return "";
    const size_t third_dot = second_dot == 0 ? std::string_view::npos
                                             : domain.rfind('.', second_dot - 1);
    registrable = third_dot == std::string_view::npos ? domain : domain.substr(third_dot + 1);
  }
  if (SharedDomains().contains(registrable)) return "";
  return std::string(registrable);
}

absl::StatusOr<std::string> NormalizeTaxId(std::string_view tax_id,
                                           std::string_view country_code) {
  std::string s;
  s.reserve(tax_id.size());
  for (char c : tax_id) {
    if (c == ' ' || c == '.' || c == '-' || c == '/' || c == '\t') continue;
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("tax id may contain only letters, digits, spaces, '.', "
                                        "'-' and '/'");
    }
    s += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  const std::string country = absl::AsciiStrToUpper(
      absl::string_view(country_code.data(), country_code.size()));
  auto strip_prefix = [&s](std::string_view prefix) {
    if (s.size() > prefix.size() && absl::StartsWith(s, absl::string_view(prefix.data(),
                                                                          prefix.size()))) {
      s.erase(0, prefix.size());
      return true;
    }
    return false;
  };
  if (country == "GR") {
    if (!strip_prefix("EL")) strip_prefix("GR");
  } else if (country == "CH") {
    strip_prefix("CHE");
    for (std::string_view suffix : {"MWST", "TVA", "IVA"}) {
      if (s.size() > suffix.size() && absl::EndsWith(s, absl::string_view(suffix.data(),
                                                                          suffix.size()))) {
        s.erase(s.size() - suffix.size());
      }
    }
  } else if (country == "GB") {
    if (!strip_prefix("GB")) strip_prefix("XI");
  } else if (country.size() == 2) {
    // An EU-style VAT prefix is the country code followed by the national number.
    if (s.size() > 2 && s.compare(0, 2, country) == 0 &&
        absl::ascii_isdigit(static_cast<unsigned char>(s[2]))) {
      s.erase(0, 2);
    }
  }
  if (country == "NO" && s.size() > 3 && absl::EndsWith(s, "MVA")) s.erase(s.size() - 3);
  if (s.empty()) return absl::InvalidArgumentError("tax id is empty");
  if (CharacterCount(s) > 64) {
    return absl::InvalidArgumentError("tax id is longer than 64 characters");
  }
  return s;
}

absl::StatusOr<CustomerIdentity> ResolveCustomerIdentity(const EndCustomer& customer) {
  CustomerIdentity id;
  id.country_code = absl::AsciiStrToUpper(customer.country_code);
  id.name_key = NormalizeCompanyName(customer.legal_name).key;
  FieldViolations bad;
  if (!customer.web_domain.empty()) {
    absl::StatusOr<std::string> domain = NormalizeWebDomain(customer.web_domain);
    if (domain.ok()) {
      id.web_domain = *std::move(domain);
      id.registrable_domain = RegistrableDomain(id.web_domain);
    } else {
      bad.Add("end_customer.web_domain", std::string(domain.status().message()));
    }
  }
  if (!customer.tax_id.empty()) {
    absl::StatusOr<std::string> tax = NormalizeTaxId(customer.tax_id, id.country_code);
    if (tax.ok()) {
      id.tax_key = *std::move(tax);
    } else {
      bad.Add("end_customer.tax_id", std::string(tax.status().message()));
    }
  }
  if (!bad.empty()) return bad.ToStatus("end customer identity is malformed");
  return id;
}

}  // namespace prm::deal
