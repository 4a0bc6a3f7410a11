#include "common/server/limits.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace prm::server {

int32_t EffectivePageSize(int32_t requested, FieldViolations& bad) {
  if (requested < 0) {
    bad.Add("page_size", "must not be negative");
    return kDefaultPageSize;
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::StatusOr<int32_t> EffectivePageSize(int32_t requested) {
  FieldViolations bad;
  const int32_t size = EffectivePageSize(requested, bad);
  if (!bad.empty()) return bad.ToStatus();
  return size;
}

bool CheckFilterLength(std::string_view filter, std::string_view field, FieldViolations& bad) {
  if (filter.size() <= kMaxFilterLength) return true;
  bad.Add(std::string(field), absl::StrCat("must be at most ", kMaxFilterLength, " bytes, not ",
                                           filter.size()));
  return false;
}

absl::Status CheckFilterLength(std::string_view filter, std::string_view field) {
  FieldViolations bad;
  CheckFilterLength(filter, field, bad);
  return bad.ToStatus();
}

bool CheckBatchSize(size_t size, size_t max, std::string_view field, FieldViolations& bad) {
  if (size <= max) return true;
  bad.Add(std::string(field), absl::StrCat("must have at most ", max, " items, not ", size));
  return false;
}

absl::Status CheckBatchSize(size_t size, size_t max, std::string_view field) {
  FieldViolations bad;
  CheckBatchSize(size, max, field, bad);
  return bad.ToStatus();
}

}  // namespace prm::server
