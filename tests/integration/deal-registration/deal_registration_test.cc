// deal-registration end to end: the real binary over gRPC, its SQLite command log and the real
// Kafka broker. Every test uses its own vendor id (UniqueName), data directory and consumer
// group, because the broker and its topics are shared.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace v1 = ::prm::deal::v1;
using ::testing::UnorderedElementsAre;

constexpr char kDealTopic[] = "prm.deal.v1";
constexpr char kSalesTopic[] = "prm.sales.v1";
constexpr char kPartnerTopic[] = "prm.partner.v1";

// One service process on its own store, for one test.
class DealRegistrationIT : public ::testing::Test {
 protected:
  DealRegistrationIT()
      : run_(testing::UniqueName("deal-it")),
        vendor_(run_ + "-vendor"),
        data_dir_((std::filesystem::temp_directory_path() / run_).string()) {}

  ~DealRegistrationIT() override {
    process_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  void Start(std::vector<std::string> extra_args = {}) {
    process_ = std::make_unique<testing::ServiceProcess>("deal-registration", data_dir_,
                                                         run_ + "-group", std::move(extra_args));
    ASSERT_TRUE(process_->StartAndWaitServing()) << "deal-registration did not become SERVING";
    stub_ = v1::DealRegistration::NewStub(process_->channel());
  }

  std::string PartnerToken(const std::string& partner) const {
    return testing::Token({.subject = "user-" + partner,
                           .role = auth::Role::kPartnerUser,
                           .vendor_ids = {vendor_},
                           .partner_id = partner});
  }
  std::string ManagerToken() const {
    return testing::Token(
        {.subject = "manager", .role = auth::Role::kChannelManager, .vendor_ids = {vendor_}});
  }

  v1::Deal Registration(const std::string& partner, const std::string& name,
                        const std::string& domain, const std::string& sku) const {
    v1::Deal d;
    d.set_vendor_id(vendor_);
    d.set_partner_id(partner);
    d.set_title("Rollout at " + name);
    d.mutable_end_customer()->set_legal_name(name);
    d.mutable_end_customer()->set_country_code("US");
    d.mutable_end_customer()->set_web_domain(domain);
    auto* line = d.add_products();
    line->set_sku(sku);
    line->set_product_category("networking");
    line->set_quantity(10);
    line->mutable_amount()->set_currency_code("USD");
    line->mutable_amount()->set_units(5000);
    d.mutable_value()->set_currency_code("USD");
    d.mutable_value()->set_units(5000);
    const absl::CivilDay close =
        absl::ToCivilDay(absl::Now() + absl::Hours(24 * 120), absl::UTCTimeZone());
    d.mutable_expected_close_date()->set_year(static_cast<int32_t>(close.year()));
    d.mutable_expected_close_date()->set_month(close.month());
    d.mutable_expected_close_date()->set_day(close.day());
    return d;
  }

  grpc::Status Create(const std::string& token, const v1::Deal& deal, v1::Deal* out,
                      const std::string& request_id = "") {
    v1::CreateDealRequest request;
    *request.mutable_deal() = deal;
    request.set_request_id(request_id);
    v1::CreateDealResponse response;
    grpc::Status status = stub_->CreateDeal(testing::Context(token).get(), request, &response);
    if (out != nullptr) *out = response.deal();
    return status;
  }

  grpc::Status Submit(const std::string& token, const std::string& deal_id,
                      v1::SubmitDealResponse* out = nullptr) {
    v1::SubmitDealRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    v1::SubmitDealResponse response;
    grpc::Status status = stub_->SubmitDeal(testing::Context(token).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  grpc::Status Review(const std::string& deal_id, const std::string& etag = "") {
    v1::StartReviewRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    request.set_etag(etag);
    v1::StartReviewResponse response;
    return stub_->StartReview(testing::Context(ManagerToken()).get(), request, &response);
  }

  grpc::Status Approve(const std::string& deal_id, v1::Deal* out = nullptr) {
    v1::ApproveDealRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    v1::ApproveDealResponse response;
    grpc::Status status =
        stub_->ApproveDeal(testing::Context(ManagerToken()).get(), request, &response);
    if (out != nullptr) *out = response.deal();
    return status;
  }

  grpc::Status Get(const std::string& token, const std::string& deal_id, v1::Deal* out) {
    v1::GetDealRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    v1::GetDealResponse response;
    grpc::Status status = stub_->GetDeal(testing::Context(token).get(), request, &response);
    if (out != nullptr) *out = response.deal();
    return status;
  }

  // A registered, submitted and approved deal of `partner`.
  std::string ApprovedDeal(const std::string& partner, const std::string& name,
                           const std::string& domain, const std::string& sku) {
    v1::Deal deal;
    EXPECT_TRUE(Create(PartnerToken(partner), Registration(partner, name, domain, sku), &deal)
                    .ok());
    EXPECT_TRUE(Submit(PartnerToken(partner), deal.deal_id()).ok());
    EXPECT_TRUE(Review(deal.deal_id()).ok());
    v1::Deal approved;
    grpc::Status status = Approve(deal.deal_id(), &approved);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(approved.state(), v1::DEAL_STATE_APPROVED);
    return deal.deal_id();
  }

  // Polls GetDeal (as the service) until `done` holds.
  bool WaitForDeal(const std::string& deal_id, const std::function<bool(const v1::Deal&)>& done,
                   absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      v1::Deal deal;
      if (Get(testing::ServiceToken(), deal_id, &deal).ok() && done(deal)) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // This test's vendor's events on the deal topic: (type, key, deal state) per event.
  struct SeenEvent {
    std::string type;
    std::string key;
    std::string id;
    v1::DealState state;
  };
  std::vector<SeenEvent> VendorEvents() {
    std::vector<SeenEvent> seen;
    for (const kafka::Record& record : testing::ReadTopic(kDealTopic, absl::Seconds(10))) {
      absl::StatusOr<events::CloudEvent> event = events::Decode(record);
      if (!event.ok()) continue;
      // Every deal event has EventMetadata as field 1 and (but DealDeleted) the Deal as 2.
      v1::DealCreated payload;
      if (!events::UnpackPayload(*event, &payload).ok()) continue;
      if (payload.metadata().vendor_id() != vendor_) continue;
      seen.push_back({event->type, record.key, event->id, payload.deal().state()});
    }
    return seen;
  }

  // Waits until the vendor's events satisfy `done`; returns the last read.
  std::vector<SeenEvent> WaitForEvents(
      const std::function<bool(const std::vector<SeenEvent>&)>& done,
      absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<SeenEvent> seen;
    while (absl::Now() < deadline) {
      seen = VendorEvents();
      if (done(seen)) return seen;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return seen;
  }

  static int Count(const std::vector<SeenEvent>& events, const std::string& type,
                   const std::string& key) {
    return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const SeenEvent& e) {
      return e.type == type && e.key == key;
    }));
  }

  static std::vector<std::string> BadFields(const grpc::Status& status) {
    std::vector<std::string> fields;
    for (const FieldViolation& v : FieldViolationsOf(FromGrpcStatus(status))) {
      fields.push_back(v.field);
    }
    return fields;
  }

  void Produce(const std::vector<kafka::Record>& records) {
    auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
    ASSERT_OK(producer.status());
    for (const absl::Status& s : (*producer)->ProduceAndWait(records, absl::Seconds(30))) {
      ASSERT_OK(s);
    }
  }

  std::string run_;
  std::string vendor_;
  std::string data_dir_;
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<v1::DealRegistration::Stub> stub_;
};

TEST_F(DealRegistrationIT, RegisterSubmitDetectConflictApproveAndList) {
  Start();
  const std::string p1 = PartnerToken("p1");
  const std::string p2 = PartnerToken("p2");

  v1::Deal first;
  ASSERT_TRUE(Create(p1, Registration("p1", "ACME, Inc.", "acme.com", "SKU-1"), &first).ok());
  EXPECT_EQ(first.state(), v1::DEAL_STATE_DRAFT);
  EXPECT_EQ(first.version(), 1);
  v1::SubmitDealResponse submitted;
  ASSERT_TRUE(Submit(p1, first.deal_id(), &submitted).ok());
  EXPECT_EQ(submitted.deal().state(), v1::DEAL_STATE_SUBMITTED);
  EXPECT_FALSE(submitted.has_conflict());

  // Same customer (another spelling, a subdomain), same SKU, another partner: a conflict.
  v1::Deal second;
  ASSERT_TRUE(
      Create(p2, Registration("p2", "Acme Incorporated", "eu.acme.com", "SKU-1"), &second).ok());
  ASSERT_TRUE(Submit(p2, second.deal_id(), &submitted).ok());
  EXPECT_TRUE(submitted.has_conflict());
  EXPECT_TRUE(submitted.deal().has_conflict());

  // The partner learns only that a conflict exists; the channel manager sees with whom.
  v1::GetDealConflictsRequest conflicts_request;
  conflicts_request.set_vendor_id(vendor_);
  conflicts_request.set_deal_id(second.deal_id());
  v1::GetDealConflictsResponse conflicts;
  ASSERT_TRUE(stub_->GetDealConflicts(testing::Context(p2).get(), conflicts_request, &conflicts)
                  .ok());
  EXPECT_TRUE(conflicts.has_conflict());
  EXPECT_EQ(conflicts.conflicts_size(), 0);
  ASSERT_TRUE(
      stub_->GetDealConflicts(testing::Context(ManagerToken()).get(), conflicts_request,
                              &conflicts)
          .ok());
  ASSERT_EQ(conflicts.conflicts_size(), 1);
  EXPECT_EQ(conflicts.conflicts(0).earlier_deal_id(), first.deal_id());
  EXPECT_EQ(conflicts.conflicts(0).earlier_partner_id(), "p1");
  EXPECT_EQ(conflicts.conflicts(0).later_deal_id(), second.deal_id());

  // Approval with etags; exclusivity refuses the rival.
  v1::Deal current;
  ASSERT_TRUE(Get(p1, first.deal_id(), &current).ok());
  ASSERT_TRUE(Review(first.deal_id(), current.etag()).ok());
  EXPECT_EQ(Review(first.deal_id(), current.etag()).error_code(), grpc::StatusCode::ABORTED)
      << "a stale etag must be refused";
  ASSERT_TRUE(Review(second.deal_id()).ok());
  v1::Deal approved;
  ASSERT_TRUE(Approve(first.deal_id(), &approved).ok());
  EXPECT_EQ(approved.state(), v1::DEAL_STATE_APPROVED);
  EXPECT_TRUE(approved.protection().has_expire_time());
  EXPECT_EQ(Approve(second.deal_id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Lists: a partner sees only its own deals; staff page through all.
  v1::ListDealsRequest list;
  list.set_vendor_id(vendor_);
  v1::ListDealsResponse listed;
  ASSERT_TRUE(stub_->ListDeals(testing::Context(p1).get(), list, &listed).ok());
  ASSERT_EQ(listed.deals_size(), 1);
  EXPECT_EQ(listed.deals(0).deal_id(), first.deal_id());
  list.set_page_size(1);
  std::set<std::string> paged;
  for (int pages = 0; pages < 5; ++pages) {
    ASSERT_TRUE(stub_->ListDeals(testing::Context(ManagerToken()).get(), list, &listed).ok());
    for (const v1::Deal& d : listed.deals()) paged.insert(d.deal_id());
    if (listed.next_page_token().empty()) break;
    list.set_page_token(listed.next_page_token());
  }
  EXPECT_THAT(paged, UnorderedElementsAre(first.deal_id(), second.deal_id()));
  list.clear_page_token();
  list.set_page_size(0);
  list.set_filter("state = DEAL_STATE_APPROVED");
  ASSERT_TRUE(stub_->ListDeals(testing::Context(ManagerToken()).get(), list, &listed).ok());
  ASSERT_EQ(listed.deals_size(), 1);
  EXPECT_EQ(listed.deals(0).deal_id(), first.deal_id());

  // The audit history has one entry per transition.
  v1::ListDealAuditEntriesRequest audit_request;
  audit_request.set_vendor_id(vendor_);
  audit_request.set_deal_id(first.deal_id());
  v1::ListDealAuditEntriesResponse audit;
  ASSERT_TRUE(
      stub_->ListDealAuditEntries(testing::Context(p1).get(), audit_request, &audit).ok());
  ASSERT_EQ(audit.entries_size(), 4);
  EXPECT_EQ(audit.entries(3).action(), v1::DEAL_ACTION_APPROVED);

  // Events on Kafka, keyed by deal id, with the right types.
  auto events = WaitForEvents([&](const std::vector<SeenEvent>& e) {
    return Count(e, "prm.deal.DealApproved.v1", first.deal_id()) == 1 &&
           Count(e, "prm.deal.DealConflictDetected.v1", second.deal_id()) == 1;
  });
  EXPECT_EQ(Count(events, "prm.deal.DealCreated.v1", first.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealSubmitted.v1", first.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealReviewStarted.v1", first.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealApproved.v1", first.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealSubmitted.v1", second.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealConflictDetected.v1", second.deal_id()), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealApproved.v1", second.deal_id()), 0);

  // An approved deal keeps its pipeline fields current, conditionally on its etag.
  v1::UpdateDealRequest update;
  *update.mutable_deal() = approved;
  update.mutable_deal()->set_stage(v1::DEAL_STAGE_COMMITTED);
  update.mutable_update_mask()->add_paths("stage");
  v1::UpdateDealResponse updated;
  ASSERT_TRUE(stub_->UpdateDeal(testing::Context(p1).get(), update, &updated).ok());
  EXPECT_EQ(updated.deal().stage(), v1::DEAL_STAGE_COMMITTED);
  EXPECT_EQ(updated.deal().version(), approved.version() + 1);
  const std::string fresh_etag = updated.deal().etag();
  EXPECT_EQ(stub_->UpdateDeal(testing::Context(p1).get(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);  // the etag is the pre-update one
  update.mutable_deal()->set_etag(fresh_etag);
  update.mutable_update_mask()->set_paths(0, "title");
  EXPECT_EQ(stub_->UpdateDeal(testing::Context(p1).get(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(DealRegistrationIT, OfTwoConcurrentConflictingApprovalsExactlyOneWins) {
  Start();
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = absl::StrCat("Contested ", round, " GmbH");
    const std::string domain = absl::StrCat("contested", round, ".de");
    std::vector<std::string> ids;
    for (const char* partner : {"p1", "p2"}) {
      v1::Deal deal;
      ASSERT_TRUE(
          Create(PartnerToken(partner), Registration(partner, name, domain, "SKU-C"), &deal).ok());
      ASSERT_TRUE(Submit(PartnerToken(partner), deal.deal_id()).ok());
      ASSERT_TRUE(Review(deal.deal_id()).ok());
      ids.push_back(deal.deal_id());
    }
    grpc::Status results[2];
    std::thread a([&] { results[0] = Approve(ids[0]); });
    std::thread b([&] { results[1] = Approve(ids[1]); });
    a.join();
    b.join();
    EXPECT_NE(results[0].ok(), results[1].ok()) << "round " << round;
    for (const grpc::Status& r : results) {
      if (!r.ok()) {
        EXPECT_EQ(r.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
      }
    }
  }
}

TEST_F(DealRegistrationIT, InvalidArgumentNamesEveryBadField) {
  Start();
  const std::string token = ManagerToken();
  v1::Deal empty;
  empty.set_vendor_id(vendor_);
  grpc::Status status = Create(token, empty, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("deal.partner_id", "deal.title"));

  // A draft missing everything submission needs: every missing field named at once.
  v1::Deal draft;
  draft.set_vendor_id(vendor_);
  draft.set_partner_id("p1");
  draft.set_title("Incomplete");
  ASSERT_TRUE(Create(token, draft, &draft).ok());
  status = Submit(token, draft.deal_id());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::vector<std::string> fields = BadFields(status);
  for (const char* field : {"end_customer.legal_name", "end_customer.country_code", "products",
                            "value", "expected_close_date"}) {
    EXPECT_THAT(fields, ::testing::Contains(::testing::HasSubstr(field))) << field;
  }

  v1::GetDealRequest get;
  v1::GetDealResponse got;
  status = stub_->GetDeal(testing::Context(token).get(), get, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("vendor_id", "deal_id"));

  v1::ListDealsRequest list;
  list.set_vendor_id(vendor_);
  list.set_filter("title = x");
  list.set_page_size(-1);
  v1::ListDealsResponse listed;
  status = stub_->ListDeals(testing::Context(token).get(), list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("page_size", "filter"));
}

TEST_F(DealRegistrationIT, CallersAreAuthenticatedAndScoped) {
  Start();
  v1::Deal deal;
  ASSERT_TRUE(
      Create(PartnerToken("p1"), Registration("p1", "Globex", "globex.com", "SKU-9"), &deal)
          .ok());

  EXPECT_EQ(Get("", deal.deal_id(), nullptr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Get("Bearer not-a-jwt", deal.deal_id(), nullptr).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Another partner is denied, and learns nothing about whether the deal exists.
  const std::string other = PartnerToken("p2");
  EXPECT_EQ(Get(other, deal.deal_id(), nullptr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(other, "deal-does-not-exist", nullptr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Submit(other, deal.deal_id()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A partner cannot register for another partner, nor review.
  EXPECT_EQ(Create(other, Registration("p1", "Globex", "globex.com", "SKU-9"), nullptr)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::StartReviewRequest review;
  review.set_vendor_id(vendor_);
  review.set_deal_id(deal.deal_id());
  v1::StartReviewResponse reviewed;
  EXPECT_EQ(
      stub_->StartReview(testing::Context(PartnerToken("p1")).get(), review, &reviewed)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // Staff of another vendor see nothing of this one.
  const std::string foreign = testing::Token({.subject = "m2",
                                              .role = auth::Role::kChannelManager,
                                              .vendor_ids = {vendor_ + "-other"}});
  EXPECT_EQ(Get(foreign, deal.deal_id(), nullptr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The owner still reads it.
  EXPECT_TRUE(Get(PartnerToken("p1"), deal.deal_id(), nullptr).ok());
}

TEST_F(DealRegistrationIT, RetriedRequestIdHasNoSecondEffect) {
  Start();
  const std::string token = PartnerToken("p1");
  const v1::Deal registration = Registration("p1", "Initech", "initech.com", "SKU-2");
  v1::Deal first, retried;
  ASSERT_TRUE(Create(token, registration, &first, run_ + "-create").ok());
  ASSERT_TRUE(Create(token, registration, &retried, run_ + "-create").ok());
  EXPECT_EQ(retried.deal_id(), first.deal_id());
  EXPECT_EQ(retried.version(), 1);
  // Reusing the id for another request is refused.
  v1::Deal other = registration;
  other.set_title("Something else");
  EXPECT_EQ(Create(token, other, nullptr, run_ + "-create").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListDealsRequest list;
  list.set_vendor_id(vendor_);
  v1::ListDealsResponse listed;
  ASSERT_TRUE(stub_->ListDeals(testing::Context(token).get(), list, &listed).ok());
  EXPECT_EQ(listed.deals_size(), 1);
  auto events = WaitForEvents([&](const std::vector<SeenEvent>& e) {
    return Count(e, "prm.deal.DealCreated.v1", first.deal_id()) >= 1;
  });
  EXPECT_EQ(Count(events, "prm.deal.DealCreated.v1", first.deal_id()), 1);
}

TEST_F(DealRegistrationIT, StateSurvivesSigkillAndRestart) {
  Start();
  constexpr int kDeals = 30;
  std::vector<v1::Deal> acknowledged;
  for (int i = 0; i < kDeals; ++i) {
    const std::string partner = absl::StrCat("p", i % 3);
    v1::Deal deal;
    ASSERT_TRUE(Create(PartnerToken(partner),
                       Registration(partner, absl::StrCat("Customer ", i, " Ltd"),
                                    absl::StrCat("customer", i, ".com"), absl::StrCat("S", i)),
                       &deal)
                    .ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(Submit(PartnerToken(partner), deal.deal_id()).ok());
    }
    if (i % 4 == 0) {
      ASSERT_TRUE(Review(deal.deal_id()).ok());
      ASSERT_TRUE(Approve(deal.deal_id()).ok());
    }
    ASSERT_TRUE(Get(testing::ServiceToken(), deal.deal_id(), &deal).ok());
    acknowledged.push_back(deal);
  }
  process_->Kill();
  Start();
  for (const v1::Deal& before : acknowledged) {
    v1::Deal after;
    ASSERT_TRUE(Get(testing::ServiceToken(), before.deal_id(), &after).ok()) << before.deal_id();
    EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString()) << before.deal_id();
  }
  // New ids continue after the replayed ones.
  v1::Deal next;
  ASSERT_TRUE(
      Create(PartnerToken("p0"), Registration("p0", "Umbrella", "umbrella.com", "SKU-U"), &next)
          .ok());
  for (const v1::Deal& before : acknowledged) EXPECT_NE(next.deal_id(), before.deal_id());
}

TEST_F(DealRegistrationIT, SigkillUnderLoadLosesNoAcknowledgedWriteOrEvent) {
  Start();
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto stub = v1::DealRegistration::NewStub(process_->channel());
      const std::string token = PartnerToken("p1");
      for (int i = 0; !stop.load(); ++i) {
        v1::CreateDealRequest request;
        *request.mutable_deal() = Registration("p1", absl::StrCat("Load ", t, "-", i, " Ltd"),
                                               absl::StrCat("load", t, "-", i, ".com"), "SKU-L");
        v1::CreateDealResponse response;
        if (stub->CreateDeal(testing::Context(token, absl::Seconds(2)).get(), request, &response)
                .ok()) {
          std::lock_guard lock(mu);
          acknowledged.push_back(response.deal().deal_id());
        } else {
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  // Kill once a fair number of writes were acknowledged (bounded wait, not a fixed sleep).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (acknowledged.size() >= 200) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  process_->Kill();
  stop.store(true);
  for (std::thread& c : clients) c.join();
  ASSERT_GE(acknowledged.size(), 200u);

  Start();
  for (const std::string& id : acknowledged) {
    v1::Deal deal;
    EXPECT_TRUE(Get(testing::ServiceToken(), id, &deal).ok()) << id << " was acknowledged";
  }
  // Every acknowledged write's event reaches Kafka (the outbox is published after the restart).
  std::set<std::string> want(acknowledged.begin(), acknowledged.end());
  auto events = WaitForEvents([&](const std::vector<SeenEvent>& seen) {
    std::set<std::string> created;
    for (const SeenEvent& e : seen) {
      if (e.type == "prm.deal.DealCreated.v1") created.insert(e.key);
    }
    return std::includes(created.begin(), created.end(), want.begin(), want.end());
  });
  std::set<std::string> created;
  for (const SeenEvent& e : events) {
    if (e.type == "prm.deal.DealCreated.v1") created.insert(e.key);
  }
  for (const std::string& id : want) EXPECT_TRUE(created.contains(id)) << id;
}

TEST_F(DealRegistrationIT, SaleRecordedClosesTheApprovedDealOnceEvenWhenRedelivered) {
  Start();
  // Partner identities are shared by all vendors (and other tests read the partner topic): an
  // id of this test's own.
  const std::string p1 = run_ + "-p1";
  const std::string deal_id = ApprovedDeal(p1, "Hooli Corp", "hooli.com", "SKU-H");
  const std::string other_id = ApprovedDeal(p1, "Vandelay Industries", "vandelay.com", "SKU-V");

  // partner-registry tells which ERP account is p1's.
  partner::v1::PartnerCreated partner;
  partner.mutable_partner()->set_partner_id(p1);
  partner.mutable_partner()->set_version(1);
  auto* account = partner.mutable_partner()->add_external_ids();
  account->set_vendor_id(vendor_);
  account->set_erp_system_id("sap-eu");
  account->set_account_id(run_ + "-acct");

  auto sale = [&](const std::string& document, const std::string& customer,
                  const std::string& sku, int64_t units) {
    sales::v1::SaleRecorded s;
    s.set_vendor_id(vendor_);
    s.set_erp_system_id("sap-eu");
    s.set_partner_external_id(run_ + "-acct");
    s.set_erp_document_id(document);
    s.set_kind(sales::v1::SALE_KIND_SELL_THROUGH);
    s.mutable_end_customer()->set_legal_name(customer);
    s.mutable_end_customer()->set_country_code("US");
    auto* line = s.add_lines();
    line->set_sku(sku);
    line->set_product_category("networking");
    line->set_quantity(3);
    line->mutable_amount()->set_currency_code("USD");
    line->mutable_amount()->set_units(units);
    s.set_currency_code("USD");
    s.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    return s;
  };
  const std::string key = run_ + "/sap-eu/acct";  // one partition: the order below holds
  const kafka::Record partner_record = events::EncodeBinary(
      events::MakeEvent(partner, "prm.partner.PartnerCreated.v1", "prm/deal-registration-it",
                        run_ + "-partner", absl::Now(), p1),
      kPartnerTopic);
  const kafka::Record sale_record = events::EncodeBinary(
      events::MakeEvent(sale("INV-1", "HOOLI CORPORATION", "SKU-H", 4200),
                        "prm.sales.SaleRecorded.v1", "erp/sap-eu", run_ + "-sale-1", absl::Now(),
                        key),
      kSalesTopic);
  Produce({partner_record});
  // Topics have no order between them: a sale consumed before the partner mapping matches no
  // partner and changes nothing, so further documents are sent until one closes the deal.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  Produce({sale_record});
  bool won = WaitForDeal(deal_id, [](const v1::Deal& d) { return d.state() == v1::DEAL_STATE_WON; },
                    absl::Seconds(20));
  for (int attempt = 2; !won && absl::Now() < deadline; ++attempt) {
    // The first sale may have been consumed before the mapping: a new document retries.
    Produce({events::EncodeBinary(
        events::MakeEvent(sale(absl::StrCat("INV-1-", attempt), "HOOLI CORPORATION", "SKU-H",
                               4200),
                          "prm.sales.SaleRecorded.v1", "erp/sap-eu",
                          absl::StrCat(run_, "-sale-1-", attempt), absl::Now(), key),
        kSalesTopic)});
    won = WaitForDeal(deal_id, [](const v1::Deal& d) { return d.state() == v1::DEAL_STATE_WON; },
                      absl::Seconds(10));
  }
  ASSERT_TRUE(won) << "the matching sale did not close the deal";
  v1::Deal closed;
  ASSERT_TRUE(Get(testing::ServiceToken(), deal_id, &closed).ok());
  EXPECT_EQ(closed.outcome().source(), v1::CLOSE_SOURCE_ERP_SALE);
  EXPECT_EQ(closed.outcome().won_amount().units(), 4200);
  EXPECT_EQ(closed.outcome().erp_system_id(), "sap-eu");

  // The same event redelivered, then a second sale for the other deal on the same partition:
  // once the second is applied, the duplicate before it has been seen — and changed nothing.
  Produce({sale_record});
  Produce({events::EncodeBinary(
      events::MakeEvent(sale("INV-2", "Vandelay Industries, Inc.", "SKU-V", 777),
                        "prm.sales.SaleRecorded.v1", "erp/sap-eu", run_ + "-sale-2", absl::Now(),
                        key),
      kSalesTopic)});
  ASSERT_TRUE(
      WaitForDeal(other_id, [](const v1::Deal& d) { return d.state() == v1::DEAL_STATE_WON; }));
  v1::Deal after;
  ASSERT_TRUE(Get(testing::ServiceToken(), deal_id, &after).ok());
  EXPECT_EQ(after.version(), closed.version());
  EXPECT_EQ(after.outcome().won_amount().units(), 4200);

  auto events = WaitForEvents([&](const std::vector<SeenEvent>& e) {
    return Count(e, "prm.deal.DealWon.v1", other_id) == 1;
  });
  EXPECT_EQ(Count(events, "prm.deal.DealWon.v1", deal_id), 1);
  EXPECT_EQ(Count(events, "prm.deal.DealWon.v1", other_id), 1);
}

TEST_F(DealRegistrationIT, ProtectionExpiresDurablyAndReleasesExclusivity) {
  Start();
  const std::string deal_id = ApprovedDeal("p1", "Stark Industries", "stark.com", "SKU-S");
  v1::Deal rival;
  ASSERT_TRUE(Create(PartnerToken("p2"),
                     Registration("p2", "Stark Industries Inc", "stark.com", "SKU-S"), &rival)
                  .ok());
  ASSERT_TRUE(Submit(PartnerToken("p2"), rival.deal_id()).ok());
  ASSERT_TRUE(Review(rival.deal_id()).ok());
  EXPECT_EQ(Approve(rival.deal_id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Reads do not expire anything: the deal stays APPROVED however often it is read.
  v1::Deal read;
  ASSERT_TRUE(Get(testing::ServiceToken(), deal_id, &read).ok());
  EXPECT_EQ(read.state(), v1::DEAL_STATE_APPROVED);

  // 92 days later (default protection: 90 days): the timer logs a Tick that expires it.
  ASSERT_EQ(process_->Terminate().first, 0);
  Start({"--deal-testing-clock-offset=2208h", "--deal-timer-interval=100ms"});
  ASSERT_TRUE(
      WaitForDeal(deal_id, [](const v1::Deal& d) { return d.state() == v1::DEAL_STATE_EXPIRED; }))
      << "protection did not expire";
  // The queued rival is approvable now.
  v1::Deal approved;
  grpc::Status status = Approve(rival.deal_id(), &approved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(approved.state(), v1::DEAL_STATE_APPROVED);

  // The expiry is durable: after a crash and a restart at the real time, it is still there.
  process_->Kill();
  Start();
  ASSERT_TRUE(Get(testing::ServiceToken(), deal_id, &read).ok());
  EXPECT_EQ(read.state(), v1::DEAL_STATE_EXPIRED);
  auto events = WaitForEvents([&](const std::vector<SeenEvent>& e) {
    return Count(e, "prm.deal.DealExpired.v1", deal_id) >= 1;
  });
  EXPECT_EQ(Count(events, "prm.deal.DealExpired.v1", deal_id), 1);
}

}  // namespace
}  // namespace prm
