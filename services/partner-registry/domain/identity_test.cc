#include "services/partner-registry/domain/identity.h"

#include <algorithm>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partner-registry/domain/partner_directory.h"
#include "services/partner-registry/domain/test_fixtures.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakePartner;

TEST(WebDomain, NormalizesSchemeWwwCaseAndPath) {
  EXPECT_EQ(NormalizeWebDomain("www.acme.com"), "acme.com");
  EXPECT_EQ(NormalizeWebDomain("acme.com"), "acme.com");
  EXPECT_EQ(NormalizeWebDomain("https://ACME.com/"), "acme.com");
  EXPECT_EQ(NormalizeWebDomain("http://user@www.Acme.com:8080/x?y#z"), "acme.com");
  EXPECT_EQ(NormalizeWebDomain("shop.acme.co.uk."), "shop.acme.co.uk");
}

TEST(WebDomain, RejectsBadSyntax) {
  EXPECT_EQ(NormalizeWebDomain("acme"), std::nullopt);
  EXPECT_EQ(NormalizeWebDomain("-acme.com"), std::nullopt);
  EXPECT_EQ(NormalizeWebDomain("ac me.com"), std::nullopt);
  EXPECT_EQ(NormalizeWebDomain("acme.c0m"), std::nullopt);
  EXPECT_EQ(NormalizeWebDomain(""), std::nullopt);
}

TEST(LegalName, DropsCasePunctuationAndLegalForms) {
  EXPECT_EQ(NormalizeLegalName("ACME, Inc."), "acme");
  EXPECT_EQ(NormalizeLegalName("Acme Ltd"), "acme");
  EXPECT_EQ(NormalizeLegalName("SIA \"Acme\""), "acme");
  EXPECT_EQ(NormalizeLegalName("Acme Systems GmbH"), "acme systems");
}

TEST(TaxId, KeepsLettersAndDigitsUpperCase) {
  EXPECT_EQ(NormalizeTaxId("lv-40003 123"), "LV40003123");
}

TEST(CountryCode, AcceptsOnlyAssignedUpperCaseAlpha2) {
  EXPECT_TRUE(IsIsoCountryCode("LV"));
  EXPECT_TRUE(IsIsoCountryCode("ZW"));
  EXPECT_FALSE(IsIsoCountryCode("UK"));
  EXPECT_FALSE(IsIsoCountryCode("lv"));
  EXPECT_FALSE(IsIsoCountryCode("LVA"));
}

TEST(ValidatePartner, ListsEveryBadField) {
  Partner p = MakePartner("", "", "not a domain");
  p.hq_country_code = "XX";
  p.types = {PartnerType::kUnspecified, static_cast<PartnerType>(42)};
  p.country_codes = {"LV", "uk"};
  p.contacts = {Contact{.display_name = "", .phone = "12345"}};
  p.external_ids = {ExternalId{"v1", "", "A-1"}};
  p.attributes = {{"Bad Key", "x"}};
  absl::Status s = ValidatePartner(p);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre(
                          "legal_name", "web_domains[0]", "hq_country_code", "types[0]",
                          "types[1]", "country_codes[1]", "contacts[0].display_name",
                          "contacts[0].phone", "external_ids[0].erp_system_id",
                          "attributes[Bad Key]"));
}

// Lengths count characters: 256 Japanese characters are 768 bytes and still a legal name.
TEST(ValidatePartner, CountsNameLengthsInCharactersNotBytes) {
  std::string name;
  for (int i = 0; i < 256; ++i) name += "株";
  EXPECT_THAT(ValidatePartner(MakePartner(name, "", "kabu.jp")), IsOk());
  name += "株";
  absl::Status too_long = ValidatePartner(MakePartner(name, "", "kabu.jp"));
  EXPECT_THAT(FieldViolationsOf(too_long),
              ElementsAre(FieldViolation{"legal_name", "is required, 1..256 characters"}));
}

TEST(ValidatePartner, AcceptsAMinimalPartner) {
  EXPECT_THAT(ValidatePartner(MakePartner("Acme", "", "acme.com")), IsOk());
}

class DirectoryIdentityTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  PartnerDirectory dir_{clock_};
};

TEST_F(DirectoryIdentityTest, DuplicateTaxIdIsAlreadyExistsNamingThePartner) {
  auto first = dir_.CreatePartner(MakePartner("Acme", "LV40003123", "acme.com"), "v1");
  ASSERT_THAT(first.status(), IsOk());
  auto second = dir_.CreatePartner(MakePartner("Other", "lv 40003-123", "other.com"), "v1");
  EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kAlreadyExists,
                                        HasSubstr(first->partner.partner_id)));
}

TEST_F(DirectoryIdentityTest, DuplicateNormalizedDomainIsAlreadyExists) {
  auto first = dir_.CreatePartner(MakePartner("Acme", "", "www.acme.com"), "v1");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_THAT(first->partner.web_domains, ElementsAre("acme.com"));
  for (const char* other : {"acme.com", "https://ACME.com/", "WWW.ACME.COM"}) {
    auto second = dir_.CreatePartner(MakePartner("Other", "", other), "v1");
    EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kAlreadyExists,
                                          HasSubstr(first->partner.partner_id)))
        << other;
  }
}

