#include "services/concierge-routing/domain/expression.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace prm::routing {
namespace {

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kHas };

struct Literal {
  enum Kind { kString, kNumber, kBool } kind = kString;
  std::string str;
  double num = 0;
  bool boolean = false;
};

struct Operand {
  enum Kind { kPath, kLiteral, kList } kind = kLiteral;
  Path path{PathField::kTaskId, ""};
  Literal literal;
  std::vector<Literal> list;
};

struct Node {
  enum Kind { kAnd, kOr, kNot, kCompare, kConst } kind = kConst;
  int left = -1;
  int right = -1;
  bool constant = true;
  Op op = Op::kEq;
  Operand lhs;
  Operand rhs;
};

// A value produced while evaluating; views into the worker, task or AST, never owning.
struct Value {
  enum Kind { kMissing, kString, kNumber, kBool, kStrList, kLitList } kind = kMissing;
  absl::string_view str;
  double num = 0;
  bool boolean = false;
  const std::vector<std::string>* str_list = nullptr;
  const std::vector<Literal>* lit_list = nullptr;
  bool IsList() const { return kind == kStrList || kind == kLitList; }
};

absl::Status ParseError(size_t pos, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("target expression: ", what, " at position ", pos));
}

enum class Tok {
  kEnd, kIdent, kString, kNumber, kLParen, kRParen, kLBracket, kRBracket, kComma,
  kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kNot, kIn, kHas, kTrue, kFalse,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;
  std::string text;
  double num = 0;
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

absl::StatusOr<std::vector<Token>> Lex(absl::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token t;
    t.pos = i;
    auto two = [&](char next) { return i + 1 < s.size() && s[i + 1] == next; };
    if (c == '(') { t.kind = Tok::kLParen; ++i; }
    else if (c == ')') { t.kind = Tok::kRParen; ++i; }
    else if (c == '[') { t.kind = Tok::kLBracket; ++i; }
    else if (c == ']') { t.kind = Tok::kRBracket; ++i; }
    else if (c == ',') { t.kind = Tok::kComma; ++i; }
    else if (c == '=' && two('=')) { t.kind = Tok::kEq; i += 2; }
    else if (c == '!' && two('=')) { t.kind = Tok::kNe; i += 2; }
    else if (c == '<') { t.kind = two('=') ? Tok::kLe : Tok::kLt; i += two('=') ? 2 : 1; }
    else if (c == '>') { t.kind = two('=') ? Tok::kGe : Tok::kGt; i += two('=') ? 2 : 1; }
    else if (c == '"' || c == '\'') {
      t.kind = Tok::kString;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          t.text.push_back(s[i + 1]);
          i += 2;
        } else if (s[i] == c) {
          closed = true;
          ++i;
          break;
        } else {
          t.text.push_back(s[i++]);
        }
      }
      if (!closed) return ParseError(t.pos, "unterminated string");
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && s[j] == '.') {
        ++j;
        if (j >= s.size() || !std::isdigit(static_cast<unsigned char>(s[j]))) {
          return ParseError(j, "digit expected after '.'");
        }
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < s.size() && IsIdentChar(s[j])) return ParseError(j, "malformed number");
      t.kind = Tok::kNumber;
      t.text = std::string(s.substr(i, j - i));
      if (!absl::SimpleAtod(t.text, &t.num) || !std::isfinite(t.num)) {
        return ParseError(i, "number out of range");
      }
      i = j;
    } else if (IsIdentStart(c)) {
      size_t j = i + 1;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      t.text = std::string(s.substr(i, j - i));
      const std::string upper = absl::AsciiStrToUpper(t.text);
      if (upper == "AND") t.kind = Tok::kAnd;
      else if (upper == "OR") t.kind = Tok::kOr;
      else if (upper == "NOT") t.kind = Tok::kNot;
      else if (upper == "IN") t.kind = Tok::kIn;
      else if (upper == "HAS" || upper == "CONTAINS") t.kind = Tok::kHas;
      else if (upper == "TRUE") t.kind = Tok::kTrue;
      else if (upper == "FALSE") t.kind = Tok::kFalse;
      else t.kind = Tok::kIdent;
      i = j;
    } else {
      return ParseError(i, absl::StrCat("unexpected character '", absl::string_view(&c, 1), "'"));
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.pos = s.size();
  out.push_back(end);
  return out;
}

