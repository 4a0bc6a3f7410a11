#include "common/server/call_context.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "common/log/log.h"
#include "common/server/call_limits.h"
#include "common/server/handler_pool.h"
#include "common/server/rate_limiter.h"
#include "common/status/grpc_status.h"
#include "spdlog/spdlog.h"

namespace prm::server {
namespace {

constexpr size_t kMaxRequestIdLength = 128;

std::string_view Metadata(const grpc::CallbackServerContext& ctx, std::string_view key) {
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return std::string_view(it->second.data(), it->second.size());
}

std::string NewRequestId() {
  thread_local absl::InsecureBitGen bitgen;
  const uint64_t bits = absl::Uniform<uint64_t>(bitgen);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 0; i < 16; ++i) id[i] = kHex[(bits >> (60 - 4 * i)) & 0xf];
  return id;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsAllZeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

bool IsServerSideFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

}  // namespace

std::string TraceIdFromTraceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags, e.g.
  // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return "";
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return "";
  if (!IsLowerHex(version) || version == "ff") return "";
  // Version 00 has exactly these fields; later versions may append "-..." fields.
  if (version == "00" && value.size() != kLength) return "";
  if (version != "00" && value.size() > kLength && value[kLength] != '-') return "";
  if (!IsLowerHex(trace_id) || IsAllZeros(trace_id)) return "";
  if (!IsLowerHex(parent_id) || IsAllZeros(parent_id)) return "";
  if (!IsLowerHex(flags)) return "";
  return std::string(trace_id);
}

