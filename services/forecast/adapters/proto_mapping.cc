#include "services/forecast/adapters/proto_mapping.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/server/limits.h"
#include "common/status/field_violations.h"

namespace prm::forecast {
namespace {

namespace fv1 = prm::forecast::v1;
namespace sv1 = prm::sales::v1;

prm::common::v1::Date ToDate(absl::CivilDay day) {
  prm::common::v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}


fv1::Measure MeasureToProto(Measure measure) {
  return measure == Measure::kSellThrough ? fv1::MEASURE_SELL_THROUGH : fv1::MEASURE_SELL_IN;
}

bool HasAnyDimension(const fv1::Segment& segment) {
  return segment.partner_type() != 0 || !segment.tier_id().empty() || !segment.region().empty() ||
         !segment.vertical().empty();
}

}  // namespace

std::optional<Method> MethodFromProto(fv1::ForecastMethod method) {
  for (Method m : {Method::kEts, Method::kTheta, Method::kSeasonalNaive, Method::kNaive,
                   Method::kCroston, Method::kSba, Method::kTsb, Method::kShortHistory,
                   Method::kNaive2}) {
    if (MethodToProto(m) == method) return m;
  }
  return std::nullopt;
}

fv1::ForecastMethod MethodToProto(Method method) {
  switch (method) {
    case Method::kEts:
      return fv1::FORECAST_METHOD_ETS;
    case Method::kTheta:
      return fv1::FORECAST_METHOD_THETA;
    case Method::kSeasonalNaive:
      return fv1::FORECAST_METHOD_SEASONAL_NAIVE;
    case Method::kNaive:
      return fv1::FORECAST_METHOD_NAIVE;
    case Method::kCroston:
      return fv1::FORECAST_METHOD_CROSTON;
    case Method::kSba:
      return fv1::FORECAST_METHOD_SBA;
    case Method::kTsb:
      return fv1::FORECAST_METHOD_TSB;
    case Method::kShortHistory:
      return fv1::FORECAST_METHOD_SHORT_HISTORY;
    case Method::kNaive2:
      return fv1::FORECAST_METHOD_NAIVE2;
    case Method::kCombination:
      // The enum has no combination value; the specification ("Comb(...)") says which.
      return fv1::FORECAST_METHOD_ETS;
  }
  return fv1::FORECAST_METHOD_UNSPECIFIED;
}

void ToProto(const AccuracySummary& accuracy, fv1::Accuracy* out) {
  out->set_smape(accuracy.smape);
  out->set_mase(accuracy.mase);
  out->set_owa(accuracy.owa);
  out->set_smape_naive2(accuracy.smape_naive2);
  out->set_mase_naive2(accuracy.mase_naive2);
  out->set_series_count(accuracy.series_count);
  out->set_point_count(accuracy.point_count);
}

prm::common::v1::Money ToMoney(const Amount& amount, const std::string& currency) {
  prm::common::v1::Money money;
  money.set_currency_code(currency);
  money.set_units(amount.units);
  money.set_nanos(amount.nanos);
  return money;
}

absl::StatusOr<Sale> SaleFromProto(const sv1::SaleRecorded& proto, const SalesLedger& ledger) {
  FieldViolations bad;
  Sale sale{.vendor_id = proto.vendor_id(),
            .erp_system_id = proto.erp_system_id(),
            .partner_external_id = proto.partner_external_id(),
            .document_id = proto.erp_document_id(),
            .currency_code = proto.currency_code()};
  switch (proto.kind()) {
    case sv1::SALE_KIND_SELL_IN:
      sale.kind = SaleKind::kSellIn;
      break;
    case sv1::SALE_KIND_SELL_THROUGH:
      sale.kind = SaleKind::kSellThrough;
      break;
    case sv1::SALE_KIND_RETURN:
      sale.kind = SaleKind::kReturn;
      break;
    default:
      bad.Add("kind", "must be SELL_IN, SELL_THROUGH or RETURN");
  }
  if (sale.kind == SaleKind::kReturn) {
    switch (proto.returned_kind()) {
      case sv1::SALE_KIND_UNSPECIFIED:
      case sv1::SALE_KIND_SELL_IN:
        sale.returned_measure = Measure::kSellIn;
        break;
      case sv1::SALE_KIND_SELL_THROUGH:
        sale.returned_measure = Measure::kSellThrough;
        break;
      default:
        bad.Add("returned_kind", "must be SELL_IN or SELL_THROUGH");
    }
  }
  if (proto.kind() == sv1::SALE_KIND_SELL_THROUGH && !proto.has_end_customer()) {
    bad.Add("end_customer", "is required for SELL_THROUGH");
  }
  if (proto.has_sale_time()) {
    const auto& t = proto.sale_time();
    if (t.nanos() < 0 || t.nanos() > 999'999'999) {
      bad.Add("sale_time", "has nanos out of range");
    } else {
      sale.sale_time = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
    }
  } else {
    bad.Add("sale_time", "is required");
    sale.sale_time = absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone());
  }
  for (int i = 0; i < proto.lines_size(); ++i) {
    const auto& line = proto.lines(i);
    if (line.amount().currency_code() != proto.currency_code()) {
      bad.Add(absl::StrCat("lines[", i, "].amount.currency_code"),
              "must equal the document's currency_code");
    }
    sale.lines.push_back({.product_category = line.product_category(),
                          .quantity = line.quantity(),
                          .amount = {line.amount().units(), line.amount().nanos()}});
  }
  if (bad.empty()) return sale;  // SalesLedger::Record checks the rest, naming every field
  for (const FieldViolation& v : FieldViolationsOf(ledger.Validate(sale))) {
    bad.Add(v.field, v.description);
  }
  return bad.ToStatus("the sale breaks the prm.sales.v1 contract");
}

