#include "common/server/service_host.h"

#include <signal.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/call_limits.h"
#include "common/server/limits.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/server/termination_signals.h"
#include "common/time/clock.h"
#include "grpcpp/alarm.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/grpc.h"
#include "grpc/support/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace prm::server {
namespace {

double Millis(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// Runs `fn`, logging `what` with how long it took.
template <typename Fn>
void Timed(std::string_view what, Fn&& fn) {
  const absl::Time start = absl::Now();
  fn();
  spdlog::info("drain: {} done in {:.1f} ms", what, Millis(absl::Now() - start));
}

// Counts the calls the server is handling: from the moment gRPC matches a call to a method
// until the call is done. The drain uses the count to stop waiting as soon as in-flight calls
// are over. Also registers the call's limits (call_limits.h) for AdmitCall, and cancels the
// call when it is still running at the host's deadline cap.
class CallTracker final : public grpc::experimental::Interceptor {
 public:
  CallTracker(ServiceHost::CallPolicy& policy, grpc::experimental::ServerRpcInfo* info)
      : policy_(policy), ctx_(info->server_context()) {
    policy_.calls.fetch_add(1, std::memory_order_relaxed);
    const bool unary = info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY;
    // The request of a unary or server-streaming call arrives before its handler runs, so it
    // can be checked here; a streaming client's messages are its handler's to check.
    if (unary || info->type() == grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING) {
      request_type_ = RequestTypeOf(info->method());
    }
    error_domain_ = PackageOfMethod(info->method());
    const absl::Time cap =
        absl::Now() + (unary ? policy_.max_deadline : policy_.max_stream_duration);
    const std::chrono::system_clock::time_point client = ctx_->deadline();
    const absl::Time client_deadline = client == std::chrono::system_clock::time_point::max()
                                           ? absl::InfiniteFuture()
                                           : absl::FromChrono(client);
    internal::RegisterCall(ctx_, CallLimits{
                                     .rate_limiter = policy_.rate_limiter.get(),
                                     .handlers = policy_.handlers.get(),
                                     .deadline = std::min(cap, client_deadline),
                                     .error_domain = error_domain_,
                                 });
    if (cap < client_deadline) {
      // gRPC cannot shorten the client's deadline; cancel the call at the cap instead. The
      // alarm may fire while the call ends, hence the shared flag under its lock.
      guard_ = std::make_shared<Guard>();
      guard_->ctx = ctx_;
      alarm_.Set(absl::ToChronoTime(cap), [guard = guard_](bool fired) {
        if (!fired) return;
        absl::MutexLock lock(&guard->mu);
        if (guard->ctx != nullptr) guard->ctx->TryCancel();
      });
    }
  }
  ~CallTracker() override {
    Disarm();
    internal::UnregisterCall(ctx_);
    policy_.calls.fetch_sub(1, std::memory_order_release);
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (request_type_ != nullptr &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      CheckRequest(methods->GetRecvMessage());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // Once the status is on its way the call needs no cancelling.
      Disarm();
      // gRPC answers bytes it cannot parse itself (no handler runs) with a bare status that
      // names nothing; the client gets INVALID_ARGUMENT naming the request type instead.
      if (unparsable_) {
        methods->ModifySendStatus(
            ToGrpcStatus(UnparsableRequest(request_type_->full_name()), error_domain_));
      }
    }
    methods->Proceed();
  }

 private:
  struct Guard {
    absl::Mutex mu;
    grpc::ServerContextBase* ctx ABSL_GUARDED_BY(mu) = nullptr;
  };
  void Disarm() {
    if (guard_ == nullptr) return;
    absl::MutexLock lock(&guard_->mu);
    guard_->ctx = nullptr;
  }
  // The request message type of a method path ("/prm.deal.v1.DealRegistration/GetDeal"), or
  // null when the generated descriptor pool does not know the method.
  static const google::protobuf::Descriptor* RequestTypeOf(std::string_view path) {
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    std::string name(path);
    std::replace(name.begin(), name.end(), '/', '.');
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
    return method == nullptr ? nullptr : method->input_type();
  }

  // `received` is gRPC's deserialized request (an object of the method's generated request
  // class, typed void*), or null when the bytes did not parse.
  void CheckRequest(void* received) {
    if (received == nullptr) {
      unparsable_ = true;
      return;
    }
    // The generated class derives from protobuf::Message; find the Message subobject the way
    // the prototype of the same class has it, rather than assume where it sits.
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(request_type_);
    if (prototype == nullptr) return;
    const std::ptrdiff_t offset = reinterpret_cast<const char*>(prototype) -
                                  static_cast<const char*>(dynamic_cast<const void*>(prototype));
    const auto* request = reinterpret_cast<const google::protobuf::Message*>(
        static_cast<const char*>(received) + offset);
    FieldViolations bad;
    CheckStringLengths(*request, bad);
    if (!bad.empty()) internal::SetRequestStatus(ctx_, bad.ToStatus("request text is too long"));
  }

  ServiceHost::CallPolicy& policy_;
  grpc::ServerContextBase* const ctx_;
  const google::protobuf::Descriptor* request_type_ = nullptr;  // null: not checked here
  std::string error_domain_;
  bool unparsable_ = false;
  std::shared_ptr<Guard> guard_;
  grpc::Alarm alarm_;  // destroyed (cancelled) before guard_ is released
};

class CallTrackerFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallTrackerFactory(ServiceHost::CallPolicy& policy) : policy_(policy) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallTracker(policy_, info);
  }

