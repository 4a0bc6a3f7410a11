#pragma once

// Translation between the forecast service's protos (prm.forecast.v1, prm.sales.v1) and its
// domain (domain/sales_ledger.h, domain/series_forecast.h). Validation of what only the proto
// can get wrong (enum values, unset messages) lives here; the domain validates the rest.
// Pure functions, thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "prm/common/v1/actor.pb.h"
#include "common/status/field_violations.h"
#include "prm/forecast/v1/forecast_resources.pb.h"
#include "prm/forecast/v1/forecast_service.pb.h"
#include "prm/partner/v1/partner_resources.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "services/forecast/domain/pipeline.h"
#include "services/forecast/domain/partner_accounts.h"
#include "prm/forecast/v1/forecast_service.pb.h"
#include "services/forecast/domain/backtest.h"
#include "services/forecast/domain/forecast_settings.h"
#include "services/forecast/domain/sales_ledger.h"
#include "services/forecast/domain/series_forecast.h"

namespace prm::forecast {

// The SaleRecorded document as a ledger Sale. INVALID_ARGUMENT naming every bad field — the
// proto-level ones (kind, returned_kind, sale_time unset, line currency) together with
// `ledger.Validate`'s — when the event breaks a proto-level rule; a Sale otherwise, which
// SalesLedger::Record then checks against the ledger's rules (so a valid sale is checked once).
absl::StatusOr<Sale> SaleFromProto(const prm::sales::v1::SaleRecorded& proto,
                                   const SalesLedger& ledger);

// A validated GetForecastRequest.
struct ForecastQuery {
  prm::forecast::v1::SeriesKey key;  // measure resolved
  SeriesSelector selector;
  Granularity granularity = Granularity::kWeek;
  int fiscal_year_start_month = 1;
  int horizon = 13;
  int history_periods = 0;
};

// INVALID_ARGUMENT naming every bad field of the request (series.vendor_id, series.level,
// series.partner_id, series.segment, series.measure, granularity, horizon, history_periods).
// `settings` (the vendor's) give the default measure, the fiscal quarters and the currency:
// only sales in the reporting currency enter forecasts until exchange rates are supported.
absl::StatusOr<ForecastQuery> QueryFromProto(const prm::forecast::v1::GetForecastRequest& request,
                                             const ForecastSettings& settings);

// The settings resource.
void ToProto(const ForecastSettings& settings, prm::forecast::v1::ForecastSettings* out);

// The change an UpdateForecastSettingsRequest asks for. INVALID_ARGUMENT naming every bad field
// it can see without the current state: settings.vendor_id, update_mask (missing, or a path that
// is not a writable field), settings.default_measure, request_id (AIP-155 form), and the value
// ranges SettingsBook::Validate checks. A stale etag is the domain's to find (ABORTED).
absl::StatusOr<SettingsChange> ChangeFromProto(
    const prm::forecast::v1::UpdateForecastSettingsRequest& request);

// The API's method enum (a combination is reported as ETS; its specification says which).
prm::forecast::v1::ForecastMethod MethodToProto(Method method);
// The method a request names; nullopt for UNSPECIFIED or an unknown value.
std::optional<Method> MethodFromProto(prm::forecast::v1::ForecastMethod method);

// Backtest accuracy.
void ToProto(const AccuracySummary& accuracy, prm::forecast::v1::Accuracy* out);

// The ERP accounts of a partner snapshot (Partner.external_ids).
std::vector<ErpAccount> AccountsOf(const prm::partner::v1::Partner& partner);

// The segment dimensions of a partner snapshot: types[0], sales_regions[0] (else
// hq_country_code), verticals[0].
PartnerProfile ProfileOf(const prm::partner::v1::Partner& partner);

// A request's segment as a filter.
SegmentFilter SegmentOf(const prm::forecast::v1::Segment& segment);

// The rate resource of `vendor_id`.
void ToProto(const std::string& vendor_id, const ExchangeRate& rate,
             prm::forecast::v1::ExchangeRate* out);

// The rates a SetExchangeRatesRequest asks for. `bad` receives every bad field the request shows
// on its own: vendor_id, request_id, rates (more than kMaxRatesPerRequest, the batch limit of
// common/server/limits.h: then nullopt, and none of the rates is read), rates[i].vendor_id (must
// equal vendor_id), rates[i].effective_date (missing or not a date); so that the caller can add
// the domain's (SettingsBook::ValidateRates) before failing.
std::optional<std::vector<ExchangeRateInput>> RatesFromProto(
    const prm::forecast::v1::SetExchangeRatesRequest& request, FieldViolations& bad);

// A valid prm.common.v1.Date (years 1900..9999), or nullopt.
std::optional<absl::CivilDay> DateFromProto(const prm::common::v1::Date& date);

// The caller as an event's actor.
prm::common::v1::Actor ActorOf(const auth::Principal& principal);

// Sets a Timestamp to `time` (microsecond precision).
void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out);

// OK for an empty request_id or 1..64 characters of [A-Za-z0-9_-]; else the violation is added.
void CheckRequestId(const std::string& request_id, FieldViolations& bad);

// The canonical series id, "<vendor>/<LEVEL>/<partner or ->/<category or *>/<MEASURE>".
std::string SeriesId(const prm::forecast::v1::SeriesKey& key);

// The pipeline parts of a forecast's points (statistical_mean, pipeline_mean, pipeline_weight)
// and its summary; without a blend (excluded), the points' statistical mean is their mean.
void SetPipeline(const PipelineBlend* blend, const std::vector<double>& statistical,
                 const std::string& currency, prm::forecast::v1::SeriesForecast* out);

// The SeriesForecast message of a computed forecast (no pipeline parts: SetPipeline).
void ToProto(const ForecastQuery& query, const SeriesForecast& forecast, absl::Time compute_time,
             prm::forecast::v1::SeriesForecast* out);

// Money in `currency` of an exact amount, and of a forecast value rounded to whole nanos.
prm::common::v1::Money ToMoney(const Amount& amount, const std::string& currency);

}  // namespace prm::forecast
