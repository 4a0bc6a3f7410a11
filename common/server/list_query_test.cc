#include "common/server/list_query.h"

#include <string>
#include <vector>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600);

struct Item {
  std::string name;
  int64_t rank;
  std::vector<std::string> tags;
  bool flag;
  absl::Time time;
};

bool Match(const ListFilter& f, const Item& item) {
  return f.Matches([&](absl::string_view field) -> std::vector<FilterValue> {
    if (field == "name") return {item.name};
    if (field == "rank") return {item.rank};
    if (field == "flag") return {item.flag};
    if (field == "time") return {item.time};
    if (field == "state") return {std::string("STATE_ACTIVE")};
    return {item.tags.begin(), item.tags.end()};
  });
}

const FilterSchema kSchema = {{"name", FilterFieldType::kString},
                              {"rank", FilterFieldType::kInt},
                              {"tags", FilterFieldType::kString},
                              {"flag", FilterFieldType::kBool},
                              {"time", FilterFieldType::kTime},
                              {"state", FilterFieldType::kEnum}};

TEST(ListFilter, ComparesEveryTypeWithAndOfOrs) {
  const Item item{"acme", 3, {"a", "b"}, true, kNow};
  auto parse = [](const char* text) {
    auto f = ListFilter::Parse(text, kSchema);
    EXPECT_TRUE(f.ok()) << text << ": " << f.status();
    return *f;
  };
  EXPECT_TRUE(Match(parse(""), item));
  EXPECT_TRUE(Match(parse("name = \"acme\" AND rank >= 3 AND flag = true"), item));
  EXPECT_FALSE(Match(parse("rank > 3"), item));
  EXPECT_TRUE(Match(parse("(rank > 3 OR name = \"acme\") AND state = STATE_ACTIVE"), item));
  EXPECT_TRUE(Match(parse("tags = \"b\""), item));
  EXPECT_FALSE(Match(parse("tags != \"b\""), item));
  EXPECT_TRUE(Match(parse("tags != \"c\""), item));
  EXPECT_TRUE(Match(parse("time >= \"2026-01-01\" AND time < \"2026-01-01T00:00:01Z\""), item));
  EXPECT_TRUE(Match(parse("(name = \"a \\\"quoted\\\" name\" OR rank = 3)"), item));
  EXPECT_FALSE(Match(parse("name = \"a \\\"quoted\\\" name\""), item));
}

TEST(ListFilter, TellsWhichFieldsItCompares) {
  auto filter = ListFilter::Parse("(rank > 3 OR name = \"acme\") AND flag = true", kSchema);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->Mentions("rank"));
  EXPECT_TRUE(filter->Mentions("name"));
  EXPECT_TRUE(filter->Mentions("flag"));
  EXPECT_FALSE(filter->Mentions("tags"));
  EXPECT_FALSE(ListFilter::Parse("", kSchema)->Mentions("rank"));
}

TEST(ListFilter, RejectsBadFiltersOnTheFilterField) {
  for (const char* bad : {"nope = 1", "rank = \"x\"", "name = acme", "rank =", "(rank = 1",
                          "rank = 1 OR rank = 2", "flag > true", "time = \"yesterday\"",
                          "name = \"unterminated", "rank = 1 AND", "state < X"}) {
    absl::StatusOr<ListFilter> f = ListFilter::Parse(bad, kSchema);
    EXPECT_THAT(f.status(), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    ASSERT_FALSE(FieldViolationsOf(f.status()).empty()) << bad;
    EXPECT_EQ(FieldViolationsOf(f.status())[0].field, "filter") << bad;
  }
  std::string many = "rank = 1";
  for (int i = 0; i < 20; ++i) many += " AND rank = 1";
  EXPECT_THAT(ListFilter::Parse(many, kSchema).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("20")));
}

TEST(Paginate, WalksEveryItemOnceInOrderAndBindsTokens) {
  std::vector<ListEntry> entries;
  for (int i = 0; i < 7; ++i) {
    entries.push_back({SortableNumber(i % 3), "id" + std::to_string(i), static_cast<size_t>(i)});
  }
  std::vector<size_t> seen;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    auto p = Paginate(entries, /*descending=*/true, 3, token, "fp", kNow);
    ASSERT_OK(p.status());
    seen.insert(seen.end(), p->indices.begin(), p->indices.end());
    token = p->next_page_token;
    if (token.empty()) break;
  }
  // rank 2 (ids 2, 5), rank 1 (1, 4), rank 0 (0, 3, 6); ties by id ascending.
  EXPECT_THAT(seen, ElementsAre(2, 5, 1, 4, 0, 3, 6));

  auto first = Paginate(entries, false, 3, "", "fp", kNow);
  ASSERT_OK(first.status());
  EXPECT_THAT(Paginate(entries, false, 3, first->next_page_token, "other", kNow).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(Paginate(entries, false, 3, first->next_page_token, "fp", kNow + absl::Hours(25))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Paginate(entries, false, 3, "%%%", "fp", kNow).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OrderBy, OneDocumentedFieldOptionallyDescending) {
  const std::vector<std::string> allowed = {"create_time", "display_name"};
  EXPECT_EQ(ParseOrderBy("", allowed, "create_time")->field, "create_time");
  auto o = ParseOrderBy("display_name desc", allowed, "create_time");
  ASSERT_OK(o.status());
  EXPECT_EQ(o->field, "display_name");
  EXPECT_TRUE(o->descending);
  EXPECT_THAT(ParseOrderBy("tax_id", allowed, "create_time").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseOrderBy("display_name asc", allowed, "create_time").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SortableNumber, OrdersAsNumbers) {
  EXPECT_LT(SortableNumber(-5), SortableNumber(-1));
  EXPECT_LT(SortableNumber(-1), SortableNumber(0));
  EXPECT_LT(SortableNumber(9), SortableNumber(10));
  EXPECT_LT(SortableTime(kNow), SortableTime(kNow + absl::Nanoseconds(1)));
}

}  // namespace
}  // namespace prm::server
