#pragma once

// Target expressions over worker and task attributes (SPEC §6.3), parsed once into an AST and
// evaluated many times without allocating.
//
// Grammar (EBNF; keywords and true/false are case-insensitive, whitespace separates tokens):
//
//   expression  = or_expr ;
//   or_expr     = and_expr { "OR" and_expr } ;
//   and_expr    = unary { "AND" unary } ;
//   unary       = "NOT" unary | "(" expression ")" | comparison | "true" | "false" ;
//   comparison  = operand op operand ;
//   op          = "==" | "!=" | "<" | "<=" | ">" | ">=" | "IN" | "HAS" | "CONTAINS" ;
//   operand     = path | string | number | "true" | "false" | list ;
//   list        = "[" [ literal { "," literal } ] "]" ;
//   literal     = string | number | "true" | "false" ;
//   path        = ( "worker" | "task" ) "." name { "." name } ;
//   name        = letter { letter | digit | "_" | "-" } ;
//   string      = "'" { char } "'" | '"' { char } '"' ;   (backslash escapes the next char)
//   number      = [ "-" ] digit { digit } [ "." digit { digit } ] ;
//
// Paths: worker.worker_id, worker.role, worker.activity, worker.skills.<skill> (level; 0 when
// absent), worker.languages / worker.language, worker.regions / worker.region (lists),
// worker.attributes.<key>; task.task_id, task.partner_id, task.category, task.channel,
// task.language, task.region, task.priority, task.title, task.previous_worker_id,
// task.partner.tier_id, task.partner.tier_rank, task.partner.concierge_worker_id,
// task.partner.channel_manager_worker_id, task.attributes.<key>. Any other worker.<x> or task.<x>
// reads the attribute <x>. Enum values compare by lower-case name ("pricing", "email",
// "inside_sales"); a proto name such as "TASK_CATEGORY_PRICING" in a literal is accepted too.
//
// Semantics:
// - AND binds tighter than OR; NOT binds tightest.
// - Numbers compare numerically; a string compared with a number is parsed as a number (a string
//   that is not a number makes the comparison false). Strings order lexicographically.
// - A list on one side of == (!=) and a scalar on the other means "contains" ("does not contain").
//   `x IN list` is true when x is an element (for a list x: when they share an element);
//   `list HAS x` / `list CONTAINS x` is true when x is an element.
// - A comparison involving an absent attribute (or a worker path when evaluated without a
//   worker) is false, never an error; `NOT` of it is true.
//
// Limits (hostile input): at most kMaxExpressionLength bytes, nesting (parentheses, NOT) at most
// kMaxExpressionDepth, lists at most kMaxListElements; beyond them INVALID_ARGUMENT.
//
// Thread safety: an Expression is immutable after Parse; Evaluate may run concurrently.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/concierge-routing/domain/model.h"

namespace prm::routing {

inline constexpr size_t kMaxExpressionLength = 4096;
inline constexpr int kMaxExpressionDepth = 32;
inline constexpr size_t kMaxListElements = 256;

// A field an expression path resolves to, decided at parse time.
enum class PathField : int {
  kWorkerId,
  kWorkerRole,
  kWorkerActivity,
  kWorkerSkill,  // key = skill name
  kWorkerLanguages,
  kWorkerRegions,
  kWorkerAttribute,  // key = attribute name
  kTaskId,
  kTaskPartnerId,
  kTaskCategory,
  kTaskChannel,
  kTaskLanguage,
  kTaskRegion,
  kTaskPriority,
  kTaskTitle,
  kTaskPreviousWorkerId,
  kTaskTierId,
  kTaskTierRank,
  kTaskConciergeWorkerId,
  kTaskChannelManagerWorkerId,
  kTaskAttribute,  // key = attribute name
};

struct Path {
  PathField field;
  std::string key;
  bool IsWorker() const { return field <= PathField::kWorkerAttribute; }
};

// A worker-to-task equality the router can index on, found among the top-level AND terms of an
// expression: `worker.worker_id == task.X`, `worker.regions HAS task.X`, `task.X IN
// worker.languages` and their mirror images.
struct JoinHint {
  PathField worker_field;  // kWorkerId, kWorkerRegions or kWorkerLanguages
  Path task_path;
};

class Expression {
 public:
  // Parses `source`. An empty (or all-blank) source is the expression that is always true.
  // INVALID_ARGUMENT naming the byte position on a syntax error, an unknown root, a misused
  // operator, or a limit exceeded.
  static absl::StatusOr<Expression> Parse(absl::string_view source);

  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  ~Expression();

  // Evaluates against a worker (may be null: worker paths are then absent) and a task (may be
  // null likewise).
  bool Evaluate(const Worker* worker, const Task* task) const;

  // Evaluates only the top-level AND terms that read no task path: false means the worker can
  // match no task at all. Lets the router keep per-step worker indexes.
  bool EvaluateWorkerTerms(const Worker& worker) const;

  bool always_true() const;
  const std::string& source() const;
  const std::optional<JoinHint>& join_hint() const;

  // The value of a task path as a string (numbers formatted as integers); "" when absent.
  static std::string TaskPathValue(const Path& path, const Task& task);

 private:
  struct Impl;
  explicit Expression(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prm::routing
