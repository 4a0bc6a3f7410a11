#include "services/forecast/domain/sales_ledger.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"

namespace prm::forecast {
namespace {

constexpr int32_t kNanosPerUnit = 1'000'000'000;
constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxLines = 1000;
constexpr int64_t kMaxQuantity = 1'000'000'000;

const absl::CivilDay kEpochDay(1970, 1, 1);

int64_t DayIndex(absl::CivilDay day) { return day - kEpochDay; }
absl::CivilDay DayAt(int64_t index) { return kEpochDay + index; }

absl::CivilDay Monday(absl::CivilDay day) {
  return day - static_cast<int>(absl::GetWeekday(day));  // Weekday::monday == 0
}

int64_t MonthIndex(absl::CivilDay day) { return day.year() * 12 + day.month() - 1; }
absl::CivilDay MonthStart(int64_t index) {
  return absl::CivilDay(index / 12, static_cast<int>(index % 12) + 1, 1);
}

// The month index of the first month of the fiscal quarter holding month `month_index`.
int64_t QuarterStartMonth(int64_t month_index, int fiscal_year_start_month) {
  int64_t offset = (month_index - (fiscal_year_start_month - 1)) % 3;
  if (offset < 0) offset += 3;
  return month_index - offset;
}

bool IsCurrencyCode(const std::string& code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// What is wrong with an id, if anything.
std::optional<std::string> IdProblem(const std::string& value) {
  if (value.empty()) return "is required";
  if (value.size() > kMaxIdLength && CharacterCount(value) > kMaxIdLength) {
    return absl::StrCat("must be at most ", kMaxIdLength, " characters");
  }
  return std::nullopt;
}

// `first` and `second` as one unambiguous key (ids are at most 64 characters; the length prefix
// keeps the key unambiguous whatever they hold), into `key`'s own buffer.
void PairKey(const std::string& first, const std::string& second, std::string& key) {
  key.clear();
  absl::StrAppend(&key, first.size(), ":", first, second);
}

}  // namespace

std::string AccountKey(const std::string& erp_system_id, const std::string& partner_external_id) {
  std::string key;
  PairKey(erp_system_id, partner_external_id, key);
  return key;
}

absl::CivilDay UtcDay(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    return absl::ToCivilDay(t, absl::UTCTimeZone());
  }
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounded down
  constexpr int64_t kSecondsPerDay = 86400;
  return kEpochDay + (seconds / kSecondsPerDay - (seconds % kSecondsPerDay < 0 ? 1 : 0));
}

bool OnDays(const DaySpans& spans, absl::CivilDay day) {
  auto after = std::upper_bound(spans.begin(), spans.end(), day,
                                [](absl::CivilDay d, const auto& span) { return d < span.first; });
  return after != spans.begin() && day < std::prev(after)->second;
}

Amount& Amount::operator+=(const Amount& other) {
  // Exact: carry the nanos, then give both parts the sign of the total.
  int64_t units = this->units + other.units;
  int64_t nanos = static_cast<int64_t>(this->nanos) + other.nanos;
  units += nanos / kNanosPerUnit;
  nanos %= kNanosPerUnit;
  if (units > 0 && nanos < 0) {
    --units;
    nanos += kNanosPerUnit;
  } else if (units < 0 && nanos > 0) {
    ++units;
    nanos -= kNanosPerUnit;
  }
  this->units = units;
  this->nanos = static_cast<int32_t>(nanos);
  return *this;
}

Amount Amount::FromDouble(double value) {
  double whole = std::trunc(value);
  auto nanos = static_cast<int64_t>(std::llround((value - whole) * kNanosPerUnit));
  Amount result{static_cast<int64_t>(whole), 0};
  result += Amount{0, static_cast<int32_t>(nanos)};
  return result;
}

std::pair<absl::CivilDay, absl::CivilDay> SalesLedger::PeriodOf(absl::CivilDay day,
                                                               Granularity granularity,
                                                               int fiscal_year_start_month) {
  switch (granularity) {
    case Granularity::kWeek: {
      absl::CivilDay start = Monday(day);
      return {start, start + 6};
    }
    case Granularity::kMonth: {
      int64_t m = MonthIndex(day);
      return {MonthStart(m), MonthStart(m + 1) - 1};
    }
    case Granularity::kQuarter: {
      int64_t q = QuarterStartMonth(MonthIndex(day), fiscal_year_start_month);
      return {MonthStart(q), MonthStart(q + 3) - 1};
    }
  }
  return {day, day};
}

absl::Status SalesLedger::Validate(const Sale& sale) const {
  FieldViolations bad;
  auto check_id = [&bad](const char* field, const std::string& id) {
    if (std::optional<std::string> problem = IdProblem(id)) bad.Add(field, *std::move(problem));
  };
  check_id("vendor_id", sale.vendor_id);
  check_id("erp_system_id", sale.erp_system_id);
  check_id("partner_external_id", sale.partner_external_id);
  check_id("erp_document_id", sale.document_id);
  const bool currency_ok = IsCurrencyCode(sale.currency_code);
  if (!currency_ok) bad.Add("currency_code", "must be a 3-letter upper-case ISO 4217 code");
  static const absl::Time kEarliest =
      absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone());
  if (sale.sale_time < kEarliest) {
    bad.Add("sale_time", "must not be before 1990-01-01");
  } else if (sale.sale_time > clock_.Now() + absl::Hours(24)) {
    bad.Add("sale_time", "must not be more than 1 day in the future");
  }
  if (sale.lines.empty() || sale.lines.size() > kMaxLines) {
    bad.Add("lines", absl::StrCat("must hold 1..", kMaxLines, " lines"));
  }
  for (size_t i = 0; i < sale.lines.size() && i < kMaxLines; ++i) {
    const SaleLine& line = sale.lines[i];
    // The path is spelled only for a line with a violation (every sale is checked).
    auto path = [i](const char* field) { return absl::StrCat("lines[", i, "].", field); };
    if (std::optional<std::string> problem = IdProblem(line.product_category)) {
      bad.Add(path("product_category"), *std::move(problem));
    }
    if (line.quantity < 1 || line.quantity > kMaxQuantity) {
      bad.Add(path("quantity"), absl::StrCat("must be in 1..", kMaxQuantity));
    }
    const Amount& a = line.amount;
    if (a.units < 0 || a.nanos < 0 || a.nanos >= kNanosPerUnit) {
      bad.Add(path("amount"), "must be a non-negative amount with nanos in 0..999999999");
    }
  }
  return bad.ToStatus("the sale breaks the prm.sales.v1 contract");
}

