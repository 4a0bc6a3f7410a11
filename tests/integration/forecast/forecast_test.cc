// The forecast binary end to end (issue 6): ERP SaleRecorded events produced to the real
// broker become weekly buckets (out of order, with a return and duplicates), GetForecast answers
// with the hand-computed short-history forecast, a kill -9 and restart answer the same (the
// ledger is replayed from the command log), poison sales land in the DLQ, and the API rejects
// bad requests field by field and out-of-scope callers.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "prm/forecast/v1/forecast_events.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace fv1 = prm::forecast::v1;
namespace sv1 = prm::sales::v1;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kSalesTopic[] = "prm.sales.v1";
constexpr char kSaleType[] = "prm.sales.SaleRecorded.v1";
// Standard normal quantiles of the 80 % and 95 % central intervals.
constexpr double kZ80 = 1.2815515655446004;
constexpr double kZ95 = 1.959963984540054;

double ToDouble(const common::v1::Money& m) { return m.units() + m.nanos() / 1e9; }

absl::CivilDay ToCivil(const common::v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

struct Line {
  std::string category;
  int64_t units;
  int64_t quantity = 1;
};

// A SaleRecorded of `vendor` by ERP account `partner`.
sv1::SaleRecorded Sale(const std::string& vendor, const std::string& partner,
                       const std::string& document, sv1::SaleKind kind, absl::Time time,
                       const std::vector<Line>& lines) {
  sv1::SaleRecorded sale;
  sale.set_vendor_id(vendor);
  sale.set_erp_system_id("sap-eu");
  sale.set_partner_external_id(partner);
  sale.set_erp_document_id(document);
  sale.set_kind(kind);
  sale.set_currency_code("USD");
  if (kind == sv1::SALE_KIND_SELL_THROUGH) {
    sale.mutable_end_customer()->set_legal_name("Acme GmbH");
    sale.mutable_end_customer()->set_country_code("DE");
  }
  sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(time));
  int n = 0;
  for (const Line& l : lines) {
    common::v1::ProductLine* line = sale.add_lines();
    line->set_sku(absl::StrCat("sku-", ++n));
    line->set_product_category(l.category);
    line->set_quantity(l.quantity);
    line->mutable_amount()->set_currency_code("USD");
    line->mutable_amount()->set_units(l.units);
  }
  return sale;
}

class ForecastIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string run = testing::UniqueName("forecast-it");
    data_dir_ = new std::string((std::filesystem::temp_directory_path() / run).string());
    group_ = new std::string(run + "-group");
    process_ = new testing::ServiceProcess("forecast", *data_dir_, *group_,
                                           {"--forecast-refresh-interval=200ms"});
    ASSERT_TRUE(process_->StartAndWaitServing());
    auto producer = kafka::Producer::Create(
        {.brokers = testing::KafkaBrokers(), .client_id = "forecast-it"});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = producer->release();
  }

  static void TearDownTestSuite() {
    delete producer_;
    delete process_;
    std::filesystem::remove_all(*data_dir_);
    delete data_dir_;
    delete group_;
  }

  // Produces the sale as a binary-mode CloudEvent with a fresh id (or `event_id`); returns it.
  static std::string Publish(const sv1::SaleRecorded& sale, std::string event_id = "") {
    if (event_id.empty()) event_id = testing::UniqueName("sale");
    events::CloudEvent event = events::MakeEvent(
        sale, kSaleType, "erp/sap-eu", event_id, absl::Now(),
        absl::StrCat(sale.vendor_id(), "/", sale.erp_system_id(), "/",
                     sale.partner_external_id()));
    EXPECT_TRUE(producer_->Produce(events::EncodeBinary(event, kSalesTopic), absl::Seconds(30))
                    .ok());
    return event_id;
  }

  // Publishes PartnerCreated (as partner-registry would) for a new partner owning the vendor's
  // ERP accounts `accounts`; returns its id.
  static std::string MapPartner(const std::string& vendor,
                                const std::vector<std::string>& accounts,
                                common::v1::PartnerType type = common::v1::PARTNER_TYPE_RESELLER,
                                const std::string& region = "EMEA") {
    const std::string partner_id = testing::UniqueName("partner");
    partner::v1::PartnerCreated created;
    created.mutable_metadata()->set_aggregate_version(1);
    created.mutable_partner()->set_partner_id(partner_id);
    created.mutable_partner()->set_legal_name("Reseller GmbH");
    created.mutable_partner()->add_types(type);
    created.mutable_partner()->add_sales_regions(region);
    for (const std::string& account : accounts) {
      partner::v1::ExternalId* id = created.mutable_partner()->add_external_ids();
      id->set_vendor_id(vendor);
      id->set_erp_system_id("sap-eu");
      id->set_account_id(account);
    }
    const std::string event_id = testing::UniqueName("partner-event");
    created.mutable_metadata()->set_event_id(event_id);
    events::CloudEvent event =
        events::MakeEvent(created, "prm.partner.PartnerCreated.v1", "prm/partner-registry",
                          event_id, absl::Now(), partner_id);
    EXPECT_TRUE(
        producer_->Produce(events::EncodeBinary(event, "prm.partner.v1"), absl::Seconds(30)).ok());
    return partner_id;
  }

  // Publishes TierChanged (as partner-registry would): the partner's tier at the vendor.
  // Publishes TierChanged (as partner-registry would): the partner's tier at the vendor moved
  // from `from_tier_id` to `to_tier_id` at `effective`, enrollment version `version`.
  static void PublishTier(const std::string& vendor, const std::string& partner_id,
                          int64_t version, const std::string& from_tier_id,
                          const std::string& to_tier_id, absl::Time effective) {
    partner::v1::TierChanged changed;
    const std::string event_id = testing::UniqueName("tier-event");
    changed.mutable_metadata()->set_event_id(event_id);
    changed.mutable_metadata()->set_vendor_id(vendor);
    changed.mutable_metadata()->set_aggregate_version(version);
    changed.mutable_metadata()->mutable_event_time()->set_seconds(absl::ToUnixSeconds(effective));
    changed.set_partner_id(partner_id);
    changed.set_from_tier_id(from_tier_id);
    changed.set_to_tier_id(to_tier_id);
    events::CloudEvent event =
        events::MakeEvent(changed, "prm.partner.TierChanged.v1", "prm/partner-registry", event_id,
                          effective, absl::StrCat(vendor, "/", partner_id));
    EXPECT_TRUE(
        producer_->Produce(events::EncodeBinary(event, "prm.partner.v1"), absl::Seconds(30)).ok());
  }

  // Publishes a deal snapshot event of `type` (as deal-registration would).
  static void PublishDeal(const std::string& type, const std::string& vendor,
                          const std::string& partner_id, const std::string& deal_id,
                          int64_t version, absl::Time submit_time,
                          std::optional<absl::Time> close_time = std::nullopt,
                          int64_t won_units = 0) {
    deal::v1::DealWon event;  // fields 1 and 2 are those of every deal snapshot event
    const std::string event_id = testing::UniqueName("deal-event");
    event.mutable_metadata()->set_event_id(event_id);
    event.mutable_metadata()->set_vendor_id(vendor);
    event.mutable_metadata()->set_aggregate_version(version);
    deal::v1::Deal* d = event.mutable_deal();
    d->set_vendor_id(vendor);
    d->set_deal_id(deal_id);
    d->set_partner_id(partner_id);
    d->mutable_review()->mutable_submit_time()->set_seconds(absl::ToUnixSeconds(submit_time));
    common::v1::ProductLine* line = d->add_products();
    line->set_sku("sku-1");
    line->set_product_category("networking");
    line->set_quantity(1);
    if (close_time) {
      d->mutable_outcome()->mutable_close_time()->set_seconds(absl::ToUnixSeconds(*close_time));
    }
    google::protobuf::Message* payload = &event;
    deal::v1::DealSubmitted submitted;
    deal::v1::DealLost lost;
    if (type == "prm.deal.DealWon.v1") {
      event.mutable_won_amount()->set_currency_code("USD");
      event.mutable_won_amount()->set_units(won_units);
    } else if (type == "prm.deal.DealSubmitted.v1") {
      *submitted.mutable_metadata() = event.metadata();
      *submitted.mutable_deal() = event.deal();
      payload = &submitted;
    } else {
      *lost.mutable_metadata() = event.metadata();
      *lost.mutable_deal() = event.deal();
      payload = &lost;
    }
    events::CloudEvent cloud_event = events::MakeEvent(*payload, type, "prm/deal-registration",
                                                       event_id, absl::Now(), deal_id);
    EXPECT_TRUE(producer_->Produce(events::EncodeBinary(cloud_event, "prm.deal.v1"),
                                   absl::Seconds(30))
                    .ok());
  }

  static fv1::GetForecastRequest VendorRequest(const std::string& vendor) {
    fv1::GetForecastRequest request = PartnerRequest(vendor, "");
    request.mutable_series()->set_level(fv1::FORECAST_LEVEL_VENDOR);
    return request;
  }

  static std::unique_ptr<fv1::Forecast::Stub> Stub() {
    return fv1::Forecast::NewStub(process_->channel());
  }

  static fv1::GetForecastRequest PartnerRequest(const std::string& vendor,
                                                const std::string& partner) {
    fv1::GetForecastRequest request;
    request.mutable_series()->set_vendor_id(vendor);
    request.mutable_series()->set_level(fv1::FORECAST_LEVEL_PARTNER);
    request.mutable_series()->set_partner_id(partner);
    request.set_granularity(fv1::GRANULARITY_WEEK);
    request.set_horizon(2);
    request.set_history_periods(10);
    return request;
  }

  static grpc::Status Call(const fv1::GetForecastRequest& request,
                           fv1::GetForecastResponse* response,
                           const std::string& token = testing::ServiceToken()) {
    auto ctx = testing::Context(token);
    return Stub()->GetForecast(ctx.get(), request, response);
  }

  // Polls GetForecast until the history's actuals equal `want` (the consumer has caught up).
  static bool WaitForHistory(const fv1::GetForecastRequest& request,
                             const std::vector<double>& want, fv1::GetForecastResponse* out) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    std::vector<double> got;
    while (absl::Now() < deadline) {
      fv1::GetForecastResponse response;
      if (Call(request, &response).ok()) {
        got.clear();
        for (const auto& a : response.forecast().history()) got.push_back(ToDouble(a.actual()));
        if (got == want) {
          *out = response;
          return true;
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "history never became the expected one; last seen " << got.size()
                  << " periods";
    return false;
  }

  // Monday 12:00 UTC of the week ten weeks before this one: recent enough for velocity windows,
  // past enough for the sales contract.
  static absl::Time FirstWeek() {
    absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    absl::CivilDay monday = today - static_cast<int>(absl::GetWeekday(today)) - 70;
    return absl::FromCivil(absl::CivilHour(monday.year(), monday.month(), monday.day(), 12),
                           absl::UTCTimeZone());
  }

  static grpc::Status UpdateSettings(const fv1::UpdateForecastSettingsRequest& request,
                                     fv1::UpdateForecastSettingsResponse* response,
                                     const std::string& token = testing::ServiceToken()) {
    auto ctx = testing::Context(token);
    return Stub()->UpdateForecastSettings(ctx.get(), request, response);
  }

  static std::string* data_dir_;
  static std::string* group_;
  static testing::ServiceProcess* process_;
  static kafka::Producer* producer_;
};

std::string* ForecastIT::data_dir_ = nullptr;
std::string* ForecastIT::group_ = nullptr;
testing::ServiceProcess* ForecastIT::process_ = nullptr;
kafka::Producer* ForecastIT::producer_ = nullptr;

TEST_F(ForecastIT, BucketsSalesForecastsThemAndReplaysTheSameAfterKill) {
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  const absl::Time w2 = w1 + absl::Hours(24 * 7);
  const absl::Time w3 = w2 + absl::Hours(24 * 7);
  // Out of order; a duplicate of document inv-2 in a second event; a return in week 1.
  Publish(Sale(vendor, "acct-1", "inv-3", sv1::SALE_KIND_SELL_IN, w3 + absl::Hours(30),
               {{"networking", 100}, {"security", 20}}));
  Publish(Sale(vendor, "acct-1", "inv-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 150}}));
  Publish(Sale(vendor, "acct-1", "inv-2", sv1::SALE_KIND_SELL_IN, w2, {{"networking", 110}}));
  Publish(Sale(vendor, "acct-1", "inv-2", sv1::SALE_KIND_SELL_IN, w2, {{"networking", 999}}));
  Publish(Sale(vendor, "acct-2", "inv-9", sv1::SALE_KIND_SELL_IN, w3, {{"networking", 30}}));
  Publish(Sale(vendor, "acct-1", "cn-1", sv1::SALE_KIND_RETURN, w1 + absl::Hours(50),
               {{"networking", 50}}));
  // Sell-through is its own measure: it must not show in the sell-in series.
  Publish(Sale(vendor, "acct-1", "st-1", sv1::SALE_KIND_SELL_THROUGH, w2, {{"networking", 7}}));

  // Sales are kept per ERP account; the vendor total has them before any partner is known.
  fv1::GetForecastResponse before;
  ASSERT_TRUE(WaitForHistory(VendorRequest(vendor), {100, 110, 150}, &before));
  EXPECT_EQ(Call(PartnerRequest(vendor, "acct-1"), &before).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Once partner-registry maps the account to a partner, the partner's series has its sales.
  const std::string p1 = MapPartner(vendor, {"acct-1"});
  fv1::GetForecastRequest request = PartnerRequest(vendor, p1);
  ASSERT_TRUE(WaitForHistory(request, {100, 110, 120}, &before));

  // Three periods take the short-history path: the mean of the last three, σ = RMS of the
  // one-step differences = 10, sd_h = σ·sqrt(h)·(1 + 2/n).
  const fv1::SeriesForecast& f = before.forecast();
  EXPECT_EQ(f.series_id(), absl::StrCat(vendor, "/PARTNER/", p1, "/*/SELL_IN"));
  EXPECT_EQ(f.currency_code(), "USD");
  EXPECT_EQ(f.history_length(), 3);
  EXPECT_EQ(f.model().method(), fv1::FORECAST_METHOD_SHORT_HISTORY);
  ASSERT_EQ(f.points_size(), 2);
  const double sd1 = 10 * 5.0 / 3;
  const double sd2 = 10 * std::sqrt(2.0) * 5.0 / 3;
  EXPECT_NEAR(ToDouble(f.points(0).mean()), 110, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(0).lower_80()), 110 - kZ80 * sd1, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(0).upper_80()), 110 + kZ80 * sd1, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(1).lower_95()), 110 - kZ95 * sd2, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(1).upper_95()), 110 + kZ95 * sd2, 1e-6);
  const absl::CivilDay first_monday = absl::ToCivilDay(w1, absl::UTCTimeZone());
  EXPECT_EQ(ToCivil(f.history(0).period_start()), first_monday);
  EXPECT_EQ(ToCivil(f.history(2).period_end()), first_monday + 20);
  EXPECT_EQ(ToCivil(f.points(0).period_start()), first_monday + 21);
  EXPECT_EQ(ToCivil(f.points(1).period_end()), first_monday + 34);

  // The vendor total adds both partners; a category narrows to its own first sale.
  fv1::GetForecastRequest total = request;
  total.mutable_series()->set_level(fv1::FORECAST_LEVEL_VENDOR);
  total.mutable_series()->clear_partner_id();
  fv1::GetForecastResponse vendor_forecast;
  ASSERT_TRUE(WaitForHistory(total, {100, 110, 150}, &vendor_forecast));
  // Bottom-up: the vendor's forecast is the sum of its children's, the partner's 110 and the
  // unowned account acct-2's (one period, 30), not the 120 of its own aggregated series.
  EXPECT_EQ(vendor_forecast.forecast().reconciliation(), fv1::RECONCILIATION_BOTTOM_UP);
  EXPECT_NEAR(ToDouble(vendor_forecast.forecast().points(0).mean()), 110 + 30, 1e-6);
  EXPECT_NEAR(ToDouble(vendor_forecast.forecast().points(1).mean()), 110 + 30, 1e-6);
  fv1::GetForecastRequest security = request;
  security.mutable_series()->set_product_category("security");
  fv1::GetForecastResponse security_forecast;
  ASSERT_TRUE(WaitForHistory(security, {20}, &security_forecast));
  fv1::GetForecastRequest through = request;
  through.mutable_series()->set_measure(fv1::MEASURE_SELL_THROUGH);
  fv1::GetForecastResponse through_forecast;
  ASSERT_TRUE(WaitForHistory(through, {7, 0}, &through_forecast));

  // A settings write goes through the command log too.
  fv1::UpdateForecastSettingsRequest update;
  update.mutable_settings()->set_vendor_id(vendor);
  update.mutable_settings()->set_fiscal_year_start_month(4);
  update.mutable_update_mask()->add_paths("fiscal_year_start_month");
  update.set_request_id(testing::UniqueName("req"));
  fv1::UpdateForecastSettingsResponse updated;
  ASSERT_TRUE(UpdateSettings(update, &updated).ok());
  EXPECT_EQ(updated.settings().version(), 1);

  // kill -9, restart on the same store: the ledger comes back from the command log.
  process_->Kill();
  ASSERT_TRUE(process_->StartAndWaitServing());
  fv1::GetForecastResponse after;
  ASSERT_TRUE(Call(request, &after).ok());
  after.mutable_forecast()->clear_compute_time();
  before.mutable_forecast()->clear_compute_time();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, after))
      << before.DebugString() << "\n" << after.DebugString();
  fv1::GetForecastSettingsRequest get_settings;
  get_settings.set_vendor_id(vendor);
  fv1::GetForecastSettingsResponse settings;
  auto settings_ctx = testing::Context(testing::ServiceToken());
  ASSERT_TRUE(Stub()->GetForecastSettings(settings_ctx.get(), get_settings, &settings).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(settings.settings(), updated.settings()));
  // The retried request is answered from the log, with no second effect.
  fv1::UpdateForecastSettingsResponse retried;
  ASSERT_TRUE(UpdateSettings(update, &retried).ok());
  EXPECT_EQ(retried.settings().version(), 1);

  // After the restart, another duplicate of inv-1 (a new event id) still counts for nothing;
  // a later sale of another partner shows the consumer has passed it.
  Publish(Sale(vendor, "acct-1", "inv-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 500}}));
  Publish(Sale(vendor, "acct-3", "inv-x", sv1::SALE_KIND_SELL_IN, w3, {{"networking", 1}}));
  fv1::GetForecastResponse sentinel;
  ASSERT_TRUE(WaitForHistory(VendorRequest(vendor), {100, 110, 151}, &sentinel));
  fv1::GetForecastResponse again;
  ASSERT_TRUE(Call(request, &again).ok());
  again.mutable_forecast()->clear_compute_time();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, again));
}

