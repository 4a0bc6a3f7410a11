#pragma once

// What ServiceHost tells the handler entry points (call_context.h) about each call it serves:
// the rate limiter, the bound on the call's deadline, and the error domain (the service's
// protobuf package). ServiceHost's per-call interceptor registers the call when gRPC matches
// it, checks its request when it arrives, and unregisters it when the call is done; AdmitCall
// and Serve look it up by the call's
// server context. A call served outside a ServiceHost (a bare grpc::Server in a test) has no
// entry: no rate limit, the client's deadline, domain "prm".
//
// Thread-safe.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"

namespace prm::server {

class HandlerPool;
class RateLimiter;

struct CallLimits {
  RateLimiter* rate_limiter = nullptr;          // null: no limit
  HandlerPool* handlers = nullptr;               // null: handlers run inline (no host)
  absl::Time deadline = absl::InfiniteFuture();  // the client's, bounded by the host's cap
  std::string error_domain;                      // "prm.deal.v1"; empty: "prm"
  // Not OK when the request itself breaks a limit every request has (limits.h: a string over
  // kMaxStringBytes): AdmitCall answers it after authentication, before the handler runs.
  absl::Status request_status;
};

// The package of a gRPC method path: "/prm.deal.v1.DealRegistration/GetDeal" → "prm.deal.v1".
std::string PackageOfMethod(std::string_view method_path);

namespace internal {
void RegisterCall(const grpc::ServerContextBase* ctx, CallLimits limits);
void UnregisterCall(const grpc::ServerContextBase* ctx);
// Sets the request_status of a registered call (no effect on one that is not registered).
void SetRequestStatus(const grpc::ServerContextBase* ctx, absl::Status status);
}  // namespace internal

// The limits registered for `ctx`, or the defaults above.
CallLimits LimitsOfCall(const grpc::ServerContextBase* ctx);

}  // namespace prm::server