absl::StatusOr<bool> SalesLedger::Record(const Sale& sale) {
  if (absl::Status status = Validate(sale); !status.ok()) return status;
  VendorBook& book = vendors_.try_emplace(sale.vendor_id).first->second;
  PairKey(sale.erp_system_id, sale.document_id, document_key_);
  if (!book.documents.insert(document_key_).second) return false;  // copied only when new
  ++document_count_;

  const Measure measure = sale.kind == SaleKind::kSellThrough ? Measure::kSellThrough
                          : sale.kind == SaleKind::kReturn    ? sale.returned_measure
                                                              : Measure::kSellIn;
  const bool subtract = sale.kind == SaleKind::kReturn;
  const absl::CivilDay day = UtcDay(sale.sale_time);
  const int64_t day_key = DayIndex(day);
  const int64_t week_key = DayIndex(Monday(day));
  const int64_t month_key = MonthIndex(day);

  PairKey(sale.erp_system_id, sale.partner_external_id, account_key_);
  const std::string& account = account_key_;
  book.last_sale = std::max(book.last_sale, sale.sale_time);
  for (const SaleLine& line : sale.lines) {
    // Found without copying the key's strings; they are copied once, for a new cell.
    auto found = book.cells.find(
        std::forward_as_tuple(account, line.product_category, measure, sale.currency_code));
    if (found == book.cells.end()) {
      found = book.cells
                  .emplace(CellKey{account, line.product_category, measure, sale.currency_code},
                           Cell{})
                  .first;
    }
    Cell& cell = found->second;
    const Amount delta = subtract ? -line.amount : line.amount;
    cell.days[day_key] += delta;
    cell.weeks[week_key] += delta;
    cell.months[month_key] += delta;
    cell.first_sale = std::min(cell.first_sale, sale.sale_time);
    cell.last_sale = std::max(cell.last_sale, sale.sale_time);
  }
  return true;
}