TEST_F(DirectoryIdentityTest, SimilarLegalNameOnlyWarns) {
  auto first = dir_.CreatePartner(MakePartner("ACME, Inc.", "", "acme.com"), "v1");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_TRUE(first->warnings.empty());
  auto second = dir_.CreatePartner(MakePartner("Acme Ltd", "", "acme.lv"), "v1");
  ASSERT_THAT(second.status(), IsOk());
  ASSERT_EQ(second->warnings.size(), 1u);
  EXPECT_EQ(second->warnings[0].code, "SIMILAR_LEGAL_NAME");
  EXPECT_EQ(second->warnings[0].existing_partner_id, first->partner.partner_id);
}

TEST_F(DirectoryIdentityTest, InvalidPartnerIsInvalidArgumentAndNotStored) {
  Partner p = MakePartner("Acme", "T1", "acme.com");
  p.hq_country_code = "XX";
  EXPECT_THAT(dir_.CreatePartner(p, "v1").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hq_country_code")));
  p.hq_country_code = "LV";
  EXPECT_THAT(dir_.CreatePartner(p, "v1").status(), IsOk());
}

TEST_F(DirectoryIdentityTest, ExternalIdMapsToPartnerAndIsUnique) {
  Partner p = MakePartner("Acme", "", "acme.com");
  p.external_ids = {{"v1", "sap-eu", "A-100"}};
  auto first = dir_.CreatePartner(p, "v1");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(dir_.FindPartnerByExternalId({"v1", "sap-eu", "A-100"}), first->partner.partner_id);
  EXPECT_EQ(dir_.FindPartnerByExternalId({"v2", "sap-eu", "A-100"}), std::nullopt);
  Partner q = MakePartner("Beta", "", "beta.com");
  q.external_ids = {{"v1", "sap-eu", "A-100"}};
  EXPECT_THAT(dir_.CreatePartner(q, "v1").status(),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(first->partner.partner_id)));
}

TEST_F(DirectoryIdentityTest, UpdateWithStaleEtagIsAborted) {
  auto created = dir_.CreatePartner(MakePartner("Acme", "", "acme.com"), "v1");
  ASSERT_THAT(created.status(), IsOk());
  Partner update = created->partner;
  update.display_name = "ACME";
  clock_.Advance(absl::Seconds(1));
  auto updated = dir_.UpdatePartner(update);
  ASSERT_THAT(updated.status(), IsOk());
  EXPECT_EQ(updated->partner.version, 2);
  EXPECT_NE(updated->partner.etag, created->partner.etag);
  update.display_name = "Stale";  // still carries the first etag
  EXPECT_THAT(dir_.UpdatePartner(update).status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(DirectoryIdentityTest, UpdateKeepingOwnDomainIsNotADuplicate) {
  auto created = dir_.CreatePartner(MakePartner("Acme", "T1", "acme.com"), "v1");
  ASSERT_THAT(created.status(), IsOk());
  Partner update = created->partner;
  update.web_domains.push_back("https://www.acme.lv/");
  auto updated = dir_.UpdatePartner(update);
  ASSERT_THAT(updated.status(), IsOk());
  EXPECT_THAT(updated->partner.web_domains, ElementsAre("acme.com", "acme.lv"));
  EXPECT_THAT(dir_.CreatePartner(MakePartner("X", "", "acme.lv"), "v1").status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(DirectoryIdentityTest, LookupByTaxIdAndDomainIncludingSubdomains) {
  auto created = dir_.CreatePartner(MakePartner("Acme", "LV40003123", "acme.com"), "v1");
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->partner.partner_id;
  EXPECT_EQ(dir_.FindPartnerByTaxId("lv 40003123"), id);
  EXPECT_EQ(dir_.FindPartnerByWebDomain("https://www.ACME.com/about"), id);
  EXPECT_EQ(dir_.FindPartnerByWebDomain("shop.eu.acme.com"), id);
  EXPECT_EQ(dir_.FindPartnerByWebDomain("notacme.com"), std::nullopt);
  EXPECT_EQ(dir_.FindPartnerByWebDomain("com"), std::nullopt);
  EXPECT_EQ(dir_.FindPartnerByTaxId(""), std::nullopt);
}

TEST_F(DirectoryIdentityTest, DeleteFreesIdentityAndRefusesWhileEnrolled) {
  auto created = dir_.CreatePartner(MakePartner("Acme", "T1", "acme.com"), "v1");
  ASSERT_THAT(created.status(), IsOk());
  const std::string id = created->partner.partner_id;
  auto program = dir_.CreateProgram(testing::MakeProgram("v1"));
  ASSERT_THAT(program.status(), IsOk());
  ASSERT_THAT(dir_.Enroll("v1", id, program->program.program_id).status(), IsOk());
  EXPECT_THAT(dir_.DeletePartner(id, ""), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(dir_.DeleteProgram("v1", program->program.program_id, "").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(dir_.Transition("v1", id, EnrollmentState::kTerminated, "").status(), IsOk());
  EXPECT_THAT(dir_.DeletePartner(id, "stale").status(), StatusIs(absl::StatusCode::kAborted));
  auto deleted = dir_.DeletePartner(id, created->partner.etag);
  ASSERT_THAT(deleted.status(), IsOk());
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ(std::get<PartnerDeleted>(deleted->at(0)).meta.partner_id, id);
  EXPECT_THAT(dir_.GetPartner(id).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(dir_.CreatePartner(MakePartner("Acme 2", "T1", "acme.com"), "v1").status(), IsOk());
  EXPECT_THAT(dir_.DeleteProgram("v1", program->program.program_id, "").status(), IsOk());
  EXPECT_TRUE(dir_.ListPrograms("v1").empty());
}

}  // namespace
}  // namespace prm::partner
