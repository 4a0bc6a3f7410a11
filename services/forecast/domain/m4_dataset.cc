#include "services/forecast/domain/m4_dataset.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace prm::forecast {
namespace {

absl::string_view Unquote(absl::string_view cell) {
  cell = absl::StripAsciiWhitespace(cell);
  if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') {
    cell = cell.substr(1, cell.size() - 2);
  }
  return cell;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open M4 file ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::vector<double>>>> ParseM4Csv(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
    std::pair<std::string, std::vector<double>> row;
    row.first = std::string(Unquote(cells[0]));
    for (std::size_t i = 1; i < cells.size(); ++i) {
      absl::string_view cell = Unquote(cells[i]);
      if (cell.empty()) continue;
      double v = 0.0;
      if (!absl::SimpleAtod(cell, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("series ", row.first, ": bad number '", cell, "'"));
      }
      row.second.push_back(v);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<M4Subset> LoadM4Subset(const std::string& dir, const std::string& name) {
  M4Subset subset;
  subset.name = name;
  if (name == "Weekly") {
    subset.horizon = 13;
    subset.season_length = 1;
  } else if (name == "Hourly") {
    subset.horizon = 48;
    subset.season_length = 24;
  } else if (name == "Daily") {
    subset.horizon = 14;
    subset.season_length = 1;
  } else if (name == "Monthly") {
    subset.horizon = 18;
    subset.season_length = 12;
  } else if (name == "Quarterly") {
    subset.horizon = 8;
    subset.season_length = 4;
  } else if (name == "Yearly") {
    subset.horizon = 6;
    subset.season_length = 1;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown M4 subset '", name, "'"));
  }
  ASSIGN_OR_RETURN(std::string train_text, ReadFile(dir + "/" + name + "-train.csv"));
  ASSIGN_OR_RETURN(std::string test_text, ReadFile(dir + "/" + name + "-test.csv"));
  ASSIGN_OR_RETURN(auto train, ParseM4Csv(train_text));
  ASSIGN_OR_RETURN(auto test, ParseM4Csv(test_text));
  if (train.size() != test.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "M4 ", name, ": ", train.size(), " training rows but ", test.size(), " test rows"));
  }
  for (std::size_t i = 0; i < train.size(); ++i) {
    if (train[i].first != test[i].first ||
        test[i].second.size() != static_cast<std::size_t>(subset.horizon)) {
      return absl::InvalidArgumentError(
          absl::StrCat("M4 ", name, ": test row ", i, " does not match series ", train[i].first));
    }
    subset.series.push_back(
        M4Series{train[i].first, std::move(train[i].second), std::move(test[i].second)});
  }
  return subset;
}

}  // namespace prm::forecast
