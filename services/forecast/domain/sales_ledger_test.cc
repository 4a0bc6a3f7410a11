#include "services/forecast/domain/sales_ledger.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/forecast/domain/partner_accounts.h"
#include "services/forecast/domain/series_forecast.h"

// Debian's Abseil has no status macros for tests; this one asserts and unwraps.
#define FORECAST_CONCAT_INNER_(a, b) a##b
#define FORECAST_CONCAT_(a, b) FORECAST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(FORECAST_CONCAT_(statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();      \
  lhs = std::move(*statusor)

namespace prm::forecast {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

absl::Time Utc(int y, int m, int d, int hh = 12) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, 0, 0), absl::UTCTimeZone());
}

Sale MakeSale(std::string document, absl::Time time, std::vector<SaleLine> lines,
              SaleKind kind = SaleKind::kSellIn, std::string partner = "p1") {
  return Sale{.vendor_id = "v1",
              .erp_system_id = "sap",
              .partner_external_id = std::move(partner),
              .document_id = std::move(document),
              .kind = kind,
              .currency_code = "USD",
              .sale_time = time,
              .lines = std::move(lines)};
}

SaleLine Line(std::string category, int64_t units, int32_t nanos = 0) {
  return SaleLine{.product_category = std::move(category), .quantity = 1, .amount = {units, nanos}};
}

std::vector<double> Values(const SeriesHistory& h) {
  std::vector<double> v;
  for (const auto& p : h.periods) v.push_back(p.amount.ToDouble());
  return v;
}

class SalesLedgerTest : public ::testing::Test {
 protected:
  FakeClock clock_{Utc(2026, 3, 1)};
  SalesLedger ledger_{clock_};
  SeriesSelector all_{.vendor_id = "v1", .currency_code = "USD"};
};

TEST(AmountTest, AddsExactlyWithNanosCarryAndSign) {
  EXPECT_EQ((Amount{1, 600'000'000} + Amount{2, 500'000'000}), (Amount{4, 100'000'000}));
  EXPECT_EQ((Amount{1, 0} + -Amount{1, 500'000'000}), (Amount{0, -500'000'000}));
  EXPECT_EQ((Amount{-3, -200'000'000} + Amount{5, 0}), (Amount{1, 800'000'000}));
  EXPECT_EQ(Amount::FromDouble(-12.25), (Amount{-12, -250'000'000}));
}

TEST_F(SalesLedgerTest, BucketsByIsoWeekAndCalendarMonthPerPartnerAndCategory) {
  // 2026-01-05 is a Monday; 2026-01-11 the Sunday of the same ISO week.
  ASSERT_OK(ledger_.Record(MakeSale("d1", Utc(2026, 1, 5), {Line("net", 100), Line("sec", 7)})));
  ASSERT_OK(ledger_.Record(MakeSale("d2", Utc(2026, 1, 11, 23), {Line("net", 20)})));
  ASSERT_OK(ledger_.Record(MakeSale("d3", Utc(2026, 1, 12), {Line("net", 5)}, SaleKind::kSellIn,
                                    "p2")));
  ASSERT_OK(ledger_.Record(MakeSale("d4", Utc(2026, 2, 2), {Line("net", 1, 500'000'000)})));

  SeriesSelector p1_net{.vendor_id = "v1",
                        .accounts = std::set<std::string>{AccountKey("sap", "p1")},
                        .product_category = "net",
                        .currency_code = "USD"};
  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(p1_net, Granularity::kWeek));
  EXPECT_THAT(Values(weeks), ElementsAre(120, 0, 0, 0, 1.5));
  EXPECT_EQ(weeks.periods[0].start, absl::CivilDay(2026, 1, 5));
  EXPECT_EQ(weeks.periods[0].end, absl::CivilDay(2026, 1, 11));
  EXPECT_EQ(weeks.data_through, Utc(2026, 2, 2));

  ASSERT_OK_AND_ASSIGN(SeriesHistory months, ledger_.Series(all_, Granularity::kMonth));
  EXPECT_THAT(Values(months), ElementsAre(132, 1.5));
  EXPECT_EQ(months.periods[1].start, absl::CivilDay(2026, 2, 1));
  EXPECT_EQ(months.periods[1].end, absl::CivilDay(2026, 2, 28));

  // p2 sold once, in week 2; its series still runs to the vendor's latest sale.
  SeriesSelector p2{.vendor_id = "v1",
                    .accounts = std::set<std::string>{AccountKey("sap", "p2")},
                    .currency_code = "USD"};
  ASSERT_OK_AND_ASSIGN(SeriesHistory p2_weeks, ledger_.Series(p2, Granularity::kWeek));
  EXPECT_THAT(Values(p2_weeks), ElementsAre(5, 0, 0, 0));
}

