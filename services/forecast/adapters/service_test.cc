// forecast's request limits (common/server/limits.h) through its real gRPC handlers on an
// in-process server (127.0.0.1:0, a real channel), with its real SQLite command log and a fake
// clock: page sizes, the filter length and the SetExchangeRates batch.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "common/events/cloud_event.h"
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
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prometheus/registry.h"
#include "services/forecast/adapters/service.h"
#include "spdlog/spdlog.h"

namespace prm::forecast {
namespace {

namespace fv1 = ::prm::forecast::v1;
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

class ForecastServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::critical);  // the unreachable test broker's complaints
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("forecast-service-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto created = TestRuntime::Create("forecast", dir_.string(), clock_, {command_log::Schema()});
    ASSERT_OK(created.status());
    runtime_ = std::move(*created);
    auto parts = BuildService(*runtime_);
    ASSERT_OK(parts.status());
    parts_ = std::move(*parts);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& [service, name] : parts_->GrpcServices()) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = fv1::Forecast::NewStub(
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
  absl::Status Call(grpc::Status (fv1::Forecast::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                 Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdmin));
    return FromGrpcStatus(((*stub_).*method)(&ctx, request, response));
  }

  // `count` EUR rates of acme effective on consecutive days from 2020-01-01 + `first` days.
  fv1::SetExchangeRatesRequest Rates(int first, int count) {
    fv1::SetExchangeRatesRequest request;
    request.set_vendor_id("acme");
    for (int i = first; i < first + count; ++i) {
      const absl::CivilDay day = absl::CivilDay(2020, 1, 1) + i;
      fv1::ExchangeRate* rate = request.add_rates();
      rate->set_vendor_id("acme");
      rate->set_currency_code("EUR");
      rate->mutable_effective_date()->set_year(static_cast<int32_t>(day.year()));
      rate->mutable_effective_date()->set_month(day.month());
      rate->mutable_effective_date()->set_day(day.day());
      rate->set_rate("1.08");
    }
    return request;
  }

  absl::StatusOr<fv1::ListExchangeRatesResponse> ListRates(int32_t page_size,
                                                           const std::string& filter = "") {
    fv1::ListExchangeRatesRequest request;
    request.set_vendor_id("acme");
    request.set_page_size(page_size);
    request.set_filter(filter);
    fv1::ListExchangeRatesResponse response;
    RETURN_IF_ERROR(Call(&fv1::Forecast::Stub::ListExchangeRates, request, &response));
    return response;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<runtime::ServiceParts> parts_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<fv1::Forecast::Stub> stub_;
};

TEST_F(ForecastServiceTest, ListPageSizeDefaultsToFiftyIsCappedAtFiveHundredAndNeverNegative) {
  // 501 rates: one more than a page may hold (in two batches: 500 is the batch maximum).
  fv1::SetExchangeRatesResponse set;
  ASSERT_OK(Call(&fv1::Forecast::Stub::SetExchangeRates, Rates(0, 500), &set));
  ASSERT_OK(Call(&fv1::Forecast::Stub::SetExchangeRates, Rates(500, 1), &set));

  absl::StatusOr<fv1::ListExchangeRatesResponse> page = ListRates(0);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->rates(), SizeIs(server::kDefaultPageSize));
  page = ListRates(10000);
  ASSERT_OK(page.status());
  EXPECT_THAT(page->rates(), SizeIs(server::kMaxPageSize));
  EXPECT_FALSE(page->next_page_token().empty());

  const absl::Status negative = ListRates(-1).status();
  EXPECT_THAT(negative, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(negative), ElementsAre("page_size"));
}

TEST_F(ForecastServiceTest, ListExchangeRatesFiltersByCurrencyAndEffectiveDate) {
  fv1::SetExchangeRatesResponse set;
  ASSERT_OK(Call(&fv1::Forecast::Stub::SetExchangeRates, Rates(0, 10), &set));  // 2020-01-01..10
  absl::StatusOr<fv1::ListExchangeRatesResponse> page =
      ListRates(0, R"(effective_date >= "2020-01-05" AND effective_date < "2020-01-08")");
  ASSERT_OK(page.status());
  ASSERT_THAT(page->rates(), SizeIs(3));
  EXPECT_EQ(page->rates(0).effective_date().day(), 5);
  EXPECT_EQ(page->rates(2).effective_date().day(), 7);
  page = ListRates(0, R"(currency_code = "EUR" AND effective_date = "2020-01-02")");
  ASSERT_OK(page.status());
  EXPECT_THAT(page->rates(), SizeIs(1));
  page = ListRates(0, R"(currency_code = "GBP")");
  ASSERT_OK(page.status());
  EXPECT_THAT(page->rates(), SizeIs(0));
  const absl::Status unknown = ListRates(0, "rate > 1").status();
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(unknown), ElementsAre("filter"));
}

