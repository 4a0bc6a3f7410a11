#include <filesystem>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/storage/outbox.h"
#include "common/storage/processed_events.h"
#include "common/storage/sqlite.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace prm {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

sqlite::Schema NotesSchema(std::string second_name = "add author") {
  return {"notes",
          {{1, "create notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"},
           {2, second_name, "ALTER TABLE notes ADD COLUMN author TEXT"}}};
}

class StorageTest : public ::testing::Test {
 protected:
  StorageTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("prm-storage-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~StorageTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<sqlite::Database> Open(std::vector<sqlite::Schema> schemas) {
    auto db = sqlite::Database::Open({.path = (dir_ / "db.sqlite").string()}, schemas);
    EXPECT_OK(db.status());
    return db.ok() ? *std::move(db) : nullptr;
  }

  int64_t Count(sqlite::Database& db, const std::string& table) {
    int64_t n = -1;
    EXPECT_OK(db.Read([&](sqlite::Transaction& tx) -> absl::Status {
      auto rows = tx.Query("SELECT count(*) FROM " + table);
      if (!rows.ok()) return rows.status();
      n = std::get<int64_t>((*rows)[0][0]);
      return absl::OkStatus();
    }));
    return n;
  }

  std::filesystem::path dir_;
};

TEST_F(StorageTest, MigrationsApplyOnceAndSurviveReopen) {
  {
    auto db = Open({NotesSchema()});
    ASSERT_OK(db->Transact([](sqlite::Transaction& tx) {
      return tx.Execute("INSERT INTO notes(body, author) VALUES(?, ?)", "hello", "ann");
    }));
  }
  auto db = Open({NotesSchema()});
  EXPECT_EQ(Count(*db, "notes"), 1);
  EXPECT_EQ(Count(*db, "schema_migrations"), 2);
}

TEST_F(StorageTest, ChangedMigrationStopsOpen) {
  Open({NotesSchema()});
  auto db = sqlite::Database::Open({.path = (dir_ / "db.sqlite").string()},
                                   {NotesSchema("something else")});
  EXPECT_THAT(db.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("notes/2 was applied as 'add author'")));
}

TEST_F(StorageTest, BrokenMigrationIsAnErrorAndAppliesNothing) {
  auto db = sqlite::Database::Open(
      {.path = (dir_ / "db.sqlite").string()},
      {{"bad", {{1, "typo", "CREATE TABLE t (x INT); CREAT TABLE u (y INT)"}}}});
  EXPECT_THAT(db.status(), StatusIs(absl::StatusCode::kInternal));
  auto reopened = Open({});
  EXPECT_EQ(Count(*reopened, "schema_migrations"), 0);
}

TEST_F(StorageTest, FailedTransactionRollsBackEverything) {
  auto db = Open({NotesSchema()});
  absl::Status status = db->Transact([](sqlite::Transaction& tx) -> absl::Status {
    if (auto s = tx.Execute("INSERT INTO notes(body) VALUES('a')"); !s.ok()) return s;
    return absl::FailedPreconditionError("domain said no");
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Count(*db, "notes"), 0);
}

TEST_F(StorageTest, UniqueViolationIsAlreadyExists) {
  auto db = Open({NotesSchema()});
  auto insert = [](sqlite::Transaction& tx) {
    return tx.Execute("INSERT INTO notes(body) VALUES('same')");
  };
  ASSERT_OK(db->Transact(insert));
  EXPECT_THAT(db->Transact(insert), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Count(*db, "notes"), 1);
}

// Many writers at once, every third failing after it wrote: group commit keeps each unit
// atomic and isolated — every successful unit is there, nothing of a failed one is, and each
// writer's own reads inside its unit see only its writes on top of committed state.
TEST_F(StorageTest, ConcurrentTransactionsCommitInGroupsYetStayAtomicEach) {
  auto db = Open({NotesSchema()});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        const bool fail = i % 3 == 0;
        absl::Status status = db->Transact([&](sqlite::Transaction& tx) -> absl::Status {
          if (auto s = tx.Execute("INSERT INTO notes(body) VALUES(?)", body); !s.ok()) return s;
          if (auto s = tx.Execute("INSERT INTO notes(body) VALUES(?)", body + "+"); !s.ok()) {
            return s;
          }
          auto mine = tx.Query("SELECT count(*) FROM notes WHERE body IN (?, ?)", body, body + "+");
          if (!mine.ok()) return mine.status();
          if (std::get<int64_t>((*mine)[0][0]) != 2) return absl::InternalError("isolation");
          return fail ? absl::AbortedError("no") : absl::OkStatus();
        });
        if (fail) {
          EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
        } else {
          EXPECT_OK(status);
          ++ok;
        }
      }
    });
  }
  // Readers alongside see only whole units.
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) EXPECT_EQ(Count(*db, "notes") % 2, 0);
  });
  for (auto& t : threads) t.join();
  reader.join();
  EXPECT_EQ(ok.load(), kThreads * (kPerThread - (kPerThread + 2) / 3));
  EXPECT_EQ(Count(*db, "notes"), 2 * ok.load());
  // A unit's failure never fails the group it was in: a lone one after all this still works.
  ASSERT_OK(db->Transact([](sqlite::Transaction& tx) {
    return tx.Execute("INSERT INTO notes(body) VALUES('last')");
  }));
  EXPECT_EQ(Count(*db, "notes"), 2 * ok.load() + 1);
}

