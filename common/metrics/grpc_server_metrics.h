#pragma once

// RED metrics for every RPC a gRPC server handles (SPEC §3.4), recorded by a server interceptor:
//
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}      calls started
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_code}      calls finished, by code
//   grpc_server_handling_seconds{grpc_service,grpc_method}              latency histogram
//                                                                       (0.5 ms .. 10 s)
//
// `grpc_type` is unary, client_stream, server_stream or bidi_stream; `grpc_code` the canonical
// name ("OK", "INVALID_ARGUMENT", ...). Latency runs from the moment gRPC matched the call to
// the moment its status is sent. A call that ends without sending a status (the client went
// away first) counts as CANCELLED.
//
// Only declared methods get their own labels; calls to any other path (which gRPC answers with
// UNIMPLEMENTED) are counted under grpc_service="unknown", grpc_method="unknown" so that a
// client cannot grow the number of series. Declared methods' started/histogram series exist
// from the start (at zero); handled series appear with their first code.
//
// Usage: declare every method, then hand NewInterceptorFactory() to the ServerBuilder:
//   GrpcServerMetrics metrics(*registry);
//   metrics.AddService(*Probe::descriptor());   // or AddMethod("/pkg.Svc/M", kUnary)
//   creators.push_back(metrics.NewInterceptorFactory());
//
// Thread safety: Add* are not thread-safe and must all happen before NewInterceptorFactory();
// afterwards the set of methods is frozen and recording is thread-safe and lock-free except the
// first time a method finishes with a given code. The object must outlive every server using
// its factories.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace google::protobuf {
class ServiceDescriptor;
}

namespace prm::metrics {

class GrpcServerMetrics {
 public:
  using RpcType = grpc::experimental::ServerRpcInfo::Type;

  explicit GrpcServerMetrics(prometheus::Registry& registry);
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // Declares every method of a protobuf service.
  void AddService(const google::protobuf::ServiceDescriptor& service);
  // Declares one method by its path, "/package.Service/Method".
  void AddMethod(std::string_view path, RpcType type);
  // Declares the methods of grpc.health.v1.Health and grpc.reflection.v1alpha.ServerReflection.
  void AddHealthAndReflection();

  // A factory for ServerBuilder::experimental().SetInterceptorCreators(). Freezes the methods.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // The bucket bounds of grpc_server_handling_seconds, in seconds.
  static const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

  // Per-method metric children, cached so that recording never looks up a family.
  struct MethodMetrics {
    std::string service;
    std::string method;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* handling = nullptr;
    std::array<std::atomic<prometheus::Counter*>, 17> handled{};  // by grpc::StatusCode
  };

  // For the interceptor: the metrics of the method with this path (the "unknown" bucket for an
  // undeclared one), and the handled counter for `code`.
  MethodMetrics& ForPath(std::string_view path);
  prometheus::Counter& Handled(MethodMetrics& method, grpc::StatusCode code);

 private:
  MethodMetrics& Declare(std::string service, std::string method, std::string_view type_label);

  prometheus::Family<prometheus::Counter>& started_family_;
  prometheus::Family<prometheus::Counter>& handled_family_;
  prometheus::Family<prometheus::Histogram>& handling_family_;
  // Keyed by path. Written only before the factory exists, then read without a lock.
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> methods_;
  std::unique_ptr<MethodMetrics> unknown_;
  std::atomic<bool> frozen_{false};
  std::mutex handled_mu_;  // serializes the creation of handled children
};

// The canonical name of a gRPC status code: "OK", "INVALID_ARGUMENT", ...
std::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace prm::metrics
