#include "services/deal-registration/domain/deal_book.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const Actor kManager{Role::kChannelManager, "bob", "", ""};
const PartnerFacts kSilver{"prog", 2, 0, 30};

Actor PartnerActor(const std::string& partner) {
  return Actor{Role::kPartnerUser, "user-" + partner, partner, ""};
}

Deal Registration(const std::string& id, const std::string& partner, const std::string& name,
                  const std::string& domain, const std::string& sku,
                  const std::string& vendor = "v1") {
  Deal d;
  d.vendor_id = vendor;
  d.deal_id = id;
  d.partner_id = partner;
  d.title = "Opportunity " + id;
  d.end_customer = {name, "US", domain, ""};
  d.products = {{sku, "cat-" + sku, 1, {"USD", 100, 0}}};
  d.value = Money{"USD", 100, 0};
  d.expected_close_date = Date{2026, 6, 30};
  return d;
}

// Creates and submits `d`; returns the submission result.
CommandResult CreateAndSubmit(DealBook& book, const Deal& d,
                              const PartnerFacts& facts = kSilver) {
  EXPECT_OK(book.Create(d, PartnerActor(d.partner_id)));
  absl::StatusOr<CommandResult> r =
      book.Submit(d.vendor_id, d.deal_id, PartnerActor(d.partner_id), facts);
  EXPECT_OK(r);
  return r.ok() ? *r : CommandResult{};
}

void Review(DealBook& book, const std::string& id) {
  EXPECT_OK(book.StartReview("v1", id, kManager));
}

TEST(DealBook, SubmissionDetectsConflictWithTheEarlierRegistration) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "ACME, Inc.", "acme.com", "SKU-1"));
  clock.Advance(absl::Minutes(5));
  const CommandResult r =
      CreateAndSubmit(book, Registration("d2", "p2", "Acme Incorporated", "acme-usa.net", "SKU-1"));
  EXPECT_TRUE(r.deal.has_conflict);
  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0].deal_id, "d1");
  EXPECT_EQ(r.conflicts[0].partner_id, "p1");
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_TRUE(r.transitions[0].event.has_conflict);
  EXPECT_TRUE(r.transitions[0].event.review_required);
}

TEST(DealBook, DisjointProductsOrAnotherVendorGiveNoConflict) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  EXPECT_FALSE(CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-2"))
                   .deal.has_conflict);
  EXPECT_FALSE(CreateAndSubmit(book, Registration("d3", "p2", "Acme", "acme.com", "SKU-1", "v2"))
                   .deal.has_conflict);
}

TEST(DealBook, SubdomainRegistrationConflicts) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  EXPECT_TRUE(CreateAndSubmit(book, Registration("d2", "p2", "Acme Europe B.V.",
                                                 "https://eu.acme.com/shop", "SKU-1"))
                  .deal.has_conflict);
}

TEST(DealBook, IncompleteSubmissionIsRejectedAndLeavesTheDraft) {
  FakeClock clock;
  DealBook book(clock);
  Deal d = Registration("d1", "p1", "Acme", "", "SKU-1");
  ASSERT_OK(book.Create(d, PartnerActor("p1")));
  EXPECT_THAT(book.Submit("v1", "d1", PartnerActor("p1"), kSilver),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("end_customer.web_domain")));
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kDraft);
  EXPECT_EQ(book.active_registrations(), 0u);
}

TEST(DealBook, ApprovalOfADealConflictingWithAnApprovedOneFails) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  Review(book, "d2");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));
  EXPECT_THAT(book.Approve("v1", "d2", kManager, kSilver),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("d1")));
  EXPECT_EQ(book.Get("v1", "d2")->state, DealState::kUnderReview);
}

TEST(DealBook, ConcurrentApprovalsOfConflictingDealsExactlyOneWins) {
  for (int rep = 0; rep < 1000; ++rep) {
    FakeClock clock;
    DealBook book(clock);
    CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
    CreateAndSubmit(book, Registration("d2", "p2", "ACME Inc", "acme-usa.net", "SKU-1"));
    Review(book, "d1");
    Review(book, "d2");
    std::atomic<int> go{0};
    absl::Status results[2];
    auto approve = [&](int i, const char* id) {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      results[i] = book.Approve("v1", id, kManager, kSilver).status();
    };
    std::thread a(approve, 0, "d1");
    std::thread b(approve, 1, "d2");
    a.join();
    b.join();
    const int wins = results[0].ok() + results[1].ok();
    ASSERT_EQ(wins, 1) << "repetition " << rep << ": " << results[0] << " / " << results[1];
    const absl::Status& loser = results[0].ok() ? results[1] : results[0];
    ASSERT_EQ(loser.code(), absl::StatusCode::kFailedPrecondition) << loser;
  }
}

