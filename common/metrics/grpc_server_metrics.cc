#include "common/metrics/grpc_server_metrics.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace prm::metrics {
namespace {

using ::grpc::experimental::InterceptionHookPoints;
using ::grpc::experimental::InterceptorBatchMethods;
using ::grpc::experimental::ServerRpcInfo;

constexpr std::string_view kUnknown = "unknown";

std::string_view TypeLabel(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return kUnknown;
}

// Records one call: created when gRPC matches the call, destroyed when the call is done.
class RedInterceptor final : public grpc::experimental::Interceptor {
 public:
  RedInterceptor(GrpcServerMetrics& metrics, GrpcServerMetrics::MethodMetrics& method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {
    method_.started->Increment();
  }

  ~RedInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (!recorded_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    method_.handling->Observe(elapsed.count());
    metrics_.Handled(method_, code).Increment();
  }

  GrpcServerMetrics& metrics_;
  GrpcServerMetrics::MethodMetrics& method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;  // hooks of one call never run concurrently
};

class RedInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RedInterceptorFactory(GrpcServerMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    const char* path = info->method();
    return new RedInterceptor(metrics_, metrics_.ForPath(path == nullptr ? "" : path));
  }

 private:
  GrpcServerMetrics& metrics_;
};

}  // namespace

std::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

const prometheus::Histogram::BucketBoundaries& GrpcServerMetrics::LatencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *kBuckets;
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : started_family_(prometheus::BuildCounter()
                          .Name("grpc_server_started_total")
                          .Help("RPCs started on the server.")
                          .Register(registry)),
      handled_family_(prometheus::BuildCounter()
                          .Name("grpc_server_handled_total")
                          .Help("RPCs completed on the server, by status code.")
                          .Register(registry)),
      handling_family_(prometheus::BuildHistogram()
                           .Name("grpc_server_handling_seconds")
                           .Help("Time from receiving an RPC to sending its status.")
                           .Register(registry)) {
  unknown_ = std::make_unique<MethodMetrics>();
  unknown_->service = kUnknown;
  unknown_->method = kUnknown;
  unknown_->started = &started_family_.Add({{"grpc_service", std::string(kUnknown)},
                                            {"grpc_method", std::string(kUnknown)},
                                            {"grpc_type", std::string(kUnknown)}});
  unknown_->handling = &handling_family_.Add(
      {{"grpc_service", std::string(kUnknown)}, {"grpc_method", std::string(kUnknown)}},
      LatencyBuckets());
}

GrpcServerMetrics::MethodMetrics& GrpcServerMetrics::Declare(std::string service,
                                                             std::string method,
                                                             std::string_view type_label) {
  if (frozen_.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "GrpcServerMetrics: method %s/%s declared after the factory\n",
                 service.c_str(), method.c_str());
    std::abort();
  }
  std::string path = absl::StrCat("/", service, "/", method);
  auto& slot = methods_[path];
  if (slot != nullptr) return *slot;
  slot = std::make_unique<MethodMetrics>();
  slot->service = std::move(service);
  slot->method = std::move(method);
  slot->started = &started_family_.Add({{"grpc_service", slot->service},
                                        {"grpc_method", slot->method},
                                        {"grpc_type", std::string(type_label)}});
  slot->handling = &handling_family_.Add(
      {{"grpc_service", slot->service}, {"grpc_method", slot->method}}, LatencyBuckets());
  return *slot;
}

void GrpcServerMetrics::AddService(const google::protobuf::ServiceDescriptor& service) {
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& m = *service.method(i);
    RpcType type = RpcType::UNARY;
    if (m.client_streaming() && m.server_streaming()) {
      type = RpcType::BIDI_STREAMING;
    } else if (m.client_streaming()) {
      type = RpcType::CLIENT_STREAMING;
    } else if (m.server_streaming()) {
      type = RpcType::SERVER_STREAMING;
    }
    Declare(service.full_name(), m.name(), TypeLabel(type));
  }
}

void GrpcServerMetrics::AddMethod(std::string_view path, RpcType type) {
  std::string_view rest = path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    std::fprintf(stderr, "GrpcServerMetrics: \"%.*s\" is not /package.Service/Method\n",
                 static_cast<int>(path.size()), path.data());
    std::abort();
  }
  Declare(std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1)),
          TypeLabel(type));
}

void GrpcServerMetrics::AddHealthAndReflection() {
  AddMethod("/grpc.health.v1.Health/Check", RpcType::UNARY);
  AddMethod("/grpc.health.v1.Health/Watch", RpcType::SERVER_STREAMING);
  AddMethod("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            RpcType::BIDI_STREAMING);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::NewInterceptorFactory() {
  frozen_.store(true, std::memory_order_release);
  return std::make_unique<RedInterceptorFactory>(*this);
}

GrpcServerMetrics::MethodMetrics& GrpcServerMetrics::ForPath(std::string_view path) {
  auto it = methods_.find(absl::string_view(path.data(), path.size()));
  return it == methods_.end() ? *unknown_ : *it->second;
}

prometheus::Counter& GrpcServerMetrics::Handled(MethodMetrics& method, grpc::StatusCode code) {
  size_t index = static_cast<size_t>(code);
  if (index >= method.handled.size()) index = static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = method.handled[index].load(std::memory_order_acquire);
  if (counter != nullptr) return *counter;
  std::lock_guard lock(handled_mu_);
  counter = method.handled[index].load(std::memory_order_relaxed);
  if (counter == nullptr) {
    counter = &handled_family_.Add(
        {{"grpc_service", method.service},
         {"grpc_method", method.method},
         {"grpc_code", std::string(StatusCodeName(static_cast<grpc::StatusCode>(index)))}});
    method.handled[index].store(counter, std::memory_order_release);
  }
  return *counter;
}

}  // namespace prm::metrics
