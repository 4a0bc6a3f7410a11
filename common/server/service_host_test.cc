// ServiceHost, Serve and the probe service, exercised through a real server on 127.0.0.1:0 and
// real gRPC channels.

#include "common/server/service_host.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/metrics/testing/http_get.h"
#include "common/server/call_context.h"
#include "common/server/limits.h"
#include "common/status/error_info.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "probe.grpc.pb.h"
#include "tests/support/probe_service.h"

namespace prm::server {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::prm::testing::ProbeService;
using ::prm::testing::StatusIs;
using ::prm::testing::v1::FailRequest;
using ::prm::testing::v1::FailResponse;
using ::prm::testing::v1::PingRequest;
using ::prm::testing::v1::PingResponse;
using ::prm::testing::v1::Probe;
using ::prm::testing::v1::SleepRequest;
using ::prm::testing::v1::SleepResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kGoodAuthorization[] = "Bearer good-token";
constexpr char kProbeService[] = "prm.testing.v1.Probe";

absl::StatusOr<auth::Principal> FakeAuthenticate(std::string_view authorization) {
  if (authorization != kGoodAuthorization) return absl::UnauthenticatedError("invalid token");
  auth::Principal principal;
  principal.subject = "tester";
  principal.role = auth::Role::kService;
  return principal;
}

MATCHER_P(Holds, value, "is OK and holds " + ::testing::PrintToString(value)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return *arg == value;
}

ServerOptions TestOptions() {
  ServerOptions options;
  options.metrics_listen = "";  // stopping civetweb takes up to 2 s; only metrics tests use it
  options.drain_timeout = absl::Seconds(5);
  return options;
}

// The probe service on a ServiceHost, with a channel and stubs to it.
struct TestServer {
  explicit TestServer(ServerOptions options = TestOptions())
      : probe(FakeAuthenticate), host(std::move(options), "probe-test", "9.9.9") {
    host.Register(&probe, Probe::service_full_name());
  }

  absl::Status Start() {
    absl::Status status = host.Start();
    if (!status.ok()) return status;
    channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host.selected_port()),
                                  grpc::InsecureChannelCredentials());
    probe_stub = Probe::NewStub(channel);
    health_stub = Health::NewStub(channel);
    return absl::OkStatus();
  }

  grpc::StatusCode Ping(std::string_view authorization = kGoodAuthorization) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!authorization.empty()) ctx.AddMetadata("authorization", std::string(authorization));
    PingResponse response;
    return probe_stub->Ping(&ctx, PingRequest(), &response).error_code();
  }

  absl::StatusOr<HealthCheckResponse::ServingStatus> Check(const std::string& service) {
    grpc::ClientContext ctx;  // no authorization: health stays open for probes
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health_stub->Check(&ctx, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response.status();
  }

  ProbeService probe;  // declared first: outlives the host's server
  ServiceHost host;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Probe::Stub> probe_stub;
  std::unique_ptr<Health::Stub> health_stub;
};

std::unique_ptr<grpc::ClientContext> AuthorizedContext() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", kGoodAuthorization);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// --- Serve: status mapping, authentication, call context ------------------------------------

TEST(Serve, FieldViolationsReachTheClientAsBadRequestDetails) {
  TestServer server;
  ASSERT_OK(server.Start());

  auto ctx = AuthorizedContext();
  FailResponse response;
  grpc::Status status = server.probe_stub->Fail(ctx.get(), FailRequest(), &response);

  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc_status.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  ASSERT_EQ(rpc_status.details_size(), 2);  // BadRequest, ErrorInfo
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc_status.details(0).UnpackTo(&bad_request));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc_status.details(1).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), "prm.testing.v1");  // the service's package
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(0).field(), "name");
  EXPECT_EQ(bad_request.field_violations(0).description(), "must not be empty");
  EXPECT_EQ(bad_request.field_violations(1).field(), "page_size");
  EXPECT_EQ(bad_request.field_violations(1).description(), "must be between 1 and 1000");
}

TEST(Serve, OtherCodesAndMessagesPassThroughWithTheirReason) {
  TestServer server;
  ASSERT_OK(server.Start());

  auto ctx = AuthorizedContext();
  FailRequest request;
  request.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  request.set_message("deal is already approved");
  FailResponse response;
  grpc::Status status = server.probe_stub->Fail(ctx.get(), request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "deal is already approved");
  EXPECT_EQ(ErrorReasonOf(FromGrpcStatus(status)), "ILLEGAL_STATE_TRANSITION");
}

// --- Limits: per-caller rate, deadline cap ---------------------------------------------------