TEST_F(ForecastIT, PoisonSaleGoesToTheDlqNamingEveryBadField) {
  const std::string vendor = testing::UniqueName("vendor");
  sv1::SaleRecorded bad = Sale("", "acct-1", "inv-1", sv1::SALE_KIND_UNSPECIFIED, absl::Now(),
                               {{"networking", 10, -3}});
  bad.set_currency_code("usd");
  const std::string poison = Publish(bad);
  // A good sale published after it still flows.
  sv1::SaleRecorded good =
      Sale(vendor, "acct-1", "inv-2", sv1::SALE_KIND_SELL_IN, FirstWeek(), {{"networking", 10}});
  Publish(good);
  fv1::GetForecastResponse response;
  ASSERT_TRUE(WaitForHistory(VendorRequest(vendor), {10}, &response));

  std::vector<kafka::Record> dead;
  // Reading the whole shared DLQ takes a while on a long-lived broker (hostile tests leave ~1 MiB
  // records there) and in a sanitizer build: the bounds are generous, not a speed target.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (dead.empty() && absl::Now() < deadline) {
    dead = testing::ReadTopicWhere(absl::StrCat(kSalesTopic, ".dlq"), "ce_id", poison,
                                   absl::Seconds(40));
    // Other services' consumers of the shared topic dead-letter it too: keep ours.
    std::erase_if(dead, [](const kafka::Record& r) {
      return r.FindHeader(kafka::kDlqGroupHeader) != *group_;
    });
    if (dead.empty()) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].FindHeader(kafka::kDlqTopicHeader), kSalesTopic);
  const std::string error(dead[0].FindHeader(kafka::kDlqErrorHeader).value_or(""));
  EXPECT_THAT(error, HasSubstr("vendor_id"));
  EXPECT_THAT(error, HasSubstr("kind"));
  EXPECT_THAT(error, HasSubstr("currency_code"));
  EXPECT_THAT(error, HasSubstr("lines[0].quantity"));
  EXPECT_THAT(error, HasSubstr("lines[0].amount.currency_code"));
}

// A burst on one partition, waiting while the service is down, arrives in batches large enough
// to be decoded on a second thread while the first events apply (runtime BatchDecoder). Poison
// of both kinds (a payload that is no SaleRecorded, an envelope that is no CloudEvent), event
// types this binary does not know and repeated documents sit at every offset of the burst: each
// sale counts once, the poison is dead-lettered once each by this service, the unknown types are
// skipped.
TEST_F(ForecastIT, ABurstDecodedBesideApplyingCountsEverySaleOnceAndDeadLettersThePoison) {
  const std::string vendor = testing::UniqueName("vendor");
  const std::string key = absl::StrCat(vendor, "/sap-eu/acct-1");  // one partition
  std::vector<kafka::Record> records;
  std::set<std::string> poison;
  std::set<std::string> unknown;  // types this binary does not know: skipped, never poison
  int64_t expected = 0;
  for (int i = 0; i < 2000; ++i) {  // four full batches
    sv1::SaleRecorded sale = Sale(vendor, "acct-1", absl::StrCat("inv-", i % 50 == 30 ? i - 1 : i),
                                  sv1::SALE_KIND_SELL_IN, FirstWeek(), {{"networking", 1}});
    const std::string id = testing::UniqueName("burst");
    events::CloudEvent event =
        events::MakeEvent(sale, kSaleType, "erp/sap-eu", id, absl::Now(), key);
    if (i % 50 == 23) {
      event.type = "prm.sales.SaleArchived.v1";  // no such message here
      unknown.insert(id);
    }
    kafka::Record record = events::EncodeBinary(event, kSalesTopic);
    if (i % 50 == 7) {
      record.value = "\xff\xff\xff\x07 not a protobuf";
      poison.insert(id);
    } else if (i % 50 == 41) {
      for (kafka::Header& h : record.headers) {
        if (h.key == "ce_time") h.value = "yesterday";
      }
      poison.insert(id);
    } else if (i % 50 != 23 && i % 50 != 30) {
      ++expected;  // (30 repeats the document of 29)
    }
    records.push_back(std::move(record));
  }
  process_->Kill();
  for (const absl::Status& s : producer_->ProduceAndWait(records, absl::Seconds(60))) {
    ASSERT_TRUE(s.ok()) << s;
  }
  ASSERT_TRUE(process_->StartAndWaitServing());
  fv1::GetForecastResponse response;
  ASSERT_TRUE(WaitForHistory(VendorRequest(vendor), {static_cast<double>(expected)}, &response));

  std::map<std::string, int> dead;  // poison id → records this service dead-lettered
  int dead_unknown = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  auto all_dead = [&] {
    for (const std::string& id : poison) {
      if (dead[id] == 0) return false;
    }
    return true;
  };
  while (!all_dead() && absl::Now() < deadline) {
    dead.clear();
    dead_unknown = 0;
    for (const kafka::Record& r :
         testing::ReadTopic(absl::StrCat(kSalesTopic, ".dlq"), absl::Seconds(40))) {
      const std::string id(r.FindHeader("ce_id").value_or(""));
      if (r.FindHeader(kafka::kDlqGroupHeader) != *group_) continue;
      if (poison.contains(id)) ++dead[id];
      if (unknown.contains(id)) ++dead_unknown;
    }
    if (!all_dead()) absl::SleepFor(absl::Milliseconds(200));
  }
  for (const std::string& id : poison) EXPECT_EQ(dead[id], 1) << id;
  EXPECT_EQ(dead_unknown, 0);  // read after the poison of the same burst was dead-lettered
}

TEST_F(ForecastIT, InvalidRequestNamesEveryBadField) {
  fv1::GetForecastRequest request;
  request.mutable_series()->set_level(fv1::FORECAST_LEVEL_PARTNER);
  request.set_horizon(-1);
  request.set_history_periods(521);
  fv1::GetForecastResponse response;
  grpc::Status status = Call(request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(FromGrpcStatus(status))) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("series.vendor_id", "series.partner_id", "granularity",
                                           "horizon", "history_periods"));
}

