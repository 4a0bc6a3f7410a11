#include "services/forecast/domain/forecast_book.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ForecastBookTest, MarksGatherPerVendorUntilTakenAndEveryChangeBumpsTheGeneration) {
  ForecastBook book;
  EXPECT_EQ(book.Generation("v1"), 0);
  book.MarkPartner("v1", "p1");
  book.MarkPartner("v1", "p2");
  book.MarkPartner("v1", "");  // an unowned account: the vendor total only
  book.MarkPartner("v2", "p9");
  EXPECT_EQ(book.Generation("v1"), 3);
  auto stale = book.TakeStale();
  ASSERT_EQ(stale.size(), 2u);
  EXPECT_FALSE(stale["v1"].every_series);
  EXPECT_THAT(stale["v1"].partners, ElementsAre("p1", "p2"));
  EXPECT_EQ(stale["v1"].generation, 3);
  EXPECT_THAT(stale["v2"].partners, ElementsAre("p9"));
  EXPECT_THAT(book.TakeStale(), IsEmpty());

  // A vendor-wide change covers the partners' marks, before and after it.
  book.MarkPartner("v1", "p1");
  EXPECT_FALSE(book.EverySeriesStale("v1"));
  book.MarkVendor("v1");
  EXPECT_TRUE(book.EverySeriesStale("v1"));
  book.MarkPartner("v1", "p3");
  stale = book.TakeStale();
  EXPECT_TRUE(stale["v1"].every_series);
  EXPECT_THAT(stale["v1"].partners, IsEmpty());
  EXPECT_EQ(stale["v1"].generation, 6);
  EXPECT_FALSE(book.EverySeriesStale("v1"));  // taken
}

TEST(ForecastBookTest, WithPatienceAVendorIsTakenOnceItsChangesSettleOrAfterThatManyRounds) {
  ForecastBook book;
  book.MarkPartner("v1", "p1");
  EXPECT_THAT(book.TakeStale(2), IsEmpty());  // first look: waits a round
  auto stale = book.TakeStale(2);             // nothing new since: settled
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_THAT(stale["v1"].partners, ElementsAre("p1"));
  EXPECT_EQ(stale["v1"].generation, 1);

  // Changes arriving every round: passed over twice, then taken with every mark so far.
  book.MarkPartner("v1", "p1");
  EXPECT_THAT(book.TakeStale(2), IsEmpty());  // first look
  book.MarkPartner("v1", "p2");
  EXPECT_THAT(book.TakeStale(2), IsEmpty());  // moved: round 1
  book.MarkPartner("v1", "p3");
  EXPECT_THAT(book.TakeStale(2), IsEmpty());  // moved: round 2
  book.MarkPartner("v1", "p4");
  stale = book.TakeStale(2);  // moved, but patience is spent
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_THAT(stale["v1"].partners, ElementsAre("p1", "p2", "p3", "p4"));
  EXPECT_EQ(stale["v1"].generation, 5);
  EXPECT_THAT(book.TakeStale(2), IsEmpty());

  // Without patience, every vendor with marks at once.
  book.MarkVendor("v2");
  EXPECT_EQ(book.TakeStale().size(), 1u);
}

TEST(ForecastBookTest, AnUnchangedForecastIsNotPublishedAgainAndVersionsOnlyIncrease) {
  ForecastBook book;
  const std::pair<std::string, int> week{"v1/VENDOR/-/*/SELL_IN", 1};
  const std::pair<std::string, int> month{"v1/VENDOR/-/*/SELL_IN", 2};
  EXPECT_EQ(book.NextVersion(week, 42), 1);
  book.Published(week, 1, 42);
  EXPECT_EQ(book.NextVersion(week, 42), std::nullopt);
  EXPECT_EQ(book.NextVersion(week, 43), 2);
  EXPECT_EQ(book.NextVersion(month, 42), 1);  // each granularity on its own
  book.Published(week, 2, 43);
  book.Published(week, 1, 41);  // an older record never lowers the version
  EXPECT_EQ(book.NextVersion(week, 40), 3);
}

}  // namespace
}  // namespace prm::forecast