TEST(DealBook, ExpiryReleasesExclusivityAndTheQueuedRivalBecomesApprovable) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  Review(book, "d2");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));  // 30 days
  EXPECT_THAT(book.Approve("v1", "d2", kManager, kSilver),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  clock.Advance(absl::Hours(24 * 30));
  std::vector<Transition> fired = book.RunTimers();
  bool expired = false;
  for (const Transition& t : fired) {
    expired |= t.event.type == DealEventType::kExpired && t.event.deal.deal_id == "d1";
  }
  EXPECT_TRUE(expired);
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kExpired);
  ASSERT_OK(book.Approve("v1", "d2", kManager, kSilver));
}

TEST(DealBook, DealWonBeforeExpiryNeverExpires) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));
  clock.Advance(absl::Hours(24 * 10));
  ASSERT_OK(
      book.MarkWon("v1", "d1", kManager, {{"USD", 90, 0}, CloseSource::kErpSale, {}, "", ""}));
  clock.Advance(absl::Hours(24 * 365));
  for (const Transition& t : book.RunTimers()) {
    EXPECT_NE(t.event.deal.deal_id, "d1") << DealEventTypeName(t.event.type);
  }
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kWon);
  EXPECT_EQ(book.active_registrations(), 0u);
}

TEST(DealBook, ReminderAndSlaBreachFireExactlyOnce) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  auto count = [](const std::vector<Transition>& fired, DealEventType type) {
    int n = 0;
    for (const Transition& t : fired) n += t.event.type == type;
    return n;
  };
  clock.Advance(absl::Hours(47));
  EXPECT_EQ(count(book.RunTimers(), DealEventType::kApprovalSlaBreached), 0);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(count(book.RunTimers(), DealEventType::kApprovalSlaBreached), 1);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(count(book.RunTimers(), DealEventType::kApprovalSlaBreached), 0);

  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));  // expires in 30 days, lead 7 days
  int reminders = 0;
  for (int hour = 0; hour < 24 * 31; hour += 6) {
    reminders += count(book.RunTimers(), DealEventType::kExpiryReminder);
    clock.Advance(absl::Hours(6));
  }
  EXPECT_EQ(reminders, 1);
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kExpired);
}

TEST(DealBook, NextTimerDueNamesTheEarliestArmedTimer) {
  FakeClock clock;
  DealBook book(clock);
  EXPECT_FALSE(book.NextTimerDue().has_value());
  const absl::Time start = clock.Now();
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  EXPECT_EQ(book.NextTimerDue(), start + absl::Hours(48));  // the approval SLA
  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));  // 30 days, reminder 7 days before
  EXPECT_EQ(book.NextTimerDue(), start + absl::Hours(24 * 23));
  clock.Advance(absl::Hours(24 * 23));
  ASSERT_EQ(book.RunTimers().size(), 1u);  // the reminder
  EXPECT_EQ(book.NextTimerDue(), start + absl::Hours(24 * 30));
  clock.Advance(absl::Hours(24 * 7));
  ASSERT_EQ(book.RunTimers().size(), 1u);  // the expiry
  EXPECT_FALSE(book.NextTimerDue().has_value());
}

