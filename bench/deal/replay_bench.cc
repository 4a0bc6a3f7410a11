// deal-registration start-up cost: how long replaying the command log takes for N accepted
// commands (CreateDeal + SubmitDeal per deal, every fourth also StartReview + ApproveDeal), and
// how fast the same commands are accepted in the first place (one writer, durable commits
// with the outbox). Run: prm-bench-deal-replay [--deals N] [--durability full|normal]
//
// --fill direct: the same commands are written straight into the log (one transaction, empty
// replies, so "changed replies" counts every command) instead of being accepted one by one; for
// the start-up time and the process RSS with a million registrations (--deals 1000000), which
// accepting one by one would take most of an hour to build. RSS is VmRSS / VmHWM of this
// process after the replay: the book, its indexes, audit entries and projection, as the service
// holds them after a restart.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "common/storage/command_log.h"
#include "common/storage/outbox.h"
#include "common/time/clock.h"
#include "prm/deal/v1/deal_service.pb.h"
#include "services/deal-registration/adapters/durable_deal_book.h"

namespace {

namespace v1 = ::prm::deal::v1;

v1::Deal Registration(int i) {
  v1::Deal d;
  d.set_vendor_id("vendor-1");
  d.set_partner_id(absl::StrCat("p", i % 50));
  d.set_title(absl::StrCat("Opportunity ", i));
  d.mutable_end_customer()->set_legal_name(absl::StrCat("Customer ", i, " GmbH"));
  d.mutable_end_customer()->set_country_code("DE");
  d.mutable_end_customer()->set_web_domain(absl::StrCat("customer", i, ".de"));
  auto* line = d.add_products();
  line->set_sku(absl::StrCat("SKU-", i % 200));
  line->set_product_category(absl::StrCat("cat-", i % 20));
  line->set_quantity(3);
  line->mutable_amount()->set_currency_code("EUR");
  line->mutable_amount()->set_units(1000);
  d.mutable_value()->set_currency_code("EUR");
  d.mutable_value()->set_units(1000);
  d.mutable_expected_close_date()->set_year(2026);
  d.mutable_expected_close_date()->set_month(9);
  d.mutable_expected_close_date()->set_day(30);
  return d;
}

// "VmRSS: ... kB" and "VmHWM: ... kB" of this process, in MiB.
std::string Rss() {
  std::ifstream in("/proc/self/status");
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0 || line.rfind("VmHWM:", 0) == 0) {
      absl::StrAppend(&out, line.substr(0, 6), " ",
                      std::atoll(line.c_str() + 6) / 1024, " MiB  ");
    }
  }
  return out;
}

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int deals = 20000;
  std::string durability = "normal";
  std::string fill = "accept";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--deals") == 0) deals = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--durability") == 0) durability = argv[i + 1];
    if (std::strcmp(argv[i], "--fill") == 0) fill = argv[i + 1];
  }
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     absl::StrCat("prm-bench-deal-replay-", ::getpid(), ".sqlite");
  std::filesystem::remove(path);
  const prm::sqlite::DatabaseOptions options{
      .path = path.string(),
      .durability = durability == "full" ? prm::sqlite::Durability::kFull
                                         : prm::sqlite::Durability::kNormal};
  prm::FakeClock clock;
  const prm::deal::Actor partner{prm::deal::Role::kPartnerUser, "bench", "p1", ""};
  const prm::deal::Actor manager{prm::deal::Role::kChannelManager, "bench", "", ""};
  int64_t commands = 0;
  absl::Duration accept;
  if (fill == "direct") {
    auto db = prm::sqlite::Database::Open(
        options, {prm::command_log::Schema(), prm::outbox::Schema()});
    Check(db.status(), "open");
    const absl::Time start = absl::Now();
    int64_t seq = 0;
    constexpr int kChunk = 10000;  // deals per transaction, to bound SQLite's dirty pages
    for (int first = 0; first < deals; first += kChunk) {
    Check((*db)->Transact([&](prm::sqlite::Transaction& tx) -> absl::Status {
      auto log = [&](const char* kind, const prm::deal::Actor& actor,
                     const google::protobuf::Message& request) {
        clock.Advance(absl::Milliseconds(10));
        return tx.Execute(
            "INSERT INTO commands(seq, kind, at_us, payload, reply) VALUES(?,?,?,?,?)", ++seq,
            kind, absl::ToUnixMicros(clock.Now()),
            prm::sqlite::Blob{prm::deal::EncodeCommand(actor, request)}, prm::sqlite::Blob{""});
      };
      for (int i = first; i < std::min(deals, first + kChunk); ++i) {
        const std::string id = absl::StrCat("deal-", i + 1);
        v1::CreateDealRequest create;
        *create.mutable_deal() = Registration(i);
        RETURN_IF_ERROR(log("CreateDeal", partner, create));
        v1::SubmitDealRequest submit;
        submit.set_vendor_id("vendor-1");
        submit.set_deal_id(id);
        RETURN_IF_ERROR(log("SubmitDeal", partner, submit));
        commands += 2;
        if (i % 4 == 0) {
          v1::StartReviewRequest review;
          review.set_vendor_id("vendor-1");
          review.set_deal_id(id);
          RETURN_IF_ERROR(log("StartReview", manager, review));
          v1::ApproveDealRequest approve;
          approve.set_vendor_id("vendor-1");
          approve.set_deal_id(id);
          RETURN_IF_ERROR(log("ApproveDeal", manager, approve));
          commands += 2;
        }
      }
      return absl::OkStatus();
    }), "fill");
    }
    accept = absl::Now() - start;
  } else {
    auto db = prm::sqlite::Database::Open(
        options, {prm::command_log::Schema(), prm::outbox::Schema()});
    Check(db.status(), "open");
    prm::deal::DurableDealBook book(**db, clock, {});
    const absl::Time start = absl::Now();
    for (int i = 0; i < deals; ++i) {
      clock.Advance(absl::Milliseconds(10));
      v1::CreateDealRequest create;
      *create.mutable_deal() = Registration(i);
      v1::CreateDealResponse created;
      Check(book.Execute("CreateDeal", create, "", partner, &created), "create");
      v1::SubmitDealRequest submit;
      submit.set_vendor_id("vendor-1");
      submit.set_deal_id(created.deal().deal_id());
      v1::SubmitDealResponse submitted;
      Check(book.Execute("SubmitDeal", submit, "", partner, &submitted), "submit");
      commands += 2;
      if (i % 4 == 0) {
        v1::StartReviewRequest review;
        review.set_vendor_id("vendor-1");
        review.set_deal_id(created.deal().deal_id());
        v1::StartReviewResponse reviewed;
        Check(book.Execute("StartReview", review, "", manager, &reviewed), "review");
        v1::ApproveDealRequest approve;
        approve.set_vendor_id("vendor-1");
        approve.set_deal_id(created.deal().deal_id());
        v1::ApproveDealResponse approved;
        Check(book.Execute("ApproveDeal", approve, "", manager, &approved), "approve");
        commands += 2;
      }
    }
    accept = absl::Now() - start;
  }
  auto db = prm::sqlite::Database::Open(options, {prm::command_log::Schema(), prm::outbox::Schema()});
  Check(db.status(), "reopen");
  prm::deal::DurableDealBook book(**db, clock, {});
  std::printf("before replay: %s\n", Rss().c_str());
  const absl::Time start = absl::Now();
  auto replayed = book.Replay();
  const absl::Duration replay = absl::Now() - start;
  Check(replayed.status(), "replay");
  std::printf("deals=%d commands=%lld durability=%s\n", deals,
              static_cast<long long>(replayed->commands), durability.c_str());
  std::printf("%s: %.0f commands/s%s\n", fill == "direct" ? "fill" : "accept",
              static_cast<double>(commands) / absl::ToDoubleSeconds(accept),
              fill == "direct" ? " (written straight into the log)" : " (one writer)");
  std::printf("replay: %.0f ms, %.0f commands/s, changed replies %lld, active registrations %zu\n",
              absl::ToDoubleMilliseconds(replay),
              static_cast<double>(replayed->commands) / absl::ToDoubleSeconds(replay),
              static_cast<long long>(replayed->changed_replies),
              book.book().active_registrations());
  std::printf("after replay: %s\n", Rss().c_str());
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
  return 0;
}