TEST_F(SalesLedgerTest, ReturnSubtractsFromTheFlowItReverses) {
  ASSERT_OK(ledger_.Record(MakeSale("inv", Utc(2026, 1, 5), {Line("net", 150)})));
  Sale ret = MakeSale("cn", Utc(2026, 1, 6), {Line("net", 50)}, SaleKind::kReturn);
  ASSERT_OK(ledger_.Record(ret));
  Sale st = MakeSale("st", Utc(2026, 1, 7), {Line("net", 80)}, SaleKind::kSellThrough);
  ASSERT_OK(ledger_.Record(st));
  Sale st_ret = MakeSale("st-cn", Utc(2026, 1, 8), {Line("net", 30)}, SaleKind::kReturn);
  st_ret.returned_measure = Measure::kSellThrough;
  ASSERT_OK(ledger_.Record(st_ret));

  ASSERT_OK_AND_ASSIGN(SeriesHistory sell_in, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_THAT(Values(sell_in), ElementsAre(100));
  SeriesSelector through = all_;
  through.measure = Measure::kSellThrough;
  ASSERT_OK_AND_ASSIGN(SeriesHistory sell_through, ledger_.Series(through, Granularity::kWeek));
  EXPECT_THAT(Values(sell_through), ElementsAre(50));
}

TEST_F(SalesLedgerTest, DuplicateDocumentChangesNothingWhateverItsLines) {
  ASSERT_OK_AND_ASSIGN(bool first,
                       ledger_.Record(MakeSale("d1", Utc(2026, 1, 5), {Line("net", 10)})));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool again,
                       ledger_.Record(MakeSale("d1", Utc(2026, 1, 20), {Line("net", 99)})));
  EXPECT_FALSE(again);
  // The same number in another ERP system is another document.
  Sale other = MakeSale("d1", Utc(2026, 1, 5), {Line("net", 1)});
  other.erp_system_id = "oracle";
  ASSERT_OK_AND_ASSIGN(bool other_recorded, ledger_.Record(other));
  EXPECT_TRUE(other_recorded);

  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_THAT(Values(weeks), ElementsAre(11));
  EXPECT_EQ(ledger_.document_count(), 2);
}

TEST_F(SalesLedgerTest, LateAndOutOfOrderDocumentsLandInTheirBuckets) {
  ASSERT_OK(ledger_.Record(MakeSale("c", Utc(2026, 1, 19), {Line("net", 3)})));
  ASSERT_OK(ledger_.Record(MakeSale("a", Utc(2026, 1, 5), {Line("net", 1)})));
  ASSERT_OK(ledger_.Record(MakeSale("b", Utc(2026, 1, 13), {Line("net", 2)})));
  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_THAT(Values(weeks), ElementsAre(1, 2, 3));
}

TEST_F(SalesLedgerTest, SalesYearsApartInAnyOrderLandInTheirBuckets) {
  // The middle sale comes first, then one years earlier, one later and one beside the first.
  ASSERT_OK(ledger_.Record(MakeSale("mid", Utc(2024, 6, 12), {Line("net", 2)})));
  ASSERT_OK(ledger_.Record(MakeSale("early", Utc(2021, 2, 3), {Line("net", 1)})));
  ASSERT_OK(ledger_.Record(MakeSale("late", Utc(2026, 2, 25), {Line("net", 4)})));
  ASSERT_OK(ledger_.Record(MakeSale("early-2", Utc(2021, 2, 4), {Line("net", 10)})));

  ASSERT_OK_AND_ASSIGN(SeriesHistory months, ledger_.Series(all_, Granularity::kMonth));
  ASSERT_EQ(months.periods.size(), 61u);  // 2021-02 .. 2026-02, through the latest sale
  EXPECT_EQ(months.periods.front().start, absl::CivilDay(2021, 2, 1));
  EXPECT_EQ(months.periods.front().amount, (Amount{11, 0}));
  EXPECT_EQ(months.periods[40].start, absl::CivilDay(2024, 6, 1));
  EXPECT_EQ(months.periods[40].amount, (Amount{2, 0}));
  EXPECT_EQ(months.periods[60].amount, (Amount{4, 0}));
  double total = 0;
  for (double v : Values(months)) total += v;
  EXPECT_EQ(total, 17);

  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_EQ(weeks.periods.front().start, absl::CivilDay(2021, 2, 1));  // the Monday
  EXPECT_EQ(weeks.periods.front().amount, (Amount{11, 0}));
  EXPECT_EQ(weeks.periods.back().start, absl::CivilDay(2026, 2, 23));
  EXPECT_EQ(weeks.periods.back().amount, (Amount{4, 0}));
}