 private:
  ServiceHost::CallPolicy& policy_;
};

}  // namespace

void ServiceHost::RunStep(DrainStep& step) {
  Timed(step.name, [&] {
    try {
      step.step();
    } catch (const std::exception& e) {
      spdlog::error("drain: {} threw: {}", step.name, e.what());
    } catch (...) {
      spdlog::error("drain: {} threw", step.name);
    }
  });
}

ServiceHost::ServiceHost(ServerOptions options, std::string service_name, std::string version,
                         std::shared_ptr<prometheus::Registry> registry)
    : options_(std::move(options)),
      service_name_(std::move(service_name)),
      version_(std::move(version)),
      registry_(registry != nullptr ? std::move(registry)
                                    : std::make_shared<prometheus::Registry>()) {
  policy_.max_deadline = options_.max_deadline;
  policy_.max_stream_duration = options_.max_stream_duration;
  policy_.rate_limiter = std::make_unique<RateLimiter>(
      RateLimit{.per_second = static_cast<double>(options_.rate_limit),
                .burst = static_cast<double>(options_.rate_limit_burst)},
      SystemClock::Instance());
  metrics::AddBuildInfo(*registry_, service_name_, version_);
}

ServiceHost::~ServiceHost() {
  if (server_ != nullptr && !drained_.HasBeenNotified()) {
    spdlog::warn("{} destroyed without a drain; cancelling in-flight calls", service_name_);
    health_.Shutdown();
    StopHealthServer();
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

void ServiceHost::Register(grpc::Service* service, std::string grpc_service_full_name) {
  services_.push_back({service, std::move(grpc_service_full_name)});
}

void ServiceHost::AddDrainStep(std::string name, std::function<void()> step) {
  absl::MutexLock lock(&drain_steps_mu_);
  drain_steps_.push_back({std::move(name), std::move(step)});
}

void ServiceHost::AddStreamCloser(std::string name, std::function<void()> closer) {
  absl::MutexLock lock(&drain_steps_mu_);
  stream_closers_.push_back({std::move(name), std::move(closer)});
}

absl::Status ServiceHost::Start() {
  if (started_) return absl::FailedPreconditionError("ServiceHost::Start called twice");
  if (absl::Status status = ValidateServerOptions(options_); !status.ok()) return status;
  policy_.handlers = std::make_unique<HandlerPool>(static_cast<int>(options_.handler_threads));
  absl::flat_hash_set<std::string> names;
  for (const Registration& r : services_) {
    if (!names.insert(r.name).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("gRPC service ", r.name, " is registered twice"));
    }
  }

  grpc::ServerBuilder builder;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<CallTrackerFactory>(policy_));
  if (options_.rpc_metrics) {
    rpc_metrics_ = std::make_unique<metrics::GrpcServerMetrics>(*registry_);
    for (const Registration& r : services_) {
      const google::protobuf::ServiceDescriptor* descriptor =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(r.name);
      if (descriptor == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "gRPC service ", r.name, " has no descriptor in the generated pool; is the name the "
            "generated service_full_name()?"));
      }
      rpc_metrics_->AddService(*descriptor);
    }
    rpc_metrics_->AddHealthAndReflection();
    creators.push_back(rpc_metrics_->NewInterceptorFactory());
  }
  builder.experimental().SetInterceptorCreators(std::move(creators));

  if (!options_.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsEndpoint>> endpoint =
        metrics::MetricsEndpoint::Start(options_.metrics_listen, registry_);
    if (!endpoint.ok()) return endpoint.status();
    metrics_endpoint_ = *std::move(endpoint);
  }

  // grpc.health.v1 is our HealthService (see health_service.h), not gRPC's default one.
  grpc::EnableDefaultHealthCheckService(false);
  static std::once_flag reflection_once;
  std::call_once(reflection_once,
                 [] { grpc::reflection::InitProtoReflectionServerBuilderPlugin(); });

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ServerCredentials();
  if (!credentials.ok()) {
    metrics_endpoint_.reset();
    return credentials.status();
  }
  builder.AddListeningPort(options_.grpc_listen, *credentials, &selected_port_);
  // Without this a second gRPC server could bind the same port (SO_REUSEPORT) and silently
  // share its traffic instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options_.max_receive_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options_.max_send_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(options_.max_concurrent_streams));
  builder.RegisterService(&health_);
  for (const Registration& r : services_) builder.RegisterService(r.service);

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || selected_port_ == 0) {
    server_.reset();
    metrics_endpoint_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", options_.grpc_listen,
                                               " (address in use or not local?)"));
  }
  if (!options_.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options_.health_listen, grpc::InsecureServerCredentials(),
                                    &health_port_);
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health_builder.RegisterService(&plain_health_);
    health_server_ = health_builder.BuildAndStart();
    if (health_server_ == nullptr || health_port_ == 0) {
      StopServer();
      health_server_.reset();
      metrics_endpoint_.reset();
      return absl::UnavailableError(absl::StrCat("cannot listen for health on ",
                                                 options_.health_listen));
    }
  }
  started_ = true;
  metrics_port_ = metrics_endpoint_ == nullptr ? 0 : metrics_endpoint_->port();
  SetServing(true);
  spdlog::info("{} {} serving gRPC on {} (port {}){}", service_name_, version_,
               options_.grpc_listen, selected_port_,
               metrics_endpoint_ == nullptr
                   ? std::string(", no metrics endpoint")
                   : absl::StrCat(", metrics on ", options_.metrics_listen, " (port ",
                                  metrics_endpoint_->port(), ")"));
  return absl::OkStatus();
}

