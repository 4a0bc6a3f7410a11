// The generated channel: the same seed gives the same channel, and it has what the
// demonstration promises (every partner type and region, two years of sales with a Q4 peak
// and lumpy big deals, competing registrations, requests of several kinds).

#include "tools/prm-demo/channel.h"

#include <map>
#include <set>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace prm::demo {
namespace {

ChannelOptions Options(uint64_t seed) {
  ChannelOptions o;
  o.seed = seed;
  o.run_id = "t";
  o.now = absl::FromCivil(absl::CivilDay(2026, 12, 2), absl::UTCTimeZone());
  return o;
}

TEST(Channel, SameSeedSameChannel) {
  const Channel a = Generate(Options(7)), b = Generate(Options(7)), c = Generate(Options(8));
  ASSERT_EQ(a.sales.size(), b.sales.size());
  for (size_t i = 0; i < a.sales.size(); ++i) {
    EXPECT_EQ(a.sales[i].units, b.sales[i].units);
    EXPECT_EQ(a.sales[i].time, b.sales[i].time);
  }
  EXPECT_EQ(a.partners[17].legal_name, b.partners[17].legal_name);
  EXPECT_NE(a.sales.size(), c.sales.size());
}

TEST(Channel, HasEveryTypeRegionAndTwoYearsOfSeasonalLumpySales) {
  const ChannelOptions options = Options(42);
  const Channel ch = Generate(options);
  std::set<int> types;
  std::set<std::string> regions, verticals;
  int both = 0;
  for (const PartnerSpec& p : ch.partners) {
    types.insert(p.type);
    regions.insert(p.region);
    verticals.insert(p.vertical);
    if (p.vendors.size() == 2) ++both;
  }
  EXPECT_EQ(types.size(), 9u);
  EXPECT_EQ(regions.size(), 4u);
  EXPECT_GE(verticals.size(), 5u);
  EXPECT_GT(both, 30);

  ASSERT_FALSE(ch.sales.empty());
  EXPECT_GE(options.now - ch.sales.front().time, absl::Hours(24 * 690));
  EXPECT_LE(ch.sales.back().time, options.now - absl::Hours(24));
  std::map<int, double> by_month;  // calendar month → revenue of the last complete year
  double year1 = 0, year2 = 0;
  int big = 0;
  for (const SaleSpec& s : ch.sales) {
    const absl::CivilMonth m = absl::ToCivilMonth(s.time, absl::UTCTimeZone());
    if (s.time < options.now - absl::Hours(24 * 365)) {
      year1 += static_cast<double>(s.units);
    } else {
      year2 += static_cast<double>(s.units);
      by_month[m.month()] += static_cast<double>(s.units);
    }
    if (s.big_deal) ++big;
  }
  EXPECT_GT(year2, year1) << "growth";
  EXPECT_GT(by_month[12], by_month[8]) << "Q4 peak over the summer dip";
  EXPECT_GT(big, 20) << "lumpy big deals";

  int competing = 0, won = 0;
  for (const DealSpec& d : ch.deals) {
    competing += d.competes;
    won += d.fate == DealSpec::Fate::kWon;
  }
  EXPECT_GT(competing, 5);
  EXPECT_GT(won, 20);
  std::set<int> kinds;
  for (const RequestSpec& r : ch.requests) kinds.insert(r.category);
  EXPECT_EQ(kinds.size(), 5u);
}

}  // namespace
}  // namespace prm::demo
