#pragma once

// The sales ledger (SPEC §7.1): ERP sales documents of prm.sales.v1 aggregated into time buckets
// per vendor × partner × product category × measure × currency, the stored state every forecast
// of the service is read from. Plain C++: the adapter maps SaleRecorded onto `Sale`.
//
// Buckets: ISO weeks (Monday start) and calendar months, in UTC; quarters are read as sums of
// three months so that any fiscal-year start month works without re-bucketing. A RETURN document
// is subtracted from the flow it reverses (sell-in unless stated otherwise), so a bucket may be
// negative. Late and out-of-order documents land in the bucket of their sale time.
//
// Idempotency: a document is identified by (vendor_id, erp_system_id, erp_document_id), as the
// sales contract says; a second document with the same identity is a duplicate and changes
// nothing, whichever event carried it. Transport-level redelivery of the same event is already
// filtered by the runtime (CloudEvents source + id).
//
// Not thread-safe: the owner serializes writers against readers (the service holds a
// std::shared_mutex). Deterministic: the same documents in the same order give the same state,
// so the command log's replay rebuilds it exactly.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"

namespace prm::forecast {

// An exact signed amount of money: units + nanos / 1e9, nanos in (-1e9, 1e9) with the sign of
// units (the representation of prm.common.v1.Money, without its currency).
struct Amount {
  int64_t units = 0;
  int32_t nanos = 0;

  Amount& operator+=(const Amount& other);
  friend Amount operator+(Amount a, const Amount& b) { return a += b; }
  friend Amount operator-(const Amount& a) { return {-a.units, -a.nanos}; }
  friend bool operator==(const Amount&, const Amount&) = default;
  double ToDouble() const { return static_cast<double>(units) + nanos / 1e9; }
  // The amount nearest to `value`, rounded to whole nanos.
  static Amount FromDouble(double value);
};

enum class SaleKind { kSellIn, kSellThrough, kReturn };

// The flow a series measures; a return counts against the flow it reverses.
enum class Measure { kSellIn, kSellThrough };

enum class Granularity { kWeek, kMonth, kQuarter };

struct SaleLine {
  std::string product_category;
  int64_t quantity = 0;
  Amount amount;  // non-negative, in the document's currency
};

// One ERP sales document (SaleRecorded).
struct Sale {
  std::string vendor_id;
  std::string erp_system_id;
  std::string partner_external_id;  // the partner's account in that ERP
  std::string document_id;
  SaleKind kind = SaleKind::kSellIn;
  Measure returned_measure = Measure::kSellIn;  // RETURN only
  std::string currency_code;
  absl::Time sale_time;
  std::vector<SaleLine> lines;
};

// The ledger's key of one partner account of a vendor's ERP: sales are kept per account, and
// which partner an account belongs to is resolved when a series is read (PartnerAccounts), so
// sales of an account mapped later are applied to the partner then.
std::string AccountKey(const std::string& erp_system_id, const std::string& partner_external_id);

// The UTC day of `t`, by arithmetic rather than a time-zone lookup (every sale needs it).
absl::CivilDay UtcDay(absl::Time t);

// UTC days as half-open ranges [first, end), in order and not overlapping.
using DaySpans = std::vector<std::pair<absl::CivilDay, absl::CivilDay>>;

// Bounds of every day a sale can have, for a span meaning "always".
inline const absl::CivilDay kFirstDay(1, 1, 1);
inline const absl::CivilDay kEndDay(10000, 1, 1);

// Whether `day` lies in one of the spans.
bool OnDays(const DaySpans& spans, absl::CivilDay day);

// Every day, and whether spans are that.
inline DaySpans EveryDay() { return {{kFirstDay, kEndDay}}; }
inline bool IsEveryDay(const DaySpans& spans) { return spans == EveryDay(); }

// Which slice of a vendor's sales a series sums. Unset accounts = every account (the vendor
// total); an empty product_category = all categories.
struct SeriesSelector {
  std::string vendor_id;
  std::optional<std::set<std::string>> accounts;  // AccountKey values
  std::set<std::string> excluded_accounts;        // left out even when `accounts` is unset
  // Accounts listed here count only their sales on these days (a segment's partner while it
  // held the segment's tier); other accounts count every day.
  std::map<std::string, DaySpans> only_on_days;
  std::string product_category;
  Measure measure = Measure::kSellIn;
  std::string currency_code;
};

// One period of a series: its first and last day (UTC) and the net amount.
struct PeriodAmount {
  absl::CivilDay start;
  absl::CivilDay end;
  Amount amount;
};

struct SeriesHistory {
  // Every period from the series' first sale through the vendor's latest sale, oldest first,
  // periods without sales at zero.
  std::vector<PeriodAmount> periods;
  // The latest sale time of the series.
  absl::Time data_through;
};

// Net sales per product category over a time window, largest first.
struct CategoryAmount {
  std::string product_category;
  Amount amount;
};

// Units of the selection's currency per unit of `currency` on `day`; nullopt when no rate
// applies (that day's amount is then left out).
using RateLookup =
    std::function<std::optional<double>(const std::string& currency, absl::CivilDay day)>;

class SalesLedger {
 public:
  // `clock` (the command log's clock) bounds sale times: at most one day ahead of it.
  explicit SalesLedger(const Clock& clock) : clock_(clock) {}

