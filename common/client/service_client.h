#pragma once

// A client for one PRM service calling another over gRPC (SPEC §2, issue 9): where a fresh,
// authoritative answer matters, e.g. deal-registration asking partner-registry whether an
// enrollment is ACTIVE.
//
//   ClientOptions options{.target_name = "partner-registry"};
//   RegisterClientFlags(flags, &options);            // --partner-registry-address, ...
//   ...
//   ASSIGN_OR_RETURN(auto client, ServiceClient<PartnerRegistry>::Create(options, identity));
//   absl::StatusOr<GetEnrollmentResponse> r =
//       client->Call(&PartnerRegistry::Stub::GetEnrollment, request);
//
// Every call:
//   - carries the service identity (`authorization: Bearer <role service token>`, see
//     service_identity.h) and, when given, the caller's x-request-id;
//   - has a deadline: now + options.deadline, or the caller's own deadline when that is sooner;
//   - is retried by gRPC (service-config retry policy) only when the other side answers
//     UNAVAILABLE or cannot be reached, at most options.max_attempts attempts in all, with
//     exponential backoff from 50 ms, always within the one deadline. No other code is retried:
//     a call that may have been applied is never sent twice by this client;
//   - never waits for a connection (fail-fast): a service that is down answers at once, and the
//     channel re-dials at most every 2 s, so a restarted service is reached again quickly.
//
// What the caller gets:
//   - the response, or the other service's own answer with its code, message and field
//     violations (NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT, ...);
//   - UNAVAILABLE, naming the target and its address, when the other service is down,
//     unreachable, draining, or did not answer within the deadline (DEADLINE_EXCEEDED of this
//     call becomes UNAVAILABLE: it is the dependency that was slow, not the caller);
//   - INTERNAL when the other service refused this service's identity (UNAUTHENTICATED or
//     PERMISSION_DENIED there): a deployment error the end user cannot fix;
//   - UNAVAILABLE when the service token cannot be had (ServiceIdentity::BearerToken).
//
// TLS mirrors the server's flags: --<target>-tls-ca-file turns TLS on and is the CA bundle that
// must have signed the server's certificate; --<target>-tls-cert-file/--<target>-tls-key-file
// add a client certificate for mutual TLS. The files are watched and re-read every
// tls_reload_interval, so rotation needs no restart.
//
// Thread-safe: one client serves every thread of a process; calls block the calling thread
// for at most the deadline.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/client/service_identity.h"
#include "common/config/flags.h"
#include "common/status/status_macros.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace prm::client {

struct ClientOptions {
  // The service called, e.g. "partner-registry": the prefix of the flags and the name in errors.
  std::string target_name{};
  // gRPC target, normally host:port; empty means "not configured" (the caller decides what that
  // means; Create refuses it).
  std::string address{};
  std::string tls_ca_file{};      // TLS on: CA bundle (PEM) that signed the server's certificate
  std::string tls_cert_file{};    // mutual TLS: this service's certificate chain (PEM)
  std::string tls_key_file{};     // its private key (PEM)
  std::string tls_server_name{};  // name the server certificate must carry; default: the host
  absl::Duration tls_reload_interval = absl::Seconds(60);
  absl::Duration deadline = absl::Seconds(2);  // per call, retries included
  int64_t max_attempts = 3;                    // per call, first attempt included; 1..5
};

// OK, or INVALID_ARGUMENT naming the first bad setting (flag names). An empty address is fine
// here: "not configured".
absl::Status ValidateClientOptions(const ClientOptions& options);

// Binds --<target>-address, --<target>-tls-ca-file, --<target>-tls-cert-file,
// --<target>-tls-key-file, --<target>-tls-server-name, --<target>-tls-reload-interval,
// --<target>-deadline and --<target>-max-attempts (PRM_<TARGET>_... variables) to `options`,
// whose target_name must be set; adds ValidateClientOptions as a check. `options` must outlive
// `flags`.
void RegisterClientFlags(FlagSet& flags, ClientOptions* options);

// Binds --service-token-file (PRM_SERVICE_TOKEN_FILE): see service_identity.h. Register once
// per process, however many clients it has.
void RegisterServiceIdentityFlags(FlagSet& flags, std::string* token_file);

struct CallOptions {
  absl::Time not_after = absl::InfiniteFuture();  // the caller's own deadline, if sooner
  std::string request_id{};                        // sent as x-request-id when not empty
};

// The channel to one service and what every call on it shares; the untyped half of
// ServiceClient. Thread-safe.
class ServiceChannel {
 public:
  // INVALID_ARGUMENT for bad options, an empty address, unreadable TLS files or a null
  // identity. Does not connect: a service that is down at start is no error.
  static absl::StatusOr<std::unique_ptr<ServiceChannel>> Create(
      ClientOptions options, std::shared_ptr<ServiceIdentity> identity);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ClientOptions& options() const { return options_; }

  // Sets the deadline and metadata of `context` for one call.
  absl::Status Prepare(grpc::ClientContext& context, const CallOptions& call) const;
  // The caller's view of a finished call (the mapping in the header comment).
  absl::Status Finish(const grpc::Status& status) const;

 private:
  ServiceChannel(ClientOptions options, std::shared_ptr<ServiceIdentity> identity,
                 std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        identity_(std::move(identity)),
        channel_(std::move(channel)) {}

  const ClientOptions options_;
  const std::shared_ptr<ServiceIdentity> identity_;
  const std::shared_ptr<grpc::Channel> channel_;
};

// Typed calls to `Service` (a generated gRPC service class, e.g. prm::partner::v1::
// PartnerRegistry). Thread-safe.
template <typename Service>
class ServiceClient {
 public:
  using Stub = typename Service::Stub;

  static absl::StatusOr<std::unique_ptr<ServiceClient>> Create(
      ClientOptions options, std::shared_ptr<ServiceIdentity> identity) {
    ASSIGN_OR_RETURN(std::unique_ptr<ServiceChannel> channel,
                     ServiceChannel::Create(std::move(options), std::move(identity)));
    return std::unique_ptr<ServiceClient>(new ServiceClient(std::move(channel)));
  }

  // One unary call, e.g. Call(&PartnerRegistry::Stub::GetEnrollment, request).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
      const Request& request, const CallOptions& call = {}) const {
    grpc::ClientContext context;
    RETURN_IF_ERROR(channel_->Prepare(context, call));
    Response response;
    RETURN_IF_ERROR(channel_->Finish((stub_.get()->*method)(&context, request, &response)));
    return response;
  }

  const ServiceChannel& channel() const { return *channel_; }

 private:
  explicit ServiceClient(std::unique_ptr<ServiceChannel> channel)
      : channel_(std::move(channel)), stub_(Service::NewStub(channel_->channel())) {}

  const std::unique_ptr<ServiceChannel> channel_;
  const std::unique_ptr<Stub> stub_;
};

}  // namespace prm::client
