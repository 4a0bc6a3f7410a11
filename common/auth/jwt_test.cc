#include "common/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace prm::auth {
namespace {

using ::prm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr absl::StatusCode kUnauthenticated = absl::StatusCode::kUnauthenticated;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr char kSecret[] = "test-secret-0123456789-abcdefghijklmnop";
constexpr char kOtherSecret[] = "another-secret-0123456789-abcdefghijkl";
constexpr char kIssuer[] = "prm-test";
constexpr char kAudience[] = "prm";

// ---- test keys and hand-made tokens ----------------------------------------------------------

struct RsaKeyPair {
  std::string public_pem;
  std::string private_pem;
};

std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

RsaKeyPair GenerateRsaKeyPair(unsigned int bits) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(bits), &EVP_PKEY_free);
  if (key == nullptr) std::abort();
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
  if (PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1 ||
      PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    std::abort();
  }
  return {DrainBio(pub.get()), DrainBio(priv.get())};
}

const RsaKeyPair& TestKeys() {
  static const RsaKeyPair* keys = new RsaKeyPair(GenerateRsaKeyPair(2048));
  return *keys;
}

const RsaKeyPair& OtherKeys() {
  static const RsaKeyPair* keys = new RsaKeyPair(GenerateRsaKeyPair(2048));
  return *keys;
}

std::string B64Url(std::string_view bytes) {
  return absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()));
}

