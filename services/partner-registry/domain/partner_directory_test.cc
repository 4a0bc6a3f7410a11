#include "services/partner-registry/domain/partner_directory.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partner-registry/domain/access.h"
#include "services/partner-registry/domain/test_fixtures.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using testing::EventsOf;
using testing::MakePartner;
using testing::MakeProgram;
using S = EnrollmentState;

// One partner enrolled at vendors "va" and "vb", ACTIVE at both.
class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Partner p = MakePartner("Acme SIA", "LV40003123", "acme.lv");
    p.external_ids = {{"va", "sap", "A-1"}, {"vb", "erp-b", "B-1"}};
    auto created = dir_.CreatePartner(p, "va");
    ASSERT_THAT(created.status(), IsOk());
    partner_id_ = created->partner.partner_id;
    for (const char* vendor : {"va", "vb"}) {
      auto program = dir_.CreateProgram(MakeProgram(vendor));
      ASSERT_THAT(program.status(), IsOk());
      program_ids_[vendor] = program->program.program_id;
      ASSERT_THAT(dir_.Enroll(vendor, partner_id_, program->program.program_id).status(), IsOk());
      ASSERT_THAT(dir_.Transition(vendor, partner_id_, S::kOnboarding, "").status(), IsOk());
      ASSERT_THAT(dir_.Transition(vendor, partner_id_, S::kActive, "").status(), IsOk());
    }
  }
  Sale Eur(int64_t units) {
    return Sale{"e", clock_.Now(), SaleKind::kSellIn, "storage", Money::FromUnits("EUR", units)};
  }

  FakeClock clock_;
  PartnerDirectory dir_{clock_};
  std::string partner_id_;
  std::map<std::string, std::string> program_ids_;
};