absl::StatusOr<SeriesHistory> SalesLedger::Series(const SeriesSelector& selector,
                                                  Granularity granularity,
                                                  int fiscal_year_start_month,
                                                  const RateLookup& rates) const {
  auto vendor = vendors_.find(selector.vendor_id);
  if (vendor == vendors_.end()) return absl::NotFoundError("the vendor has no sales");
  const VendorBook& book = vendor->second;

  // Period key → net amount; keys are day indexes of period starts (weeks) or month indexes of
  // period starts (months, quarters).
  std::map<int64_t, Amount> sums;
  absl::Time first = absl::InfiniteFuture();
  absl::Time last = absl::InfinitePast();
  auto period_key = [&](int64_t day) -> int64_t {
    const absl::CivilDay civil = DayAt(day);
    switch (granularity) {
      case Granularity::kWeek:
        return DayIndex(Monday(civil));
      case Granularity::kMonth:
        return MonthIndex(civil);
      case Granularity::kQuarter:
        return QuarterStartMonth(MonthIndex(civil), fiscal_year_start_month);
    }
    return day;
  };
  for (const auto& [key, cell] : book.cells) {
    const auto& [partner, category, measure, currency] = key;
    if (selector.accounts && !selector.accounts->contains(partner)) continue;
    if (selector.excluded_accounts.contains(partner)) continue;
    if (!selector.product_category.empty() && category != selector.product_category) continue;
    if (measure != selector.measure) continue;
    auto only = selector.only_on_days.find(partner);
    const DaySpans* days = only == selector.only_on_days.end() ? nullptr : &only->second;
    const bool same_currency = currency == selector.currency_code;
    if (same_currency && days == nullptr) {  // the kept week and month sums serve as they are
      first = std::min(first, cell.first_sale);
      last = std::max(last, cell.last_sale);
      if (granularity == Granularity::kWeek) {
        for (const auto& [week, amount] : cell.weeks) sums[week] += amount;
      } else {
        for (const auto& [month, amount] : cell.months) {
          int64_t k = granularity == Granularity::kMonth
                          ? month
                          : QuarterStartMonth(month, fiscal_year_start_month);
          sums[k] += amount;
        }
      }
      continue;
    }
    if (!same_currency && !rates) continue;
    // Day by day: converted at each day's rate, or only the selected days.
    std::optional<int64_t> first_day, last_day;
    for (const auto& [day, amount] : cell.days) {
      if (days != nullptr && !OnDays(*days, DayAt(day))) continue;
      Amount value = amount;
      if (!same_currency) {
        std::optional<double> rate = rates(currency, DayAt(day));
        if (!rate) continue;
        value = Amount::FromDouble(amount.ToDouble() * *rate);
      }
      sums[period_key(day)] += value;
      if (!first_day) first_day = day;
      last_day = day;
    }
    if (first_day) {
      const absl::TimeZone utc = absl::UTCTimeZone();
      const absl::Time last_day_end =
          absl::FromCivil(DayAt(*last_day + 1), utc) - absl::Nanoseconds(1);
      first = std::min(first, std::max(cell.first_sale, absl::FromCivil(DayAt(*first_day), utc)));
      last = std::max(last, std::min(cell.last_sale, last_day_end));
    }
  }
  if (sums.empty()) return absl::NotFoundError("the series has no sales");

  SeriesHistory history;
  history.data_through = last;
  const absl::CivilDay first_day = absl::ToCivilDay(first, absl::UTCTimeZone());
  const absl::CivilDay end_day = absl::ToCivilDay(book.last_sale, absl::UTCTimeZone());
  absl::CivilDay start = PeriodOf(first_day, granularity, fiscal_year_start_month).first;
  while (start <= end_day) {
    const absl::CivilDay end = PeriodOf(start, granularity, fiscal_year_start_month).second;
    const int64_t key = granularity == Granularity::kWeek ? DayIndex(start) : MonthIndex(start);
    auto it = sums.find(key);
    history.periods.push_back({start, end, it == sums.end() ? Amount{} : it->second});
    start = end + 1;
  }
  return history;
}

std::vector<std::string> SalesLedger::Categories(const std::string& vendor_id) const {
  auto vendor = vendors_.find(vendor_id);
  if (vendor == vendors_.end()) return {};
  std::set<std::string_view> categories;
  for (const auto& [key, cell] : vendor->second.cells) categories.insert(std::get<1>(key));
  return {categories.begin(), categories.end()};
}

absl::Time SalesLedger::LastSale(const std::string& vendor_id) const {
  auto it = vendors_.find(vendor_id);
  return it == vendors_.end() ? absl::InfinitePast() : it->second.last_sale;
}

std::vector<CategoryAmount> SalesLedger::Mix(const SeriesSelector& selector, absl::Time start,
                                             absl::Time end, const RateLookup& rates) const {
  std::map<std::string, Amount> by_category;
  auto vendor = vendors_.find(selector.vendor_id);
  if (vendor == vendors_.end()) return {};
  const int64_t first_day = DayIndex(absl::ToCivilDay(start, absl::UTCTimeZone()));
  const int64_t end_day = DayIndex(absl::ToCivilDay(end, absl::UTCTimeZone()));
  for (const auto& [key, cell] : vendor->second.cells) {
    const auto& [partner, category, measure, currency] = key;
    if (selector.accounts && !selector.accounts->contains(partner)) continue;
    if (selector.excluded_accounts.contains(partner)) continue;
    if (measure != selector.measure) continue;
    const bool same_currency = currency == selector.currency_code;
    if (!same_currency && !rates) continue;
    auto only = selector.only_on_days.find(partner);
    const DaySpans* days = only == selector.only_on_days.end() ? nullptr : &only->second;
    for (auto it = cell.days.lower_bound(first_day); it != cell.days.end() && it->first <= end_day;
         ++it) {
      if (days != nullptr && !OnDays(*days, DayAt(it->first))) continue;
      if (same_currency) {
        by_category[category] += it->second;
      } else if (std::optional<double> rate = rates(currency, DayAt(it->first))) {
        by_category[category] += Amount::FromDouble(it->second.ToDouble() * *rate);
      }
    }
  }
  std::vector<CategoryAmount> mix;
  for (auto& [category, amount] : by_category) mix.push_back({category, amount});
  std::stable_sort(mix.begin(), mix.end(), [](const CategoryAmount& a, const CategoryAmount& b) {
    return a.amount.ToDouble() > b.amount.ToDouble();
  });
  return mix;
}

}  // namespace prm::forecast