absl::StatusOr<Path> ResolvePath(const std::string& ident, size_t pos) {
  absl::string_view s = ident;
  if (absl::EndsWith(s, ".") || absl::StrContains(s, "..")) return ParseError(pos, "malformed path");
  auto rest_after = [&](absl::string_view prefix) { return std::string(s.substr(prefix.size())); };
  if (absl::StartsWith(s, "worker.")) {
    absl::string_view f = s.substr(7);
    if (f == "worker_id" || f == "id") return Path{PathField::kWorkerId, ""};
    if (f == "role") return Path{PathField::kWorkerRole, ""};
    if (f == "activity" || f == "activity_id") return Path{PathField::kWorkerActivity, ""};
    if (f == "languages" || f == "language") return Path{PathField::kWorkerLanguages, ""};
    if (f == "regions" || f == "region") return Path{PathField::kWorkerRegions, ""};
    if (absl::StartsWith(f, "skills.")) return Path{PathField::kWorkerSkill, rest_after("worker.skills.")};
    if (absl::StartsWith(f, "attributes.")) {
      return Path{PathField::kWorkerAttribute, rest_after("worker.attributes.")};
    }
    if (f == "skills" || f == "attributes") return ParseError(pos, "path needs a key");
    return Path{PathField::kWorkerAttribute, std::string(f)};
  }
  if (absl::StartsWith(s, "task.")) {
    absl::string_view f = s.substr(5);
    if (f == "task_id" || f == "id") return Path{PathField::kTaskId, ""};
    if (f == "partner_id") return Path{PathField::kTaskPartnerId, ""};
    if (f == "category") return Path{PathField::kTaskCategory, ""};
    if (f == "channel") return Path{PathField::kTaskChannel, ""};
    if (f == "language") return Path{PathField::kTaskLanguage, ""};
    if (f == "region") return Path{PathField::kTaskRegion, ""};
    if (f == "priority") return Path{PathField::kTaskPriority, ""};
    if (f == "title") return Path{PathField::kTaskTitle, ""};
    if (f == "previous_worker_id") return Path{PathField::kTaskPreviousWorkerId, ""};
    if (f == "partner.tier_id") return Path{PathField::kTaskTierId, ""};
    if (f == "partner.tier_rank") return Path{PathField::kTaskTierRank, ""};
    if (f == "partner.concierge_worker_id") return Path{PathField::kTaskConciergeWorkerId, ""};
    if (f == "partner.channel_manager_worker_id") {
      return Path{PathField::kTaskChannelManagerWorkerId, ""};
    }
    if (absl::StartsWith(f, "attributes.")) {
      return Path{PathField::kTaskAttribute, rest_after("task.attributes.")};
    }
    if (f == "attributes") return ParseError(pos, "path needs a key");
    return Path{PathField::kTaskAttribute, std::string(f)};
  }
  return ParseError(pos, absl::StrCat("unknown identifier '", ident,
                                      "' (paths start with worker. or task.)"));
}

bool IsEnumPath(const Operand& o) {
  return o.kind == Operand::kPath &&
         (o.path.field == PathField::kWorkerRole || o.path.field == PathField::kTaskCategory ||
          o.path.field == PathField::kTaskChannel);
}

// Lower-cases an enum literal and strips the proto prefix of the path's enum type
// ("TASK_CATEGORY_PRICING" → "pricing"; "channel_manager" stays a role name).
void NormalizeEnumLiteral(Literal& l, PathField field) {
  if (l.kind != Literal::kString) return;
  std::string s = absl::AsciiStrToLower(l.str);
  absl::string_view prefix = field == PathField::kWorkerRole     ? "worker_role_"
                             : field == PathField::kTaskCategory ? "task_category_"
                                                                 : "channel_";
  if (absl::StartsWith(s, prefix)) s = s.substr(prefix.size());
  l.str = std::move(s);
}

