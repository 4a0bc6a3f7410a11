#include "services/forecast/domain/deal_book.h"

#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

absl::Time Day(int d) { return absl::FromUnixSeconds(1'767'225'600) + absl::Hours(24 * d); }

DealRecord Deal(std::string partner, std::optional<absl::Time> submit,
                DealRecord::Outcome outcome = DealRecord::Outcome::kOpen,
                std::optional<absl::Time> close = std::nullopt, int64_t won_units = 0) {
  return DealRecord{.vendor_id = "v1",
                    .partner_id = std::move(partner),
                    .submit_time = submit,
                    .outcome = outcome,
                    .close_time = close,
                    .won_currency = "USD",
                    .won_amount = {won_units, 0},
                    .categories = {"net"}};
}

TEST(DealBookTest, VelocityIsOpportunitiesTimesWinRateTimesSizeOverCycle) {
  DealBook book;
  using O = DealRecord::Outcome;
  // Four submitted in the window; two won (sizes 100 and 300, cycles 10 and 30 days), one lost,
  // one expired (lost), one open; one won deal of another partner.
  EXPECT_TRUE(book.Apply("d1", 1, Deal("p1", Day(0))));
  EXPECT_TRUE(book.Apply("d1", 2, Deal("p1", std::nullopt, O::kWon, Day(10), 100)));
  EXPECT_TRUE(book.Apply("d2", 5, Deal("p1", Day(1), O::kWon, Day(31), 300)));
  EXPECT_TRUE(book.Apply("d3", 1, Deal("p1", Day(2), O::kLost, Day(5))));
  EXPECT_TRUE(book.Apply("d4", 1, Deal("p1", Day(3), O::kLost, Day(40))));
  EXPECT_TRUE(book.Apply("d5", 1, Deal("p2", Day(3), O::kWon, Day(4), 1000)));
  EXPECT_FALSE(book.Apply("d3", 1, Deal("p1", Day(2))));  // stale

  const std::set<std::string> p1 = {"p1"};
  VelocityParts v = book.Velocity("v1", p1, Day(0), Day(60), "USD", nullptr);
  EXPECT_EQ(v.opportunities, 4);
  EXPECT_EQ(v.won, 2);
  EXPECT_EQ(v.lost, 2);
  EXPECT_DOUBLE_EQ(v.win_rate, 0.5);
  EXPECT_DOUBLE_EQ(v.average_deal_size, 200);
  EXPECT_EQ(v.average_sales_cycle, absl::Hours(24 * 20));
  EXPECT_DOUBLE_EQ(v.velocity_per_day, 4 * 0.5 * 200 / 20.0);
  EXPECT_EQ(v.won_by_category.at("net"), 2);

  EXPECT_TRUE(book.Remove("v1", "d2", 6));
  EXPECT_EQ(book.Velocity("v1", p1, Day(0), Day(60), "USD", nullptr).won, 1);
  EXPECT_EQ(book.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr).won, 2);
}

TEST(DealBookTest, ACycleShorterThanADayCountsAsOneDayInVelocity) {
  using O = DealRecord::Outcome;
  // Two opportunities, one won (size 500), one lost: win rate 0.5.
  auto velocity_with_cycle = [](absl::Duration cycle) {
    DealBook book;
    book.Apply("d1", 1, Deal("p1", Day(1), O::kWon, Day(1) + cycle, 500));
    book.Apply("d2", 1, Deal("p1", Day(2), O::kLost, Day(3)));
    return book.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr);
  };
  VelocityParts four_seconds = velocity_with_cycle(absl::Seconds(4));
  EXPECT_EQ(four_seconds.average_sales_cycle, absl::Seconds(4));  // reported exactly
  EXPECT_DOUBLE_EQ(four_seconds.velocity_per_day, 2 * 0.5 * 500 / 1.0);

  VelocityParts one_day = velocity_with_cycle(absl::Hours(24));
  EXPECT_EQ(one_day.average_sales_cycle, absl::Hours(24));
  EXPECT_DOUBLE_EQ(four_seconds.velocity_per_day, one_day.velocity_per_day);

  VelocityParts same_instant = velocity_with_cycle(absl::ZeroDuration());
  EXPECT_EQ(same_instant.average_sales_cycle, absl::ZeroDuration());
  EXPECT_DOUBLE_EQ(same_instant.velocity_per_day, 500);

  VelocityParts half_day = velocity_with_cycle(absl::Hours(12));
  EXPECT_DOUBLE_EQ(half_day.velocity_per_day, 500);
}

TEST(DealBookTest, ACycleOfSeveralDaysIsUsedAsIs) {
  using O = DealRecord::Outcome;
  DealBook book;
  book.Apply("d1", 1, Deal("p1", Day(1), O::kWon, Day(4), 600));
  book.Apply("d2", 1, Deal("p1", Day(2), O::kLost, Day(3)));
  VelocityParts v = book.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr);
  EXPECT_EQ(v.average_sales_cycle, absl::Hours(72));
  EXPECT_DOUBLE_EQ(v.velocity_per_day, 2 * 0.5 * 600 / 3.0);

  // A day and a half is not rounded either.
  DealBook longer;
  longer.Apply("d1", 1, Deal("p1", Day(1), O::kWon, Day(2) + absl::Hours(12), 600));
  longer.Apply("d2", 1, Deal("p1", Day(2), O::kLost, Day(3)));
  EXPECT_DOUBLE_EQ(
      longer.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr).velocity_per_day,
      2 * 0.5 * 600 / 1.5);
}

TEST(DealBookTest, WonDealsWithoutAKnownSubmissionGiveNoCycleAndZeroVelocity) {
  DealBook book;
  book.Apply("d1", 1, Deal("p1", std::nullopt, DealRecord::Outcome::kWon, Day(4), 600));
  book.Apply("d2", 1, Deal("p1", Day(2)));
  VelocityParts v = book.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr);
  EXPECT_EQ(v.won, 1);
  EXPECT_EQ(v.average_sales_cycle, absl::ZeroDuration());
  EXPECT_EQ(v.velocity_per_day, 0);
}

TEST(DealBookTest, NothingClosedMeansZeroVelocity) {
  DealBook book;
  book.Apply("d1", 1, Deal("p1", Day(0)));
  VelocityParts v = book.Velocity("v1", std::nullopt, Day(0), Day(60), "USD", nullptr);
  EXPECT_EQ(v.opportunities, 1);
  EXPECT_EQ(v.win_rate, 0);
  EXPECT_EQ(v.velocity_per_day, 0);
}

}  // namespace
}  // namespace prm::forecast
