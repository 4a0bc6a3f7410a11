#include "services/deal-registration/adapters/deal_query.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/status/field_violations.h"

namespace prm::deal {
namespace {

absl::string_view Unquote(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return value;
}

std::optional<DealState> ParseState(absl::string_view name) {
  absl::ConsumePrefix(&name, "DEAL_STATE_");
  for (int s = 1; s <= static_cast<int>(DealState::kExpired); ++s) {
    const std::string_view n = DealStateName(static_cast<DealState>(s));
    if (absl::string_view(n.data(), n.size()) == name) return static_cast<DealState>(s);
  }
  return std::nullopt;
}

// "field op value" with op one of "=", "<".
bool SplitComparison(absl::string_view term, absl::string_view* field, char* op,
                     absl::string_view* value) {
  const size_t at = term.find_first_of("=<");
  if (at == absl::string_view::npos) return false;
  *field = absl::StripAsciiWhitespace(term.substr(0, at));
  *op = term[at];
  *value = Unquote(term.substr(at + 1));
  return !field->empty() && !value->empty();
}

}  // namespace

absl::StatusOr<DealQuery> ParseDealFilter(absl::string_view filter) {
  DealQuery query;
  if (absl::StripAsciiWhitespace(filter).empty()) return query;
  FieldViolations bad;
  for (absl::string_view conjunct : absl::StrSplit(filter, " AND ")) {
    std::vector<absl::string_view> alternatives = absl::StrSplit(conjunct, " OR ");
    for (absl::string_view term : alternatives) {
      term = absl::StripAsciiWhitespace(term);
      absl::ConsumePrefix(&term, "(");
      absl::ConsumeSuffix(&term, ")");
      absl::string_view field, value;
      char op = 0;
      if (!SplitComparison(term, &field, &op, &value)) {
        bad.Add("filter", absl::StrCat("cannot parse '", term, "'"));
        continue;
      }
      if (alternatives.size() > 1 && field != "state") {
        bad.Add("filter", "OR is supported between state terms only");
        continue;
      }
      if (field == "partner_id" && op == '=') {
        query.partner_id = std::string(value);
      } else if (field == "state" && op == '=') {
        std::optional<DealState> state = ParseState(value);
        if (!state) {
          bad.Add("filter", absl::StrCat("unknown state '", value, "'"));
        } else {
          query.states.push_back(*state);
        }
      } else if (field == "has_conflict" && op == '=') {
        if (value != "true" && value != "false") {
          bad.Add("filter", "has_conflict must be true or false");
        } else {
          query.has_conflict = value == "true";
        }
      } else if (field == "protection.expire_time" && op == '<') {
        absl::Time t;
        std::string error;
        if (!absl::ParseTime(absl::RFC3339_full, std::string(value), &t, &error)) {
          bad.Add("filter", absl::StrCat("protection.expire_time: ", error));
        } else {
          query.expiring_before = t;
        }
      } else {
        bad.Add("filter", absl::StrCat("unsupported term '", term,
                                       "' (supported: partner_id =, state =, has_conflict =,"
                                       " protection.expire_time <)"));
      }
    }
  }
  if (!bad.empty()) return bad.ToStatus("bad filter");
  return query;
}

}  // namespace prm::deal
