#include "services/concierge-routing/domain/business_time.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/concierge-routing/domain/sla.h"

namespace prm::routing {
namespace {

using ::prm::testing::StatusIs;

absl::Time Local(const char* zone, int y, int mo, int d, int h, int mi = 0) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(zone, &tz)) << zone;
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), tz);
}

std::vector<WeeklyHours> NineToFiveWeekdays() {
  std::vector<WeeklyHours> h;
  for (absl::Weekday d : {absl::Weekday::monday, absl::Weekday::tuesday, absl::Weekday::wednesday,
                          absl::Weekday::thursday, absl::Weekday::friday}) {
    h.push_back({d, 9 * 60, 17 * 60});
  }
  return h;
}

TEST(BusinessCalendar, RejectsUnknownZoneAndBadIntervals) {
  EXPECT_THAT(BusinessCalendar::Create("Mars/Olympus", {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BusinessCalendar::Create("UTC", {{absl::Weekday::monday, 600, 500}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BusinessCalendar::Create(
                  "UTC", {{absl::Weekday::monday, 60, 600}, {absl::Weekday::monday, 500, 700}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BusinessCalendar::Create("UTC", {}, {absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 1, 1)}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BusinessCalendar, PausesOvernightAndOverWeekends) {
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFiveWeekdays(), {});
  ASSERT_OK(cal);
  // Friday 2026-03-06 15:00 + 4h business = Monday 2026-03-09 11:00 Berlin.
  const absl::Time fri = Local("Europe/Berlin", 2026, 3, 6, 15);
  EXPECT_EQ(cal->AddBusinessTime(fri, absl::Hours(4)), Local("Europe/Berlin", 2026, 3, 9, 11));
  EXPECT_EQ(cal->BusinessDurationBetween(fri, Local("Europe/Berlin", 2026, 3, 9, 11)),
            absl::Hours(4));
  // Starting at night: the clock starts at opening.
  EXPECT_EQ(cal->AddBusinessTime(Local("Europe/Berlin", 2026, 3, 10, 2), absl::Minutes(30)),
            Local("Europe/Berlin", 2026, 3, 10, 9, 30));
  EXPECT_FALSE(cal->IsOpen(Local("Europe/Berlin", 2026, 3, 7, 12)));  // Saturday
  EXPECT_TRUE(cal->IsOpen(Local("Europe/Berlin", 2026, 3, 9, 9)));
  EXPECT_FALSE(cal->IsOpen(Local("Europe/Berlin", 2026, 3, 9, 17)));  // end is exclusive
}

TEST(BusinessCalendar, PausesOnHolidays) {
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFiveWeekdays(),
                                      {absl::CivilDay(2026, 3, 9)});
  ASSERT_OK(cal);
  const absl::Time fri = Local("Europe/Berlin", 2026, 3, 6, 15);
  EXPECT_EQ(cal->AddBusinessTime(fri, absl::Hours(4)), Local("Europe/Berlin", 2026, 3, 10, 11));
  EXPECT_EQ(cal->BusinessDurationBetween(fri, Local("Europe/Berlin", 2026, 3, 11, 9)),
            absl::Hours(2 + 8));
}

TEST(BusinessCalendar, AllDayCalendarFollowsDstInRiga) {
  auto cal = BusinessCalendar::Create("Europe/Riga", {}, {});
  ASSERT_OK(cal);
  // 2026-03-29: clocks go 03:00 → 04:00, the local day has 23 hours.
  EXPECT_EQ(cal->BusinessDurationBetween(Local("Europe/Riga", 2026, 3, 29, 0),
                                         Local("Europe/Riga", 2026, 3, 30, 0)),
            absl::Hours(23));
  // 2026-10-25: clocks go 04:00 → 03:00, the local day has 25 hours.
  EXPECT_EQ(cal->BusinessDurationBetween(Local("Europe/Riga", 2026, 10, 25, 0),
                                         Local("Europe/Riga", 2026, 10, 26, 0)),
            absl::Hours(25));
}

TEST(BusinessCalendar, WorkingHoursAcrossTheSpringChangeInNewYork) {
  auto cal = BusinessCalendar::Create("America/New_York", NineToFiveWeekdays(), {});
  ASSERT_OK(cal);
  // Friday 2026-03-06 16:00 EST (21:00Z) + 2h → Monday 2026-03-09 10:00 EDT (14:00Z): the
  // weekend contains the change, business hours stay 9–17 local.
  const absl::Time start = Local("America/New_York", 2026, 3, 6, 16);
  EXPECT_EQ(start, absl::FromCivil(absl::CivilSecond(2026, 3, 6, 21, 0, 0), absl::UTCTimeZone()));
  const absl::Time due = cal->AddBusinessTime(start, absl::Hours(2));
  EXPECT_EQ(due, absl::FromCivil(absl::CivilSecond(2026, 3, 9, 14, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(cal->BusinessDurationBetween(start, due), absl::Hours(2));
}

TEST(BusinessCalendar, IntervalContainingTheFallBackHourIsLonger) {
  // Sunday 00:00–08:00 in New York on 2026-11-01 (02:00 EDT → 01:00 EST) lasts 9 hours.
  auto cal = BusinessCalendar::Create("America/New_York", {{absl::Weekday::sunday, 0, 8 * 60}}, {});
  ASSERT_OK(cal);
  const absl::Time sat = Local("America/New_York", 2026, 10, 31, 12);
  EXPECT_EQ(cal->BusinessDurationBetween(sat, Local("America/New_York", 2026, 11, 2, 0)),
            absl::Hours(9));
  EXPECT_EQ(cal->AddBusinessTime(sat, absl::Hours(9)), Local("America/New_York", 2026, 11, 1, 8));
}

TEST(BusinessCalendar, NoOpenTimeMeansInfiniteFuture) {
  // One hour a week: two hours take a week, twenty years' worth is beyond the horizon.
  auto cal = BusinessCalendar::Create("UTC", {{absl::Weekday::monday, 0, 60}}, {});
  ASSERT_OK(cal);
  const absl::Time monday = absl::FromCivil(absl::CivilSecond(2026, 3, 2, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(cal->AddBusinessTime(monday, absl::Hours(2)), monday + absl::Hours(24 * 7 + 1));
  EXPECT_EQ(cal->AddBusinessTime(monday, absl::Hours(24 * 365 * 20)), absl::InfiniteFuture());
}

TEST(BusinessCalendar, SameHoursInThePartnersZone) {
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFiveWeekdays(), {});
  ASSERT_OK(cal);
  auto tokyo = cal->InTimeZone("Asia/Tokyo");
  ASSERT_OK(tokyo);
  EXPECT_TRUE(tokyo->IsOpen(Local("Asia/Tokyo", 2026, 3, 10, 10)));
  EXPECT_FALSE(tokyo->IsOpen(Local("Europe/Berlin", 2026, 3, 10, 10)));  // 18:00 in Tokyo
  EXPECT_THAT(cal->InTimeZone("Nowhere/City"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Sla, MostSpecificTargetWins) {
  SlaPolicy p;
  p.targets = {{"", TaskCategory::kUnspecified, absl::Hours(8)},
               {"", TaskCategory::kPricing, absl::Hours(4)},
               {"platinum", TaskCategory::kUnspecified, absl::Hours(2)},
               {"platinum", TaskCategory::kPricing, absl::Hours(1)}};
  EXPECT_EQ(ResolveSlaTarget(p, "platinum", TaskCategory::kPricing), absl::Hours(1));
  EXPECT_EQ(ResolveSlaTarget(p, "platinum", TaskCategory::kLicensing), absl::Hours(2));
  EXPECT_EQ(ResolveSlaTarget(p, "gold", TaskCategory::kPricing), absl::Hours(4));
  EXPECT_EQ(ResolveSlaTarget(p, "gold", TaskCategory::kOther), absl::Hours(8));
  EXPECT_EQ(ResolveSlaTarget(SlaPolicy{}, "gold", TaskCategory::kOther), std::nullopt);
}

TEST(Sla, WarningAndBreachFireOnceEachEvenWhenJumpedOver) {
  const BusinessCalendar always;
  const absl::Time t0 = absl::FromUnixSeconds(1'767'225'600);
  TaskSla sla = StartSla(always, t0, absl::Minutes(10), 80);
  EXPECT_EQ(sla.warning_time, t0 + absl::Minutes(8));
  EXPECT_TRUE(AdvanceSla(sla, t0 + absl::Minutes(7)).empty());
  EXPECT_THAT(AdvanceSla(sla, t0 + absl::Minutes(8)),
              ::testing::ElementsAre(SlaTransition::kWarning));
  EXPECT_TRUE(AdvanceSla(sla, t0 + absl::Minutes(9)).empty());
  EXPECT_THAT(AdvanceSla(sla, t0 + absl::Minutes(10)),
              ::testing::ElementsAre(SlaTransition::kBreached));
  EXPECT_TRUE(AdvanceSla(sla, t0 + absl::Hours(10)).empty());

  TaskSla jumped = StartSla(always, t0, absl::Minutes(10), 80);
  EXPECT_THAT(AdvanceSla(jumped, t0 + absl::Hours(1)),
              ::testing::ElementsAre(SlaTransition::kWarning, SlaTransition::kBreached));

  TaskSla met = StartSla(always, t0, absl::Minutes(10), 80);
  RecordFirstResponse(met, t0 + absl::Minutes(9));
  EXPECT_EQ(met.state, SlaState::kMet);
  EXPECT_TRUE(AdvanceSla(met, t0 + absl::Hours(1)).empty());
}

TEST(Sla, DueTimeSkipsNightsInBusinessTime) {
  auto cal = BusinessCalendar::Create("Europe/Riga", NineToFiveWeekdays(), {});
  ASSERT_OK(cal);
  // Friday 2026-03-27 16:00 EET + 2h business: Monday 2026-03-30 10:00 EEST = 07:00Z (DST began
  // on the Sunday in between).
  TaskSla sla = StartSla(*cal, Local("Europe/Riga", 2026, 3, 27, 16), absl::Hours(2), 80);
  EXPECT_EQ(sla.due_time,
            absl::FromCivil(absl::CivilSecond(2026, 3, 30, 7, 0, 0), absl::UTCTimeZone()));
  // 80 % = 96 minutes: 60 on Friday, 36 on Monday.
  EXPECT_EQ(sla.warning_time, Local("Europe/Riga", 2026, 3, 30, 9, 36));
}

}  // namespace
}  // namespace prm::routing
