#include "services/forecast/domain/forecast_settings.h"

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::forecast {
namespace {

using ::prm::testing::StatusIs;
using ::testing::UnorderedElementsAre;

TEST(SettingsBookTest, DefaultsUntilUpdatedThenVersionedWithTheCommandTime) {
  FakeClock clock;
  SettingsBook book(clock);
  ForecastSettings defaults = book.Get("v1");
  EXPECT_EQ(defaults.vendor_id, "v1");
  EXPECT_EQ(defaults.reporting_currency_code, "USD");
  EXPECT_EQ(defaults.default_measure, Measure::kSellIn);
  EXPECT_EQ(defaults.fiscal_year_start_month, 1);
  EXPECT_EQ(defaults.pipeline_blend_periods, 3);
  EXPECT_EQ(defaults.version, 0);
  EXPECT_FALSE(defaults.update_time.has_value());

  absl::StatusOr<ForecastSettings> updated =
      book.Update("v1", {.default_measure = Measure::kSellThrough, .fiscal_year_start_month = 4});
  ASSERT_OK(updated);
  EXPECT_EQ(updated->default_measure, Measure::kSellThrough);
  EXPECT_EQ(updated->fiscal_year_start_month, 4);
  EXPECT_EQ(updated->reporting_currency_code, "USD");
  EXPECT_EQ(updated->version, 1);
  EXPECT_EQ(updated->update_time, clock.Now());
  EXPECT_EQ(book.Get("v1").fiscal_year_start_month, 4);
  EXPECT_EQ(book.Get("v2").version, 0);
}

TEST(SettingsBookTest, StaleEtagIsAbortedAndCurrentEtagApplies) {
  FakeClock clock;
  SettingsBook book(clock);
  const std::string first = book.Get("v1").etag();
  ASSERT_OK(book.Update("v1", {.pipeline_blend_periods = 0, .etag = first}));
  EXPECT_THAT(book.Update("v1", {.pipeline_blend_periods = 5, .etag = first}),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(book.Get("v1").pipeline_blend_periods, 0);
  ASSERT_OK(book.Update("v1", {.pipeline_blend_periods = 5, .etag = book.Get("v1").etag()}));
  EXPECT_EQ(book.Get("v1").pipeline_blend_periods, 5);
}

TEST(SettingsBookTest, InvalidValuesAreNamedTogetherAndChangeNothing) {
  FakeClock clock;
  SettingsBook book(clock);
  absl::Status status = book.Update("v1", {.reporting_currency_code = "eur",
                                           .fiscal_year_start_month = 13,
                                           .pipeline_blend_periods = -1})
                            .status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(status)) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("settings.reporting_currency_code",
                                           "settings.fiscal_year_start_month",
                                           "settings.pipeline_blend_periods"));
  EXPECT_EQ(book.Get("v1").version, 0);
}

TEST(SettingsBookTest, RatesApplyFromTheirEffectiveDateUntilTheNext) {
  FakeClock clock;
  SettingsBook book(clock);
  ASSERT_OK(book.SetRates("v1", {{"EUR", absl::CivilDay(2026, 1, 1), "1.10"},
                                 {"EUR", absl::CivilDay(2026, 2, 1), "1.2"},
                                 {"GBP", absl::CivilDay(2026, 1, 1), "1.3"}}));
  EXPECT_EQ(book.RateOn("v1", "EUR", absl::CivilDay(2025, 12, 31)), std::nullopt);
  EXPECT_EQ(book.RateOn("v1", "EUR", absl::CivilDay(2026, 1, 31)), 1.10);
  EXPECT_EQ(book.RateOn("v1", "EUR", absl::CivilDay(2026, 2, 1)), 1.2);
  EXPECT_EQ(book.RateOn("v1", "USD", absl::CivilDay(2000, 1, 1)), 1.0);
  EXPECT_EQ(book.Rates("v1").size(), 3u);
  EXPECT_EQ(book.RatesVersion("v1"), 1);

  // Replacing keeps the count; deleting a missing rate is NOT_FOUND.
  ASSERT_OK(book.SetRates("v1", {{"EUR", absl::CivilDay(2026, 2, 1), "1.25"}}));
  EXPECT_EQ(book.Rates("v1").size(), 3u);
  EXPECT_EQ(book.RateOn("v1", "EUR", absl::CivilDay(2026, 3, 1)), 1.25);
  ASSERT_OK(book.DeleteRate("v1", "EUR", absl::CivilDay(2026, 2, 1)));
  EXPECT_EQ(book.RateOn("v1", "EUR", absl::CivilDay(2026, 3, 1)), 1.10);
  EXPECT_THAT(book.DeleteRate("v1", "EUR", absl::CivilDay(2026, 2, 1)),
              StatusIs(absl::StatusCode::kNotFound));

  // A new reporting currency deletes every rate.
  ASSERT_OK(book.Update("v1", {.reporting_currency_code = "EUR"}));
  EXPECT_TRUE(book.Rates("v1").empty());
  EXPECT_EQ(book.RatesVersion("v1"), 4);
}

TEST(SettingsBookTest, BadRatesAreNamedTogether) {
  FakeClock clock;
  SettingsBook book(clock);
  absl::Status status = book.SetRates("v1", {{"usd", absl::CivilDay(2026, 1, 1), "1"},
                                             {"USD", absl::CivilDay(2026, 1, 1), "2"},
                                             {"EUR", absl::CivilDay(2026, 1, 1), "0"},
                                             {"EUR", absl::CivilDay(2026, 1, 1), "1.2.3"},
                                             {"GBP", absl::CivilDay(2026, 1, 1),
                                              "1.2345678901234567891"}})
                            .status();
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(status)) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("rates[0].currency_code", "rates[1].currency_code",
                                           "rates[2].rate", "rates[3].effective_date",
                                           "rates[3].rate", "rates[4].rate"));
  EXPECT_TRUE(book.Rates("v1").empty());
  EXPECT_EQ(SettingsBook::ParseRate("0.000123"), 0.000123);
}

}  // namespace
}  // namespace prm::forecast