absl::StatusOr<ForecastQuery> QueryFromProto(const fv1::GetForecastRequest& request,
                                             const ForecastSettings& settings) {
  FieldViolations bad;
  ForecastQuery query;
  query.key = request.series();
  const fv1::SeriesKey& key = request.series();
  if (!request.has_series()) bad.Add("series", "is required");
  if (key.vendor_id().empty()) bad.Add("series.vendor_id", "is required");
  const bool has_segment = key.has_segment() && HasAnyDimension(key.segment());
  switch (key.level()) {
    case fv1::FORECAST_LEVEL_PARTNER:
      if (key.partner_id().empty()) bad.Add("series.partner_id", "is required at PARTNER level");
      if (has_segment) bad.Add("series.segment", "must be unset at PARTNER level");
      break;
    case fv1::FORECAST_LEVEL_SEGMENT:
      if (!has_segment) bad.Add("series.segment", "needs at least one dimension at SEGMENT level");
      if (!key.partner_id().empty()) {
        bad.Add("series.partner_id", "must be empty at SEGMENT level");
      }
      break;
    case fv1::FORECAST_LEVEL_VENDOR:
      if (!key.partner_id().empty()) bad.Add("series.partner_id", "must be empty at VENDOR level");
      if (has_segment) bad.Add("series.segment", "must be unset at VENDOR level");
      break;
    default:
      bad.Add("series.level", "must be PARTNER, SEGMENT or VENDOR");
  }
  switch (key.measure()) {
    case fv1::MEASURE_UNSPECIFIED:
      query.selector.measure = settings.default_measure;
      query.key.set_measure(MeasureToProto(settings.default_measure));
      break;
    case fv1::MEASURE_SELL_IN:
      query.selector.measure = Measure::kSellIn;
      break;
    case fv1::MEASURE_SELL_THROUGH:
      query.selector.measure = Measure::kSellThrough;
      break;
    default:
      bad.Add("series.measure", "must be SELL_IN or SELL_THROUGH");
  }
  int max_horizon = 0;
  switch (request.granularity()) {
    case fv1::GRANULARITY_WEEK:
      query.granularity = Granularity::kWeek;
      max_horizon = 104;
      break;
    case fv1::GRANULARITY_MONTH:
      query.granularity = Granularity::kMonth;
      max_horizon = 36;
      break;
    case fv1::GRANULARITY_QUARTER:
      query.granularity = Granularity::kQuarter;
      max_horizon = 12;
      break;
    default:
      bad.Add("granularity", "must be WEEK, MONTH or QUARTER");
  }
  if (request.horizon() < 0 || (max_horizon > 0 && request.horizon() > max_horizon)) {
    bad.Add("horizon", absl::StrCat("must be in 0..", max_horizon > 0 ? max_horizon : 104,
                                    " for the granularity"));
  }
  if (request.history_periods() < 0 || request.history_periods() > 520) {
    bad.Add("history_periods", "must be in 0..520");
  }
  if (!bad.empty()) return bad.ToStatus("invalid forecast request");
  query.horizon =
      request.horizon() == 0 ? DefaultHorizon(query.granularity) : request.horizon();
  query.history_periods = request.history_periods();
  query.selector.vendor_id = key.vendor_id();
  // PARTNER-level accounts are resolved by the caller (PartnerAccounts).
  query.selector.product_category = key.product_category();
  query.selector.currency_code = settings.reporting_currency_code;
  query.fiscal_year_start_month = settings.fiscal_year_start_month;
  return query;
}

