// concierge-routing's request limits (common/server/limits.h) through its real gRPC handlers on
// an in-process server (127.0.0.1:0, a real channel), with its real SQLite command log and a
// fake clock: page sizes and the filter length. Its requests have no batch fields.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/kafka/outbox_relay.h"
#include "common/kafka/producer.h"
#include "common/server/limits.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/storage/command_log.h"
#include "common/storage/outbox.h"
#include "common/storage/processed_events.h"
#include "common/testing/status_matchers.h"
#include "common/runtime/test_runtime.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "prometheus/registry.h"
#include "services/concierge-routing/adapters/service.h"
#include "spdlog/spdlog.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;
using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using runtime::TestRuntime;

// The fields a refusal names, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(status)) fields.push_back(v.field);
  return fields;
}

const std::string kAdmin = "vendor_admin:acme:";

class RoutingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::critical);  // the unreachable test broker's complaints
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("routing-service-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto created = TestRuntime::Create("concierge-routing", dir_.string(), clock_, {command_log::Schema()});
    ASSERT_OK(created.status());
    runtime_ = std::move(*created);
    auto parts = BuildService(*runtime_, ServiceOptions{});  // no partner-registry
    ASSERT_OK(parts.status());
    parts_ = std::move(*parts);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& [service, name] : parts_->GrpcServices()) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::ConciergeRouting::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    parts_.reset();
    runtime_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (v1::ConciergeRouting::Stub::*method)(grpc::ClientContext*,
                                                                       const Req&, Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdmin));
    return FromGrpcStatus(((*stub_).*method)(&ctx, request, response));
  }

  absl::StatusOr<v1::ListActivitiesResponse> ListActivities(int32_t page_size,
                                                            const std::string& filter = "") {
    v1::ListActivitiesRequest request;
    request.set_vendor_id("acme");
    request.set_page_size(page_size);
    request.set_filter(filter);
    v1::ListActivitiesResponse response;
    RETURN_IF_ERROR(Call(&v1::ConciergeRouting::Stub::ListActivities, request, &response));
    return response;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<runtime::ServiceParts> parts_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ConciergeRouting::Stub> stub_;
};

TEST_F(RoutingServiceTest, ListPageSizeDefaultsToFiftyIsCappedAtFiveHundredAndNeverNegative) {
  for (int i = 0; i <= server::kMaxPageSize; ++i) {  // one more than a page holds
    v1::CreateActivityRequest request;
    request.mutable_activity()->set_vendor_id("acme");
    request.mutable_activity()->set_activity_id(absl::StrCat("a-", i));
    request.mutable_activity()->set_display_name(absl::StrCat("Activity ", i));
    v1::CreateActivityResponse response;
    ASSERT_OK(Call(&v1::ConciergeRouting::Stub::CreateActivity, request, &response));
  }

  absl::StatusOr<v1::ListActivitiesResponse> page = ListActivities(0);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->activities(), SizeIs(server::kDefaultPageSize));
  page = ListActivities(10000);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->activities(), SizeIs(server::kMaxPageSize));
  EXPECT_FALSE(page->next_page_token().empty());

  const absl::Status negative = ListActivities(-1).status();
  EXPECT_THAT(negative, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(negative), ElementsAre("page_size"));
}

TEST_F(RoutingServiceTest, OverLongFilterIsNamedWithTheOtherBadFields) {
  const std::string long_filter(server::kMaxFilterLength + 1, 'x');
  const absl::Status activities = ListActivities(-1, long_filter).status();
  EXPECT_THAT(activities, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(Fields(activities), ElementsAre("page_size", "filter"));

  v1::ListTasksRequest tasks;
  tasks.set_vendor_id("acme");
  tasks.set_filter(long_filter);
  tasks.set_order_by("priority");
  v1::ListTasksResponse tasks_response;
  const absl::Status tasks_status =
      Call(&v1::ConciergeRouting::Stub::ListTasks, tasks, &tasks_response);
  EXPECT_THAT(tasks_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(tasks_status), ElementsAre("filter", "order_by"));
}

}  // namespace
}  // namespace prm::routing
