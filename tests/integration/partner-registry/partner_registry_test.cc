// partner-registry end to end: the real binary, its gRPC API and the real broker. ERP sales
// events published to prm.sales.v1 push a partner's trailing revenue over a tier threshold; the
// tier changes and a TierChanged event appears on prm.partner.v1; a redelivered sale counts once;
// the state survives kill -9. The API's rules hold over the wire: every bad field named,
// denials, and a retried request_id without a second effect or event.

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace pb = ::prm::partner::v1;

class PartnerRegistryIT : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = testing::UniqueName("partner-it");
    vendor_ = run_;  // a vendor of its own keeps runs sharing the broker apart
    data_dir_ = (std::filesystem::temp_directory_path() / run_).string();
    process_ = std::make_unique<testing::ServiceProcess>("partner-registry", data_dir_,
                                                         run_ + "-group");
    ASSERT_TRUE(process_->StartAndWaitServing());
    stub_ = pb::PartnerRegistry::NewStub(process_->channel());
    token_ = testing::Token({.subject = "it-manager",
                             .role = auth::Role::kChannelManager,
                             .vendor_ids = {vendor_}});
  }
  void TearDown() override {
    if (process_) process_->Terminate();
    std::filesystem::remove_all(data_dir_);
  }

  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (pb::PartnerRegistry::Stub::*method)(grpc::ClientContext*,
                                                                        const Req&, Resp*),
                    const Req& request, Resp* response) {
    auto ctx = testing::Context(token_);
    return FromGrpcStatus(((*stub_).*method)(ctx.get(), request, response));
  }

  std::string run_, vendor_, data_dir_, token_;
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<pb::PartnerRegistry::Stub> stub_;
};

