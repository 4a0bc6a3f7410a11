#include "services/forecast/adapters/service.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/auth/principal.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/consumer.h"
#include "common/runtime/periodic_task.h"
#include "common/runtime/service_runtime.h"
#include "common/server/call_context.h"
#include "common/server/limits.h"
#include "common/server/list_query.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/storage/command_log.h"
#include "common/storage/outbox.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/forecast/v1/forecast_events.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "services/forecast/adapters/proto_mapping.h"
#include "services/forecast/domain/backtest.h"
#include "services/forecast/domain/deal_book.h"
#include "services/forecast/domain/forecast_book.h"
#include "services/forecast/domain/partner_accounts.h"
#include "services/forecast/domain/pipeline.h"
#include "services/forecast/domain/sales_ledger.h"
#include "services/forecast/domain/series_forecast.h"
#include "spdlog/spdlog.h"

namespace prm::forecast {
namespace {

namespace fv1 = prm::forecast::v1;

// Command kinds: a consumed event's type, or a write RPC's name.
constexpr char kSaleRecordedType[] = "prm.sales.SaleRecorded.v1";
// A run of consumed SaleRecorded events logged as one command (ForecastState::ApplySales).
constexpr char kSalesRecordedKind[] = "SaleRecordedRun";
constexpr char kPartnerCreatedType[] = "prm.partner.PartnerCreated.v1";
constexpr char kPartnerUpdatedType[] = "prm.partner.PartnerUpdated.v1";
constexpr char kPartnerDeletedType[] = "prm.partner.PartnerDeleted.v1";
constexpr char kTierChangedType[] = "prm.partner.TierChanged.v1";
constexpr char kDealSubmittedType[] = "prm.deal.DealSubmitted.v1";
constexpr char kDealWonType[] = "prm.deal.DealWon.v1";
constexpr char kDealLostType[] = "prm.deal.DealLost.v1";
constexpr char kDealExpiredType[] = "prm.deal.DealExpired.v1";
constexpr char kDealDeletedType[] = "prm.deal.DealDeleted.v1";
constexpr char kUpdateSettingsKind[] = "UpdateForecastSettings";
constexpr char kSetRatesKind[] = "SetExchangeRates";
constexpr char kDeleteRateKind[] = "DeleteExchangeRate";
constexpr char kRatesChangedType[] = "prm.forecast.ExchangeRatesChanged.v1";
constexpr char kForecastUpdatedType[] = "prm.forecast.ForecastUpdated.v1";
// The forecasts a refresh published: one line per forecast, "<granularity> <version> <digest>
// <series id>".
constexpr char kForecastsPublishedKind[] = "ForecastsPublished";

// The stored forecasts (SPEC §7.7) are those of every series at these granularities, at their
// default horizon, with this much history kept for reads.
constexpr fv1::Granularity kStoredGranularities[] = {
    fv1::GRANULARITY_WEEK, fv1::GRANULARITY_MONTH, fv1::GRANULARITY_QUARTER};
constexpr int kStoredHistoryPeriods = 520;

// FNV-1a, 64 bits: the digest of a forecast's content, stable across processes and builds.
uint64_t Digest(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// Deal events carrying the whole deal (field 2), the projection's input: velocity and pipeline.
bool IsDealSnapshotType(const std::string& type) {
  static const std::set<std::string> kTypes = {
      "prm.deal.DealCreated.v1",    "prm.deal.DealUpdated.v1",
      kDealSubmittedType,           "prm.deal.DealReviewStarted.v1",
      "prm.deal.DealReturned.v1",   "prm.deal.DealApproved.v1",
      "prm.deal.DealRejected.v1",   "prm.deal.DealCancelled.v1",
      kDealWonType,                 kDealLostType,
      kDealExpiredType,             "prm.deal.DealProtectionExtended.v1"};
  return kTypes.contains(type);
}

// Issue 7: the times of a consumed deal event (submitted, closed, the event's own) must be from
// 1990-01-01 to one day past `now`; a deal event with another one is poison.
absl::Status CheckDealEvent(const prm::deal::v1::Deal& deal,
                            const prm::common::v1::EventMetadata& metadata, absl::Time now) {
  FieldViolations bad;
  if (deal.vendor_id().empty()) bad.Add("deal.vendor_id", "is required");
  if (deal.partner_id().empty()) bad.Add("deal.partner_id", "is required");
  if (!prm::deal::v1::DealState_IsValid(deal.state())) bad.Add("deal.state", "is not a DealState");
  const int64_t earliest =
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone()));
  const int64_t latest = absl::ToUnixSeconds(now + absl::Hours(24));
  auto check = [&](bool has, const google::protobuf::Timestamp& t, const char* field) {
    if (has && (t.seconds() < earliest || t.seconds() > latest)) {
      bad.Add(field, "must be from 1990-01-01 to 1 day in the future");
    }
  };
  check(deal.review().has_submit_time(), deal.review().submit_time(), "deal.review.submit_time");
  check(deal.outcome().has_close_time(), deal.outcome().close_time(), "deal.outcome.close_time");
  check(metadata.has_event_time(), metadata.event_time(), "metadata.event_time");
  return bad.ToStatus("the deal event is invalid");
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Who may read a series (SPEC §3.2; the service's access rules): vendor staff and services their
// vendors' series; partner users only PARTNER-level series of their own partner. ERP
// integrations publish sales and read nothing.
absl::Status AuthorizeRead(const auth::Principal& principal, const fv1::SeriesKey& key) {
  if (principal.role == auth::Role::kErpIntegration || !principal.CoversVendor(key.vendor_id())) {
    return absl::PermissionDeniedError("the caller may not read this vendor's forecasts");
  }
  if (principal.role == auth::Role::kPartnerUser &&
      (key.level() != fv1::FORECAST_LEVEL_PARTNER || !principal.IsPartner(key.partner_id()))) {
    return absl::PermissionDeniedError(
        "a partner user reads only PARTNER-level series of its own partner");
  }
  return absl::OkStatus();
}

// Settings: staff and services of the vendor read them; vendor admins and services change them.
absl::Status AuthorizeSettings(const auth::Principal& principal, const std::string& vendor_id,
                               bool write) {
  const bool staff = principal.role == auth::Role::kVendorAdmin ||
                     principal.role == auth::Role::kService ||
                     (!write && (principal.role == auth::Role::kChannelManager ||
                                 principal.role == auth::Role::kConcierge));
  if (!staff || !principal.CoversVendor(vendor_id)) {
    return absl::PermissionDeniedError(write ? "the caller may not change this vendor's settings"
                                             : "the caller may not read this vendor's settings");
  }
  return absl::OkStatus();
}

// The filter fields of a segment (ListSegments, RunBacktest).
void AddSegmentFilterFields(server::FilterSchema& schema) {
  schema["segment.partner_type"] = server::FilterFieldType::kEnum;
  schema["segment.tier_id"] = server::FilterFieldType::kString;
  schema["segment.region"] = server::FilterFieldType::kString;
  schema["segment.vertical"] = server::FilterFieldType::kString;
}

// A segment's values of the AddSegmentFilterFields fields (none for another field, or without
// a segment).
std::vector<server::FilterValue> SegmentFilterValues(const fv1::Segment* segment,
                                                     absl::string_view field) {
  if (segment == nullptr) return {};
  if (field == "segment.partner_type") {
    return {prm::common::v1::PartnerType_Name(segment->partner_type())};
  }
  if (field == "segment.tier_id") return {segment->tier_id()};
  if (field == "segment.region") return {segment->region()};
  if (field == "segment.vertical") return {segment->vertical()};
  return {};
}

// A write RPC's command payload: the caller (the actor of the events it emits, also on replay;
// and a request_id reused by another caller is then refused instead of answered with the first
// caller's reply) and the request, both deterministic bytes: "<actor length>:<actor><request>".
std::string EncodeCommand(const auth::Principal& principal,
                          const google::protobuf::Message& request) {
  const std::string actor = events::SerializeDeterministically(ActorOf(principal));
  return absl::StrCat(actor.size(), ":", actor, events::SerializeDeterministically(request));
}

absl::Status DecodeCommand(const std::string& payload, prm::common::v1::Actor* actor,
                           google::protobuf::Message* request) {
  const size_t colon = payload.find(':');
  size_t length = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(payload).substr(0, colon), &length) ||
      length > payload.size() - colon - 1 ||
      !actor->ParseFromString(payload.substr(colon + 1, length)) ||
      !request->ParseFromString(payload.substr(colon + 1 + length))) {
    return absl::InternalError("a logged command payload does not parse");
  }
  return absl::OkStatus();
}

// A fresh random event id in UUID v4 form. Event ids need not be reproducible: replay writes no
// events.
std::string NewEventId() {
  static std::mutex mu;
  static std::mt19937_64 random(std::random_device{}());
  std::lock_guard lock(mu);
  uint64_t hi = random();
  uint64_t lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::string hex = absl::StrCat(absl::Hex(hi, absl::kZeroPad16), absl::Hex(lo, absl::kZeroPad16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

// The service's state: the sales ledger, the partner-account mapping, the deal book and the
// vendors' settings and exchange rates, made durable by the command log (every consumed event and
// every write RPC is a logged command, replayed at start-up). Reads take the shared lock;
// commands the exclusive one. Thread-safe.
class ForecastState {
 public:
  explicit ForecastState(runtime::Runtime& runtime)
      : runtime_(runtime),
        log_(runtime.db(), runtime.clock()),
        ledger_(log_.clock()),
        settings_(log_.clock()) {}

  const Clock& clock() const { return log_.clock(); }

  // Rebuilds the state from the log; call once before serving.
  absl::Status Replay() {
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(command_log::CommandLog::Replayed replayed,
                     log_.Replay([&](const command_log::Command& command) {
                       return Apply(command, nullptr);
                     }));
    spdlog::info("forecast: replayed {} commands ({} documents) in {} ms", replayed.commands,
                 ledger_.document_count(), absl::ToInt64Milliseconds(absl::Now() - start));
    return absl::OkStatus();
  }

  // A run of consumed SaleRecorded events, applied and logged as one command inside the runtime's
  // transaction: its payload holds each sale's bytes, its reply each sale's outcome, so replay
  // gives every sale the same outcome again. No processed-events row is written: the ledger
  // identifies a document by itself (vendor, ERP system, document id), so a redelivered sale is a
  // duplicate there and changes nothing. Returns one status per event: INVALID_ARGUMENT (to the
  // DLQ) for a sale that breaks the sales contract, which changes nothing.
  std::vector<absl::Status> ApplySales(absl::Span<const runtime::ConsumedEvent> events,
                                       sqlite::Transaction& tx) {
    std::vector<const prm::sales::v1::SaleRecorded*> sales;
    sales.reserve(events.size());
    std::string payload;
    for (const runtime::ConsumedEvent& e : events) {
      const auto* sale = static_cast<const prm::sales::v1::SaleRecorded*>(e.payload.get());
      sales.push_back(sale);
      // The bytes as received when they are the binary encoding (they parse to `sale`).
      AppendSale(*sale, e.event.data_content_type == events::content_type::kProtobuf
                            ? std::optional<std::string_view>(e.event.data)
                            : std::nullopt,
                 &payload);
    }
    std::vector<absl::Status> statuses;
    absl::Status logged =
        log_.ExecuteIn(tx, {.kind = kSalesRecordedKind, .payload = std::move(payload)},
                       [&](sqlite::Transaction&, const command_log::Command&) {
                         return RecordSales(sales, &statuses);
                       })
            .status();
    // Nothing was applied when the log fails before applying (it aborts the process after).
    if (!logged.ok()) return {absl::UnavailableError(logged.ToString())};
    return statuses;
  }

  // A write RPC: applied and logged in one transaction with its events; returns the serialized
  // reply (the logged one for a retried request_id).
  absl::StatusOr<std::string> Execute(command_log::Command command) {
    absl::StatusOr<std::string> reply = log_.Execute(
        std::move(command),
        [&](sqlite::Transaction& t, const command_log::Command& c) { return Apply(c, &t); });
    if (reply.ok()) runtime_.relay().Notify();
    return reply;
  }

  ForecastSettings Settings(const std::string& vendor_id) const {
    std::shared_lock lock(mu_);
    return settings_.Get(vendor_id);
  }

  std::vector<ExchangeRate> Rates(const std::string& vendor_id) const {
    std::shared_lock lock(mu_);
    return settings_.Rates(vendor_id);
  }

  absl::Status ValidateRates(const std::string& vendor_id,
                             const std::vector<ExchangeRateInput>& rates) const {
    std::shared_lock lock(mu_);
    return settings_.ValidateRates(vendor_id, rates);
  }

  // The series' history (other currencies converted) under the read lock; the engine then runs
  // without it. PARTNER and SEGMENT series sum the ERP accounts of their partners now, a
  // SEGMENT's each on the days its partner was in the segment's tier.
  absl::StatusOr<SeriesHistory> Series(const ForecastQuery& query) const {
    std::shared_lock lock(mu_);
    SeriesSelector selector = query.selector;
    Select(query.key, selector);
    return ledger_.Series(selector, query.granularity, query.fiscal_year_start_month,
                          RatesOf(selector.vendor_id));
  }

  // The children of a SEGMENT or VENDOR series for bottom-up reconciliation: each partner's
  // series, and at VENDOR level the sales of accounts no partner owns (yet). Empty for PARTNER.
  // A child of a SEGMENT or VENDOR series, with an id that names its content within the query's
  // vendor, category, measure and granularity: "<partner>@always", "<partner>@<day spans>" or
  // "(unowned)".
  struct Child {
    std::string id;
    SeriesHistory history;
  };

  static std::string ChildId(const std::string& partner, const DaySpans& days) {
    std::string id = absl::StrCat(partner, "@");
    if (IsEveryDay(days)) {
      return id + "always";
    }
    for (const auto& [first, end] : days) {
      absl::StrAppend(&id, absl::FormatCivilTime(first), "..", absl::FormatCivilTime(end), ",");
    }
    return id;
  }

  std::vector<Child> Children(const ForecastQuery& query) const {
    std::shared_lock lock(mu_);
    std::vector<Child> children;
    if (query.key.level() == fv1::FORECAST_LEVEL_PARTNER) return children;
    const std::string& vendor = query.selector.vendor_id;
    std::map<std::string, DaySpans> partners;
    if (query.key.level() == fv1::FORECAST_LEVEL_SEGMENT) {
      partners = accounts_.PartnerDaysInSegment(vendor, SegmentOf(query.key.segment()));
    } else {
      for (const std::string& partner : accounts_.PartnersOf(vendor)) {
        partners.emplace(partner, EveryDay());
      }
    }
    for (const auto& [partner, days] : partners) {
      SeriesSelector selector = query.selector;
      selector.accounts.emplace();
      SelectPartner(vendor, partner, days, selector);
      absl::StatusOr<SeriesHistory> history = ledger_.Series(
          selector, query.granularity, query.fiscal_year_start_month, RatesOf(vendor));
      if (history.ok()) children.push_back({ChildId(partner, days), *std::move(history)});
    }
    if (query.key.level() == fv1::FORECAST_LEVEL_VENDOR) {
      SeriesSelector unowned = query.selector;
      unowned.excluded_accounts = accounts_.OwnedAccountKeys(vendor);
      absl::StatusOr<SeriesHistory> history = ledger_.Series(
          unowned, query.granularity, query.fiscal_year_start_month, RatesOf(vendor));
      if (history.ok()) children.push_back({"(unowned)", *std::move(history)});
    }
    return children;
  }

  struct SegmentSize {
    fv1::Segment segment;
    int32_t partner_count = 0;
    double trailing_revenue = 0;
  };

  // The vendor's segments with their partner counts and net sales over [start, end] in
  // `selector`'s measure and currency.
  std::vector<SegmentSize> Segments(const SeriesSelector& selector, absl::Time start,
                                    absl::Time end) const {
    std::shared_lock lock(mu_);
    std::vector<SegmentSize> sizes;
    for (const auto& [key, members] : accounts_.Segments(selector.vendor_id)) {
      const auto& [type, tier, region, vertical] = key;
      SegmentSize size;
      size.segment.set_partner_type(static_cast<prm::common::v1::PartnerType>(type));
      size.segment.set_tier_id(tier);
      size.segment.set_region(region);
      size.segment.set_vertical(vertical);
      size.partner_count = static_cast<int32_t>(members.current.size());
      SeriesSelector sales = selector;
      sales.accounts.emplace();
      for (const auto& [partner, days] : members.days) {
        SelectPartner(selector.vendor_id, partner, days, sales);
      }
      for (const CategoryAmount& c :
           ledger_.Mix(sales, start, end, RatesOf(selector.vendor_id))) {
        size.trailing_revenue += c.amount.ToDouble();
      }
      // A segment no partner is in now is listed while it has sales in the window.
      if (size.partner_count > 0 || size.trailing_revenue != 0) sizes.push_back(std::move(size));
    }
    return sizes;
  }

  // The product mix of the key's partners over [start, end].
  std::vector<CategoryAmount> Mix(SeriesSelector selector, const fv1::SeriesKey& key,
                                  absl::Time start, absl::Time end) const {
    std::shared_lock lock(mu_);
    Select(key, selector);
    return ledger_.Mix(selector, start, end, RatesOf(selector.vendor_id));
  }

  // A series a backtest evaluates, with its segment: the partner's now at PARTNER level, the
  // segment itself at SEGMENT level, none for the vendor total.
  struct BacktestCandidate {
    fv1::SeriesKey key;
    std::optional<fv1::Segment> segment;
    SeriesHistory history;
  };

  // The series of a backtest at the query's level that `keep` accepts and that have sales: the
  // vendor's partners by id (PARTNER), its segments as ListSegments has them (SEGMENT; each
  // sale in the tier of its day) or the vendor total — each of them `by_category` too, one
  // series per product category of the vendor's sales; at most `limit` + 1 (so that the caller
  // can tell "too many").
  std::vector<BacktestCandidate> BacktestSeries(
      const ForecastQuery& query, bool by_category, size_t limit,
      absl::FunctionRef<bool(const fv1::SeriesKey&, const fv1::Segment*)> keep) const {
    std::shared_lock lock(mu_);
    const std::string& vendor = query.selector.vendor_id;
    fv1::SeriesKey base = query.key;
    base.clear_partner_id();
    base.clear_segment();
    std::vector<std::pair<fv1::SeriesKey, std::optional<fv1::Segment>>> keys;
    if (query.key.level() == fv1::FORECAST_LEVEL_VENDOR) {
      keys.emplace_back(base, std::nullopt);
    } else {
      for (const auto& [segment_key, members] : accounts_.Segments(vendor)) {
        const auto& [type, tier, region, vertical] = segment_key;
        fv1::Segment segment;
        segment.set_partner_type(static_cast<prm::common::v1::PartnerType>(type));
        segment.set_tier_id(tier);
        segment.set_region(region);
        segment.set_vertical(vertical);
        if (query.key.level() == fv1::FORECAST_LEVEL_SEGMENT) {
          fv1::SeriesKey& key = keys.emplace_back(base, segment).first;
          *key.mutable_segment() = segment;
          continue;
        }
        for (const std::string& partner : members.current) {
          keys.emplace_back(base, segment).first.set_partner_id(partner);
        }
      }
      if (query.key.level() == fv1::FORECAST_LEVEL_PARTNER) {
        std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
          return a.first.partner_id() < b.first.partner_id();
        });
      }
    }
    if (by_category) {
      const std::vector<std::string> categories = ledger_.Categories(vendor);
      std::vector<std::pair<fv1::SeriesKey, std::optional<fv1::Segment>>> per_category;
      for (const auto& [key, segment] : keys) {
        for (const std::string& category : categories) {
          per_category.emplace_back(key, segment).first.set_product_category(category);
        }
      }
      keys = std::move(per_category);
    }
    std::vector<BacktestCandidate> candidates;
    for (auto& [key, segment] : keys) {
      if (candidates.size() > limit) break;
      if (!keep(key, segment ? &*segment : nullptr)) continue;
      SeriesSelector selector = query.selector;
      selector.product_category = key.product_category();
      Select(key, selector);
      absl::StatusOr<SeriesHistory> history =
          ledger_.Series(selector, query.granularity, query.fiscal_year_start_month,
                         RatesOf(vendor));
      if (history.ok()) {
        candidates.push_back({std::move(key), std::move(segment), *std::move(history)});
      }
    }
    return candidates;
  }

  struct PipelineInputs {
    std::vector<OpenDeal> open;
    StageProbabilities probabilities;
    double won_value = 0;
  };

  // The pipeline of a forecast (SPEC §7.3): the open registered deals of the key's partners, in
  // the query's currency (deals without a rate on their expected close date are left out) and
  // of its product category only when one is set; the win probabilities learned from all the
  // vendor's closed deals; and the value of the key's deals won on the days [from, through]
  // (converted on their close day; a category's share of each deal's value for a category).
  PipelineInputs Pipeline(const ForecastQuery& query, absl::CivilDay from,
                          absl::CivilDay through) const {
    std::shared_lock lock(mu_);
    const std::string& vendor = query.selector.vendor_id;
    auto group_of = [&](const DealRecord& deal) {
      auto [type, tier] = accounts_.TypeAndTier(vendor, deal.partner_id);
      return DealGroup{.stage = deal.stage, .tier_id = tier, .partner_type = type};
    };
    std::vector<ClosedDeal> closed;
    for (const DealRecord* deal : deals_.Deals(vendor, std::nullopt)) {
      if (deal->outcome == DealRecord::Outcome::kOpen) continue;
      closed.push_back({group_of(*deal), deal->outcome == DealRecord::Outcome::kWon});
    }
    std::vector<OpenDeal> open;
    double won_value = 0;
    const RateLookup rates = RatesOf(vendor);
    const std::string& currency = query.selector.currency_code;
    const std::string& category = query.selector.product_category;
    for (const DealRecord* deal : deals_.Deals(vendor, PartnersOf(query.key))) {
      if (deal->outcome == DealRecord::Outcome::kWon && deal->close_time) {
        const absl::CivilDay day = absl::ToCivilDay(*deal->close_time, absl::UTCTimeZone());
        double won = deal->won_amount.ToDouble();
        std::optional<double> rate =
            deal->won_currency == currency ? 1.0 : rates(deal->won_currency, day);
        if (!category.empty()) {
          auto it = deal->category_values.find(category);
          const double total = deal->value.ToDouble();
          won = it == deal->category_values.end() || total <= 0
                    ? 0
                    : won * it->second.ToDouble() / total;
        }
        if (day >= from && day <= through && rate) won_value += won * *rate;
      }
      if (!deal->open_registration || !deal->expected_close) continue;
      Amount value = deal->value;
      if (!query.selector.product_category.empty()) {
        auto it = deal->category_values.find(query.selector.product_category);
        if (it == deal->category_values.end()) continue;
        value = it->second;
      }
      double amount = value.ToDouble();
      if (deal->value_currency != query.selector.currency_code) {
        std::optional<double> rate = rates(deal->value_currency, *deal->expected_close);
        if (!rate) continue;
        amount *= *rate;
      }
      open.push_back({group_of(*deal), amount, *deal->expected_close});
    }
    return {std::move(open), StageProbabilities(closed), won_value};
  }

  VelocityParts Velocity(const fv1::SeriesKey& key, absl::Time start, absl::Time end,
                         const std::string& currency) const {
    std::shared_lock lock(mu_);
    return deals_.Velocity(key.vendor_id(), PartnersOf(key), start, end, currency,
                           RatesOf(key.vendor_id()));
  }

  // A consumed partner or deal snapshot (PartnerCreated/Updated/Deleted, TierChanged,
  // DealSubmitted/Won/Lost/Expired/Deleted), applied and logged inside the runtime's
  // transaction.
  absl::Status ApplyProjectedEvent(const std::string& type,
                                 const google::protobuf::Message& payload,
                                 sqlite::Transaction& tx) {
    return log_
        .ExecuteIn(tx, {.kind = type, .payload = events::SerializeDeterministically(payload)},
                   [&](sqlite::Transaction& t, const command_log::Command& command) {
                     return Apply(command, &t);
                   })
        .status();
  }

  // --- Stored forecasts (SPEC §7.7) ---

  // The stale marks of the vendors ready for recomputation (ForecastBook::TakeStale).
  std::map<std::string, ForecastBook::Stale> TakeStale(int patience) {
    std::unique_lock lock(mu_);
    return book_.TakeStale(patience);
  }

  // The vendor's generation: a stored forecast computed at an older one may miss a change.
  int64_t Generation(const std::string& vendor_id) const {
    std::shared_lock lock(mu_);
    return book_.Generation(vendor_id);
  }

  // The stored series of the vendor that `stale` touches (measure unset: the default): the
  // partners' own series, the segments, every dimension set, that they are or were in, and the
  // vendor total — every one of them for `every_series`.
  std::vector<fv1::SeriesKey> StaleSeries(const std::string& vendor_id,
                                          const ForecastBook::Stale& stale) const {
    std::shared_lock lock(mu_);
    std::vector<fv1::SeriesKey> keys;
    fv1::SeriesKey total;
    total.set_vendor_id(vendor_id);
    total.set_level(fv1::FORECAST_LEVEL_VENDOR);
    std::set<std::string> partners = stale.partners;
    if (stale.every_series) {
      for (const std::string& partner : accounts_.PartnersOf(vendor_id)) partners.insert(partner);
    }
    for (const std::string& partner : partners) {
      fv1::SeriesKey& key = keys.emplace_back(total);
      key.set_level(fv1::FORECAST_LEVEL_PARTNER);
      key.set_partner_id(partner);
    }
    for (const auto& [segment, members] : accounts_.Segments(vendor_id)) {
      const bool touched =
          stale.every_series ||
          std::any_of(stale.partners.begin(), stale.partners.end(),
                      [&](const std::string& p) { return members.days.contains(p); });
      if (!touched) continue;
      const auto& [type, tier, region, vertical] = segment;
      fv1::SeriesKey& key = keys.emplace_back(total);
      key.set_level(fv1::FORECAST_LEVEL_SEGMENT);
      key.mutable_segment()->set_partner_type(static_cast<prm::common::v1::PartnerType>(type));
      key.mutable_segment()->set_tier_id(tier);
      key.mutable_segment()->set_region(region);
      key.mutable_segment()->set_vertical(vertical);
    }
    keys.push_back(total);  // last: its children are the partners fitted above
    return keys;
  }

  // A forecast to publish as ForecastUpdated (without history) with its version and digest.
  struct Publication {
    fv1::SeriesForecast forecast;
    int64_t version = 0;
    uint64_t digest = 0;
  };

  // The version to publish a forecast of the series with `digest` under, or nullopt when the
  // last published one had the same content.
  std::optional<int64_t> NextVersion(const fv1::SeriesForecast& forecast, uint64_t digest) const {
    std::shared_lock lock(mu_);
    return book_.NextVersion({forecast.series_id(), forecast.granularity()}, digest);
  }

  // Logs the publications (series id, granularity, version, digest) and appends their
  // ForecastUpdated events to the outbox, in one transaction. A series id holding a line break
  // (ids are the callers') cannot be logged on one line and is left out.
  absl::Status Publish(const std::vector<Publication>& publications) {
    std::string payload;
    std::vector<const Publication*> logged;
    for (const Publication& p : publications) {
      if (absl::StrContains(p.forecast.series_id(), '\n')) continue;
      absl::StrAppend(&payload, static_cast<int>(p.forecast.granularity()), " ", p.version, " ",
                      absl::Hex(p.digest), " ", p.forecast.series_id(), "\n");
      logged.push_back(&p);
    }
    if (logged.empty()) return absl::OkStatus();
    absl::StatusOr<std::string> done = log_.Execute(
        {.kind = kForecastsPublishedKind, .payload = std::move(payload)},
        [&](sqlite::Transaction& tx, const command_log::Command& command)
            -> absl::StatusOr<std::string> {
          RETURN_IF_ERROR(Apply(command, nullptr).status());
          const absl::Time now = log_.clock().Now();
          for (const Publication* p : logged) {
            fv1::ForecastUpdated event;
            const std::string id = NewEventId();
            prm::common::v1::EventMetadata* metadata = event.mutable_metadata();
            metadata->set_event_id(id);
            metadata->set_vendor_id(p->forecast.series().vendor_id());
            metadata->set_aggregate_version(p->version);
            SetTimestamp(now, metadata->mutable_event_time());
            metadata->mutable_actor()->set_role(prm::common::v1::ROLE_SYSTEM);
            metadata->mutable_actor()->set_subject("forecast");
            *event.mutable_forecast() = p->forecast;
            RETURN_IF_ERROR(outbox::Append(
                tx,
                events::EncodeBinary(events::MakeEvent(event, kForecastUpdatedType,
                                                       runtime_.event_source(), id, now,
                                                       p->forecast.series_id()),
                                     runtime_.options().topics.forecast),
                now));
          }
          return std::string();
        });
    if (done.ok()) runtime_.relay().Notify();
    return done.status();
  }

 private:
  // A recorded sale makes its account owner's series stale (mu_ held) — or every series of the
  // vendor when it starts a new week or month of the vendor's (`last_sale` is the vendor's
  // latest sale before it): every series runs through the vendor's latest period, so each one
  // gains a period.
  void MarkSale(const Sale& sale, absl::Time last_sale) {
    // Already every series (as while history loads period by period): no owner to look up.
    if (book_.EverySeriesStale(sale.vendor_id)) {
      book_.MarkVendor(sale.vendor_id);
      return;
    }
    if (sale.sale_time > last_sale) {
      const absl::CivilDay day = UtcDay(sale.sale_time);
      const absl::CivilDay before = UtcDay(last_sale);
      if (last_sale == absl::InfinitePast() ||
          SalesLedger::PeriodOf(day, Granularity::kWeek) !=
              SalesLedger::PeriodOf(before, Granularity::kWeek) ||
          SalesLedger::PeriodOf(day, Granularity::kMonth) !=
              SalesLedger::PeriodOf(before, Granularity::kMonth)) {
        book_.MarkVendor(sale.vendor_id);
        return;
      }
    }
    book_.MarkPartner(sale.vendor_id, accounts_.OwnerOf({sale.vendor_id, sale.erp_system_id,
                                                         sale.partner_external_id}));
  }

  // The partners of a key (mu_ held): one, a segment's, or all (nullopt) at VENDOR level.
  std::optional<std::set<std::string>> PartnersOf(const fv1::SeriesKey& key) const {
    if (key.level() == fv1::FORECAST_LEVEL_PARTNER) {
      return std::set<std::string>{key.partner_id()};
    }
    if (key.level() == fv1::FORECAST_LEVEL_SEGMENT) {
      std::vector<std::string> partners =
          accounts_.PartnersInSegment(key.vendor_id(), SegmentOf(key.segment()));
      return std::set<std::string>(partners.begin(), partners.end());
    }
    return std::nullopt;
  }

  // Narrows `selector` to the sales of a key (mu_ held): a partner's accounts; a segment's
  // partners' accounts, each on the days the partner was in the segment (its tier as of each
  // sale's day); every account of the vendor.
  void Select(const fv1::SeriesKey& key, SeriesSelector& selector) const {
    if (key.level() == fv1::FORECAST_LEVEL_PARTNER) {
      selector.accounts = accounts_.AccountKeys(key.vendor_id(), key.partner_id());
    } else if (key.level() == fv1::FORECAST_LEVEL_SEGMENT) {
      selector.accounts.emplace();
      for (const auto& [partner, days] :
           accounts_.PartnerDaysInSegment(key.vendor_id(), SegmentOf(key.segment()))) {
        SelectPartner(key.vendor_id(), partner, days, selector);
      }
    }
  }

  // Adds a partner's accounts at the vendor to `selector`'s (set) accounts, counted on `days`.
  void SelectPartner(const std::string& vendor_id, const std::string& partner_id,
                     const DaySpans& days, SeriesSelector& selector) const {
    const bool always = IsEveryDay(days);
    for (const std::string& account : accounts_.AccountKeys(vendor_id, partner_id)) {
      if (!always) selector.only_on_days[account] = days;
      selector.accounts->insert(account);
    }
  }

  // Must be called with mu_ held; the lookup is used under it.
  RateLookup RatesOf(const std::string& vendor_id) const {
    return [this, vendor_id](const std::string& currency, absl::CivilDay day) {
      return settings_.RateOn(vendor_id, currency, day);
    };
  }

  // A sale in a SaleRecordedRun payload: its length as a varint, then its bytes — `encoded`
  // when given, else `sale` serialized.
  static void AppendSale(const prm::sales::v1::SaleRecorded& sale,
                         std::optional<std::string_view> encoded, std::string* payload) {
    const size_t size = encoded ? encoded->size() : sale.ByteSizeLong();
    char varint[10];
    size_t n = 0;
    for (uint64_t v = size; ; v >>= 7) {
      varint[n++] = static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
      if (v < 0x80) break;
    }
    payload->append(varint, n);
    if (encoded) {
      payload->append(encoded->data(), encoded->size());
      return;
    }
    const size_t at = payload->size();
    payload->resize(at + size);
    sale.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(payload->data() + at));
  }

  static absl::StatusOr<std::vector<prm::sales::v1::SaleRecorded>> ParseSales(
      const std::string& payload) {
    std::vector<prm::sales::v1::SaleRecorded> sales;
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                              static_cast<int>(payload.size()));
    while (in.CurrentPosition() < static_cast<int>(payload.size())) {
      uint32_t size = 0;
      if (!in.ReadVarint32(&size)) return absl::InternalError("a logged sale run does not parse");
      google::protobuf::io::CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(size));
      if (!sales.emplace_back().ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
        return absl::InternalError("a logged sale run does not parse");
      }
      in.PopLimit(limit);
    }
    return sales;
  }

  // Records the sales in order under one lock. The reply has one letter per sale: r recorded,
  // d duplicate, x refused (its status, when `statuses` is given, says why).
  std::string RecordSales(const std::vector<const prm::sales::v1::SaleRecorded*>& sales,
                          std::vector<absl::Status>* statuses) {
    std::string reply(sales.size(), 'x');
    std::unique_lock lock(mu_);
    for (size_t i = 0; i < sales.size(); ++i) {
      absl::StatusOr<Sale> sale = SaleFromProto(*sales[i], ledger_);
      const absl::Time last_sale =
          sale.ok() ? ledger_.LastSale(sale->vendor_id) : absl::InfinitePast();
      absl::StatusOr<bool> recorded = sale.ok() ? ledger_.Record(*sale) : sale.status();
      if (recorded.ok()) reply[i] = *recorded ? 'r' : 'd';
      if (recorded.ok() && *recorded) MarkSale(*sale, last_sale);
      if (statuses != nullptr) statuses->push_back(recorded.status());
    }
    return reply;
  }

  // The one apply function of every command kind, used by Execute/ExecuteIn (with their
  // transaction, for the outbox) and by Replay (without: replay writes nothing).
  absl::StatusOr<std::string> Apply(const command_log::Command& command,
                                    sqlite::Transaction* tx) {
    if (command.kind == kSalesRecordedKind) {
      ASSIGN_OR_RETURN(std::vector<prm::sales::v1::SaleRecorded> parsed,
                       ParseSales(command.payload));
      std::vector<const prm::sales::v1::SaleRecorded*> sales;
      for (const auto& sale : parsed) sales.push_back(&sale);
      return RecordSales(sales, nullptr);
    }
    if (command.kind == kSaleRecordedType) {  // one sale per command, as logged before runs
      prm::sales::v1::SaleRecorded proto;
      if (!proto.ParseFromString(command.payload)) {
        return absl::InvalidArgumentError("the SaleRecorded payload does not parse");
      }
      std::unique_lock lock(mu_);
      ASSIGN_OR_RETURN(Sale sale, SaleFromProto(proto, ledger_));
      const absl::Time last_sale = ledger_.LastSale(sale.vendor_id);
      ASSIGN_OR_RETURN(bool recorded, ledger_.Record(sale));
      if (recorded) MarkSale(sale, last_sale);
      return std::string(recorded ? "recorded" : "duplicate");
    }
    if (command.kind == kPartnerCreatedType || command.kind == kPartnerUpdatedType) {
      prm::partner::v1::PartnerCreated created;
      prm::partner::v1::PartnerUpdated updated;
      const bool parsed = command.kind == kPartnerCreatedType
                              ? created.ParseFromString(command.payload)
                              : updated.ParseFromString(command.payload);
      if (!parsed) return absl::InvalidArgumentError("the partner event payload does not parse");
      const prm::partner::v1::Partner& partner =
          command.kind == kPartnerCreatedType ? created.partner() : updated.partner();
      const int64_t version = command.kind == kPartnerCreatedType
                                  ? created.metadata().aggregate_version()
                                  : updated.metadata().aggregate_version();
      if (partner.partner_id().empty()) return InvalidField("partner.partner_id", "is required");
      std::unique_lock lock(mu_);
      std::set<std::string> vendors = accounts_.VendorsOf(partner.partner_id());
      const bool applied = accounts_.Set(partner.partner_id(), version,
                                         forecast::AccountsOf(partner), ProfileOf(partner));
      // An account may have moved from another partner: every series of the vendors before
      // and after.
      vendors.merge(accounts_.VendorsOf(partner.partner_id()));
      if (applied) {
        for (const std::string& vendor : vendors) book_.MarkVendor(vendor);
      }
      return std::string(applied ? "applied" : "stale");
    }
    if (command.kind == kTierChangedType) {
      prm::partner::v1::TierChanged event;
      if (!event.ParseFromString(command.payload)) {
        return absl::InvalidArgumentError("the TierChanged payload does not parse");
      }
      if (event.partner_id().empty()) return InvalidField("partner_id", "is required");
      if (event.metadata().vendor_id().empty()) {
        return InvalidField("metadata.vendor_id", "is required");
      }
      // The change takes effect at its event time (the command's time for an event without).
      const absl::Time effective = event.metadata().has_event_time()
                                       ? FromTimestamp(event.metadata().event_time())
                                       : log_.clock().Now();
      std::unique_lock lock(mu_);
      const bool applied = accounts_.SetTier(
          event.metadata().vendor_id(), event.partner_id(), event.metadata().aggregate_version(),
          event.from_tier_id(), event.to_tier_id(), effective);
      if (applied) book_.MarkPartner(event.metadata().vendor_id(), event.partner_id());
      return std::string(applied ? "applied" : "stale");
    }
    if (command.kind == kDealDeletedType) {
      prm::deal::v1::DealDeleted event;
      if (!event.ParseFromString(command.payload)) {
        return absl::InvalidArgumentError("the DealDeleted payload does not parse");
      }
      std::unique_lock lock(mu_);
      const bool applied = deals_.Remove(event.metadata().vendor_id(), event.deal_id(),
                                         event.metadata().aggregate_version());
      // Pipelines and the learned stage probabilities of every series of the vendor.
      if (applied) book_.MarkVendor(event.metadata().vendor_id());
      return std::string(applied ? "applied" : "stale");
    }
    if (IsDealSnapshotType(command.kind)) {
      // Every snapshot event shares DealCreated's fields 1 (metadata) and 2 (deal); their field 3
      // differs, and only DealWon's (the won amount) is read.
      prm::deal::v1::DealWon event;
      prm::deal::v1::DealCreated snapshot;
      const bool parsed = command.kind == kDealWonType ? event.ParseFromString(command.payload)
                                                       : snapshot.ParseFromString(command.payload);
      if (!parsed) return absl::InvalidArgumentError("the deal event payload does not parse");
      if (command.kind != kDealWonType) {
        *event.mutable_metadata() = snapshot.metadata();
        *event.mutable_deal() = snapshot.deal();
      }
      const prm::deal::v1::Deal& deal = event.deal();
      using prm::deal::v1::DealState;
      if (deal.deal_id().empty()) return InvalidField("deal.deal_id", "is required");
      RETURN_IF_ERROR(CheckDealEvent(deal, event.metadata(), log_.clock().Now()));
      if (command.kind == kDealWonType) {
        const prm::common::v1::Money& amount =
            event.has_won_amount() ? event.won_amount() : deal.outcome().won_amount();
        if (amount.units() < 0 || amount.nanos() < 0) {
          return InvalidField("won_amount", "must be non-negative");
        }
      }
      DealRecord record{.vendor_id = deal.vendor_id(), .partner_id = deal.partner_id()};
      if (deal.review().has_submit_time()) {
        record.submit_time = FromTimestamp(deal.review().submit_time());
      } else if (command.kind == kDealSubmittedType) {
        record.submit_time = FromTimestamp(event.metadata().event_time());
      }
      if (command.kind == kDealWonType || deal.state() == DealState::DEAL_STATE_WON) {
        record.outcome = DealRecord::Outcome::kWon;
      } else if (command.kind == kDealLostType || command.kind == kDealExpiredType ||
                 deal.state() == DealState::DEAL_STATE_LOST ||
                 deal.state() == DealState::DEAL_STATE_EXPIRED) {
        record.outcome = DealRecord::Outcome::kLost;
      }
      if (record.outcome != DealRecord::Outcome::kOpen) {
        record.close_time = FromTimestamp(deal.outcome().has_close_time()
                                              ? deal.outcome().close_time()
                                              : event.metadata().event_time());
      }
      if (command.kind == kDealWonType) {
        const prm::common::v1::Money& won =
            event.has_won_amount() ? event.won_amount() : deal.outcome().won_amount();
        record.won_currency = won.currency_code();
        record.won_amount = {won.units(), won.nanos()};
      }
      std::set<std::string> categories;
      for (const auto& line : deal.products()) categories.insert(line.product_category());
      record.categories.assign(categories.begin(), categories.end());
      record.open_registration = record.outcome == DealRecord::Outcome::kOpen &&
                                 (deal.state() == DealState::DEAL_STATE_SUBMITTED ||
                                  deal.state() == DealState::DEAL_STATE_UNDER_REVIEW ||
                                  deal.state() == DealState::DEAL_STATE_APPROVED);
      record.stage = deal.stage();
      record.value_currency = deal.value().currency_code();
      record.value = {deal.value().units(), deal.value().nanos()};
      for (const auto& line : deal.products()) {
        record.category_values[line.product_category()] +=
            Amount{line.amount().units(), line.amount().nanos()};
      }
      if (deal.has_expected_close_date()) {
        const auto& d = deal.expected_close_date();
        record.expected_close = absl::CivilDay(d.year(), d.month(), d.day());
      }
      const std::string vendor = record.vendor_id;
      std::unique_lock lock(mu_);
      const bool applied =
          deals_.Apply(deal.deal_id(), event.metadata().aggregate_version(), std::move(record));
      if (applied) book_.MarkVendor(vendor);
      return std::string(applied ? "applied" : "stale");
    }
    if (command.kind == kPartnerDeletedType) {
      prm::partner::v1::PartnerDeleted event;
      if (!event.ParseFromString(command.payload)) {
        return absl::InvalidArgumentError("the PartnerDeleted payload does not parse");
      }
      if (event.partner_id().empty()) return InvalidField("partner_id", "is required");
      std::unique_lock lock(mu_);
      const std::set<std::string> vendors = accounts_.VendorsOf(event.partner_id());
      const bool applied =
          accounts_.Remove(event.partner_id(), event.metadata().aggregate_version());
      if (applied) {
        for (const std::string& vendor : vendors) book_.MarkVendor(vendor);
      }
      return std::string(applied ? "applied" : "stale");
    }
    if (command.kind == kForecastsPublishedKind) {
      std::unique_lock lock(mu_);
      for (absl::string_view line : absl::StrSplit(command.payload, '\n', absl::SkipEmpty())) {
        std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
        int granularity = 0;
        int64_t version = 0;
        uint64_t digest = 0;
        if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &granularity) ||
            !absl::SimpleAtoi(parts[1], &version) || !absl::SimpleHexAtoi(parts[2], &digest)) {
          return absl::InternalError("a logged ForecastsPublished line does not parse");
        }
        book_.Published({std::string(parts[3]), granularity}, version, digest);
      }
      return std::string();
    }
    prm::common::v1::Actor actor;
    if (command.kind == kUpdateSettingsKind) {
      fv1::UpdateForecastSettingsRequest request;
      RETURN_IF_ERROR(DecodeCommand(command.payload, &actor, &request));
      ASSIGN_OR_RETURN(SettingsChange change, ChangeFromProto(request));
      const std::string& vendor = request.settings().vendor_id();
      std::unique_lock lock(mu_);
      const std::string currency_before = settings_.Get(vendor).reporting_currency_code;
      ASSIGN_OR_RETURN(ForecastSettings updated, settings_.Update(vendor, change));
      book_.MarkVendor(vendor);
      if (updated.reporting_currency_code != currency_before) {
        RETURN_IF_ERROR(EmitRatesChanged(tx, vendor, actor, request.request_id()));
      }
      fv1::UpdateForecastSettingsResponse response;
      ToProto(updated, response.mutable_settings());
      return events::SerializeDeterministically(response);
    }
    if (command.kind == kSetRatesKind) {
      fv1::SetExchangeRatesRequest request;
      RETURN_IF_ERROR(DecodeCommand(command.payload, &actor, &request));
      FieldViolations bad;
      std::optional<std::vector<ExchangeRateInput>> rates = RatesFromProto(request, bad);
      RETURN_IF_ERROR(bad.ToStatus("invalid exchange rates"));
      std::unique_lock lock(mu_);
      ASSIGN_OR_RETURN(std::vector<ExchangeRate> stored,
                       settings_.SetRates(request.vendor_id(), *rates));
      book_.MarkVendor(request.vendor_id());
      RETURN_IF_ERROR(EmitRatesChanged(tx, request.vendor_id(), actor, request.request_id()));
      fv1::SetExchangeRatesResponse response;
      for (const ExchangeRate& rate : stored) {
        ToProto(request.vendor_id(), rate, response.add_rates());
      }
      return events::SerializeDeterministically(response);
    }
    if (command.kind == kDeleteRateKind) {
      fv1::DeleteExchangeRateRequest request;
      RETURN_IF_ERROR(DecodeCommand(command.payload, &actor, &request));
      std::optional<absl::CivilDay> day = DateFromProto(request.effective_date());
      if (!day) return InvalidField("effective_date", "is required and must be a valid date");
      std::unique_lock lock(mu_);
      RETURN_IF_ERROR(settings_.DeleteRate(request.vendor_id(), request.currency_code(), *day));
      book_.MarkVendor(request.vendor_id());
      RETURN_IF_ERROR(EmitRatesChanged(tx, request.vendor_id(), actor, request.request_id()));
      return events::SerializeDeterministically(fv1::DeleteExchangeRateResponse());
    }
    return absl::InternalError(absl::StrCat("unknown command kind ", command.kind));
  }

  // Appends ExchangeRatesChanged (the vendor's whole table) to the outbox; nothing on replay.
  // Called with mu_ held, after the change.
  absl::Status EmitRatesChanged(sqlite::Transaction* tx, const std::string& vendor_id,
                                const prm::common::v1::Actor& actor,
                                const std::string& request_id) {
    if (tx == nullptr) return absl::OkStatus();
    const absl::Time now = log_.clock().Now();
    const std::string id = NewEventId();
    fv1::ExchangeRatesChanged event;
    prm::common::v1::EventMetadata* metadata = event.mutable_metadata();
    metadata->set_event_id(id);
    metadata->set_vendor_id(vendor_id);
    metadata->set_aggregate_version(settings_.RatesVersion(vendor_id));
    SetTimestamp(now, metadata->mutable_event_time());
    *metadata->mutable_actor() = actor;
    metadata->set_request_id(request_id);
    event.set_reporting_currency_code(settings_.Get(vendor_id).reporting_currency_code);
    for (const ExchangeRate& rate : settings_.Rates(vendor_id)) {
      ToProto(vendor_id, rate, event.add_rates());
    }
    events::CloudEvent cloud_event =
        events::MakeEvent(event, kRatesChangedType, runtime_.event_source(), id, now, vendor_id);
    return outbox::Append(
        *tx, events::EncodeBinary(cloud_event, runtime_.options().topics.forecast), now);
  }

  runtime::Runtime& runtime_;
  command_log::CommandLog log_;
  mutable std::shared_mutex mu_;
  SalesLedger ledger_;
  SettingsBook settings_;
  PartnerAccounts accounts_;
  DealBook deals_;
  ForecastBook book_;
};

