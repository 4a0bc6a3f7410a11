#pragma once

// Per-vendor forecast settings (ForecastSettings in the API, SPEC §7): the reporting currency
// every forecast is in, the measure a request gets when it names none, the fiscal-year start that
// aligns quarters and the pipeline blend length. A singleton per vendor that exists with defaults
// until first updated. Plain C++; not thread-safe (the service serializes writers against
// readers); deterministic given the clock, so the command log can replay it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/forecast/domain/sales_ledger.h"

namespace prm::forecast {

struct ForecastSettings {
  std::string vendor_id;
  std::string reporting_currency_code = "USD";
  Measure default_measure = Measure::kSellIn;
  int fiscal_year_start_month = 1;  // 1..12
  int pipeline_blend_periods = 3;   // 0..12
  int64_t version = 0;              // 0 while the defaults hold
  std::optional<absl::Time> update_time;

  // The concurrency token of this version.
  std::string etag() const;
};

// The fields an update replaces (unset = kept) and its condition.
struct SettingsChange {
  std::optional<std::string> reporting_currency_code;
  std::optional<Measure> default_measure;
  std::optional<int> fiscal_year_start_month;
  std::optional<int> pipeline_blend_periods;
  std::string etag;  // empty = unconditional
};

class SettingsBook {
 public:
  explicit SettingsBook(const Clock& clock) : clock_(clock) {}

  // The vendor's settings; the defaults (version 0) when never updated.
  ForecastSettings Get(const std::string& vendor_id) const;

  // Applies `change`; the version increases by one and update_time is now, even when no value
  // changed. INVALID_ARGUMENT naming every bad field (settings.vendor_id,
  // settings.reporting_currency_code, settings.fiscal_year_start_month,
  // settings.pipeline_blend_periods); ABORTED when `change.etag` is set and not the current one.
  // Nothing changes on error.
  absl::StatusOr<ForecastSettings> Update(const std::string& vendor_id,
                                          const SettingsChange& change);

  // Update's INVALID_ARGUMENT check on its own (it needs no state).
  static absl::Status Validate(const std::string& vendor_id, const SettingsChange& change);

 private:
  const Clock& clock_;
  std::map<std::string, ForecastSettings> settings_;
};

}  // namespace prm::forecast
