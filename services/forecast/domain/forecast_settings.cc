#include "services/forecast/domain/forecast_settings.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"

namespace prm::forecast {
namespace {

bool IsCurrencyCode(const std::string& code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::string ForecastSettings::etag() const { return absl::StrCat("W/\"", version, "\""); }

ForecastSettings SettingsBook::Get(const std::string& vendor_id) const {
  auto it = settings_.find(vendor_id);
  if (it != settings_.end()) return it->second;
  ForecastSettings defaults;
  defaults.vendor_id = vendor_id;
  return defaults;
}

absl::Status SettingsBook::Validate(const std::string& vendor_id, const SettingsChange& change) {
  FieldViolations bad;
  if (vendor_id.empty()) bad.Add("settings.vendor_id", "is required");
  if (change.reporting_currency_code) {
    if (!IsCurrencyCode(*change.reporting_currency_code)) {
      bad.Add("settings.reporting_currency_code", "must be a 3-letter upper-case ISO 4217 code");
    }
  }
  if (change.fiscal_year_start_month &&
      (*change.fiscal_year_start_month < 1 || *change.fiscal_year_start_month > 12)) {
    bad.Add("settings.fiscal_year_start_month", "must be in 1..12");
  }
  if (change.pipeline_blend_periods &&
      (*change.pipeline_blend_periods < 0 || *change.pipeline_blend_periods > 12)) {
    bad.Add("settings.pipeline_blend_periods", "must be in 0..12");
  }
  return bad.ToStatus("invalid forecast settings");
}

absl::StatusOr<ForecastSettings> SettingsBook::Update(const std::string& vendor_id,
                                                      const SettingsChange& change) {
  if (absl::Status status = Validate(vendor_id, change); !status.ok()) return status;
  ForecastSettings next = Get(vendor_id);
  if (!change.etag.empty() && change.etag != next.etag()) {
    return absl::AbortedError("the settings changed since they were read (stale etag)");
  }
  next.reporting_currency_code =
      change.reporting_currency_code.value_or(next.reporting_currency_code);
  next.default_measure = change.default_measure.value_or(next.default_measure);
  next.fiscal_year_start_month =
      change.fiscal_year_start_month.value_or(next.fiscal_year_start_month);
  next.pipeline_blend_periods = change.pipeline_blend_periods.value_or(next.pipeline_blend_periods);
  ++next.version;
  next.update_time = clock_.Now();
  if (next.reporting_currency_code != Get(vendor_id).reporting_currency_code) {
    // Rates are relative to the reporting currency: a new one invalidates them all.
    RateTable& table = rates_[vendor_id];
    table.rates.clear();
    table.count = 0;
    ++table.version;
  }
  settings_[vendor_id] = next;
  return next;
}

std::optional<double> SettingsBook::ParseRate(const std::string& text) {
  int digits = 0;
  int significant = 0;
  int dots = 0;
  bool leading = true;
  for (char c : text) {
    if (c == '.') {
      ++dots;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    ++digits;
    if (c != '0') leading = false;
    if (!leading) ++significant;
  }
  if (digits == 0 || dots > 1 || significant == 0 || significant > 18 || text.front() == '.' ||
      text.back() == '.') {
    return std::nullopt;
  }
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value > 0)) return std::nullopt;
  return value;
}

absl::Status SettingsBook::ValidateRates(const std::string& vendor_id,
                                         const std::vector<ExchangeRateInput>& rates) const {
  FieldViolations bad;
  if (vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (rates.empty() || rates.size() > kMaxRatesPerRequest) {
    bad.Add("rates", absl::StrCat("must hold 1..", kMaxRatesPerRequest, " rates"));
  }
  const std::string reporting = Get(vendor_id).reporting_currency_code;
  std::set<std::pair<std::string, absl::CivilDay>> seen;
  for (size_t i = 0; i < rates.size(); ++i) {
    const ExchangeRateInput& r = rates[i];
    const std::string path = absl::StrCat("rates[", i, "]");
    if (!IsCurrencyCode(r.currency_code)) {
      bad.Add(path + ".currency_code", "must be a 3-letter upper-case ISO 4217 code");
    } else if (r.currency_code == reporting) {
      bad.Add(path + ".currency_code", "must differ from the reporting currency");
    }
    if (!seen.emplace(r.currency_code, r.effective_date).second) {
      bad.Add(path + ".effective_date", "repeats a (currency_code, effective_date) of the request");
    }
    if (!ParseRate(r.rate)) {
      bad.Add(path + ".rate", "must be a decimal > 0 with at most 18 significant digits");
    }
  }
  return bad.ToStatus("invalid exchange rates");
}

absl::StatusOr<std::vector<ExchangeRate>> SettingsBook::SetRates(
    const std::string& vendor_id, const std::vector<ExchangeRateInput>& rates) {
  RETURN_IF_ERROR(ValidateRates(vendor_id, rates));
  RateTable& table = rates_[vendor_id];
  size_t added = 0;
  for (const ExchangeRateInput& r : rates) {
    auto currency = table.rates.find(r.currency_code);
    if (currency == table.rates.end() || !currency->second.contains(r.effective_date)) ++added;
  }
  if (table.count + added > kMaxRatesPerVendor) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a vendor holds at most ", kMaxRatesPerVendor, " exchange rates"));
  }
  const absl::Time now = clock_.Now();
  std::vector<ExchangeRate> stored;
  for (const ExchangeRateInput& r : rates) {
    ExchangeRate rate{.currency_code = r.currency_code,
                      .effective_date = r.effective_date,
                      .rate = r.rate,
                      .value = *ParseRate(r.rate),
                      .update_time = now};
    table.rates[r.currency_code][r.effective_date] = rate;
    stored.push_back(std::move(rate));
  }
  table.count += added;
  ++table.version;
  return stored;
}

absl::Status SettingsBook::DeleteRate(const std::string& vendor_id,
                                      const std::string& currency_code,
                                      absl::CivilDay effective_date) {
  auto table = rates_.find(vendor_id);
  if (table == rates_.end()) return absl::NotFoundError("no such exchange rate");
  auto currency = table->second.rates.find(currency_code);
  if (currency == table->second.rates.end() || currency->second.erase(effective_date) == 0) {
    return absl::NotFoundError("no such exchange rate");
  }
  if (currency->second.empty()) table->second.rates.erase(currency);
  --table->second.count;
  ++table->second.version;
  return absl::OkStatus();
}

std::vector<ExchangeRate> SettingsBook::Rates(const std::string& vendor_id) const {
  std::vector<ExchangeRate> all;
  auto table = rates_.find(vendor_id);
  if (table == rates_.end()) return all;
  for (const auto& [currency, by_date] : table->second.rates) {
    for (const auto& [date, rate] : by_date) all.push_back(rate);
  }
  return all;
}

int64_t SettingsBook::RatesVersion(const std::string& vendor_id) const {
  auto table = rates_.find(vendor_id);
  return table == rates_.end() ? 0 : table->second.version;
}

std::optional<double> SettingsBook::RateOn(const std::string& vendor_id,
                                           const std::string& currency_code,
                                           absl::CivilDay day) const {
  if (currency_code == Get(vendor_id).reporting_currency_code) return 1.0;
  auto table = rates_.find(vendor_id);
  if (table == rates_.end()) return std::nullopt;
  auto currency = table->second.rates.find(currency_code);
  if (currency == table->second.rates.end()) return std::nullopt;
  auto it = currency->second.upper_bound(day);
  if (it == currency->second.begin()) return std::nullopt;
  return std::prev(it)->second.value;
}

}  // namespace prm::forecast