// A compact JWS over `header` and `claims`, HMAC-SHA256-signed with `secret` whatever the
// header says: the tool for forging the tokens an attacker would send.
std::string SignHs256(const Json& header, const Json& claims, std::string_view secret) {
  std::string input = absl::StrCat(B64Url(header.dump()), ".", B64Url(claims.dump()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return absl::StrCat(input, ".", B64Url(std::string(reinterpret_cast<char*>(mac), mac_len)));
}

std::string ReplaceChar(std::string s, size_t i) {
  s[i] = s[i] == 'A' ? 'B' : 'A';
  return s;
}

std::vector<Principal> OnePrincipalPerRole() {
  return {
      {.subject = "ann", .role = Role::kVendorAdmin, .vendor_ids = {"v1", "v2"}},
      {.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}},
      {.subject = "bob", .role = Role::kPartnerUser, .vendor_ids = {"v1", "v2"},
       .partner_id = "p1"},
      {.subject = "cat", .role = Role::kConcierge, .vendor_ids = {"v2"}, .worker_id = "w7"},
      {.subject = "sap", .role = Role::kErpIntegration, .vendor_ids = {"v1"}},
      {.subject = "forecast", .role = Role::kService},
  };
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  JwtOptions Hs256Options() const {
    return {.algorithm = "HS256", .hs256_secret = kSecret, .issuer = kIssuer,
            .audience = kAudience};
  }
  JwtOptions Rs256Options(const RsaKeyPair& keys = TestKeys()) const {
    return {.algorithm = "RS256", .rs256_public_key_pem = keys.public_pem,
            .rs256_private_key_pem = keys.private_pem, .issuer = kIssuer, .audience = kAudience};
  }

  TokenVerifier Verifier(JwtOptions options) const {
    auto verifier = TokenVerifier::Create(std::move(options), clock_);
    if (!verifier.ok()) {
      ADD_FAILURE() << verifier.status();
      std::abort();
    }
    return *std::move(verifier);
  }
  TokenMinter Minter(JwtOptions options) const {
    auto minter = TokenMinter::Create(std::move(options), clock_);
    if (!minter.ok()) {
      ADD_FAILURE() << minter.status();
      std::abort();
    }
    return *std::move(minter);
  }
  std::string Mint(JwtOptions options, const Principal& principal,
                   absl::Duration ttl = absl::Hours(1)) const {
    auto token = Minter(std::move(options)).Mint(principal, ttl);
    if (!token.ok()) {
      ADD_FAILURE() << token.status();
      std::abort();
    }
    return *token;
  }

  int64_t Now() const { return absl::ToUnixSeconds(clock_.Now()); }

  // Valid claims for a channel manager of v1; tests break one thing at a time.
  Json Claims() const {
    return {{"iss", kIssuer},           {"aud", kAudience},   {"sub", "cm"},
            {"iat", Now()},             {"exp", Now() + 3600}, {"prm_role", "channel_manager"},
            {"prm_vendors", Json::array({"v1"})}};
  }
  static Json Header(std::string_view alg = "HS256") {
    return {{"alg", std::string(alg)}, {"typ", "JWT"}};
  }
  std::string SignedClaims(const Json& claims) const {
    return SignHs256(Header(), claims, kSecret);
  }
  absl::StatusOr<Principal> VerifyHs256(const std::string& token) const {
    return Verifier(Hs256Options()).Verify(token);
  }

  FakeClock clock_;
};

// ---- positive paths ---------------------------------------------------------------------------

TEST_F(TokenVerifierTest, Hs256RoundTripEveryRole) {
  TokenVerifier verifier = Verifier(Hs256Options());
  for (const Principal& principal : OnePrincipalPerRole()) {
    SCOPED_TRACE(RoleName(principal.role));
    auto verified = verifier.Verify(Mint(Hs256Options(), principal));
    ASSERT_OK(verified);
    EXPECT_EQ(*verified, principal);
  }
}

TEST_F(TokenVerifierTest, Rs256RoundTripEveryRole) {
  TokenVerifier verifier = Verifier(Rs256Options());
  for (const Principal& principal : OnePrincipalPerRole()) {
    SCOPED_TRACE(RoleName(principal.role));
    auto verified = verifier.Verify(Mint(Rs256Options(), principal));
    ASSERT_OK(verified);
    EXPECT_EQ(*verified, principal);
  }
}

TEST_F(TokenVerifierTest, HandMadeTokenIsAccepted) {
  // Guards the forging helper: the negative tests below change one thing from this.
  auto verified = VerifyHs256(SignedClaims(Claims()));
  ASSERT_OK(verified);
  EXPECT_EQ(verified->subject, "cm");
  EXPECT_EQ(verified->role, Role::kChannelManager);
  EXPECT_THAT(verified->vendor_ids, ::testing::ElementsAre("v1"));
}

TEST_F(TokenVerifierTest, AudienceMayBeAnArrayContainingOurs) {
  Json claims = Claims();
  claims["aud"] = Json::array({"crm", kAudience});
  EXPECT_OK(VerifyHs256(SignedClaims(claims)));
}

TEST_F(TokenVerifierTest, MintWritesRegisteredAndPrmClaims) {
  std::string token = Mint(Hs256Options(),
                           {.subject = "bob", .role = Role::kPartnerUser,
                            .vendor_ids = {"v1", "v2"}, .partner_id = "p1"},
                           absl::Minutes(90));
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header_text, claims_text;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header_text));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &claims_text));
  Json header = Json::parse(header_text);
  Json claims = Json::parse(claims_text);
  EXPECT_EQ(header["alg"], "HS256");
  EXPECT_EQ(claims["iss"], kIssuer);
  EXPECT_EQ(claims["aud"], kAudience);
  EXPECT_EQ(claims["sub"], "bob");
  EXPECT_EQ(claims["iat"], Now());
  EXPECT_EQ(claims["nbf"], Now());
  EXPECT_EQ(claims["exp"], Now() + 90 * 60);
  EXPECT_EQ(claims["prm_role"], "partner_user");
  EXPECT_EQ(claims["prm_vendors"], Json::array({"v1", "v2"}));
  EXPECT_EQ(claims["prm_partner"], "p1");
  EXPECT_FALSE(claims.contains("prm_worker"));
}

TEST_F(TokenVerifierTest, AuthorizationHeaderWithBearerScheme) {
  TokenVerifier verifier = Verifier(Hs256Options());
  std::string token = SignedClaims(Claims());
  EXPECT_OK(verifier.VerifyAuthorizationHeader("Bearer " + token));
  EXPECT_OK(verifier.VerifyAuthorizationHeader("bearer " + token));  // RFC 7235: case-insensitive
  EXPECT_OK(verifier.VerifyAuthorizationHeader("Bearer   " + token + " "));
}

// ---- algorithm allow-list ---------------------------------------------------------------------

