#include "common/auth/principal.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::auth {
namespace {

using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Role, NamesRoundTrip) {
  EXPECT_EQ(RoleName(Role::kVendorAdmin), "vendor_admin");
  EXPECT_EQ(RoleName(Role::kChannelManager), "channel_manager");
  EXPECT_EQ(RoleName(Role::kPartnerUser), "partner_user");
  EXPECT_EQ(RoleName(Role::kConcierge), "concierge");
  EXPECT_EQ(RoleName(Role::kErpIntegration), "erp_integration");
  EXPECT_EQ(RoleName(Role::kService), "service");
  for (Role role : kAllRoles) EXPECT_EQ(RoleFromName(RoleName(role)), role);
}

TEST(Role, UnknownNamesAreRejected) {
  EXPECT_EQ(RoleFromName(""), std::nullopt);
  EXPECT_EQ(RoleFromName("admin"), std::nullopt);
  EXPECT_EQ(RoleFromName("Service"), std::nullopt);
  EXPECT_EQ(RoleFromName("service "), std::nullopt);
}

TEST(Principal, VendorAdminCoversOnlyItsVendors) {
  Principal p{.subject = "ann", .role = Role::kVendorAdmin, .vendor_ids = {"v1", "v2"}};
  EXPECT_TRUE(p.CoversVendor("v1"));
  EXPECT_TRUE(p.CoversVendor("v2"));
  EXPECT_FALSE(p.CoversVendor("v3"));
  EXPECT_FALSE(p.CoversVendor(""));
}

TEST(Principal, ServiceCoversEveryVendorButNotTheEmptyId) {
  Principal p{.subject = "deal-registration", .role = Role::kService};
  EXPECT_TRUE(p.CoversVendor("v1"));
  EXPECT_TRUE(p.CoversVendor("anything"));
  EXPECT_FALSE(p.CoversVendor(""));
}

TEST(Principal, IsPartnerOnlyForThatPartnerUser) {
  Principal user{.subject = "bob", .role = Role::kPartnerUser, .vendor_ids = {"v1"},
                 .partner_id = "p1"};
  EXPECT_TRUE(user.IsPartner("p1"));
  EXPECT_FALSE(user.IsPartner("p2"));
  EXPECT_FALSE(user.IsPartner(""));
  Principal admin{.subject = "ann", .role = Role::kVendorAdmin, .vendor_ids = {"v1"}};
  EXPECT_FALSE(admin.IsPartner("p1"));
  EXPECT_FALSE(admin.IsPartner(""));
}

TEST(Principal, IsWorkerOnlyForThatConcierge) {
  Principal c{.subject = "cat", .role = Role::kConcierge, .vendor_ids = {"v1"}, .worker_id = "w1"};
  EXPECT_TRUE(c.IsWorker("w1"));
  EXPECT_FALSE(c.IsWorker("w2"));
  EXPECT_FALSE(c.IsWorker(""));
}

TEST(ValidateScope, AcceptsEveryRoleWithItsScope) {
  EXPECT_OK(
      ValidateScope({.subject = "a", .role = Role::kVendorAdmin, .vendor_ids = {"v1", "v2"}}));
  EXPECT_OK(ValidateScope({.subject = "a", .role = Role::kChannelManager, .vendor_ids = {"v1"}}));
  EXPECT_OK(ValidateScope(
      {.subject = "a", .role = Role::kPartnerUser, .vendor_ids = {"v1", "v2"}, .partner_id = "p"}));
  EXPECT_OK(ValidateScope(
      {.subject = "a", .role = Role::kConcierge, .vendor_ids = {"v1"}, .worker_id = "w"}));
  EXPECT_OK(ValidateScope({.subject = "a", .role = Role::kErpIntegration, .vendor_ids = {"v1"}}));
  EXPECT_OK(ValidateScope({.subject = "a", .role = Role::kService}));
}

TEST(ValidateScope, RejectsScopesThatDoNotFitTheRole) {
  const auto kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kVendorAdmin}),
              StatusIs(kBad, HasSubstr("at least one vendor")));
  EXPECT_THAT(
      ValidateScope({.subject = "a", .role = Role::kChannelManager, .vendor_ids = {"v1", "v2"}}),
      StatusIs(kBad, HasSubstr("exactly one vendor")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kPartnerUser, .vendor_ids = {"v1"}}),
              StatusIs(kBad, HasSubstr("partner is required")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kPartnerUser, .partner_id = "p"}),
              StatusIs(kBad, HasSubstr("at least one vendor")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kConcierge, .vendor_ids = {"v1"}}),
              StatusIs(kBad, HasSubstr("worker is required")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kErpIntegration}),
              StatusIs(kBad, HasSubstr("exactly one vendor")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kService, .vendor_ids = {"v1"}}),
              StatusIs(kBad, HasSubstr("vendors must be absent")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kChannelManager, .vendor_ids = {"v1"},
                             .partner_id = "p"}),
              StatusIs(kBad, HasSubstr("partner must be absent")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kPartnerUser, .vendor_ids = {"v1"},
                             .partner_id = "p", .worker_id = "w"}),
              StatusIs(kBad, HasSubstr("worker must be absent")));
}

TEST(ValidateScope, RejectsMalformedIds) {
  const auto kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ValidateScope({.role = Role::kService}), StatusIs(kBad, HasSubstr("subject")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kVendorAdmin, .vendor_ids = {"v1", ""}}),
              StatusIs(kBad, HasSubstr("must not be empty")));
  EXPECT_THAT(
      ValidateScope({.subject = "a", .role = Role::kVendorAdmin, .vendor_ids = {"v1", "v1"}}),
      StatusIs(kBad, HasSubstr("unique")));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kChannelManager,
                             .vendor_ids = {std::string(kMaxScopeIdBytes + 1, 'v')}}),
              StatusIs(kBad, HasSubstr("too long")));
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxScopeVendors; ++i) many.push_back("v" + std::to_string(i));
  EXPECT_THAT(ValidateScope({.subject = "a", .role = Role::kVendorAdmin, .vendor_ids = many}),
              StatusIs(kBad, HasSubstr("at most")));
}

}  // namespace
}  // namespace prm::auth
