// prm-probe-server: the probe service (tests/support/probe.proto) on ServiceHost, with the
// same flags, interceptors, health, reflection and metrics as every PRM service. Its Ping is
// the empty-RPC baseline that SPEC §9 compares service RPCs against (bench/rpc/run.sh).
//
// Authentication, chosen by --auth:
//   jwt    (default) HS256 bearer JWTs verified by prm::auth::TokenVerifier, as in a real
//          service; --jwt-secret/--jwt-issuer/--jwt-audience configure it.
//   fixed  accepts exactly "Bearer <--auth-token>", to measure the stack without JWT cost.

#include <cstdio>
#include <string>
#include <vector>

#include "common/auth/jwt.h"
#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/server/server_options.h"
#include "common/server/service_host.h"
#include "common/server/termination_signals.h"
#include "common/time/clock.h"
#include "spdlog/spdlog.h"
#include "tests/support/probe_service.h"

extern char** environ;

int main(int argc, char** argv) {
  prm::server::BlockTerminationSignals();

  prm::server::ServerOptions options;
  options.grpc_listen = "127.0.0.1:50090";
  options.metrics_listen = "127.0.0.1:9490";
  std::string auth = "jwt";
  std::string auth_token = "probe-bench-token";
  std::string jwt_secret = "prm-bench-secret-0123456789abcdef";
  std::string jwt_issuer = "prm-bench";
  std::string jwt_audience = "prm";

  prm::FlagSet flags("prm-probe-server",
                     "The probe service on the PRM server runtime (empty-RPC baseline).");
  prm::server::RegisterServerFlags(flags, &options);
  flags.Choice("auth", &auth, {"jwt", "fixed"}, "how callers are authenticated");
  flags.String("auth-token", &auth_token, "--auth=fixed: the one bearer token accepted");
  flags.String("jwt-secret", &jwt_secret, "--auth=jwt: the HS256 secret (at least 32 bytes)");
  flags.String("jwt-issuer", &jwt_issuer, "--auth=jwt: the required `iss`");
  flags.String("jwt-audience", &jwt_audience, "--auth=jwt: the required `aud`");
  absl::StatusOr<prm::FlagSet::Outcome> outcome = flags.Parse(argc, argv, environ);
  if (!outcome.ok()) {
    std::fprintf(stderr, "%s\n", std::string(outcome.status().message()).c_str());
    return 2;
  }
  if (*outcome == prm::FlagSet::Outcome::kHelp) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (*outcome == prm::FlagSet::Outcome::kVersion) {
    std::printf("prm-probe-server %s\n", PRM_VERSION);
    return 0;
  }
  prm::logging::InitLogging("prm-probe-server", options.log_level);

  prm::server::Authenticator authenticator;
  std::optional<prm::auth::TokenVerifier> verifier;
  if (auth == "jwt") {
    absl::StatusOr<prm::auth::TokenVerifier> created = prm::auth::TokenVerifier::Create(
        {.algorithm = "HS256",
         .hs256_secret = jwt_secret,
         .issuer = jwt_issuer,
         .audience = jwt_audience},
        prm::SystemClock::Instance());
    if (!created.ok()) {
      spdlog::error("bad JWT settings: {}", created.status().ToString());
      return 2;
    }
    verifier.emplace(*std::move(created));
    authenticator = [&verifier](std::string_view authorization) {
      return verifier->VerifyAuthorizationHeader(authorization);
    };
  } else {
    authenticator = [expected = "Bearer " + auth_token](
                        std::string_view authorization) -> absl::StatusOr<prm::auth::Principal> {
      if (authorization != expected) return absl::UnauthenticatedError("invalid token");
      prm::auth::Principal principal;
      principal.subject = "bench";
      principal.role = prm::auth::Role::kService;
      return principal;
    };
  }

  prm::testing::ProbeService probe(authenticator);
  prm::server::ServiceHost host(options, "prm-probe-server", PRM_VERSION);
  host.Register(&probe, prm::testing::v1::Probe::service_full_name());
  host.AddStreamCloser("probe sleeps", [&probe] { probe.EndSleeps(); });
  if (absl::Status status = host.Start(); !status.ok()) {
    spdlog::error("cannot start: {}", status.ToString());
    return 1;
  }
  return host.RunUntilSignal();
}