// Statistical forecasts of children (ForecastState::Child ids) by granularity, shared by the
// forecasts of one refresh of one vendor: a partner's series is fitted once, not again for each
// segment and for the vendor total. Single-threaded.
using ChildForecasts = std::map<std::pair<std::string, Granularity>, Forecast>;

// The forecast of a query (SPEC §7.2–§7.5): the series' own, or for a segment or the vendor
// the sum of its children's (bottom-up), blended with the pipeline unless excluded. NOT_FOUND
// when the series has no sales. With `memo`, children's forecasts are taken from it and added
// to it (and a partner's own statistical forecast too, as its "always" child).
absl::Status ComputeForecast(const ForecastState& state, const ForecastQuery& query,
                             const ForecastSettings& settings, bool exclude_pipeline,
                             fv1::SeriesForecast* out, ChildForecasts* memo = nullptr) {
  ASSIGN_OR_RETURN(SeriesHistory history, state.Series(query));
  ASSIGN_OR_RETURN(SeriesForecast forecast,
                   ForecastSeries(std::move(history), query.granularity, query.horizon,
                                  query.fiscal_year_start_month));
  if (memo != nullptr && query.key.level() == fv1::FORECAST_LEVEL_PARTNER) {
    memo->emplace(std::pair(ForecastState::ChildId(query.key.partner_id(), EveryDay()),
                            query.granularity),
                  forecast.forecast);
  }
  // Segments and the vendor are the sums of their children's forecasts (bottom-up), with
  // the aggregated series' own model reported.
  std::vector<Forecast> children;
  for (ForecastState::Child& child : state.Children(query)) {
    const std::pair<std::string, Granularity> id{child.id, query.granularity};
    if (memo != nullptr) {
      if (auto it = memo->find(id); it != memo->end()) {
        children.push_back(it->second);
        continue;
      }
    }
    ASSIGN_OR_RETURN(SeriesForecast f,
                     ForecastSeries(std::move(child.history), query.granularity, query.horizon,
                                    query.fiscal_year_start_month));
    if (memo != nullptr) memo->emplace(id, f.forecast);
    children.push_back(std::move(f.forecast));
  }
  if (!children.empty()) {
    ModelSummary model = std::move(forecast.forecast.model);
    ASSIGN_OR_RETURN(forecast.forecast, SumForecasts(children));
    forecast.forecast.model = std::move(model);
  }
  // The pipeline blend, into the reconciled forecast (the blend is linear, so the sums
  // still add up: a parent's pipeline is the sum of its children's).
  std::optional<PipelineBlend> blend;
  std::vector<double> statistical = forecast.forecast.mean;
  if (!exclude_pipeline && !forecast.history.periods.empty()) {
    // Coverage over the last season (or the whole history when shorter).
    const auto& periods = forecast.history.periods;
    const size_t window =
        std::min(periods.size(), static_cast<size_t>(SeasonLength(query.granularity)));
    double sales = 0;
    for (size_t i = periods.size() - window; i < periods.size(); ++i) {
      sales += periods[i].amount.ToDouble();
    }
    ForecastState::PipelineInputs pipeline =
        state.Pipeline(query, periods[periods.size() - window].start, periods.back().end);
    blend = BlendPipeline(pipeline.open, pipeline.probabilities, forecast.future_periods,
                          settings.pipeline_blend_periods,
                          PipelineCoverage(pipeline.won_value, sales));
    ApplyBlend(*blend, forecast.forecast);
  }
  ToProto(query, forecast, state.clock().Now(), out);
  SetPipeline(blend ? &*blend : nullptr, statistical, query.selector.currency_code,
              out);
  if (!children.empty()) out->set_reconciliation(fv1::RECONCILIATION_BOTTOM_UP);
  return absl::OkStatus();
}