absl::StatusOr<auth::Principal> PartnerAuthenticate(std::string_view authorization) {
  if (authorization != kGoodAuthorization) return absl::UnauthenticatedError("invalid token");
  return auth::Principal{.subject = "partner-user-1", .role = auth::Role::kPartnerUser,
                         .vendor_ids = {"v1"}, .partner_id = "p1"};
}

TEST(Limits, ACallerOverItsRateGetsResourceExhaustedWithRetryInfo) {
  ServerOptions options = TestOptions();
  options.rate_limit = 1;
  options.rate_limit_burst = 2;
  ProbeService probe(PartnerAuthenticate);
  ServiceHost host(options, "probe-test", "9.9.9");
  host.Register(&probe, Probe::service_full_name());
  ASSERT_OK(host.Start());
  auto stub = Probe::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", host.selected_port()),
                                                 grpc::InsecureChannelCredentials()));
  // Five calls at once: at most 2 (burst) + 1 per elapsed second get through.
  grpc::Status refused;
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    auto ctx = AuthorizedContext();
    PingResponse response;
    grpc::Status status = stub->Ping(ctx.get(), PingRequest(), &response);
    if (status.ok()) ++ok;
    else refused = status;
  }
  EXPECT_GE(ok, 2);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  const absl::Status back = FromGrpcStatus(refused);
  EXPECT_EQ(ErrorReasonOf(back), "RATE_LIMITED");
  ASSERT_TRUE(RetryDelayOf(back).has_value());
  EXPECT_GT(*RetryDelayOf(back), absl::ZeroDuration());
  EXPECT_LE(*RetryDelayOf(back), absl::Seconds(1));
  host.Shutdown();
}

