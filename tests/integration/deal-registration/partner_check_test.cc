// deal-registration asks partner-registry at SubmitDeal whether the partner's enrollment with
// the vendor is ACTIVE: both real binaries over gRPC, with the real broker. The answer of the
// moment decides (a just-terminated partner is refused before any event could arrive), a
// partner-registry that is down makes SubmitDeal UNAVAILABLE within the deadline, and the
// accepted submissions replay at restart without partner-registry (the answer was logged).

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace dv1 = ::prm::deal::v1;
namespace pv1 = ::prm::partner::v1;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

class PartnerCheckIT : public ::testing::Test {
 protected:
  PartnerCheckIT()
      : run_(testing::UniqueName("deal-check-it")),
        vendor_(run_ + "-vendor"),
        registry_dir_((std::filesystem::temp_directory_path() / (run_ + "-pr")).string()),
        deal_dir_((std::filesystem::temp_directory_path() / (run_ + "-deal")).string()),
        manager_(testing::Token({.subject = "manager",
                                 .role = auth::Role::kChannelManager,
                                 .vendor_ids = {vendor_}})) {}

  ~PartnerCheckIT() override {
    deal_.reset();
    registry_.reset();
    std::filesystem::remove_all(registry_dir_);
    std::filesystem::remove_all(deal_dir_);
  }

  void SetUp() override {
    registry_ = std::make_unique<testing::ServiceProcess>("partner-registry", registry_dir_,
                                                          run_ + "-pr-group");
    ASSERT_TRUE(registry_->StartAndWaitServing()) << "partner-registry did not start";
    registry_stub_ = pv1::PartnerRegistry::NewStub(registry_->channel());
    StartDeal();
  }

  void StartDeal() {
    deal_ = std::make_unique<testing::ServiceProcess>(
        "deal-registration", deal_dir_, run_ + "-deal-group",
        std::vector<std::string>{"--partner-registry-address=" + registry_->address(),
                                 "--partner-registry-deadline=2s"});
    ASSERT_TRUE(deal_->StartAndWaitServing()) << "deal-registration did not start";
    deal_stub_ = dv1::DealRegistration::NewStub(deal_->channel());
  }

  template <typename Req, typename Resp>
  absl::Status Registry(grpc::Status (pv1::PartnerRegistry::Stub::*method)(grpc::ClientContext*,
                                                                            const Req&, Resp*),
                        const Req& request, Resp* response = nullptr) {
    Resp ignored;
    return FromGrpcStatus(((*registry_stub_).*method)(testing::Context(manager_).get(), request,
                                                      response ? response : &ignored));
  }

  // A partner with an ACTIVE enrollment at the vendor; returns its id.
  std::string ActivePartner(const std::string& name) {
    pv1::CreatePartnerRequest create;
    create.set_vendor_id(vendor_);
    create.mutable_partner()->set_legal_name(name);
    create.mutable_partner()->set_hq_country_code("DE");
    create.mutable_partner()->add_types(common::v1::PARTNER_TYPE_RESELLER);
    pv1::CreatePartnerResponse partner;
    EXPECT_OK(Registry(&pv1::PartnerRegistry::Stub::CreatePartner, create, &partner));
    if (program_id_.empty()) {
      pv1::CreateProgramRequest program;
      program.mutable_program()->set_vendor_id(vendor_);
      program.mutable_program()->set_display_name("Program");
      auto* tier = program.mutable_program()->add_tiers();
      tier->set_tier_id("registered");
      tier->set_display_name("Registered");
      tier->mutable_benefits()->set_deal_protection_days(90);
      pv1::CreateProgramResponse created;
      EXPECT_OK(Registry(&pv1::PartnerRegistry::Stub::CreateProgram, program, &created));
      program_id_ = created.program().program_id();
    }
    const std::string id = partner.partner().partner_id();
    pv1::CreateEnrollmentRequest enroll;
    enroll.mutable_enrollment()->set_vendor_id(vendor_);
    enroll.mutable_enrollment()->set_partner_id(id);
    enroll.mutable_enrollment()->set_program_id(program_id_);
    EXPECT_OK(Registry(&pv1::PartnerRegistry::Stub::CreateEnrollment, enroll));
    pv1::StartEnrollmentOnboardingRequest onboard;
    onboard.set_vendor_id(vendor_);
    onboard.set_partner_id(id);
    onboard.set_reason("signed");
    EXPECT_OK(Registry(&pv1::PartnerRegistry::Stub::StartEnrollmentOnboarding, onboard));
    pv1::ActivateEnrollmentRequest activate;
    activate.set_vendor_id(vendor_);
    activate.set_partner_id(id);
    activate.set_reason("onboarded");
    EXPECT_OK(Registry(&pv1::PartnerRegistry::Stub::ActivateEnrollment, activate));
    return id;
  }

