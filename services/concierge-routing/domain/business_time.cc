#include "services/concierge-routing/domain/business_time.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"

namespace prm::routing {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kAddHorizonDays = 3660;
constexpr int kNextChangeHorizonDays = 30;

int64_t DayNumber(absl::CivilDay d) { return d - absl::CivilDay(1970, 1, 1); }

}  // namespace

BusinessCalendar::BusinessCalendar() {
  for (auto& day : weekly_) day.push_back({0, kMinutesPerDay});
}

absl::StatusOr<BusinessCalendar> BusinessCalendar::Create(absl::string_view time_zone,
                                                          std::vector<WeeklyHours> hours,
                                                          std::vector<absl::CivilDay> holidays) {
  FieldViolations bad;
  BusinessCalendar cal;
  cal.zone_name_ = std::string(time_zone);
  if (time_zone.empty() || !absl::LoadTimeZone(std::string(time_zone), &cal.zone_)) {
    bad.Add("time_zone", absl::StrCat("unknown IANA time zone '", time_zone, "'"));
  }
  for (auto& day : cal.weekly_) day.clear();
  for (size_t i = 0; i < hours.size(); ++i) {
    const WeeklyHours& h = hours[i];
    if (h.start_minute < 0 || h.end_minute > kMinutesPerDay || h.start_minute >= h.end_minute) {
      bad.Add(absl::StrCat("weekly_hours[", i, "]"), "needs 0 <= start < end <= 24:00");
      continue;
    }
    cal.weekly_[static_cast<int>(h.day)].push_back({h.start_minute, h.end_minute});
  }
  for (int d = 0; d < 7; ++d) {
    auto& v = cal.weekly_[d];
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); ++i) {
      if (v[i].first < v[i - 1].second) {
        bad.Add("weekly_hours", absl::StrCat("intervals overlap on weekday ", d + 1));
        break;
      }
    }
  }
  if (hours.empty()) {
    for (auto& day : cal.weekly_) day.push_back({0, kMinutesPerDay});
  }
  for (absl::CivilDay d : holidays) {
    if (!cal.holidays_.insert(DayNumber(d)).second) {
      bad.Add("holidays", absl::StrCat("date ", absl::FormatCivilTime(d), " twice"));
    }
  }
  if (!bad.empty()) return bad.ToStatus("invalid business calendar");
  cal.hours_ = std::move(hours);
  cal.holiday_list_ = std::move(holidays);
  return cal;
}

absl::StatusOr<BusinessCalendar> BusinessCalendar::InTimeZone(absl::string_view time_zone) const {
  BusinessCalendar copy = *this;
  if (time_zone.empty() || !absl::LoadTimeZone(std::string(time_zone), &copy.zone_)) {
    return InvalidField("time_zone", absl::StrCat("unknown IANA time zone '", time_zone, "'"));
  }
  copy.zone_name_ = std::string(time_zone);
  return copy;
}

bool BusinessCalendar::IsHoliday(absl::CivilDay day) const {
  return !holidays_.empty() && holidays_.contains(DayNumber(day));
}

absl::Time BusinessCalendar::ToAbsolute(absl::CivilDay day, int minute, bool is_end) const {
  const absl::CivilSecond cs = absl::CivilSecond(day) + static_cast<int64_t>(minute) * 60;
  const absl::TimeZone::TimeInfo ti = zone_.At(cs);
  switch (ti.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      return ti.pre;
    case absl::TimeZone::TimeInfo::SKIPPED:
      return ti.trans;
    case absl::TimeZone::TimeInfo::REPEATED:
      return is_end ? std::max(ti.pre, ti.post) : std::min(ti.pre, ti.post);
  }
  return ti.pre;
}

void BusinessCalendar::OpenIntervals(absl::CivilDay day,
                                     std::vector<std::pair<absl::Time, absl::Time>>& out) const {
  out.clear();
  if (IsHoliday(day)) return;
  for (const auto& [start, end] : weekly_[static_cast<int>(absl::GetWeekday(day))]) {
    const absl::Time b = ToAbsolute(day, start, false);
    const absl::Time e = ToAbsolute(day, end, true);
    if (b < e) out.push_back({b, e});
  }
}

bool BusinessCalendar::IsOpen(absl::Time t) const {
  const absl::CivilDay today = absl::ToCivilDay(t, zone_);
  std::vector<std::pair<absl::Time, absl::Time>> iv;
  for (absl::CivilDay d : {today - 1, today}) {
    OpenIntervals(d, iv);
    for (const auto& [b, e] : iv) {
      if (b <= t && t < e) return true;
    }
  }
  return false;
}

absl::Duration BusinessCalendar::BusinessDurationBetween(absl::Time start, absl::Time end) const {
  absl::Duration total = absl::ZeroDuration();
  if (end <= start) return total;
  std::vector<std::pair<absl::Time, absl::Time>> iv;
  const absl::CivilDay last = absl::ToCivilDay(end, zone_) + 1;
  for (absl::CivilDay d = absl::ToCivilDay(start, zone_) - 1; d <= last; ++d) {
    OpenIntervals(d, iv);
    for (const auto& [b, e] : iv) {
      const absl::Time lo = std::max(b, start);
      const absl::Time hi = std::min(e, end);
      if (lo < hi) total += hi - lo;
    }
  }
  return total;
}

absl::Time BusinessCalendar::AddBusinessTime(absl::Time start, absl::Duration d) const {
  if (d <= absl::ZeroDuration()) return start;
  absl::Duration remaining = d;
  std::vector<std::pair<absl::Time, absl::Time>> iv;
  const absl::CivilDay first = absl::ToCivilDay(start, zone_) - 1;
  for (absl::CivilDay day = first; day - first < kAddHorizonDays; ++day) {
    OpenIntervals(day, iv);
    for (const auto& [b, e] : iv) {
      if (e <= start) continue;
      const absl::Time from = std::max(b, start);
      const absl::Duration available = e - from;
      if (remaining <= available) return from + remaining;
      remaining -= available;
    }
  }
  return absl::InfiniteFuture();
}

absl::Time BusinessCalendar::NextChange(absl::Time t) const {
  std::vector<std::pair<absl::Time, absl::Time>> iv;
  const absl::CivilDay first = absl::ToCivilDay(t, zone_) - 1;
  for (absl::CivilDay day = first; day - first < kNextChangeHorizonDays; ++day) {
    OpenIntervals(day, iv);
    for (const auto& [b, e] : iv) {
      if (b > t) return b;
      if (e > t) return e;
    }
  }
  return absl::InfiniteFuture();
}

}  // namespace prm::routing