// The stored forecasts (SPEC §7.7) with their history, as the last refresh computed them, per
// vendor. Each is valid while its vendor's generation has not moved past the one it was
// computed or confirmed at. Thread-safe.
class StoredForecasts {
 public:
  using SeriesRef = std::pair<std::string, int>;  // series id, granularity

  // The stored forecast, if it is valid at `generation`.
  std::shared_ptr<const fv1::SeriesForecast> Get(const std::string& vendor_id,
                                                 const SeriesRef& series,
                                                 int64_t generation) const {
    std::lock_guard lock(mu_);
    auto vendor = vendors_.find(vendor_id);
    if (vendor == vendors_.end()) return nullptr;
    auto it = vendor->second.find(series);
    if (it == vendor->second.end() || it->second.generation != generation) return nullptr;
    return it->second.forecast;
  }

  // Stores a refresh of the vendor taken at `generation`: `computed` holds the recomputed
  // forecasts (null: the series has no sales any more, or could not be computed). The vendor's
  // other forecasts were not touched by the changes the refresh took, so they are confirmed at
  // `generation` — unless the refresh covered every series, when those are gone.
  void Update(const std::string& vendor_id, int64_t generation,
              std::map<SeriesRef, std::shared_ptr<const fv1::SeriesForecast>> computed,
              bool every_series) {
    std::lock_guard lock(mu_);
    std::map<SeriesRef, Entry>& entries = vendors_[vendor_id];
    if (every_series) entries.clear();
    for (auto& [series, entry] : entries) entry.generation = generation;
    for (auto& [series, forecast] : computed) {
      if (forecast == nullptr) {
        entries.erase(series);
      } else {
        entries[series] = {generation, std::move(forecast)};
      }
    }
  }

