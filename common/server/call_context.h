#pragma once

// The single entry point of every PRM unary handler (gRPC callback API). A handler is three
// steps — translate the request, call the domain, finish with the mapped status:
//
//   grpc::ServerUnaryReactor* GetPartner(grpc::CallbackServerContext* ctx,
//                                        const GetPartnerRequest* request,
//                                        Partner* response) override {
//     return Serve(ctx, authenticator_, [=, this](const CallContext& call) -> absl::Status {
//       ASSIGN_OR_RETURN(*response, registry_.Get(call.principal(), request->name()));
//       return absl::OkStatus();
//     });
//   }
//
// Authentication happens here, not in an interceptor: gRPC C++ server interceptors cannot end
// a call early, and grpc::AuthMetadataProcessor only runs with secure credentials. So Serve (or
// AdmitCall for handlers that finish later) is where every call without a valid `authorization`
// metadata value is rejected with UNAUTHENTICATED before the handler runs. Health checking and
// server reflection do not go through Serve and stay open for probes and tools.
//
// Each call also gets a request id (the client's `x-request-id` metadata when it is 1–128
// visible ASCII characters, otherwise a generated 16-hex-digit id) and a trace id (from a valid
// W3C `traceparent`, otherwise empty). Serve runs the handler inside a ScopedLogContext with
// both, so every log line the handler writes on this thread carries them.
//
// Limits (call_limits.h, set by ServiceHost from ServerOptions): after authentication the
// caller's request rate is checked (RESOURCE_EXHAUSTED, reason RATE_LIMITED, with a RetryInfo
// when over), and call.deadline() is the client's deadline bounded by the host's cap
// (--max-deadline, --max-stream-duration): a handler that does long work checks it, and the
// host cancels a call still running at the cap. Errors carry a google.rpc.ErrorInfo whose
// domain is the service's package (grpc_status.h).
//
// Threads: under a ServiceHost, Serve returns at once and the handler runs later on the host's
// handler pool (handler_pool.h), never on gRPC's own few threads; so a handler may block (a
// commit waiting for its fsync, a call to another service) without stalling the server. The
// handler therefore outlives the method that called Serve: it must capture by value (the
// `request` and `response` pointers stay valid until the call is finished), never `[&]`. A call
// whose deadline passes while it waits for a thread is answered DEADLINE_EXCEEDED unrun.
// Outside a ServiceHost (a bare grpc::Server in a test) the handler runs inline.
//
// A handler must not throw; if it does anyway, Serve catches std::exception and anything else,
// logs it once, and answers INTERNAL.
//
// The functions here are thread-safe; the Authenticator is called concurrently from gRPC's
// threads and must be thread-safe too.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/server/call_limits.h"
#include "grpcpp/server_context.h"

namespace prm::server {

// Maps the value of a call's `authorization` metadata ("Bearer <jwt>") to the caller, or fails.
// The status is returned to the client as is, so it should be UNAUTHENTICATED and must not say
// more than "invalid token" (auth::TokenVerifier::VerifyAuthorizationHeader fits).
using Authenticator =
    std::function<absl::StatusOr<auth::Principal>(std::string_view authorization)>;

// What a handler knows about its call. Valid until the call is finished; not copyable, cheap
// to move.
class CallContext {
 public:
  CallContext(CallContext&&) = default;
  CallContext& operator=(CallContext&&) = default;

  // False only for calls admitted with AdmitUnauthenticatedCall / ServeUnauthenticated.
  bool authenticated() const { return principal_.has_value(); }
  // The verified caller. Calling this on an unauthenticated call is a bug and aborts.
  const auth::Principal& principal() const;

  const std::string& request_id() const { return request_id_; }
  const std::string& trace_id() const { return trace_id_; }  // 32 lowercase hex digits or ""
  // The client's deadline bounded by the host's cap; absl::InfiniteFuture() for neither.
  absl::Time deadline() const { return deadline_; }
  // The ErrorInfo domain of this call's errors: the service's package, or "prm".
  const std::string& error_domain() const { return error_domain_; }
  grpc::CallbackServerContext& server_context() const { return *server_context_; }

  // For the admission functions below only.
  static CallContext Admitted(grpc::CallbackServerContext* server_context, CallLimits limits,
                              std::optional<auth::Principal> principal);

 private:
  CallContext(grpc::CallbackServerContext* server_context, CallLimits limits);

  grpc::CallbackServerContext* server_context_;
  absl::Time deadline_;
  std::string error_domain_;
  std::optional<auth::Principal> principal_;
  std::string request_id_;
  std::string trace_id_;
};

// Reads the call's metadata, authenticates it and applies the host's rate limit.
// UNAUTHENTICATED when the `authorization` metadata is missing; whatever `authenticator`
// returns on failure; RESOURCE_EXHAUSTED (RATE_LIMITED, RetryInfo) over the rate limit. An empty
// `authenticator` is a wiring bug and aborts.
absl::StatusOr<CallContext> AdmitCall(grpc::CallbackServerContext* server_context,
                                      const Authenticator& authenticator);

// The same without authentication, for the rare RPC that is open to anyone.
CallContext AdmitUnauthenticatedCall(grpc::CallbackServerContext* server_context);

// What Serve runs for an admitted call.
using Handler = absl::AnyInvocable<absl::Status(const CallContext&)>;

// Admits the call, runs `handler` with the call's log context and finishes the call's default
// reactor with prm::ToGrpcStatus(status). `handler` runs at most once, only for an admitted
// call, on the host's handler pool (see "Threads" above). Returns the reactor for the handler
// method to return. `authenticator` must outlive the call.
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* server_context,
                                const Authenticator& authenticator, Handler handler);

// Serve for a handler that answers from memory in microseconds and never waits — no commit, no
// call to another service, no long computation (GetPartner, Probe.Ping): it runs inline on
// gRPC's thread, saving the hand-off to the pool (~20 µs of CPU per call on a 2-core machine,
// and the wake-up latency). Anything else uses Serve: a handler that blocks here stalls the
// server.
grpc::ServerUnaryReactor* ServeInline(grpc::CallbackServerContext* server_context,
                                      const Authenticator& authenticator, Handler handler);

// Serve for an RPC open to unauthenticated callers (CallContext::authenticated() is false).
grpc::ServerUnaryReactor* ServeUnauthenticated(grpc::CallbackServerContext* server_context,
                                               Handler handler);

// Runs `handler` inside the call's log context, turning exceptions into INTERNAL and logging
// server-side failures (INTERNAL, UNKNOWN, DATA_LOSS) once. Serve's core, for handlers that
// finish their own reactor.
absl::Status RunHandler(const CallContext& call,
                        absl::FunctionRef<absl::Status(const CallContext&)> handler);

// The trace id of a W3C `traceparent` header value, or "" when the value is not valid.
std::string TraceIdFromTraceparent(std::string_view traceparent);

// True when a client-supplied request id is usable as is (1–128 visible ASCII characters).
bool IsUsableRequestId(std::string_view request_id);

}  // namespace prm::server