TEST_F(DirectoryTest, SalesMappedByExternalIdUpgradeOnlyThatVendor) {
  auto events = dir_.ApplySale("vb", "erp-b", "B-1", Eur(150'000));
  ASSERT_THAT(events.status(), IsOk());
  auto changes = EventsOf<TierChanged>(*events);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].meta.vendor_id, "vb");
  EXPECT_EQ(changes[0].to_tier_id, "silver");
  EXPECT_EQ(dir_.GetEnrollment("vb", partner_id_)->tier_id(), "silver");
  EXPECT_EQ(dir_.GetEnrollment("va", partner_id_)->tier_id(), "registered");
  // The account number of vendor vb's ERP means nothing at vendor va.
  EXPECT_THAT(dir_.ApplySale("va", "erp-b", "B-1", Eur(1)).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DirectoryTest, VendorNeverSeesAnotherVendorsEnrollment) {
  ASSERT_THAT(dir_.ApplySale("vb", "erp-b", "B-1", Eur(150'000)).status(), IsOk());
  const auth::Principal manager_a{.subject = "m", .role = auth::Role::kChannelManager,
                                  .vendor_ids = {"va"}};
  EXPECT_THAT(dir_.GetEnrollmentFor(manager_a, "va", partner_id_).status(), IsOk());
  EXPECT_THAT(dir_.GetEnrollmentFor(manager_a, "vb", partner_id_).status(),
              StatusIs(absl::StatusCode::kNotFound));
  // Denied and absent look the same.
  EXPECT_THAT(dir_.GetEnrollmentFor(manager_a, "vb", "no-such-partner").status(),
              StatusIs(absl::StatusCode::kNotFound));
  auto listed = dir_.ListEnrollmentsFor(manager_a, partner_id_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].vendor_id(), "va");
  EXPECT_EQ(listed[0].tier_id(), "registered");
  auto partner = dir_.GetPartnerFor(manager_a, partner_id_);
  ASSERT_THAT(partner.status(), IsOk());
  EXPECT_EQ(partner->external_ids, (std::vector<ExternalId>{{"va", "sap", "A-1"}}));
  const auth::Principal manager_c{.subject = "m", .role = auth::Role::kChannelManager,
                                  .vendor_ids = {"vc"}};
  EXPECT_THAT(dir_.GetPartnerFor(manager_c, partner_id_).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(dir_.ListPartnersFor(manager_c).empty());
  auto visible = dir_.ListPartnersFor(manager_a);
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0].external_ids.size(), 1u);
  ASSERT_EQ(dir_.ListEnrollments("vb").size(), 1u);
  EXPECT_EQ(dir_.ListEnrollments("vb")[0].tier_id(), "silver");
  EXPECT_TRUE(dir_.ListEnrollments("vc").empty());
}

TEST_F(DirectoryTest, PartnerUserSeesOwnPartnerOnlyForTokenVendors) {
  const auth::Principal own{.subject = "u", .role = auth::Role::kPartnerUser,
                            .vendor_ids = {"va"}, .partner_id = partner_id_};
  EXPECT_THAT(dir_.GetEnrollmentFor(own, "va", partner_id_).status(), IsOk());
  EXPECT_THAT(dir_.GetEnrollmentFor(own, "vb", partner_id_).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(dir_.ListEnrollmentsFor(own, partner_id_).size(), 1u);
  EXPECT_THAT(dir_.GetPartnerFor(own, partner_id_).status(), IsOk());
  const auth::Principal other{.subject = "u", .role = auth::Role::kPartnerUser,
                              .vendor_ids = {"va", "vb"}, .partner_id = "someone-else"};
  EXPECT_THAT(dir_.GetPartnerFor(other, partner_id_).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(dir_.ListEnrollmentsFor(other, partner_id_).empty());
  EXPECT_FALSE(CanFindPartners(own, "va"));
  EXPECT_FALSE(CanManageVendor(own, "va"));
}

TEST_F(DirectoryTest, AccessPredicatesFollowRoles) {
  const auth::Principal admin{.subject = "a", .role = auth::Role::kVendorAdmin,
                              .vendor_ids = {"va"}};
  const auth::Principal erp{.subject = "e", .role = auth::Role::kErpIntegration,
                            .vendor_ids = {"va"}};
  const auth::Principal service{.subject = "s", .role = auth::Role::kService};
  EXPECT_TRUE(CanManageVendor(admin, "va"));
  EXPECT_FALSE(CanManageVendor(admin, "vb"));
  EXPECT_TRUE(CanIngestSales(erp, "va"));
  EXPECT_FALSE(CanIngestSales(admin, "va"));
  EXPECT_FALSE(CanWritePartner(erp, partner_id_, {"va"}));
  EXPECT_TRUE(CanWritePartner(admin, partner_id_, {"va"}));
  EXPECT_TRUE(CanReadEnrollment(service, "vb", partner_id_));
  EXPECT_EQ(RedactPartner(service, *dir_.GetPartner(partner_id_)).external_ids.size(), 2u);
}

TEST_F(DirectoryTest, FindPartnersSkipsOptedOutSuspendedAndDeclined) {
  Lead lead{.country_code = "LV"};
  auto found = dir_.FindPartners("va", {lead}, FindOptions{});
  ASSERT_THAT(found.status(), IsOk());
  ASSERT_EQ(found->at(0).eligible_count, 1);
  EXPECT_EQ(found->at(0).matches[0].partner_id, partner_id_);
  EXPECT_EQ(found->at(0).matches[0].display_name, "Acme SIA");

  Lead declined{.country_code = "LV", .excluded_partner_ids = {partner_id_}};
  EXPECT_EQ(dir_.FindPartners("va", {declined}, FindOptions{})->at(0).eligible_count, 0);

  ASSERT_THAT(dir_.SetLeadOptOut("va", partner_id_, true).status(), IsOk());
  EXPECT_EQ(dir_.FindPartners("va", {lead}, FindOptions{})->at(0).eligible_count, 0);
  ASSERT_THAT(dir_.SetLeadOptOut("va", partner_id_, false).status(), IsOk());
  ASSERT_THAT(dir_.Transition("va", partner_id_, S::kSuspended, "audit").status(), IsOk());
  EXPECT_EQ(dir_.FindPartners("va", {lead}, FindOptions{})->at(0).eligible_count, 0);
  EXPECT_EQ(dir_.FindPartners("vb", {lead}, FindOptions{})->at(0).eligible_count, 1);
}

TEST_F(DirectoryTest, FindPartnersSeesTierAndCompetencyChanges) {
  auto gold = [&] {
    Lead lead{.required_competencies = {{"cloud", 2}}, .min_tier_rank = 3};
    return dir_.FindPartners("va", {lead}, FindOptions{})->at(0).eligible_count;
  };
  EXPECT_EQ(gold(), 0);
  ASSERT_THAT(dir_.ApplySale("va", "sap", "A-1", Eur(600'000)).status(), IsOk());
  ASSERT_THAT(dir_.GrantCompetency("va", partner_id_,
                                   Competency{.competency_id = "cloud", .level = 2})
                  .status(),
              IsOk());
  EXPECT_EQ(dir_.GetEnrollment("va", partner_id_)->tier_id(), "gold");
  EXPECT_EQ(gold(), 1);
  // The competency stops counting after expiry + grace even before the next Tick.
  clock_.Advance(absl::Hours(24 * (365 + 14)));
  EXPECT_EQ(gold(), 0);
}

TEST_F(DirectoryTest, FailedCommandLeavesEnrollmentUnchanged) {
  const Enrollment before = *dir_.GetEnrollment("va", partner_id_);
  EXPECT_THAT(dir_.Transition("va", partner_id_, S::kOnboarding, "").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(dir_.RenewCompetency("va", partner_id_, "cloud", clock_.Now()).status(),
              StatusIs(absl::StatusCode::kNotFound));
  const Enrollment after = *dir_.GetEnrollment("va", partner_id_);
  EXPECT_EQ(after.version(), before.version());
  EXPECT_EQ(after.state(), before.state());
}

TEST(Directory, CreateEmitsPartnerCreatedAndUnknownUpdateIsNotFound) {
  FakeClock clock;
  PartnerDirectory dir(clock);
  auto created = dir.CreatePartner(MakePartner("Acme", "", "acme.com"), "va");
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_EQ(created->events.size(), 1u);
  const auto& ev = std::get<PartnerCreated>(created->events[0]);
  EXPECT_EQ(ev.meta.partner_id, created->partner.partner_id);
  EXPECT_EQ(ev.meta.aggregate_version, 1);
  EXPECT_EQ(ev.creator_vendor_id, "va");
  EXPECT_EQ(ev.partner.display_name, "Acme");  // defaults to legal_name
  Partner ghost = created->partner;
  ghost.partner_id = "nope";
  EXPECT_THAT(dir.UpdatePartner(ghost).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DirectoryTest, EnrollRules) {
  EXPECT_THAT(dir_.Enroll("va", partner_id_, program_ids_["va"]).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(dir_.Enroll("va", "nobody", program_ids_["va"]).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(dir_.Enroll("vc", partner_id_, program_ids_["va"]).status(),
              StatusIs(absl::StatusCode::kNotFound));
  Program msp_only = MakeProgram("vc");
  msp_only.eligible_types = {PartnerType::kMsp};
  auto program = dir_.CreateProgram(msp_only);
  ASSERT_THAT(program.status(), IsOk());
  EXPECT_THAT(dir_.Enroll("vc", partner_id_, program->program.program_id).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DirectoryTest, ProgramUpdateReevaluatesEnrollments) {
  ASSERT_THAT(dir_.ApplySale("va", "sap", "A-1", Eur(60'000)).status(), IsOk());
  Program program = *dir_.GetProgram("va", program_ids_["va"]);
  program.tiers[1].requirements.min_trailing_revenue = Money::FromUnits("EUR", 50'000);
  auto updated = dir_.UpdateProgram(program);
  ASSERT_THAT(updated.status(), IsOk());
  auto changes = EventsOf<TierChanged>(updated->events);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].to_tier_id, "silver");
  EXPECT_EQ(changes[0].evaluation.trigger, EvaluationTrigger::kProgram);
  program.display_name = "stale";
  EXPECT_THAT(dir_.UpdateProgram(program).status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(DirectoryTest, TickEmitsExpiryAndAsOfServesHistory) {
  const absl::Time t0 = clock_.Now();
  ASSERT_THAT(dir_.ApplySale("va", "sap", "A-1", Eur(600'000)).status(), IsOk());
  ASSERT_THAT(dir_.GrantCompetency("va", partner_id_,
                                   Competency{.competency_id = "cloud", .level = 2,
                                              .expire_time = t0 + absl::Hours(24 * 40)})
                  .status(),
              IsOk());
  clock_.Advance(absl::Hours(24 * 10));
  auto expiring = dir_.Tick();
  EXPECT_EQ(EventsOf<CompetencyExpiring>(expiring).size(), 1u);
  clock_.Advance(absl::Hours(24 * 44));  // 40 days + 14 days grace
  auto expired = dir_.Tick();
  EXPECT_EQ(EventsOf<CompetencyExpired>(expired).size(), 1u);
  EXPECT_TRUE(EventsOf<TierChanged>(expired).empty());  // gold keeps 30 days of tier grace
  clock_.Advance(absl::Hours(24 * 30));
  auto downgraded = dir_.Tick();
  ASSERT_EQ(EventsOf<TierChanged>(downgraded).size(), 1u);
  const TierChanged change = EventsOf<TierChanged>(downgraded)[0];
  EXPECT_EQ(change.to_tier_id, "silver");
  auto as_of_gold = dir_.GetEnrollmentAsOf("va", partner_id_, t0 + absl::Hours(24 * 20));
  ASSERT_THAT(as_of_gold.status(), IsOk());
  EXPECT_EQ(as_of_gold->tier_id, "gold");
  EXPECT_EQ(as_of_gold->competencies.at(0).state, CompetencyState::kActive);
  auto as_of_now = dir_.GetEnrollmentAsOf("va", partner_id_, clock_.Now());
  ASSERT_THAT(as_of_now.status(), IsOk());
  EXPECT_EQ(as_of_now->tier_id, "silver");
  EXPECT_EQ(as_of_now->competencies.at(0).state, CompetencyState::kExpired);
}

}  // namespace
}  // namespace prm::partner
