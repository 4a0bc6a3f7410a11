#pragma once

// Reader for the M4 competition CSV files (Mcompetitions/M4-methods `Dataset/Train/*-train.csv`
// and `Dataset/Test/*-test.csv`): wide rows, first cell the series id, then observations, padded
// with empty cells. Used by backtests against the published M4 table (SPEC §7.6).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace prm::forecast {

struct M4Series {
  std::string id;
  std::vector<double> train;
  std::vector<double> test;
};

struct M4Subset {
  std::string name;     // "Weekly", "Hourly", ...
  int horizon = 0;      // h of the competition
  int season_length = 1;  // frequency used by MASE and the benchmarks
  std::vector<M4Series> series;
};

// Parses one wide CSV (header row first). INVALID_ARGUMENT on a malformed number.
absl::StatusOr<std::vector<std::pair<std::string, std::vector<double>>>> ParseM4Csv(
    absl::string_view text);

// Reads `<dir>/<name>-train.csv` and `<dir>/<name>-test.csv`. NOT_FOUND when a file is missing,
// INVALID_ARGUMENT when the name is not a known subset or the files disagree (ids, horizon).
absl::StatusOr<M4Subset> LoadM4Subset(const std::string& dir, const std::string& name);

}  // namespace prm::forecast
