#include "services/deal-registration/domain/conflict_index.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);

IndexedRegistration Reg(std::string vendor, std::string deal, std::string name,
                        std::string domain, std::string tax, std::vector<std::string> skus,
                        std::vector<std::string> categories,
                        DealState state = DealState::kSubmitted) {
  IndexedRegistration r;
  r.vendor_id = std::move(vendor);
  r.deal_id = std::move(deal);
  r.partner_id = "partner-" + r.deal_id;
  r.state = state;
  r.submit_time = kT0;
  EndCustomer c{std::move(name), "US", std::move(domain), std::move(tax)};
  r.customer = *ResolveCustomerIdentity(c);
  r.skus = std::move(skus);
  r.categories = std::move(categories);
  return r;
}

std::vector<std::string> Ids(const std::vector<ConflictMatch>& matches) {
  std::vector<std::string> ids;
  for (const ConflictMatch& m : matches) ids.push_back(m.deal_id);
  return ids;
}

TEST(ConflictIndex, SameCustomerAndOverlappingSkuConflictsWithReasons) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "ACME, Inc.", "", "", {"SKU-1", "SKU-2"}, {"net", "sec"}));
  const std::vector<ConflictMatch> found =
      index.FindConflicts(Reg("v1", "d2", "Acme Incorporated", "", "", {"SKU-2"}, {"net"}), kT0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].deal_id, "d1");
  EXPECT_EQ(found[0].partner_id, "partner-d1");
  EXPECT_EQ(found[0].state, DealState::kSubmitted);
  EXPECT_THAT(found[0].reasons,
              ElementsAre(ConflictReason{ConflictReasonKind::kCustomerLegalName, "acme"},
                          ConflictReason{ConflictReasonKind::kProductSku, "SKU-2"},
                          ConflictReason{ConflictReasonKind::kProductCategory, "net"}));
}

TEST(ConflictIndex, DisjointProductsDoNotConflict) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  EXPECT_THAT(index.FindConflicts(Reg("v1", "d2", "Acme", "acme.com", "", {"SKU-9"}, {"storage"}),
                                  kT0),
              IsEmpty());
}

TEST(ConflictIndex, CategoryOverlapAloneConflicts) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "", "", {"SKU-1"}, {"net"}));
  const auto found = index.FindConflicts(Reg("v1", "d2", "Acme", "", "", {"SKU-2"}, {"net"}), kT0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0].reasons,
              ElementsAre(ConflictReason{ConflictReasonKind::kCustomerLegalName, "acme"},
                          ConflictReason{ConflictReasonKind::kProductCategory, "net"}));
}

TEST(ConflictIndex, SameCustomerAtAnotherVendorDoesNotConflict) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "acme.com", "12-3456789", {"SKU-1"}, {"net"}));
  EXPECT_THAT(
      index.FindConflicts(Reg("v2", "d2", "Acme", "acme.com", "12-3456789", {"SKU-1"}, {"net"}),
                          kT0),
      IsEmpty());
}

TEST(ConflictIndex, SubdomainOfTheCustomersDomainConflicts) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme Corp", "acme.com", "", {"SKU-1"}, {"net"}));
  const auto found = index.FindConflicts(
      Reg("v1", "d2", "Acme Europe GmbH", "https://eu.acme.com", "", {"SKU-1"}, {"net"}), kT0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].reasons[0],
            (ConflictReason{ConflictReasonKind::kCustomerWebDomain, "acme.com"}));
}

TEST(ConflictIndex, LookalikeDomainsDoNotConflict) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  index.Upsert(Reg("v1", "d2", "Acme UK", "acme.co.uk", "", {"SKU-1"}, {"net"}));
  EXPECT_THAT(index.FindConflicts(
                  Reg("v1", "d3", "Evil", "acme.com.evil.io", "", {"SKU-1"}, {"net"}), kT0),
              IsEmpty());
  EXPECT_THAT(index.FindConflicts(
                  Reg("v1", "d4", "Other", "other.co.uk", "", {"SKU-1"}, {"net"}), kT0),
              IsEmpty());
  EXPECT_THAT(Ids(index.FindConflicts(
                  Reg("v1", "d5", "Shop", "shop.acme.co.uk", "", {"SKU-1"}, {"net"}), kT0)),
              ElementsAre("d2"));
}

TEST(ConflictIndex, TaxIdMatchesWithinCountryOnly) {
  ConflictIndex index;
  IndexedRegistration lv = Reg("v1", "d1", "Rimi", "", "", {"SKU-1"}, {"net"});
  lv.customer = *ResolveCustomerIdentity({"SIA Rimi Latvia", "LV", "", "LV40003053029"});
  index.Upsert(lv);
  IndexedRegistration same = lv;
  same.deal_id = "d2";
  same.customer = *ResolveCustomerIdentity({"Other Name", "LV", "", "40003-053029"});
  const auto found = index.FindConflicts(same, kT0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].reasons[0],
            (ConflictReason{ConflictReasonKind::kCustomerTaxId, "40003053029"}));
  IndexedRegistration other_country = same;
  other_country.customer = *ResolveCustomerIdentity({"Other Name", "EE", "", "40003053029"});
  EXPECT_THAT(index.FindConflicts(other_country, kT0), IsEmpty());
}

TEST(ConflictIndex, NameMatchesRequireTheSameCountry) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "", "", {"SKU-1"}, {"net"}));
  IndexedRegistration probe = Reg("v1", "d2", "Acme", "", "", {"SKU-1"}, {"net"});
  probe.customer.country_code = "CA";
  EXPECT_THAT(index.FindConflicts(probe, kT0), IsEmpty());
}