TEST_F(SalesLedgerTest, ASaleAndItsFullReturnAreASeriesOfZeros) {
  ASSERT_OK(ledger_.Record(MakeSale("inv", Utc(2026, 1, 5), {Line("net", 150)})));
  ASSERT_OK(ledger_.Record(MakeSale("cn", Utc(2026, 1, 6), {Line("net", 150)},
                                    SaleKind::kReturn)));
  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_THAT(Values(weeks), ElementsAre(0));
  ASSERT_OK_AND_ASSIGN(SeriesHistory months, ledger_.Series(all_, Granularity::kMonth));
  EXPECT_THAT(Values(months), ElementsAre(0));
}

TEST_F(SalesLedgerTest, FiscalQuartersFollowTheStartMonth) {
  ASSERT_OK(ledger_.Record(MakeSale("a", Utc(2025, 1, 15), {Line("net", 1)})));
  ASSERT_OK(ledger_.Record(MakeSale("b", Utc(2025, 2, 15), {Line("net", 2)})));
  ASSERT_OK(ledger_.Record(MakeSale("c", Utc(2025, 4, 15), {Line("net", 4)})));
  ASSERT_OK_AND_ASSIGN(SeriesHistory calendar, ledger_.Series(all_, Granularity::kQuarter, 1));
  EXPECT_THAT(Values(calendar), ElementsAre(3, 4));
  // Fiscal year from February: Feb–Apr is one quarter, January the end of the previous one.
  ASSERT_OK_AND_ASSIGN(SeriesHistory fiscal, ledger_.Series(all_, Granularity::kQuarter, 2));
  EXPECT_THAT(Values(fiscal), ElementsAre(1, 6));
  EXPECT_EQ(fiscal.periods[0].start, absl::CivilDay(2024, 11, 1));
  EXPECT_EQ(fiscal.periods[1].end, absl::CivilDay(2025, 4, 30));
}

