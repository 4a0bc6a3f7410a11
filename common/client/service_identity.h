#pragma once

// The identity one PRM service presents when it calls another: a bearer token of role
// `service` (SPEC §3.2), sent as `authorization: Bearer <token>` on every call.
//
// Where the token comes from, in this order:
//   1. `token_file` (--service-token-file) when given: a token minted elsewhere (by the
//      deployment's identity provider, or `prmctl tokens`). The file is checked on every call
//      (one stat) and re-read when its inode, size or modification time changes, so a rotated
//      Kubernetes Secret is picked up without a restart. This is the only way with RS256, where
//      a service holds just the public key and cannot mint.
//   2. otherwise, with HS256: the service mints its own short-lived token with the shared
//      secret it already verifies tokens with (role `service`, subject = the service's name,
//      lifetime `token_ttl`), and mints a fresh one when half of that lifetime has passed.
//      Nothing extra to deploy, and a leaked token is useful only for minutes.
//
// Thread-safe: BearerToken() may be called from many threads at once.

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/time/clock.h"

namespace prm::client {

struct ServiceIdentityOptions {
  std::string subject{};             // the calling service's name, e.g. "deal-registration"
  std::string token_file{};          // --service-token-file; wins over minting when given
  // Minting (used only without token_file): the deployment's JWT settings; algorithm must be
  // HS256 with a secret of at least auth::kMinHs256SecretBytes.
  std::string jwt_algorithm = "HS256";
  std::string hs256_secret{};
  std::string jwt_issuer{};
  std::string jwt_audience{};
  absl::Duration token_ttl = absl::Minutes(5);
};

class ServiceIdentity {
 public:
  // INVALID_ARGUMENT when neither source is usable (no token file and not HS256 with a good
  // secret, issuer and audience; ttl below 1 minute), or when the token file cannot be read or
  // is empty — so a misconfigured service fails at start, not at its first call. `clock` must
  // outlive the identity.
  static absl::StatusOr<std::unique_ptr<ServiceIdentity>> Create(ServiceIdentityOptions options,
                                                                 const Clock& clock);

  // The token to send now (without "Bearer "). UNAVAILABLE when a changed token file cannot
  // be read or is empty (the previous token is not reused: it is being rotated away);
  // INTERNAL if minting fails.
  absl::StatusOr<std::string> BearerToken();

 private:
  struct FileStamp {
    uint64_t inode = 0;
    int64_t size = -1;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };

  ServiceIdentity(ServiceIdentityOptions options, std::optional<auth::TokenMinter> minter,
                  const Clock& clock);
  absl::StatusOr<std::string> TokenFromFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> MintedToken() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ServiceIdentityOptions options_;
  const std::optional<auth::TokenMinter> minter_;
  const Clock& clock_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(mu_);
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace prm::client
