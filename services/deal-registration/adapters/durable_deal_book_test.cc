#include "services/deal-registration/adapters/durable_deal_book.h"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/events/kafka_binding.h"
#include "common/storage/command_log.h"
#include "common/storage/outbox.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "services/deal-registration/adapters/proto_mapping.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

const Actor kPartner{Role::kPartnerUser, "alice", "p1", ""};
const Actor kManager{Role::kChannelManager, "bob", "", ""};

v1::Deal Registration(const std::string& vendor) {
  v1::Deal d;
  d.set_vendor_id(vendor);
  d.set_partner_id("p1");
  d.set_title("Acme rollout");
  d.mutable_end_customer()->set_legal_name("ACME, Inc.");
  d.mutable_end_customer()->set_country_code("US");
  d.mutable_end_customer()->set_web_domain("acme.com");
  auto* line = d.add_products();
  line->set_sku("SKU-1");
  line->set_product_category("network");
  line->set_quantity(2);
  line->mutable_amount()->set_currency_code("USD");
  line->mutable_amount()->set_units(1000);
  d.mutable_value()->set_currency_code("USD");
  d.mutable_value()->set_units(1000);
  d.mutable_expected_close_date()->set_year(2026);
  d.mutable_expected_close_date()->set_month(6);
  d.mutable_expected_close_date()->set_day(30);
  return d;
}

class DurableDealBookTest : public ::testing::Test {
 protected:
  DurableDealBookTest() {
    path_ = std::filesystem::temp_directory_path() /
            ("prm-deal-book-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite");
    std::filesystem::remove(path_);
  }
  ~DurableDealBookTest() override {
    book_.reset();
    db_.reset();
    std::filesystem::remove(path_);
  }

  // (Re)opens the store and replays it into a fresh book.
  void Open() {
    book_.reset();
    db_.reset();
    auto db = sqlite::Database::Open({.path = path_.string()},
                                     {command_log::Schema(), outbox::Schema()});
    ASSERT_OK(db.status());
    db_ = *std::move(db);
    book_ = std::make_unique<DurableDealBook>(*db_, clock_, DurableDealBook::Options{});
    ASSERT_OK(book_->Replay().status());
  }

  // Types of the unsent outbox events, in order.
  std::vector<std::string> EventTypes() {
    std::vector<std::string> types;
    auto pending = outbox::Pending(*db_, 1000);
    EXPECT_OK(pending.status());
    for (const auto& row : *pending) {
      auto event = events::Decode(row.record);
      EXPECT_OK(event.status());
      types.push_back(event->type);
    }
    return types;
  }

  std::string CreateSubmitApprove() {
    v1::CreateDealRequest create;
    *create.mutable_deal() = Registration("v1");
    v1::CreateDealResponse created;
    EXPECT_OK(book_->Execute("CreateDeal", create, "req-create", kPartner, &created));
    const std::string id = created.deal().deal_id();
    v1::SubmitDealRequest submit;
    submit.set_vendor_id("v1");
    submit.set_deal_id(id);
    v1::SubmitDealResponse submitted;
    EXPECT_OK(book_->Execute("SubmitDeal", submit, "", kPartner, &submitted));
    v1::StartReviewRequest review;
    review.set_vendor_id("v1");
    review.set_deal_id(id);
    v1::StartReviewResponse reviewed;
    EXPECT_OK(book_->Execute("StartReview", review, "", kManager, &reviewed));
    v1::ApproveDealRequest approve;
    approve.set_vendor_id("v1");
    approve.set_deal_id(id);
    v1::ApproveDealResponse approved;
    EXPECT_OK(book_->Execute("ApproveDeal", approve, "", kManager, &approved));
    EXPECT_EQ(approved.deal().state(), v1::DEAL_STATE_APPROVED);
    return id;
  }

  std::filesystem::path path_;
  FakeClock clock_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<DurableDealBook> book_;
};