TEST_F(TokenVerifierTest, AlgNoneIsRejected) {
  const std::string unsigned_token = absl::StrCat(B64Url(R"({"alg":"none","typ":"JWT"})"), ".",
                                                  B64Url(Claims().dump()), ".");
  EXPECT_THAT(VerifyHs256(unsigned_token),
              StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
  EXPECT_THAT(Verifier(Rs256Options()).Verify(unsigned_token),
              StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
  for (const char* alg : {"None", "NONE", "nOnE", ""}) {
    EXPECT_THAT(VerifyHs256(absl::StrCat(B64Url(Json{{"alg", alg}}.dump()), ".",
                                         B64Url(Claims().dump()), ".")),
                StatusIs(kUnauthenticated))
        << alg;
  }
  // Even with a (valid HS256) signature attached, a header saying "none" is refused.
  EXPECT_THAT(VerifyHs256(SignHs256(Json{{"alg", "none"}}, Claims(), kSecret)),
              StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
  // No alg at all.
  EXPECT_THAT(VerifyHs256(SignHs256(Json{{"typ", "JWT"}}, Claims(), kSecret)),
              StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
}

TEST_F(TokenVerifierTest, KeyConfusionHs256SignedWithRsaPublicKeyIsRejected) {
  // The attacker knows the public key and uses its PEM text as an HMAC secret.
  const std::string forged = SignHs256(Header("HS256"), Claims(), TestKeys().public_pem);
  EXPECT_THAT(Verifier(Rs256Options()).Verify(forged),
              StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
  // The forgery is otherwise perfect: a verifier naively configured with that "secret" takes it.
  JwtOptions naive = Hs256Options();
  naive.hs256_secret = TestKeys().public_pem;
  EXPECT_OK(Verifier(naive).Verify(forged));
}

TEST_F(TokenVerifierTest, Rs256TokenToHs256VerifierIsRejected) {
  const std::string token = Mint(Rs256Options(), {.subject = "cm", .role = Role::kChannelManager,
                                                  .vendor_ids = {"v1"}});
  EXPECT_THAT(VerifyHs256(token), StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")));
}

TEST_F(TokenVerifierTest, OtherHmacAlgorithmsAreRejected) {
  for (const char* alg : {"HS384", "HS512", "RS512", "ES256", "PS256", "hs256"}) {
    EXPECT_THAT(VerifyHs256(SignHs256(Header(alg), Claims(), kSecret)),
                StatusIs(kUnauthenticated, HasSubstr("algorithm not accepted")))
        << alg;
  }
}

TEST_F(TokenVerifierTest, CriticalHeaderIsRejected) {
  Json header = Header();
  header["crit"] = Json::array({"exp"});
  EXPECT_THAT(VerifyHs256(SignHs256(header, Claims(), kSecret)),
              StatusIs(kUnauthenticated, HasSubstr("critical")));
}

// ---- signature --------------------------------------------------------------------------------

TEST_F(TokenVerifierTest, FlippedSignatureCharacterIsRejected) {
  const std::string token = SignedClaims(Claims());
  const size_t sig = token.rfind('.') + 1;
  EXPECT_THAT(VerifyHs256(ReplaceChar(token, sig + 5)),
              StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
  EXPECT_THAT(VerifyHs256(ReplaceChar(token, sig)),
              StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
  // A tampered payload with the original signature.
  Json claims = Claims();
  claims["prm_vendors"] = Json::array({"v2"});
  const std::string tampered = SignedClaims(claims);
  const std::string spliced = tampered.substr(0, tampered.rfind('.')) + token.substr(sig - 1);
  EXPECT_THAT(VerifyHs256(spliced), StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
}

TEST_F(TokenVerifierTest, TokenSignedWithAnotherSecretIsRejected) {
  EXPECT_THAT(VerifyHs256(SignHs256(Header(), Claims(), kOtherSecret)),
              StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
}

TEST_F(TokenVerifierTest, Rs256BadSignaturesAreRejected) {
  const Principal cm{.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}};
  TokenVerifier verifier = Verifier(Rs256Options());
  const std::string token = Mint(Rs256Options(), cm);
  ASSERT_OK(verifier.Verify(token));
  EXPECT_THAT(verifier.Verify(ReplaceChar(token, token.rfind('.') + 10)),
              StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
  EXPECT_THAT(verifier.Verify(Mint(Rs256Options(OtherKeys()), cm)),
              StatusIs(kUnauthenticated, HasSubstr("invalid signature")));
}

TEST_F(TokenVerifierTest, MissingSignatureIsRejected) {
  const std::string token = SignedClaims(Claims());
  EXPECT_THAT(VerifyHs256(token.substr(0, token.rfind('.') + 1)),
              StatusIs(kUnauthenticated, HasSubstr("missing signature")));
}

// ---- registered claims ------------------------------------------------------------------------

TEST_F(TokenVerifierTest, WrongIssuerIsRejected) {
  Json claims = Claims();
  claims["iss"] = "someone-else";
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("issuer")));
  claims.erase("iss");
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("issuer")));
}

TEST_F(TokenVerifierTest, WrongAudienceIsRejected) {
  Json claims = Claims();
  claims["aud"] = "crm";
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
  claims["aud"] = Json::array({"crm", "erp"});
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
  claims.erase("aud");
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
}

TEST_F(TokenVerifierTest, ExpiredTokenIsRejectedOnceTheClockPassesExpPlusLeeway) {
  const Principal cm{.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}};
  TokenVerifier verifier = Verifier(Hs256Options());
  const std::string token = Mint(Hs256Options(), cm, absl::Hours(1));
  ASSERT_OK(verifier.Verify(token));
  clock_.Advance(absl::Hours(1) + absl::Seconds(29));
  EXPECT_OK(verifier.Verify(token));
  clock_.Advance(absl::Seconds(1));  // now − leeway == exp
  EXPECT_THAT(verifier.Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
  clock_.Advance(absl::Hours(24));
  EXPECT_THAT(verifier.Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, ExpLeewayBoundaryIsExact) {
  const int64_t leeway = 30;
  Json claims = Claims();
  claims["exp"] = Now() - leeway - 1;
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("expired")));
  claims["exp"] = Now() - leeway;
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("expired")));
  claims["exp"] = Now() - leeway + 1;
  EXPECT_OK(VerifyHs256(SignedClaims(claims)));
}

TEST_F(TokenVerifierTest, ZeroLeewayMeansExpMustBeInTheFuture) {
  JwtOptions options = Hs256Options();
  options.leeway = absl::ZeroDuration();
  TokenVerifier strict = Verifier(options);
  Json claims = Claims();
  claims["exp"] = Now();
  EXPECT_THAT(strict.Verify(SignedClaims(claims)), StatusIs(kUnauthenticated));
  claims["exp"] = Now() + 1;
  EXPECT_OK(strict.Verify(SignedClaims(claims)));
}

TEST_F(TokenVerifierTest, MissingOrMalformedExpIsRejected) {
  Json claims = Claims();
  claims.erase("exp");
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("exp")));
  claims["exp"] = nullptr;
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("exp")));
  claims["exp"] = std::to_string(Now() + 3600);
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("exp")));
}

