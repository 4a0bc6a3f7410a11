// deal-registration's request limits (common/server/limits.h) through its real gRPC handlers on
// an in-process server (127.0.0.1:0, a real channel), with its real SQLite command log and a
// fake clock: page sizes, the filter length and the ReturnDeal fields_to_fix batch.

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
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prometheus/registry.h"
#include "services/deal-registration/adapters/service.h"
#include "spdlog/spdlog.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
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

const std::string kManager = "channel_manager:acme:";

class DealServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::critical);  // the unreachable test broker's complaints
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("deal-service-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto created = TestRuntime::Create("deal-registration", dir_.string(), clock_, {command_log::Schema()});
    ASSERT_OK(created.status());
    runtime_ = std::move(*created);
    // The timer thread never fires during a test.
    auto parts = BuildService(*runtime_, {.timer_interval = absl::Hours(1)});
    ASSERT_OK(parts.status());
    parts_ = std::move(*parts);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& [service, name] : parts_->GrpcServices()) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::DealRegistration::NewStub(
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
  absl::Status Call(grpc::Status (v1::DealRegistration::Stub::*method)(grpc::ClientContext*,
                                                                       const Req&, Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kManager));
    return FromGrpcStatus(((*stub_).*method)(&ctx, request, response));
  }

  // A draft deal of partner p-1 at acme (a draft needs nothing more).
  std::string CreateDraft(int i) {
    v1::CreateDealRequest request;
    request.mutable_deal()->set_vendor_id("acme");
    request.mutable_deal()->set_partner_id("p-1");
    request.mutable_deal()->set_title(absl::StrCat("Draft ", i));
    v1::CreateDealResponse response;
    EXPECT_OK(Call(&v1::DealRegistration::Stub::CreateDeal, request, &response));
    return response.deal().deal_id();
  }

  absl::StatusOr<v1::ListDealsResponse> ListDeals(int32_t page_size,
                                                  const std::string& filter = "") {
    v1::ListDealsRequest request;
    request.set_vendor_id("acme");
    request.set_page_size(page_size);
    request.set_filter(filter);
    v1::ListDealsResponse response;
    RETURN_IF_ERROR(Call(&v1::DealRegistration::Stub::ListDeals, request, &response));
    return response;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<runtime::ServiceParts> parts_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::DealRegistration::Stub> stub_;
};

TEST_F(DealServiceTest, ListPageSizeDefaultsToFiftyIsCappedAtFiveHundredAndNeverNegative) {
  for (int i = 0; i <= server::kMaxPageSize; ++i) CreateDraft(i);  // one more than a page holds

  absl::StatusOr<v1::ListDealsResponse> page = ListDeals(0);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->deals(), SizeIs(server::kDefaultPageSize));
  page = ListDeals(10000);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->deals(), SizeIs(server::kMaxPageSize));
  EXPECT_FALSE(page->next_page_token().empty());

  const absl::Status negative = ListDeals(-1).status();
  EXPECT_THAT(negative, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(negative), ElementsAre("page_size"));

  v1::ListDealNotesRequest notes;
  notes.set_vendor_id("acme");
  notes.set_page_size(-1);
  v1::ListDealNotesResponse notes_response;
  const absl::Status notes_status =
      Call(&v1::DealRegistration::Stub::ListDealNotes, notes, &notes_response);
  EXPECT_THAT(notes_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(notes_status), ElementsAre("deal_id", "page_size"));
}

TEST_F(DealServiceTest, OverLongFilterAndOversizedFieldsToFixAreNamedWithTheOtherBadFields) {
  const std::string long_filter(server::kMaxFilterLength + 1, 'x');
  const absl::Status list = ListDeals(-1, long_filter).status();
  EXPECT_THAT(list, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(Fields(list), ElementsAre("page_size", "filter"));

  v1::ListDealAuditEntriesRequest audit;
  audit.set_vendor_id("acme");
  audit.set_deal_id("d-1");
  audit.set_filter(long_filter);
  v1::ListDealAuditEntriesResponse audit_response;
  const absl::Status audit_status =
      Call(&v1::DealRegistration::Stub::ListDealAuditEntries, audit, &audit_response);
  EXPECT_THAT(audit_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(audit_status), ElementsAre("filter"));

  const std::string deal_id = CreateDraft(0);
  v1::ReturnDealRequest ret;
  ret.set_vendor_id("acme");
  ret.set_note("Fix these");
  for (int i = 0; i <= 50; ++i) ret.add_fields_to_fix(absl::StrCat("products[", i, "].sku"));
  v1::ReturnDealResponse ret_response;
  const absl::Status batch = Call(&v1::DealRegistration::Stub::ReturnDeal, ret, &ret_response);
  EXPECT_THAT(batch, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("50")));
  EXPECT_THAT(Fields(batch), ElementsAre("deal_id", "fields_to_fix"));
  // At the maximum the request reaches the deal (which is a draft, not under review).
  ret.set_deal_id(deal_id);
  ret.mutable_fields_to_fix()->RemoveLast();
  EXPECT_THAT(Call(&v1::DealRegistration::Stub::ReturnDeal, ret, &ret_response),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace prm::deal
