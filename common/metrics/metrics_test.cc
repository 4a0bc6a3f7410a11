#include <memory>
#include <string>

#include "common/metrics/grpc_server_metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/metrics/testing/http_get.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"

namespace prm::metrics {
namespace {

using ::prm::metrics::testing::HttpGet;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MetricsEndpoint, ServesBuildInfoAndRegisteredMetrics) {
  auto registry = std::make_shared<prometheus::Registry>();
  AddBuildInfo(*registry, "partner-registry", "1.2.3");
  prometheus::BuildCounter()
      .Name("things_total")
      .Help("Things.")
      .Register(*registry)
      .Add({})
      .Increment(3);

  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_OK(endpoint);
  ASSERT_GT((*endpoint)->port(), 0);

  absl::StatusOr<std::string> body = HttpGet((*endpoint)->port(), "/metrics");
  ASSERT_OK(body);
  EXPECT_THAT(*body, HasSubstr("build_info{service=\"partner-registry\",version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(*body, HasSubstr("things_total 3\n"));
}

TEST(MetricsEndpoint, StopsServingWhenDestroyed) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_OK(endpoint);
  const int port = (*endpoint)->port();
  endpoint->reset();
  EXPECT_THAT(HttpGet(port, "/metrics"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(MetricsEndpoint, PortInUseIsUnavailable) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_OK(first);
  auto second =
      MetricsEndpoint::Start("127.0.0.1:" + std::to_string((*first)->port()), registry);
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot serve metrics")));
}

TEST(MetricsEndpoint, AddressWithoutPortIsInvalidArgument) {
  auto registry = std::make_shared<prometheus::Registry>();
  EXPECT_THAT(MetricsEndpoint::Start("localhost", registry),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MetricsEndpoint::Start("127.0.0.1:99999", registry),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusCodeName, UsesCanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
}

TEST(GrpcServerMetrics, DeclaredMethodsStartAtZeroAndUndeclaredOnesShareOneBucket) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  metrics.AddMethod("/prm.x.v1.Things/Get", GrpcServerMetrics::RpcType::UNARY);
  auto factory = metrics.NewInterceptorFactory();

  GrpcServerMetrics::MethodMetrics& get = metrics.ForPath("/prm.x.v1.Things/Get");
  EXPECT_EQ(get.service, "prm.x.v1.Things");
  EXPECT_EQ(get.method, "Get");
  EXPECT_EQ(get.started->Value(), 0);

  GrpcServerMetrics::MethodMetrics& other = metrics.ForPath("/prm.x.v1.Things/Nope");
  EXPECT_EQ(&other, &metrics.ForPath("/evil/path/with/slashes"));
  EXPECT_EQ(other.service, "unknown");
  EXPECT_EQ(other.method, "unknown");

  prometheus::Counter& ok = metrics.Handled(get, grpc::StatusCode::OK);
  EXPECT_EQ(&ok, &metrics.Handled(get, grpc::StatusCode::OK)) << "children are cached";
  EXPECT_NE(&ok, &metrics.Handled(get, grpc::StatusCode::NOT_FOUND));
}

TEST(GrpcServerMetricsDeathTest, DeclaringAfterTheFactoryAborts) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  auto factory = metrics.NewInterceptorFactory();
  EXPECT_DEATH(metrics.AddMethod("/a.B/C", GrpcServerMetrics::RpcType::UNARY),
               "declared after the factory");
}

}  // namespace
}  // namespace prm::metrics