 private:
  struct Entry {
    int64_t generation = 0;
    std::shared_ptr<const fv1::SeriesForecast> forecast;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<SeriesRef, Entry>> vendors_;
};

// Recomputes the stale stored forecasts every `interval` (SPEC §7.7: incrementally, only the
// series the new events touch) and publishes each one whose content changed as ForecastUpdated.
class ForecastRefresher {
 public:
  // Rounds a vendor whose events keep arriving waits before its stored forecasts are recomputed
  // anyway (ForecastBook::TakeStale): a burst of sales is recomputed once it settles, or every
  // kRefreshPatience + 1 rounds while it lasts, not every round — reads meanwhile compute from
  // the current state.
  static constexpr int kRefreshPatience = 5;

  ForecastRefresher(ForecastState& state, StoredForecasts& stored, absl::Duration interval)
      : state_(state), stored_(stored), task_(interval, [this] { Refresh(); }) {}

 private:
  void Refresh() {
    const absl::Time start = absl::Now();
    size_t series_count = 0;
    size_t published = 0;
    const std::map<std::string, ForecastBook::Stale> taken = state_.TakeStale(kRefreshPatience);
    for (const auto& [vendor, stale] : taken) {
      const ForecastSettings settings = state_.Settings(vendor);
      ChildForecasts children;
      std::map<StoredForecasts::SeriesRef, std::shared_ptr<const fv1::SeriesForecast>> computed;
      std::vector<ForecastState::Publication> publications;
      for (const fv1::SeriesKey& key : state_.StaleSeries(vendor, stale)) {
        // A refresh in progress gives up when the service stops: every series is stale after
        // the restart anyway.
        if (task_.stopping()) return;
        ++series_count;
        for (fv1::Granularity granularity : kStoredGranularities) {
          fv1::GetForecastRequest request;
          *request.mutable_series() = key;
          request.set_granularity(granularity);
          request.set_history_periods(kStoredHistoryPeriods);
          absl::StatusOr<ForecastQuery> query = QueryFromProto(request, settings);
          if (!query.ok()) {
            spdlog::warn("forecast: the stored series {} is not a valid query: {}",
                         key.ShortDebugString(), query.status().ToString());
            continue;
          }
          auto forecast = std::make_shared<fv1::SeriesForecast>();
          absl::Status status =
              ComputeForecast(state_, *query, settings, false, forecast.get(), &children);
          const StoredForecasts::SeriesRef series{SeriesId(query->key), granularity};
          if (absl::IsNotFound(status)) {
            computed[series] = nullptr;
            continue;
          }
          if (!status.ok()) {  // dropped from the store: reads compute it, and say why
            spdlog::warn("forecast: recomputing {} failed: {}", series.first, status.ToString());
            computed[series] = nullptr;
            continue;
          }
          ForecastState::Publication publication{.forecast = *forecast};
          publication.forecast.clear_history();
          publication.forecast.clear_compute_time();
          publication.digest = Digest(events::SerializeDeterministically(publication.forecast));
          if (std::optional<int64_t> version =
                  state_.NextVersion(publication.forecast, publication.digest)) {
            publication.version = *version;
            *publication.forecast.mutable_compute_time() = forecast->compute_time();
            publications.push_back(std::move(publication));
          }
          computed[series] = std::move(forecast);
        }
      }
      if (absl::Status s = state_.Publish(publications); !s.ok()) {
        spdlog::error("forecast: publishing {} forecasts of {} failed: {}", publications.size(),
                      vendor, s.ToString());
      } else {
        published += publications.size();
      }
      stored_.Update(vendor, stale.generation, std::move(computed), stale.every_series);
    }
    if (!taken.empty()) {
      spdlog::info("forecast: refreshed {} series of {} vendors in {} ms, {} forecasts changed",
                   series_count, taken.size(), absl::ToInt64Milliseconds(absl::Now() - start),
                   published);
    }
  }

