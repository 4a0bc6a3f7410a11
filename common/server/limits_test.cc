#include "common/server/limits.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/status/field_violations.h"
#include "google/protobuf/struct.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::UnorderedElementsAre;

TEST(Limits, PageSizeDefaultsClampsAndRefusesNegative) {
  for (auto [requested, expected] : std::vector<std::pair<int32_t, int32_t>>{
           {0, kDefaultPageSize},
           {7, 7},
           {kMaxPageSize, kMaxPageSize},
           {kMaxPageSize + 1, kMaxPageSize},
           {100000, kMaxPageSize},
           {std::numeric_limits<int32_t>::max(), kMaxPageSize}}) {
    FieldViolations bad;
    EXPECT_EQ(EffectivePageSize(requested, bad), expected) << requested;
    EXPECT_TRUE(bad.empty()) << requested;
  }
  for (int32_t negative : {-1, std::numeric_limits<int32_t>::min()}) {
    FieldViolations bad;
    EffectivePageSize(negative, bad);
    EXPECT_THAT(bad.violations(), ElementsAre(Field(&FieldViolation::field, "page_size")))
        << negative;
  }
}

TEST(Limits, FilterLengthAndBatchSizeNameTheFieldAndTheLimit) {
  FieldViolations bad;
  EXPECT_TRUE(CheckFilterLength("", "filter", bad));
  EXPECT_TRUE(CheckFilterLength(std::string(kMaxFilterLength, 'a'), "filter", bad));
  EXPECT_FALSE(CheckFilterLength(std::string(3000, ' '), "query", bad));
  EXPECT_TRUE(CheckBatchSize(0, 10, "leads", bad));
  EXPECT_TRUE(CheckBatchSize(10, 10, "leads", bad));
  EXPECT_FALSE(CheckBatchSize(11, 10, "leads", bad));
  EXPECT_THAT(bad.violations(),
              ElementsAre(AllOf(Field(&FieldViolation::field, "query"),
                                Field(&FieldViolation::description, HasSubstr("2048"))),
                          AllOf(Field(&FieldViolation::field, "leads"),
                                Field(&FieldViolation::description, HasSubstr("10")))));
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

// Every string of a request is bounded, at any depth: nested and repeated messages, repeated
// strings and map keys and values, each named by its path.
TEST(Limits, StringLengthsAreCheckedAtAnyDepthAndNamedByPath) {
  const std::string longest(kMaxStringBytes, 'x');
  const std::string too_long(kMaxStringBytes + 1, 'x');

  google::rpc::BadRequest nested;
  nested.add_field_violations()->set_field(longest);
  nested.add_field_violations()->set_description(too_long);
  FieldViolations bad;
  CheckStringLengths(nested, bad);
  EXPECT_THAT(bad.violations(),
              ElementsAre(AllOf(Field(&FieldViolation::field, "field_violations[1].description"),
                                Field(&FieldViolation::description, HasSubstr("16385")))));

  google::protobuf::Struct map;
  (*map.mutable_fields())["region"].set_string_value(too_long);
  (*map.mutable_fields())["fine"].set_string_value(longest);
  (*map.mutable_fields())[too_long].set_bool_value(true);
  (*map.mutable_fields())["list"].mutable_list_value()->add_values()->set_string_value(too_long);
  FieldViolations map_bad;
  CheckStringLengths(map, map_bad);
  std::vector<std::string> fields;
  for (const FieldViolation& v : map_bad.violations()) fields.push_back(v.field);
  // A key too long to name its entry is named by the entry's position.
  EXPECT_THAT(fields, UnorderedElementsAre("fields[region].string_value",
                                           MatchesRegex(R"(fields\[[0-9]+\]\.key)"),
                                           "fields[list].list_value.values[0].string_value"));
}

}  // namespace
}  // namespace prm::server