TEST_F(TokenVerifierTest, FutureNbfIsRejectedBeyondLeeway) {
  Json claims = Claims();
  claims["nbf"] = Now() + 30 + 1;
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)),
              StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  claims["nbf"] = Now() + 3600;
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)),
              StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  claims["nbf"] = Now() + 30;
  EXPECT_OK(VerifyHs256(SignedClaims(claims)));
  claims["nbf"] = "soon";
  EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr("nbf")));
}

TEST_F(TokenVerifierTest, MintedTokenIsNotValidBeforeItsNbf) {
  const std::string token =
      Mint(Hs256Options(), {.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}});
  TokenVerifier verifier = Verifier(Hs256Options());
  clock_.Advance(-absl::Seconds(31));  // a verifier whose clock runs 31 s behind the minter's
  EXPECT_THAT(verifier.Verify(token), StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
}

TEST_F(TokenVerifierTest, ARememberedTokenIsCheckedAgainstTheClockEveryTime) {
  const Principal cm{.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}};
  TokenVerifier verifier = Verifier(Hs256Options());
  const std::string token = Mint(Hs256Options(), cm, absl::Minutes(10));
  ASSERT_OK(verifier.Verify(token));
  auto again = verifier.Verify(token);  // from the cache
  ASSERT_OK(again);
  EXPECT_EQ(again->subject, "cm");
  EXPECT_EQ(again->vendor_ids, std::vector<std::string>{"v1"});
  clock_.Advance(-absl::Seconds(31));  // before nbf − leeway
  EXPECT_THAT(verifier.Verify(token), StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  clock_.Advance(absl::Seconds(31) + absl::Minutes(10) + absl::Seconds(30));
  EXPECT_THAT(verifier.Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, ATokenDifferingFromARememberedOneIsVerifiedInFull) {
  const Principal cm{.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}};
  TokenVerifier verifier = Verifier(Hs256Options());
  const std::string token = Mint(Hs256Options(), cm);
  ASSERT_OK(verifier.Verify(token));
  std::string forged = token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_THAT(verifier.Verify(forged), StatusIs(kUnauthenticated));
  EXPECT_THAT(verifier.Verify(token + "A"), StatusIs(kUnauthenticated));
  EXPECT_OK(verifier.Verify(token));
}