void NormalizeEnumOperand(Operand& o, PathField field) {
  if (o.kind == Operand::kLiteral) NormalizeEnumLiteral(o.literal, field);
  if (o.kind == Operand::kList) {
    for (Literal& l : o.list) NormalizeEnumLiteral(l, field);
  }
}

bool IsListPath(const Operand& o) {
  return o.kind == Operand::kPath && (o.path.field == PathField::kWorkerLanguages ||
                                      o.path.field == PathField::kWorkerRegions);
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  absl::StatusOr<int> ParseAll(std::vector<Node>& nodes) {
    nodes_ = &nodes;
    auto root = ParseOr(0);
    if (!root.ok()) return root;
    if (Peek().kind != Tok::kEnd) return ParseError(Peek().pos, "unexpected token");
    return root;
  }

 private:
  const Token& Peek() const { return toks_[i_]; }
  const Token& Next() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }

  int Add(Node n) {
    nodes_->push_back(std::move(n));
    return static_cast<int>(nodes_->size()) - 1;
  }

  absl::StatusOr<int> ParseOr(int depth) {
    auto left = ParseAnd(depth);
    if (!left.ok()) return left;
    int l = *left;
    while (Peek().kind == Tok::kOr) {
      Next();
      auto right = ParseAnd(depth);
      if (!right.ok()) return right;
      Node n;
      n.kind = Node::kOr;
      n.left = l;
      n.right = *right;
      l = Add(std::move(n));
    }
    return l;
  }

  absl::StatusOr<int> ParseAnd(int depth) {
    auto left = ParseUnary(depth);
    if (!left.ok()) return left;
    int l = *left;
    while (Peek().kind == Tok::kAnd) {
      Next();
      auto right = ParseUnary(depth);
      if (!right.ok()) return right;
      Node n;
      n.kind = Node::kAnd;
      n.left = l;
      n.right = *right;
      l = Add(std::move(n));
    }
    return l;
  }

  absl::StatusOr<int> ParseUnary(int depth) {
    if (depth >= kMaxExpressionDepth) {
      return ParseError(Peek().pos, absl::StrCat("nesting deeper than ", kMaxExpressionDepth));
    }
    const Token& t = Peek();
    if (t.kind == Tok::kNot) {
      Next();
      auto inner = ParseUnary(depth + 1);
      if (!inner.ok()) return inner;
      Node n;
      n.kind = Node::kNot;
      n.left = *inner;
      return Add(std::move(n));
    }
    if (t.kind == Tok::kLParen) {
      Next();
      auto inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner;
      if (Peek().kind != Tok::kRParen) return ParseError(Peek().pos, "')' expected");
      Next();
      return inner;
    }
    if ((t.kind == Tok::kTrue || t.kind == Tok::kFalse) && !IsOperator(toks_[i_ + 1].kind)) {
      Node n;
      n.kind = Node::kConst;
      n.constant = t.kind == Tok::kTrue;
      Next();
      return Add(std::move(n));
    }
    return ParseComparison();
  }

  static bool IsOperator(Tok k) {
    return k == Tok::kEq || k == Tok::kNe || k == Tok::kLt || k == Tok::kLe || k == Tok::kGt ||
           k == Tok::kGe || k == Tok::kIn || k == Tok::kHas;
  }

  absl::StatusOr<Literal> ParseLiteral() {
    const Token& t = Peek();
    Literal l;
    switch (t.kind) {
      case Tok::kString:
        l.kind = Literal::kString;
        l.str = t.text;
        break;
      case Tok::kNumber:
        l.kind = Literal::kNumber;
        l.num = t.num;
        break;
      case Tok::kTrue:
      case Tok::kFalse:
        l.kind = Literal::kBool;
        l.boolean = t.kind == Tok::kTrue;
        break;
      default:
        return ParseError(t.pos, "literal expected");
    }
    Next();
    return l;
  }

  absl::StatusOr<Operand> ParseOperand() {
    const Token& t = Peek();
    Operand o;
    if (t.kind == Tok::kIdent) {
      auto path = ResolvePath(t.text, t.pos);
      if (!path.ok()) return path.status();
      o.kind = Operand::kPath;
      o.path = *std::move(path);
      Next();
      return o;
    }
    if (t.kind == Tok::kLBracket) {
      Next();
      o.kind = Operand::kList;
      if (Peek().kind != Tok::kRBracket) {
        while (true) {
          if (o.list.size() >= kMaxListElements) {
            return ParseError(Peek().pos, absl::StrCat("list longer than ", kMaxListElements));
          }
          auto lit = ParseLiteral();
          if (!lit.ok()) return lit.status();
          o.list.push_back(*std::move(lit));
          if (Peek().kind == Tok::kComma) {
            Next();
            continue;
          }
          break;
        }
      }
      if (Peek().kind != Tok::kRBracket) return ParseError(Peek().pos, "']' expected");
      Next();
      return o;
    }
    auto lit = ParseLiteral();
    if (!lit.ok()) return ParseError(t.pos, "path, literal or list expected");
    o.kind = Operand::kLiteral;
    o.literal = *std::move(lit);
    return o;
  }

  absl::StatusOr<int> ParseComparison() {
    const size_t start = Peek().pos;
    auto lhs = ParseOperand();
    if (!lhs.ok()) return lhs.status();
    const Token& op_tok = Peek();
    const size_t op_pos = op_tok.pos;
    Op op;
    switch (op_tok.kind) {
      case Tok::kEq: op = Op::kEq; break;
      case Tok::kNe: op = Op::kNe; break;
      case Tok::kLt: op = Op::kLt; break;
      case Tok::kLe: op = Op::kLe; break;
      case Tok::kGt: op = Op::kGt; break;
      case Tok::kGe: op = Op::kGe; break;
      case Tok::kIn: op = Op::kIn; break;
      case Tok::kHas: op = Op::kHas; break;
      default: return ParseError(op_tok.pos, "comparison operator expected");
    }
    Next();
    auto rhs = ParseOperand();
    if (!rhs.ok()) return rhs.status();
    if (lhs->kind != Operand::kPath && rhs->kind != Operand::kPath) {
      return ParseError(start, "a comparison needs at least one worker. or task. path");
    }
    const bool lhs_list = lhs->kind == Operand::kList || IsListPath(*lhs);
    const bool rhs_list = rhs->kind == Operand::kList || IsListPath(*rhs);
    if (op == Op::kIn && rhs->kind != Operand::kList && !IsListPath(*rhs)) {
      return ParseError(op_pos, "IN needs a list on its right");
    }
    if (op == Op::kHas && !lhs_list) return ParseError(op_pos, "HAS needs a list on its left");
    if (op == Op::kHas && rhs_list && rhs->kind == Operand::kList) {
      return ParseError(op_pos, "HAS needs a single value on its right");
    }
    if ((op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe) &&
        (lhs_list || rhs_list)) {
      return ParseError(op_pos, "ordering comparison on a list");
    }
    if (IsEnumPath(*lhs)) NormalizeEnumOperand(*rhs, lhs->path.field);
    if (IsEnumPath(*rhs)) NormalizeEnumOperand(*lhs, rhs->path.field);
    Node n;
    n.kind = Node::kCompare;
    n.op = op;
    n.lhs = *std::move(lhs);
    n.rhs = *std::move(rhs);
    return Add(std::move(n));
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
  std::vector<Node>* nodes_ = nullptr;
};