std::string SeriesId(const fv1::SeriesKey& key) {
  std::string level = fv1::ForecastLevel_Name(key.level());
  std::string measure = fv1::Measure_Name(key.measure());
  constexpr std::string_view kLevelPrefix = "FORECAST_LEVEL_";
  constexpr std::string_view kMeasurePrefix = "MEASURE_";
  if (level.rfind(kLevelPrefix, 0) == 0) level.erase(0, kLevelPrefix.size());
  if (measure.rfind(kMeasurePrefix, 0) == 0) measure.erase(0, kMeasurePrefix.size());
  std::string partner = key.partner_id().empty() ? "-" : key.partner_id();
  if (key.level() == fv1::FORECAST_LEVEL_SEGMENT) {
    const auto& s = key.segment();
    partner = absl::StrCat(prm::common::v1::PartnerType_Name(s.partner_type()), ",", s.tier_id(),
                           ",", s.region(), ",", s.vertical());
  }
  const std::string category = key.product_category().empty() ? "*" : key.product_category();
  return absl::StrJoin({key.vendor_id(), level, partner, category, measure}, "/");
}

void SetPipeline(const PipelineBlend* blend, const std::vector<double>& statistical,
                 const std::string& currency, fv1::SeriesForecast* out) {
  for (int i = 0; i < out->points_size(); ++i) {
    fv1::ForecastPoint* point = out->mutable_points(i);
    const size_t h = static_cast<size_t>(i);
    *point->mutable_statistical_mean() =
        h < statistical.size() ? ToMoney(Amount::FromDouble(statistical[h]), currency)
                               : point->mean();
    const bool blended = blend != nullptr && h < blend->pipeline.size();
    *point->mutable_pipeline_mean() =
        ToMoney(Amount::FromDouble(blended ? blend->pipeline[h] : 0), currency);
    point->set_pipeline_weight(blended ? blend->weight[h] : 0);
  }
  if (blend == nullptr) return;
  fv1::PipelineSummary* summary = out->mutable_pipeline();
  summary->set_open_deal_count(blend->open_deal_count);
  *summary->mutable_open_value() = ToMoney(Amount::FromDouble(blend->open_value), currency);
  *summary->mutable_expected_value() =
      ToMoney(Amount::FromDouble(blend->expected_value), currency);
  summary->set_blend_periods(blend->blend_periods);
}

