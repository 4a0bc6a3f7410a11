#include "common/server/limits.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"

namespace prm::server {

absl::StatusOr<int32_t> EffectivePageSize(int32_t requested) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::Status CheckFilterLength(std::string_view filter, std::string_view field) {
  if (filter.size() <= kMaxFilterLength) return absl::OkStatus();
  return InvalidField(std::string(field),
                      absl::StrCat("must be at most ", kMaxFilterLength, " bytes"));
}

absl::Status CheckBatchSize(size_t size, size_t max, std::string_view field) {
  if (size <= max) return absl::OkStatus();
  return InvalidField(std::string(field), absl::StrCat("must have at most ", max, " items"));
}

}  // namespace prm::server