TEST_F(ForecastIT, SeriesWithoutSalesIsNotFound) {
  fv1::GetForecastResponse response;
  EXPECT_EQ(Call(PartnerRequest(testing::UniqueName("vendor"), "acct-1"), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ForecastIT, CallersSeeOnlyTheirScope) {
  const std::string vendor = testing::UniqueName("vendor");
  Publish(Sale(vendor, "acct-a", "inv-1", sv1::SALE_KIND_SELL_IN, FirstWeek(),
               {{"networking", 10}}));
  const std::string a = MapPartner(vendor, {"acct-a"});
  const std::string b = MapPartner(vendor, {"acct-b"});
  fv1::GetForecastResponse response;
  ASSERT_TRUE(WaitForHistory(PartnerRequest(vendor, a), {10}, &response));

  const std::string partner_a = testing::Token(
      {.subject = "u-a", .role = auth::Role::kPartnerUser, .vendor_ids = {vendor},
       .partner_id = a});
  const std::string partner_b = testing::Token(
      {.subject = "u-b", .role = auth::Role::kPartnerUser, .vendor_ids = {vendor},
       .partner_id = b});
  const std::string other_vendor = testing::Token(
      {.subject = "cm", .role = auth::Role::kChannelManager,
       .vendor_ids = {testing::UniqueName("other")}});
  const std::string own_manager = testing::Token(
      {.subject = "cm", .role = auth::Role::kChannelManager, .vendor_ids = {vendor}});

  EXPECT_TRUE(Call(PartnerRequest(vendor, a), &response, partner_a).ok());
  EXPECT_TRUE(Call(PartnerRequest(vendor, a), &response, own_manager).ok());
  fv1::GetForecastResponse denied;
  EXPECT_EQ(Call(PartnerRequest(vendor, a), &denied, partner_b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(PartnerRequest(vendor, a), &denied, other_vendor).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(denied.has_forecast());
  EXPECT_EQ(Call(VendorRequest(vendor), &denied, partner_a).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  grpc::ClientContext anonymous;
  EXPECT_EQ(Stub()->GetForecast(&anonymous, PartnerRequest(vendor, a), &denied)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ForecastIT, VelocityReportsTheProductMixOfTheWindow) {
  const std::string vendor = testing::UniqueName("vendor");
  Publish(Sale(vendor, "acct-1", "inv-1", sv1::SALE_KIND_SELL_IN, FirstWeek(),
               {{"networking", 30}, {"security", 10}}));
  const std::string p1 = MapPartner(vendor, {"acct-1"});
  fv1::GetForecastResponse ingested;
  ASSERT_TRUE(WaitForHistory(PartnerRequest(vendor, p1), {40}, &ingested));

  // Two deals of the partner (as deal-registration publishes them): one submitted 40 days ago
  // and won 20 days later for 500, one submitted 30 days ago and lost.
  const absl::Time now = absl::Now();
  const std::string deal1 = testing::UniqueName("deal");
  const std::string deal2 = testing::UniqueName("deal");
  PublishDeal("prm.deal.DealSubmitted.v1", vendor, p1, deal1, 1, now - absl::Hours(24 * 40));
  PublishDeal("prm.deal.DealWon.v1", vendor, p1, deal1, 2, now - absl::Hours(24 * 40),
              now - absl::Hours(24 * 20), 500);
  PublishDeal("prm.deal.DealSubmitted.v1", vendor, p1, deal2, 1, now - absl::Hours(24 * 30));
  PublishDeal("prm.deal.DealLost.v1", vendor, p1, deal2, 2, now - absl::Hours(24 * 30),
              now - absl::Hours(24 * 10));

  fv1::GetVelocityRequest request;
  request.mutable_series()->set_vendor_id(vendor);
  request.mutable_series()->set_level(fv1::FORECAST_LEVEL_PARTNER);
  request.mutable_series()->set_partner_id(p1);
  fv1::GetVelocityResponse response;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    auto ctx = testing::Context(testing::ServiceToken());
    ASSERT_TRUE(Stub()->GetVelocity(ctx.get(), request, &response).ok());
    if (response.velocity().won_deal_count() + response.velocity().lost_deal_count() == 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  const fv1::Velocity& v = response.velocity();
  EXPECT_EQ(v.opportunities(), 2);
  EXPECT_EQ(v.won_deal_count(), 1);
  EXPECT_EQ(v.lost_deal_count(), 1);
  EXPECT_DOUBLE_EQ(v.win_rate(), 0.5);
  EXPECT_NEAR(ToDouble(v.average_deal_size()), 500, 1e-9);
  EXPECT_EQ(v.average_sales_cycle().seconds(), 20 * 86400);
  // 2 opportunities × 0.5 × 500 ÷ 20 days.
  EXPECT_NEAR(ToDouble(v.velocity_per_day()), 25, 1e-6);
  ASSERT_EQ(v.product_mix_size(), 2);
  EXPECT_EQ(v.product_mix(0).product_category(), "networking");
  EXPECT_NEAR(ToDouble(v.product_mix(0).revenue()), 30, 1e-9);
  EXPECT_NEAR(v.product_mix(0).share(), 0.75, 1e-12);
  EXPECT_EQ(v.product_mix(0).won_deal_count(), 1);
  EXPECT_NEAR(v.product_mix(1).share(), 0.25, 1e-12);
  EXPECT_EQ(v.window_end_time().seconds() - v.window_start_time().seconds(), 365 * 86400);

  request.set_window_days(7);
  auto bad_ctx = testing::Context(testing::ServiceToken());
  EXPECT_EQ(Stub()->GetVelocity(bad_ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ForecastIT, DefaultMeasureAndEtagOfTheSettings) {
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  Publish(Sale(vendor, "acct-1", "in-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 40}}));
  Publish(Sale(vendor, "acct-1", "st-1", sv1::SALE_KIND_SELL_THROUGH, w1, {{"networking", 25}}));
  fv1::GetForecastRequest request = VendorRequest(vendor);
  fv1::GetForecastResponse response;
  ASSERT_TRUE(WaitForHistory(request, {40}, &response));
  EXPECT_EQ(response.forecast().series().measure(), fv1::MEASURE_SELL_IN);

  fv1::UpdateForecastSettingsRequest update;
  update.mutable_settings()->set_vendor_id(vendor);
  update.mutable_settings()->set_default_measure(fv1::MEASURE_SELL_THROUGH);
  update.mutable_update_mask()->add_paths("default_measure");
  fv1::UpdateForecastSettingsResponse updated;
  const std::string manager = testing::Token(
      {.subject = "cm", .role = auth::Role::kChannelManager, .vendor_ids = {vendor}});
  EXPECT_EQ(UpdateSettings(update, &updated, manager).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string admin = testing::Token(
      {.subject = "admin", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor}});
  ASSERT_TRUE(UpdateSettings(update, &updated, admin).ok());
  EXPECT_EQ(updated.settings().default_measure(), fv1::MEASURE_SELL_THROUGH);
  // The sell-through sale may land in a later consumer batch than the sell-in one.
  ASSERT_TRUE(WaitForHistory(request, {25}, &response));
  EXPECT_EQ(response.forecast().series().measure(), fv1::MEASURE_SELL_THROUGH);

  // A stale etag is refused; bad values are named together.
  update.mutable_settings()->set_etag("W/\"0\"");
  EXPECT_EQ(UpdateSettings(update, &updated, admin).error_code(), grpc::StatusCode::ABORTED);
  fv1::UpdateForecastSettingsRequest bad;
  bad.mutable_settings()->set_vendor_id(vendor);
  bad.mutable_settings()->set_fiscal_year_start_month(13);
  bad.mutable_update_mask()->add_paths("fiscal_year_start_month");
  bad.mutable_update_mask()->add_paths("version");
  bad.set_request_id("not valid!");
  grpc::Status status = UpdateSettings(bad, &updated, admin);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(FromGrpcStatus(status))) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("update_mask", "request_id",
                                           "settings.fiscal_year_start_month"));
}

TEST_F(ForecastIT, ExchangeRatesConvertSalesAndAreAnnouncedOnTheForecastTopic) {
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  const absl::Time w2 = w1 + absl::Hours(24 * 7);
  sv1::SaleRecorded eur = Sale(vendor, "acct-1", "eu-1", sv1::SALE_KIND_SELL_IN, w2,
                               {{"networking", 100}});
  eur.set_currency_code("EUR");
  eur.mutable_lines(0)->mutable_amount()->set_currency_code("EUR");
  Publish(eur);
  Publish(Sale(vendor, "acct-1", "us-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 10}}));
  fv1::GetForecastRequest request = VendorRequest(vendor);
  fv1::GetForecastResponse response;
  // Without a rate the EUR sale is stored but left out.
  ASSERT_TRUE(WaitForHistory(request, {10, 0}, &response));

  const std::string admin = testing::Token(
      {.subject = "admin", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor}});
  fv1::SetExchangeRatesRequest set;
  set.set_vendor_id(vendor);
  fv1::ExchangeRate* rate = set.add_rates();
  rate->set_vendor_id(vendor);
  rate->set_currency_code("EUR");
  const absl::CivilDay first_day = absl::ToCivilDay(w1, absl::UTCTimeZone());
  rate->mutable_effective_date()->set_year(static_cast<int32_t>(first_day.year()));
  rate->mutable_effective_date()->set_month(first_day.month());
  rate->mutable_effective_date()->set_day(first_day.day());
  rate->set_rate("1.25");
  fv1::SetExchangeRatesResponse set_response;
  {
    auto ctx = testing::Context(testing::Token(
        {.subject = "cm", .role = auth::Role::kChannelManager, .vendor_ids = {vendor}}));
    EXPECT_EQ(Stub()->SetExchangeRates(ctx.get(), set, &set_response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto ctx = testing::Context(admin);
    ASSERT_TRUE(Stub()->SetExchangeRates(ctx.get(), set, &set_response).ok());
  }
  ASSERT_EQ(set_response.rates_size(), 1);
  EXPECT_EQ(set_response.rates(0).rate(), "1.25");
  ASSERT_TRUE(Call(request, &response).ok());
  ASSERT_EQ(response.forecast().history_size(), 2);
  EXPECT_EQ(ToDouble(response.forecast().history(1).actual()), 125);

  fv1::ListExchangeRatesRequest list;
  list.set_vendor_id(vendor);
  fv1::ListExchangeRatesResponse listed;
  {
    auto ctx = testing::Context(admin);
    ASSERT_TRUE(Stub()->ListExchangeRates(ctx.get(), list, &listed).ok());
  }
  ASSERT_EQ(listed.rates_size(), 1);
  EXPECT_EQ(listed.rates(0).currency_code(), "EUR");

  fv1::DeleteExchangeRateRequest del;
  del.set_vendor_id(vendor);
  del.set_currency_code("EUR");
  *del.mutable_effective_date() = rate->effective_date();
  fv1::DeleteExchangeRateResponse deleted;
  {
    auto ctx = testing::Context(admin);
    ASSERT_TRUE(Stub()->DeleteExchangeRate(ctx.get(), del, &deleted).ok());
  }
  {
    auto ctx = testing::Context(admin);
    EXPECT_EQ(Stub()->DeleteExchangeRate(ctx.get(), del, &deleted).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // Both changes are announced with the whole table, versions 1 and 2, by the vendor admin.
  std::vector<kafka::Record> announced;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (announced.size() < 2 && absl::Now() < deadline) {
    announced = testing::ReadTopicWhere("prm.forecast.v1", "ce_subject", vendor,
                                        absl::Seconds(10));
    if (announced.size() < 2) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(announced.size(), 2u);
  std::vector<fv1::ExchangeRatesChanged> changes(2);
  for (int i = 0; i < 2; ++i) {
    auto event = events::Decode(announced[i]);
    ASSERT_TRUE(event.ok()) << event.status();
    EXPECT_EQ(event->type, "prm.forecast.ExchangeRatesChanged.v1");
    EXPECT_EQ(event->source, "prm/forecast");
    ASSERT_TRUE(events::UnpackPayload(*event, &changes[i]).ok());
    EXPECT_EQ(changes[i].metadata().event_id(), event->id);
    EXPECT_EQ(changes[i].metadata().vendor_id(), vendor);
    EXPECT_EQ(changes[i].metadata().actor().subject(), "admin");
    EXPECT_EQ(changes[i].reporting_currency_code(), "USD");
  }
  EXPECT_EQ(changes[0].metadata().aggregate_version(), 1);
  ASSERT_EQ(changes[0].rates_size(), 1);
  EXPECT_EQ(changes[0].rates(0).rate(), "1.25");
  EXPECT_EQ(changes[1].metadata().aggregate_version(), 2);
  EXPECT_EQ(changes[1].rates_size(), 0);
}

TEST_F(ForecastIT, BacktestScoresTheEngineOnRollingOrigins) {
  const std::string vendor = testing::UniqueName("vendor");
  // One sale a quarter for the eight quarters before this one: 100, 110, ..., 170 (acct-1);
  // acct-2 sells only in the last quarter (too short to backtest).
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  const absl::CivilMonth this_quarter(today.year(), today.month() - (today.month() - 1) % 3);
  auto quarter_time = [&](int k) {  // the 15th of the second month of the kth quarter of eight
    const absl::CivilMonth month = this_quarter - 3 * (8 - k) + 1;
    return absl::FromCivil(absl::CivilDay(month.year(), month.month(), 15), absl::UTCTimeZone());
  };
  for (int k = 0; k < 8; ++k) {
    const absl::Time time = quarter_time(k);
    Publish(Sale(vendor, "acct-1", absl::StrCat("q", k), sv1::SALE_KIND_SELL_IN, time,
                 {{"networking", 100 + 10 * k}}));
    if (k == 7) {
      Publish(Sale(vendor, "acct-2", "late", sv1::SALE_KIND_SELL_IN, time, {{"networking", 1}}));
    }
  }
  const std::string p1 = MapPartner(vendor, {"acct-1"});
  const std::string p2 = MapPartner(vendor, {"acct-2"});
  fv1::GetForecastRequest quarterly = VendorRequest(vendor);
  quarterly.set_granularity(fv1::GRANULARITY_QUARTER);
  fv1::GetForecastResponse ingested;
  ASSERT_TRUE(WaitForHistory(quarterly, {100, 110, 120, 130, 140, 150, 160, 171}, &ingested));
  // Both mappings (they may sit on different partitions of the partner topic).
  fv1::GetForecastRequest first = PartnerRequest(vendor, p1);
  first.set_granularity(fv1::GRANULARITY_QUARTER);
  ASSERT_TRUE(WaitForHistory(first, {100, 110, 120, 130, 140, 150, 160, 170}, &ingested));
  fv1::GetForecastRequest second = PartnerRequest(vendor, p2);
  ASSERT_TRUE(WaitForHistory(second, {1}, &ingested));

  fv1::RunBacktestRequest request;
  request.set_vendor_id(vendor);
  request.set_level(fv1::FORECAST_LEVEL_PARTNER);
  request.set_granularity(fv1::GRANULARITY_QUARTER);
  request.set_horizon(1);
  request.set_origin_count(2);
  fv1::RunBacktestResponse response;
  {
    auto ctx = testing::Context(testing::ServiceToken(), absl::Seconds(60));
    grpc::Status status = Stub()->RunBacktest(ctx.get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const fv1::BacktestReport& report = response.report();
  EXPECT_EQ(report.skipped_series_count(), 1);
  ASSERT_EQ(report.series_size(), 1);
  EXPECT_EQ(report.series(0).series().partner_id(), p1);
  // Fewer than ten periods: the short-history path, the mean of the last three. From 6 periods
  // it says 140 for 160, from 7 it says 150 for 170: sMAPE 200·20/300 and 200·20/320; the
  // lag-4 MASE scale is 40, so MASE = 20/40 at both origins.
  const fv1::Accuracy& a = report.series(0).accuracy();
  EXPECT_EQ(report.series(0).method(), fv1::FORECAST_METHOD_SHORT_HISTORY);
  EXPECT_NEAR(a.smape(), (200.0 * 20 / 300 + 200.0 * 20 / 320) / 2, 1e-9);
  EXPECT_NEAR(a.mase(), 0.5, 1e-9);
  EXPECT_EQ(a.point_count(), 2);
  EXPECT_EQ(report.overall().series_count(), 1);
  EXPECT_NEAR(report.overall().smape(), a.smape(), 1e-12);

  // Per segment: both partners are resellers in EMEA without a tier; only p1 is scored.
  ASSERT_EQ(report.segments_size(), 1);
  EXPECT_EQ(report.segments(0).segment().partner_type(), common::v1::PARTNER_TYPE_RESELLER);
  EXPECT_EQ(report.segments(0).segment().tier_id(), "-");
  EXPECT_NEAR(report.segments(0).accuracy().smape(), a.smape(), 1e-12);
  EXPECT_EQ(report.segments(0).accuracy().series_count(), 1);

  // A filter selects the series: p2 alone has too little history.
  auto backtest = [&](const fv1::RunBacktestRequest& r, fv1::RunBacktestResponse* out) {
    auto ctx = testing::Context(testing::ServiceToken(), absl::Seconds(60));
    return Stub()->RunBacktest(ctx.get(), r, out);
  };
  fv1::RunBacktestRequest only_p2 = request;
  only_p2.set_filter(absl::StrCat("partner_id = \"", p2, "\""));
  ASSERT_TRUE(backtest(only_p2, &response).ok());
  EXPECT_EQ(response.report().series_size(), 0);
  EXPECT_EQ(response.report().skipped_series_count(), 1);
  fv1::RunBacktestRequest distributors = request;
  distributors.set_filter("segment.partner_type = PARTNER_TYPE_DISTRIBUTOR");
  ASSERT_TRUE(backtest(distributors, &response).ok());
  EXPECT_EQ(response.report().series_size() + response.report().skipped_series_count(), 0);

  // SEGMENT level: the segment's series holds both partners' sales, 100 … 160, 171: from 6
  // periods the mean of the last three says 140 for 160, from 7 it says 150 for 171.
  fv1::RunBacktestRequest by_segment = request;
  by_segment.set_level(fv1::FORECAST_LEVEL_SEGMENT);
  ASSERT_TRUE(backtest(by_segment, &response).ok());
  ASSERT_EQ(response.report().series_size(), 1);
  EXPECT_EQ(response.report().series(0).series().level(), fv1::FORECAST_LEVEL_SEGMENT);
  EXPECT_EQ(response.report().series(0).series().segment().region(), "EMEA");
  EXPECT_NEAR(response.report().series(0).accuracy().smape(),
              (200.0 * 20 / 300 + 200.0 * 21 / 321) / 2, 1e-9);
  ASSERT_EQ(response.report().segments_size(), 1);

  // One method evaluated alone: naive says 150 for 160 and 160 for 170.
  fv1::RunBacktestRequest naive = request;
  naive.set_filter(absl::StrCat("partner_id = \"", p1, "\""));
  naive.add_methods(fv1::FORECAST_METHOD_NAIVE);
  ASSERT_TRUE(backtest(naive, &response).ok());
  ASSERT_EQ(response.report().series_size(), 1);
  EXPECT_EQ(response.report().series(0).method(), fv1::FORECAST_METHOD_NAIVE);
  EXPECT_NEAR(response.report().series(0).accuracy().smape(),
              (200.0 * 10 / 310 + 200.0 * 10 / 330) / 2, 1e-9);
  naive.add_methods(fv1::FORECAST_METHOD_UNSPECIFIED);
  grpc::Status unnamed = backtest(naive, &response);
  EXPECT_EQ(unnamed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unnamed.error_message(), HasSubstr("methods[1]"));

  fv1::RunBacktestRequest bad_filter = request;
  bad_filter.set_filter("product_line = 7");
  grpc::Status bad = backtest(bad_filter, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("filter"));

  // Per category: p1 also sells storage, 50, 55, …, 85. A filter comparing product_category
  // scores each category's series on its own, the key naming the category; without one, the
  // series total both.
  for (int k = 0; k < 8; ++k) {
    Publish(Sale(vendor, "acct-1", absl::StrCat("s", k), sv1::SALE_KIND_SELL_IN, quarter_time(k),
                 {{"storage", 50 + 5 * k}}));
  }
  ASSERT_TRUE(WaitForHistory(first, {150, 165, 180, 195, 210, 225, 240, 255}, &ingested));
  fv1::RunBacktestRequest networking = request;
  networking.set_filter(
      absl::StrCat("product_category = \"networking\" AND partner_id = \"", p1, "\""));
  ASSERT_TRUE(backtest(networking, &response).ok());
  ASSERT_EQ(response.report().series_size(), 1);
  EXPECT_EQ(response.report().series(0).series().partner_id(), p1);
  EXPECT_EQ(response.report().series(0).series().product_category(), "networking");
  EXPECT_NEAR(response.report().series(0).accuracy().smape(),
              (200.0 * 20 / 300 + 200.0 * 20 / 320) / 2, 1e-9);  // as p1's total before
  fv1::RunBacktestRequest storage = request;
  storage.set_filter("product_category = \"storage\"");
  ASSERT_TRUE(backtest(storage, &response).ok());
  ASSERT_EQ(response.report().series_size(), 1);  // p2 sells no storage: no such series
  EXPECT_EQ(response.report().skipped_series_count(), 0);
  EXPECT_EQ(response.report().series(0).series().partner_id(), p1);
  EXPECT_EQ(response.report().series(0).series().product_category(), "storage");
  // From 6 periods the mean of the last three says 70 for 80, from 7 it says 75 for 85.
  EXPECT_NEAR(response.report().series(0).accuracy().smape(),
              (200.0 * 10 / 150 + 200.0 * 10 / 160) / 2, 1e-9);
  fv1::RunBacktestRequest totals = request;
  totals.set_filter(absl::StrCat("partner_id = \"", p1, "\""));
  ASSERT_TRUE(backtest(totals, &response).ok());
  ASSERT_EQ(response.report().series_size(), 1);
  EXPECT_EQ(response.report().series(0).series().product_category(), "");
  // 150 … 255: from 6 periods the mean of the last three says 210 for 240, from 7 225 for 255.
  EXPECT_NEAR(response.report().series(0).accuracy().smape(),
              (200.0 * 30 / 450 + 200.0 * 30 / 480) / 2, 1e-9);

  request.set_max_series(1);
  EXPECT_EQ(backtest(request, &response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// The forecast topic of StoredForecastsArePublishedWhenTheyChangeAndServeReads's own service:
// every forecast instance on the shared broker (other tests' too) reads every vendor's sales and
// publishes its forecasts.
constexpr char kOwnForecastTopic[] = "prm.it.forecast";

// The ForecastUpdated events of kOwnForecastTopic whose series belongs to `vendor`, in topic
// order per series (the series id is the record key), each once: the outbox relay delivers at
// least once, and a consumer drops a redelivered event id, as this does.
std::vector<fv1::ForecastUpdated> ForecastUpdates(const std::string& vendor) {
  std::vector<fv1::ForecastUpdated> updates;
  std::set<std::string> seen;
  for (const kafka::Record& record : testing::ReadTopic(kOwnForecastTopic, absl::Seconds(10))) {
    if (!absl::StartsWith(record.key, vendor + "/")) continue;
    auto event = events::Decode(record);
    if (!event.ok() || event->type != "prm.forecast.ForecastUpdated.v1") continue;
    if (!seen.insert(event->id).second) continue;
    fv1::ForecastUpdated update;
    if (events::UnpackPayload(*event, &update).ok()) updates.push_back(std::move(update));
  }
  return updates;
}

// The latest ForecastUpdated of one series and granularity, if any.
std::optional<fv1::ForecastUpdated> Latest(const std::vector<fv1::ForecastUpdated>& updates,
                                           const std::string& series_id,
                                           fv1::Granularity granularity) {
  std::optional<fv1::ForecastUpdated> latest;
  for (const fv1::ForecastUpdated& u : updates) {
    if (u.forecast().series_id() == series_id && u.forecast().granularity() == granularity) {
      latest = u;
    }
  }
  return latest;
}

// Stored forecasts (SPEC §7.7): the series a vendor's events touch are recomputed after them and
// published as ForecastUpdated (key = series id), each only when its content changed, with
// versions 1, 2, ... per series and granularity; GetForecast answers from the stored forecast;
// after kill -9 and a restart nothing unchanged is published again and versions go on.
TEST_F(ForecastIT, StoredForecastsArePublishedWhenTheyChangeAndServeReads) {
  // A service of this test's own, publishing to kOwnForecastTopic (the calls below go to it).
  struct RemovedAtEnd {
    std::string dir;
    ~RemovedAtEnd() { std::filesystem::remove_all(dir); }
  } own_dir{(std::filesystem::temp_directory_path() / testing::UniqueName("forecast-own")).string()};
  const std::string& dir = own_dir.dir;
  testing::ServiceProcess own("forecast", dir, testing::UniqueName("forecast-own-group"),
                              {"--forecast-refresh-interval=200ms",
                               absl::StrCat("--topic-forecast=", kOwnForecastTopic)});
  ASSERT_TRUE(own.StartAndWaitServing());
  testing::ServiceProcess* const shared = process_;
  process_ = &own;
  struct Restore {
    testing::ServiceProcess*& process;
    testing::ServiceProcess* shared;
    ~Restore() { process = shared; }
  } restore{process_, shared};

  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  for (int k = 0; k < 3; ++k) {
    Publish(Sale(vendor, "acct-1", absl::StrCat("inv-", k), sv1::SALE_KIND_SELL_IN,
                 w1 + absl::Hours(24 * 7 * k), {{"networking", 100 + 10 * k}}));
  }
  Publish(Sale(vendor, "acct-2", "b-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 5}}));
  const std::string p1 = MapPartner(vendor, {"acct-1"});
  const std::string p2 = MapPartner(vendor, {"acct-2"});
  const std::string partner_series = absl::StrCat(vendor, "/PARTNER/", p1, "/*/SELL_IN");
  const std::string vendor_series = absl::StrCat(vendor, "/VENDOR/-/*/SELL_IN");

  // Every series the events touch, at every granularity: the partner's and the vendor's once
  // their content holds all three sales, and the partner's segment's.
  std::vector<fv1::ForecastUpdated> updates;
  auto complete = [&] {
    for (const std::string& series : {partner_series, vendor_series}) {
      for (fv1::Granularity g : {fv1::GRANULARITY_WEEK, fv1::GRANULARITY_MONTH,
                                 fv1::GRANULARITY_QUARTER}) {
        std::optional<fv1::ForecastUpdated> latest = Latest(updates, series, g);
        if (!latest || latest->forecast().data_through_time().seconds() !=
                           absl::ToUnixSeconds(w1 + absl::Hours(24 * 14))) {
          return false;
        }
      }
    }
    return std::any_of(updates.begin(), updates.end(), [](const fv1::ForecastUpdated& u) {
      return u.forecast().series().level() == fv1::FORECAST_LEVEL_SEGMENT;
    });
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!(updates = ForecastUpdates(vendor), complete()) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(complete()) << updates.size() << " updates";
  std::optional<fv1::ForecastUpdated> weekly =
      Latest(updates, partner_series, fv1::GRANULARITY_WEEK);
  EXPECT_EQ(weekly->metadata().vendor_id(), vendor);
  EXPECT_EQ(weekly->forecast().points_size(), 13);  // the default horizon
  EXPECT_EQ(weekly->forecast().history_size(), 0);
  EXPECT_EQ(weekly->forecast().history_length(), 3);
  EXPECT_NEAR(ToDouble(weekly->forecast().points(0).mean()), 110, 1e-6);
  EXPECT_EQ(Latest(updates, partner_series, fv1::GRANULARITY_QUARTER)->forecast().points_size(),
            4);
  // Versions count 1, 2, ... per series and granularity, and each one differs from the one
  // before (an unchanged recomputation is not published).
  std::map<std::pair<std::string, int>, fv1::ForecastUpdated> last;
  for (const fv1::ForecastUpdated& u : updates) {
    const std::pair<std::string, int> series{u.forecast().series_id(), u.forecast().granularity()};
    auto it = last.find(series);
    const int64_t previous = it == last.end() ? 0 : it->second.metadata().aggregate_version();
    EXPECT_EQ(u.metadata().aggregate_version(), previous + 1) << series.first;
    if (it != last.end()) {
      fv1::SeriesForecast a = it->second.forecast(), b = u.forecast();
      a.clear_compute_time();
      b.clear_compute_time();
      EXPECT_FALSE(google::protobuf::util::MessageDifferencer::Equals(a, b)) << series.first;
    }
    last[series] = u;
  }

  // Reads answer from the stored forecast (once the refresh that published it has stored it):
  // the refresh's compute time and points.
  fv1::GetForecastRequest request = PartnerRequest(vendor, p1);
  request.set_horizon(0);  // the default horizon, the stored one
  request.set_history_periods(2);
  fv1::GetForecastResponse response;
  auto stored = [&] {
    return google::protobuf::util::MessageDifferencer::Equals(response.forecast().compute_time(),
                                                              weekly->forecast().compute_time());
  };
  const absl::Time read_deadline = absl::Now() + absl::Seconds(30);
  while ((Call(request, &response), !stored()) && absl::Now() < read_deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(stored()) << response.forecast().compute_time().DebugString();
  ASSERT_EQ(response.forecast().history_size(), 2);
  EXPECT_EQ(ToDouble(response.forecast().history(1).actual()), 120);
  fv1::SeriesForecast read = response.forecast();
  read.clear_history();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(read, weekly->forecast()))
      << read.DebugString() << "\n" << weekly->forecast().DebugString();

  // kill -9 and restart: every series is recomputed, none has changed, none is published. Two
  // other vendors' sales, the second sent once the first's forecast is out, prove a whole
  // refresh ran after the restart.
  size_t published = 0;
  for (size_t seen = updates.size(); seen != published;) {  // every refresh's events are out
    published = seen;
    absl::SleepFor(absl::Seconds(1));
    seen = ForecastUpdates(vendor).size();
  }
  process_->Kill();
  ASSERT_TRUE(process_->StartAndWaitServing());
  for (int k = 0; k < 2; ++k) {
    const std::string other = testing::UniqueName("vendor");
    Publish(Sale(other, "acct-1", "inv-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 5}}));
    const absl::Time other_deadline = absl::Now() + absl::Seconds(60);
    while (ForecastUpdates(other).empty() && absl::Now() < other_deadline) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    ASSERT_FALSE(ForecastUpdates(other).empty());
  }
  EXPECT_EQ(ForecastUpdates(vendor).size(), published);

  // A new sale changes the partner's forecast: the next version.
  Publish(Sale(vendor, "acct-1", "inv-3", sv1::SALE_KIND_SELL_IN, w1 + absl::Hours(24 * 21),
               {{"networking", 130}}));
  std::optional<fv1::ForecastUpdated> next;
  const absl::Time next_deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < next_deadline) {
    next = Latest(ForecastUpdates(vendor), partner_series, fv1::GRANULARITY_WEEK);
    if (next && next->forecast().history_length() == 4) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->forecast().history_length(), 4);
  EXPECT_EQ(next->metadata().aggregate_version(), weekly->metadata().aggregate_version() + 1);
  // That sale opened a new week of the vendor's: p2's series gained a zero week too, so its
  // stored forecast was recomputed with the rest (a read once the refresh is stored says so).
  absl::SleepFor(absl::Seconds(1));
  fv1::GetForecastRequest other = PartnerRequest(vendor, p2);
  other.set_horizon(0);
  ASSERT_TRUE(Call(other, &response).ok());
  std::vector<double> history;
  for (const auto& a : response.forecast().history()) history.push_back(ToDouble(a.actual()));
  EXPECT_THAT(history, ElementsAre(5, 0, 0, 0));
}

// A segment counts each sale in the tier its partner held on the sale's day (SPEC §7.1), and
// its forecast is the sum of its partners' (bottom-up). Partner a was silver until w1 + 14 days,
// gold since; b silver since before its sale; c (a distributor in APAC) has no tier.
TEST_F(ForecastIT, SegmentSeriesCountEachSaleInTheTierOfItsDay) {
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  const absl::Time w4 = w1 + absl::Hours(24 * 7 * 3);
  Publish(Sale(vendor, "acct-a", "a-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 30}}));
  Publish(Sale(vendor, "acct-a", "a-2", sv1::SALE_KIND_SELL_IN, w4, {{"networking", 40}}));
  Publish(Sale(vendor, "acct-b", "b-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 20}}));
  Publish(Sale(vendor, "acct-c", "c-1", sv1::SALE_KIND_SELL_IN, w1, {{"networking", 5}}));
  const std::string a = MapPartner(vendor, {"acct-a"});
  const std::string b = MapPartner(vendor, {"acct-b"});
  MapPartner(vendor, {"acct-c"}, common::v1::PARTNER_TYPE_DISTRIBUTOR, "APAC");
  // a's changes arrive newest first.
  PublishTier(vendor, a, 3, "silver", "gold", w1 + absl::Hours(24 * 14));
  PublishTier(vendor, a, 2, "", "silver", w1 - absl::Hours(24 * 30));
  PublishTier(vendor, b, 2, "", "silver", w1 - absl::Hours(24 * 7));

  // ListSegments (largest trailing revenue first, two per page), polled until every partner,
  // tier and sale has arrived (they come on two topics): silver holds a's first sale and b's.
  fv1::ListSegmentsRequest list;
  list.set_vendor_id(vendor);
  list.set_page_size(2);
  fv1::ListSegmentsResponse page;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    page.Clear();
    auto ctx = testing::Context(testing::ServiceToken());
    ASSERT_TRUE(Stub()->ListSegments(ctx.get(), list, &page).ok());
    if (page.segments_size() == 2 && page.segments(0).segment().tier_id() == "silver" &&
        ToDouble(page.segments(0).trailing_revenue()) == 50 &&
        ToDouble(page.segments(1).trailing_revenue()) == 40 && !page.next_page_token().empty()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_EQ(page.segments_size(), 2);
  EXPECT_EQ(page.segments(0).segment().tier_id(), "silver");
  EXPECT_EQ(page.segments(0).segment().region(), "EMEA");
  EXPECT_EQ(page.segments(0).segment().vertical(), "-");
  EXPECT_EQ(page.segments(0).partner_count(), 1);  // b; a is gold now
  EXPECT_EQ(ToDouble(page.segments(0).trailing_revenue()), 50);
  EXPECT_EQ(page.segments(1).segment().tier_id(), "gold");
  EXPECT_EQ(page.segments(1).partner_count(), 1);
  ASSERT_EQ(page.next_page_token(), "2");

  fv1::GetForecastRequest gold = VendorRequest(vendor);
  gold.mutable_series()->set_level(fv1::FORECAST_LEVEL_SEGMENT);
  gold.mutable_series()->mutable_segment()->set_tier_id("gold");
  fv1::GetForecastResponse response;
  ASSERT_TRUE(WaitForHistory(gold, {40}, &response));
  EXPECT_EQ(response.forecast().series().segment().tier_id(), "gold");
  fv1::GetForecastRequest silver = gold;
  silver.mutable_series()->mutable_segment()->set_tier_id("silver");
  ASSERT_TRUE(WaitForHistory(silver, {50, 0, 0, 0}, &response));
  // Every tier together: the resellers' sales, and the sum of a's and b's forecasts (the
  // short-history mean of the last three weeks: (0 + 0 + 40) / 3 and 0).
  fv1::GetForecastRequest resellers = gold;
  resellers.mutable_series()->mutable_segment()->clear_tier_id();
  resellers.mutable_series()->mutable_segment()->set_partner_type(
      common::v1::PARTNER_TYPE_RESELLER);
  ASSERT_TRUE(WaitForHistory(resellers, {50, 0, 0, 40}, &response));
  EXPECT_EQ(response.forecast().reconciliation(), fv1::RECONCILIATION_BOTTOM_UP);
  EXPECT_NEAR(ToDouble(response.forecast().points(0).mean()), 40.0 / 3, 1e-6);
  fv1::GetForecastRequest apac = gold;
  apac.mutable_series()->mutable_segment()->clear_tier_id();
  apac.mutable_series()->mutable_segment()->set_region("APAC");
  ASSERT_TRUE(WaitForHistory(apac, {5, 0, 0, 0}, &response));
  fv1::GetForecastRequest untiered_emea = apac;
  untiered_emea.mutable_series()->mutable_segment()->set_region("EMEA");
  untiered_emea.mutable_series()->mutable_segment()->set_tier_id("-");
  EXPECT_EQ(Call(untiered_emea, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  list.set_page_token(page.next_page_token());
  {
    auto ctx = testing::Context(testing::ServiceToken());
    ASSERT_TRUE(Stub()->ListSegments(ctx.get(), list, &page).ok());
  }
  ASSERT_EQ(page.segments_size(), 1);
  EXPECT_EQ(page.segments(0).segment().partner_type(), common::v1::PARTNER_TYPE_DISTRIBUTOR);
  EXPECT_EQ(page.segments(0).segment().tier_id(), "-");
  EXPECT_TRUE(page.next_page_token().empty());

  // Filters (AIP-160): by tier, by type, and by partner count with region.
  auto filtered = [&](const std::string& filter) {
    fv1::ListSegmentsRequest request;
    request.set_vendor_id(vendor);
    request.set_filter(filter);
    fv1::ListSegmentsResponse response;
    auto ctx = testing::Context(testing::ServiceToken());
    grpc::Status status = Stub()->ListSegments(ctx.get(), request, &response);
    EXPECT_TRUE(status.ok()) << filter << ": " << status.error_message();
    std::vector<std::string> tiers;
    for (const auto& s : response.segments()) tiers.push_back(s.segment().tier_id());
    return tiers;
  };
  EXPECT_THAT(filtered(R"(segment.tier_id = "gold")"), ElementsAre("gold"));
  EXPECT_THAT(filtered("segment.partner_type = PARTNER_TYPE_DISTRIBUTOR"), ElementsAre("-"));
  EXPECT_THAT(filtered(R"(partner_count >= 1 AND segment.region = "EMEA")"),
              ElementsAre("silver", "gold"));
  fv1::ListSegmentsRequest bad;
  bad.set_vendor_id(vendor);
  bad.set_filter("trailing_revenue > 5");
  fv1::ListSegmentsResponse ignored;
  auto ctx = testing::Context(testing::ServiceToken());
  grpc::Status status = Stub()->ListSegments(ctx.get(), bad, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("filter"));
}

// The pipeline blend through GetForecast (SPEC §7.3), by hand: sales of 100, 110, 120 (the
// short-history forecast is 110 a week); a won deal of 165 in the window (coverage 165 / 330 =
// 1/2; one closed deal, won: p = (1 + 1) / (1 + 2) = 2/3); an approved deal of 1,000 closing in
// the first forecast week: pipeline 1,000 × 2/3. Default blend periods 3 → weights 1/2 × 3/4 and
// 1/2 × 2/4.
TEST_F(ForecastIT, OpenDealsBlendIntoTheNearHorizon) {
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek();
  for (int k = 0; k < 3; ++k) {
    Publish(Sale(vendor, "acct-1", absl::StrCat("inv-", k), sv1::SALE_KIND_SELL_IN,
                 w1 + absl::Hours(24 * 7 * k), {{"networking", 100 + 10 * k}}));
  }
  const std::string p1 = MapPartner(vendor, {"acct-1"});
  const fv1::GetForecastRequest request = PartnerRequest(vendor, p1);
  fv1::GetForecastResponse plain;
  ASSERT_TRUE(WaitForHistory(request, {100, 110, 120}, &plain));
  EXPECT_NEAR(ToDouble(plain.forecast().points(0).mean()), 110, 1e-6);  // no deals: no blend
  const absl::CivilDay first = ToCivil(plain.forecast().points(0).period_start());

  PublishDeal("prm.deal.DealWon.v1", vendor, p1, testing::UniqueName("deal"), 2,
              w1 - absl::Hours(24 * 10), w1 + absl::Hours(24), 165);
  deal::v1::DealApproved approved;
  const std::string event_id = testing::UniqueName("deal-event");
  approved.mutable_metadata()->set_event_id(event_id);
  approved.mutable_metadata()->set_vendor_id(vendor);
  approved.mutable_metadata()->set_aggregate_version(3);
  deal::v1::Deal* d = approved.mutable_deal();
  d->set_vendor_id(vendor);
  d->set_deal_id(testing::UniqueName("deal"));
  d->set_partner_id(p1);
  d->set_state(deal::v1::DEAL_STATE_APPROVED);
  d->set_stage(deal::v1::DEAL_STAGE_NEGOTIATING);
  d->mutable_value()->set_currency_code("USD");
  d->mutable_value()->set_units(1000);
  const absl::CivilDay close = first + 2;
  d->mutable_expected_close_date()->set_year(static_cast<int32_t>(close.year()));
  d->mutable_expected_close_date()->set_month(close.month());
  d->mutable_expected_close_date()->set_day(close.day());
  ASSERT_TRUE(producer_
                  ->Produce(events::EncodeBinary(
                                events::MakeEvent(approved, "prm.deal.DealApproved.v1",
                                                  "prm/deal-registration", event_id, absl::Now(),
                                                  d->deal_id()),
                                "prm.deal.v1"),
                            absl::Seconds(30))
                  .ok());

  fv1::GetForecastResponse blended;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    if (Call(request, &blended).ok() && blended.forecast().pipeline().open_deal_count() == 1 &&
        blended.forecast().points(0).pipeline_weight() > 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  const fv1::SeriesForecast& f = blended.forecast();
  ASSERT_EQ(f.pipeline().open_deal_count(), 1);
  EXPECT_NEAR(ToDouble(f.pipeline().open_value()), 1000, 1e-6);
  EXPECT_NEAR(ToDouble(f.pipeline().expected_value()), 1000.0 * 2 / 3, 1e-6);
  EXPECT_EQ(f.pipeline().blend_periods(), 2);  // the default 3, within the horizon of 2
  ASSERT_EQ(f.points_size(), 2);
  EXPECT_DOUBLE_EQ(f.points(0).pipeline_weight(), 0.5 * 3 / 4);
  EXPECT_DOUBLE_EQ(f.points(1).pipeline_weight(), 0.5 * 2 / 4);
  EXPECT_NEAR(ToDouble(f.points(0).statistical_mean()), 110, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(0).pipeline_mean()), 1000.0 * 2 / 3, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(1).pipeline_mean()), 0, 1e-9);
  // 3/8 × 666.67 + 5/8 × 110 = 318.75; 1/4 × 0 + 3/4 × 110 = 82.5; bounds move with the mean.
  EXPECT_NEAR(ToDouble(f.points(0).mean()), 318.75, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(1).mean()), 82.5, 1e-6);
  EXPECT_NEAR(ToDouble(f.points(0).upper_95()) - ToDouble(f.points(0).mean()),
              ToDouble(plain.forecast().points(0).upper_95()) - 110, 1e-6);
  // exclude_pipeline gives the statistical forecast back.
  fv1::GetForecastRequest excluded = request;
  excluded.set_exclude_pipeline(true);
  fv1::GetForecastResponse statistical;
  ASSERT_TRUE(Call(excluded, &statistical).ok());
  EXPECT_NEAR(ToDouble(statistical.forecast().points(0).mean()), 110, 1e-6);
  EXPECT_FALSE(statistical.forecast().has_pipeline());
}

// A measurement, not a check (run with --gtest_also_run_disabled_tests): the time from kill -9
// to SERVING again with FORECAST_IT_REPLAY_EVENTS (default 20000) more sales in the log.
TEST_F(ForecastIT, DISABLED_ReplayTimeAfterKill) {
  const char* env = std::getenv("FORECAST_IT_REPLAY_EVENTS");
  const int n = env != nullptr ? std::atoi(env) : 20000;
  const std::string vendor = testing::UniqueName("vendor");
  const absl::Time w1 = FirstWeek() - absl::Hours(24 * 7 * 40);
  std::vector<kafka::Record> records;
  for (int i = 0; i < n; ++i) {
    sv1::SaleRecorded sale =
        Sale(vendor, absl::StrCat("acct-", i % 50), absl::StrCat("inv-", i),
             sv1::SALE_KIND_SELL_IN, w1 + absl::Hours(i % (24 * 7 * 40)), {{"networking", 1}});
    events::CloudEvent event = events::MakeEvent(sale, kSaleType, "erp/sap-eu",
                                                 testing::UniqueName("sale"), absl::Now(),
                                                 absl::StrCat(vendor, "/", i % 50));
    records.push_back(events::EncodeBinary(event, kSalesTopic));
  }
  const absl::Time produce_start = absl::Now();
  for (const absl::Status& s : producer_->ProduceAndWait(records, absl::Seconds(120))) {
    ASSERT_TRUE(s.ok()) << s;
  }
  fv1::GetForecastRequest total = VendorRequest(vendor);
  total.set_history_periods(520);
  const absl::Time deadline = absl::Now() + absl::Seconds(300);
  double sum = 0;
  while (absl::Now() < deadline && sum < n) {
    fv1::GetForecastResponse response;
    sum = 0;
    if (Call(total, &response).ok()) {
      for (const auto& a : response.forecast().history()) sum += ToDouble(a.actual());
    }
    if (sum < n) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(sum, n);
  const absl::Duration ingest = absl::Now() - produce_start;
  process_->Kill();
  const absl::Time restart = absl::Now();
  ASSERT_TRUE(process_->StartAndWaitServing());
  const absl::Duration serving = absl::Now() - restart;
  std::cout << n << " sales produced and ingested in " << ingest << "; kill -9 to SERVING in "
            << serving << "\n";
}

}  // namespace
}  // namespace prm
