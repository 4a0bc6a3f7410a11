// partner-registry's request limits (common/server/limits.h) through its real gRPC handlers on
// an in-process server (127.0.0.1:0, a real channel), with its real SQLite command log and a
// fake clock: page sizes, the filter length and the FindPartners leads batch.

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
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prometheus/registry.h"
#include "services/partner-registry/adapters/service.h"
#include "spdlog/spdlog.h"

namespace prm::partner {
namespace {

namespace pb = ::prm::partner::v1;
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

class PartnerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::critical);  // the unreachable test broker's complaints
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("partner-limits-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto created = TestRuntime::Create("partner-registry", dir_.string(), clock_, {StoreSchema()});
    ASSERT_OK(created.status());
    runtime_ = std::move(*created);
    auto parts = BuildPartnerRegistry(*runtime_, {.tick_interval = absl::ZeroDuration()});
    ASSERT_OK(parts.status());
    parts_ = std::move(*parts);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& [service, name] : parts_->GrpcServices()) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::PartnerRegistry::NewStub(
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
  absl::Status Call(grpc::Status (pb::PartnerRegistry::Stub::*method)(grpc::ClientContext*,
                                                                        const Req&, Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kManager));
    return FromGrpcStatus(((*stub_).*method)(&ctx, request, response));
  }

  absl::StatusOr<pb::ListPartnersResponse> ListPartners(int32_t page_size,
                                                        const std::string& filter = "") {
    pb::ListPartnersRequest request;
    request.set_vendor_id("acme");
    request.set_page_size(page_size);
    request.set_filter(filter);
    pb::ListPartnersResponse response;
    RETURN_IF_ERROR(Call(&pb::PartnerRegistry::Stub::ListPartners, request, &response));
    return response;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<PartnerRegistryParts> parts_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::PartnerRegistry::Stub> stub_;
};

TEST_F(PartnerLimitsTest, ListPageSizeDefaultsToFiftyIsCappedAtFiveHundredAndNeverNegative) {
  for (int i = 0; i <= server::kMaxPageSize; ++i) {  // one more than a page holds
    pb::CreatePartnerRequest request;
    request.set_vendor_id("acme");
    pb::Partner* p = request.mutable_partner();
    p->set_legal_name(absl::StrCat("Reseller ", i, " GmbH"));
    p->set_tax_id(absl::StrCat("DE", 1000 + i));
    p->set_hq_country_code("DE");
    p->add_types(common::v1::PARTNER_TYPE_RESELLER);
    pb::CreatePartnerResponse response;
    ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, request, &response));
  }

  absl::StatusOr<pb::ListPartnersResponse> page = ListPartners(0);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->partners(), SizeIs(server::kDefaultPageSize));
  page = ListPartners(10000);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->partners(), SizeIs(server::kMaxPageSize));
  EXPECT_FALSE(page->next_page_token().empty());

  const absl::Status negative = ListPartners(-1).status();
  EXPECT_THAT(negative, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(negative), ElementsAre("page_size"));
}

TEST_F(PartnerLimitsTest, OverLongFilterAndOversizedLeadBatchAreNamedWithTheOtherBadFields) {
  const std::string long_filter(server::kMaxFilterLength + 1, 'x');
  const absl::Status partners = ListPartners(-1, long_filter).status();
  EXPECT_THAT(partners, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(Fields(partners), ElementsAre("page_size", "filter"));

  pb::ListEnrollmentsRequest enrollments;
  enrollments.set_vendor_id("acme");
  enrollments.set_order_by("tax_id");
  enrollments.set_filter(long_filter);
  pb::ListEnrollmentsResponse enrollments_response;
  const absl::Status enrollments_status =
      Call(&pb::PartnerRegistry::Stub::ListEnrollments, enrollments, &enrollments_response);
  EXPECT_THAT(enrollments_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(enrollments_status), ElementsAre("order_by", "filter"));

  pb::ListProgramsRequest programs;
  programs.set_page_size(-3);
  programs.set_filter("display_name = ");
  pb::ListProgramsResponse programs_response;
  const absl::Status programs_status =
      Call(&pb::PartnerRegistry::Stub::ListPrograms, programs, &programs_response);
  EXPECT_THAT(programs_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(programs_status), ElementsAre("vendor_id", "page_size", "filter"));

  pb::FindPartnersRequest find;
  for (int i = 0; i <= 100; ++i) find.add_leads()->set_lead_id(absl::StrCat("lead-", i));
  pb::FindPartnersResponse find_response;
  const absl::Status batch = Call(&pb::PartnerRegistry::Stub::FindPartners, find, &find_response);
  EXPECT_THAT(batch, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("100")));
  EXPECT_THAT(Fields(batch), ElementsAre("vendor_id", "leads"));
  // At the maximum the batch is accepted.
  find.set_vendor_id("acme");
  find.mutable_leads()->RemoveLast();
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::FindPartners, find, &find_response),
              ::prm::testing::IsOk());
  EXPECT_THAT(find_response.results(), SizeIs(100));
}

}  // namespace
}  // namespace prm::partner