TEST(Limits, ACallWithoutDeadlineIsCancelledAtTheHostsCap) {
  ServerOptions options = TestOptions();
  options.max_deadline = absl::Seconds(1);
  TestServer server(options);
  ASSERT_OK(server.Start());
  grpc::ClientContext ctx;  // no deadline
  ctx.AddMetadata("authorization", kGoodAuthorization);
  SleepRequest request;
  request.set_milliseconds(60'000);
  SleepResponse response;
  const grpc::Status status = server.probe_stub->Sleep(&ctx, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  server.host.Shutdown();
}

TEST(Limits, AShorterClientDeadlineIsKept) {
  ServerOptions options = TestOptions();
  options.max_deadline = absl::Seconds(30);
  TestServer server(options);
  ASSERT_OK(server.Start());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", kGoodAuthorization);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  SleepRequest request;
  request.set_milliseconds(60'000);
  SleepResponse response;
  const grpc::Status status = server.probe_stub->Sleep(&ctx, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  server.host.Shutdown();
}

TEST(Serve, CallWithoutAuthorizationIsUnauthenticatedAndTheHandlerDoesNotRun) {
  TestServer server;
  ASSERT_OK(server.Start());

  EXPECT_EQ(server.Ping(/*authorization=*/""), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext ctx;
  SleepRequest request;
  SleepResponse response;
  EXPECT_EQ(server.probe_stub->Sleep(&ctx, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.probe.handler_runs(), 0);
}

TEST(Serve, CallWithABadTokenIsUnauthenticatedAndTheHandlerDoesNotRun) {
  TestServer server;
  ASSERT_OK(server.Start());

  EXPECT_EQ(server.Ping("Bearer forged"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.Ping("Basic dXNlcjpwYXNz"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.probe.handler_runs(), 0);
}

TEST(Serve, CallWithAGoodTokenRunsTheHandlerWithItsPrincipal) {
  TestServer server;
  ASSERT_OK(server.Start());

  auto ctx = AuthorizedContext();
  PingRequest request;
  request.set_describe_call(true);
  PingResponse response;
  ASSERT_TRUE(server.probe_stub->Ping(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.subject(), "tester");
  EXPECT_EQ(server.probe.handler_runs(), 1);
}

TEST(Serve, CarriesTheClientsRequestIdAndTraceId) {
  TestServer server;
  ASSERT_OK(server.Start());

  auto ctx = AuthorizedContext();
  ctx->AddMetadata("x-request-id", "req-42");
  ctx->AddMetadata("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  PingRequest request;
  request.set_describe_call(true);
  PingResponse response;
  ASSERT_TRUE(server.probe_stub->Ping(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.request_id(), "req-42");
  EXPECT_EQ(response.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Serve, GeneratesARequestIdWhenTheClientsIsMissingOrUnusable) {
  TestServer server;
  ASSERT_OK(server.Start());

  for (const char* client_id : {"", "has spaces in it"}) {
    auto ctx = AuthorizedContext();
    if (*client_id != '\0') ctx->AddMetadata("x-request-id", client_id);
    ctx->AddMetadata("traceparent", "not-a-traceparent");
    PingRequest request;
    request.set_describe_call(true);
    PingResponse response;
    ASSERT_TRUE(server.probe_stub->Ping(ctx.get(), request, &response).ok());
    EXPECT_THAT(response.request_id(), MatchesRegex("[0-9a-f]{16}")) << client_id;
    EXPECT_EQ(response.trace_id(), "");
  }
}

// --- Health and reflection ---------------------------------------------------------------

TEST(ServiceHostHealth, OverallAndPerServiceStatusAreServingAfterStart) {
  TestServer server;
  ASSERT_OK(server.Start());

  EXPECT_THAT(server.Check(""), Holds(HealthCheckResponse::SERVING));
  EXPECT_THAT(server.Check(kProbeService), Holds(HealthCheckResponse::SERVING));
  EXPECT_THAT(server.Check("prm.testing.v1.NoSuchService"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ServiceHostHealth, SetServingChangesOverallAndEveryService) {
  TestServer server;
  ASSERT_OK(server.Start());

  server.host.SetServing(false);
  EXPECT_THAT(server.Check(""), Holds(HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(server.Check(kProbeService), Holds(HealthCheckResponse::NOT_SERVING));

  server.host.SetServing(true);
  EXPECT_THAT(server.Check(""), Holds(HealthCheckResponse::SERVING));

  server.host.SetServing(kProbeService, false);
  EXPECT_THAT(server.Check(""), Holds(HealthCheckResponse::SERVING));
  EXPECT_THAT(server.Check(kProbeService), Holds(HealthCheckResponse::NOT_SERVING));
}

// Lists services through grpc.reflection.v1alpha.ServerReflection with a generic stub:
// libgrpc++_reflection already contains the generated reflection messages, so a second copy
// cannot be linked into this test. The request and response are encoded by field number:
//   ServerReflectionRequest { string list_services = 7; }
//   ServerReflectionResponse { ListServiceResponse list_services_response = 6; }
//   ListServiceResponse { repeated ServiceResponse service = 1; }  ServiceResponse { name = 1 }
std::vector<std::string> ListServicesByReflection(grpc::Channel& channel) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t id) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), id);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return {};
  const std::string request("\x3a\x00", 2);  // field 7, length 0
  grpc::Slice slice(request);
  call->Write(grpc::ByteBuffer(&slice, 1), reinterpret_cast<void*>(2));
  if (!step(2)) return {};
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  const bool read = step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(read && status.ok()) << status.error_message();

  std::vector<grpc::Slice> slices;
  reply.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  std::vector<std::string> names;
  google::protobuf::UnknownFieldSet response;
  if (!response.ParseFromString(bytes)) return names;
  for (int i = 0; i < response.field_count(); ++i) {
    if (response.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(response.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      if (service.field_count() > 0) names.push_back(service.field(0).length_delimited());
    }
  }
  return names;
}

TEST(ServiceHostReflection, ListsTheProbeHealthAndReflectionServices) {
  TestServer server;
  ASSERT_OK(server.Start());

  EXPECT_THAT(ListServicesByReflection(*server.channel),
              IsSupersetOf({std::string(kProbeService), std::string("grpc.health.v1.Health"),
                            std::string("grpc.reflection.v1alpha.ServerReflection")}));
}

// --- Metrics -----------------------------------------------------------------------------

TEST(ServiceHostMetrics, CountsEveryCallByMethodAndCode) {
  ServerOptions options = TestOptions();
  options.metrics_listen = "127.0.0.1:0";
  TestServer server(options);
  ASSERT_OK(server.Start());
  ASSERT_GT(server.host.metrics_port(), 0);

  for (int i = 0; i < 3; ++i) ASSERT_EQ(server.Ping(), grpc::StatusCode::OK);
  ASSERT_EQ(server.Ping(/*authorization=*/""), grpc::StatusCode::UNAUTHENTICATED);
  auto ctx = AuthorizedContext();
  FailResponse fail_response;
  ASSERT_EQ(server.probe_stub->Fail(ctx.get(), FailRequest(), &fail_response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A path no service declares is counted, but under "unknown" labels.
  grpc::GenericStub generic(server.channel);
  grpc::ClientContext unknown_ctx;
  grpc::Slice empty_slice("", 0);
  grpc::ByteBuffer empty_request(&empty_slice, 1);
  grpc::ByteBuffer unknown_response;
  std::promise<grpc::Status> unknown_done;
  generic.UnaryCall(&unknown_ctx, "/prm.testing.v1.Probe/NoSuchMethod", grpc::StubOptions(),
                    &empty_request, &unknown_response,
                    [&](grpc::Status s) { unknown_done.set_value(s); });
  ASSERT_EQ(unknown_done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED);

  absl::StatusOr<std::string> body =
      metrics::testing::HttpGet(server.host.metrics_port(), "/metrics");
  ASSERT_OK(body);
  const std::string labels_ping = R"(grpc_method="Ping",grpc_service="prm.testing.v1.Probe")";
  const std::string labels_fail = R"(grpc_method="Fail",grpc_service="prm.testing.v1.Probe")";
  EXPECT_THAT(*body, HasSubstr("grpc_server_started_total{" + labels_ping +
                               R"(,grpc_type="unary"} 4)" + "\n"));
  EXPECT_THAT(*body, HasSubstr(R"(grpc_server_handled_total{grpc_code="OK",)" + labels_ping +
                               "} 3\n"));
  EXPECT_THAT(*body, HasSubstr(R"(grpc_server_handled_total{grpc_code="UNAUTHENTICATED",)" +
                               labels_ping + "} 1\n"));
  EXPECT_THAT(*body, HasSubstr(R"(grpc_server_handled_total{grpc_code="INVALID_ARGUMENT",)" +
                               labels_fail + "} 1\n"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handling_seconds_count{" + labels_ping + "} 4\n"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handling_seconds_bucket{" + labels_ping +
                               R"(,le="+Inf"} 4)" + "\n"));
  EXPECT_THAT(*body, HasSubstr("grpc_server_handling_seconds_count{" + labels_fail + "} 1\n"));
  EXPECT_THAT(*body, HasSubstr(R"(grpc_server_handled_total{grpc_code="UNIMPLEMENTED",)"
                               R"(grpc_method="unknown",grpc_service="unknown"} 1)"
                               "\n"));
  EXPECT_THAT(*body, HasSubstr(R"(grpc_server_started_total{grpc_method="Sleep",)"
                               R"(grpc_service="prm.testing.v1.Probe",grpc_type="unary"} 0)"
                               "\n"))
      << "declared methods are exported from the start";
  EXPECT_THAT(*body, HasSubstr(R"(build_info{service="probe-test",version="9.9.9"} 1)"));
  EXPECT_THAT(*body, Not(HasSubstr("NoSuchMethod")));
}

TEST(ServiceHostMetrics, NoRpcMetricsWhenDisabled) {
  ServerOptions options = TestOptions();
  options.metrics_listen = "127.0.0.1:0";
  options.rpc_metrics = false;
  TestServer server(options);
  ASSERT_OK(server.Start());
  ASSERT_EQ(server.Ping(), grpc::StatusCode::OK);

  absl::StatusOr<std::string> body =
      metrics::testing::HttpGet(server.host.metrics_port(), "/metrics");
  ASSERT_OK(body);
  EXPECT_THAT(*body, Not(HasSubstr("grpc_server_")));
  EXPECT_THAT(*body, HasSubstr("build_info{"));
}

// --- Limits and start-up errors ----------------------------------------------------------

TEST(ServiceHostLimits, RequestOverTheSizeLimitIsResourceExhaustedBeforeTheHandler) {
  ServerOptions options = TestOptions();
  options.max_receive_message_bytes = 1024;
  TestServer server(options);
  ASSERT_OK(server.Start());

  PingRequest big;
  big.set_payload(std::string(2048, 'x'));
  PingResponse response;
  auto ctx = AuthorizedContext();
  EXPECT_EQ(server.probe_stub->Ping(ctx.get(), big, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(server.probe.handler_runs(), 0);

  PingRequest small;
  small.set_payload(std::string(512, 'x'));
  auto ctx2 = AuthorizedContext();
  EXPECT_TRUE(server.probe_stub->Ping(ctx2.get(), small, &response).ok());
}

// A unary call with raw request bytes, through the generic stub.
grpc::Status CallWithBytes(TestServer& server, const std::string& method,
                           const std::string& bytes, std::string_view authorization) {
  grpc::GenericStub stub(server.channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!authorization.empty()) ctx.AddMetadata("authorization", std::string(authorization));
  grpc::CompletionQueue cq;
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&ctx, method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(FromGrpcStatus(status))) {
    fields.push_back(v.field);
  }
  return fields;
}

// Bytes that are no request message never reach a handler, and the client learns why: a
// string that is not valid UTF-8 (proto3 refuses it), a truncated field, nesting past the limit.
TEST(ServiceHostLimits, UnparsableRequestIsInvalidArgumentNamingTheRequestType) {
  TestServer server;
  ASSERT_OK(server.Start());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"invalid UTF-8", std::string("\x08\x05\x12\x02\xff\xfe", 6)},  // code 5, message
      {"truncated", std::string("\x12\x05" "ab", 4)},
      {"bad wire type", std::string("\x0f\x01", 2)},
  };
  for (const auto& [name, bytes] : cases) {
    const grpc::Status status =
        CallWithBytes(server, "/prm.testing.v1.Probe/Fail", bytes, kGoodAuthorization);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_THAT(status.error_message(), HasSubstr("could not be read")) << name;
    EXPECT_THAT(ViolatedFields(status), ElementsAre("request")) << name;
    google::rpc::Status rpc_status;
    ASSERT_TRUE(rpc_status.ParseFromString(status.error_details())) << name;
    google::rpc::BadRequest bad_request;
    ASSERT_TRUE(rpc_status.details(0).UnpackTo(&bad_request)) << name;
    EXPECT_THAT(bad_request.field_violations(0).description(),
                HasSubstr("prm.testing.v1.FailRequest"));
  }
  EXPECT_EQ(server.probe.handler_runs(), 0);
  // The same bytes made valid reach the handler.
  EXPECT_EQ(CallWithBytes(server, "/prm.testing.v1.Probe/Fail", std::string("\x08\x05", 2),
                          kGoodAuthorization)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server.probe.handler_runs(), 1);
}

// Every string of every request is bounded before the handler runs; a caller who is not
// authenticated learns only that.
TEST(ServiceHostLimits, StringOverTheLimitIsInvalidArgumentNamingTheField) {
  TestServer server;
  ASSERT_OK(server.Start());
  FailRequest request;
  request.set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  request.set_message(std::string(kMaxStringBytes + 1, 'm'));
  FailResponse response;
  auto ctx = AuthorizedContext();
  const grpc::Status status = server.probe_stub->Fail(ctx.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("message"));
  EXPECT_EQ(server.probe.handler_runs(), 0);

  grpc::ClientContext anonymous;
  EXPECT_EQ(server.probe_stub->Fail(&anonymous, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // At the limit the handler runs (code 0: the probe's own violations on name and page_size).
  request.set_code(0);
  request.set_message(std::string(kMaxStringBytes, 'm'));
  auto ctx2 = AuthorizedContext();
  EXPECT_THAT(ViolatedFields(server.probe_stub->Fail(ctx2.get(), request, &response)),
              ElementsAre("name", "page_size"));
  EXPECT_EQ(server.probe.handler_runs(), 1);
}

TEST(ServiceHost, PortInUseIsUnavailable) {
  TestServer first;
  ASSERT_OK(first.Start());
  ServerOptions options = TestOptions();
  options.grpc_listen = absl::StrCat("127.0.0.1:", first.host.selected_port());
  TestServer second(options);
  EXPECT_THAT(second.host.Start(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(options.grpc_listen)));
}

TEST(ServiceHost, MetricsPortInUseIsUnavailable) {
  ServerOptions options = TestOptions();
  options.metrics_listen = "127.0.0.1:0";
  TestServer first(options);
  ASSERT_OK(first.Start());
  options.metrics_listen = absl::StrCat("127.0.0.1:", first.host.metrics_port());
  TestServer second(options);
  EXPECT_THAT(second.host.Start(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ServiceHost, BadOptionsAreInvalidArgument) {
  ServerOptions options = TestOptions();
  options.grpc_listen = "no-port";
  TestServer server(options);
  EXPECT_THAT(server.host.Start(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ServiceHost, StartingTwiceIsFailedPrecondition) {
  TestServer server;
  ASSERT_OK(server.Start());
  EXPECT_THAT(server.host.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ServiceHost, ServiceNameWithoutDescriptorIsFailedPrecondition) {
  ProbeService probe(FakeAuthenticate);
  ServiceHost host(TestOptions(), "probe-test", "9.9.9");
  host.Register(&probe, "prm.testing.v1.Misnamed");
  EXPECT_THAT(host.Start(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Misnamed")));
}

TEST(ServiceHost, SameServiceRegisteredTwiceIsFailedPrecondition) {
  ProbeService probe(FakeAuthenticate);
  ServiceHost host(TestOptions(), "probe-test", "9.9.9");
  host.Register(&probe, Probe::service_full_name());
  host.Register(&probe, Probe::service_full_name());
  EXPECT_THAT(host.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// --- Drain -------------------------------------------------------------------------------

struct DrainLog {
  std::mutex mu;
  std::vector<std::string> steps;
  void Add(std::string step) {
    std::lock_guard lock(mu);
    steps.push_back(std::move(step));
  }
};

// Starts an authorized Sleep call; the future yields its status.
std::future<grpc::Status> StartSleep(Probe::Stub& stub, int64_t milliseconds,
                                     std::unique_ptr<grpc::ClientContext>& ctx,
                                     SleepResponse& response) {
  auto done = std::make_shared<std::promise<grpc::Status>>();
  std::future<grpc::Status> result = done->get_future();
  ctx = AuthorizedContext();
  SleepRequest request;
  request.set_milliseconds(milliseconds);
  stub.async()->Sleep(ctx.get(), &request, &response,
                      [done](grpc::Status status) { done->set_value(std::move(status)); });
  return result;
}

void WaitForHandlerRuns(const ProbeService& probe, int runs) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (probe.handler_runs() < runs && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_GE(probe.handler_runs(), runs);
}

// `count` Fail calls (answering ABORTED) whose handlers wait in the probe until Release.
class HeldFails {
 public:
  HeldFails(TestServer& server, int count) : server_(server), calls_(count) {
    server_.probe.HoldFails(true);
    for (Call& call : calls_) {
      auto done = std::make_shared<std::promise<grpc::Status>>();
      call.status = done->get_future();
      call.ctx = AuthorizedContext();
      call.request.set_code(static_cast<int>(grpc::StatusCode::ABORTED));
      call.request.set_message(ProbeService::kHoldMessage);
      server_.probe_stub->async()->Fail(
          call.ctx.get(), &call.request, &call.response,
          [done](grpc::Status status) { done->set_value(std::move(status)); });
    }
  }
  ~HeldFails() {  // also after a failed assertion: no call may outlive its context
    server_.probe.HoldFails(false);
    for (Call& call : calls_) {
      if (call.status.valid()) call.status.wait_for(std::chrono::seconds(10));
    }
  }

  // True once every handler is waiting (10 s at most).
  bool AllWaiting() const {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (server_.probe.held_fails() < static_cast<int>(calls_.size()) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return server_.probe.held_fails() >= static_cast<int>(calls_.size());
  }

  // Lets the handlers go on; true when every call then ended ABORTED.
  bool Release() {
    server_.probe.HoldFails(false);
    bool all_aborted = true;
    for (Call& call : calls_) {
      all_aborted &= call.status.get().error_code() == grpc::StatusCode::ABORTED;
    }
    return all_aborted;
  }

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    FailRequest request;
    FailResponse response;
    std::future<grpc::Status> status;
  };
  TestServer& server_;
  std::vector<Call> calls_;
};

grpc::StatusCode FailWithin(Probe::Stub& stub, grpc::StatusCode code,
                            std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", kGoodAuthorization);
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  FailRequest request;
  request.set_code(static_cast<int>(code));
  FailResponse response;
  return stub.Fail(&ctx, request, &response).error_code();
}

// gRPC 1.51 runs callback handlers on max(2, cores / 2) threads; handlers that block there (a
// commit's fsync) used to stop the whole server. Serve runs them on the host's handler pool.
TEST(ServiceHostHandlers, HandlersThatBlockDoNotStopOtherCalls) {
  ServerOptions options = TestOptions();
  options.handler_threads = 8;
  TestServer server(options);
  ASSERT_OK(server.Start());
  constexpr int kHeld = 6;  // more than gRPC's own callback threads on any machine we run on
  HeldFails held(server, kHeld);
  EXPECT_TRUE(held.AllWaiting()) << "only " << server.probe.held_fails() << " of " << kHeld
                                 << " blocking handlers started";

  // With six handlers blocked, gRPC's threads still answer an inline call, and the pool's two
  // free threads a pooled one.
  EXPECT_EQ(server.Ping(), grpc::StatusCode::OK);
  EXPECT_EQ(FailWithin(*server.probe_stub, grpc::StatusCode::NOT_FOUND, std::chrono::seconds(5)),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server.probe.held_fails(), kHeld);
  EXPECT_TRUE(held.Release());
  server.host.Shutdown();
}

TEST(ServiceHostHandlers, TheRestOfThePoolServesWhileSomeHandlersWait) {
  ServerOptions options = TestOptions();
  options.handler_threads = 3;
  TestServer server(options);
  ASSERT_OK(server.Start());
  HeldFails held(server, 2);
  EXPECT_TRUE(held.AllWaiting());
  // Two of three threads wait; the third answers a pooled call meanwhile (with a pool of two
  // this call would wait past its deadline).
  EXPECT_EQ(FailWithin(*server.probe_stub, grpc::StatusCode::NOT_FOUND, std::chrono::seconds(5)),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server.probe.held_fails(), 2) << "the held handlers ended early";
  EXPECT_TRUE(held.Release());
  server.host.Shutdown();
}

TEST(ServiceHostHandlers, ACallWhoseDeadlinePassesWhileWaitingForAThreadDoesNotRun) {
  ServerOptions options = TestOptions();
  options.handler_threads = 1;
  TestServer server(options);
  ASSERT_OK(server.Start());
  HeldFails held(server, 1);
  EXPECT_TRUE(held.AllWaiting());

  // The only handler thread is busy: this call waits in the queue past its deadline.
  EXPECT_EQ(FailWithin(*server.probe_stub, grpc::StatusCode::NOT_FOUND,
                       std::chrono::milliseconds(200)),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's copy of the deadline may trail the client's by the request's transit time.
  absl::SleepFor(absl::Milliseconds(100));

  EXPECT_TRUE(held.Release());
  // Calls are taken first come, first served: once this one ran, the expired call was dropped.
  EXPECT_EQ(FailWithin(*server.probe_stub, grpc::StatusCode::NOT_FOUND, std::chrono::seconds(5)),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server.probe.handler_runs(), 2) << "the expired call's handler ran";
  server.host.Shutdown();
}

TEST(ServerOptions, HandlerThreadsOutOfRangeAreRefused) {
  ServerOptions options = TestOptions();
  options.handler_threads = 0;
  EXPECT_THAT(ValidateServerOptions(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.handler_threads = 1025;
  EXPECT_THAT(ValidateServerOptions(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ServiceHostDrain, InFlightCallsFinishNewCallsFailAndStepsRunInReverse) {
  TestServer server;
  DrainLog log;
  server.host.AddDrainStep("first", [&] { log.Add("first"); });
  server.host.AddDrainStep("second", [&] { log.Add("second"); });
  ASSERT_OK(server.Start());

  // A health watcher sees the drain begin.
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest watch_request;
  auto watch = server.health_stub->Watch(&watch_ctx, watch_request);
  HealthCheckResponse health;
  ASSERT_TRUE(watch->Read(&health));
  ASSERT_EQ(health.status(), HealthCheckResponse::SERVING);

  std::unique_ptr<grpc::ClientContext> sleep_ctx;
  SleepResponse sleep_response;
  const absl::Time sleep_start = absl::Now();
  std::future<grpc::Status> sleep = StartSleep(*server.probe_stub, 300, sleep_ctx, sleep_response);
  WaitForHandlerRuns(server.probe, 1);

  std::thread drainer([&] { server.host.Shutdown(); });
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::NOT_SERVING);

  absl::SleepFor(absl::Milliseconds(100));  // let the server stop accepting
  ASSERT_EQ(sleep.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the Sleep call is still in flight";
  EXPECT_EQ(server.Ping(), grpc::StatusCode::UNAVAILABLE);

  EXPECT_FALSE(watch->Read(&health)) << "the Watch stream ends with the drain";
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  EXPECT_TRUE(sleep.get().ok()) << "the in-flight call completes";
  EXPECT_GE(absl::Now() - sleep_start, absl::Milliseconds(300));
  drainer.join();
  EXPECT_LT(absl::Now() - sleep_start, absl::Seconds(3)) << "the drain did not wait for the bound";
  EXPECT_THAT(log.steps, ElementsAre("second", "first"));
  EXPECT_THAT(server.Check(""), StatusIs(absl::StatusCode::kUnavailable));
  server.host.SetServing(true);  // ignored after the drain; must not crash
}

TEST(ServiceHostDrain, CallsOutlivingTheDrainTimeoutAreCancelled) {
  ServerOptions options = TestOptions();
  options.drain_timeout = absl::Milliseconds(200);
  TestServer server(options);
  ASSERT_OK(server.Start());

  std::unique_ptr<grpc::ClientContext> sleep_ctx;
  SleepResponse sleep_response;
  std::future<grpc::Status> sleep =
      StartSleep(*server.probe_stub, 30'000, sleep_ctx, sleep_response);
  WaitForHandlerRuns(server.probe, 1);

  const absl::Time start = absl::Now();
  server.host.Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(sleep.get().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(ServiceHostDrain, StreamClosersEndLongCallsWithoutWaitingForTheTimeout) {
  TestServer server;  // drain_timeout 5 s
  DrainLog log;
  server.host.AddStreamCloser("probe sleeps", [&] {
    log.Add("closer");
    server.probe.EndSleeps();
  });
  server.host.AddDrainStep("step", [&] { log.Add("step"); });
  ASSERT_OK(server.Start());

  std::unique_ptr<grpc::ClientContext> sleep_ctx;
  SleepResponse sleep_response;
  std::future<grpc::Status> sleep =
      StartSleep(*server.probe_stub, 30'000, sleep_ctx, sleep_response);
  WaitForHandlerRuns(server.probe, 1);

  const absl::Time start = absl::Now();
  server.host.Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  grpc::Status status = sleep.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server is shutting down");
  EXPECT_THAT(log.steps, ElementsAre("closer", "step"));
}

TEST(ServiceHostHealth, WatchSeesChangesAndUnknownServices) {
  TestServer server;
  ASSERT_OK(server.Start());

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest request;
  request.set_service(kProbeService);
  auto watch = server.health_stub->Watch(&ctx, request);
  HealthCheckResponse health;
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
  server.host.SetServing(false);
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::NOT_SERVING);
  ctx.TryCancel();

  grpc::ClientContext unknown_ctx;
  unknown_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  request.set_service("prm.testing.v1.NoSuchService");
  auto unknown = server.health_stub->Watch(&unknown_ctx, request);
  ASSERT_TRUE(unknown->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  unknown_ctx.TryCancel();
}

TEST(ServiceHostDrain, ShutdownIsIdempotentAndConcurrentCallersWait) {
  TestServer server;
  std::atomic<int> step_runs{0};
  server.host.AddDrainStep("count", [&] {
    absl::SleepFor(absl::Milliseconds(100));
    ++step_runs;
  });
  ASSERT_OK(server.Start());

  std::thread other([&] {
    server.host.Shutdown();
    EXPECT_EQ(step_runs.load(), 1) << "returns only once the drain is done";
  });
  server.host.Shutdown();
  EXPECT_EQ(step_runs.load(), 1);
  other.join();
  server.host.Shutdown();
  EXPECT_EQ(step_runs.load(), 1);
}

TEST(ServiceHostDrain, ThrowingDrainStepIsLoggedAndTheOthersStillRun) {
  TestServer server;
  DrainLog log;
  server.host.AddDrainStep("first", [&] { log.Add("first"); });
  server.host.AddDrainStep("throws", [] { throw std::runtime_error("broker gone"); });
  ASSERT_OK(server.Start());
  server.host.Shutdown();
  EXPECT_THAT(log.steps, ElementsAre("first"));
}

TEST(ServiceHostDrain, RunUntilSignalDrainsWhenShutdownIsRequested) {
  TestServer server;
  DrainLog log;
  server.host.AddDrainStep("step", [&] { log.Add("step"); });
  ASSERT_OK(server.Start());

  std::promise<int> exit_code;
  std::thread runner([&] { exit_code.set_value(server.host.RunUntilSignal()); });
  ASSERT_EQ(server.Ping(), grpc::StatusCode::OK);
  server.host.RequestShutdown();
  std::future<int> result = exit_code.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(result.get(), 0);
  runner.join();
  EXPECT_THAT(log.steps, ElementsAre("step"));
}

TEST(ServiceHostDrain, RunUntilSignalWithoutStartReturnsOne) {
  ProbeService probe(FakeAuthenticate);
  ServiceHost host(TestOptions(), "probe-test", "9.9.9");
  EXPECT_EQ(host.RunUntilSignal(), 1);
}

// --- A real process receiving SIGTERM ----------------------------------------------------

// Reads from `fd` until `needle` appears (never, when empty) or the stream ends; returns all
// text read.
std::string ReadUntil(int fd, std::string_view needle) {
  std::string text;
  char buf[4096];
  while (needle.empty() || text.find(needle) == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

TEST(ServiceHostSignal, ProcessDrainsAndExitsZeroOnSigterm) {
  int out_pipe[2];
  int err_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  ASSERT_EQ(::pipe(err_pipe), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  const char* path = SIGNAL_CHILD_PATH;
  char* argv[] = {const_cast<char*>(path), nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, path, &actions, nullptr, argv, envp), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  std::string err = ReadUntil(err_pipe[0], "\n");
  int port = 0;
  ASSERT_EQ(std::sscanf(err.c_str(), "port %d", &port), 1) << err;

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = Probe::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer anything");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  PingResponse response;
  ASSERT_TRUE(stub->Ping(&ctx, PingRequest(), &response).ok());

  const absl::Time signalled = absl::Now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  err += ReadUntil(err_pipe[0], "");  // to EOF
  const std::string out = ReadUntil(out_pipe[0], "");
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);

  ASSERT_TRUE(WIFEXITED(wait_status)) << "killed by signal " << WTERMSIG(wait_status);
  EXPECT_EQ(WEXITSTATUS(wait_status), 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5)) << out;
  EXPECT_THAT(err, HasSubstr("drain step ran"));
  EXPECT_THAT(out, HasSubstr(R"("msg":"SIGTERM: draining)"));
  EXPECT_THAT(out, HasSubstr(R"("service":"signal-child")"));
  EXPECT_THAT(out, HasSubstr("signal-child drained in"));
}

}  // namespace
}  // namespace prm::server
