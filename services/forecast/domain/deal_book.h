#pragma once

// Registered deals as the velocity of SPEC §7.4 needs them, projected from prm.deal.v1
// snapshots: when each deal was submitted, whether and when it was won (with the amount) or lost
// (lost and expired alike), its partner and product categories. Plain C++; not thread-safe (the
// service serializes); deterministic.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/forecast/domain/sales_ledger.h"

namespace prm::forecast {

// One deal as its latest event describes it.
struct DealRecord {
  std::string vendor_id;
  std::string partner_id;
  std::optional<absl::Time> submit_time;
  enum class Outcome { kOpen, kWon, kLost } outcome = Outcome::kOpen;
  std::optional<absl::Time> close_time;
  std::string won_currency;
  Amount won_amount;
  std::vector<std::string> categories;
  // For the pipeline (SPEC §7.3): an open registration is submitted, under review or approved;
  // its stage (prm.deal.v1.DealStage number), value, product lines' values by category and
  // expected close date.
  bool open_registration = false;
  int stage = 0;
  std::string value_currency;
  Amount value;
  std::map<std::string, Amount> category_values;
  std::optional<absl::CivilDay> expected_close;
};

// The four parts of velocity over a window, and the won deals per category.
struct VelocityParts {
  int64_t opportunities = 0;  // submitted in the window
  int64_t won = 0;            // won in the window
  int64_t lost = 0;           // lost or expired in the window
  double win_rate = 0;        // won / (won + lost); 0 when none closed
  double average_deal_size = 0;  // in the reporting currency; won deals without a rate left out
  absl::Duration average_sales_cycle;  // submission to win, won deals with a known submission;
                                       // exact (a cycle of seconds is reported as such)
  // opportunities × win rate × size ÷ cycle in days, the cycle counted as at least one day (a
  // deal won the day it was submitted took one day, as sales-velocity practice counts it); 0
  // when any part is 0 or no won deal has a known submission.
  double velocity_per_day = 0;
  std::map<std::string, int64_t> won_by_category;
};

class DealBook {
 public:
  // Replaces the deal's record unless `version` is not newer than the last applied (returns
  // false then). Fields the new snapshot leaves unknown (submission time) are kept.
  // Deals are keyed by (record.vendor_id, deal_id).
  bool Apply(const std::string& deal_id, int64_t version, DealRecord record);

  // The vendor's deals (deleted ones left out), of the given partners only when `partners` is
  // set, by deal id.
  std::vector<const DealRecord*> Deals(const std::string& vendor_id,
                                       const std::optional<std::set<std::string>>& partners) const;

  // The deal is gone. False for a stale version.
  bool Remove(const std::string& vendor_id, const std::string& deal_id, int64_t version);

  // Velocity of the vendor's deals ([start, end)), of the given partners only when `partners`
  // is set. `rates` converts won amounts into the reporting currency (`reporting_currency` is
  // exact).
  VelocityParts Velocity(const std::string& vendor_id,
                         const std::optional<std::set<std::string>>& partners,
                         absl::Time start, absl::Time end, const std::string& reporting_currency,
                         const RateLookup& rates) const;

 private:
  struct Entry {
    int64_t version = 0;
    bool deleted = false;
    DealRecord record;
  };
  std::map<std::pair<std::string, std::string>, Entry> deals_;  // (vendor, deal) → entry
};

}  // namespace prm::forecast
