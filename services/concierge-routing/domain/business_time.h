#pragma once

// Business-hours calendars (SPEC §6.5): weekly open intervals in local time of an IANA time zone
// plus holidays (whole local days). Durations are measured in absolute time, so a day with a DST
// change has 23 or 25 hours of 00:00–24:00 business time and the result stays correct across the
// change. Local times that do not exist (spring forward) map to the transition instant; local
// times that exist twice (fall back) start at the first and end at the second occurrence.
//
// Thread safety: immutable after Create; all methods are const and may run concurrently.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace prm::routing {

// One open interval on a weekday, [start, end) in minutes after local midnight; end ≤ 24*60.
struct WeeklyHours {
  absl::Weekday day = absl::Weekday::monday;
  int start_minute = 0;
  int end_minute = 0;
};

class BusinessCalendar {
 public:
  // Open 24×7 in UTC without holidays.
  BusinessCalendar();

  // INVALID_ARGUMENT naming every bad field: unknown time zone (loaded from
  // /usr/share/zoneinfo by absl::LoadTimeZone), an interval outside 0..1440 or empty, intervals
  // of one day overlapping. Empty `hours` = open all day every day (holidays still apply).
  static absl::StatusOr<BusinessCalendar> Create(absl::string_view time_zone,
                                                 std::vector<WeeklyHours> hours,
                                                 std::vector<absl::CivilDay> holidays);

  // The same hours and holidays read in another zone (the partner's); INVALID_ARGUMENT for an
  // unknown zone.
  absl::StatusOr<BusinessCalendar> InTimeZone(absl::string_view time_zone) const;

  bool IsOpen(absl::Time t) const;

  // Open time in [start, end); zero when end <= start.
  absl::Duration BusinessDurationBetween(absl::Time start, absl::Time end) const;

  // The instant at which `d` of open time has elapsed after `start` (start itself for d <= 0).
  // InfiniteFuture when the calendar has no open time within ten years.
  absl::Time AddBusinessTime(absl::Time start, absl::Duration d) const;

  // The first instant after t at which IsOpen may change; InfiniteFuture when none within 30
  // days.
  absl::Time NextChange(absl::Time t) const;

  const std::string& time_zone_name() const { return zone_name_; }

 private:
  // Open intervals of one local day in absolute time, ascending.
  void OpenIntervals(absl::CivilDay day, std::vector<std::pair<absl::Time, absl::Time>>& out) const;
  absl::Time ToAbsolute(absl::CivilDay day, int minute, bool is_end) const;
  bool IsHoliday(absl::CivilDay day) const;

  std::string zone_name_ = "UTC";
  absl::TimeZone zone_ = absl::UTCTimeZone();
  std::array<std::vector<std::pair<int, int>>, 7> weekly_;  // by absl::Weekday
  std::vector<WeeklyHours> hours_;
  absl::flat_hash_set<int64_t> holidays_;  // days since 1970-01-01
  std::vector<absl::CivilDay> holiday_list_;
};

}  // namespace prm::routing
