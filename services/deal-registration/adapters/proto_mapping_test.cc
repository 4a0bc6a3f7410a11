#include "services/deal-registration/adapters/proto_mapping.h"

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
using ::prm::testing::StatusIs;

TEST(ProtoMapping, DealRoundTripsItsWritableFields) {
  Deal d;
  d.vendor_id = "v1";
  d.deal_id = "deal-1";
  d.partner_id = "p1";
  d.title = "t";
  d.end_customer = {"Acme", "US", "acme.com", "123"};
  d.products = {{"SKU", "cat", 3, {"EUR", 12, 500'000'000}}};
  d.value = Money{"EUR", 12, 500'000'000};
  d.expected_close_date = Date{2026, 2, 28};
  d.stage = DealStage::kNegotiating;
  d.description = "desc";
  d.version = 7;
  d.create_time = absl::FromUnixMicros(1'767'225'600'123'456);
  v1::Deal proto = ToProto(d);
  EXPECT_EQ(proto.etag(), "v7");
  EXPECT_EQ(proto.stage(), v1::DEAL_STAGE_NEGOTIATING);
  EXPECT_EQ(FromTimestamp(proto.create_time()), d.create_time);
  Deal back = WritableFromProto(proto);
  EXPECT_EQ(back.end_customer, d.end_customer);
  EXPECT_EQ(back.products, d.products);
  EXPECT_EQ(back.value, d.value);
  EXPECT_EQ(back.expected_close_date, d.expected_close_date);
  EXPECT_EQ(back.stage, d.stage);
  EXPECT_FALSE(WritableFromProto(v1::Deal()).value.has_value());
}

TEST(ProtoMapping, EtagsParseBackAndRejectForeignValues) {
  EXPECT_EQ(*ParseEtag(Etag(12), "etag"), 12);
  EXPECT_FALSE(ParseEtag("", "etag")->has_value());
  EXPECT_THAT(ParseEtag("W/\"3\"", "deal.etag"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FieldViolationsOf(ParseEtag("v0", "deal.etag").status())[0].field, "deal.etag");
}

TEST(ProtoMapping, PolicyMergeNamesEveryBadField) {
  v1::DealPolicy in;
  in.set_max_extensions(11);
  in.set_default_protection_days(0);
  in.add_auto_approval_rules()->set_rule_id("Bad Id");
  absl::StatusOr<DealPolicy> merged = MergePolicy(DealPolicy{}, in, {"*"});
  EXPECT_THAT(merged, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(merged.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ::testing::IsSupersetOf({"policy.max_extensions",
                                               "policy.default_protection_days",
                                               "policy.auto_approval_rules[0].rule_id",
                                               "policy.approval_sla"}));
  in.Clear();
  in.set_max_extensions(5);
  absl::StatusOr<DealPolicy> ok = MergePolicy(DealPolicy{}, in, {"max_extensions"});
  ASSERT_OK(ok.status());
  EXPECT_EQ(ok->max_extensions, 5);
  EXPECT_EQ(ok->default_protection_days, 90);
}

}  // namespace
}  // namespace prm::deal