TEST_F(TokenVerifierTest, MoreTokensThanTheCacheHoldsAreAllStillVerified) {
  TokenVerifier verifier = Verifier(Hs256Options());
  std::vector<std::string> tokens;
  for (size_t i = 0; i < kMaxCachedTokens + 10; ++i) {
    tokens.push_back(Mint(Hs256Options(), {.subject = absl::StrCat("cm", i),
                                           .role = Role::kChannelManager,
                                           .vendor_ids = {"v1"}}));
  }
  for (const std::string& token : tokens) ASSERT_OK(verifier.Verify(token));
  for (size_t i = 0; i < tokens.size(); i += 97) {
    auto principal = verifier.Verify(tokens[i]);
    ASSERT_OK(principal);
    EXPECT_EQ(principal->subject, absl::StrCat("cm", i));
  }
}

// ---- token shape and the Authorization header -------------------------------------------------

TEST_F(TokenVerifierTest, MissingOrEmptyTokenIsRejected) {
  TokenVerifier verifier = Verifier(Hs256Options());
  EXPECT_THAT(verifier.Verify(""), StatusIs(kUnauthenticated, HasSubstr("missing token")));
  EXPECT_THAT(verifier.VerifyAuthorizationHeader(""),
              StatusIs(kUnauthenticated, HasSubstr("missing authorization")));
  EXPECT_THAT(verifier.VerifyAuthorizationHeader("Bearer "),
              StatusIs(kUnauthenticated, HasSubstr("missing token")));
  EXPECT_THAT(verifier.VerifyAuthorizationHeader("Bearer    "),
              StatusIs(kUnauthenticated, HasSubstr("missing token")));
}

TEST_F(TokenVerifierTest, HeaderWithoutBearerSchemeIsRejected) {
  TokenVerifier verifier = Verifier(Hs256Options());
  const std::string token = SignedClaims(Claims());
  const std::vector<std::string> headers = {token,           "Basic " + token,   "Bearer" + token,
                                            "Bearer",        "Token " + token,   " Bearer " + token,
                                            "Bearer\t" + token};
  for (const std::string& header : headers) {
    EXPECT_THAT(verifier.VerifyAuthorizationHeader(header),
                StatusIs(kUnauthenticated, HasSubstr("not a Bearer token")))
        << header;
  }
}