TEST(DealBook, ExtensionsAreCappedByThePolicy) {
  FakeClock clock;
  DealBook book(clock);
  DealPolicy policy;
  policy.vendor_id = "v1";
  policy.program_id = "prog";
  policy.max_extensions = 1;
  book.SetPolicy(policy);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));
  ASSERT_OK(book.Extend("v1", "d1", kManager, 10, "customer board delayed"));
  EXPECT_THAT(book.Extend("v1", "d1", kManager, 10, "again"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(book.Get("v1", "d1")->protection.expire_time,
            clock.Now() + absl::Hours(24 * 40));
}

TEST(DealBook, AutoApprovalAtSubmissionButNeverOverAnApprovedRival) {
  FakeClock clock;
  DealBook book(clock);
  DealPolicy policy;
  policy.vendor_id = "v1";
  policy.program_id = "prog";
  policy.auto_approval_rules = {{"gold", true, 3, {}, true, {}, {}, {}}};
  book.SetPolicy(policy);
  const PartnerFacts gold{"prog", 3, 0, 60};
  const CommandResult first =
      CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"), gold);
  ASSERT_EQ(first.transitions.size(), 2u);
  EXPECT_EQ(first.transitions[1].event.type, DealEventType::kApproved);
  EXPECT_EQ(first.deal.state, DealState::kApproved);
  EXPECT_EQ(first.deal.protection.expire_time, clock.Now() + absl::Hours(24 * 60));
  const CommandResult second =
      CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-1"), gold);
  EXPECT_EQ(second.deal.state, DealState::kSubmitted);
  EXPECT_TRUE(second.deal.has_conflict);
  ASSERT_EQ(second.transitions.size(), 1u);
}

TEST(DealBook, CommandsOnUnknownDealsAndStaleVersions) {
  FakeClock clock;
  DealBook book(clock);
  EXPECT_THAT(book.Approve("v1", "nope", kManager, kSilver),
              StatusIs(absl::StatusCode::kNotFound));
  Deal d = Registration("d1", "p1", "Acme", "acme.com", "SKU-1");
  ASSERT_OK(book.Create(d, PartnerActor("p1")));
  EXPECT_THAT(book.Create(d, PartnerActor("p1")), StatusIs(absl::StatusCode::kAlreadyExists));
  Deal changes;
  changes.title = "Renamed";
  EXPECT_THAT(book.Update("v1", "d1", changes, {"title"}, PartnerActor("p1"), 7),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK(book.Update("v1", "d1", changes, {"title"}, PartnerActor("p1"), 1));
  EXPECT_EQ(book.Get("v1", "d1")->title, "Renamed");
  ASSERT_OK(book.Delete("v1", "d1", PartnerActor("p1")));
  EXPECT_THAT(book.Get("v1", "d1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(DealBook, TransitionWithAStaleVersionIsAbortedAndChangesNothing) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  const int64_t version = book.Get("v1", "d1")->version;
  EXPECT_THAT(book.Approve("v1", "d1", kManager, kSilver, version - 1),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kUnderReview);
  absl::StatusOr<CommandResult> approved = book.Approve("v1", "d1", kManager, kSilver, version);
  ASSERT_OK(approved);
  EXPECT_EQ(approved->deal.version, version + 1);
}

TEST(DealBook, TerminalStatesLeaveTheIndex) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  EXPECT_EQ(book.active_registrations(), 1u);
  ASSERT_OK(book.Cancel("v1", "d1", PartnerActor("p1"), "no budget"));
  EXPECT_EQ(book.active_registrations(), 0u);
  EXPECT_FALSE(CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-1"))
                   .deal.has_conflict);
  absl::StatusOr<std::vector<ConflictMatch>> none = book.CurrentConflicts("v1", "d2");
  ASSERT_OK(none);
  EXPECT_THAT(*none, IsEmpty());
  CreateAndSubmit(book, Registration("d3", "p3", "Acme", "acme.com", "SKU-1"));
  absl::StatusOr<std::vector<ConflictMatch>> current = book.CurrentConflicts("v1", "d2");
  ASSERT_OK(current);
  std::vector<std::string> ids;
  for (const ConflictMatch& m : *current) ids.push_back(m.deal_id);
  EXPECT_THAT(ids, ElementsAre("d3"));
}

}  // namespace
}  // namespace prm::deal

namespace prm::deal {
namespace {

SaleRecord Sale(const std::string& partner, const std::string& name, const std::string& domain,
                const std::string& sku) {
  SaleRecord s;
  s.vendor_id = "v1";
  s.partner_id = partner;
  s.erp_system_id = "sap-eu";
  s.erp_document_id = "INV-1";
  s.end_customer = {name, "US", domain, ""};
  s.lines = {{sku, "cat-" + sku, 2, {"USD", 80, 500'000'000}},
             {"OTHER", "cat-other", 1, {"USD", 1000, 0}}};
  s.currency_code = "USD";
  s.sale_time = absl::FromUnixSeconds(1'767'225'600) + absl::Hours(24 * 5);
  return s;
}

TEST(DealBookClosedLoop, MatchingSaleClosesTheApprovedDealAsWonWithTheActualAmount) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "ACME, Inc.", "acme.com", "SKU-1"));
  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));
  clock.Advance(absl::Hours(24 * 6));
  absl::StatusOr<std::optional<CommandResult>> r =
      book.CloseFromSale(Sale("p1", "Acme Incorporated", "", "SKU-1"));
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  const CommandResult& closed = **r;
  EXPECT_EQ(closed.deal.state, DealState::kWon);
  EXPECT_EQ(closed.deal.outcome.won_amount, (Money{"USD", 80, 500'000'000}));
  EXPECT_EQ(closed.deal.outcome.source, CloseSource::kErpSale);
  EXPECT_EQ(closed.deal.outcome.erp_document_id, "INV-1");
  EXPECT_EQ(closed.deal.outcome.close_date, (Date{2026, 1, 6}));
  ASSERT_EQ(closed.transitions.size(), 1u);
  EXPECT_EQ(closed.transitions[0].event.type, DealEventType::kWon);
  // Redelivery finds no approved deal any more.
  r = book.CloseFromSale(Sale("p1", "Acme Incorporated", "", "SKU-1"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
}

TEST(DealBookClosedLoop, SaleOfAnotherPartnerCustomerOrProductClosesNothing) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  Review(book, "d1");
  ASSERT_OK(book.Approve("v1", "d1", kManager, kSilver));
  for (const SaleRecord& s : {Sale("p2", "Acme", "acme.com", "SKU-1"),
                              Sale("p1", "Globex", "globex.com", "SKU-1"),
                              Sale("p1", "Acme", "acme.com", "SKU-9")}) {
    SaleRecord sale = s;
    if (sale.lines[0].sku == "SKU-9") sale.lines.resize(1);
    absl::StatusOr<std::optional<CommandResult>> r = book.CloseFromSale(sale);
    ASSERT_OK(r);
    EXPECT_FALSE(r->has_value()) << sale.partner_id << " " << sale.end_customer.legal_name;
  }
  EXPECT_EQ(book.Get("v1", "d1")->state, DealState::kApproved);
}