  ForecastState& state_;
  StoredForecasts& stored_;
  runtime::PeriodicTask task_;  // last: runs once the rest is set, stops first
};

// The gRPC API (prm.forecast.v1.Forecast). RPCs not overridden here answer UNIMPLEMENTED.
class ForecastHandler final : public fv1::Forecast::CallbackService {
 public:
  ForecastHandler(runtime::Runtime& runtime, ForecastState& state, const StoredForecasts& stored)
      : runtime_(runtime), state_(state), stored_(stored) {}

  grpc::ServerUnaryReactor* GetForecast(grpc::CallbackServerContext* ctx,
                                        const fv1::GetForecastRequest* request,
                                        fv1::GetForecastResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
      const ForecastSettings settings = state_.Settings(request->series().vendor_id());
      ASSIGN_OR_RETURN(ForecastQuery query, QueryFromProto(*request, settings));
      RETURN_IF_ERROR(AuthorizeRead(call.principal(), query.key));
      const std::string& vendor = query.key.vendor_id();
      if (!request->exclude_pipeline() && query.horizon == DefaultHorizon(query.granularity)) {
        std::shared_ptr<const fv1::SeriesForecast> stored = stored_.Get(
            vendor, {SeriesId(query.key), request->granularity()}, state_.Generation(vendor));
        if (stored != nullptr) {
          fv1::SeriesForecast* out = response->mutable_forecast();
          *out = *stored;
          const int keep = std::min(out->history_size(), query.history_periods);
          out->mutable_history()->DeleteSubrange(0, out->history_size() - keep);
          return absl::OkStatus();
        }
      }
      return ComputeForecast(state_, query, settings, request->exclude_pipeline(),
                             response->mutable_forecast());
    });
  }

  grpc::ServerUnaryReactor* GetVelocity(grpc::CallbackServerContext* ctx,
                                        const fv1::GetVelocityRequest* request,
                                        fv1::GetVelocityResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
      // The series key is validated as GetForecast's; granularity plays no part here.
      fv1::GetForecastRequest as_forecast;
      *as_forecast.mutable_series() = request->series();
      as_forecast.set_granularity(fv1::GRANULARITY_WEEK);
      const ForecastSettings settings = state_.Settings(request->series().vendor_id());
      absl::StatusOr<ForecastQuery> query = QueryFromProto(as_forecast, settings);
      FieldViolations bad;
      if (!query.ok()) {
        for (const FieldViolation& v : FieldViolationsOf(query.status())) {
          if (v.field != "series.measure") bad.Add(v.field, v.description);
        }
      }
      if (request->window_days() != 0 &&
          (request->window_days() < 30 || request->window_days() > 730)) {
        bad.Add("window_days", "must be 0 or in 30..730");
      }
      RETURN_IF_ERROR(bad.ToStatus("invalid velocity request"));
      fv1::SeriesKey key = request->series();
      RETURN_IF_ERROR(AuthorizeRead(call.principal(), key));

      const absl::Time now = state_.clock().Now();
      const int days = request->window_days() == 0 ? 365 : request->window_days();
      SeriesSelector selector{.vendor_id = key.vendor_id(),
                              .measure = settings.default_measure,
                              .currency_code = settings.reporting_currency_code};
      std::vector<CategoryAmount> mix =
          state_.Mix(selector, key, now - absl::Hours(24 * days), now);

      fv1::Velocity* velocity = response->mutable_velocity();
      key.clear_product_category();
      key.clear_measure();
      *velocity->mutable_series() = key;
      velocity->mutable_window_start_time()->set_seconds(absl::ToUnixSeconds(now) - 86400LL * days);
      velocity->mutable_window_end_time()->set_seconds(absl::ToUnixSeconds(now));
      const std::string& currency = settings.reporting_currency_code;
      const VelocityParts parts =
          state_.Velocity(key, now - absl::Hours(24 * days), now, currency);
      velocity->set_opportunities(parts.opportunities);
      velocity->set_win_rate(parts.win_rate);
      *velocity->mutable_average_deal_size() =
          ToMoney(Amount::FromDouble(parts.average_deal_size), currency);
      const int64_t cycle_micros = absl::ToInt64Microseconds(parts.average_sales_cycle);
      velocity->mutable_average_sales_cycle()->set_seconds(cycle_micros / 1'000'000);
      velocity->mutable_average_sales_cycle()->set_nanos(
          static_cast<int32_t>(cycle_micros % 1'000'000 * 1000));
      *velocity->mutable_velocity_per_day() =
          ToMoney(Amount::FromDouble(parts.velocity_per_day), currency);
      velocity->set_won_deal_count(parts.won);
      velocity->set_lost_deal_count(parts.lost);
      double total = 0;
      for (const CategoryAmount& c : mix) total += c.amount.ToDouble();
      for (size_t i = 0; i < mix.size() && i < 100; ++i) {
        fv1::ProductMixEntry* entry = velocity->add_product_mix();
        entry->set_product_category(mix[i].product_category);
        *entry->mutable_revenue() = ToMoney(mix[i].amount, currency);
        entry->set_share(total > 0 ? mix[i].amount.ToDouble() / total : 0);
        auto won = parts.won_by_category.find(mix[i].product_category);
        entry->set_won_deal_count(won == parts.won_by_category.end() ? 0 : won->second);
      }
      velocity->mutable_compute_time()->set_seconds(absl::ToUnixSeconds(now));
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetForecastSettings(
      grpc::CallbackServerContext* ctx, const fv1::GetForecastSettingsRequest* request,
      fv1::GetForecastSettingsResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
      if (request->vendor_id().empty()) return InvalidField("vendor_id", "is required");
      RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), false));
      ToProto(state_.Settings(request->vendor_id()), response->mutable_settings());
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* UpdateForecastSettings(
      grpc::CallbackServerContext* ctx, const fv1::UpdateForecastSettingsRequest* request,
      fv1::UpdateForecastSettingsResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
      RETURN_IF_ERROR(ChangeFromProto(*request).status());
      RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->settings().vendor_id(), true));
      return ExecuteInto(kUpdateSettingsKind, call.principal(), *request, response);
    });
  }

  grpc::ServerUnaryReactor* SetExchangeRates(grpc::CallbackServerContext* ctx,
                                             const fv1::SetExchangeRatesRequest* request,
                                             fv1::SetExchangeRatesResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
          FieldViolations bad;
          std::optional<std::vector<ExchangeRateInput>> rates = RatesFromProto(*request, bad);
          if (rates) {
            for (const FieldViolation& v :
                 FieldViolationsOf(state_.ValidateRates(request->vendor_id(), *rates))) {
              if (v.field != "vendor_id") bad.Add(v.field, v.description);
            }
          }
          RETURN_IF_ERROR(bad.ToStatus("invalid exchange rates"));
          RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), true));
          return ExecuteInto(kSetRatesKind, call.principal(), *request, response);
        });
  }

  grpc::ServerUnaryReactor* DeleteExchangeRate(grpc::CallbackServerContext* ctx,
                                               const fv1::DeleteExchangeRateRequest* request,
                                               fv1::DeleteExchangeRateResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
          FieldViolations bad;
          if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
          if (request->currency_code().empty()) bad.Add("currency_code", "is required");
          if (!request->has_effective_date() || !DateFromProto(request->effective_date())) {
            bad.Add("effective_date", "is required and must be a valid date");
          }
          CheckRequestId(request->request_id(), bad);
          RETURN_IF_ERROR(bad.ToStatus("invalid exchange rate deletion"));
          RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), true));
          return ExecuteInto(kDeleteRateKind, call.principal(), *request, response);
        });
  }

  // Pages are offsets into the filtered, ordered table, as decimal tokens.
  grpc::ServerUnaryReactor* ListExchangeRates(grpc::CallbackServerContext* ctx,
                                              const fv1::ListExchangeRatesRequest* request,
                                              fv1::ListExchangeRatesResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
          FieldViolations bad;
          if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
          const size_t page_size = server::EffectivePageSize(request->page_size(), bad);
          size_t offset = 0;
          if (!request->page_token().empty() &&
              !absl::SimpleAtoi(request->page_token(), &offset)) {
            bad.Add("page_token", "is not a token of this list");
          }
          const std::optional<server::ListFilter> filter = server::ParseListFilter(
              request->filter(),
              {{"currency_code", server::FilterFieldType::kString},
               {"effective_date", server::FilterFieldType::kTime}},
              bad);
          std::string order = request->order_by();
          const bool desc = absl::EndsWith(order, " desc");
          if (desc) order.resize(order.size() - 5);
          if (!order.empty() && order != "currency_code" && order != "effective_date") {
            bad.Add("order_by", "must be currency_code or effective_date, optionally with desc");
          }
          RETURN_IF_ERROR(bad.ToStatus("invalid exchange rate list request"));
          RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), false));

          std::vector<ExchangeRate> rates = state_.Rates(request->vendor_id());
          std::erase_if(rates, [&](const ExchangeRate& rate) {
            return !filter->Matches([&](absl::string_view field) -> std::vector<server::FilterValue> {
              if (field == "currency_code") return {rate.currency_code};
              return {absl::FromCivil(rate.effective_date, absl::UTCTimeZone())};
            });
          });
          if (order == "effective_date") {
            std::stable_sort(rates.begin(), rates.end(),
                             [](const ExchangeRate& a, const ExchangeRate& b) {
                               return a.effective_date < b.effective_date;
                             });
          }
          if (desc) std::reverse(rates.begin(), rates.end());
          for (size_t i = offset; i < rates.size() && i < offset + page_size; ++i) {
            ToProto(request->vendor_id(), rates[i], response->add_rates());
          }
          if (offset + page_size < rates.size()) {
            response->set_next_page_token(absl::StrCat(offset + page_size));
          }
          return absl::OkStatus();
        });
  }

  // Segments of the partners the service knows (partner-registry events) with accounts at the
  // vendor, filtered. Pages are offsets into the ordered list, as decimal tokens.
  grpc::ServerUnaryReactor* ListSegments(grpc::CallbackServerContext* ctx,
                                         const fv1::ListSegmentsRequest* request,
                                         fv1::ListSegmentsResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
          FieldViolations bad;
          if (request->vendor_id().empty()) bad.Add("vendor_id", "is required");
          const size_t page_size = server::EffectivePageSize(request->page_size(), bad);
          size_t offset = 0;
          if (!request->page_token().empty() &&
              !absl::SimpleAtoi(request->page_token(), &offset)) {
            bad.Add("page_token", "is not a token of this list");
          }
          server::FilterSchema schema = {{"partner_count", server::FilterFieldType::kInt}};
          AddSegmentFilterFields(schema);
          const std::optional<server::ListFilter> filter =
              server::ParseListFilter(request->filter(), schema, bad);
          std::string order = request->order_by().empty() ? "trailing_revenue desc"
                                                          : request->order_by();
          const bool desc = absl::EndsWith(order, " desc");
          if (desc) order.resize(order.size() - 5);
          if (order != "trailing_revenue" && order != "partner_count") {
            bad.Add("order_by", "must be trailing_revenue or partner_count, optionally with desc");
          }
          RETURN_IF_ERROR(bad.ToStatus("invalid segment list request"));
          RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), false));

          const ForecastSettings settings = state_.Settings(request->vendor_id());
          const absl::Time now = state_.clock().Now();
          auto segments = state_.Segments({.vendor_id = request->vendor_id(),
                                           .measure = settings.default_measure,
                                           .currency_code = settings.reporting_currency_code},
                                          now - absl::Hours(24 * 365), now);
          std::erase_if(segments, [&](const ForecastState::SegmentSize& size) {
            return !filter->Matches([&](absl::string_view field) -> std::vector<server::FilterValue> {
              if (field == "partner_count") return {int64_t{size.partner_count}};
              return SegmentFilterValues(&size.segment, field);
            });
          });
          // Stable: ties keep the segments' key order.
          std::stable_sort(segments.begin(), segments.end(), [&](const auto& a, const auto& b) {
            const double x = order == "partner_count" ? a.partner_count : a.trailing_revenue;
            const double y = order == "partner_count" ? b.partner_count : b.trailing_revenue;
            return desc ? x > y : x < y;
          });
          for (size_t i = offset; i < segments.size() && i < offset + page_size; ++i) {
            fv1::SegmentSummary* summary = response->add_segments();
            *summary->mutable_segment() = segments[i].segment;
            summary->set_partner_count(segments[i].partner_count);
            *summary->mutable_trailing_revenue() =
                ToMoney(Amount::FromDouble(segments[i].trailing_revenue),
                        settings.reporting_currency_code);
          }
          if (offset + page_size < segments.size()) {
            response->set_next_page_token(absl::StrCat(offset + page_size));
          }
          return absl::OkStatus();
        });
  }

  // Synchronous and read-only: the series of the level that the filter selects, scored with the
  // engine or the requested methods, per series, per segment and overall.
  grpc::ServerUnaryReactor* RunBacktest(grpc::CallbackServerContext* ctx,
                                        const fv1::RunBacktestRequest* request,
                                        fv1::RunBacktestResponse* response) override {
    return server::Serve(
        ctx, runtime_.authenticator(), [=, this](const server::CallContext& call) -> absl::Status {
          // The series, granularity and horizon rules are GetForecast's.
          fv1::GetForecastRequest as_forecast;
          as_forecast.mutable_series()->set_vendor_id(request->vendor_id());
          as_forecast.mutable_series()->set_level(request->level());
          as_forecast.mutable_series()->set_measure(request->measure());
          if (request->level() == fv1::FORECAST_LEVEL_SEGMENT) {
            as_forecast.mutable_series()->mutable_segment()->set_region("-");
          }
          if (request->level() == fv1::FORECAST_LEVEL_PARTNER) {
            as_forecast.mutable_series()->set_partner_id("-");
          }
          as_forecast.set_granularity(request->granularity());
          as_forecast.set_horizon(request->horizon());
          const ForecastSettings settings = state_.Settings(request->vendor_id());
          absl::StatusOr<ForecastQuery> query = QueryFromProto(as_forecast, settings);
          FieldViolations bad;
          for (const FieldViolation& v : FieldViolationsOf(query.status())) {
            std::string field = v.field;
            if (absl::StartsWith(field, "series.")) field = field.substr(7);
            bad.Add(field, v.description);
          }
          server::FilterSchema schema = {{"partner_id", server::FilterFieldType::kString},
                                         {"product_category", server::FilterFieldType::kString}};
          AddSegmentFilterFields(schema);
          const std::optional<server::ListFilter> filter =
              server::ParseListFilter(request->filter(), schema, bad);
          std::vector<Method> methods;
          for (int i = 0; i < request->methods_size(); ++i) {
            std::optional<Method> method = MethodFromProto(request->methods(i));
            if (!method) {
              bad.Add(absl::StrCat("methods[", i, "]"), "must be a forecast method");
            } else {
              methods.push_back(*method);
            }
          }
          if (request->origin_count() < 0 || request->origin_count() > 24) {
            bad.Add("origin_count", "must be in 0..24");
          }
          if (request->max_series() < 0 || request->max_series() > 10000) {
            bad.Add("max_series", "must be in 0..10000");
          }
          std::optional<absl::CivilDay> end_date;
          if (request->has_end_date()) {
            end_date = DateFromProto(request->end_date());
            if (!end_date) bad.Add("end_date", "must be a valid date");
          }
          RETURN_IF_ERROR(bad.ToStatus("invalid backtest request"));
          RETURN_IF_ERROR(AuthorizeSettings(call.principal(), request->vendor_id(), false));

          const size_t max_series = request->max_series() == 0 ? 1000 : request->max_series();
          // A filter on product_category scores each category's series on its own.
          const bool by_category = filter->Mentions("product_category");
          const std::vector<ForecastState::BacktestCandidate> series = state_.BacktestSeries(
              *query, by_category, max_series,
              [&](const fv1::SeriesKey& key, const fv1::Segment* segment) {
                return filter->Matches(
                    [&](absl::string_view field) -> std::vector<server::FilterValue> {
                      if (field == "partner_id" || field == "product_category") {
                        const std::string& value =
                            field == "partner_id" ? key.partner_id() : key.product_category();
                        if (value.empty()) return {};
                        return {value};
                      }
                      return SegmentFilterValues(segment, field);
                    });
              });
          if (series.size() > max_series) {
            return absl::ResourceExhaustedError(
                absl::StrCat("more than max_series = ", max_series, " series match"));
          }
          const int origins = request->origin_count() == 0 ? 1 : request->origin_count();
          std::vector<BacktestSeries> inputs;
          for (size_t i = 0; i < series.size(); ++i) {
            BacktestSeries input{.id = absl::StrCat(i)};
            for (const PeriodAmount& p : series[i].history.periods) {
              if (end_date && p.end > *end_date) break;
              input.values.push_back(p.amount.ToDouble());
            }
            inputs.push_back(std::move(input));
          }
          const int mase_period = query->granularity == Granularity::kMonth     ? 12
                                  : query->granularity == Granularity::kQuarter ? 4
                                                                                : 1;
          ASSIGN_OR_RETURN(BacktestResult result,
                           forecast::RunBacktest(inputs, {.horizon = query->horizon,
                                                          .origins = origins,
                                                          .season_length =
                                                              SeasonLength(query->granularity),
                                                          .mase_period = mase_period,
                                                          .methods = methods}));
          fv1::BacktestReport* report = response->mutable_report();
          report->set_granularity(request->granularity());
          report->set_horizon(query->horizon);
          report->set_origin_count(origins);
          // Per series, and per segment (by the segments' ListSegments form).
          std::map<std::string, std::pair<fv1::Segment, std::vector<AccuracySummary>>> segments;
          for (const SeriesBacktest& s : result.series) {
            size_t index = 0;
            if (!absl::SimpleAtoi(s.id, &index) || index >= series.size()) {
              return absl::InternalError("a backtest result names no series");
            }
            const ForecastState::BacktestCandidate& candidate = series[index];
            fv1::SeriesAccuracy* out = report->add_series();
            out->set_series_id(SeriesId(candidate.key));
            *out->mutable_series() = candidate.key;
            out->set_method(MethodToProto(s.method));
            ToProto(s.accuracy, out->mutable_accuracy());
            if (candidate.segment) {
              auto& [segment, accuracies] =
                  segments[events::SerializeDeterministically(*candidate.segment)];
              segment = *candidate.segment;
              accuracies.push_back(s.accuracy);
            }
          }
          for (const auto& [bytes, segment] : segments) {
            fv1::SegmentAccuracy* out = report->add_segments();
            *out->mutable_segment() = segment.first;
            ToProto(Combine(segment.second), out->mutable_accuracy());
          }
          ToProto(result.overall, report->mutable_overall());
          report->set_skipped_series_count(result.skipped_series_count);
          SetTimestamp(state_.clock().Now(), report->mutable_compute_time());
          return absl::OkStatus();
        });
  }

 private:
  // Runs a write request through the command log (a retried request_id gets the logged reply)
  // and fills `response` from the reply.
  template <typename Request>
  absl::Status ExecuteInto(const char* kind, const auth::Principal& principal,
                           const Request& request, google::protobuf::Message* response) {
    ASSIGN_OR_RETURN(std::string reply,
                     state_.Execute({.kind = kind,
                                     .request_id = request.request_id(),
                                     .payload = EncodeCommand(principal, request)}));
    if (!response->ParseFromString(reply)) return absl::InternalError("unreadable logged reply");
    return absl::OkStatus();
  }

  runtime::Runtime& runtime_;
  ForecastState& state_;
  const StoredForecasts& stored_;
};