TEST_F(ForecastServiceTest, OverLongFilterAndOversizedRateBatchAreNamedWithTheOtherBadFields) {
  const std::string long_filter(server::kMaxFilterLength + 1, 'x');
  const absl::Status list = ListRates(-1, long_filter).status();
  EXPECT_THAT(list, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(Fields(list), ElementsAre("page_size", "filter"));

  fv1::ListSegmentsRequest segments;
  segments.set_vendor_id("acme");
  segments.set_filter(long_filter);
  fv1::ListSegmentsResponse segments_response;
  const absl::Status segments_status =
      Call(&fv1::Forecast::Stub::ListSegments, segments, &segments_response);
  EXPECT_THAT(segments_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(segments_status), ElementsAre("filter"));

  fv1::RunBacktestRequest backtest;
  backtest.set_vendor_id("acme");
  backtest.set_level(fv1::FORECAST_LEVEL_VENDOR);
  backtest.set_granularity(fv1::GRANULARITY_MONTH);
  backtest.set_filter(long_filter);
  fv1::RunBacktestResponse backtest_response;
  const absl::Status backtest_status =
      Call(&fv1::Forecast::Stub::RunBacktest, backtest, &backtest_response);
  EXPECT_THAT(backtest_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(backtest_status), ElementsAre("filter"));

  // 501 rates: refused as a batch, with the request's other bad field, and none of it stored.
  fv1::SetExchangeRatesRequest too_many = Rates(0, 501);
  too_many.set_request_id("not valid!");
  fv1::SetExchangeRatesResponse set;
  const absl::Status batch = Call(&fv1::Forecast::Stub::SetExchangeRates, too_many, &set);
  EXPECT_THAT(batch, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("500")));
  EXPECT_THAT(Fields(batch), ElementsAre("request_id", "rates"));
  absl::StatusOr<fv1::ListExchangeRatesResponse> stored = ListRates(0);
  ASSERT_OK(stored.status());
  EXPECT_THAT(stored->rates(), SizeIs(0));
}

// Issue 7: consumed deal and partner events that no producer of ours could have sent are poison
// (the consumer dead-letters them) rather than counted in velocity or mapped.
TEST_F(ForecastServiceTest, HostileDealAndTierEventsArePoison) {
  auto apply = [&](const std::string& type, const google::protobuf::Message& payload) {
    events::CloudEvent event;
    event.type = type;
    return runtime_->db().Transact(
        [&](sqlite::Transaction& tx) { return parts_->ApplyEvent(event, payload, tx); });
  };
  auto to_timestamp = [](absl::Time t) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(absl::ToUnixSeconds(t));
    return ts;
  };
  prm::deal::v1::DealWon good;
  good.mutable_metadata()->set_vendor_id("acme");
  good.mutable_metadata()->set_aggregate_version(5);
  *good.mutable_metadata()->mutable_event_time() = to_timestamp(clock_.Now());
  prm::deal::v1::Deal* deal = good.mutable_deal();
  deal->set_deal_id("deal-1");
  deal->set_vendor_id("acme");
  deal->set_partner_id("p1");
  deal->set_state(prm::deal::v1::DEAL_STATE_WON);
  *deal->mutable_review()->mutable_submit_time() = to_timestamp(clock_.Now() - absl::Hours(48));
  *deal->mutable_outcome()->mutable_close_time() = to_timestamp(clock_.Now());
  good.mutable_won_amount()->set_currency_code("USD");
  good.mutable_won_amount()->set_units(500);
  const std::vector<std::pair<std::string, std::function<void(prm::deal::v1::DealWon&)>>>
      hostile = {
          {"won_amount", [](auto& w) { w.mutable_won_amount()->set_units(-500); }},
          {"deal.partner_id", [](auto& w) { w.mutable_deal()->clear_partner_id(); }},
          {"deal.vendor_id", [](auto& w) { w.mutable_deal()->clear_vendor_id(); }},
          {"deal.state",
           [](auto& w) { w.mutable_deal()->set_state(static_cast<prm::deal::v1::DealState>(99)); }},
          {"deal.outcome.close_time",
           [](auto& w) { w.mutable_deal()->mutable_outcome()->mutable_close_time()->set_seconds(253'402'300'799); }},
          {"deal.review.submit_time",
           [](auto& w) { w.mutable_deal()->mutable_review()->mutable_submit_time()->set_seconds(-62'135'596'800); }},
      };
  for (const auto& [field, mutate] : hostile) {
    prm::deal::v1::DealWon won = good;
    mutate(won);
    EXPECT_THAT(apply("prm.deal.DealWon.v1", won),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)))
        << field;
  }
  EXPECT_OK(apply("prm.deal.DealWon.v1", good));

  prm::partner::v1::TierChanged tier;
  tier.set_partner_id("p1");
  tier.set_to_tier_id("gold");
  EXPECT_THAT(apply("prm.partner.TierChanged.v1", tier),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.vendor_id")));
  tier.mutable_metadata()->set_vendor_id("acme");
  EXPECT_OK(apply("prm.partner.TierChanged.v1", tier));
}

}  // namespace
}  // namespace prm::forecast