const std::string* FindAttr(const absl::flat_hash_map<std::string, std::string>& m,
                            const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

Value StringValue(absl::string_view s) {
  Value v;
  v.kind = Value::kString;
  v.str = s;
  return v;
}

Value NumberValue(double n) {
  Value v;
  v.kind = Value::kNumber;
  v.num = n;
  return v;
}

Value Resolve(const Operand& o, const Worker* w, const Task* t) {
  Value v;
  switch (o.kind) {
    case Operand::kLiteral:
      switch (o.literal.kind) {
        case Literal::kString: return StringValue(o.literal.str);
        case Literal::kNumber: return NumberValue(o.literal.num);
        case Literal::kBool:
          v.kind = Value::kBool;
          v.boolean = o.literal.boolean;
          return v;
      }
      return v;
    case Operand::kList:
      v.kind = Value::kLitList;
      v.lit_list = &o.list;
      return v;
    case Operand::kPath:
      break;
  }
  const Path& p = o.path;
  if (p.IsWorker()) {
    if (w == nullptr) return v;
    switch (p.field) {
      case PathField::kWorkerId: return StringValue(w->worker_id);
      case PathField::kWorkerRole: return StringValue(RoleName(w->role));
      case PathField::kWorkerActivity: return StringValue(w->activity_id);
      case PathField::kWorkerSkill: {
        auto it = w->skills.find(p.key);
        return NumberValue(it == w->skills.end() ? 0 : it->second);
      }
      case PathField::kWorkerLanguages:
        v.kind = Value::kStrList;
        v.str_list = &w->languages;
        return v;
      case PathField::kWorkerRegions:
        v.kind = Value::kStrList;
        v.str_list = &w->regions;
        return v;
      case PathField::kWorkerAttribute: {
        const std::string* a = FindAttr(w->attributes, p.key);
        return a == nullptr ? v : StringValue(*a);
      }
      default:
        return v;
    }
  }
  if (t == nullptr) return v;
  auto non_empty = [&](const std::string& s) { return s.empty() ? Value() : StringValue(s); };
  switch (p.field) {
    case PathField::kTaskId: return StringValue(t->task_id);
    case PathField::kTaskPartnerId: return non_empty(t->partner_id);
    case PathField::kTaskCategory: return StringValue(CategoryName(t->category));
    case PathField::kTaskChannel: return StringValue(ChannelName(t->channel));
    case PathField::kTaskLanguage: return non_empty(t->language);
    case PathField::kTaskRegion: return non_empty(t->region);
    case PathField::kTaskPriority: return NumberValue(t->priority);
    case PathField::kTaskTitle: return StringValue(t->title);
    case PathField::kTaskPreviousWorkerId: return non_empty(t->previous_worker_id);
    case PathField::kTaskTierId: return non_empty(t->partner.tier_id);
    case PathField::kTaskTierRank: return NumberValue(t->partner.tier_rank);
    case PathField::kTaskConciergeWorkerId: return non_empty(t->partner.concierge_worker_id);
    case PathField::kTaskChannelManagerWorkerId:
      return non_empty(t->partner.channel_manager_worker_id);
    case PathField::kTaskAttribute: {
      const std::string* a = FindAttr(t->attributes, p.key);
      return a == nullptr ? v : StringValue(*a);
    }
    default:
      return v;
  }
}

// Three-way comparison of two scalars; nullopt when they are not comparable.
std::optional<int> CompareScalars(const Value& a, const Value& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.kind == Value::kNumber && b.kind == Value::kNumber) return cmp(a.num, b.num);
  if (a.kind == Value::kString && b.kind == Value::kString) return a.str.compare(b.str) < 0 ? -1 : (a.str == b.str ? 0 : 1);
  if (a.kind == Value::kNumber && b.kind == Value::kString) {
    double n;
    if (!absl::SimpleAtod(b.str, &n)) return std::nullopt;
    return cmp(a.num, n);
  }
  if (a.kind == Value::kString && b.kind == Value::kNumber) {
    double n;
    if (!absl::SimpleAtod(a.str, &n)) return std::nullopt;
    return cmp(n, b.num);
  }
  if (a.kind == Value::kBool && b.kind == Value::kBool) return cmp(a.boolean, b.boolean);
  if (a.kind == Value::kBool && b.kind == Value::kString) {
    return b.str == (a.boolean ? "true" : "false") ? std::optional<int>(0) : std::optional<int>(1);
  }
  if (a.kind == Value::kString && b.kind == Value::kBool) return CompareScalars(b, a);
  return std::nullopt;
}

