#include "common/auth/jwt.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status_macros.h"
#include "common/json/bounded_json.h"
#include "nlohmann/json.hpp"

namespace prm::auth {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kHs256 = "HS256";
constexpr std::string_view kRs256 = "RS256";
// JSON nesting accepted in a token's header (the claims are parsed only once signed).
constexpr int kMaxJsonDepth = 16;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

// Strings libjwt returns are malloc'ed (jansson's default allocator) and freed with free().
struct FreeDeleter {
  void operator()(char* s) const { std::free(s); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

// Debian's Abseil keeps its own string_view type (ABSL_OPTION_USE_STD_STRING_VIEW 0).
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Unauthenticated(absl::string_view reason) {
  return absl::UnauthenticatedError(absl::StrCat("bearer token rejected: ", reason));
}

jwt_alg_t LibjwtAlgorithm(std::string_view algorithm) {
  return algorithm == kRs256 ? JWT_ALG_RS256 : JWT_ALG_HS256;
}

// Never prompts for a passphrase: an encrypted PEM simply fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

absl::Status CheckRsaKey(const std::string& pem, bool is_private, absl::string_view field) {
  if (pem.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("out of memory reading the RSA key");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                 : PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a PEM ",
                     is_private ? "PKCS#8 private key (unencrypted)" : "SubjectPublicKeyInfo key"));
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not an RSA key"));
  }
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaKeyBits) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": RSA key shorter than ", kMinRsaKeyBits, " bits"));
  }
  return absl::OkStatus();
}

// Checks the options and drops the key material the role (verify or mint) does not need.
absl::Status CheckOptions(JwtOptions& options, bool minting) {
  if (options.algorithm != kHs256 && options.algorithm != kRs256) {
    return absl::InvalidArgumentError("jwt algorithm: must be HS256 or RS256");
  }
  if (options.issuer.empty()) return absl::InvalidArgumentError("jwt issuer: is required");
  if (options.audience.empty()) return absl::InvalidArgumentError("jwt audience: is required");
  if (options.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("jwt leeway: must not be negative");
  }
  if (options.algorithm == kHs256) {
    if (options.hs256_secret.size() < kMinHs256SecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "jwt HS256 secret: must be at least ", kMinHs256SecretBytes, " bytes"));
    }
    options.rs256_public_key_pem.clear();
    options.rs256_private_key_pem.clear();
    return absl::OkStatus();
  }
  options.hs256_secret.clear();
  if (minting) {
    options.rs256_public_key_pem.clear();
    return CheckRsaKey(options.rs256_private_key_pem, true, "jwt RS256 private key");
  }
  options.rs256_private_key_pem.clear();
  return CheckRsaKey(options.rs256_public_key_pem, false, "jwt RS256 public key");
}

const std::string& KeyOf(const JwtOptions& options, bool minting) {
  if (options.algorithm == kHs256) return options.hs256_secret;
  return minting ? options.rs256_private_key_pem : options.rs256_public_key_pem;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::optional<Json> ParseBoundedJson(std::string_view text) {
  return json::ParseBounded(text, kMaxJsonDepth);
}

// A NumericDate (RFC 7519 §2): seconds since the epoch, integer or not.
std::optional<absl::Time> NumericDate(const Json& value) {
  if (value.is_number_unsigned()) {
    uint64_t s = value.get<uint64_t>();
    return absl::FromUnixSeconds(static_cast<int64_t>(std::min<uint64_t>(s, INT64_MAX)));
  }
  if (value.is_number_integer()) return absl::FromUnixSeconds(value.get<int64_t>());
  if (value.is_number_float()) {
    double s = value.get<double>();
    if (!std::isfinite(s)) return std::nullopt;
    return absl::UnixEpoch() + absl::Seconds(std::clamp(s, -1e15, 1e15));
  }
  return std::nullopt;
}

// An optional string claim: absent or null → "", string → its value, anything else → nullopt.
std::optional<std::string> OptionalString(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return std::string();
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool AudienceMatches(const Json& claims, const std::string& audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const Json& v) {
    return v.is_string() && v.get_ref<const std::string&>() == audience;
  });
}

}  // namespace

absl::StatusOr<std::string> ReadHs256SecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream content;
  content << in.rdbuf();
  std::string secret = content.str();
  while (!secret.empty() && absl::ascii_isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  return secret;
}