TEST_F(TokenVerifierTest, GarbageIsRejected) {
  const std::string good = SignedClaims(Claims());
  const std::vector<std::string> garbage = {
      "garbage",
      "a.b",
      "a.b.c.d",
      "..",
      "...",
      ".b.c",
      "a..c",
      "!!.!!.!!",
      "a b.c d.e f",
      std::string("ab\0cd.ef.gh", 11),
      good + ".",
      good + "\n",
      " " + good,
      "eyJhbGciOiJIUzI1NiJ9.e30.e30=",                               // padding is not base64url
      absl::StrCat(B64Url("not json"), ".", B64Url("{}"), ".sig"),   // header not JSON
      absl::StrCat(B64Url("[\"HS256\"]"), ".", B64Url("{}"), ".sig"),  // header not an object
      absl::StrCat(B64Url(std::string(100, '[')), ".", B64Url("{}"), ".sig"),
      SignHs256(Header(), Json::array({1, 2}), kSecret),              // claims not an object
      std::string(kMaxTokenBytes + 1, 'a'),
  };
  for (const std::string& token : garbage) {
    EXPECT_THAT(VerifyHs256(token), StatusIs(kUnauthenticated)) << token;
  }
  // Payload that is not JSON at all, correctly signed.
  const std::string input = absl::StrCat(B64Url(Header().dump()), ".", B64Url("not json"));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), kSecret, sizeof(kSecret) - 1,
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  EXPECT_THAT(VerifyHs256(absl::StrCat(input, ".",
                                       B64Url(std::string(reinterpret_cast<char*>(mac), mac_len)))),
              StatusIs(kUnauthenticated));
}

TEST_F(TokenVerifierTest, ReasonsNeverEchoTokenClaimsOrKeys) {
  Json claims = Claims();
  claims["iss"] = "evil-issuer-value";
  const std::vector<std::string> tokens = {
      SignedClaims(claims), SignHs256(Header(), Claims(), kOtherSecret), "garbage-token-value",
      SignHs256(Header("HS256"), Claims(), TestKeys().public_pem)};
  for (const std::string& token : tokens) {
    for (const JwtOptions& options : {Hs256Options(), Rs256Options()}) {
      auto result = Verifier(options).Verify(token);
      ASSERT_THAT(result, StatusIs(kUnauthenticated));
      const std::string message(result.status().message());
      EXPECT_THAT(message, Not(HasSubstr(token)));
      EXPECT_THAT(message, Not(HasSubstr(token.substr(0, 10))));
      EXPECT_THAT(message, Not(HasSubstr("evil-issuer-value")));
      EXPECT_THAT(message, Not(HasSubstr(kSecret)));
      EXPECT_THAT(message, Not(HasSubstr("BEGIN")));
    }
  }
}

// ---- PRM claims and role scope ----------------------------------------------------------------

TEST_F(TokenVerifierTest, RoleScopeMismatchesAreRejected) {
  struct Case {
    const char* name;
    Json patch;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"channel manager of two vendors",
       {{"prm_vendors", Json::array({"v1", "v2"})}}, "exactly one vendor"},
      {"channel manager of no vendor", {{"prm_vendors", Json::array()}}, "exactly one vendor"},
      {"channel manager with a partner", {{"prm_partner", "p1"}}, "partner must be absent"},
      {"partner user without partner", {{"prm_role", "partner_user"}}, "partner is required"},
      {"partner user without vendors",
       {{"prm_role", "partner_user"}, {"prm_partner", "p1"}, {"prm_vendors", nullptr}},
       "at least one vendor"},
      {"concierge without worker", {{"prm_role", "concierge"}}, "worker is required"},
      {"concierge of two vendors",
       {{"prm_role", "concierge"}, {"prm_worker", "w1"}, {"prm_vendors", Json::array({"a", "b"})}},
       "exactly one vendor"},
      {"erp integration without vendor",
       {{"prm_role", "erp_integration"}, {"prm_vendors", Json::array()}}, "exactly one vendor"},
      {"vendor admin without vendor",
       {{"prm_role", "vendor_admin"}, {"prm_vendors", Json::array()}}, "at least one vendor"},
      {"service with a vendor", {{"prm_role", "service"}}, "vendors must be absent"},
      {"duplicate vendors",
       {{"prm_role", "vendor_admin"}, {"prm_vendors", Json::array({"v1", "v1"})}}, "unique"},
      {"empty vendor id", {{"prm_vendors", Json::array({""})}}, "must not be empty"},
      {"unknown role", {{"prm_role", "superuser"}}, "unknown prm_role"},
      {"role in capitals", {{"prm_role", "SERVICE"}}, "unknown prm_role"},
      {"missing role", {{"prm_role", nullptr}}, "missing prm_role"},
      {"role not a string", {{"prm_role", 3}}, "missing prm_role"},
      {"vendors not an array", {{"prm_vendors", "v1"}}, "malformed prm_vendors"},
      {"vendor not a string", {{"prm_vendors", Json::array({1})}}, "malformed prm_vendors"},
      {"partner not a string", {{"prm_partner", Json::array({"p1"})}}, "malformed prm_partner"},
      {"worker not a string", {{"prm_worker", 7}}, "malformed prm_worker"},
      {"missing sub", {{"sub", nullptr}}, "missing sub"},
      {"empty sub", {{"sub", ""}}, "missing sub"},
  };
  for (const Case& c : cases) {
    Json claims = Claims();
    for (const auto& [key, value] : c.patch.items()) {
      if (value.is_null()) {
        claims.erase(key);
      } else {
        claims[key] = value;
      }
    }
    EXPECT_THAT(VerifyHs256(SignedClaims(claims)), StatusIs(kUnauthenticated, HasSubstr(c.reason)))
        << c.name;
  }
}