void ServiceHost::SetServing(bool serving) {
  if (server_ == nullptr) return;
  for (HealthService* health : {&health_, &plain_health_}) {
    health->SetStatus("", serving);
    for (const Registration& r : services_) health->SetStatus(r.name, serving);
  }
}

void ServiceHost::SetServing(std::string_view grpc_service, bool serving) {
  if (server_ == nullptr) return;
  health_.SetStatus(std::string(grpc_service), serving);
  plain_health_.SetStatus(std::string(grpc_service), serving);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServiceHost::ServerCredentials() const {
  if (options_.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  // The watcher reads the files in the background and would only log a bad file; check them
  // once here so that a wrong path stops the start-up with a clear message.
  for (const auto& [flag, path] : {std::pair{"--tls-cert-file", options_.tls_cert_file},
                                   std::pair{"--tls-key-file", options_.tls_key_file},
                                   std::pair{"--tls-client-ca-file",
                                             options_.tls_client_ca_file}}) {
    if (path.empty()) continue;
    std::ifstream in(path);
    std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in || pem.find("-----BEGIN ") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": cannot read a PEM file at \"", path, "\""));
    }
  }
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options_.tls_key_file, options_.tls_cert_file, options_.tls_client_ca_file,
      static_cast<unsigned int>(absl::ToInt64Seconds(options_.tls_reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options_.tls_client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

void ServiceHost::RequestShutdown() {
  absl::MutexLock lock(&shutdown_request_mu_);
  shutdown_requested_ = true;
  // SIGTERM is blocked in the waiting thread, so this only wakes its sigtimedwait.
  if (has_waiter_) pthread_kill(waiter_, SIGTERM);
}

int ServiceHost::RunUntilSignal() {
  if (!started_) {
    spdlog::error("RunUntilSignal: {} was not started", service_name_);
    return 1;
  }
  if (!TerminationSignalsBlocked()) {
    spdlog::warn("SIGTERM/SIGINT were not blocked before threads started; call "
                 "BlockTerminationSignals() first in main()");
    BlockTerminationSignals();
  }
  {
    absl::MutexLock lock(&shutdown_request_mu_);
    waiter_ = pthread_self();
    has_waiter_ = true;
  }
  std::string reason;
  for (;;) {
    {
      absl::MutexLock lock(&shutdown_request_mu_);
      if (shutdown_requested_) {
        reason = "shutdown requested";
        break;
      }
    }
    if (std::optional<int> signal = WaitForTerminationSignal(absl::Seconds(1))) {
      absl::MutexLock lock(&shutdown_request_mu_);
      if (shutdown_requested_) {
        reason = "shutdown requested";
      } else {
        reason = *signal == SIGTERM ? "SIGTERM" : "SIGINT";
      }
      break;
    }
  }
  {
    absl::MutexLock lock(&shutdown_request_mu_);
    has_waiter_ = false;
  }
  spdlog::info("{}: draining (bound {})", reason, absl::FormatDuration(kMaxShutdownTime));

  const absl::Time deadline = absl::Now() + kMaxShutdownTime;
  std::thread watchdog([this, deadline] {
    while (!drained_.HasBeenNotified()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        spdlog::critical("drain did not finish within {}; exiting now",
                         absl::FormatDuration(kMaxShutdownTime));
        std::_Exit(1);
      }
      if (WaitForTerminationSignal(std::min(left, absl::Milliseconds(100))).has_value()) {
        spdlog::critical("second termination signal during the drain; exiting now");
        std::_Exit(1);
      }
    }
  });
  Shutdown();
  watchdog.join();
  return 0;
}

void ServiceHost::Shutdown() {
  std::call_once(drain_once_, [this] {
    Drain();
    drained_.Notify();
  });
}

// grpc::Server::Shutdown(deadline) alone would also wait, up to the deadline, for idle client
// connections to go away after GOAWAY, and a client that is not polling its channel never
// answers. So: stop accepting (core shutdown), wait only for the calls in flight, then
// disconnect whatever is left and let grpc::Server finish its own shutdown at once.
void ServiceHost::StopServer() {
  // gRPC's core API: grpc::CompletionQueue only takes tags of its own internal type.
  grpc_completion_queue* shutdown_cq = grpc_completion_queue_create_for_next(nullptr);
  int shutdown_tag = 0;
  grpc_server_shutdown_and_notify(server_->c_server(), shutdown_cq, &shutdown_tag);
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  bool shut_down = false;
  while (!shut_down && policy_.calls.load(std::memory_order_acquire) > 0) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      spdlog::warn("drain: cancelling {} call(s) still in flight after {}",
                   policy_.calls.load(), absl::FormatDuration(options_.drain_timeout));
      break;
    }
    const int64_t wait_ms =
        absl::ToInt64Milliseconds(std::min(deadline - now, absl::Milliseconds(5)));
    const grpc_event event = grpc_completion_queue_next(
        shutdown_cq,
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait_ms, GPR_TIMESPAN)),
        nullptr);
    shut_down = event.type == GRPC_OP_COMPLETE;
  }
  // Legal only after grpc_server_shutdown_and_notify: cancels the calls left (none unless the
  // deadline passed) and disconnects idle connections.
  if (!shut_down) grpc_server_cancel_all_calls(server_->c_server());
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  grpc_completion_queue_shutdown(shutdown_cq);
  while (grpc_completion_queue_next(shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr)
             .type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(shutdown_cq);
}

