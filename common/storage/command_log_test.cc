#include "common/storage/command_log.h"

#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/storage/outbox.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace prm::command_log {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A tiny deterministic domain: named counters that remember when they were last changed.
struct Counters {
  explicit Counters(const Clock& clock) : clock(clock) {}
  absl::StatusOr<std::string> Add(const std::string& name) {
    if (name.empty()) return absl::InvalidArgumentError("name: empty");
    auto& [count, at] = values[name];
    ++count;
    at = clock.Now();
    return absl::StrCat(name, "=", count, "@", absl::ToUnixMicros(at));
  }
  const Clock& clock;
  std::map<std::string, std::pair<int, absl::Time>> values;
};

class CommandLogTest : public ::testing::Test {
 protected:
  CommandLogTest() {
    path_ = std::filesystem::temp_directory_path() /
            ("prm-command-log-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite");
    std::filesystem::remove(path_);
  }
  ~CommandLogTest() override { std::filesystem::remove(path_); }

  std::unique_ptr<sqlite::Database> Open() {
    auto db = sqlite::Database::Open({.path = path_.string()}, {Schema(), outbox::Schema()});
    EXPECT_OK(db.status());
    return *std::move(db);
  }

  absl::StatusOr<std::string> Add(CommandLog& log, Counters& counters, std::string name,
                                  std::string request_id = "") {
    return log.Execute({.kind = "Add", .request_id = request_id, .payload = name},
                       [&](sqlite::Transaction&, const Command& c) { return counters.Add(c.payload); });
  }

  std::filesystem::path path_;
  FakeClock clock_;
};

TEST_F(CommandLogTest, ReplayRebuildsTheSameStateAtTheSameTimes) {
  std::map<std::string, std::pair<int, absl::Time>> before;
  {
    auto db = Open();
    CommandLog log(*db, clock_);
    Counters counters(log.clock());
    ASSERT_OK(Add(log, counters, "a").status());
    clock_.Advance(absl::Seconds(3));
    ASSERT_OK(Add(log, counters, "b").status());
    clock_.Advance(absl::Milliseconds(1500));
    ASSERT_OK(Add(log, counters, "a").status());
    EXPECT_THAT(Add(log, counters, ""), StatusIs(absl::StatusCode::kInvalidArgument));
    before = counters.values;
  }
  clock_.Advance(absl::Hours(1));
  auto db = Open();
  CommandLog log(*db, clock_);
  Counters counters(log.clock());
  auto replayed = log.Replay([&](const Command& c) { return counters.Add(c.payload); });
  ASSERT_OK(replayed.status());
  EXPECT_EQ(replayed->commands, 3);  // the failed command was never logged
  EXPECT_EQ(replayed->changed_replies, 0);
  EXPECT_EQ(counters.values, before);
  // Outside a command the domain reads the real clock.
  EXPECT_EQ(log.clock().Now(), clock_.Now());
}

TEST_F(CommandLogTest, RetriedRequestIdGetsTheLoggedReplyWithoutASecondEffect) {
  auto db = Open();
  CommandLog log(*db, clock_);
  Counters counters(log.clock());
  auto first = Add(log, counters, "a", "req-1");
  ASSERT_OK(first.status());
  clock_.Advance(absl::Minutes(5));
  auto retry = Add(log, counters, "a", "req-1");
  ASSERT_OK(retry.status());
  EXPECT_EQ(*retry, *first);
  EXPECT_EQ(counters.values["a"].first, 1);
  absl::Status reused = Add(log, counters, "b", "req-1").status();
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldViolationsOf(reused),
              ElementsAre(FieldViolation{"request_id", "was already used for a different request"}));
  EXPECT_EQ(counters.values.count("b"), 0u);
}

TEST_F(CommandLogTest, EffectsInTheTransactionCommitWithTheCommand) {
  auto db = Open();
  CommandLog log(*db, clock_);
  Counters counters(log.clock());
  ASSERT_OK(log.Execute({.kind = "Add", .payload = "a"},
                        [&](sqlite::Transaction& tx, const Command& c) -> absl::StatusOr<std::string> {
                          auto reply = counters.Add(c.payload);
                          if (!reply.ok()) return reply;
                          absl::Status appended = outbox::Append(
                              tx, {.topic = "t", .key = c.payload, .value = *reply}, c.time);
                          if (!appended.ok()) return appended;
                          return reply;
                        })
                .status());
  EXPECT_EQ(*outbox::Backlog(*db), 1);
  // A failing apply leaves neither the command nor its outbox row.
  EXPECT_THAT(log.Execute({.kind = "Add", .payload = "b"},
                          [&](sqlite::Transaction& tx, const Command& c) -> absl::StatusOr<std::string> {
                            EXPECT_OK(outbox::Append(tx, {.topic = "t", .key = "b"}, c.time));
                            return absl::FailedPreconditionError("no");
                          }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(*outbox::Backlog(*db), 1);
  int64_t replayed = 0;
  ASSERT_OK(log.Replay([&](const Command&) -> absl::StatusOr<std::string> {
                 ++replayed;
                 return std::string("changed");
               })
                .status());
  EXPECT_EQ(replayed, 1);
}

TEST_F(CommandLogTest, ReplayReportsADomainThatNoLongerAcceptsACommand) {
  auto db = Open();
  CommandLog log(*db, clock_);
  Counters counters(log.clock());
  ASSERT_OK(Add(log, counters, "a").status());
  auto replayed = log.Replay([](const Command&) -> absl::StatusOr<std::string> {
    return absl::InvalidArgumentError("rejected");
  });
  EXPECT_THAT(replayed, StatusIs(absl::StatusCode::kInternal, HasSubstr("command 1 (Add)")));
  auto changed = log.Replay([](const Command&) -> absl::StatusOr<std::string> { return "x"; });
  ASSERT_OK(changed.status());
  EXPECT_EQ(changed->changed_replies, 1);
}

}  // namespace
}  // namespace prm::command_log

namespace prm::command_log {
namespace {

// Inputs fetched before logging are replayed with the command and are not part of a request's
// identity.
TEST(CommandLogInputs, AreReplayedAndIgnoredWhenARequestIdIsRetried) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("prm-command-log-inputs-" + std::to_string(::getpid()) + ".sqlite");
  std::filesystem::remove(path);
  FakeClock clock;
  auto apply = [](const Command& c) -> absl::StatusOr<std::string> {
    return absl::StrCat(c.payload, " decided on ", c.inputs);
  };
  {
    auto db = sqlite::Database::Open({.path = path.string()}, {Schema()});
    ASSERT_OK(db.status());
    CommandLog log(**db, clock);
    auto run = [&](std::string inputs) {
      return log.Execute(
          {.kind = "Submit", .request_id = "r1", .payload = "deal-1", .inputs = inputs},
          [&](sqlite::Transaction&, const Command& c) { return apply(c); });
    };
    EXPECT_EQ(*run("ACTIVE"), "deal-1 decided on ACTIVE");
    EXPECT_EQ(*run("TERMINATED"), "deal-1 decided on ACTIVE");  // the logged reply
  }
  auto db = sqlite::Database::Open({.path = path.string()}, {Schema()});
  ASSERT_OK(db.status());
  CommandLog log(**db, clock);
  std::vector<std::string> seen;
  auto replayed = log.Replay([&](const Command& c) {
    seen.push_back(c.inputs);
    return apply(c);
  });
  ASSERT_OK(replayed.status());
  EXPECT_EQ(replayed->changed_replies, 0);
  EXPECT_EQ(seen, std::vector<std::string>{"ACTIVE"});
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace prm::command_log
