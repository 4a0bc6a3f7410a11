// The per-RPC work of the RED-metrics interceptor (common/metrics/grpc_server_metrics.h)
// outside gRPC: method lookup, started counter, latency histogram and handled counter, from one
// thread and from two at once (the contention case on a 2-core machine).
//
//   build/bin/prm-red-metrics-bench

#include "benchmark/benchmark.h"
#include "common/metrics/grpc_server_metrics.h"
#include "prometheus/registry.h"

namespace prm::metrics {
namespace {

GrpcServerMetrics& Metrics() {
  static auto* registry = new prometheus::Registry();
  static auto* metrics = [] {
    auto* m = new GrpcServerMetrics(*registry);
    m->AddMethod("/prm.testing.v1.Probe/Ping", GrpcServerMetrics::RpcType::UNARY);
    m->AddMethod("/prm.testing.v1.Probe/Fail", GrpcServerMetrics::RpcType::UNARY);
    m->AddHealthAndReflection();
    static auto factory = m->NewInterceptorFactory();
    return m;
  }();
  return *metrics;
}

void BM_RecordUnaryCall(benchmark::State& state) {
  GrpcServerMetrics& metrics = Metrics();
  for (auto _ : state) {
    GrpcServerMetrics::MethodMetrics& method = metrics.ForPath("/prm.testing.v1.Probe/Ping");
    method.started->Increment();
    method.handling->Observe(0.00012);
    metrics.Handled(method, grpc::StatusCode::OK).Increment();
  }
}
BENCHMARK(BM_RecordUnaryCall)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace prm::metrics

BENCHMARK_MAIN();