TEST_F(DurableDealBookTest, CommandsEmitEventsAndSurviveReplay) {
  Open();
  const std::string id = CreateSubmitApprove();
  EXPECT_THAT(EventTypes(), ::testing::ElementsAre("prm.deal.DealCreated.v1",
                                                   "prm.deal.DealSubmitted.v1",
                                                   "prm.deal.DealReviewStarted.v1",
                                                   "prm.deal.DealApproved.v1"));
  absl::StatusOr<Deal> before = book_->book().Get("v1", id);
  ASSERT_OK(before.status());
  clock_.Advance(absl::Hours(1));
  Open();
  absl::StatusOr<Deal> after = book_->book().Get("v1", id);
  ASSERT_OK(after.status());
  EXPECT_EQ(*after, *before);
  EXPECT_EQ(book_->AuditEntries("v1", id).size(), 4u);
}

TEST_F(DurableDealBookTest, RetriedRequestIdHasNoSecondEffect) {
  Open();
  v1::CreateDealRequest create;
  *create.mutable_deal() = Registration("v1");
  v1::CreateDealResponse first, second;
  ASSERT_OK(book_->Execute("CreateDeal", create, "same", kPartner, &first));
  ASSERT_OK(book_->Execute("CreateDeal", create, "same", kPartner, &second));
  EXPECT_EQ(first.deal().deal_id(), second.deal().deal_id());
  EXPECT_EQ(EventTypes().size(), 1u);
  // The same id by another actor is another request.
  EXPECT_THAT(book_->Execute("CreateDeal", create, "same", kManager, &second),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DurableDealBookTest, ExpiryIsALoggedTickReplayedWithoutFiringTwice) {
  Open();
  const std::string id = CreateSubmitApprove();
  // Nothing is due right after approval: no Tick is logged.
  ASSERT_OK(book_->Tick().status());
  EXPECT_EQ(*book_->Tick(), 0);
  // A read after the expiry time does not change the deal.
  clock_.Advance(absl::Hours(24 * 91));
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kApproved);
  EXPECT_TRUE(book_->TimersDue());
  absl::StatusOr<int> fired = book_->Tick();
  ASSERT_OK(fired.status());
  EXPECT_EQ(*fired, 1);  // expired (the reminder window passed with the expiry)
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kExpired);
  EXPECT_EQ(EventTypes().back(), "prm.deal.DealExpired.v1");
  EXPECT_EQ(*book_->Tick(), 0);

  const size_t events = EventTypes().size();
  clock_.Advance(absl::Hours(1));
  Open();
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kExpired);
  EXPECT_FALSE(book_->TimersDue());
  EXPECT_EQ(EventTypes().size(), events);
}

TEST_F(DurableDealBookTest, ReminderFiresOnceBeforeExpiry) {
  Open();
  const std::string id = CreateSubmitApprove();
  clock_.Advance(absl::Hours(24 * 85));  // inside the 7-day reminder lead of 90 days
  EXPECT_EQ(*book_->Tick(), 1);
  EXPECT_EQ(EventTypes().back(), "prm.deal.DealExpiryReminder.v1");
  EXPECT_EQ(*book_->Tick(), 0);
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kApproved);
}

TEST_F(DurableDealBookTest, MatchingSaleClosesTheDealAsWon) {
  Open();
  const std::string id = CreateSubmitApprove();
  prm::sales::v1::SaleRecorded sale;
  sale.set_vendor_id("v1");
  sale.set_erp_system_id("sap");
  sale.set_partner_external_id("acct-unknown");
  sale.set_erp_document_id("inv-1");
  sale.set_kind(prm::sales::v1::SALE_KIND_SELL_THROUGH);
  sale.mutable_end_customer()->set_legal_name("Acme Incorporated");
  sale.mutable_end_customer()->set_country_code("US");
  auto* line = sale.add_lines();
  line->set_sku("SKU-1");
  line->set_product_category("network");
  line->set_quantity(1);
  line->mutable_amount()->set_currency_code("USD");
  line->mutable_amount()->set_units(900);
  sale.set_currency_code("USD");
  *sale.mutable_sale_time() = ToTimestamp(clock_.Now());
  sale.set_deal_id(id);
  events::CloudEvent event;
  event.type = "prm.sales.SaleRecorded.v1";
  ASSERT_OK(db_->Transact([&](sqlite::Transaction& tx) { return book_->ApplyEvent(event, sale, tx); }));
  absl::StatusOr<Deal> deal = book_->book().Get("v1", id);
  ASSERT_OK(deal.status());
  EXPECT_EQ(deal->state, DealState::kWon);
  EXPECT_EQ(deal->outcome.won_amount->units, 900);
  EXPECT_EQ(EventTypes().back(), "prm.deal.DealWon.v1");
  Open();
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kWon);
}

