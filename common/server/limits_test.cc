#include "common/server/limits.h"

#include <limits>
#include <string>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

TEST(Limits, PageSizeDefaultsClampsAndRefusesNegative) {
  EXPECT_EQ(*EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*EffectivePageSize(7), 7);
  EXPECT_EQ(*EffectivePageSize(kMaxPageSize), kMaxPageSize);
  EXPECT_EQ(*EffectivePageSize(kMaxPageSize + 1), kMaxPageSize);
  EXPECT_EQ(*EffectivePageSize(100000), kMaxPageSize);
  EXPECT_EQ(*EffectivePageSize(std::numeric_limits<int32_t>::max()), kMaxPageSize);
  for (int32_t negative : {-1, std::numeric_limits<int32_t>::min()}) {
    const absl::StatusOr<int32_t> size = EffectivePageSize(negative);
    EXPECT_THAT(size.status(), StatusIs(absl::StatusCode::kInvalidArgument)) << negative;
    ASSERT_EQ(FieldViolationsOf(size.status()).size(), 1u);
    EXPECT_EQ(FieldViolationsOf(size.status())[0].field, "page_size");
  }
}

TEST(Limits, FilterLengthAndBatchSizeNameTheField) {
  EXPECT_THAT(CheckFilterLength(""), IsOk());
  EXPECT_THAT(CheckFilterLength(std::string(kMaxFilterLength, 'a')), IsOk());
  const absl::Status long_filter = CheckFilterLength(std::string(kMaxFilterLength + 1, 'a'));
  EXPECT_THAT(long_filter, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_EQ(FieldViolationsOf(long_filter)[0].field, "filter");
  EXPECT_EQ(FieldViolationsOf(CheckFilterLength(std::string(3000, ' '), "query"))[0].field,
            "query");
  EXPECT_THAT(CheckBatchSize(0, 10, "leads"), IsOk());
  EXPECT_THAT(CheckBatchSize(10, 10, "leads"), IsOk());
  const absl::Status batch = CheckBatchSize(11, 10, "leads");
  EXPECT_THAT(batch, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10")));
  EXPECT_EQ(FieldViolationsOf(batch)[0].field, "leads");
}

// The collecting forms add to the request's other violations instead of replacing them, and
// tell the caller whether to go on looking at the filter or the batch's items.
TEST(Limits, CollectingFormsAddEveryViolationToTheRequests) {
  FieldViolations bad;
  bad.Add("vendor_id", "is required");
  EXPECT_EQ(EffectivePageSize(-5, bad), kDefaultPageSize);
  EXPECT_FALSE(CheckFilterLength(std::string(kMaxFilterLength + 1, 'x'), "filter", bad));
  EXPECT_FALSE(CheckBatchSize(101, 100, "leads", bad));
  EXPECT_THAT(bad.violations(),
              ElementsAre(Field(&FieldViolation::field, "vendor_id"),
                          Field(&FieldViolation::field, "page_size"),
                          Field(&FieldViolation::field, "filter"),
                          Field(&FieldViolation::field, "leads")));

  FieldViolations fine;
  EXPECT_EQ(EffectivePageSize(0, fine), kDefaultPageSize);
  EXPECT_EQ(EffectivePageSize(600, fine), kMaxPageSize);
  EXPECT_TRUE(CheckFilterLength(std::string(kMaxFilterLength, 'x'), "filter", fine));
  EXPECT_TRUE(CheckBatchSize(100, 100, "leads", fine));
  EXPECT_TRUE(fine.empty());
}

}  // namespace
}  // namespace prm::server
