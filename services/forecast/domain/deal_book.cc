#include "services/forecast/domain/deal_book.h"

#include <algorithm>
#include <utility>

#include "absl/time/civil_time.h"

namespace prm::forecast {

bool DealBook::Apply(const std::string& deal_id, int64_t version, DealRecord record) {
  Entry& entry = deals_[{record.vendor_id, deal_id}];
  if (version <= entry.version) return false;
  if (!record.submit_time) record.submit_time = entry.record.submit_time;
  entry.version = version;
  entry.deleted = false;
  entry.record = std::move(record);
  return true;
}

bool DealBook::Remove(const std::string& vendor_id, const std::string& deal_id,
                      int64_t version) {
  Entry& entry = deals_[{vendor_id, deal_id}];
  if (version <= entry.version) return false;
  entry.version = version;
  entry.deleted = true;
  return true;
}

std::vector<const DealRecord*> DealBook::Deals(
    const std::string& vendor_id, const std::optional<std::set<std::string>>& partners) const {
  std::vector<const DealRecord*> deals;
  for (auto it = deals_.lower_bound({vendor_id, ""});
       it != deals_.end() && it->first.first == vendor_id; ++it) {
    const Entry& entry = it->second;
    if (entry.deleted || (partners && !partners->contains(entry.record.partner_id))) continue;
    deals.push_back(&entry.record);
  }
  return deals;
}

VelocityParts DealBook::Velocity(const std::string& vendor_id,
                                 const std::optional<std::set<std::string>>& partners,
                                 absl::Time start, absl::Time end,
                                 const std::string& reporting_currency,
                                 const RateLookup& rates) const {
  VelocityParts parts;
  auto in_window = [&](const std::optional<absl::Time>& t) {
    return t && *t >= start && *t < end;
  };
  double won_total = 0;
  int64_t sized = 0;
  absl::Duration cycle_total;
  int64_t cycled = 0;
  for (const auto& [id, entry] : deals_) {
    const DealRecord& d = entry.record;
    if (entry.deleted || d.vendor_id != vendor_id) continue;
    if (partners && !partners->contains(d.partner_id)) continue;
    if (in_window(d.submit_time)) ++parts.opportunities;
    if (d.outcome == DealRecord::Outcome::kOpen || !in_window(d.close_time)) continue;
    if (d.outcome == DealRecord::Outcome::kLost) {
      ++parts.lost;
      continue;
    }
    ++parts.won;
    for (const std::string& category : d.categories) ++parts.won_by_category[category];
    std::optional<double> rate =
        d.won_currency == reporting_currency
            ? std::optional<double>(1.0)
            : (rates ? rates(d.won_currency, absl::ToCivilDay(*d.close_time, absl::UTCTimeZone()))
                     : std::nullopt);
    if (rate) {
      won_total += d.won_amount.ToDouble() * *rate;
      ++sized;
    }
    if (d.submit_time && *d.submit_time <= *d.close_time) {
      cycle_total += *d.close_time - *d.submit_time;
      ++cycled;
    }
  }
  if (parts.won + parts.lost > 0) {
    parts.win_rate = static_cast<double>(parts.won) / static_cast<double>(parts.won + parts.lost);
  }
  if (sized > 0) parts.average_deal_size = won_total / static_cast<double>(sized);
  if (cycled > 0) parts.average_sales_cycle = cycle_total / cycled;
  // Sales-velocity practice counts the cycle in days, and a deal won the day it was submitted
  // took one: a cycle of seconds would otherwise make velocity per day absurd.
  const double cycle_days =
      cycled > 0 ? std::max(absl::ToDoubleHours(parts.average_sales_cycle) / 24, 1.0) : 0.0;
  if (parts.opportunities > 0 && parts.win_rate > 0 && parts.average_deal_size > 0 &&
      cycle_days > 0) {
    parts.velocity_per_day = static_cast<double>(parts.opportunities) * parts.win_rate *
                             parts.average_deal_size / cycle_days;
  }
  return parts;
}

}  // namespace prm::forecast
