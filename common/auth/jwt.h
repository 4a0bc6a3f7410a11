#pragma once

// Bearer JWT verification and minting (SPEC §3.2).
//
// A token is a compact JWS signed with the one algorithm the deployment configures, HS256 or
// RS256. TokenVerifier reads the JOSE header itself and accepts only that algorithm before the
// signature is checked (libjwt), so `alg: none`, RS256↔HS256 substitution and the key-confusion
// attack (an HS256 token "signed" with the RSA public key as HMAC secret) never reach libjwt.
// It then checks, with the injected Clock:
//   iss  == options.issuer
//   aud  == options.audience, or an array containing it
//   exp  present, and exp > now − leeway
//   nbf  if present, nbf ≤ now + leeway
// and reads the PRM claims into a Principal:
//   sub          the subject (required)
//   prm_role     one of the role names of principal.h (required)
//   prm_vendors  array of vendor ids
//   prm_partner  partner id (partner_user)
//   prm_worker   worker id (concierge)
// whose scope must fit the role (ValidateScope in principal.h).
//
// Every rejection is UNAUTHENTICATED with a short reason that never contains the token, a claim
// value or a key. Authorization (may this principal touch vendor X?) is the caller's business:
// see Principal::CoversVendor.
//
// Both classes are safe to use from many threads at once. They keep a pointer to the Clock, which
// must outlive them, and a copy of the key material.
//
// A verified token is remembered (by its exact bytes, up to kMaxCachedTokens of them): the next
// call with the same token skips the signature and the JSON and only checks exp and nbf against
// the clock again. Callers send the same token for minutes, and the signature check was a tenth
// to a third of a small RPC's CPU. Copies of a TokenVerifier share one cache.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/time/clock.h"

namespace prm::auth {

// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
inline constexpr size_t kMinHs256SecretBytes = 32;
inline constexpr int kMinRsaKeyBits = 2048;
// Longer tokens are rejected before any parsing.
inline constexpr size_t kMaxTokenBytes = 8 * 1024;
// Verified tokens remembered; when full the cache starts again empty.
inline constexpr size_t kMaxCachedTokens = 4096;

struct JwtOptions {
  std::string algorithm{};              // "HS256" or "RS256"
  std::string hs256_secret{};           // HS256: the shared secret (≥ kMinHs256SecretBytes)
  std::string rs256_public_key_pem{};   // RS256 verification: "-----BEGIN PUBLIC KEY-----…"
  std::string rs256_private_key_pem{};  // RS256 minting: "-----BEGIN PRIVATE KEY-----…"
  std::string issuer{};                 // `iss` written and required
  std::string audience{};               // `aud` written and required
  absl::Duration leeway = absl::Seconds(30);  // clock skew allowed on exp and nbf
};

// The HS256 secret kept in `path`, as every PRM process reads it: the file's bytes without
// trailing whitespace (a newline from `echo` is not part of the secret). INVALID_ARGUMENT naming
// the path when it cannot be read.
absl::StatusOr<std::string> ReadHs256SecretFile(const std::string& path);

class TokenVerifier {
 public:
  // INVALID_ARGUMENT when the options are unusable: unknown algorithm, empty issuer or audience,
  // negative leeway, HS256 secret missing or too short, RS256 public key missing, unparsable,
  // not RSA or shorter than kMinRsaKeyBits.
  static absl::StatusOr<TokenVerifier> Create(JwtOptions options, const Clock& clock);

  // The principal of a compact JWS token; UNAUTHENTICATED for any problem.
  absl::StatusOr<Principal> Verify(std::string_view token) const;

  // Verify() for the value of an HTTP/gRPC `authorization` header: "Bearer <token>" (the scheme
  // is case-insensitive, RFC 7235). UNAUTHENTICATED when empty, another scheme, or bad token.
  absl::StatusOr<Principal> VerifyAuthorizationHeader(std::string_view header_value) const;

 private:
  struct Verified;
  class Cache;

  TokenVerifier(JwtOptions options, const Clock& clock);

  // The whole check: signature, claims, times.
  absl::StatusOr<Verified> VerifyUncached(std::string_view token, absl::Time now) const;
  // exp and nbf against `now`, with the leeway.
  absl::Status CheckTimes(const Verified& verified, absl::Time now) const;

  JwtOptions options_;
  const Clock* clock_;
  std::shared_ptr<Cache> cache_;
};

class TokenMinter {
 public:
  // INVALID_ARGUMENT when the options are unusable (as for TokenVerifier, with
  // rs256_private_key_pem in place of the public key for RS256).
  static absl::StatusOr<TokenMinter> Create(JwtOptions options, const Clock& clock);

  // A token for `principal` with iss, aud, sub, iat, nbf (= now), exp (= now + ttl) and the prm_
  // claims. INVALID_ARGUMENT when the principal's scope does not fit its role or ttl < 1s;
  // INTERNAL if libjwt fails to sign.
  absl::StatusOr<std::string> Mint(const Principal& principal, absl::Duration ttl) const;

 private:
  TokenMinter(JwtOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(&clock) {}

  JwtOptions options_;
  const Clock* clock_;
};

}  // namespace prm::auth
