#pragma once

// The percentiles the benchmarks print, one definition for all of them.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace prm::bench {

// Of `sorted` (ascending), the value at rank ⌊q·n⌋ — the q-quantile, q in [0, 1], the largest
// value for q = 1; 0 when there is none.
inline double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank)];
}

}  // namespace prm::bench
