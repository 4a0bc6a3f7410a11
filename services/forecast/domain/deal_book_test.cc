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