struct TokenVerifier::Verified {
  Principal principal;
  absl::Time expires;
  absl::Time not_before = absl::InfinitePast();  // no nbf claim
};

class TokenVerifier::Cache {
 public:
  std::optional<Verified> Find(std::string_view token) const {
    absl::ReaderMutexLock lock(&mu_);
    auto it = verified_.find(Sv(token));
    if (it == verified_.end()) return std::nullopt;
    return it->second;
  }

  void Add(std::string_view token, const Verified& verified) {
    absl::MutexLock lock(&mu_);
    if (verified_.size() >= kMaxCachedTokens) verified_.clear();
    verified_.try_emplace(std::string(token), verified);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Verified> verified_ ABSL_GUARDED_BY(mu_);
};

TokenVerifier::TokenVerifier(JwtOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(&clock), cache_(std::make_shared<Cache>()) {}

absl::StatusOr<TokenVerifier> TokenVerifier::Create(JwtOptions options, const Clock& clock) {
  RETURN_IF_ERROR(CheckOptions(options, /*minting=*/false));
  return TokenVerifier(std::move(options), clock);
}

absl::Status TokenVerifier::CheckTimes(const Verified& verified, absl::Time now) const {
  if (!(verified.expires > now - options_.leeway)) return Unauthenticated("token expired");
  if (verified.not_before > now + options_.leeway) return Unauthenticated("token not yet valid");
  return absl::OkStatus();
}

absl::StatusOr<Principal> TokenVerifier::Verify(std::string_view token) const {
  const absl::Time now = clock_->Now();
  if (std::optional<Verified> known = cache_->Find(token)) {
    RETURN_IF_ERROR(CheckTimes(*known, now));
    return std::move(known->principal);
  }
  ASSIGN_OR_RETURN(Verified verified, VerifyUncached(token, now));
  cache_->Add(token, verified);
  return std::move(verified.principal);
}

absl::StatusOr<TokenVerifier::Verified> TokenVerifier::VerifyUncached(std::string_view token,
                                                                      absl::Time now) const {
  if (token.empty()) return Unauthenticated("missing token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too long");

  // Compact JWS: three base64url parts separated by dots.
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("malformed token");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() ||
      !std::all_of(token.begin(), token.end(),
                   [](char c) { return c == '.' || IsBase64UrlChar(c); })) {
    return Unauthenticated("malformed token");
  }

  // The algorithm allow-list, enforced before libjwt sees the token.
  std::string header_text;
  if (!absl::WebSafeBase64Unescape(Sv(header_b64), &header_text)) {
    return Unauthenticated("malformed token header");
  }
  std::optional<Json> header = ParseBoundedJson(header_text);
  if (!header || !header->is_object()) return Unauthenticated("malformed token header");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != options_.algorithm) {
    return Unauthenticated("signing algorithm not accepted");
  }
  if (header->contains("crit")) return Unauthenticated("unsupported critical header");
  if (signature_b64.empty()) return Unauthenticated("missing signature");

