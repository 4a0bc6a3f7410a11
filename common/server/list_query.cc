#include "common/server/list_query.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/events/cloud_event.h"
#include "common/status/field_violations.h"
#include "common/server/limits.h"
#include "common/status/status_macros.h"

namespace prm::server {
namespace {

constexpr int kMaxComparisons = 20;
constexpr char kTokenVersion[] = "p1";

absl::Status BadToken() {
  return InvalidField("page_token",
                      "is malformed, expired, or was issued for different list parameters");
}

// ---- filter lexer and parser ------------------------------------------------------------

enum class Tok { kIdent, kString, kNumber, kOp, kLParen, kRParen, kEnd };
struct Token {
  Tok kind;
  std::string text;
};

absl::StatusOr<std::vector<Token>> Lex(absl::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto bad = [](std::string what) { return InvalidField("filter", std::move(what)); };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::kLParen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Tok::kRParen, ")"});
      ++i;
    } else if (c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          text.push_back(s[i + 1]);
          i += 2;
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          text.push_back(s[i++]);
        }
      }
      if (!closed) return bad("has an unterminated string");
      out.push_back({Tok::kString, std::move(text)});
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      if (i + 1 < s.size() && s[i + 1] == '=') op.push_back('=');
      if (op == "!") return bad("has '!' without '='");
      i += op.size();
      out.push_back({Tok::kOp, std::move(op)});
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      out.push_back({Tok::kNumber, std::string(s.substr(i, j - i))});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' ||
                              s[j] == '.')) {
        ++j;
      }
      out.push_back({Tok::kIdent, std::string(s.substr(i, j - i))});
      i = j;
    } else {
      return bad(absl::StrCat("has an unexpected character at position ", i));
    }
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

absl::StatusOr<absl::Time> ParseTimeValue(const std::string& text) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    absl::Time t;
    std::string err;
    if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  absl::StatusOr<absl::Time> t = events::ParseEventTime(text);
  if (t.ok()) return *t;
  return InvalidField("filter", absl::StrCat("'", text, "' is not an RFC 3339 time or a date"));
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const FilterSchema& schema)
      : tokens_(std::move(tokens)), schema_(schema) {}

  absl::StatusOr<std::vector<std::vector<ListFilter::Comparison>>> Parse() {
    std::vector<std::vector<ListFilter::Comparison>> terms;
    while (true) {
      std::vector<ListFilter::Comparison> term;
      if (Peek().kind == Tok::kLParen) {
        Next();
        while (true) {
          ASSIGN_OR_RETURN(ListFilter::Comparison c, ParseComparison());
          term.push_back(std::move(c));
          if (Peek().kind == Tok::kIdent && Peek().text == "OR") {
            Next();
            continue;
          }
          break;
        }
        if (Next().kind != Tok::kRParen) return Bad("expects ')'");
      } else {
        ASSIGN_OR_RETURN(ListFilter::Comparison c, ParseComparison());
        term.push_back(std::move(c));
      }
      terms.push_back(std::move(term));
      if (Peek().kind == Tok::kEnd) break;
      if (Peek().kind == Tok::kIdent && Peek().text == "AND") {
        Next();
        continue;
      }
      return Bad(absl::StrCat("expects AND or the end, not '", Peek().text, "'"));
    }
    return terms;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  static absl::Status Bad(std::string what) { return InvalidField("filter", std::move(what)); }

  absl::StatusOr<ListFilter::Comparison> ParseComparison() {
    if (++comparisons_ > kMaxComparisons) {
      return Bad(absl::StrCat("has more than ", kMaxComparisons, " comparisons"));
    }
    const Token field = Next();
    if (field.kind != Tok::kIdent) return Bad("expects a field name");
    auto type = schema_.find(field.text);
    if (type == schema_.end()) return Bad(absl::StrCat("has an unknown field '", field.text, "'"));
    const Token op = Next();
    if (op.kind != Tok::kOp) return Bad(absl::StrCat("expects an operator after ", field.text));
    ListFilter::Comparison c;
    c.field = field.text;
    if (op.text == "=") c.op = ListFilter::Op::kEq;
    else if (op.text == "!=") c.op = ListFilter::Op::kNe;
    else if (op.text == "<") c.op = ListFilter::Op::kLt;
    else if (op.text == "<=") c.op = ListFilter::Op::kLe;
    else if (op.text == ">") c.op = ListFilter::Op::kGt;
    else c.op = ListFilter::Op::kGe;
    const Token value = Next();
    const std::string wrong = absl::StrCat("has a value of the wrong type for ", field.text);
    switch (type->second) {
      case FilterFieldType::kString:
        if (value.kind != Tok::kString) return Bad(wrong);
        c.value = value.text;
        break;
      case FilterFieldType::kEnum:
        if (value.kind != Tok::kIdent || value.text == "AND" || value.text == "OR") {
          return Bad(wrong);
        }
        if (c.op != ListFilter::Op::kEq && c.op != ListFilter::Op::kNe) {
          return Bad(absl::StrCat("compares ", field.text, " only with = or !="));
        }
        c.value = value.text;
        break;
      case FilterFieldType::kInt: {
        int64_t n = 0;
        if (value.kind != Tok::kNumber || !absl::SimpleAtoi(value.text, &n)) return Bad(wrong);
        c.value = n;
        break;
      }
      case FilterFieldType::kBool:
        if (value.kind != Tok::kIdent || (value.text != "true" && value.text != "false")) {
          return Bad(wrong);
        }
        if (c.op != ListFilter::Op::kEq && c.op != ListFilter::Op::kNe) {
          return Bad(absl::StrCat("compares ", field.text, " only with = or !="));
        }
        c.value = value.text == "true";
        break;
      case FilterFieldType::kTime: {
        if (value.kind != Tok::kString) return Bad(wrong);
        ASSIGN_OR_RETURN(absl::Time t, ParseTimeValue(value.text));
        c.value = t;
        break;
      }
    }
    return c;
  }

  std::vector<Token> tokens_;
  const FilterSchema& schema_;
  size_t pos_ = 0;
  int comparisons_ = 0;
};

