// Arbitrary `authorization` header values: the verifier never crashes and never accepts one
// (forging an HS256 signature by chance is not a thing a fuzzer does).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/auth/jwt.h"
#include "common/time/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const prm::auth::TokenVerifier* verifier = [] {
    auto v = prm::auth::TokenVerifier::Create({.algorithm = "HS256",
                                               .hs256_secret = "fuzz-secret-0123456789abcdef0123456789",
                                               .issuer = "prm-dev",
                                               .audience = "prm"},
                                              prm::SystemClock::Instance());
    if (!v.ok()) std::abort();
    return new prm::auth::TokenVerifier(*std::move(v));
  }();
  std::string_view header(reinterpret_cast<const char*>(data), size);
  if (verifier->VerifyAuthorizationHeader(header).ok()) std::abort();
  return 0;
}
