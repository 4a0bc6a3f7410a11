#include "services/deal-registration/domain/customer_identity.h"

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::prm::testing::StatusIs;
using ::testing::Field;
using ::testing::UnorderedElementsAre;

TEST(WebDomain, StripsSchemeWwwPortPathCaseAndTrailingDot) {
  EXPECT_EQ(*NormalizeWebDomain("HTTPS://www.EU.Acme.com.:443/path?q=1#x"), "eu.acme.com");
  EXPECT_EQ(*NormalizeWebDomain("  acme.com  "), "acme.com");
  EXPECT_EQ(*NormalizeWebDomain("user@mail.acme.com"), "mail.acme.com");
  EXPECT_EQ(*NormalizeWebDomain("www.acme.co.uk/"), "acme.co.uk");
}

TEST(WebDomain, RejectsMalformedHostsAndBareSuffixes) {
  EXPECT_THAT(NormalizeWebDomain("acme"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain("acme..com"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain("-acme.com"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain("acme_corp.com"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain("bücher.de"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain("co.uk"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(WebDomain, RegistrableDomainHandlesSubdomainsAndMultiLabelSuffixes) {
  EXPECT_EQ(RegistrableDomain("eu.acme.com"), "acme.com");
  EXPECT_EQ(RegistrableDomain("acme.com"), "acme.com");
  EXPECT_EQ(RegistrableDomain("acme.com.evil.io"), "evil.io");
  EXPECT_EQ(RegistrableDomain("shop.acme.co.uk"), "acme.co.uk");
  EXPECT_EQ(RegistrableDomain("acme.co.uk"), "acme.co.uk");
  EXPECT_EQ(RegistrableDomain("a.b.acme.com.au"), "acme.com.au");
  EXPECT_EQ(RegistrableDomain("acme.github.io"), "acme.github.io");
}

TEST(WebDomain, SharedMailboxDomainsAreNoIdentity) {
  EXPECT_EQ(RegistrableDomain("gmail.com"), "");
  EXPECT_EQ(RegistrableDomain("mail.ru"), "");
}

TEST(TaxId, StripsSeparatorsCaseAndCountryPrefix) {
  EXPECT_EQ(*NormalizeTaxId("LV 40003-032.949", "LV"), "40003032949");
  EXPECT_EQ(*NormalizeTaxId("40003032949", "LV"), "40003032949");
  EXPECT_EQ(*NormalizeTaxId("de123456789", "DE"), "123456789");
  EXPECT_EQ(*NormalizeTaxId("EL094014201", "GR"), "094014201");
  EXPECT_EQ(*NormalizeTaxId("CHE-123.456.789 MWST", "CH"), "123456789");
  EXPECT_EQ(*NormalizeTaxId("NO 923 609 016 MVA", "NO"), "923609016");
  EXPECT_EQ(*NormalizeTaxId("12-3456789", "US"), "123456789");
  // Another country's prefix is part of the number, not stripped.
  EXPECT_EQ(*NormalizeTaxId("LT100001919017", "LV"), "LT100001919017");
}

TEST(TaxId, RejectsEmptyAndForeignCharacters) {
  EXPECT_THAT(NormalizeTaxId(" - . ", "LV"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeTaxId("123#45", "LV"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeTaxId(std::string(65, '1'), "US"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CustomerIdentity, ResolvesEveryPart) {
  absl::StatusOr<CustomerIdentity> id = ResolveCustomerIdentity(
      {"SIA Rimi Latvia", "lv", "https://www.rimi.lv/", "LV40003053029"});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->country_code, "LV");
  EXPECT_EQ(id->name_key, "rimilatvia");
  EXPECT_EQ(id->web_domain, "rimi.lv");
  EXPECT_EQ(id->registrable_domain, "rimi.lv");
  EXPECT_EQ(id->tax_key, "40003053029");
}

TEST(CustomerIdentity, NamesEveryMalformedField) {
  absl::StatusOr<CustomerIdentity> id =
      ResolveCustomerIdentity({"Acme", "US", "not a domain", "??"});
  EXPECT_THAT(id, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldViolationsOf(id.status()),
              UnorderedElementsAre(Field(&FieldViolation::field, "end_customer.web_domain"),
                                   Field(&FieldViolation::field, "end_customer.tax_id")));
}

}  // namespace
}  // namespace prm::deal