template <typename T>
bool Compare(const T& a, ListFilter::Op op, const T& b) {
  switch (op) {
    case ListFilter::Op::kEq: return a == b;
    case ListFilter::Op::kNe: return a != b;
    case ListFilter::Op::kLt: return a < b;
    case ListFilter::Op::kLe: return a <= b;
    case ListFilter::Op::kGt: return a > b;
    case ListFilter::Op::kGe: return a >= b;
  }
  return false;
}

bool CompareValue(const FilterValue& item, ListFilter::Op op, const FilterValue& wanted) {
  if (item.index() != wanted.index()) return false;
  return std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        return Compare<T>(a, op, std::get<T>(wanted));
      },
      item);
}

}  // namespace

absl::StatusOr<OrderBy> ParseOrderBy(absl::string_view text,
                                     const std::vector<std::string>& allowed_fields,
                                     absl::string_view default_field) {
  std::vector<std::string> words = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  if (words.empty()) return OrderBy{std::string(default_field), false};
  OrderBy order{words[0], false};
  if (words.size() > 2 || (words.size() == 2 && words[1] != "desc") ||
      std::find(allowed_fields.begin(), allowed_fields.end(), words[0]) == allowed_fields.end()) {
    return InvalidField("order_by", absl::StrCat("must be one of ",
                                                 absl::StrJoin(allowed_fields, ", "),
                                                 ", optionally followed by \" desc\""));
  }
  order.descending = words.size() == 2;
  return order;
}

std::string SortableTime(absl::Time t) {
  // Nanoseconds since the Unix epoch shifted to be non-negative, fixed width.
  const absl::int128 nanos = absl::ToUnixNanos(t);
  return SortableNumber(static_cast<int64_t>(nanos));
}

