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

}  // namespace
}  // namespace prm::forecast