TEST(ConflictIndex, GoldenNegativePairsDoNotConflict) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Ramesh Traders", "", "", {"SKU-1"}, {"net"}));
  index.Upsert(Reg("v1", "d2", "SIA Rimi Latvia", "", "", {"SKU-1"}, {"net"}));
  index.Upsert(Reg("v1", "d3", "A-B-C Company", "", "", {"SKU-1"}, {"net"}));
  EXPECT_THAT(index.FindConflicts(Reg("v1", "p1", "Ganesh Traders", "", "", {"SKU-1"}, {"net"}),
                                  kT0),
              IsEmpty());
  EXPECT_THAT(index.FindConflicts(
                  Reg("v1", "p2", "SIA Maxima Latvija", "", "", {"SKU-1"}, {"net"}), kT0),
              IsEmpty());
  EXPECT_THAT(index.FindConflicts(Reg("v1", "p3", "XYZ Company", "", "", {"SKU-1"}, {"net"}),
                                  kT0),
              IsEmpty());
}

TEST(ConflictIndex, MatchOnSeveralIdentitiesIsReportedOnceWithEveryReason) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "acme.com", "12-3456789", {"SKU-1"}, {"net"}));
  const auto found = index.FindConflicts(
      Reg("v1", "d2", "ACME Inc", "www.acme.com", "123456789", {"SKU-1"}, {"net"}), kT0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0].reasons,
              ElementsAre(ConflictReason{ConflictReasonKind::kCustomerLegalName, "acme"},
                          ConflictReason{ConflictReasonKind::kCustomerWebDomain, "acme.com"},
                          ConflictReason{ConflictReasonKind::kCustomerTaxId, "123456789"},
                          ConflictReason{ConflictReasonKind::kProductSku, "SKU-1"},
                          ConflictReason{ConflictReasonKind::kProductCategory, "net"}));
}

TEST(ConflictIndex, ExcludesTheProbeItselfAndOrdersBySubmitTime) {
  ConflictIndex index;
  IndexedRegistration late = Reg("v1", "b", "Acme", "", "", {"SKU-1"}, {"net"});
  late.submit_time = kT0 + absl::Hours(2);
  IndexedRegistration early = Reg("v1", "c", "Acme", "", "", {"SKU-1"}, {"net"});
  early.submit_time = kT0 + absl::Hours(1);
  index.Upsert(late);
  index.Upsert(early);
  index.Upsert(Reg("v1", "self", "Acme", "", "", {"SKU-1"}, {"net"}));
  EXPECT_THAT(Ids(index.FindConflicts(Reg("v1", "self", "Acme", "", "", {"SKU-1"}, {"net"}),
                                      kT0 + absl::Hours(3))),
              ElementsAre("c", "b"));
}

TEST(ConflictIndex, ExpiredApprovalIsNotActive) {
  ConflictIndex index;
  IndexedRegistration approved = Reg("v1", "d1", "Acme", "", "", {"SKU-1"}, {"net"},
                                     DealState::kApproved);
  approved.expire_time = kT0 + absl::Hours(24);
  index.Upsert(approved);
  const IndexedRegistration probe = Reg("v1", "d2", "Acme", "", "", {"SKU-1"}, {"net"});
  EXPECT_THAT(Ids(index.FindConflicts(probe, kT0 + absl::Hours(23))), ElementsAre("d1"));
  EXPECT_THAT(index.FindConflicts(probe, kT0 + absl::Hours(24)), IsEmpty());
}

TEST(ConflictIndex, UpsertRemoveAndInactiveStatesMaintainTheIndex) {
  ConflictIndex index;
  index.Upsert(Reg("v1", "d1", "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  index.Upsert(Reg("v1", "d2", "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  EXPECT_EQ(index.size(), 2u);
  const IndexedRegistration probe = Reg("v1", "p", "Acme", "acme.com", "", {"SKU-1"}, {"net"});
  EXPECT_THAT(Ids(index.FindConflicts(probe, kT0)), ElementsAre("d1", "d2"));

  // Re-upsert d1 with another customer: the old keys no longer find it.
  index.Upsert(Reg("v1", "d1", "Globex", "globex.com", "", {"SKU-1"}, {"net"}));
  EXPECT_EQ(index.size(), 2u);
  EXPECT_THAT(Ids(index.FindConflicts(probe, kT0)), ElementsAre("d2"));

  // A terminal state removes the entry.
  index.Upsert(Reg("v1", "d2", "Acme", "acme.com", "", {"SKU-1"}, {"net"}, DealState::kWon));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_THAT(index.FindConflicts(probe, kT0), IsEmpty());

  EXPECT_TRUE(index.Remove("v1", "d1"));
  EXPECT_FALSE(index.Remove("v1", "d1"));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_THAT(index.FindConflicts(
                  Reg("v1", "p", "Globex", "globex.com", "", {"SKU-1"}, {"net"}), kT0),
              IsEmpty());
}

TEST(ConflictIndex, RemovingFromTheMiddleOfAChainKeepsTheOthers) {
  ConflictIndex index;
  for (const char* id : {"a", "b", "c", "d"}) {
    index.Upsert(Reg("v1", id, "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  }
  EXPECT_TRUE(index.Remove("v1", "c"));
  EXPECT_TRUE(index.Remove("v1", "a"));
  EXPECT_THAT(Ids(index.FindConflicts(Reg("v1", "p", "Acme", "", "", {"SKU-1"}, {"net"}), kT0)),
              ElementsAre("b", "d"));
  index.Upsert(Reg("v1", "e", "Acme", "acme.com", "", {"SKU-1"}, {"net"}));
  EXPECT_THAT(Ids(index.FindConflicts(Reg("v1", "p", "Acme", "", "", {"SKU-1"}, {"net"}), kT0)),
              ElementsAre("b", "d", "e"));
}

}  // namespace
}  // namespace prm::deal
