#pragma once

// An exact amount of money in one currency, as prm.common.v1.Money (units + nanos / 1e9), kept as
// one 128-bit count of nanos so that sums are exact. Plain value; thread-compatible.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/numeric/int128.h"

namespace prm::partner {

struct Money {
  std::string currency_code;  // ISO 4217, upper case
  absl::int128 nanos = 0;     // amount × 1e9

  static Money FromUnits(std::string currency, int64_t units, int32_t nanos = 0) {
    return Money{std::move(currency), absl::int128(units) * 1'000'000'000 + nanos};
  }
  // Whole units (truncated toward zero) and the remaining nanos, as in the proto.
  int64_t units() const { return static_cast<int64_t>(nanos / 1'000'000'000); }
  int32_t nanos_part() const { return static_cast<int32_t>(nanos % 1'000'000'000); }
  double ToDouble() const { return static_cast<double>(nanos) / 1e9; }

  friend bool operator==(const Money&, const Money&) = default;
};

}  // namespace prm::partner