bool ScalarEquals(const Value& a, const Value& b) {
  auto c = CompareScalars(a, b);
  return c.has_value() && *c == 0;
}

Value LiteralValue(const Literal& l) {
  Value v;
  switch (l.kind) {
    case Literal::kString: return StringValue(l.str);
    case Literal::kNumber: return NumberValue(l.num);
    case Literal::kBool:
      v.kind = Value::kBool;
      v.boolean = l.boolean;
      return v;
  }
  return v;
}

bool ListContains(const Value& list, const Value& x) {
  if (list.kind == Value::kStrList) {
    for (const std::string& s : *list.str_list) {
      if (ScalarEquals(StringValue(s), x)) return true;
    }
    return false;
  }
  if (list.kind == Value::kLitList) {
    for (const Literal& l : *list.lit_list) {
      if (ScalarEquals(LiteralValue(l), x)) return true;
    }
  }
  return false;
}

bool ListsIntersect(const Value& a, const Value& b) {
  if (a.kind == Value::kStrList) {
    for (const std::string& s : *a.str_list) {
      if (ListContains(b, StringValue(s))) return true;
    }
    return false;
  }
  for (const Literal& l : *a.lit_list) {
    if (ListContains(b, LiteralValue(l))) return true;
  }
  return false;
}

bool EvalCompare(const Node& n, const Worker* w, const Task* t) {
  const Value a = Resolve(n.lhs, w, t);
  if (a.kind == Value::kMissing) return false;
  const Value b = Resolve(n.rhs, w, t);
  if (b.kind == Value::kMissing) return false;
  switch (n.op) {
    case Op::kEq:
    case Op::kNe: {
      bool eq;
      if (a.IsList() && b.IsList()) {
        eq = ListsIntersect(a, b);
      } else if (a.IsList()) {
        eq = ListContains(a, b);
      } else if (b.IsList()) {
        eq = ListContains(b, a);
      } else {
        auto c = CompareScalars(a, b);
        if (!c.has_value()) return false;
        eq = *c == 0;
      }
      return n.op == Op::kEq ? eq : !eq;
    }
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      if (a.IsList() || b.IsList()) return false;
      auto c = CompareScalars(a, b);
      if (!c.has_value()) return false;
      if (n.op == Op::kLt) return *c < 0;
      if (n.op == Op::kLe) return *c <= 0;
      if (n.op == Op::kGt) return *c > 0;
      return *c >= 0;
    }
    case Op::kIn:
      if (!b.IsList()) return false;
      return a.IsList() ? ListsIntersect(a, b) : ListContains(b, a);
    case Op::kHas:
      if (!a.IsList() || b.IsList()) return false;
      return ListContains(a, b);
  }
  return false;
}