std::string SortableNumber(int64_t n) {
  const uint64_t shifted = static_cast<uint64_t>(n) ^ 0x8000000000000000ULL;
  std::string out(20, '0');
  uint64_t v = shifted;
  for (int i = 19; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return out;
}

absl::StatusOr<ListPage> Paginate(std::vector<ListEntry> entries, bool descending, int page_size,
                                  absl::string_view page_token, absl::string_view fingerprint,
                                  absl::Time now) {
  auto before = [descending](const ListEntry& a, const ListEntry& b) {
    if (a.sort_value != b.sort_value) {
      return descending ? a.sort_value > b.sort_value : a.sort_value < b.sort_value;
    }
    return a.id < b.id;
  };
  std::sort(entries.begin(), entries.end(), before);
  size_t start = 0;
  if (!page_token.empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(page_token, &raw)) return BadToken();
    std::vector<std::string> parts = absl::StrSplit(raw, '\0');
    int64_t issued = 0;
    if (parts.size() != 5 || parts[0] != kTokenVersion || parts[1] != fingerprint ||
        !absl::SimpleAtoi(parts[2], &issued)) {
      return BadToken();
    }
    const absl::Time issue_time = absl::FromUnixSeconds(issued);
    if (now - issue_time > kPageTokenLifetime || issue_time - now > absl::Minutes(5)) {
      return BadToken();
    }
    ListEntry last{parts[3], parts[4], 0};
    start = std::upper_bound(entries.begin(), entries.end(), last, before) - entries.begin();
  }
  ListPage page;
  const size_t end = std::min(entries.size(), start + static_cast<size_t>(page_size));
  for (size_t i = start; i < end; ++i) page.indices.push_back(entries[i].index);
  if (end < entries.size() && end > start) {
    const ListEntry& last = entries[end - 1];
    const absl::string_view nul("\0", 1);
    std::string raw = absl::StrCat(kTokenVersion, nul, fingerprint, nul, absl::ToUnixSeconds(now),
                                   nul, last.sort_value, nul, last.id);
    page.next_page_token = absl::WebSafeBase64Escape(raw);
  }
  return page;
}

absl::StatusOr<ListFilter> ListFilter::Parse(absl::string_view text, const FilterSchema& schema) {
  ListFilter filter;
  if (absl::StripAsciiWhitespace(text).empty()) return filter;
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(text));
  Parser parser(std::move(tokens), schema);
  ASSIGN_OR_RETURN(filter.terms_, parser.Parse());
  return filter;
}

bool ListFilter::Mentions(absl::string_view field) const {
  for (const std::vector<Comparison>& term : terms_) {
    for (const Comparison& c : term) {
      if (c.field == field) return true;
    }
  }
  return false;
}

bool ListFilter::Matches(
    absl::FunctionRef<std::vector<FilterValue>(absl::string_view field)> values) const {
  for (const std::vector<Comparison>& term : terms_) {
    bool any = false;
    for (const Comparison& c : term) {
      const std::vector<FilterValue> item = values(c.field);
      bool match;
      if (c.op == Op::kNe) {
        match = std::none_of(item.begin(), item.end(), [&](const FilterValue& v) {
          return CompareValue(v, Op::kEq, c.value);
        });
      } else {
        match = std::any_of(item.begin(), item.end(), [&](const FilterValue& v) {
          return CompareValue(v, c.op, c.value);
        });
      }
      if (match) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

std::optional<ListFilter> ParseListFilter(std::string_view text, const FilterSchema& schema,
                                          FieldViolations& bad) {
  if (!CheckFilterLength(text, "filter", bad)) return std::nullopt;
  absl::StatusOr<ListFilter> filter =
      ListFilter::Parse(absl::string_view(text.data(), text.size()), schema);
  if (filter.ok()) return *std::move(filter);
  for (FieldViolation& v : FieldViolationsOf(filter.status())) {
    bad.Add(std::move(v.field), std::move(v.description));
  }
  return std::nullopt;
}

}  // namespace prm::server