void ToProto(const ForecastQuery& query, const SeriesForecast& forecast, absl::Time compute_time,
             fv1::SeriesForecast* out) {
  const std::string currency = query.selector.currency_code;
  out->set_series_id(SeriesId(query.key));
  *out->mutable_series() = query.key;
  out->set_granularity(static_cast<fv1::Granularity>(static_cast<int>(query.granularity) + 1));
  out->set_currency_code(currency);
  const Forecast& f = forecast.forecast;
  for (size_t i = 0; i < f.mean.size(); ++i) {
    fv1::ForecastPoint* point = out->add_points();
    *point->mutable_period_start() = ToDate(forecast.future_periods[i].first);
    *point->mutable_period_end() = ToDate(forecast.future_periods[i].second);
    *point->mutable_mean() = ToMoney(Amount::FromDouble(f.mean[i]), currency);
    *point->mutable_lower_80() = ToMoney(Amount::FromDouble(f.lower80[i]), currency);
    *point->mutable_upper_80() = ToMoney(Amount::FromDouble(f.upper80[i]), currency);
    *point->mutable_lower_95() = ToMoney(Amount::FromDouble(f.lower95[i]), currency);
    *point->mutable_upper_95() = ToMoney(Amount::FromDouble(f.upper95[i]), currency);
  }
  const auto& periods = forecast.history.periods;
  const size_t keep = std::min(periods.size(), static_cast<size_t>(query.history_periods));
  for (size_t i = periods.size() - keep; i < periods.size(); ++i) {
    fv1::ActualPoint* actual = out->add_history();
    *actual->mutable_period_start() = ToDate(periods[i].start);
    *actual->mutable_period_end() = ToDate(periods[i].end);
    *actual->mutable_actual() = ToMoney(periods[i].amount, currency);
  }
  fv1::ModelSummary* model = out->mutable_model();
  model->set_method(MethodToProto(f.model.method));
  model->set_specification(f.model.specification);
  for (const auto& [name, value] : f.model.parameters) (*model->mutable_parameters())[name] = value;
  model->set_season_length(f.model.season_length);
  if (f.model.aicc) model->set_aicc(*f.model.aicc);
  for (size_t i = 0; i < f.model.candidates.size() && i < 30; ++i) {
    const ModelCandidate& c = f.model.candidates[i];
    fv1::ModelCandidate* candidate = model->add_candidates();
    candidate->set_method(MethodToProto(c.method));
    candidate->set_specification(c.specification);
    if (c.aicc) candidate->set_aicc(*c.aicc);
  }
  out->set_reconciliation(fv1::RECONCILIATION_UNSPECIFIED);
  out->set_history_length(static_cast<int32_t>(periods.size()));
  SetTimestamp(forecast.history.data_through, out->mutable_data_through_time());
  SetTimestamp(compute_time, out->mutable_compute_time());
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  out->set_seconds(micros / 1'000'000 - (micros % 1'000'000 < 0 ? 1 : 0));
  out->set_nanos(static_cast<int32_t>(((micros % 1'000'000) + 1'000'000) % 1'000'000 * 1000));
}

std::optional<absl::CivilDay> DateFromProto(const prm::common::v1::Date& date) {
  if (date.year() < 1900 || date.year() > 9999 || date.month() < 1 || date.month() > 12 ||
      date.day() < 1) {
    return std::nullopt;
  }
  absl::CivilDay day(date.year(), date.month(), date.day());
  if (day.month() != date.month() || day.day() != date.day()) return std::nullopt;
  return day;
}

void ToProto(const std::string& vendor_id, const ExchangeRate& rate, fv1::ExchangeRate* out) {
  out->set_vendor_id(vendor_id);
  out->set_currency_code(rate.currency_code);
  *out->mutable_effective_date() = ToDate(rate.effective_date);
  out->set_rate(rate.rate);
  SetTimestamp(rate.update_time, out->mutable_update_time());
}

std::optional<std::vector<ExchangeRateInput>> RatesFromProto(
    const fv1::SetExchangeRatesRequest& request, FieldViolations& bad) {
  if (request.vendor_id().empty()) bad.Add("vendor_id", "is required");
  CheckRequestId(request.request_id(), bad);
  if (!server::CheckBatchSize(request.rates_size(), kMaxRatesPerRequest, "rates", bad)) {
    return std::nullopt;
  }
  std::vector<ExchangeRateInput> rates;
  for (int i = 0; i < request.rates_size(); ++i) {
    const fv1::ExchangeRate& r = request.rates(i);
    const std::string path = absl::StrCat("rates[", i, "]");
    if (r.vendor_id() != request.vendor_id()) {
      bad.Add(path + ".vendor_id", "must equal the request's vendor_id");
    }
    std::optional<absl::CivilDay> day;
    if (r.has_effective_date()) day = DateFromProto(r.effective_date());
    if (!day) bad.Add(path + ".effective_date", "is required and must be a valid date");
    rates.push_back({.currency_code = r.currency_code(),
                     .effective_date = day.value_or(absl::CivilDay(1900, 1, 1)),
                     .rate = r.rate()});
  }
  return rates;
}

prm::common::v1::Actor ActorOf(const auth::Principal& principal) {
  prm::common::v1::Actor actor;
  switch (principal.role) {
    case auth::Role::kVendorAdmin:
      actor.set_role(prm::common::v1::ROLE_VENDOR_ADMIN);
      break;
    case auth::Role::kChannelManager:
      actor.set_role(prm::common::v1::ROLE_CHANNEL_MANAGER);
      break;
    case auth::Role::kPartnerUser:
      actor.set_role(prm::common::v1::ROLE_PARTNER_USER);
      break;
    case auth::Role::kConcierge:
      actor.set_role(prm::common::v1::ROLE_CONCIERGE);
      break;
    case auth::Role::kErpIntegration:
      actor.set_role(prm::common::v1::ROLE_ERP_INTEGRATION);
      break;
    case auth::Role::kService:
      actor.set_role(prm::common::v1::ROLE_SERVICE);
      break;
  }
  actor.set_subject(principal.subject);
  actor.set_partner_id(principal.partner_id);
  actor.set_worker_id(principal.worker_id);
  return actor;
}