TEST_F(StorageTest, SavepointRollsBackOnlyItsOwnWrites) {
  auto db = Open({NotesSchema()});
  ASSERT_OK(db->Transact([](sqlite::Transaction& tx) -> absl::Status {
    if (auto s = tx.Execute("INSERT INTO notes(body) VALUES('kept')"); !s.ok()) return s;
    absl::Status inner = tx.Savepoint([](sqlite::Transaction& tx) -> absl::Status {
      if (auto s = tx.Execute("INSERT INTO notes(body) VALUES('dropped')"); !s.ok()) return s;
      return absl::InvalidArgumentError("poison");
    });
    if (!absl::IsInvalidArgument(inner)) return absl::InternalError("expected the inner error");
    return tx.Savepoint([](sqlite::Transaction& tx) {
      return tx.Execute("INSERT INTO notes(body) VALUES('also kept')");
    });
  }));
  EXPECT_EQ(Count(*db, "notes"), 2);
}

TEST_F(StorageTest, QueryReturnsTypedColumns) {
  auto db = Open({NotesSchema()});
  ASSERT_OK(db->Transact([](sqlite::Transaction& tx) {
    return tx.Execute("INSERT INTO notes(id, body, author) VALUES(?,?,?)", 7, "x",
                      std::optional<std::string>());
  }));
  ASSERT_OK(db->Read([](sqlite::Transaction& tx) -> absl::Status {
    auto rows = tx.Query("SELECT id, body, author, 1.5 FROM notes WHERE id=?", 7);
    if (!rows.ok()) return rows.status();
    EXPECT_EQ(rows->size(), 1u);
    EXPECT_EQ(std::get<int64_t>((*rows)[0][0]), 7);
    EXPECT_EQ(std::get<std::string>((*rows)[0][1]), "x");
    EXPECT_TRUE(std::holds_alternative<std::nullptr_t>((*rows)[0][2]));
    EXPECT_EQ(std::get<double>((*rows)[0][3]), 1.5);
    return absl::OkStatus();
  }));
}

TEST(OutboxHeaders, RoundTripIsBinarySafe) {
  std::vector<kafka::Header> headers = {{"ce_id", "1"}, {"bin", std::string("a\0:b", 4)}, {"", ""}};
  auto back = outbox::DecodeHeaders(outbox::EncodeHeaders(headers));
  ASSERT_OK(back.status());
  EXPECT_EQ(*back, headers);
  EXPECT_THAT(outbox::DecodeHeaders("5:ab").status(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(outbox::DecodeHeaders("x:ab").status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StorageTest, OutboxKeepsCommitOrderAndOnlyCommittedRows) {
  auto db = Open({outbox::Schema()});
  absl::Time now = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(db->Transact([&](sqlite::Transaction& tx) {
      return outbox::Append(tx, {.topic = "t", .key = "k" + std::to_string(i),
                                 .value = "v", .headers = {{"ce_id", std::to_string(i)}}}, now);
    }));
  }
  // A rolled-back transaction leaves no outbox row.
  EXPECT_FALSE(db->Transact([&](sqlite::Transaction& tx) -> absl::Status {
                   auto s = outbox::Append(tx, {.topic = "t", .key = "lost"}, now);
                   if (!s.ok()) return s;
                   return absl::AbortedError("rolled back");
                 }).ok());
  auto pending = outbox::Pending(*db, 10);
  ASSERT_OK(pending.status());
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].record.key, "k0");
  EXPECT_EQ((*pending)[2].record.key, "k2");
  EXPECT_EQ((*pending)[1].record.headers, (std::vector<kafka::Header>{{"ce_id", "1"}}));
  EXPECT_EQ(*outbox::Backlog(*db), 3);

  ASSERT_OK(outbox::MarkSent(*db, {(*pending)[0].seq, (*pending)[1].seq}, now));
  pending = outbox::Pending(*db, 10);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].record.key, "k2");
  EXPECT_EQ(*outbox::Backlog(*db), 1);

  EXPECT_EQ(*outbox::PruneSent(*db, now), 0);
  EXPECT_EQ(*outbox::PruneSent(*db, now + absl::Seconds(1)), 2);
  EXPECT_EQ(Count(*db, "outbox"), 1);
}

TEST_F(StorageTest, ApplyOnceSkipsDuplicatesAndRetriesFailures) {
  auto db = Open({processed_events::Schema(), NotesSchema()});
  absl::Time now = absl::FromUnixSeconds(1000);
  int runs = 0;
  auto effect = [&](sqlite::Transaction& tx) {
    ++runs;
    return tx.Execute("INSERT INTO notes(body) VALUES(?)", "n" + std::to_string(runs));
  };
  ASSERT_OK(processed_events::ApplyOnce(*db, "erp", "e1", now, effect));
  ASSERT_OK(processed_events::ApplyOnce(*db, "erp", "e1", now, effect));
  EXPECT_EQ(runs, 1);
  // Same id from another source is another event.
  ASSERT_OK(processed_events::ApplyOnce(*db, "crm", "e1", now, effect));
  EXPECT_EQ(runs, 2);

  // A failing effect records nothing, so redelivery applies it.
  EXPECT_THAT(processed_events::ApplyOnce(*db, "erp", "e2", now,
                                          [](sqlite::Transaction&) {
                                            return absl::UnavailableError("disk");
                                          }),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(processed_events::ApplyOnce(*db, "erp", "e2", now, effect));
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(Count(*db, "notes"), 3);

  EXPECT_EQ(*processed_events::Prune(*db, now + absl::Seconds(1)), 3);
}

}  // namespace
}  // namespace prm