TEST(DealBookClosedLoop, SubmittedButUnapprovedDealIsNotClosed) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  absl::StatusOr<std::optional<CommandResult>> r =
      book.CloseFromSale(Sale("p1", "Acme", "acme.com", "SKU-1"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
}

TEST(DealBookList, FiltersByPartnerStateExpiryAndConflictWithPagination) {
  FakeClock clock;
  DealBook book(clock);
  CreateAndSubmit(book, Registration("d1", "p1", "Acme", "acme.com", "SKU-1"));
  CreateAndSubmit(book, Registration("d2", "p2", "Acme", "acme.com", "SKU-1"));  // conflict
  CreateAndSubmit(book, Registration("d3", "p1", "Globex", "globex.com", "SKU-1"));
  ASSERT_OK(book.Create(Registration("d4", "p1", "Initech", "initech.com", "SKU-1"),
                        PartnerActor("p1")));
  CreateAndSubmit(book, Registration("d5", "p1", "Other", "other.com", "SKU-1", "v2"));
  Review(book, "d3");
  ASSERT_OK(book.Approve("v1", "d3", kManager, kSilver));  // expires in 30 days

  auto ids = [](const DealPage& page) {
    std::vector<std::string> out;
    for (const Deal& d : page.deals) out.push_back(d.deal_id);
    return out;
  };
  DealQuery q;
  q.vendor_id = "v1";
  q.partner_id = "p1";
  q.page_size = 2;
  absl::StatusOr<DealPage> page = book.List(q);
  ASSERT_OK(page);
  EXPECT_THAT(ids(*page), ElementsAre("d1", "d3"));
  EXPECT_EQ(page->next_page_token, "d3");
  q.page_token = page->next_page_token;
  page = book.List(q);
  ASSERT_OK(page);
  EXPECT_THAT(ids(*page), ElementsAre("d4"));
  EXPECT_EQ(page->next_page_token, "");

  DealQuery by_state;
  by_state.vendor_id = "v1";
  by_state.states = {DealState::kSubmitted};
  EXPECT_THAT(ids(*book.List(by_state)), ElementsAre("d1", "d2"));
  DealQuery conflicted;
  conflicted.vendor_id = "v1";
  conflicted.has_conflict = true;
  EXPECT_THAT(ids(*book.List(conflicted)), ElementsAre("d2"));
  DealQuery expiring;
  expiring.vendor_id = "v1";
  expiring.expiring_before = clock.Now() + absl::Hours(24 * 31);
  EXPECT_THAT(ids(*book.List(expiring)), ElementsAre("d3"));
  expiring.expiring_before = clock.Now() + absl::Hours(24 * 29);
  EXPECT_THAT(ids(*book.List(expiring)), IsEmpty());

  DealQuery bad;
  bad.page_size = -1;
  EXPECT_THAT(book.List(bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace prm::deal