  // Signature (libjwt); it also parses the claims.
  const std::string token_z(token);
  const std::string& key = KeyOf(options_, /*minting=*/false);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token_z.c_str(),
                            reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || jwt == nullptr) {
    ERR_clear_error();  // libjwt leaves OpenSSL's per-thread error queue dirty
    return Unauthenticated("invalid signature");
  }
  if (jwt_get_alg(jwt.get()) != LibjwtAlgorithm(options_.algorithm)) {
    return Unauthenticated("signing algorithm not accepted");
  }
  CString claims_text(jwt_get_grants_json(jwt.get(), nullptr));
  if (claims_text == nullptr) return Unauthenticated("malformed claims");
  Json claims = Json::parse(claims_text.get(), nullptr, /*allow_exceptions=*/false);
  if (claims.is_discarded() || !claims.is_object()) return Unauthenticated("malformed claims");

  // Registered claims, against the injected clock.
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != options_.issuer) {
    return Unauthenticated("wrong issuer");
  }
  if (!AudienceMatches(claims, options_.audience)) return Unauthenticated("wrong audience");
  Verified verified;
  auto exp = claims.find("exp");
  if (exp == claims.end() || exp->is_null()) return Unauthenticated("missing exp");
  std::optional<absl::Time> expires = NumericDate(*exp);
  if (!expires) return Unauthenticated("malformed exp");
  verified.expires = *expires;
  auto nbf = claims.find("nbf");
  if (nbf != claims.end() && !nbf->is_null()) {
    std::optional<absl::Time> not_before = NumericDate(*nbf);
    if (!not_before) return Unauthenticated("malformed nbf");
    verified.not_before = *not_before;
  }
  RETURN_IF_ERROR(CheckTimes(verified, now));

  // PRM claims.
  Principal& principal = verified.principal;
  std::optional<std::string> sub = OptionalString(claims, "sub");
  if (!sub || sub->empty()) return Unauthenticated("missing sub");
  principal.subject = *std::move(sub);
  auto role = claims.find("prm_role");
  if (role == claims.end() || !role->is_string()) return Unauthenticated("missing prm_role");
  std::optional<Role> parsed_role = RoleFromName(role->get_ref<const std::string&>());
  if (!parsed_role) return Unauthenticated("unknown prm_role");
  principal.role = *parsed_role;
  auto vendors = claims.find("prm_vendors");
  if (vendors != claims.end() && !vendors->is_null()) {
    if (!vendors->is_array() || vendors->size() > kMaxScopeVendors) {
      return Unauthenticated("malformed prm_vendors");
    }
    for (const Json& v : *vendors) {
      if (!v.is_string()) return Unauthenticated("malformed prm_vendors");
      principal.vendor_ids.push_back(v.get<std::string>());
    }
  }
  std::optional<std::string> partner = OptionalString(claims, "prm_partner");
  if (!partner) return Unauthenticated("malformed prm_partner");
  principal.partner_id = *std::move(partner);
  std::optional<std::string> worker = OptionalString(claims, "prm_worker");
  if (!worker) return Unauthenticated("malformed prm_worker");
  principal.worker_id = *std::move(worker);
  if (absl::Status scope = ValidateScope(principal); !scope.ok()) {
    return Unauthenticated(scope.message());
  }
  return verified;
}

absl::StatusOr<Principal> TokenVerifier::VerifyAuthorizationHeader(
    std::string_view header_value) const {
  if (header_value.empty()) return Unauthenticated("missing authorization header");
  constexpr std::string_view kScheme = "Bearer";
  if (header_value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(Sv(header_value.substr(0, kScheme.size())), Sv(kScheme)) ||
      header_value[kScheme.size()] != ' ') {
    return Unauthenticated("authorization header is not a Bearer token");
  }
  std::string_view token = header_value.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return Verify(token);
}

absl::StatusOr<TokenMinter> TokenMinter::Create(JwtOptions options, const Clock& clock) {
  RETURN_IF_ERROR(CheckOptions(options, /*minting=*/true));
  return TokenMinter(std::move(options), clock);
}

absl::StatusOr<std::string> TokenMinter::Mint(const Principal& principal,
                                              absl::Duration ttl) const {
  RETURN_IF_ERROR(ValidateScope(principal));
  if (ttl < absl::Seconds(1)) return absl::InvalidArgumentError("token ttl: must be at least 1s");

  const absl::Time now = clock_->Now();
  const int64_t issued = absl::ToUnixSeconds(now);
  Json claims = {
      {"iss", options_.issuer},
      {"aud", options_.audience},
      {"sub", principal.subject},
      {"iat", issued},
      {"nbf", issued},
      {"exp", absl::ToUnixSeconds(now + ttl)},
      {"prm_role", std::string(RoleName(principal.role))},
  };
  if (!principal.vendor_ids.empty()) claims["prm_vendors"] = principal.vendor_ids;
  if (!principal.partner_id.empty()) claims["prm_partner"] = principal.partner_id;
  if (!principal.worker_id.empty()) claims["prm_worker"] = principal.worker_id;
  std::string claims_text;
  try {
    claims_text = claims.dump();
  } catch (const Json::exception&) {  // invalid UTF-8 in an id
    return absl::InvalidArgumentError("token claims: ids must be valid UTF-8");
  }

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || raw == nullptr) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  if (jwt_add_grants_json(jwt.get(), claims_text.c_str()) != 0) {
    return absl::InternalError("jwt: adding claims failed");
  }
  const std::string& key = KeyOf(options_, /*minting=*/true);
  if (jwt_set_alg(jwt.get(), LibjwtAlgorithm(options_.algorithm),
                  reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return absl::InternalError("jwt: setting the signing key failed");
  }
  CString token(jwt_encode_str(jwt.get()));
  ERR_clear_error();
  if (token == nullptr) return absl::InternalError("jwt: signing failed");
  return std::string(token.get());
}

}  // namespace prm::auth
