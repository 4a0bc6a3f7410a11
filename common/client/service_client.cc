#include "common/client/service_client.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/grpc_status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/channel_arguments.h"

namespace prm::client {
namespace {

std::string Flag(const ClientOptions& options, absl::string_view setting) {
  return absl::StrCat("--", options.target_name, "-", setting);
}

// Retries only UNAVAILABLE, for every method of the channel ("name": [{}]).
std::string RetryServiceConfig(int64_t max_attempts) {
  if (max_attempts <= 1) return R"({"methodConfig": [{"name": [{}]}]})";
  return absl::StrCat(R"({"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": )",
                      max_attempts,
                      R"(, "initialBackoff": "0.05s", "maxBackoff": "0.5s",)"
                      R"( "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
}

absl::Status CheckReadable(const ClientOptions& options, absl::string_view setting,
                           const std::string& path) {
  if (path.empty() || std::ifstream(path).good()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(Flag(options, setting), ": cannot read \"", path, "\""));
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ClientOptions& options) {
  if (options.tls_ca_file.empty()) return grpc::InsecureChannelCredentials();
  RETURN_IF_ERROR(CheckReadable(options, "tls-ca-file", options.tls_ca_file));
  RETURN_IF_ERROR(CheckReadable(options, "tls-cert-file", options.tls_cert_file));
  RETURN_IF_ERROR(CheckReadable(options, "tls-key-file", options.tls_key_file));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls_key_file, options.tls_cert_file, options.tls_ca_file,
      static_cast<unsigned int>(absl::ToInt64Seconds(options.tls_reload_interval)));
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(provider);
  tls.watch_root_certs();
  if (!options.tls_cert_file.empty()) tls.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(tls);
}

}  // namespace

absl::Status ValidateClientOptions(const ClientOptions& options) {
  if (options.target_name.empty()) {
    return absl::InvalidArgumentError("client options: target_name is empty");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Flag(options, "tls-cert-file"), ", ",
                                                   Flag(options, "tls-key-file"),
                                                   ": give both (mutual TLS) or neither"));
  }
  if (!options.tls_cert_file.empty() && options.tls_ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Flag(options, "tls-cert-file"), ": a client certificate needs TLS: give ",
        Flag(options, "tls-ca-file"), " too"));
  }
  if (options.tls_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag(options, "tls-reload-interval"), ": must be at least 1s"));
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag(options, "deadline"), ": must be positive"));
  }
  if (options.max_attempts < 1 || options.max_attempts > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag(options, "max-attempts"), ": must be between 1 and 5"));
  }
  return absl::OkStatus();
}

void RegisterClientFlags(FlagSet& flags, ClientOptions* options) {
  const std::string& target = options->target_name;
  auto name = [&](absl::string_view setting) { return absl::StrCat(target, "-", setting); };
  flags.String(name("address"), &options->address,
               absl::StrCat("host:port of ", target, "'s gRPC API"));
  flags.String(name("tls-ca-file"), &options->tls_ca_file,
               absl::StrCat("CA bundle, PEM, that signed ", target,
                            "'s certificate: turns TLS on for calls to it"));
  flags.String(name("tls-cert-file"), &options->tls_cert_file,
               absl::StrCat("client certificate chain, PEM, for mutual TLS with ", target));
  flags.String(name("tls-key-file"), &options->tls_key_file,
               absl::StrCat("private key of --", name("tls-cert-file"), ", PEM"));
  flags.String(name("tls-server-name"), &options->tls_server_name,
               absl::StrCat("name ", target,
                            "'s certificate must carry; empty: the host of the address"));
  flags.Duration(name("tls-reload-interval"), &options->tls_reload_interval,
                 "how often the client TLS files are re-read");
  flags.Duration(name("deadline"), &options->deadline,
                 absl::StrCat("deadline of each call to ", target,
                              ", retries included; past it the call fails UNAVAILABLE"));
  flags.Int(name("max-attempts"), &options->max_attempts,
            absl::StrCat("attempts per call to ", target,
                         " (retried only when it is UNAVAILABLE), first included"),
            1, 5);
  flags.Check([options]() -> std::string {
    absl::Status status = ValidateClientOptions(*options);
    return status.ok() ? std::string() : std::string(status.message());
  });
}

void RegisterServiceIdentityFlags(FlagSet& flags, std::string* token_file) {
  flags.String("service-token-file", token_file,
               "file holding this service's bearer token (role service) for calls to other "
               "services, re-read when it changes; empty: with HS256 the service mints its own");
}

absl::StatusOr<std::unique_ptr<ServiceChannel>> ServiceChannel::Create(
    ClientOptions options, std::shared_ptr<ServiceIdentity> identity) {
  RETURN_IF_ERROR(ValidateClientOptions(options));
  if (options.address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Flag(options, "address"), ": is empty"));
  }
  if (identity == nullptr) {
    return absl::InvalidArgumentError("service client: no service identity");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials, Credentials(options));
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(RetryServiceConfig(options.max_attempts));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, options.max_attempts > 1 ? 1 : 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<ServiceChannel>(
      new ServiceChannel(std::move(options), std::move(identity), std::move(channel)));
}

absl::Status ServiceChannel::Prepare(grpc::ClientContext& context,
                                     const CallOptions& call) const {
  absl::StatusOr<std::string> token = identity_->BearerToken();
  if (!token.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot call ", options_.target_name,
                                               ": no service token: ", token.status().message()));
  }
  context.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  if (!call.request_id.empty()) context.AddMetadata("x-request-id", call.request_id);
  context.set_deadline(absl::ToChronoTime(std::min(absl::Now() + options_.deadline,
                                                   call.not_after)));
  return absl::OkStatus();
}

absl::Status ServiceChannel::Finish(const grpc::Status& status) const {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(absl::StrCat(options_.target_name, " at ", options_.address,
                                                 " is unavailable: ", status.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::UnavailableError(
          absl::StrCat(options_.target_name, " at ", options_.address,
                       " did not answer within the deadline (",
                       absl::FormatDuration(options_.deadline), " at most)"));
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::InternalError(absl::StrCat(options_.target_name, " at ", options_.address,
                                              " refused this service's identity: ",
                                              status.error_message()));
    default:
      return FromGrpcStatus(status);
  }
}

}  // namespace prm::client
