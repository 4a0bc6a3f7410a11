// Issue 7 "Faults": a service killed with SIGKILL at random points under load, then restarted
// on the same port and store, several times in a row; afterwards the effects are counted against
// what was acknowledged and published. ERP sales stream into prm.sales.v1 throughout, some
// redelivered (same CloudEvents id) and some sent again as a new event for the same document, so
// a sale lost or applied twice changes the count.
//   - partner-registry: two clients also create partners (each request retried with its
//     request_id until acknowledged). Every acknowledged partner exists, one per request_id, and
//     the trailing revenue equals the sum of the distinct documents exactly.
//   - forecast: the vendor series' weekly actuals add up to the distinct documents exactly.
//   - deal-registration: two clients create deals (retried with their request_id); every
//     acknowledged deal exists, one per request_id, and the vendor lists no other.
//   - concierge-routing: the same with tasks.
// Loopback only; bounded in kills, requests, sales and time; stops by itself.

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace pb = ::prm::partner::v1;

constexpr int kKills = 4;
constexpr int kWriters = 2;
constexpr int kMaxRequestsPerWriter = 2000;
constexpr int kSales = 400;

// The sales of one account: document d is worth (d % 7 + 1) units, so a double count of any one
// shows; every 10th document is redelivered and another sent again under a new event id.
struct SalesStream {
  std::vector<kafka::Record> records;
  int64_t expected_units = 0;
  int documents = 0;
};

SalesStream MakeSales(const std::string& run, const std::string& vendor,
                      const std::string& currency) {
  SalesStream out;
  for (int d = 0; d < kSales; ++d) {
    sales::v1::SaleRecorded sale;
    sale.set_vendor_id(vendor);
    sale.set_erp_system_id("sap");
    sale.set_partner_external_id("SELLER-1");
    sale.set_erp_document_id(absl::StrCat("INV-", d));
    sale.set_kind(sales::v1::SALE_KIND_SELL_IN);
    sale.set_currency_code(currency);
    auto* line = sale.add_lines();
    line->set_sku("SKU-1");
    line->set_product_category("storage");
    line->set_quantity(1);
    line->mutable_amount()->set_currency_code(currency);
    line->mutable_amount()->set_units(d % 7 + 1);
    sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
    out.expected_units += d % 7 + 1;
    auto record = [&](const std::string& id) {
      return events::EncodeBinary(events::MakeEvent(sale, "prm.sales.SaleRecorded.v1", "erp/sap",
                                                    id, absl::Now(),
                                                    absl::StrCat(vendor, "/sap/SELLER-1")),
                                  "prm.sales.v1");
    };
    out.records.push_back(record(absl::StrCat(run, "-sale-", d)));
    if (d % 10 == 3) out.records.push_back(out.records.back());                  // a redelivery
    if (d % 10 == 7) out.records.push_back(record(absl::StrCat(run, "-again-", d)));  // same document
  }
  out.documents = kSales;
  return out;
}

// Publishes `sales` at a steady pace on its own thread.
class Publisher {
 public:
  Publisher(const std::string& run, const SalesStream& sales) : sales_(sales) {
    auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers(), .client_id = run});
    EXPECT_OK(producer.status());
    if (!producer.ok()) return;
    producer_ = *std::move(producer);
    thread_ = std::thread([this] {
      for (const kafka::Record& r : sales_.records) {
        absl::Status s = producer_->Produce(r, absl::Seconds(30));
        if (!s.ok()) {
          status_ = s;
          return;
        }
        ++published_;
        absl::SleepFor(absl::Milliseconds(15));
      }
    });
  }
  ~Publisher() { Join().IgnoreError(); }
  bool flowing() const { return published_.load() < static_cast<int>(sales_.records.size()); }
  int published() const { return published_.load(); }
  absl::Status Join() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  const SalesStream& sales_;
  std::unique_ptr<kafka::Producer> producer_;
  std::thread thread_;
  std::atomic<int> published_{0};
  absl::Status status_;
};