bool IsUsableRequestId(std::string_view request_id) {
  if (request_id.empty() || request_id.size() > kMaxRequestIdLength) return false;
  for (char c : request_id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

CallContext::CallContext(grpc::CallbackServerContext* server_context, CallLimits limits)
    : server_context_(server_context),
      deadline_(limits.deadline),
      error_domain_(limits.error_domain.empty() ? std::string(kDefaultErrorDomain)
                                                : std::move(limits.error_domain)) {
  const std::string_view request_id = Metadata(*server_context, "x-request-id");
  request_id_ = IsUsableRequestId(request_id) ? std::string(request_id) : NewRequestId();
  trace_id_ = TraceIdFromTraceparent(Metadata(*server_context, "traceparent"));
}

const auth::Principal& CallContext::principal() const {
  if (!principal_.has_value()) {
    std::fprintf(stderr, "CallContext::principal() called on an unauthenticated call\n");
    std::abort();
  }
  return *principal_;
}

namespace {

absl::Time ClientDeadline(const grpc::CallbackServerContext& server_context) {
  const std::chrono::system_clock::time_point deadline = server_context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// The host's limits for the call; outside a ServiceHost, the client's deadline.
CallLimits LimitsOf(grpc::CallbackServerContext* server_context) {
  CallLimits limits = LimitsOfCall(server_context);
  limits.deadline = std::min(limits.deadline, ClientDeadline(*server_context));
  return limits;
}

absl::StatusOr<CallContext> Admit(grpc::CallbackServerContext* server_context,
                                  const Authenticator& authenticator, CallLimits limits);

}  // namespace

absl::StatusOr<CallContext> AdmitCall(grpc::CallbackServerContext* server_context,
                                      const Authenticator& authenticator) {
  return Admit(server_context, authenticator, LimitsOf(server_context));
}

namespace {

absl::StatusOr<CallContext> Admit(grpc::CallbackServerContext* server_context,
                                  const Authenticator& authenticator, CallLimits limits) {
  if (!authenticator) {
    std::fprintf(stderr, "AdmitCall: no authenticator was wired into this service\n");
    std::abort();
  }
  const std::string_view authorization = Metadata(*server_context, "authorization");
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing authorization metadata (Bearer token)");
  }
  absl::StatusOr<auth::Principal> principal = authenticator(authorization);
  if (!principal.ok()) return std::move(principal).status();
  if (limits.rate_limiter != nullptr) {
    if (absl::Status admitted = limits.rate_limiter->Admit(*principal); !admitted.ok()) {
      return admitted;
    }
  }
  if (!limits.request_status.ok()) return limits.request_status;
  return CallContext::Admitted(server_context, std::move(limits), *std::move(principal));
}

}  // namespace

CallContext CallContext::Admitted(grpc::CallbackServerContext* server_context, CallLimits limits,
                                  std::optional<auth::Principal> principal) {
  CallContext call(server_context, std::move(limits));
  call.principal_ = std::move(principal);
  return call;
}

CallContext AdmitUnauthenticatedCall(grpc::CallbackServerContext* server_context) {
  return CallContext::Admitted(server_context, LimitsOf(server_context), std::nullopt);
}

absl::Status RunHandler(const CallContext& call,
                        absl::FunctionRef<absl::Status(const CallContext&)> handler) {
  logging::ScopedLogContext log_context(call.request_id(), call.trace_id());
  absl::Status status;
  try {
    status = handler(call);
  } catch (const std::exception& e) {
    spdlog::error("handler threw: {}", e.what());
    return absl::InternalError("internal error");
  } catch (...) {
    spdlog::error("handler threw a non-standard exception");
    return absl::InternalError("internal error");
  }
  if (IsServerSideFailure(status.code())) {
    spdlog::error("call failed: {}", status.ToString());
  } else if (!status.ok()) {
    spdlog::debug("call rejected: {}", status.ToString());
  }
  return status;
}

namespace {

// Runs `run` on the call's handler pool, or inline outside a ServiceHost. A call still waiting
// for a thread at its deadline, or cancelled by its client meanwhile, does not run.
// Returns the call's reactor.
grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* server_context, CallLimits limits,
                                   absl::AnyInvocable<absl::Status(CallLimits) &&> run) {
  grpc::ServerUnaryReactor* reactor = server_context->DefaultReactor();
  HandlerPool* pool = limits.handlers;
  auto task = [server_context, reactor, limits = std::move(limits),
               run = std::move(run)]() mutable {
    const std::string domain = limits.error_domain.empty() ? std::string(kDefaultErrorDomain)
                                                           : limits.error_domain;
    absl::Status status;
    if (absl::Now() >= limits.deadline) {
      status = absl::DeadlineExceededError("the deadline passed before the call was handled");
    } else if (server_context->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled before it was handled");
    } else {
      status = std::move(run)(std::move(limits));
    }
    reactor->Finish(ToGrpcStatus(status, domain));
  };
  if (pool == nullptr) {
    task();
  } else {
    pool->Run(std::move(task));
  }
  return reactor;
}

// Admits the call (authentication, rate limit, request limits) and runs `handler`: on the pool,
// or inline on gRPC's thread when `inline_run` (ServeInline).
grpc::ServerUnaryReactor* AdmitAndRun(grpc::CallbackServerContext* server_context,
                                      const Authenticator& authenticator, Handler handler,
                                      bool inline_run) {
  CallLimits limits = LimitsOf(server_context);
  if (inline_run) limits.handlers = nullptr;
  return Dispatch(server_context, std::move(limits),
                  [server_context, &authenticator,
                   handler = std::move(handler)](CallLimits limits) mutable -> absl::Status {
                    absl::StatusOr<CallContext> call =
                        Admit(server_context, authenticator, std::move(limits));
                    if (!call.ok()) {
                      spdlog::debug("call not admitted: {}", call.status().ToString());
                      return call.status();
                    }
                    return RunHandler(*call, [&](const CallContext& c) { return handler(c); });
                  });
}

}  // namespace

grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* server_context,
                                const Authenticator& authenticator, Handler handler) {
  return AdmitAndRun(server_context, authenticator, std::move(handler), /*inline_run=*/false);
}

grpc::ServerUnaryReactor* ServeInline(grpc::CallbackServerContext* server_context,
                                      const Authenticator& authenticator, Handler handler) {
  return AdmitAndRun(server_context, authenticator, std::move(handler), /*inline_run=*/true);
}

grpc::ServerUnaryReactor* ServeUnauthenticated(grpc::CallbackServerContext* server_context,
                                               Handler handler) {
  return Dispatch(server_context, LimitsOf(server_context),
                  [server_context,
                   handler = std::move(handler)](CallLimits limits) mutable -> absl::Status {
                    const CallContext call =
                        CallContext::Admitted(server_context, std::move(limits), std::nullopt);
                    return RunHandler(call, [&](const CallContext& c) { return handler(c); });
                  });
}

}  // namespace prm::server
