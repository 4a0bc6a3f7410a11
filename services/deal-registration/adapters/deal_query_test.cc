#include "services/deal-registration/adapters/deal_query.h"

#include <string>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::prm::testing::StatusIs;

TEST(DealFilter, ParsesTheSupportedTerms) {
  absl::StatusOr<DealQuery> q = ParseDealFilter(
      "partner_id = \"p-1\" AND (state = DEAL_STATE_SUBMITTED OR state = UNDER_REVIEW) AND "
      "has_conflict = true AND protection.expire_time < \"2026-07-01T00:00:00Z\"");
  ASSERT_OK(q.status());
  EXPECT_EQ(*q->partner_id, "p-1");
  EXPECT_THAT(q->states, ::testing::ElementsAre(DealState::kSubmitted, DealState::kUnderReview));
  EXPECT_EQ(q->has_conflict, true);
  EXPECT_EQ(*q->expiring_before, absl::FromUnixSeconds(1782864000));
}

TEST(DealFilter, EmptyFilterMatchesEverything) {
  absl::StatusOr<DealQuery> q = ParseDealFilter("  ");
  ASSERT_OK(q.status());
  EXPECT_FALSE(q->partner_id.has_value());
  EXPECT_TRUE(q->states.empty());
}

TEST(DealFilter, UnknownTermsAndValuesAreNamed) {
  absl::StatusOr<DealQuery> q = ParseDealFilter("title = x AND state = NOPE");
  EXPECT_THAT(q, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<FieldViolation> v = FieldViolationsOf(q.status());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "filter");
  EXPECT_THAT(v[1].description, ::testing::HasSubstr("NOPE"));
}

}  // namespace
}  // namespace prm::deal