void ServiceHost::StopHealthServer() {
  if (health_server_ == nullptr) return;
  plain_health_.Shutdown();
  health_server_->Shutdown(std::chrono::system_clock::now());
  health_server_->Wait();
  health_server_.reset();
}

void ServiceHost::Drain() {
  const absl::Time start = absl::Now();
  std::vector<DrainStep> closers;
  std::vector<DrainStep> steps;
  {
    absl::MutexLock lock(&drain_steps_mu_);
    closers = std::move(stream_closers_);
    steps = std::move(drain_steps_);
  }
  if (server_ != nullptr) {
    Timed("health NOT_SERVING", [&] {
      health_.Shutdown();
      plain_health_.Shutdown();
    });
    for (DrainStep& closer : closers) RunStep(closer);
    Timed(absl::StrCat("gRPC server stopped (in-flight calls bounded by ",
                       absl::FormatDuration(options_.drain_timeout), ")"),
          [&] { StopServer(); });
    StopHealthServer();
  }
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) RunStep(*it);
  if (metrics_endpoint_ != nullptr) {
    Timed("metrics endpoint stopped", [&] { metrics_endpoint_.reset(); });
  }
  spdlog::info("{} drained in {:.1f} ms", service_name_, Millis(absl::Now() - start));
}

}  // namespace prm::server