bool EvalNode(const std::vector<Node>& nodes, int i, const Worker* w, const Task* t) {
  const Node& n = nodes[i];
  switch (n.kind) {
    case Node::kAnd: return EvalNode(nodes, n.left, w, t) && EvalNode(nodes, n.right, w, t);
    case Node::kOr: return EvalNode(nodes, n.left, w, t) || EvalNode(nodes, n.right, w, t);
    case Node::kNot: return !EvalNode(nodes, n.left, w, t);
    case Node::kCompare: return EvalCompare(n, w, t);
    case Node::kConst: return n.constant;
  }
  return false;
}

bool IsJoinWorkerField(PathField f) {
  return f == PathField::kWorkerId || f == PathField::kWorkerRegions ||
         f == PathField::kWorkerLanguages;
}

bool IsScalarTaskPath(const Operand& o) {
  return o.kind == Operand::kPath && !o.path.IsWorker() &&
         o.path.field != PathField::kTaskPriority && o.path.field != PathField::kTaskTierRank;
}

std::optional<JoinHint> HintOf(const Node& n) {
  if (n.kind != Node::kCompare) return std::nullopt;
  const Operand* worker = nullptr;
  const Operand* task = nullptr;
  if (n.op == Op::kEq) {
    if (n.lhs.kind == Operand::kPath && n.lhs.path.IsWorker()) {
      worker = &n.lhs;
      task = &n.rhs;
    } else {
      worker = &n.rhs;
      task = &n.lhs;
    }
  } else if (n.op == Op::kHas) {
    worker = &n.lhs;
    task = &n.rhs;
  } else if (n.op == Op::kIn) {
    worker = &n.rhs;
    task = &n.lhs;
  } else {
    return std::nullopt;
  }
  if (worker->kind != Operand::kPath || !IsJoinWorkerField(worker->path.field)) return std::nullopt;
  if (!IsScalarTaskPath(*task)) return std::nullopt;
  return JoinHint{worker->path.field, task->path};
}