// Kills `process` kKills times at random points (seeded, the seed printed), restarting it each
// time; returns how many kills fell while `publisher` (if any) was still sending.
int KillLoop(testing::ServiceProcess& process, const Publisher* publisher) {
  const uint32_t seed = std::random_device{}();
  std::cout << "kill loop seed " << seed << "\n";
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> pause_ms(200, 1200);
  int while_flowing = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    absl::SleepFor(absl::Milliseconds(pause_ms(random)));
    if (publisher != nullptr && publisher->flowing()) ++while_flowing;
    process.Kill();
    absl::SleepFor(absl::Milliseconds(pause_ms(random) / 4));
    EXPECT_TRUE(process.StartAndWaitServing()) << "restart " << kill + 1;
  }
  return while_flowing;
}

// Polls `units` until it reaches `want` (bounded), then waits 2 s more for anything extra.
int64_t Settle(const std::function<int64_t()>& units, int64_t want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (units() < want && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  absl::SleepFor(absl::Seconds(2));
  return units();
}

// A channel that reconnects within 300 ms of the service coming back (gRPC's default backoff
// grows to minutes).
std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// One create call: sends request number `i` with `request_id` under `ctx`; on OK sets the id of
// what it created.
using CreateCall = std::function<grpc::Status(grpc::ClientContext* ctx, const std::string& request_id,
                                              int i, std::string* created_id)>;

// A client creating objects until told to stop (at most kMaxRequestsPerWriter), each request
// retried with its request_id until acknowledged (the service may be down at any moment).
class Writer {
 public:
  Writer(std::string prefix, std::string token, CreateCall create)
      : prefix_(std::move(prefix)), token_(std::move(token)), create_(std::move(create)) {}

  void Run(const std::atomic<bool>& stop, const std::atomic<bool>& give_up) {
    for (int i = 0; i < kMaxRequestsPerWriter && !stop.load() && !give_up.load(); ++i) {
      const std::string request_id = absl::StrCat(prefix_, "-", i);
      for (int attempt = 0; !give_up.load(); ++attempt) {
        auto ctx = testing::Context(token_, absl::Seconds(5));
        std::string id;
        grpc::Status s = create_(ctx.get(), request_id, i, &id);
        if (s.ok()) {
          ids_[request_id] = id;
          if (attempt > 0) ++retried_;
          break;
        }
        if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
            s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
          errors_.push_back(absl::StrCat(request_id, " attempt ", attempt, ": ", s.error_code(),
                                         " ", s.error_message()));
          break;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  const std::map<std::string, std::string>& ids() const { return ids_; }
  int retried() const { return retried_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string prefix_, token_;
  CreateCall create_;
  std::map<std::string, std::string> ids_;  // request_id → created id, acknowledged
  int retried_ = 0;
  std::vector<std::string> errors_;
};

// What kWriters writers acknowledged while `process` was killed kKills times.
struct Written {
  std::map<std::string, std::string> ids;  // request_id → created id
  int retried = 0;
  int kills_while_sales_flowed = 0;
};

// Runs kWriters writers (each its own `create` with its own request ids) through the kill loop,
// stops them after the last restart, and gathers what they had acknowledged.
Written WriteThroughKills(testing::ServiceProcess& process, const std::string& prefix,
                          const std::string& token, const std::function<CreateCall()>& create,
                          const Publisher* publisher) {
  std::atomic<bool> give_up{false};
  std::atomic<bool> stop_writing{false};
  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    writers.push_back(std::make_unique<Writer>(absl::StrCat(prefix, "-w", w), token, create()));
    threads.emplace_back([&, w] { writers[w]->Run(stop_writing, give_up); });
  }
  Written out;
  out.kills_while_sales_flowed = KillLoop(process, publisher);
  // Every kill fell while the writers were writing; they stop now (a cap keeps a hang out).
  absl::SleepFor(absl::Milliseconds(300));
  stop_writing = true;
  const absl::Time writers_deadline = absl::Now() + absl::Seconds(120);
  std::thread watchdog([&] {
    while (absl::Now() < writers_deadline && !give_up.load()) absl::SleepFor(absl::Seconds(1));
    give_up = true;
  });
  for (std::thread& t : threads) t.join();
  const bool timed_out = give_up.exchange(true);
  watchdog.join();
  EXPECT_FALSE(timed_out) << "the writers did not finish within 120 s";
  for (const auto& w : writers) {
    for (const std::string& e : w->errors()) ADD_FAILURE() << e;
    out.ids.insert(w->ids().begin(), w->ids().end());
    out.retried += w->retried();
  }
  return out;
}

TEST(KillLoopIT, PartnerRegistryLosesNoAcknowledgedWriteAndCountsNoSaleTwice) {
  const std::string run = testing::UniqueName("kill-loop");
  const std::string vendor = run;
  const std::string dir = (std::filesystem::temp_directory_path() / run).string();
  testing::ServiceProcess process("partner-registry", dir, run + "-group");
  ASSERT_TRUE(process.StartAndWaitServing());
  const std::string token = testing::Token(
      {.subject = "kill-loop", .role = auth::Role::kChannelManager, .vendor_ids = {vendor}});
  auto call_ctx = [&] {
    auto ctx = testing::Context(token, absl::Seconds(30));
    ctx->set_wait_for_ready(true);  // across the restarts
    return ctx;
  };
  auto stub = pb::PartnerRegistry::NewStub(Connect(process.address()));

  // One partner enrolled, whose account the sales are booked on.
  pb::CreatePartnerRequest create;
  create.set_vendor_id(vendor);
  create.mutable_partner()->set_legal_name("Kill Loop Seller");
  create.mutable_partner()->set_hq_country_code("DE");
  create.mutable_partner()->add_types(common::v1::PARTNER_TYPE_RESELLER);
  auto* ext = create.mutable_partner()->add_external_ids();
  ext->set_vendor_id(vendor);
  ext->set_erp_system_id("sap");
  ext->set_account_id("SELLER-1");
  pb::CreatePartnerResponse seller;
  ASSERT_OK(FromGrpcStatus(stub->CreatePartner(call_ctx().get(), create, &seller)));
  pb::CreateProgramRequest program;
  program.mutable_program()->set_vendor_id(vendor);
  program.mutable_program()->set_display_name("Program");
  for (const auto& [tier_id, revenue] : {std::pair{"registered", 0}, std::pair{"gold", 1'000'000}}) {
    auto* tier = program.mutable_program()->add_tiers();
    tier->set_tier_id(tier_id);
    tier->set_display_name(tier_id);
    tier->mutable_benefits()->set_deal_protection_days(90);
    if (revenue > 0) {
      tier->mutable_requirements()->mutable_min_trailing_revenue()->set_currency_code("EUR");
      tier->mutable_requirements()->mutable_min_trailing_revenue()->set_units(revenue);
    }
  }
  pb::CreateProgramResponse program_created;
  ASSERT_OK(FromGrpcStatus(stub->CreateProgram(call_ctx().get(), program, &program_created)));
  pb::CreateEnrollmentRequest enroll;
  enroll.mutable_enrollment()->set_vendor_id(vendor);
  enroll.mutable_enrollment()->set_partner_id(seller.partner().partner_id());
  enroll.mutable_enrollment()->set_program_id(program_created.program().program_id());
  pb::CreateEnrollmentResponse enrolled;
  ASSERT_OK(FromGrpcStatus(stub->CreateEnrollment(call_ctx().get(), enroll, &enrolled)));

  const SalesStream sales = MakeSales(run, vendor, "EUR");
  const int64_t expected_units = sales.expected_units;
  Publisher publisher(run, sales);
  auto create_partner = [&]() -> CreateCall {
    auto writer_stub = std::shared_ptr<pb::PartnerRegistry::Stub>(
        pb::PartnerRegistry::NewStub(Connect(process.address())));
    return [&, writer_stub](grpc::ClientContext* ctx, const std::string& request_id, int,
                            std::string* id) {
      pb::CreatePartnerRequest req;
      req.set_vendor_id(vendor);
      req.set_request_id(request_id);
      pb::Partner* p = req.mutable_partner();
      p->set_legal_name("Kill Loop Reseller " + request_id);
      p->set_tax_id("TAX-" + request_id);
      p->add_web_domains(request_id + ".example");
      p->set_hq_country_code("DE");
      p->add_types(common::v1::PARTNER_TYPE_RESELLER);
      pb::CreatePartnerResponse resp;
      grpc::Status s = writer_stub->CreatePartner(ctx, req, &resp);
      *id = resp.partner().partner_id();
      return s;
    };
  };
  const Written written = WriteThroughKills(process, run, token, create_partner, &publisher);
  const int kills = kKills;
  const int kills_while_sales_flowed = written.kills_while_sales_flowed;
  ASSERT_OK(publisher.Join());

  // Every acknowledged write exists, once.
  std::set<std::string> partner_ids;
  const int acknowledged = written.ids.size(), retried = written.retried;
  for (const auto& [request_id, partner_id] : written.ids) {
    EXPECT_TRUE(partner_ids.insert(partner_id).second) << request_id << " shares its partner";
    pb::GetPartnerRequest get;
    get.set_partner_id(partner_id);
    pb::GetPartnerResponse got;
    grpc::Status s = stub->GetPartner(call_ctx().get(), get, &got);
    EXPECT_TRUE(s.ok()) << request_id << " → " << partner_id << " lost: " << s.error_message();
  }

  // Every sale counted once: wait for the last one, then make sure nothing more arrives.
  pb::GetEnrollmentRequest get;
  get.set_vendor_id(vendor);
  get.set_partner_id(seller.partner().partner_id());
  auto units = [&] {
    pb::GetEnrollmentResponse got;
    if (!stub->GetEnrollment(call_ctx().get(), get, &got).ok()) return int64_t{-1};
    return got.enrollment().metrics().trailing_revenue().units();
  };
  const int64_t counted = Settle(units, expected_units);
  EXPECT_EQ(counted, expected_units);
  EXPECT_GT(acknowledged, 0);
  EXPECT_GE(kills_while_sales_flowed, 1) << "the sales must be flowing when the service dies";

  std::cout << "kill loop: " << kills << " SIGKILLs at random points; " << acknowledged
            << " CreatePartner acknowledged (" << retried << " after a retry with the same "
            << "request_id), " << partner_ids.size() << " distinct partners found; "
            << publisher.published() << " sale records published (" << kSales
            << " documents, the rest redeliveries and repeats), revenue counted " << counted
            << " of " << expected_units << " units; " << kills_while_sales_flowed
            << " kills while sales were still being published\n";
  process.Terminate();
  std::filesystem::remove_all(dir);
}

TEST(KillLoopIT, ForecastCountsEverySaleOnceAcrossKills) {
  namespace fv1 = ::prm::forecast::v1;
  const std::string run = testing::UniqueName("kill-loop-forecast");
  const std::string vendor = run;
  const std::string dir = (std::filesystem::temp_directory_path() / run).string();
  testing::ServiceProcess process("forecast", dir, run + "-group");
  ASSERT_TRUE(process.StartAndWaitServing());
  auto stub = fv1::Forecast::NewStub(Connect(process.address()));

  const SalesStream sales = MakeSales(run, vendor, "USD");
  Publisher publisher(run, sales);
  const int kills_while_sales_flowed = KillLoop(process, &publisher);
  ASSERT_OK(publisher.Join());

  // The vendor series' weekly actuals over the last 10 weeks hold every sale (all an hour old).
  fv1::GetForecastRequest request;
  request.mutable_series()->set_vendor_id(vendor);
  request.mutable_series()->set_level(fv1::FORECAST_LEVEL_VENDOR);
  request.set_granularity(fv1::GRANULARITY_WEEK);
  request.set_horizon(1);
  request.set_history_periods(10);
  auto units = [&] {
    auto ctx = testing::Context(testing::ServiceToken(), absl::Seconds(30));
    ctx->set_wait_for_ready(true);
    fv1::GetForecastResponse response;
    if (!stub->GetForecast(ctx.get(), request, &response).ok()) return int64_t{-1};
    int64_t sum = 0;
    for (const auto& point : response.forecast().history()) sum += point.actual().units();
    return sum;
  };
  const int64_t counted = Settle(units, sales.expected_units);
  EXPECT_EQ(counted, sales.expected_units);
  EXPECT_GE(kills_while_sales_flowed, 1) << "the sales must be flowing when the service dies";
  std::cout << "kill loop (forecast): " << kKills << " SIGKILLs at random points, "
            << kills_while_sales_flowed << " while sales were still being published; "
            << publisher.published() << " sale records published (" << kSales
            << " documents); vendor series counted " << counted << " of "
            << sales.expected_units << " units\n";
  process.Terminate();
  std::filesystem::remove_all(dir);
}

TEST(KillLoopIT, DealRegistrationLosesNoAcknowledgedRegistration) {
  namespace dv1 = ::prm::deal::v1;
  const std::string run = testing::UniqueName("kill-loop-deal");
  const std::string vendor = run;
  const std::string partner = run + "-p1";
  const std::string dir = (std::filesystem::temp_directory_path() / run).string();
  testing::ServiceProcess process("deal-registration", dir, run + "-group");
  ASSERT_TRUE(process.StartAndWaitServing());
  const std::string token = testing::Token({.subject = "user-" + partner,
                                            .role = auth::Role::kPartnerUser,
                                            .vendor_ids = {vendor},
                                            .partner_id = partner});

  // Sales flow too (deal-registration consumes them for the closed loop), so that the kills also
  // land in the middle of consumed batches.
  const SalesStream sales = MakeSales(run, vendor, "USD");
  Publisher publisher(run, sales);
  auto create_deal = [&]() -> CreateCall {
    auto writer_stub = std::shared_ptr<dv1::DealRegistration::Stub>(
        dv1::DealRegistration::NewStub(Connect(process.address())));
    return [&, writer_stub](grpc::ClientContext* ctx, const std::string& request_id, int,
                            std::string* id) {
      dv1::CreateDealRequest req;
      req.set_request_id(request_id);
      dv1::Deal* d = req.mutable_deal();
      d->set_vendor_id(vendor);
      d->set_partner_id(partner);
      d->set_title("Rollout " + request_id);
      d->mutable_end_customer()->set_legal_name("Customer " + request_id + " Ltd");
      d->mutable_end_customer()->set_country_code("US");
      d->mutable_end_customer()->set_web_domain(request_id + ".example");
      auto* line = d->add_products();
      line->set_sku("SKU-K");
      line->set_product_category("networking");
      line->set_quantity(1);
      line->mutable_amount()->set_currency_code("USD");
      line->mutable_amount()->set_units(1000);
      d->mutable_value()->set_currency_code("USD");
      d->mutable_value()->set_units(1000);
      const absl::CivilDay close =
          absl::ToCivilDay(absl::Now() + absl::Hours(24 * 90), absl::UTCTimeZone());
      d->mutable_expected_close_date()->set_year(static_cast<int32_t>(close.year()));
      d->mutable_expected_close_date()->set_month(close.month());
      d->mutable_expected_close_date()->set_day(close.day());
      dv1::CreateDealResponse resp;
      grpc::Status s = writer_stub->CreateDeal(ctx, req, &resp);
      *id = resp.deal().deal_id();
      return s;
    };
  };
  const Written written = WriteThroughKills(process, run, token, create_deal, &publisher);
  ASSERT_OK(publisher.Join());

  auto stub = dv1::DealRegistration::NewStub(Connect(process.address()));
  std::set<std::string> deal_ids;
  for (const auto& [request_id, deal_id] : written.ids) {
    EXPECT_TRUE(deal_ids.insert(deal_id).second) << request_id << " shares its deal";
    dv1::GetDealRequest get;
    get.set_vendor_id(vendor);
    get.set_deal_id(deal_id);
    dv1::GetDealResponse got;
    auto ctx = testing::Context(token, absl::Seconds(30));
    ctx->set_wait_for_ready(true);
    grpc::Status s = stub->GetDeal(ctx.get(), get, &got);
    EXPECT_TRUE(s.ok()) << request_id << " → " << deal_id << " lost: " << s.error_message();
    EXPECT_EQ(got.deal().title(), "Rollout " + request_id);
  }
  // And nothing more: a retry that created a second deal would show here.
  size_t listed = 0;
  dv1::ListDealsRequest list;
  list.set_vendor_id(vendor);
  list.set_page_size(500);
  do {
    dv1::ListDealsResponse page;
    auto ctx = testing::Context(token, absl::Seconds(30));
    ASSERT_OK(FromGrpcStatus(stub->ListDeals(ctx.get(), list, &page)));
    listed += page.deals_size();
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed, written.ids.size());
  EXPECT_GT(written.ids.size(), 0u);
  EXPECT_GE(written.kills_while_sales_flowed, 1);
  std::cout << "kill loop (deal-registration): " << kKills << " SIGKILLs at random points; "
            << written.ids.size() << " CreateDeal acknowledged (" << written.retried
            << " after a retry with the same request_id), " << deal_ids.size()
            << " distinct deals found, " << listed << " listed\n";
  process.Terminate();
  std::filesystem::remove_all(dir);
}

TEST(KillLoopIT, ConciergeRoutingLosesNoAcknowledgedTask) {
  namespace rv1 = ::prm::routing::v1;
  const std::string run = testing::UniqueName("kill-loop-routing");
  const std::string vendor = run;
  const std::string dir = (std::filesystem::temp_directory_path() / run).string();
  testing::ServiceProcess process("concierge-routing", dir, run + "-group");
  ASSERT_TRUE(process.StartAndWaitServing());
  const std::string token =
      testing::Token({.subject = "admin", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor}});
  auto stub = rv1::ConciergeRouting::NewStub(Connect(process.address()));
  auto call_ctx = [&] {
    auto ctx = testing::Context(token, absl::Seconds(30));
    ctx->set_wait_for_ready(true);
    return ctx;
  };
  rv1::CreateQueueRequest queue;
  queue.mutable_queue()->set_vendor_id(vendor);
  queue.mutable_queue()->set_display_name("EMEA pricing");
  queue.mutable_queue()->set_target_workers("worker.regions HAS 'EMEA'");
  rv1::CreateQueueResponse queue_created;
  ASSERT_OK(FromGrpcStatus(stub->CreateQueue(call_ctx().get(), queue, &queue_created)));
  rv1::CreateWorkflowRequest workflow;
  workflow.mutable_workflow()->set_vendor_id(vendor);
  workflow.mutable_workflow()->set_display_name("pricing");
  workflow.mutable_workflow()->set_task_filter("task.category == 'pricing'");
  rv1::WorkflowStep* step = workflow.mutable_workflow()->add_steps();
  step->set_step_id("pricing-pool");
  step->set_queue_id(queue_created.queue().queue_id());
  step->set_target("worker.skills.pricing >= 3");
  workflow.mutable_workflow()->mutable_reservation_timeout()->set_seconds(60);
  rv1::CreateWorkflowResponse workflow_created;
  ASSERT_OK(FromGrpcStatus(stub->CreateWorkflow(call_ctx().get(), workflow, &workflow_created)));

  auto create_task = [&]() -> CreateCall {
    auto writer_stub = std::shared_ptr<rv1::ConciergeRouting::Stub>(
        rv1::ConciergeRouting::NewStub(Connect(process.address())));
    return [&, writer_stub](grpc::ClientContext* ctx, const std::string& request_id, int,
                            std::string* id) {
      rv1::CreateTaskRequest req;
      req.set_request_id(request_id);
      rv1::Task* t = req.mutable_task();
      t->set_vendor_id(vendor);
      t->set_partner_id("partner-1");
      t->set_channel(rv1::CHANNEL_EMAIL);
      t->set_category(rv1::TASK_CATEGORY_PRICING);
      t->set_region("EMEA");
      t->set_title("Quote " + request_id);
      t->set_workflow_id(workflow_created.workflow().workflow_id());
      rv1::CreateTaskResponse resp;
      grpc::Status s = writer_stub->CreateTask(ctx, req, &resp);
      *id = resp.task().task_id();
      return s;
    };
  };
  const Written written = WriteThroughKills(process, run, token, create_task, nullptr);

  std::set<std::string> task_ids;
  for (const auto& [request_id, task_id] : written.ids) {
    EXPECT_TRUE(task_ids.insert(task_id).second) << request_id << " shares its task";
    rv1::GetTaskRequest get;
    get.set_vendor_id(vendor);
    get.set_task_id(task_id);
    rv1::GetTaskResponse got;
    grpc::Status s = stub->GetTask(call_ctx().get(), get, &got);
    EXPECT_TRUE(s.ok()) << request_id << " → " << task_id << " lost: " << s.error_message();
    EXPECT_EQ(got.task().title(), "Quote " + request_id);
  }
  // And nothing more: a retry that created a second task would show here.
  size_t listed = 0;
  rv1::ListTasksRequest list;
  list.set_vendor_id(vendor);
  list.set_page_size(500);
  do {
    rv1::ListTasksResponse page;
    ASSERT_OK(FromGrpcStatus(stub->ListTasks(call_ctx().get(), list, &page)));
    listed += page.tasks_size();
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed, written.ids.size());
  EXPECT_GT(written.ids.size(), 0u);
  std::cout << "kill loop (concierge-routing): " << kKills << " SIGKILLs at random points; "
            << written.ids.size() << " CreateTask acknowledged (" << written.retried
            << " after a retry with the same request_id), " << task_ids.size()
            << " distinct tasks found, " << listed << " listed\n";
  process.Terminate();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace prm
