#include "common/server/limits.h"

#include <string>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;

TEST(Limits, PageSizeDefaultsClampsAndRefusesNegative) {
  EXPECT_EQ(*EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*EffectivePageSize(7), 7);
  EXPECT_EQ(*EffectivePageSize(kMaxPageSize + 1), kMaxPageSize);
  const absl::StatusOr<int32_t> negative = EffectivePageSize(-1);
  EXPECT_THAT(negative.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(FieldViolationsOf(negative.status()).size(), 1u);
  EXPECT_EQ(FieldViolationsOf(negative.status())[0].field, "page_size");
}

TEST(Limits, FilterLengthAndBatchSizeNameTheField) {
  EXPECT_THAT(CheckFilterLength(std::string(kMaxFilterLength, 'a')), IsOk());
  const absl::Status long_filter = CheckFilterLength(std::string(kMaxFilterLength + 1, 'a'));
  EXPECT_THAT(long_filter, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FieldViolationsOf(long_filter)[0].field, "filter");
  EXPECT_THAT(CheckBatchSize(10, 10, "leads"), IsOk());
  const absl::Status batch = CheckBatchSize(11, 10, "leads");
  EXPECT_THAT(batch, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FieldViolationsOf(batch)[0].field, "leads");
}

}  // namespace
}  // namespace prm::server