// Issue 7: a sale that breaks the prm.sales.v1 contract is poison here too (the consumer
// dead-letters it) and closes nothing, even when it names an approved deal.
TEST_F(DurableDealBookTest, SaleBreakingTheContractIsPoisonAndClosesNothing) {
  Open();
  const std::string id = CreateSubmitApprove();
  prm::sales::v1::SaleRecorded good;
  good.set_vendor_id("v1");
  good.set_erp_system_id("sap");
  good.set_partner_external_id("acct-unknown");
  good.set_erp_document_id("inv-1");
  good.set_kind(prm::sales::v1::SALE_KIND_SELL_THROUGH);
  good.mutable_end_customer()->set_legal_name("Acme Incorporated");
  good.mutable_end_customer()->set_country_code("US");
  auto* line = good.add_lines();
  line->set_sku("SKU-1");
  line->set_product_category("network");
  line->set_quantity(1);
  line->mutable_amount()->set_currency_code("USD");
  line->mutable_amount()->set_units(900);
  good.set_currency_code("USD");
  *good.mutable_sale_time() = ToTimestamp(clock_.Now());
  good.set_deal_id(id);
  events::CloudEvent event;
  event.type = "prm.sales.SaleRecorded.v1";
  auto apply = [&](const prm::sales::v1::SaleRecorded& sale) {
    return db_->Transact([&](sqlite::Transaction& tx) { return book_->ApplyEvent(event, sale, tx); });
  };
  const std::vector<std::pair<std::string, std::function<void(prm::sales::v1::SaleRecorded&)>>>
      hostile = {
          {"lines[0].amount", [](auto& s) { s.mutable_lines(0)->mutable_amount()->set_units(-900); }},
          {"lines[0].amount",
           [](auto& s) { s.mutable_lines(0)->mutable_amount()->set_nanos(2'000'000'000); }},
          {"lines[0].quantity", [](auto& s) { s.mutable_lines(0)->set_quantity(-1); }},
          {"currency_code", [](auto& s) { s.set_currency_code("US$"); }},
          {"kind", [](auto& s) { s.set_kind(static_cast<prm::sales::v1::SaleKind>(99)); }},
          {"sale_time", [](auto& s) { s.mutable_sale_time()->set_seconds(-62'135'596'800); }},
          {"sale_time", [](auto& s) { s.mutable_sale_time()->set_seconds(253'402'300'799); }},
          {"sale_time", [](auto& s) { s.mutable_sale_time()->set_nanos(-1); }},
          {"erp_document_id", [](auto& s) { s.set_erp_document_id(std::string(100 * 1024, 'd')); }},
          {"partner_external_id", [](auto& s) { s.clear_partner_external_id(); }},
          {"vendor_id", [](auto& s) { s.clear_vendor_id(); }},
      };
  for (const auto& [field, mutate] : hostile) {
    prm::sales::v1::SaleRecorded sale = good;
    mutate(sale);
    EXPECT_THAT(apply(sale), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)))
        << field;
  }
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kApproved);
  ASSERT_OK(apply(good));
  EXPECT_EQ(book_->book().Get("v1", id)->state, DealState::kWon);
  EXPECT_EQ(book_->book().Get("v1", id)->outcome.won_amount->units, 900);
}

// Issue 7: partner events this service cannot use are poison, not applied.
TEST_F(DurableDealBookTest, HostilePartnerEventsArePoison) {
  Open();
  auto apply = [&](const std::string& type, const google::protobuf::Message& payload) {
    events::CloudEvent event;
    event.type = type;
    return db_->Transact(
        [&](sqlite::Transaction& tx) { return book_->ApplyEvent(event, payload, tx); });
  };
  prm::partner::v1::EnrollmentStateChanged changed;
  changed.set_partner_id("p1");
  prm::partner::v1::Enrollment* enrollment = changed.mutable_enrollment();
  enrollment->set_vendor_id("v1");
  enrollment->set_partner_id("p1");
  enrollment->set_state(static_cast<prm::partner::v1::EnrollmentState>(99));
  EXPECT_THAT(apply("prm.partner.EnrollmentStateChanged.v1", changed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enrollment.state")));
  enrollment->set_state(prm::partner::v1::ENROLLMENT_STATE_ACTIVE);
  enrollment->clear_vendor_id();
  EXPECT_THAT(apply("prm.partner.EnrollmentStateChanged.v1", changed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enrollment.vendor_id")));
  prm::partner::v1::TierChanged tier;
  tier.set_partner_id("p1");
  EXPECT_THAT(apply("prm.partner.TierChanged.v1", tier),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.vendor_id")));
  prm::partner::v1::PartnerCreated created;
  created.mutable_partner()->set_legal_name("No Id");
  EXPECT_THAT(apply("prm.partner.PartnerCreated.v1", created),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partner.partner_id")));
}

TEST_F(DurableDealBookTest, PartnerEventsGateSubmissionAndSetProtectionDays) {
  Open();
  auto apply = [&](const std::string& type, const google::protobuf::Message& payload) {
    events::CloudEvent event;
    event.type = type;
    return db_->Transact(
        [&](sqlite::Transaction& tx) { return book_->ApplyEvent(event, payload, tx); });
  };
  prm::partner::v1::EnrollmentStateChanged suspended;
  suspended.set_partner_id("p1");
  prm::partner::v1::Enrollment* enrollment = suspended.mutable_enrollment();
  enrollment->set_vendor_id("v1");
  enrollment->set_partner_id("p1");
  enrollment->set_program_id("gold-program");
  enrollment->set_state(prm::partner::v1::ENROLLMENT_STATE_SUSPENDED);
  enrollment->set_version(3);
  ASSERT_OK(apply("prm.partner.EnrollmentStateChanged.v1", suspended));

  v1::CreateDealRequest create;
  *create.mutable_deal() = Registration("v1");
  v1::CreateDealResponse created;
  ASSERT_OK(book_->Execute("CreateDeal", create, "", kPartner, &created));
  v1::SubmitDealRequest submit;
  submit.set_vendor_id("v1");
  submit.set_deal_id(created.deal().deal_id());
  v1::SubmitDealResponse submitted;
  EXPECT_THAT(book_->Execute("SubmitDeal", submit, "", kPartner, &submitted),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  prm::partner::v1::EnrollmentStateChanged active = suspended;
  active.mutable_enrollment()->set_state(prm::partner::v1::ENROLLMENT_STATE_ACTIVE);
  active.mutable_enrollment()->set_version(4);
  ASSERT_OK(apply("prm.partner.EnrollmentStateChanged.v1", active));
  prm::partner::v1::TierChanged tier;
  tier.mutable_metadata()->set_vendor_id("v1");
  tier.mutable_metadata()->set_aggregate_version(5);
  tier.set_partner_id("p1");
  tier.set_program_id("gold-program");
  tier.set_to_tier_rank(3);
  tier.mutable_to_tier_benefits()->set_deal_protection_days(45);
  ASSERT_OK(apply("prm.partner.TierChanged.v1", tier));
  // An older snapshot arriving late changes nothing.
  ASSERT_OK(apply("prm.partner.EnrollmentStateChanged.v1", suspended));

  ASSERT_OK(book_->Execute("SubmitDeal", submit, "", kPartner, &submitted));
  EXPECT_EQ(submitted.deal().program_id(), "gold-program");
  v1::StartReviewRequest review;
  review.set_vendor_id("v1");
  review.set_deal_id(created.deal().deal_id());
  v1::StartReviewResponse reviewed;
  ASSERT_OK(book_->Execute("StartReview", review, "", kManager, &reviewed));
  v1::ApproveDealRequest approve;
  approve.set_vendor_id("v1");
  approve.set_deal_id(created.deal().deal_id());
  v1::ApproveDealResponse approved;
  ASSERT_OK(book_->Execute("ApproveDeal", approve, "", kManager, &approved));
  EXPECT_EQ(approved.deal().protection().protection_days(), 45);

  // The projection is rebuilt by the replay, so the same facts hold after a restart.
  Open();
  ASSERT_TRUE(book_->Enrollment("v1", "p1").has_value());
  EXPECT_EQ(book_->Enrollment("v1", "p1")->state, prm::partner::v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(book_->Enrollment("v1", "p1")->protection_days, 45);
}

}  // namespace
}  // namespace prm::deal
