#include "tools/prmctl/token_command.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/auth/principal.h"
#include "common/config/flags.h"
#include "tools/prmctl/command_flags.h"

namespace prm::prmctl {
namespace {

struct TokenOptions {
  std::string role;
  std::string vendors;
  std::string partner;
  std::string worker;
  std::string subject = "dev-user";
  absl::Duration ttl = absl::Hours(1);
  std::string jwt_secret;
  std::string jwt_secret_file;
  std::string jwt_issuer = "prm-dev";
  std::string jwt_audience = "prm";
};

// "v1, v2" → {"v1", "v2"}; an empty item is an error (returned as a message).
std::string SplitVendors(std::string_view list, std::vector<std::string>* out) {
  if (list.empty()) return "";
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) return "--vendor: empty vendor id in the comma-separated list";
    out->emplace_back(item);
  }
  return "";
}

}  // namespace

int RunToken(int argc, const char* const* argv, const CommandContext& context) {
  TokenOptions options;
  FlagSet flags("prmctl token",
                "print an HS256 bearer token for local development, signed with the shared "
                "secret the services verify");
  std::vector<std::string> role_names;
  for (auth::Role role : auth::kAllRoles) role_names.emplace_back(auth::RoleName(role));
  flags.Choice("role", &options.role, role_names, "the caller's role");
  flags.String("vendor", &options.vendors,
               "vendor id(s) in scope, comma-separated: --vendor=v1,v2 (none for service)");
  flags.String("partner", &options.partner, "partner id (partner_user only)");
  flags.String("worker", &options.worker, "concierge worker id (concierge only)");
  flags.String("subject", &options.subject, "who the token is for (the `sub` claim)");
  flags.Duration("ttl", &options.ttl, "how long the token is valid");
  flags.String("jwt-secret-file", &options.jwt_secret_file,
               "file holding the HS256 secret shared with the services (preferred)");
  flags.String("jwt-secret", &options.jwt_secret,
               absl::StrCat("HS256 secret shared with the services, inline (at least ",
                            auth::kMinHs256SecretBytes, " bytes)"));
  flags.String("jwt-issuer", &options.jwt_issuer, "the `iss` claim the services expect");
  flags.String("jwt-audience", &options.jwt_audience, "the `aud` claim the services expect");
  flags.Required("role");
  flags.Check([&options] {
    return options.ttl < absl::Seconds(1) ? "--ttl: must be at least 1s" : "";
  });
  flags.Check([&options]() -> std::string {
    if (!options.jwt_secret_file.empty() || !options.jwt_secret.empty()) return "";
    return "--jwt-secret-file (PRM_JWT_SECRET_FILE) or --jwt-secret (PRM_JWT_SECRET): one is "
           "required";
  });

  if (std::optional<int> stop = ParseCommandFlags(flags, argc, argv, context)) return *stop;

  auth::Principal principal{.subject = options.subject,
                            .role = *auth::RoleFromName(options.role),  // a checked Choice
                            .partner_id = options.partner,
                            .worker_id = options.worker};
  if (std::string error = SplitVendors(options.vendors, &principal.vendor_ids); !error.empty()) {
    context.err << "prmctl token: " << error << "\n";
    return kExitUsage;
  }

  std::string secret = options.jwt_secret;
  if (!options.jwt_secret_file.empty()) {
    absl::StatusOr<std::string> read = auth::ReadHs256SecretFile(options.jwt_secret_file);
    if (!read.ok()) {
      context.err << "prmctl token: --jwt-secret-file: " << read.status().message() << "\n";
      return kExitUsage;
    }
    secret = *std::move(read);
  }
  absl::StatusOr<auth::TokenMinter> minter =
      auth::TokenMinter::Create({.algorithm = "HS256",
                                 .hs256_secret = std::move(secret),
                                 .issuer = options.jwt_issuer,
                                 .audience = options.jwt_audience},
                                context.clock);
  if (!minter.ok()) {
    context.err << "prmctl token: " << minter.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> token = minter->Mint(principal, options.ttl);
  if (!token.ok()) {
    context.err << "prmctl token: " << token.status().message() << " (see --help)\n";
    return token.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                        : kExitFailure;
  }
  context.out << *token << "\n";
  return kExitOk;
}

}  // namespace prm::prmctl
