#pragma once

// The List conventions of proto/README.md for the services' List RPCs, beyond the common
// page-size and filter-length limits (common/server/limits.h, which the handlers apply first):
// opaque page tokens valid for 24 hours and only with the same other parameters, `order_by` of
// one documented field with optional " desc" (ties by id), and the AIP-160 filter subset:
//
//   filter     := term ( "AND" term )*
//   term       := comparison | "(" comparison ( "OR" comparison )* ")"
//   comparison := field op value          op := = | != | < | <= | > | >=
//   value      := "string" | number | true | false | ENUM_VALUE_NAME | "RFC 3339 time" | "YYYY-MM-DD"
//
// with at most 20 comparisons. On a repeated field `=` means "contains" and `!=` "does not
// contain"; the other operators hold when any element satisfies them. Errors are
// INVALID_ARGUMENT with a BadRequest violation on `filter`, `order_by` or `page_token`. Pure
// functions and immutable values; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include "absl/strings/string_view.h"
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/status/field_violations.h"

namespace prm::server {

inline constexpr absl::Duration kPageTokenLifetime = absl::Hours(24);

struct OrderBy {
  std::string field;
  bool descending = false;
};
// `text` empty → `default_field` ascending.
absl::StatusOr<OrderBy> ParseOrderBy(absl::string_view text,
                                     const std::vector<std::string>& allowed_fields,
                                     absl::string_view default_field);

// One item of a list: its sort value (compared as bytes; see SortableTime/SortableNumber), its
// id (the tie-breaker) and its index in the caller's vector.
struct ListEntry {
  std::string sort_value;
  std::string id;
  size_t index = 0;
};
struct ListPage {
  std::vector<size_t> indices;  // of the page's items, in order
  std::string next_page_token;  // empty on the last page
};

// Sorts, resumes after the position in `page_token` (which must have been issued for the same
// `fingerprint`, within kPageTokenLifetime of `now`) and cuts one page.
absl::StatusOr<ListPage> Paginate(std::vector<ListEntry> entries, bool descending, int page_size,
                                  absl::string_view page_token, absl::string_view fingerprint,
                                  absl::Time now);

// Byte-wise sortable encodings.
std::string SortableTime(absl::Time t);
std::string SortableNumber(int64_t n);

enum class FilterFieldType { kString, kInt, kBool, kTime, kEnum };
using FilterSchema = absl::flat_hash_map<std::string, FilterFieldType>;
// An item's value of a field: text for kString and kEnum (the enum value's name), int64_t for
// kInt, bool for kBool, absl::Time for kTime.
using FilterValue = std::variant<std::string, int64_t, bool, absl::Time>;

class ListFilter {
 public:
  // The empty filter matches everything.
  static absl::StatusOr<ListFilter> Parse(absl::string_view text, const FilterSchema& schema);

  // `values(field)` returns the item's values of `field`: one for a singular field, any number
  // for a repeated one.
  bool Matches(absl::FunctionRef<std::vector<FilterValue>(absl::string_view field)> values) const;

  bool empty() const { return terms_.empty(); }
  // Whether some comparison is on `field`.
  bool Mentions(absl::string_view field) const;

  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
  struct Comparison {
    std::string field;
    Op op = Op::kEq;
    FilterValue value;
  };

 private:
  std::vector<std::vector<Comparison>> terms_;  // AND of ORs
};

// The request's `filter` parsed against `schema`, after the common length limit
// (common/server/limits.h); nullopt with the violations added to `bad` when it is too long or
// does not parse.
std::optional<ListFilter> ParseListFilter(std::string_view text, const FilterSchema& schema,
                                          FieldViolations& bad);

}  // namespace prm::server
