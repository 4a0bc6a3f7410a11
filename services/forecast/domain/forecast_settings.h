#pragma once

// Per-vendor forecast settings (ForecastSettings in the API, SPEC §7): the reporting currency
// every forecast is in, the measure a request gets when it names none, the fiscal-year start that
// aligns quarters and the pipeline blend length. A singleton per vendor that exists with defaults
// until first updated. Also the vendor's exchange rates into its reporting currency (§7.1): a
// rate applies from its effective date until the next rate of the same currency.
// Plain C++; not thread-safe (the service serializes writers against readers); deterministic
// given the clock, so the command log can replay it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"

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

// One exchange rate: units of the reporting currency per unit of `currency_code`.
struct ExchangeRate {
  std::string currency_code;
  absl::CivilDay effective_date;
  std::string rate;   // the decimal text as set, e.g. "1.0834"
  double value = 0;   // its value
  absl::Time update_time;
};

// A rate to set: what a client sends.
struct ExchangeRateInput {
  std::string currency_code;
  absl::CivilDay effective_date;
  std::string rate;
};

inline constexpr size_t kMaxRatesPerRequest = 500;
inline constexpr size_t kMaxRatesPerVendor = 10'000;

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

  // Creates or replaces rates keyed by (currency_code, effective_date); returns them as stored.
  // INVALID_ARGUMENT naming every bad field (rates (count 1..500), rates[i].currency_code (form;
  // must differ from the reporting currency), rates[i].effective_date (repeated in the request),
  // rates[i].rate (a decimal > 0 with at most 18 significant digits)); RESOURCE_EXHAUSTED when
  // the vendor would hold more than kMaxRatesPerVendor rates. Nothing changes on error.
  absl::StatusOr<std::vector<ExchangeRate>> SetRates(const std::string& vendor_id,
                                                     const std::vector<ExchangeRateInput>& rates);

  // SetRates' INVALID_ARGUMENT check on its own, against the current reporting currency.
  absl::Status ValidateRates(const std::string& vendor_id,
                             const std::vector<ExchangeRateInput>& rates) const;

  // NOT_FOUND when the vendor has no such rate.
  absl::Status DeleteRate(const std::string& vendor_id, const std::string& currency_code,
                          absl::CivilDay effective_date);

  // Every rate of the vendor, by currency then effective date.
  std::vector<ExchangeRate> Rates(const std::string& vendor_id) const;

  // The version of the vendor's rate table: +1 per SetRates, DeleteRate or change of reporting
  // currency (which deletes every rate).
  int64_t RatesVersion(const std::string& vendor_id) const;

  // Units of the reporting currency per unit of `currency_code` on `day`: 1 for the reporting
  // currency itself, nullopt before the currency's earliest rate.
  std::optional<double> RateOn(const std::string& vendor_id, const std::string& currency_code,
                               absl::CivilDay day) const;

  // Checks a rate's decimal text; the value when valid.
  static std::optional<double> ParseRate(const std::string& text);

 private:
  struct RateTable {
    // currency → effective date → rate
    std::map<std::string, std::map<absl::CivilDay, ExchangeRate>> rates;
    size_t count = 0;
    int64_t version = 0;
  };

  const Clock& clock_;
  std::map<std::string, ForecastSettings> settings_;
  std::map<std::string, RateTable> rates_;
};

}  // namespace prm::forecast
