#include "services/forecast/domain/forecast_settings.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"

namespace prm::forecast {

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
    const std::string& code = *change.reporting_currency_code;
    if (code.size() != 3 ||
        !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
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
  settings_[vendor_id] = next;
  return next;
}

}  // namespace prm::forecast