  // Records a document. Returns true when it was recorded, false when it is a duplicate
  // (nothing changes). INVALID_ARGUMENT naming every bad field (paths as in SaleRecorded:
  // vendor_id, erp_system_id, partner_external_id, erp_document_id, currency_code, sale_time,
  // lines, lines[i].product_category, lines[i].quantity, lines[i].amount) when the document
  // breaks the sales contract; nothing changes then.
  absl::StatusOr<bool> Record(const Sale& sale);

  // The validation Record applies, on its own (OK or INVALID_ARGUMENT as above), so that an
  // adapter can report its own violations and these in one status.
  absl::Status Validate(const Sale& sale) const;

  // The series at `granularity` (quarters start in `fiscal_year_start_month`, 1..12), in
  // selector.currency_code: sales in that currency exactly, sales in other currencies converted
  // day by day with `rates` (rounded to nanos; left out without `rates` or without a rate).
  // NOT_FOUND when the selection has no sale at all.
  absl::StatusOr<SeriesHistory> Series(const SeriesSelector& selector, Granularity granularity,
                                       int fiscal_year_start_month = 1,
                                       const RateLookup& rates = nullptr) const;

  // Net sales per category of the selection (product_category ignored) on the UTC days from
  // the day of `start` through the day of `end`, both included (the daily totals are what is
  // kept), converted as Series does.
  std::vector<CategoryAmount> Mix(const SeriesSelector& selector, absl::Time start,
                                  absl::Time end, const RateLookup& rates = nullptr) const;

  int64_t document_count() const { return document_count_; }

  // The product categories of the vendor's sales, sorted, each once.
  std::vector<std::string> Categories(const std::string& vendor_id) const;

  // The vendor's latest sale time (InfinitePast without sales): every series of the vendor runs
  // through its period.
  absl::Time LastSale(const std::string& vendor_id) const;

  // The first and last day of the period containing `day`.
  static std::pair<absl::CivilDay, absl::CivilDay> PeriodOf(absl::CivilDay day,
                                                            Granularity granularity,
                                                            int fiscal_year_start_month = 1);

 private:
  // (account key, category, measure, currency) within one vendor.
  using CellKey = std::tuple<std::string, std::string, Measure, std::string>;
  // B-trees rather than red-black trees: a sale adds to three buckets of its cell, and these
  // lookups are most of the ingestion's time in the ledger.
  struct Cell {
    absl::btree_map<int64_t, Amount> weeks;   // key: days since 1970-01-01 of the Monday
    absl::btree_map<int64_t, Amount> months;  // key: year × 12 + month − 1
    absl::btree_map<int64_t, Amount> days;    // key: days since 1970-01-01 (for mix windows)
    absl::Time first_sale = absl::InfiniteFuture();
    absl::Time last_sale = absl::InfinitePast();
  };
  struct VendorBook {
    absl::btree_map<CellKey, Cell, std::less<>> cells;
    // The documents recorded: the AccountKey-style pair (erp_system_id, erp_document_id).
    absl::flat_hash_set<std::string> documents;
    absl::Time last_sale = absl::InfinitePast();
  };

  const Clock& clock_;
  std::map<std::string, VendorBook, std::less<>> vendors_;
  int64_t document_count_ = 0;
  // Reused by Record for the keys it looks up, so that a lookup allocates nothing.
  std::string document_key_;
  std::string account_key_;
};

}  // namespace prm::forecast