class ForecastParts final : public runtime::ServiceParts {
 public:
  ForecastParts(runtime::Runtime& runtime, const ServiceOptions& options)
      : options_(options), state_(runtime), handler_(runtime, state_, stored_) {}

  // Replays the log, then starts refreshing the stored forecasts (every series is stale after
  // the replay: they are recomputed, and published only where they changed).
  absl::Status Start() {
    RETURN_IF_ERROR(state_.Replay());
    refresher_ = std::make_unique<ForecastRefresher>(state_, stored_, options_.refresh_interval);
    return absl::OkStatus();
  }

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, fv1::Forecast::service_full_name()}};
  }

  // Runs of sales go into the ledger as one command each (ForecastState::ApplySales); the other
  // events one by one, once per CloudEvents (source, id), through ApplyEvent.
  std::vector<absl::Status> ApplyEvents(absl::Span<const runtime::ConsumedEvent> events,
                                        sqlite::Transaction& tx, absl::Time now) override {
    std::vector<absl::Status> statuses;
    for (size_t i = 0; i < events.size();) {
      const bool sales = events[i].event.type == kSaleRecordedType;
      size_t end = i;
      while (end < events.size() && (events[end].event.type == kSaleRecordedType) == sales) ++end;
      absl::Span<const runtime::ConsumedEvent> run = events.subspan(i, end - i);
      std::vector<absl::Status> done =
          sales ? state_.ApplySales(run, tx) : runtime::ApplyEachOnce(*this, run, tx, now);
      const bool whole = !done.empty() && done.size() == run.size() &&
                         (done.back().ok() || kafka::IsPoison(done.back()));
      for (absl::Status& s : done) statuses.push_back(std::move(s));
      if (!whole) break;
      i = end;
    }
    return statuses;
  }

  // Partner snapshots go into the account mapping, deal snapshots into the deal book; other
  // events are accepted without effect.
  absl::Status ApplyEvent(const events::CloudEvent& event,
                          const google::protobuf::Message& payload,
                          sqlite::Transaction& tx) override {
    if (event.type == kSaleRecordedType) {
      return absl::InternalError("sales are applied in runs (ApplyEvents)");
    }
    if (event.type == kPartnerCreatedType || event.type == kPartnerUpdatedType ||
        event.type == kPartnerDeletedType || event.type == kTierChangedType ||
        event.type == kDealDeletedType ||
        IsDealSnapshotType(event.type)) {
      return state_.ApplyProjectedEvent(event.type, payload, tx);
    }
    return absl::OkStatus();
  }

 private:
  const ServiceOptions options_;
  ForecastState state_;
  StoredForecasts stored_;
  ForecastHandler handler_;
  std::unique_ptr<ForecastRefresher> refresher_;  // last: stopped first
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(
    runtime::Runtime& runtime, const ServiceOptions& options) {
  auto parts = std::make_unique<ForecastParts>(runtime, options);
  RETURN_IF_ERROR(parts->Start());
  return parts;
}

}  // namespace prm::forecast
