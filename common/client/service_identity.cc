#include "common/client/service_identity.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/principal.h"

namespace prm::client {
namespace {

// The file's identity and content, or an error naming the file (never its content).
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::UnavailableError(
        absl::StrCat("service token file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty()) {
    return absl::UnavailableError(absl::StrCat("service token file ", path, " is empty"));
  }
  return token;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceIdentity>> ServiceIdentity::Create(
    ServiceIdentityOptions options, const Clock& clock) {
  if (options.subject.empty()) {
    return absl::InvalidArgumentError("service identity: the subject (service name) is empty");
  }
  std::optional<auth::TokenMinter> minter;
  if (options.token_file.empty()) {
    if (options.jwt_algorithm != "HS256") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--service-token-file: required with ", options.jwt_algorithm,
          " (a service can mint its own token only with the HS256 shared secret)"));
    }
    if (options.token_ttl < absl::Minutes(1)) {
      return absl::InvalidArgumentError("service identity: token ttl must be at least 1m");
    }
    absl::StatusOr<auth::TokenMinter> created =
        auth::TokenMinter::Create({.algorithm = options.jwt_algorithm,
                                   .hs256_secret = options.hs256_secret,
                                   .issuer = options.jwt_issuer,
                                   .audience = options.jwt_audience},
                                  clock);
    if (!created.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("service identity: cannot mint service tokens: ",
                       created.status().message()));
    }
    minter.emplace(*std::move(created));
  }
  std::unique_ptr<ServiceIdentity> identity(
      new ServiceIdentity(std::move(options), std::move(minter), clock));
  absl::StatusOr<std::string> first = identity->BearerToken();
  if (!first.ok()) return absl::InvalidArgumentError(first.status().message());
  return identity;
}

ServiceIdentity::ServiceIdentity(ServiceIdentityOptions options,
                                 std::optional<auth::TokenMinter> minter, const Clock& clock)
    : options_(std::move(options)), minter_(std::move(minter)), clock_(clock) {}

absl::StatusOr<std::string> ServiceIdentity::BearerToken() {
  absl::MutexLock lock(&mu_);
  return minter_.has_value() ? MintedToken() : TokenFromFile();
}

absl::StatusOr<std::string> ServiceIdentity::TokenFromFile() {
  struct stat st {};
  if (::stat(options_.token_file.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("service token file ", options_.token_file, ": ",
                                               std::strerror(errno)));
  }
  const FileStamp stamp{.inode = static_cast<uint64_t>(st.st_ino),
                        .size = static_cast<int64_t>(st.st_size),
                        .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                                    st.st_mtim.tv_nsec};
  if (stamp == stamp_ && !token_.empty()) return token_;
  absl::StatusOr<std::string> token = ReadToken(options_.token_file);
  if (!token.ok()) {
    token_.clear();
    return token.status();
  }
  token_ = *std::move(token);
  stamp_ = stamp;
  return token_;
}

absl::StatusOr<std::string> ServiceIdentity::MintedToken() {
  const absl::Time now = clock_.Now();
  if (now < renew_at_ && !token_.empty()) return token_;
  absl::StatusOr<std::string> token = minter_->Mint(
      auth::Principal{.subject = options_.subject, .role = auth::Role::kService},
      options_.token_ttl);
  if (!token.ok()) {
    return absl::InternalError(
        absl::StrCat("service identity: minting failed: ", token.status().message()));
  }
  token_ = *std::move(token);
  renew_at_ = now + options_.token_ttl / 2;
  return token_;
}

}  // namespace prm::client