TEST_F(PartnerRegistryIT, SalesEventsOnKafkaChangeTheTierAndPublishTierChanged) {
  pb::CreatePartnerRequest create;
  create.set_vendor_id(vendor_);
  pb::Partner* p = create.mutable_partner();
  p->set_legal_name("Integration Reseller");
  p->set_hq_country_code("LV");
  p->add_types(common::v1::PARTNER_TYPE_RESELLER);
  auto* ext = p->add_external_ids();
  ext->set_vendor_id(vendor_);
  ext->set_erp_system_id("sap-eu");
  ext->set_account_id("ACC-1");
  pb::CreatePartnerResponse created;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, create, &created));
  const std::string partner_id = created.partner().partner_id();

  pb::CreateProgramRequest program;
  program.mutable_program()->set_vendor_id(vendor_);
  program.mutable_program()->set_display_name("Program");
  for (const auto& [tier, revenue] : {std::pair{"registered", 0}, std::pair{"silver", 1000}}) {
    auto* t = program.mutable_program()->add_tiers();
    t->set_tier_id(tier);
    t->set_display_name(tier);
    t->mutable_benefits()->set_deal_protection_days(90);
    if (revenue > 0) {
      t->mutable_requirements()->mutable_min_trailing_revenue()->set_currency_code("EUR");
      t->mutable_requirements()->mutable_min_trailing_revenue()->set_units(revenue);
    }
  }
  pb::CreateProgramResponse program_created;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreateProgram, program, &program_created));

  pb::CreateEnrollmentRequest enroll;
  enroll.mutable_enrollment()->set_vendor_id(vendor_);
  enroll.mutable_enrollment()->set_partner_id(partner_id);
  enroll.mutable_enrollment()->set_program_id(program_created.program().program_id());
  pb::CreateEnrollmentResponse enrolled;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreateEnrollment, enroll, &enrolled));
  EXPECT_EQ(enrolled.enrollment().tier_id(), "registered");

  // Two invoices of EUR 600 from the ERP, as CloudEvents on prm.sales.v1.
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers(), .client_id = run_});
  ASSERT_OK(producer.status());
  // INV-1 is delivered twice with the same CloudEvents id (a redelivery): it counts once.
  for (int i : {1, 1, 2}) {
    sales::v1::SaleRecorded sale;
    sale.set_vendor_id(vendor_);
    sale.set_erp_system_id("sap-eu");
    sale.set_partner_external_id("ACC-1");
    sale.set_erp_document_id(absl::StrCat("INV-", i));
    sale.set_kind(sales::v1::SALE_KIND_SELL_IN);
    sale.set_currency_code("EUR");
    auto* line = sale.add_lines();
    line->set_sku("SKU-1");
    line->set_product_category("storage");
    line->set_quantity(1);
    line->mutable_amount()->set_currency_code("EUR");
    line->mutable_amount()->set_units(600);
    sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
    ASSERT_OK((*producer)->Produce(
        events::EncodeBinary(events::MakeEvent(sale, "prm.sales.SaleRecorded.v1", "erp/sap-eu",
                                               absl::StrCat(run_, "-inv-", i), absl::Now(),
                                               absl::StrCat(vendor_, "/sap-eu/ACC-1")),
                             "prm.sales.v1"),
        absl::Seconds(10)));
  }

  pb::GetEnrollmentRequest get;
  get.set_vendor_id(vendor_);
  get.set_partner_id(partner_id);
  pb::GetEnrollmentResponse got;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (absl::Now() < deadline) {
    if (Call(&pb::PartnerRegistry::Stub::GetEnrollment, get, &got).ok() &&
        got.enrollment().tier_id() == "silver") {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(got.enrollment().tier_id(), "silver");
  EXPECT_EQ(got.enrollment().metrics().trailing_revenue().units(), 1200);

  // The TierChanged event, published through the outbox.
  bool found = false;
  const absl::Time read_deadline = absl::Now() + absl::Seconds(60);
  while (!found && absl::Now() < read_deadline) {
    for (const kafka::Record& record : testing::ReadTopicWhere(
             "prm.partner.v1", "ce_type", "prm.partner.TierChanged.v1", absl::Seconds(10))) {
      auto event = events::Decode(record);
      ASSERT_OK(event.status());
      pb::TierChanged changed;
      ASSERT_OK(events::UnpackPayload(*event, &changed));
      if (changed.metadata().vendor_id() != vendor_ || changed.to_tier_id() != "silver") continue;
      EXPECT_EQ(record.key, partner_id);
      EXPECT_EQ(changed.from_tier_id(), "registered");
      EXPECT_EQ(changed.evaluation().trigger(), pb::EVALUATION_TRIGGER_SALES);
      EXPECT_EQ(event->source, "prm/partner-registry");
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no TierChanged to silver for vendor " << vendor_ << " on prm.partner.v1";

  // kill -9 and restart: the command log brings the state back.
  process_->Kill();
  process_ = std::make_unique<testing::ServiceProcess>("partner-registry", data_dir_,
                                                       run_ + "-group");
  ASSERT_TRUE(process_->StartAndWaitServing());
  stub_ = pb::PartnerRegistry::NewStub(process_->channel());
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, get, &got));
  EXPECT_EQ(got.enrollment().tier_id(), "silver");
  EXPECT_EQ(got.enrollment().metrics().trailing_revenue().units(), 1200);
}

TEST_F(PartnerRegistryIT, ApiRulesHoldOverTheWire) {
  // Every bad field is named, under the request's field path.
  pb::CreatePartnerRequest bad;
  bad.set_vendor_id(vendor_);
  bad.mutable_partner()->set_hq_country_code("XX");
  pb::CreatePartnerResponse created;
  absl::Status status = Call(&pb::PartnerRegistry::Stub::CreatePartner, bad, &created);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  std::set<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(status)) fields.insert(v.field);
  EXPECT_TRUE(fields.contains("partner.legal_name"));
  EXPECT_TRUE(fields.contains("partner.hq_country_code"));
  EXPECT_TRUE(fields.contains("partner.types"));

  // A retried request_id returns the first result and publishes one event.
  pb::CreatePartnerRequest create;
  create.set_vendor_id(vendor_);
  create.set_request_id(absl::StrCat(run_, "-create"));
  create.mutable_partner()->set_legal_name(absl::StrCat("Retry ", run_));
  create.mutable_partner()->set_hq_country_code("DE");
  create.mutable_partner()->add_types(common::v1::PARTNER_TYPE_MSP);
  pb::CreatePartnerResponse again;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, create, &created));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, create, &again));
  EXPECT_EQ(created.SerializeAsString(), again.SerializeAsString());
  const std::string partner_id = created.partner().partner_id();

  // Denials: no token, another vendor's staff, another partner's user.
  pb::GetPartnerRequest get;
  get.set_partner_id(partner_id);
  pb::GetPartnerResponse got;
  auto anonymous = testing::Context("");
  EXPECT_EQ(stub_->GetPartner(anonymous.get(), get, &got).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto other_user = testing::Context(testing::Token({.subject = "it-user",
                                                     .role = auth::Role::kPartnerUser,
                                                     .vendor_ids = {vendor_},
                                                     .partner_id = "someone-else"}));
  EXPECT_EQ(stub_->GetPartner(other_user.get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::ListPartnersRequest list;
  list.set_vendor_id(vendor_);
  pb::ListPartnersResponse listed;
  auto other_vendor = testing::Context(testing::Token(
      {.subject = "it-other", .role = auth::Role::kVendorAdmin, .vendor_ids = {run_ + "-other"}}));
  EXPECT_EQ(stub_->ListPartners(other_vendor.get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A later event of the same partner (same key, so same partition, after it in order) shows
  // that everything before it was published: exactly one PartnerCreated.
  pb::UpdatePartnerRequest update;
  update.mutable_partner()->set_partner_id(partner_id);
  update.mutable_partner()->set_display_name("Renamed");
  update.mutable_update_mask()->add_paths("display_name");
  pb::UpdatePartnerResponse updated;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdatePartner, update, &updated));
  bool saw_update = false;
  int creates = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!saw_update && absl::Now() < deadline) {
    creates = 0;
    for (const kafka::Record& record : testing::ReadTopic("prm.partner.v1", absl::Seconds(10))) {
      auto event = events::Decode(record);
      if (!event.ok()) continue;
      if (event->type == "prm.partner.PartnerCreated.v1") {
        pb::PartnerCreated payload;
        if (events::UnpackPayload(*event, &payload).ok() &&
            payload.partner().legal_name() == create.partner().legal_name()) {
          ++creates;
          EXPECT_EQ(record.key, partner_id);
          EXPECT_EQ(payload.creator_vendor_id(), vendor_);
        }
      } else if (event->type == "prm.partner.PartnerUpdated.v1") {
        pb::PartnerUpdated payload;
        if (events::UnpackPayload(*event, &payload).ok() &&
            payload.partner().legal_name() == create.partner().legal_name()) {
          saw_update = true;
        }
      }
    }
  }
  EXPECT_TRUE(saw_update);
  EXPECT_EQ(creates, 1);
}

}  // namespace
}  // namespace prm