void CollectHints(const std::vector<Node>& nodes, int i, std::optional<JoinHint>& best) {
  const Node& n = nodes[i];
  if (n.kind == Node::kAnd) {
    CollectHints(nodes, n.left, best);
    CollectHints(nodes, n.right, best);
    return;
  }
  auto h = HintOf(n);
  if (!h.has_value()) return;
  // A worker id join selects one worker: the sharpest index, preferred over regions/languages.
  if (!best.has_value() || (h->worker_field == PathField::kWorkerId &&
                            best->worker_field != PathField::kWorkerId)) {
    best = std::move(h);
  }
}

bool ReadsTask(const std::vector<Node>& nodes, int i) {
  const Node& n = nodes[i];
  switch (n.kind) {
    case Node::kAnd:
    case Node::kOr: return ReadsTask(nodes, n.left) || ReadsTask(nodes, n.right);
    case Node::kNot: return ReadsTask(nodes, n.left);
    case Node::kCompare:
      return (n.lhs.kind == Operand::kPath && !n.lhs.path.IsWorker()) ||
             (n.rhs.kind == Operand::kPath && !n.rhs.path.IsWorker());
    case Node::kConst: return false;
  }
  return true;
}

void CollectWorkerTerms(const std::vector<Node>& nodes, int i, std::vector<int>& out) {
  const Node& n = nodes[i];
  if (n.kind == Node::kAnd) {
    CollectWorkerTerms(nodes, n.left, out);
    CollectWorkerTerms(nodes, n.right, out);
    return;
  }
  if (!ReadsTask(nodes, i)) out.push_back(i);
}

}  // namespace

struct Expression::Impl {
  std::vector<int> worker_terms;
  std::string source;
  std::vector<Node> nodes;
  int root = -1;
  std::optional<JoinHint> hint;
};

Expression::Expression(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

absl::StatusOr<Expression> Expression::Parse(absl::string_view source) {
  if (source.size() > kMaxExpressionLength) {
    return absl::InvalidArgumentError(absl::StrCat("target expression: longer than ",
                                                   kMaxExpressionLength, " bytes at position ",
                                                   kMaxExpressionLength));
  }
  auto impl = std::make_unique<Impl>();
  impl->source = std::string(source);
  auto tokens = Lex(source);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) return Expression(std::move(impl));  // blank: always true
  Parser parser(*std::move(tokens));
  auto root = parser.ParseAll(impl->nodes);
  if (!root.ok()) return root.status();
  impl->root = *root;
  CollectHints(impl->nodes, impl->root, impl->hint);
  CollectWorkerTerms(impl->nodes, impl->root, impl->worker_terms);
  return Expression(std::move(impl));
}

bool Expression::Evaluate(const Worker* worker, const Task* task) const {
  if (impl_->root < 0) return true;
  return EvalNode(impl_->nodes, impl_->root, worker, task);
}

bool Expression::EvaluateWorkerTerms(const Worker& worker) const {
  for (int i : impl_->worker_terms) {
    if (!EvalNode(impl_->nodes, i, &worker, nullptr)) return false;
  }
  return true;
}

bool Expression::always_true() const { return impl_->root < 0; }
const std::string& Expression::source() const { return impl_->source; }
const std::optional<JoinHint>& Expression::join_hint() const { return impl_->hint; }

std::string Expression::TaskPathValue(const Path& path, const Task& task) {
  Operand o;
  o.kind = Operand::kPath;
  o.path = path;
  const Value v = Resolve(o, nullptr, &task);
  switch (v.kind) {
    case Value::kString: return std::string(v.str);
    case Value::kNumber: return absl::StrCat(static_cast<int64_t>(v.num));
    default: return "";
  }
}

}  // namespace prm::routing