// ---- construction -----------------------------------------------------------------------------

TEST_F(TokenVerifierTest, CreateRejectsUnusableOptions) {
  auto create = [&](JwtOptions options) { return TokenVerifier::Create(options, clock_).status(); };
  JwtOptions o = Hs256Options();
  o.algorithm = "none";
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("algorithm")));
  o.algorithm = "HS384";
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("algorithm")));
  o = Hs256Options();
  o.hs256_secret = "short";
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("at least 32 bytes")));
  o = Hs256Options();
  o.issuer.clear();
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("issuer")));
  o = Hs256Options();
  o.audience.clear();
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("audience")));
  o = Hs256Options();
  o.leeway = -absl::Seconds(1);
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("leeway")));

  o = Rs256Options();
  o.rs256_public_key_pem.clear();
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("public key: is required")));
  o.rs256_public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("public key")));
  o.rs256_public_key_pem = TestKeys().private_pem;  // a private key where the public one goes
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("public key")));
  o.rs256_public_key_pem = GenerateRsaKeyPair(1024).public_pem;
  EXPECT_THAT(create(o), StatusIs(kInvalidArgument, HasSubstr("shorter than 2048 bits")));
}

TEST_F(TokenVerifierTest, MinterCreateAndMintRejectBadInput) {
  JwtOptions o = Rs256Options();
  o.rs256_private_key_pem = TestKeys().public_pem;
  EXPECT_THAT(TokenMinter::Create(o, clock_),
              StatusIs(kInvalidArgument, HasSubstr("private key")));
  o = Hs256Options();
  o.hs256_secret = "0123456789";
  EXPECT_THAT(TokenMinter::Create(o, clock_), StatusIs(kInvalidArgument, HasSubstr("secret")));

  TokenMinter minter = Minter(Hs256Options());
  const Principal cm{.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}};
  EXPECT_THAT(minter.Mint(cm, absl::ZeroDuration()), StatusIs(kInvalidArgument, HasSubstr("ttl")));
  EXPECT_THAT(minter.Mint(cm, absl::Milliseconds(999)), StatusIs(kInvalidArgument));
  EXPECT_THAT(minter.Mint({.subject = "cm", .role = Role::kChannelManager}, absl::Hours(1)),
              StatusIs(kInvalidArgument, HasSubstr("exactly one vendor")));
  EXPECT_THAT(minter.Mint({.subject = "x", .role = Role::kChannelManager,
                           .vendor_ids = {std::string("\xff\xfe", 2)}},
                          absl::Hours(1)),
              StatusIs(kInvalidArgument, HasSubstr("UTF-8")));
}

TEST_F(TokenVerifierTest, VerifierIsUsableFromManyThreads) {
  TokenVerifier verifier = Verifier(Rs256Options());
  const std::string token =
      Mint(Rs256Options(), {.subject = "cm", .role = Role::kChannelManager, .vendor_ids = {"v1"}});
  const std::string bad = ReplaceChar(token, token.rfind('.') + 3);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!verifier.Verify(token).ok()) ++failures;
        if (verifier.Verify(bad).status().code() != kUnauthenticated) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace prm::auth