void ToProto(const ForecastSettings& settings, fv1::ForecastSettings* out) {
  out->set_vendor_id(settings.vendor_id);
  out->set_reporting_currency_code(settings.reporting_currency_code);
  out->set_default_measure(MeasureToProto(settings.default_measure));
  out->set_fiscal_year_start_month(settings.fiscal_year_start_month);
  out->set_pipeline_blend_periods(settings.pipeline_blend_periods);
  out->set_version(settings.version);
  out->set_etag(settings.etag());
  if (settings.update_time) SetTimestamp(*settings.update_time, out->mutable_update_time());
}

void CheckRequestId(const std::string& request_id, FieldViolations& bad) {
  const bool ok = request_id.size() <= 64 &&
                  std::all_of(request_id.begin(), request_id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_';
                  });
  if (!ok) bad.Add("request_id", "must be 1..64 characters of [A-Za-z0-9_-]");
}

absl::StatusOr<SettingsChange> ChangeFromProto(const fv1::UpdateForecastSettingsRequest& request) {
  FieldViolations bad;
  SettingsChange change;
  const fv1::ForecastSettings& s = request.settings();
  if (s.vendor_id().empty()) bad.Add("settings.vendor_id", "is required");
  CheckRequestId(request.request_id(), bad);
  change.etag = s.etag();
  if (!request.has_update_mask() || request.update_mask().paths_size() == 0) {
    bad.Add("update_mask", "is required");
  }
  std::optional<Measure> measure;
  switch (s.default_measure()) {
    case fv1::MEASURE_UNSPECIFIED:  // back to the default
    case fv1::MEASURE_SELL_IN:
      measure = Measure::kSellIn;
      break;
    case fv1::MEASURE_SELL_THROUGH:
      measure = Measure::kSellThrough;
      break;
    default:
      break;
  }
  for (const std::string& path : request.update_mask().paths()) {
    const bool all = path == "*";
    if (all || path == "reporting_currency_code") {
      change.reporting_currency_code = s.reporting_currency_code();
    }
    if (all || path == "default_measure") {
      if (measure) {
        change.default_measure = measure;
      } else {
        bad.Add("settings.default_measure", "must be SELL_IN or SELL_THROUGH");
      }
    }
    if (all || path == "fiscal_year_start_month") {
      change.fiscal_year_start_month = s.fiscal_year_start_month();
    }
    if (all || path == "pipeline_blend_periods") {
      change.pipeline_blend_periods = s.pipeline_blend_periods();
    }
    if (!all && path != "reporting_currency_code" && path != "default_measure" &&
        path != "fiscal_year_start_month" && path != "pipeline_blend_periods") {
      bad.Add("update_mask", absl::StrCat("\"", path, "\" is not a writable field"));
    }
  }
  for (const FieldViolation& v :
       FieldViolationsOf(SettingsBook::Validate(s.vendor_id(), change))) {
    if (v.field != "settings.vendor_id") bad.Add(v.field, v.description);
  }
  if (!bad.empty()) return bad.ToStatus("invalid settings update");
  return change;
}

PartnerProfile ProfileOf(const prm::partner::v1::Partner& partner) {
  PartnerProfile profile;
  if (partner.types_size() > 0) profile.partner_type = partner.types(0);
  profile.region =
      partner.sales_regions_size() > 0 ? partner.sales_regions(0) : partner.hq_country_code();
  if (partner.verticals_size() > 0) profile.vertical = partner.verticals(0);
  return profile;
}

SegmentFilter SegmentOf(const fv1::Segment& segment) {
  return {.partner_type = segment.partner_type(),
          .tier_id = segment.tier_id(),
          .region = segment.region(),
          .vertical = segment.vertical()};
}

std::vector<ErpAccount> AccountsOf(const prm::partner::v1::Partner& partner) {
  std::vector<ErpAccount> accounts;
  for (const auto& id : partner.external_ids()) {
    accounts.push_back({id.vendor_id(), id.erp_system_id(), id.account_id()});
  }
  return accounts;
}

}  // namespace prm::forecast