TEST_F(SalesLedgerTest, InvalidSaleNamesEveryBadFieldAndChangesNothing) {
  Sale bad = MakeSale("", Utc(2026, 4, 1), {Line("", 5), Line("net", -1)});
  bad.vendor_id = "";
  bad.currency_code = "usd";
  bad.lines[0].quantity = 0;
  EXPECT_THAT(ledger_.Record(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(ledger_.Record(bad).status())) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("vendor_id", "erp_document_id", "currency_code",
                                           "sale_time", "lines[0].product_category",
                                           "lines[0].quantity", "lines[1].amount"));
  EXPECT_EQ(ledger_.document_count(), 0);
  EXPECT_THAT(ledger_.Series(all_, Granularity::kWeek).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SalesLedgerTest, OtherCurrenciesAreConvertedDayByDayOrLeftOutWithoutARate) {
  ASSERT_OK(ledger_.Record(MakeSale("usd", Utc(2026, 1, 5), {Line("net", 10)})));
  Sale eur1 = MakeSale("eur-1", Utc(2026, 1, 6), {Line("net", 100)});
  eur1.currency_code = "EUR";
  Sale eur2 = MakeSale("eur-2", Utc(2026, 1, 12), {Line("net", 100)});
  eur2.currency_code = "EUR";
  ASSERT_OK(ledger_.Record(eur1));
  ASSERT_OK(ledger_.Record(eur2));
  // Without rates only the reporting currency counts.
  ASSERT_OK_AND_ASSIGN(SeriesHistory plain, ledger_.Series(all_, Granularity::kWeek));
  EXPECT_THAT(Values(plain), ElementsAre(10, 0));
  // EUR is 1.5 from 2026-01-10 on, unknown before: the first EUR sale is left out.
  RateLookup rates = [](const std::string& currency,
                        absl::CivilDay day) -> std::optional<double> {
    if (currency == "EUR" && day >= absl::CivilDay(2026, 1, 10)) return 1.5;
    return std::nullopt;
  };
  ASSERT_OK_AND_ASSIGN(SeriesHistory converted,
                       ledger_.Series(all_, Granularity::kWeek, 1, rates));
  EXPECT_THAT(Values(converted), ElementsAre(10, 150));
  auto mix = ledger_.Mix(all_, Utc(2026, 1, 1), Utc(2026, 2, 1), rates);
  ASSERT_EQ(mix.size(), 1u);
  EXPECT_EQ(mix[0].amount, (Amount{160, 0}));
}

TEST(SumForecastsTest, ParentIsTheSumOfItsChildrenWithRootSumOfSquaresBounds) {
  Forecast a{.mean = {10, 20}, .lower80 = {7, 16}, .upper80 = {13, 24},
             .lower95 = {5, 14}, .upper95 = {15, 26}};
  Forecast b{.mean = {1, 2}, .lower80 = {-3, 2}, .upper80 = {5, 2},
             .lower95 = {-5, 2}, .upper95 = {7, 2}};
  ASSERT_OK_AND_ASSIGN(Forecast sum, SumForecasts({a, b}));
  EXPECT_THAT(sum.mean, ElementsAre(11, 22));
  EXPECT_DOUBLE_EQ(sum.lower80[0], 11 - 5);  // sqrt(3² + 4²)
  EXPECT_DOUBLE_EQ(sum.upper95[0], 11 + std::sqrt(25.0 + 36.0));
  EXPECT_DOUBLE_EQ(sum.upper80[1], 22 + 4);
  Forecast short_child{.mean = {1}, .lower80 = {1}, .upper80 = {1}, .lower95 = {1},
                       .upper95 = {1}};
  EXPECT_THAT(SumForecasts({a, short_child}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PartnerAccountsTest, SnapshotsMapAccountsNewestVersionWins) {
  PartnerAccounts accounts;
  EXPECT_TRUE(accounts.Set("partner-1", 1, {{"v1", "sap", "a1"}, {"v2", "sap", "a1"}}));
  EXPECT_THAT(accounts.AccountKeys("v1", "partner-1"),
              UnorderedElementsAre(AccountKey("sap", "a1")));
  // A redelivered or older snapshot changes nothing.
  EXPECT_FALSE(accounts.Set("partner-1", 1, {}));
  EXPECT_EQ(accounts.AccountKeys("v1", "partner-1").size(), 1u);
  // The account moves to another partner.
  EXPECT_TRUE(accounts.Set("partner-2", 1, {{"v1", "sap", "a1"}}));
  EXPECT_TRUE(accounts.AccountKeys("v1", "partner-1").empty());
  EXPECT_EQ(accounts.AccountKeys("v2", "partner-1").size(), 1u);
  EXPECT_TRUE(accounts.Remove("partner-2", 2));
  EXPECT_TRUE(accounts.AccountKeys("v1", "partner-2").empty());
  EXPECT_FALSE(accounts.Set("partner-2", 2, {{"v1", "sap", "a1"}}));
}

TEST(PartnerAccountsTest, SegmentsMatchTypeTierRegionAndVertical) {
  PartnerAccounts accounts;
  accounts.Set("a", 1, {{"v1", "sap", "1"}}, {.partner_type = 2, .region = "EMEA", .vertical = ""});
  accounts.Set("b", 1, {{"v1", "sap", "2"}}, {.partner_type = 2, .region = "EMEA",
                                               .vertical = "health"});
  accounts.Set("c", 1, {{"v2", "sap", "3"}}, {.partner_type = 2, .region = "EMEA"});
  EXPECT_TRUE(accounts.SetTier("v1", "a", 3, "silver", "gold", Utc(2026, 2, 1)));
  EXPECT_FALSE(accounts.SetTier("v1", "a", 3, "silver", "gold", Utc(2026, 2, 1)));  // again
  EXPECT_THAT(accounts.PartnersInSegment("v1", {.partner_type = 2}), ElementsAre("a", "b"));
  EXPECT_THAT(accounts.PartnersInSegment("v1", {.tier_id = "gold"}), ElementsAre("a"));
  EXPECT_THAT(accounts.PartnersInSegment("v1", {.tier_id = "-"}), ElementsAre("b"));
  EXPECT_THAT(accounts.PartnersInSegment("v1", {.vertical = "-"}), ElementsAre("a"));
  EXPECT_TRUE(accounts.PartnersInSegment("v1", {.region = "APAC"}).empty());
  EXPECT_EQ(accounts.TypeAndTier("v1", "a"), (std::pair<int, std::string>{2, "gold"}));
  // Partner a was silver before the change: that segment is listed with a's days in it, no one
  // in it now.
  auto segments = accounts.Segments("v1");
  ASSERT_EQ(segments.size(), 3u);
  const auto& gold = segments[{2, "gold", "EMEA", "-"}];
  EXPECT_THAT(gold.current, ElementsAre("a"));
  EXPECT_EQ(gold.days.at("a"), (DaySpans{{absl::CivilDay(2026, 2, 1), kEndDay}}));
  const auto& silver = segments[{2, "silver", "EMEA", "-"}];
  EXPECT_TRUE(silver.current.empty());
  EXPECT_EQ(silver.days.at("a"), (DaySpans{{kFirstDay, absl::CivilDay(2026, 2, 1)}}));
  EXPECT_THAT(segments[(PartnerAccounts::SegmentKey{2, "-", "EMEA", "health"})].current,
              ElementsAre("b"));
}

TEST(PartnerAccountsTest, TierTimelineOrdersChangesByVersionWhateverTheirArrival) {
  PartnerAccounts accounts;
  accounts.Set("a", 1, {{"v1", "sap", "1"}});
  EXPECT_EQ(accounts.TierTimeline("v1", "a"),
            (std::vector<std::pair<absl::CivilDay, std::string>>{{kFirstDay, ""}}));
  // Version 4 arrives before version 2; a partner held the first change's "from" tier before it.
  EXPECT_TRUE(accounts.SetTier("v1", "a", 4, "silver", "gold", Utc(2026, 3, 10)));
  EXPECT_TRUE(accounts.SetTier("v1", "a", 2, "registered", "silver", Utc(2026, 1, 20)));
  // Two changes on one day: the later version holds that day. Back to gold: one entry.
  EXPECT_TRUE(accounts.SetTier("v1", "a", 5, "gold", "platinum", Utc(2026, 4, 2, 8)));
  EXPECT_TRUE(accounts.SetTier("v1", "a", 6, "platinum", "gold", Utc(2026, 4, 2, 20)));
  EXPECT_EQ(accounts.TierTimeline("v1", "a"),
            (std::vector<std::pair<absl::CivilDay, std::string>>{
                {kFirstDay, "registered"},
                {absl::CivilDay(2026, 1, 20), "silver"},
                {absl::CivilDay(2026, 3, 10), "gold"}}));
  EXPECT_EQ(accounts.TypeAndTier("v1", "a").second, "gold");
  // Another vendor's tier is its own.
  EXPECT_EQ(accounts.TierTimeline("v2", "a").size(), 1u);
  EXPECT_THAT(accounts.PartnerDaysInSegment("v1", {.tier_id = "silver"}),
              ElementsAre(std::pair<const std::string, DaySpans>{
                  "a", {{absl::CivilDay(2026, 1, 20), absl::CivilDay(2026, 3, 10)}}}));
  EXPECT_EQ(accounts.PartnerDaysInSegment("v1", {}).at("a"), (DaySpans{{kFirstDay, kEndDay}}));
  EXPECT_TRUE(accounts.PartnerDaysInSegment("v1", {.tier_id = "platinum"}).empty());
}

TEST_F(SalesLedgerTest, AnAccountCountsOnlyOnItsSelectedDays) {
  // A partner silver until 2026-01-14, gold from 2026-01-15 (a Thursday): the week of the
  // change splits between the two tiers' series, and the two add up to the partner's.
  ASSERT_OK(ledger_.Record(MakeSale("d1", Utc(2026, 1, 5), {Line("net", 100)})));
  ASSERT_OK(ledger_.Record(MakeSale("d2", Utc(2026, 1, 13), {Line("net", 20)})));
  ASSERT_OK(ledger_.Record(MakeSale("d3", Utc(2026, 1, 15), {Line("net", 7)})));
  ASSERT_OK(ledger_.Record(MakeSale("d4", Utc(2026, 2, 2), {Line("net", 1)})));
  const std::string account = AccountKey("sap", "p1");
  const absl::CivilDay change(2026, 1, 15);
  SeriesSelector silver = all_;
  silver.accounts = std::set<std::string>{account};
  silver.only_on_days[account] = {{kFirstDay, change}};
  SeriesSelector gold = silver;
  gold.only_on_days[account] = {{change, kEndDay}};
  ASSERT_OK_AND_ASSIGN(SeriesHistory silver_weeks, ledger_.Series(silver, Granularity::kWeek));
  // Through the vendor's latest sale, as every series.
  EXPECT_THAT(Values(silver_weeks), ElementsAre(100, 20, 0, 0, 0));
  // Known to the day: the end of the last selected day with a sale.
  EXPECT_EQ(silver_weeks.data_through,
            absl::FromCivil(absl::CivilDay(2026, 1, 14), absl::UTCTimeZone()) -
                absl::Nanoseconds(1));
  ASSERT_OK_AND_ASSIGN(SeriesHistory gold_weeks, ledger_.Series(gold, Granularity::kWeek));
  EXPECT_EQ(gold_weeks.periods.front().start, absl::CivilDay(2026, 1, 12));
  EXPECT_THAT(Values(gold_weeks), ElementsAre(7, 0, 0, 1));
  EXPECT_EQ(gold_weeks.data_through, Utc(2026, 2, 2));
  ASSERT_OK_AND_ASSIGN(SeriesHistory gold_months, ledger_.Series(gold, Granularity::kMonth));
  EXPECT_THAT(Values(gold_months), ElementsAre(7, 1));
  auto mix = ledger_.Mix(silver, Utc(2026, 1, 1), Utc(2026, 3, 1));
  ASSERT_EQ(mix.size(), 1u);
  EXPECT_EQ(mix[0].amount, (Amount{120, 0}));
  // Converted day by day too: only the selected days.
  SeriesSelector gold_eur = gold;
  gold_eur.currency_code = "EUR";
  RateLookup half = [](const std::string&, absl::CivilDay) { return 0.5; };
  ASSERT_OK_AND_ASSIGN(SeriesHistory eur,
                       ledger_.Series(gold_eur, Granularity::kMonth, 1, half));
  EXPECT_THAT(Values(eur), ElementsAre(3.5, 0.5));
  // No selected day with sales: nothing to forecast.
  gold.only_on_days[account] = {{absl::CivilDay(2026, 1, 16), absl::CivilDay(2026, 2, 1)}};
  EXPECT_THAT(ledger_.Series(gold, Granularity::kWeek).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(UtcDayTest, AgreesWithTheTimeZoneLookup) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  for (absl::Time t :
       {absl::UnixEpoch(), absl::UnixEpoch() - absl::Nanoseconds(1),
        absl::UnixEpoch() - absl::Hours(24), absl::UnixEpoch() - absl::Hours(24) - absl::Seconds(1),
        absl::FromCivil(absl::CivilSecond(1990, 1, 1, 0, 0, 0), utc),
        absl::FromCivil(absl::CivilSecond(2024, 2, 29, 23, 59, 59), utc) + absl::Milliseconds(999),
        absl::FromCivil(absl::CivilSecond(1969, 12, 31, 0, 0, 0), utc) + absl::Nanoseconds(1),
        absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), utc),
        absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), utc), absl::InfinitePast(),
        absl::InfiniteFuture()}) {
    EXPECT_EQ(UtcDay(t), absl::ToCivilDay(t, utc)) << t;
  }
}

