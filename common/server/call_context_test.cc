#include "common/server/call_context.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

TEST(TraceIdFromTraceparent, ReadsTheTraceIdOfAValidVersion00Header) {
  EXPECT_EQ(TraceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdFromTraceparent, AcceptsLaterVersionsWithExtraFields) {
  EXPECT_EQ(TraceIdFromTraceparent(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdFromTraceparent, RejectsMalformedHeaders) {
  for (const char* bad : {
           "",
           "garbage",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",          // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",       // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",       // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // 00 has no extras
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",       // wrong separators
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",       // not hex
       }) {
    EXPECT_EQ(TraceIdFromTraceparent(bad), "") << bad;
  }
}

TEST(IsUsableRequestId, AcceptsVisibleAsciiUpTo128Characters) {
  EXPECT_TRUE(IsUsableRequestId("req-123"));
  EXPECT_TRUE(IsUsableRequestId("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(IsUsableRequestId(std::string(128, 'a')));
  EXPECT_FALSE(IsUsableRequestId(""));
  EXPECT_FALSE(IsUsableRequestId(std::string(129, 'a')));
  EXPECT_FALSE(IsUsableRequestId("has space"));
  EXPECT_FALSE(IsUsableRequestId("new\nline"));
  EXPECT_FALSE(IsUsableRequestId("caf\xc3\xa9"));
}

// An open RPC on ServeUnauthenticated: Check answers SERVING; for service "throw" the handler
// throws, for "fail" it returns DATA_LOSS.
class OpenService final : public grpc::health::v1::Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    return ServeUnauthenticated(ctx, [&](const CallContext& call) -> absl::Status {
      authenticated = call.authenticated();
      request_id = call.request_id();
      if (request->service() == "throw") throw std::runtime_error("boom");
      if (request->service() == "fail") return absl::DataLossError("disk ate it");
      response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
      return absl::OkStatus();
    });
  }

  bool authenticated = true;
  std::string request_id;
};

struct OpenServer {
  OpenServer() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~OpenServer() { server->Shutdown(std::chrono::system_clock::now()); }

  grpc::Status Check(const std::string& service_name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("x-request-id", "open-1");
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service_name);
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&ctx, request, &response);
  }

  OpenService service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub;
};

TEST(ServeUnauthenticated, RunsTheHandlerWithoutAPrincipal) {
  OpenServer open;
  EXPECT_TRUE(open.Check("").ok());
  EXPECT_FALSE(open.service.authenticated);
  EXPECT_EQ(open.service.request_id, "open-1");
}

TEST(ServeUnauthenticated, AThrowingHandlerIsInternal) {
  OpenServer open;
  grpc::Status status = open.Check("throw");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error") << "the exception text stays in the log";
}

TEST(ServeUnauthenticated, ServerSideFailuresKeepTheirCode) {
  OpenServer open;
  EXPECT_EQ(open.Check("fail").error_code(), grpc::StatusCode::DATA_LOSS);
}

TEST(CallContextDeathTest, PrincipalOfAnUnauthenticatedCallAborts) {
  EXPECT_DEATH(
      {
        grpc::CallbackServerContext ctx;  // a context outside any call: no metadata
        CallContext call = AdmitUnauthenticatedCall(&ctx);
        (void)call.principal();
      },
      "unauthenticated call");
}

}  // namespace
}  // namespace prm::server
