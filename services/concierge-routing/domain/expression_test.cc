#include "services/concierge-routing/domain/expression.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::routing {
namespace {

using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

Worker EmeaPricingWorker() {
  Worker w;
  w.worker_id = "w1";
  w.role = WorkerRole::kInsideSales;
  w.skills = {{"pricing", 4}, {"licensing", 2}};
  w.languages = {"en", "de"};
  w.regions = {"EMEA", "DE"};
  w.attributes = {{"team", "north"}, {"seniority", "7"}};
  return w;
}

Task EmeaPricingTask() {
  Task t;
  t.task_id = "t1";
  t.category = TaskCategory::kPricing;
  t.channel = Channel::kEmail;
  t.region = "EMEA";
  t.language = "de";
  t.priority = 50;
  t.partner.tier_id = "platinum";
  t.partner.tier_rank = 3;
  t.partner.concierge_worker_id = "w1";
  t.attributes = {{"amount", "25000"}, {"product", "edge"}};
  return t;
}

bool Eval(const std::string& src) {
  auto e = Expression::Parse(src);
  EXPECT_TRUE(e.ok()) << src << ": " << e.status();
  if (!e.ok()) return false;
  const Worker w = EmeaPricingWorker();
  const Task t = EmeaPricingTask();
  return e->Evaluate(&w, &t);
}

TEST(Expression, ComparesSkillLevelsNumerically) {
  EXPECT_TRUE(Eval("worker.skills.pricing >= 3"));
  EXPECT_TRUE(Eval("worker.skills.pricing == 4"));
  EXPECT_FALSE(Eval("worker.skills.pricing > 4"));
  EXPECT_TRUE(Eval("worker.skills.pricing != 3.5"));
  EXPECT_FALSE(Eval("worker.skills.forecasting >= 1"));  // absent skill is level 0
  EXPECT_TRUE(Eval("worker.skills.forecasting < 1"));
}

TEST(Expression, ComparesStringsAndNumbersFromAttributes) {
  EXPECT_TRUE(Eval("task.attributes.amount > 10000"));
  EXPECT_TRUE(Eval("task.amount == 25000"));  // bare key reads the attribute
  EXPECT_FALSE(Eval("task.attributes.product > 3"));  // not a number: false, not an error
  EXPECT_TRUE(Eval("task.attributes.product == 'edge'"));
  EXPECT_TRUE(Eval("task.region < \"FOO\""));  // lexicographic
  EXPECT_TRUE(Eval("worker.seniority >= task.partner.tier_rank"));
}

TEST(Expression, JoinsWorkerAndTask) {
  EXPECT_TRUE(Eval("worker.skills.pricing >= 3 AND worker.region == task.region"));
  EXPECT_TRUE(Eval("worker.regions HAS task.region"));
  EXPECT_TRUE(Eval("worker.regions CONTAINS task.region"));
  EXPECT_TRUE(Eval("task.language IN worker.languages"));
  EXPECT_TRUE(Eval("worker.worker_id == task.partner.concierge_worker_id"));
  EXPECT_FALSE(Eval("worker.regions != task.region"));
}

TEST(Expression, EnumNamesMatchShortAndProtoSpelling) {
  EXPECT_TRUE(Eval("task.category == 'pricing'"));
  EXPECT_TRUE(Eval("task.category == 'TASK_CATEGORY_PRICING'"));
  EXPECT_TRUE(Eval("task.channel IN ['CHANNEL_CALL', 'email']"));
  EXPECT_TRUE(Eval("worker.role == 'inside_sales'"));
  EXPECT_FALSE(Eval("worker.role == 'concierge'"));
  EXPECT_TRUE(Eval("worker.role == 'WORKER_ROLE_INSIDE_SALES'"));
  Worker cm = EmeaPricingWorker();
  cm.role = WorkerRole::kChannelManager;
  auto e = Expression::Parse("worker.role == 'channel_manager'");  // not a channel prefix
  ASSERT_OK(e);
  EXPECT_TRUE(e->Evaluate(&cm, nullptr));
}

TEST(Expression, InAndHasWithLiteralLists) {
  EXPECT_TRUE(Eval("task.region IN ['APAC', 'EMEA']"));
  EXPECT_FALSE(Eval("task.region IN ['APAC', 'AMER']"));
  EXPECT_TRUE(Eval("task.priority IN [10, 50]"));
  EXPECT_TRUE(Eval("worker.languages IN ['fr', 'de']"));  // lists intersect
  EXPECT_TRUE(Eval("worker.languages HAS 'en'"));
  EXPECT_FALSE(Eval("worker.languages HAS 'fr'"));
  EXPECT_FALSE(Eval("task.region IN []"));
}

TEST(Expression, AndBindsTighterThanOrAndNotTightest) {
  // true OR (false AND false) = true; with left-to-right grouping it would be false.
  EXPECT_TRUE(Eval("task.region == 'EMEA' OR task.region == 'X' AND task.region == 'Y'"));
  EXPECT_FALSE(Eval("(task.region == 'EMEA' OR task.region == 'X') AND task.region == 'Y'"));
  // NOT applies to the first comparison only.
  EXPECT_TRUE(Eval("NOT task.region == 'X' AND task.region == 'EMEA'"));
  EXPECT_FALSE(Eval("NOT (task.region == 'EMEA' AND worker.skills.pricing > 1)"));
  EXPECT_TRUE(Eval("not not task.region == 'EMEA' and TRUE"));
}

TEST(Expression, MissingAttributeIsFalseNotError) {
  EXPECT_FALSE(Eval("task.attributes.nope == 'x'"));
  EXPECT_FALSE(Eval("task.attributes.nope != 'x'"));
  EXPECT_TRUE(Eval("NOT task.attributes.nope == 'x'"));
  EXPECT_FALSE(Eval("worker.attributes.nope IN ['a']"));
  auto e = Expression::Parse("task.region == 'EMEA' AND worker.skills.pricing >= 1");
  ASSERT_OK(e);
  const Task t = EmeaPricingTask();
  EXPECT_FALSE(e->Evaluate(nullptr, &t));  // no worker: worker paths are absent
}

TEST(Expression, EmptySourceIsAlwaysTrue) {
  auto e = Expression::Parse("   ");
  ASSERT_OK(e);
  EXPECT_TRUE(e->always_true());
  EXPECT_TRUE(e->Evaluate(nullptr, nullptr));
}

TEST(Expression, StringEscapesAndQuotes) {
  Task t = EmeaPricingTask();
  t.attributes["q"] = "it's \"x\"";
  auto e = Expression::Parse(R"(task.attributes.q == 'it\'s "x"')");
  ASSERT_OK(e);
  EXPECT_TRUE(e->Evaluate(nullptr, &t));
}

TEST(Expression, SyntaxErrorsNameThePosition) {
  EXPECT_THAT(Expression::Parse("worker.skills.pricing >="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 24")));
  EXPECT_THAT(Expression::Parse("(task.region == 'x'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("')' expected")));
  EXPECT_THAT(Expression::Parse("task.region = 'x'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 12")));
  EXPECT_THAT(Expression::Parse("task.region == 'x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unterminated")));
  EXPECT_THAT(Expression::Parse("partner.tier == 'gold'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown identifier")));
  EXPECT_THAT(Expression::Parse("'a' == 'a'"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Expression::Parse("task.region IN 'EMEA'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IN needs a list")));
  EXPECT_THAT(Expression::Parse("task.region HAS 'EMEA'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HAS needs a list")));
  EXPECT_THAT(Expression::Parse("worker.regions > 'A'"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Expression::Parse("task.region == 'x' task.region == 'y'"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected token")));
  EXPECT_THAT(Expression::Parse("task.priority > 1x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed number")));
  EXPECT_THAT(Expression::Parse("task.region == 'x' & 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected character")));
  EXPECT_THAT(Expression::Parse("task.region IN ['a',]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("literal expected")));
}

TEST(Expression, RejectsSourcesLongerThanTheLimit) {
  std::string src = "task.region == '";
  src.append(kMaxExpressionLength, 'a');
  src.append("'");
  EXPECT_THAT(Expression::Parse(src),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than")));
}

TEST(Expression, RejectsNestingDeeperThanTheLimit) {
  std::string ok_src;
  for (int i = 0; i < kMaxExpressionDepth - 1; ++i) ok_src += "(";
  ok_src += "task.region == 'EMEA'";
  for (int i = 0; i < kMaxExpressionDepth - 1; ++i) ok_src += ")";
  EXPECT_TRUE(Eval(ok_src));

  std::string deep;
  for (int i = 0; i < kMaxExpressionDepth; ++i) deep += "(";
  deep += "task.region == 'EMEA'";
  for (int i = 0; i < kMaxExpressionDepth; ++i) deep += ")";
  EXPECT_THAT(Expression::Parse(deep),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nesting deeper")));

  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  nots += "task.region == 'EMEA'";
  EXPECT_THAT(Expression::Parse(nots), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Expression, HostileInputNeverCrashes) {
  // A deterministic mini-fuzz over token soup: every input either parses or is
  // INVALID_ARGUMENT, and parsed ones evaluate.
  const char* pieces[] = {"(", ")", "[", "]", ",", "==", "!=", "<", "<=", ">", ">=", " AND ",
                          " OR ", "NOT ", " IN ", " HAS ", "'s'", "\"", "1", "-2.5", "true",
                          "task.region", "worker.regions", "worker.skills.x", "task.", "\\", "@"};
  uint32_t seed = 12345;
  const Worker w = EmeaPricingWorker();
  const Task t = EmeaPricingTask();
  for (int i = 0; i < 20000; ++i) {
    std::string src;
    const int n = static_cast<int>(seed % 12);
    for (int j = 0; j < n; ++j) {
      seed = seed * 1103515245u + 12345u;
      src += pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
    }
    seed = seed * 1103515245u + 12345u;
    auto e = Expression::Parse(src);
    if (e.ok()) {
      e->Evaluate(&w, &t);
    } else {
      ASSERT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << src;
    }
  }
}

TEST(Expression, FindsJoinHints) {
  auto e = Expression::Parse(
      "worker.skills.pricing >= 3 AND worker.regions HAS task.region AND "
      "worker.worker_id == task.partner.concierge_worker_id");
  ASSERT_OK(e);
  ASSERT_TRUE(e->join_hint().has_value());
  EXPECT_EQ(e->join_hint()->worker_field, PathField::kWorkerId);
  EXPECT_EQ(e->join_hint()->task_path.field, PathField::kTaskConciergeWorkerId);

  auto r = Expression::Parse("task.region IN worker.regions");
  ASSERT_OK(r);
  ASSERT_TRUE(r->join_hint().has_value());
  EXPECT_EQ(r->join_hint()->worker_field, PathField::kWorkerRegions);

  auto none = Expression::Parse("worker.regions HAS task.region OR worker.skills.x > 1");
  ASSERT_OK(none);
  EXPECT_FALSE(none->join_hint().has_value());  // under OR it cannot narrow the candidates
}

}  // namespace
}  // namespace prm::routing