TEST(DaySpansTest, OnDaysIsHalfOpen) {
  const DaySpans spans = {{absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 1, 3)},
                          {absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 2, 2)}};
  EXPECT_FALSE(OnDays(spans, absl::CivilDay(2025, 12, 31)));
  EXPECT_TRUE(OnDays(spans, absl::CivilDay(2026, 1, 1)));
  EXPECT_TRUE(OnDays(spans, absl::CivilDay(2026, 1, 2)));
  EXPECT_FALSE(OnDays(spans, absl::CivilDay(2026, 1, 3)));
  EXPECT_TRUE(OnDays(spans, absl::CivilDay(2026, 2, 1)));
  EXPECT_FALSE(OnDays(spans, absl::CivilDay(2026, 2, 2)));
  EXPECT_FALSE(OnDays({}, absl::CivilDay(2026, 2, 1)));
}

TEST_F(SalesLedgerTest, AccountsOfOneErpSystemAreNotThoseOfAnother) {
  ASSERT_OK(ledger_.Record(MakeSale("a", Utc(2026, 1, 5), {Line("net", 10)})));
  Sale other = MakeSale("b", Utc(2026, 1, 5), {Line("net", 5)});
  other.erp_system_id = "oracle";
  ASSERT_OK(ledger_.Record(other));
  SeriesSelector sap = all_;
  sap.accounts = std::set<std::string>{AccountKey("sap", "p1")};
  ASSERT_OK_AND_ASSIGN(SeriesHistory weeks, ledger_.Series(sap, Granularity::kWeek));
  EXPECT_THAT(Values(weeks), ElementsAre(10));
  sap.accounts = std::set<std::string>{};
  EXPECT_THAT(ledger_.Series(sap, Granularity::kWeek).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SalesLedgerTest, MixSumsCategoriesOverTheWindowLargestFirst) {
  ASSERT_OK(ledger_.Record(MakeSale("a", Utc(2026, 1, 5), {Line("net", 10), Line("sec", 30)})));
  ASSERT_OK(ledger_.Record(MakeSale("b", Utc(2026, 2, 5), {Line("net", 25)})));
  ASSERT_OK(ledger_.Record(MakeSale("c", Utc(2025, 1, 5), {Line("old", 1000)})));
  auto mix = ledger_.Mix(all_, Utc(2026, 1, 1), Utc(2026, 3, 1));
  ASSERT_EQ(mix.size(), 2u);
  EXPECT_EQ(mix[0].product_category, "net");
  EXPECT_EQ(mix[0].amount, (Amount{35, 0}));
  EXPECT_EQ(mix[1].product_category, "sec");
}

TEST_F(SalesLedgerTest, ShortSeriesForecastIsTheMeanOfTheLastThreeWithWidenedIntervals) {
  ASSERT_OK(ledger_.Record(MakeSale("a", Utc(2026, 1, 5), {Line("net", 100)})));
  ASSERT_OK(ledger_.Record(MakeSale("b", Utc(2026, 1, 12), {Line("net", 110)})));
  ASSERT_OK(ledger_.Record(MakeSale("c", Utc(2026, 1, 19), {Line("net", 120)})));
  ASSERT_OK_AND_ASSIGN(SeriesForecast f, ForecastSeries(ledger_, all_, Granularity::kWeek, 2));
  // mean of 100, 110, 120; σ = 10 (one-step differences), sd_j = σ·sqrt(j)·(1 + 2/3).
  ASSERT_EQ(f.forecast.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(f.forecast.mean[0], 110);
  EXPECT_NEAR(f.forecast.upper80[0], 110 + kZ80 * 10 * 5.0 / 3, 1e-9);
  EXPECT_NEAR(f.forecast.lower95[1], 110 - kZ95 * 10 * std::sqrt(2.0) * 5.0 / 3, 1e-9);
  EXPECT_EQ(f.future_periods[0].first, absl::CivilDay(2026, 1, 26));
  EXPECT_EQ(f.future_periods[1].second, absl::CivilDay(2026, 2, 8));
}

TEST_F(SalesLedgerTest, LongConstantSeriesForecastsTheConstant) {
  for (int w = 0; w < 30; ++w) {
    ASSERT_OK(ledger_.Record(MakeSale(absl::StrCat("w", w),
                                      Utc(2025, 6, 2) + absl::Hours(24 * 7 * w),
                                      {Line("net", 40)})));
  }
  ASSERT_OK_AND_ASSIGN(SeriesForecast f, ForecastSeries(ledger_, all_, Granularity::kWeek, 13));
  ASSERT_EQ(f.forecast.mean.size(), 13u);
  for (double m : f.forecast.mean) EXPECT_NEAR(m, 40, 1e-6);
}

}  // namespace
}  // namespace prm::forecast