  void Terminate(const std::string& partner) {
    pv1::TerminateEnrollmentRequest terminate;
    terminate.set_vendor_id(vendor_);
    terminate.set_partner_id(partner);
    terminate.set_reason("contract ended");
    ASSERT_OK(Registry(&pv1::PartnerRegistry::Stub::TerminateEnrollment, terminate));
  }

  std::string PartnerToken(const std::string& partner) const {
    return testing::Token({.subject = "user-" + partner,
                           .role = auth::Role::kPartnerUser,
                           .vendor_ids = {vendor_},
                           .partner_id = partner});
  }

  // A draft registration of `partner`; returns its id.
  std::string Draft(const std::string& partner, const std::string& customer) {
    dv1::CreateDealRequest request;
    dv1::Deal* d = request.mutable_deal();
    d->set_vendor_id(vendor_);
    d->set_partner_id(partner);
    d->set_title("Rollout at " + customer);
    d->mutable_end_customer()->set_legal_name(customer);
    d->mutable_end_customer()->set_country_code("DE");
    d->mutable_end_customer()->set_web_domain(absl::StrCat(run_, "-", customer, ".example"));
    auto* line = d->add_products();
    line->set_sku("SKU-1");
    line->set_product_category("networking");
    line->set_quantity(1);
    line->mutable_amount()->set_currency_code("EUR");
    line->mutable_amount()->set_units(1000);
    d->mutable_value()->set_currency_code("EUR");
    d->mutable_value()->set_units(1000);
    const absl::CivilDay close =
        absl::ToCivilDay(absl::Now() + absl::Hours(24 * 90), absl::UTCTimeZone());
    d->mutable_expected_close_date()->set_year(static_cast<int32_t>(close.year()));
    d->mutable_expected_close_date()->set_month(close.month());
    d->mutable_expected_close_date()->set_day(close.day());
    dv1::CreateDealResponse response;
    EXPECT_OK(FromGrpcStatus(
        deal_stub_->CreateDeal(testing::Context(PartnerToken(partner)).get(), request, &response)));
    return response.deal().deal_id();
  }

  absl::Status Submit(const std::string& partner, const std::string& deal_id) {
    dv1::SubmitDealRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    dv1::SubmitDealResponse response;
    return FromGrpcStatus(deal_stub_->SubmitDeal(
        testing::Context(PartnerToken(partner), absl::Seconds(30)).get(), request, &response));
  }

  dv1::Deal Get(const std::string& partner, const std::string& deal_id) {
    dv1::GetDealRequest request;
    request.set_vendor_id(vendor_);
    request.set_deal_id(deal_id);
    dv1::GetDealResponse response;
    EXPECT_OK(FromGrpcStatus(
        deal_stub_->GetDeal(testing::Context(PartnerToken(partner)).get(), request, &response)));
    return response.deal();
  }

  std::string run_, vendor_, registry_dir_, deal_dir_, manager_, program_id_;
  std::unique_ptr<testing::ServiceProcess> registry_, deal_;
  std::unique_ptr<pv1::PartnerRegistry::Stub> registry_stub_;
  std::unique_ptr<dv1::DealRegistration::Stub> deal_stub_;
};

TEST_F(PartnerCheckIT, PartnerRegistryDecidesAtSubmissionAndItsAnswerIsReplayed) {
  const std::string active = ActivePartner("Active Reseller GmbH");
  const std::string ending = ActivePartner("Ending Reseller GmbH");
  const std::string accepted = Draft(active, "Acme");
  const std::string refused = Draft(ending, "Globex");

  EXPECT_OK(Submit(active, accepted));

  // Terminated, and at once: the EnrollmentStateChanged event cannot have been consumed yet,
  // only the synchronous check can refuse this.
  Terminate(ending);
  EXPECT_THAT(Submit(ending, refused),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TERMINATED")));
  EXPECT_EQ(Get(ending, refused).state(), dv1::DEAL_STATE_DRAFT);

  // A partner partner-registry has never enrolled at the vendor.
  const std::string stranger = absl::StrCat(run_, "-stranger");
  EXPECT_THAT(Submit(stranger, Draft(stranger, "Initech")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no enrollment")));

  // partner-registry down: a clear UNAVAILABLE, well within the caller's 30 s deadline.
  const std::string pending = Draft(active, "Umbrella");
  registry_->Terminate();
  const absl::Time start = absl::Now();
  EXPECT_THAT(Submit(active, pending),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("partner-registry")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(Get(active, pending).state(), dv1::DEAL_STATE_DRAFT);

  // Restart deal-registration with partner-registry still down: replay asks nobody and gives
  // back the accepted submission.
  deal_->Terminate();
  StartDeal();
  EXPECT_NE(Get(active, accepted).state(), dv1::DEAL_STATE_DRAFT);
  EXPECT_EQ(Get(ending, refused).state(), dv1::DEAL_STATE_DRAFT);
}

}  // namespace
}  // namespace prm
