#include "services/concierge-routing/domain/router.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::routing {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Monday 2026-03-02 10:00 UTC.
const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 3, 2, 10, 0, 0), absl::UTCTimeZone());

Worker MakeWorker(std::string id, WorkerRole role, std::vector<std::string> regions,
                  absl::flat_hash_map<std::string, int> skills = {}, int email = 5, int call = 1,
                  int chat = 3) {
  Worker w;
  w.worker_id = std::move(id);
  w.role = role;
  w.regions = std::move(regions);
  w.skills = std::move(skills);
  w.capacity[static_cast<int>(Channel::kEmail)] = email;
  w.capacity[static_cast<int>(Channel::kCall)] = call;
  w.capacity[static_cast<int>(Channel::kChat)] = chat;
  return w;
}

NewTask EmailTask(std::string region = "EMEA", int priority = 10) {
  NewTask t;
  t.channel = Channel::kEmail;
  t.category = TaskCategory::kPricing;
  t.region = std::move(region);
  t.priority = priority;
  return t;
}

WorkflowStep Step(std::string id, std::string queue, std::string target,
                  absl::Duration timeout = absl::InfiniteDuration(),
                  WorkerOrdering ordering = WorkerOrdering::kUnspecified) {
  WorkflowStep s;
  s.step_id = std::move(id);
  s.queue_id = std::move(queue);
  s.target = std::move(target);
  s.timeout = timeout;
  s.ordering = ordering;
  return s;
}

// Offers (TaskReserved events) in order as "task->worker".
std::vector<std::string> Offers(const std::vector<RoutingEvent>& events) {
  std::vector<std::string> out;
  for (const RoutingEvent& e : events) {
    if (e.type == RoutingEventType::kTaskReserved) {
      out.push_back(e.task.task_id + "->" + e.reservation->worker_id);
    }
  }
  return out;
}

std::vector<const RoutingEvent*> OfType(const std::vector<RoutingEvent>& events,
                                        RoutingEventType type) {
  std::vector<const RoutingEvent*> out;
  for (const RoutingEvent& e : events) {
    if (e.type == type) out.push_back(&e);
  }
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  explicit RouterTest(RouterOptions options = {}) : clock_(kStart), router_(clock_, options) {}

  // Creates a task and returns its id.
  std::string Create(NewTask t) {
    auto r = router_.CreateTask(std::move(t));
    EXPECT_OK(r);
    return r.ok() ? r->task.task_id : "";
  }
  // The pending reservation of a task (the first one).
  std::string ReservationOf(const std::string& task_id) {
    auto t = router_.GetTask(task_id);
    EXPECT_OK(t);
    if (!t.ok() || t->reservation_ids.empty()) return "";
    return t->reservation_ids.front();
  }
  TaskState StateOf(const std::string& task_id) {
    auto t = router_.GetTask(task_id);
    return t.ok() ? t->state : TaskState::kUnspecified;
  }
  ChannelLoad Load(const std::string& worker_id, Channel c) {
    auto w = router_.GetWorker(worker_id);
    EXPECT_OK(w);
    return w.ok() ? w->load[static_cast<int>(c)] : ChannelLoad{};
  }
  void AcceptAndComplete(const std::string& task_id) {
    auto t = router_.GetTask(task_id);
    ASSERT_OK(t);
    ASSERT_EQ(t->state, TaskState::kReserved);
    ASSERT_OK(router_.AcceptReservation(t->reservation_ids.front(), ""));
    ASSERT_OK(router_.CompleteTask(task_id, "", "done"));
  }

  FakeClock clock_;
  Router router_;
};

// Issue test 1.
TEST_F(RouterTest, PlatinumPricingGoesToConciergeThenLeastRecentlyAssignedEmeaPricingWorker) {
  ASSERT_OK(router_.PutQueue(Queue{"concierges", "worker.role == 'concierge'"}));
  ASSERT_OK(router_.PutQueue(Queue{"inside_sales", "worker.role == 'inside_sales'"}));
  Workflow direct;
  direct.workflow_id = "direct";
  direct.task_filter = "task.attributes.direct == 'yes'";
  direct.steps = {Step("direct", "inside_sales", "worker.worker_id == task.attributes.to")};
  ASSERT_OK(router_.PutWorkflow(direct));
  Workflow wf;
  wf.workflow_id = "pricing";
  wf.task_filter = "task.category == 'pricing' AND task.partner.tier_id == 'platinum'";
  wf.steps = {Step("concierge", "concierges",
                   "worker.worker_id == task.partner.concierge_worker_id", absl::Minutes(2)),
              Step("pool", "inside_sales",
                   "worker.skills.pricing >= 3 AND worker.regions HAS task.region")};
  ASSERT_OK(router_.PutWorkflow(wf));
  ASSERT_OK(router_.PutWorker(MakeWorker("c1", WorkerRole::kConcierge, {"EMEA"}, {{"pricing", 9}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("recent", WorkerRole::kInsideSales, {"EMEA"}, {{"pricing", 5}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("least_recent", WorkerRole::kInsideSales, {"EMEA"}, {{"pricing", 3}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("weak", WorkerRole::kInsideSales, {"EMEA"}, {{"pricing", 2}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("apac", WorkerRole::kInsideSales, {"APAC"}, {{"pricing", 8}})));
  router_.PutPartner("p1", PartnerContext{"platinum", 4, "c1", "cm1", ""});
  // "recent" handled a task a minute ago; "least_recent" never did.
  NewTask warmup = EmailTask();
  warmup.attributes = {{"direct", "yes"}, {"to", "recent"}};
  const std::string w = Create(warmup);
  clock_.Advance(absl::Seconds(20));
  AcceptAndComplete(w);
  router_.DrainEvents();

  NewTask req = EmailTask("EMEA");
  req.partner_id = "p1";
  const std::string id = Create(req);
  const absl::Time created = clock_.Now();
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->c1"));
  // The concierge lets the offer time out; nobody else is offered it within the step.
  clock_.Advance(absl::Seconds(30));
  router_.Tick();
  auto events = router_.DrainEvents();
  EXPECT_THAT(Offers(events), IsEmpty());
  EXPECT_EQ(StateOf(id), TaskState::kPending);
  clock_.Advance(absl::Seconds(90));
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->least_recent"));
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->step_id, "pool");
  EXPECT_EQ(t->workflow_id, "pricing");
  EXPECT_EQ(t->create_time, created);  // keeps its age across steps
  EXPECT_EQ(t->step_enter_time, created + absl::Minutes(2));
}

// Issue test 2.
TEST_F(RouterTest, OfflineConciergeSkipsToTheNextStepAtOnce) {
  Worker c1 = MakeWorker("c1", WorkerRole::kConcierge, {"EMEA"});
  c1.activity_id = "offline";
  ASSERT_OK(router_.PutWorker(c1));
  ASSERT_OK(router_.PutWorker(MakeWorker("emea", WorkerRole::kInsideSales, {"EMEA"})));
  ASSERT_OK(router_.PutWorker(MakeWorker("apac", WorkerRole::kInsideSales, {"APAC"})));
  router_.PutPartner("p1", PartnerContext{"gold", 3, "c1", "", ""});
  NewTask req = EmailTask("EMEA");
  req.partner_id = "p1";
  const std::string id = Create(req);  // default workflow, no clock movement
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->emea"));
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->step_id, "region_pool");
  EXPECT_EQ(t->step_enter_time, kStart);
}

// Issue test 3.
TEST_F(RouterTest, RejectReoffersToNextCandidateAndNeverToTheRejecter) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"})));
  ASSERT_OK(router_.PutWorker(MakeWorker("w2", WorkerRole::kInsideSales, {"EMEA"})));
  const std::string id = Create(EmailTask());
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->w1"));
  const std::string r1 = ReservationOf(id);
  ASSERT_OK(router_.RejectReservation(r1, "w1", "busy with a customer"));
  auto events = router_.DrainEvents();
  EXPECT_THAT(Offers(events), ElementsAre(id + "->w2"));
  ASSERT_EQ(OfType(events, RoutingEventType::kTaskRequeued).size(), 1u);
  ASSERT_OK(router_.RejectReservation(ReservationOf(id), "w2", "not mine"));
  // Both still available with free capacity: never offered again, on any trigger.
  ASSERT_OK(router_.SetWorkerActivity("w1", "available"));
  clock_.Advance(absl::Hours(1));
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->state, TaskState::kPending);
  EXPECT_THAT(t->declined_worker_ids, ElementsAre("w1", "w2"));
  auto r = router_.GetReservation(r1);
  ASSERT_OK(r);
  EXPECT_EQ(r->state, ReservationState::kRejected);
  EXPECT_EQ(r->end_reason, "busy with a customer");
  EXPECT_THAT(router_.RejectReservation(r1, "w1", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

class PausingRouterTest : public RouterTest {
 protected:
  PausingRouterTest() : RouterTest(RouterOptions{.max_consecutive_misses = 2}) {}
};

// Issue test 4.
TEST_F(PausingRouterTest, ReservationTimeoutMovesWorkerToMissedAndPausesAfterNMisses) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"})));
  const std::string t1 = Create(EmailTask());
  const std::string r1 = ReservationOf(t1);
  clock_.Advance(absl::Seconds(29));
  router_.Tick();
  EXPECT_EQ(StateOf(t1), TaskState::kReserved);
  clock_.Advance(absl::Seconds(1));
  router_.Tick();
  EXPECT_EQ(router_.GetReservation(r1)->state, ReservationState::kTimedOut);
  EXPECT_EQ(StateOf(t1), TaskState::kPending);
  EXPECT_EQ(router_.GetWorker("w1")->worker.activity_id, "missed");
  EXPECT_FALSE(router_.GetWorker("w1")->available);
  EXPECT_THAT(router_.AcceptReservation(r1, "w1"), StatusIs(absl::StatusCode::kFailedPrecondition));

  router_.DrainEvents();
  ASSERT_OK(router_.SetWorkerActivity("w1", "available"));
  const std::string t2 = Create(EmailTask());
  // t1 is never offered to w1 again; t2 is.
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(t2 + "->w1"));
  clock_.Advance(absl::Seconds(30));
  router_.Tick();
  auto events = router_.DrainEvents();
  auto changes = OfType(events, RoutingEventType::kWorkerActivityChanged);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]->activity_id, "paused");
  EXPECT_EQ(router_.GetWorker("w1")->worker.activity_id, "paused");
  EXPECT_EQ(router_.GetWorker("w1")->consecutive_misses, 2);
}

// Issue test 5.
TEST_F(RouterTest, HigherPriorityFirstRegardlessOfAgeThenOldest) {
  Worker w = MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, /*email=*/1);
  w.activity_id = "offline";
  ASSERT_OK(router_.PutWorker(w));
  const std::string old_low = Create(EmailTask("EMEA", 10));
  clock_.Advance(absl::Minutes(1));
  const std::string high = Create(EmailTask("EMEA", 50));
  clock_.Advance(absl::Minutes(1));
  const std::string new_low = Create(EmailTask("EMEA", 10));
  router_.DrainEvents();
  ASSERT_OK(router_.SetWorkerActivity("w1", "available"));
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(high + "->w1"));
  AcceptAndComplete(high);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(old_low + "->w1"));
  AcceptAndComplete(old_low);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(new_low + "->w1"));
}

class AgingRouterTest : public RouterTest {
 protected:
  AgingRouterTest()
      : RouterTest(RouterOptions{.aging_interval = absl::Minutes(1), .aging_increase = 10}) {}
};

// Issue test 6.
TEST_F(AgingRouterTest, AgingRaisesPriorityAndKeepsOrderAmongEquals) {
  Worker w = MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, /*email=*/1);
  w.activity_id = "offline";
  ASSERT_OK(router_.PutWorker(w));
  const std::string a = Create(EmailTask("EMEA", 10));
  clock_.Advance(absl::Seconds(30));
  const std::string b = Create(EmailTask("EMEA", 10));
  clock_.Advance(absl::Seconds(270));  // T+5m: a aged 5×, b 4×
  const std::string c = Create(EmailTask("EMEA", 55));
  router_.Tick();
  EXPECT_EQ(router_.GetTask(a)->priority, 60);
  EXPECT_EQ(router_.GetTask(b)->priority, 50);
  router_.DrainEvents();
  ASSERT_OK(router_.SetWorkerActivity("w1", "available"));
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(a + "->w1"));
  AcceptAndComplete(a);
  // c (55) beats b (50); without aging b would still trail a, never overtake it.
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(c + "->w1"));
  AcceptAndComplete(c);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(b + "->w1"));
}

// Issue test 7.
TEST_F(RouterTest, SkillRelaxationWidensCandidatesButNeverBelowTheMinimum) {
  Workflow wf;
  wf.workflow_id = "relax";
  WorkflowStep s = Step("pool", "default", "");
  s.skill_requirements = {SkillRequirement{"pricing", 5, 3, absl::Minutes(1)}};
  wf.steps = {s};
  ASSERT_OK(router_.PutWorkflow(wf));
  ASSERT_OK(router_.PutWorker(MakeWorker("w2", WorkerRole::kInsideSales, {"EMEA"}, {{"pricing", 2}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("w3", WorkerRole::kInsideSales, {"EMEA"}, {{"pricing", 3}})));
  NewTask req = EmailTask();
  req.workflow_id = "relax";
  const std::string id = Create(req);
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());  // needs 5
  clock_.Advance(absl::Minutes(1));
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());  // needs 4
  clock_.Advance(absl::Minutes(1));
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->w3"));  // needs 3
  ASSERT_OK(router_.RejectReservation(ReservationOf(id), "w3", ""));
  clock_.Advance(absl::Hours(2));
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());  // w2 (level 2) never qualifies
  EXPECT_EQ(StateOf(id), TaskState::kPending);
}

// Issue test 8.
TEST_F(RouterTest, FullEmailCapacityStillAllowsACall) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 5, 1)));
  std::vector<std::string> emails;
  for (int i = 0; i < 6; ++i) emails.push_back(Create(EmailTask()));
  EXPECT_EQ(Offers(router_.DrainEvents()).size(), 5u);
  EXPECT_EQ(StateOf(emails[5]), TaskState::kPending);
  EXPECT_EQ(Load("w1", Channel::kEmail).reserved, 5);
  for (int i = 0; i < 5; ++i) ASSERT_OK(router_.AcceptReservation(ReservationOf(emails[i]), "w1"));
  EXPECT_EQ(StateOf(emails[5]), TaskState::kPending);
  NewTask call = EmailTask();
  call.channel = Channel::kCall;
  const std::string c = Create(call);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(c + "->w1"));
  EXPECT_EQ(Load("w1", Channel::kEmail).assigned, 5);
  EXPECT_EQ(Load("w1", Channel::kCall).reserved, 1);
  // Finishing one e-mail frees a slot for the waiting one.
  ASSERT_OK(router_.CompleteTask(emails[0], "w1", "answered"));
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(emails[5] + "->w1"));
}

// Issue test 9: real threads, 1,000 repetitions.
TEST(RouterConcurrency, TwoSimultaneousAcceptsOfParallelOffersAssignExactlyOnce) {
  for (int rep = 0; rep < 1000; ++rep) {
    FakeClock clock(kStart);
    Router router(clock);
    Workflow wf;
    wf.workflow_id = "broadcast";
    WorkflowStep s = Step("all", "default", "");
    s.parallel_offers = 3;
    wf.steps = {s};
    ASSERT_OK(router.PutWorkflow(wf));
    for (const char* id : {"a", "b", "c"}) {
      ASSERT_OK(router.PutWorker(MakeWorker(id, WorkerRole::kInsideSales, {"EMEA"}, {}, 1)));
    }
    NewTask req = EmailTask();
    req.workflow_id = "broadcast";
    auto created = router.CreateTask(req);
    ASSERT_OK(created);
    const std::vector<std::string> res = created->task.reservation_ids;
    ASSERT_EQ(res.size(), 3u);
    std::atomic<int> ready{0};
    absl::Status results[2];
    auto accept = [&](int i) {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      const std::string worker = router.GetReservation(res[i])->worker_id;
      results[i] = router.AcceptReservation(res[i], worker);
    };
    std::thread t0(accept, 0);
    std::thread t1(accept, 1);
    t0.join();
    t1.join();
    const int ok = results[0].ok() + results[1].ok();
    ASSERT_EQ(ok, 1) << "rep " << rep;
    const absl::Status& loser = results[0].ok() ? results[1] : results[0];
    ASSERT_EQ(loser.code(), absl::StatusCode::kFailedPrecondition) << loser;
    const int winner = results[0].ok() ? 0 : 1;
    auto task = router.GetTask(created->task.task_id);
    ASSERT_OK(task);
    ASSERT_EQ(task->state, TaskState::kAssigned);
    ASSERT_EQ(task->worker_id, router.GetReservation(res[winner])->worker_id);
    int assigned = 0, reserved = 0, accepted = 0, rescinded = 0;
    for (const char* id : {"a", "b", "c"}) {
      auto w = router.GetWorker(id);
      assigned += w->load[static_cast<int>(Channel::kEmail)].assigned;
      reserved += w->load[static_cast<int>(Channel::kEmail)].reserved;
    }
    for (const std::string& r : res) {
      const ReservationState st = router.GetReservation(r)->state;
      accepted += st == ReservationState::kAccepted;
      rescinded += st == ReservationState::kRescinded;
    }
    ASSERT_EQ(assigned, 1);
    ASSERT_EQ(reserved, 0);
    ASSERT_EQ(accepted, 1);
    ASSERT_EQ(rescinded, 2);
    ASSERT_EQ(OfType(router.DrainEvents(), RoutingEventType::kTaskAssigned).size(), 1u);
  }
}

// Issue test 10.
TEST_F(RouterTest, CancelDuringOfferRescindsAndRestoresCapacity) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 1)));
  const std::string id = Create(EmailTask());
  const std::string r = ReservationOf(id);
  EXPECT_EQ(Load("w1", Channel::kEmail).reserved, 1);
  router_.DrainEvents();
  ASSERT_OK(router_.CancelTask(id, "partner withdrew the request"));
  auto events = router_.DrainEvents();
  auto canceled = OfType(events, RoutingEventType::kTaskCanceled);
  ASSERT_EQ(canceled.size(), 1u);
  EXPECT_EQ(canceled[0]->task.end_reason, "partner withdrew the request");
  EXPECT_EQ(canceled[0]->task.cancel_source, CancelSource::kApi);
  EXPECT_EQ(router_.GetReservation(r)->state, ReservationState::kRescinded);
  EXPECT_EQ(Load("w1", Channel::kEmail).reserved, 0);
  const std::string next = Create(EmailTask());
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(next + "->w1"));
  EXPECT_THAT(router_.CancelTask(id, "again"), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(router_.AcceptReservation(ReservationOf(next), "w1"));
  EXPECT_THAT(router_.CancelTask(next, "late"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(router_.CancelTask("nope", ""), StatusIs(absl::StatusCode::kNotFound));
}

// Issue test 11.
TEST_F(RouterTest, TtlExpiryCancelsWithTtlExceeded) {
  NewTask req = EmailTask();
  req.ttl = absl::Hours(1);
  const std::string id = Create(req);
  clock_.Advance(absl::Minutes(59));
  router_.Tick();
  EXPECT_EQ(StateOf(id), TaskState::kPending);
  clock_.Advance(absl::Minutes(1));
  router_.Tick();
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->state, TaskState::kCanceled);
  EXPECT_EQ(t->end_reason, "ttl_exceeded");
  EXPECT_EQ(t->cancel_source, CancelSource::kTtl);
  EXPECT_EQ(t->end_time, kStart + absl::Hours(1));
  EXPECT_EQ(OfType(router_.DrainEvents(), RoutingEventType::kTaskCanceled).size(), 1u);
  EXPECT_EQ(router_.PendingTaskCount(), 0u);
}

std::vector<WeeklyHours> NineToFive() {
  std::vector<WeeklyHours> h;
  for (absl::Weekday d : {absl::Weekday::monday, absl::Weekday::tuesday, absl::Weekday::wednesday,
                          absl::Weekday::thursday, absl::Weekday::friday}) {
    h.push_back({d, 9 * 60, 17 * 60});
  }
  return h;
}

class ApacNightTest : public RouterTest {
 protected:
  void SetUp() override {
    // Tuesday 2026-03-03 02:00 in Singapore = Monday 18:00 UTC.
    clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 3, 3, 2, 0, 0), Singapore()));
    auto cal = BusinessCalendar::Create("Asia/Singapore", NineToFive(), {});
    ASSERT_OK(cal);
    ASSERT_OK(router_.PutCalendar("sg", *cal));
    ASSERT_OK(router_.PutQueue(Queue{"apac", "worker.regions HAS 'APAC'"}));
    ASSERT_OK(router_.PutQueue(Queue{"follow_the_sun", "worker.attributes.fts == 'yes'"}));
    Worker apac = MakeWorker("sg1", WorkerRole::kInsideSales, {"APAC"});
    apac.business_calendar_id = "sg";
    ASSERT_OK(router_.PutWorker(apac));
    Worker fts = MakeWorker("fts1", WorkerRole::kInsideSales, {"EMEA"});
    fts.attributes = {{"fts", "yes"}};
    ASSERT_OK(router_.PutWorker(fts));
  }
  static absl::TimeZone Singapore() {
    absl::TimeZone tz;
    absl::LoadTimeZone("Asia/Singapore", &tz);
    return tz;
  }
};

// Issue test 12, "follow the sun" configuration.
TEST_F(ApacNightTest, RequestAtTwoAmLocalGoesToTheFollowTheSunPool) {
  Workflow wf;
  wf.workflow_id = "apac";
  WorkflowStep local = Step("local", "apac", "", absl::Minutes(30));
  local.skip_if_nobody_available = true;
  wf.steps = {local, Step("fts", "follow_the_sun", "")};
  ASSERT_OK(router_.PutWorkflow(wf));
  NewTask req = EmailTask("APAC");
  req.workflow_id = "apac";
  const std::string id = Create(req);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->fts1"));
}

// Issue test 12, "wait for local hours" configuration.
TEST_F(ApacNightTest, RequestAtTwoAmLocalWaitsUntilTheApacTeamOpens) {
  Workflow wf;
  wf.workflow_id = "apac";
  wf.steps = {Step("local", "apac", "")};
  ASSERT_OK(router_.PutWorkflow(wf));
  NewTask req = EmailTask("APAC");
  req.workflow_id = "apac";
  const std::string id = Create(req);
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());
  clock_.Advance(absl::Hours(6) + absl::Minutes(59));  // 08:59 local
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), IsEmpty());
  clock_.Advance(absl::Minutes(1));  // 09:00 local
  router_.Tick();
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->sg1"));
}

// Issue test 12, SLA part: the clock pauses overnight and on holidays, in the partner's zone.
TEST_F(RouterTest, SlaDueTimePausesOvernightAndOnHolidaysInThePartnersZone) {
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFive(), {absl::CivilDay(2026, 3, 30)});
  ASSERT_OK(cal);
  ASSERT_OK(router_.PutCalendar("office", *cal));
  SlaPolicy policy;
  policy.business_calendar_id = "office";
  policy.targets = {{"gold", TaskCategory::kPricing, absl::Hours(4)}};
  ASSERT_OK(router_.SetSlaPolicy(policy));
  router_.PutPartner("riga", PartnerContext{"gold", 3, "", "cm", "Europe/Riga"});
  absl::TimeZone riga;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Riga", &riga));
  // Friday 2026-03-27 15:00 Riga; 2h on Friday, the weekend (with the DST change), Monday is a
  // holiday, 2h on Tuesday 2026-03-31 → 11:00 Riga summer time.
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 3, 27, 15, 0, 0), riga));
  NewTask req = EmailTask();
  req.partner_id = "riga";
  const std::string id = Create(req);
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->sla.time_zone, "Europe/Riga");
  EXPECT_EQ(t->sla.state, SlaState::kRunning);
  EXPECT_EQ(t->sla.due_time, absl::FromCivil(absl::CivilSecond(2026, 3, 31, 11, 0, 0), riga));
  EXPECT_EQ(t->sla.due_time,
            absl::FromCivil(absl::CivilSecond(2026, 3, 31, 8, 0, 0), absl::UTCTimeZone()));
}

// Issue test 13.
TEST_F(RouterTest, SlaWarningAtEightyAndBreachAtHundredPercentEmittedOnceEach) {
  SlaPolicy policy;
  policy.targets = {{"", TaskCategory::kUnspecified, absl::Minutes(10)}};
  ASSERT_OK(router_.SetSlaPolicy(policy));
  router_.PutPartner("p1", PartnerContext{"gold", 3, "", "cm1", ""});
  NewTask req = EmailTask();
  req.partner_id = "p1";
  const std::string id = Create(req);
  std::vector<RoutingEvent> all;
  auto collect = [&] {
    for (auto& e : router_.DrainEvents()) all.push_back(std::move(e));
  };
  for (int second = 0; second <= 30 * 60; second += 15) {
    clock_.Set(kStart + absl::Seconds(second));
    router_.Tick();
    router_.Tick();
    collect();
  }
  auto warnings = OfType(all, RoutingEventType::kSlaWarning);
  auto breaches = OfType(all, RoutingEventType::kSlaBreached);
  ASSERT_EQ(warnings.size(), 1u);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(warnings[0]->time, kStart + absl::Minutes(8));
  EXPECT_EQ(warnings[0]->sla_percent, 80);
  EXPECT_EQ(warnings[0]->sla_elapsed, absl::Minutes(8));
  EXPECT_EQ(warnings[0]->task.sla.state, SlaState::kWarning);
  EXPECT_EQ(breaches[0]->time, kStart + absl::Minutes(10));
  EXPECT_EQ(breaches[0]->escalate_to_worker_id, "cm1");
  EXPECT_EQ(router_.GetTask(id)->sla.state, SlaState::kBreached);

  // A task answered in time is MET and never warns.
  const std::string met = Create(req);
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"})));
  ASSERT_OK(router_.AcceptReservation(ReservationOf(met), "w1"));
  clock_.Advance(absl::Hours(1));
  router_.Tick();
  EXPECT_THAT(OfType(router_.DrainEvents(), RoutingEventType::kSlaWarning), IsEmpty());
  EXPECT_EQ(router_.GetTask(met)->sla.state, SlaState::kMet);
}

// Issue test 14.
TEST_F(RouterTest, ReopenedRequestReturnsToThePreviousWorker) {
  Worker c1 = MakeWorker("c1", WorkerRole::kConcierge, {"EMEA"});
  c1.activity_id = "offline";
  ASSERT_OK(router_.PutWorker(c1));
  ASSERT_OK(router_.PutWorker(MakeWorker("pool1", WorkerRole::kInsideSales, {"EMEA"})));
  router_.PutPartner("p1", PartnerContext{"gold", 3, "c1", "", ""});
  NewTask req = EmailTask();
  req.partner_id = "p1";
  req.dedupe_key = "thread-42";
  const std::string first = Create(req);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(first + "->pool1"));
  AcceptAndComplete(first);
  ASSERT_OK(router_.SetWorkerActivity("c1", "available"));
  router_.DrainEvents();
  auto reopened = router_.CreateTask(req);
  ASSERT_OK(reopened);
  EXPECT_TRUE(reopened->created);
  EXPECT_EQ(reopened->task.previous_worker_id, "pool1");
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(reopened->task.task_id + "->pool1"));
  EXPECT_EQ(reopened->task.step_id, "previous_worker");
}

// Issue test 15.
TEST_F(RouterTest, RoundRobinGivesThreeEqualWorkersTenOfThirtyEach) {
  Workflow wf;
  wf.workflow_id = "rr";
  wf.steps = {Step("all", "default", "", absl::InfiniteDuration(), WorkerOrdering::kRoundRobin)};
  ASSERT_OK(router_.PutWorkflow(wf));
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_OK(router_.PutWorker(MakeWorker(id, WorkerRole::kInsideSales, {"EMEA"}, {}, 20)));
  }
  for (int i = 0; i < 30; ++i) {
    NewTask req = EmailTask();
    req.workflow_id = "rr";
    Create(req);
  }
  std::map<std::string, int> per_worker;
  for (const RoutingEvent& e : router_.DrainEvents()) {
    if (e.type == RoutingEventType::kTaskReserved) ++per_worker[e.reservation->worker_id];
  }
  EXPECT_THAT(per_worker, ElementsAre(std::pair<const std::string, int>("a", 10),
                                      std::pair<const std::string, int>("b", 10),
                                      std::pair<const std::string, int>("c", 10)));
}

TEST_F(RouterTest, LeastBusyPicksTheLowestOccupancy) {
  Workflow wf;
  wf.workflow_id = "lb";
  wf.steps = {Step("all", "default", "", absl::InfiniteDuration(), WorkerOrdering::kLeastBusy)};
  ASSERT_OK(router_.PutWorkflow(wf));
  ASSERT_OK(router_.PutWorker(MakeWorker("small", WorkerRole::kInsideSales, {"EMEA"}, {}, 2)));
  ASSERT_OK(router_.PutWorker(MakeWorker("large", WorkerRole::kInsideSales, {"EMEA"}, {}, 10)));
  std::vector<std::string> order;
  for (int i = 0; i < 7; ++i) {
    NewTask req = EmailTask();
    req.workflow_id = "lb";
    Create(req);
  }
  for (const std::string& o : Offers(router_.DrainEvents())) order.push_back(o.substr(o.find('>') + 1));
  // 0/2 vs 0/10 tie → longest idle (created first); then 1/2 is busier than k/10 until 5/10.
  EXPECT_THAT(order, ElementsAre("small", "large", "large", "large", "large", "large", "small"));
}

TEST_F(RouterTest, LongestIdlePicksTheLeastRecentlyAssigned) {
  for (const char* id : {"w1", "w2", "w3"}) {
    ASSERT_OK(router_.PutWorker(MakeWorker(id, WorkerRole::kInsideSales, {"EMEA"}, {}, 1)));
  }
  const std::string t1 = Create(EmailTask());  // w1 (all idle since creation; first created)
  clock_.Advance(absl::Seconds(20));
  AcceptAndComplete(t1);                       // w1 last assigned at +20s
  const std::string t2 = Create(EmailTask());  // w2 (w2, w3 idle since creation)
  clock_.Advance(absl::Seconds(20));
  AcceptAndComplete(t2);                       // w2 last assigned at +40s
  router_.DrainEvents();
  const std::string t3 = Create(EmailTask());
  const std::string t4 = Create(EmailTask());
  const std::string t5 = Create(EmailTask());
  EXPECT_THAT(Offers(router_.DrainEvents()),
              ElementsAre(t3 + "->w3", t4 + "->w1", t5 + "->w2"));
}

TEST_F(RouterTest, HighestSkillPicksTheStrongestInTheFirstRequirement) {
  Workflow wf;
  wf.workflow_id = "hs";
  WorkflowStep s = Step("all", "default", "", absl::InfiniteDuration(), WorkerOrdering::kHighestSkill);
  s.skill_requirements = {SkillRequirement{"licensing", 2}};
  wf.steps = {s};
  ASSERT_OK(router_.PutWorkflow(wf));
  ASSERT_OK(router_.PutWorker(MakeWorker("mid", WorkerRole::kInsideSales, {"EMEA"}, {{"licensing", 5}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("top", WorkerRole::kInsideSales, {"EMEA"}, {{"licensing", 9}})));
  ASSERT_OK(router_.PutWorker(MakeWorker("low", WorkerRole::kInsideSales, {"EMEA"}, {{"licensing", 1}})));
  NewTask req = EmailTask();
  req.workflow_id = "hs";
  const std::string id = Create(req);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->top"));
}

TEST_F(RouterTest, StepPriorityIncreaseAppliesOnEnteringTheStep) {
  Workflow wf;
  wf.workflow_id = "escalating";
  WorkflowStep first = Step("first", "default", "worker.worker_id == 'nobody'", absl::Minutes(5));
  WorkflowStep second = Step("second", "default", "worker.worker_id == 'nobody'");
  second.priority_increase = 100;
  wf.steps = {first, second};
  ASSERT_OK(router_.PutWorkflow(wf));
  NewTask req = EmailTask("EMEA", 20);
  req.workflow_id = "escalating";
  const std::string id = Create(req);
  EXPECT_EQ(router_.GetTask(id)->priority, 20);
  clock_.Advance(absl::Minutes(5));
  router_.Tick();
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  EXPECT_EQ(t->step_id, "second");
  EXPECT_EQ(t->priority, 120);
  EXPECT_EQ(t->create_time, kStart);
}

// Issue 5 / SPEC §6.7: a TierChanged re-prioritizes the partner's open tasks.
TEST_F(RouterTest, ATierChangeReprioritizesThePartnersOpenTasksButNotAssignedOnes) {
  constexpr int kRegistered = 100, kSilver = 300, kGold = 500, kStepIncrease = 7;
  Workflow wf;
  wf.workflow_id = "pool";
  WorkflowStep pool = Step("pool", "default", "");
  pool.priority_increase = kStepIncrease;
  wf.steps = {pool};
  ASSERT_OK(router_.PutWorkflow(wf));
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 1)));
  router_.PutPartner("p1", PartnerContext{"registered", 1, "", "", ""}, kRegistered);
  router_.PutPartner("p2", PartnerContext{"silver", 2, "", "", ""}, kSilver);
  auto request = [](std::string partner_id) {
    NewTask t = EmailTask();
    t.priority.reset();  // derived from the tier
    t.partner_id = std::move(partner_id);
    t.workflow_id = "pool";
    return t;
  };
  // p1's first task is assigned to the only worker; the next ones wait.
  const std::string assigned = Create(request("p1"));
  ASSERT_OK(router_.AcceptReservation(ReservationOf(assigned), ""));
  clock_.Advance(absl::Minutes(1));
  const std::string silver = Create(request("p2"));  // same age, created first
  const std::string open = Create(request("p1"));
  NewTask fixed = request("p1");
  fixed.priority = 50;
  const std::string explicit_priority = Create(fixed);
  EXPECT_EQ(router_.GetTask(open)->priority, kRegistered + kStepIncrease);
  EXPECT_EQ(router_.GetTask(silver)->priority, kSilver + kStepIncrease);
  EXPECT_EQ(router_.GetTask(silver)->create_time, router_.GetTask(open)->create_time);

  clock_.Advance(absl::Minutes(1));
  router_.PutPartner("p1", PartnerContext{"gold", 3, "", "", ""}, kGold);
  auto t = router_.GetTask(open);
  ASSERT_OK(t);
  EXPECT_EQ(t->partner.tier_id, "gold");
  EXPECT_EQ(t->partner.tier_rank, 3);
  EXPECT_EQ(t->priority, kGold + kStepIncrease);
  EXPECT_EQ(t->state, TaskState::kPending);
  // An explicit priority stays; the tier is still the partner's.
  t = router_.GetTask(explicit_priority);
  ASSERT_OK(t);
  EXPECT_EQ(t->partner.tier_id, "gold");
  EXPECT_EQ(t->priority, 50 + kStepIncrease);
  // The assigned task keeps the tier and priority it was handled at.
  t = router_.GetTask(assigned);
  ASSERT_OK(t);
  EXPECT_EQ(t->state, TaskState::kAssigned);
  EXPECT_EQ(t->partner.tier_id, "registered");
  EXPECT_EQ(t->priority, kRegistered + kStepIncrease);
  // The worker frees up: the gold task now goes ahead of the equally old silver one.
  router_.DrainEvents();
  ASSERT_OK(router_.CompleteTask(assigned, "", "done"));
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(open + "->w1"));
  AcceptAndComplete(open);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(silver + "->w1"));
  // The same tier again changes nothing.
  const int64_t version = router_.GetTask(explicit_priority)->version;
  router_.PutPartner("p1", PartnerContext{"gold", 3, "c1", "", ""}, kGold);
  EXPECT_EQ(router_.GetTask(explicit_priority)->version, version);
}

TEST_F(RouterTest, DefaultWorkflowOverflowsToAnyWorkerAfterTheRegionPool) {
  ASSERT_OK(router_.PutWorker(MakeWorker("amer", WorkerRole::kInsideSales, {"AMER"})));
  const std::string id = Create(EmailTask("EMEA"));  // no concierge, nobody in EMEA
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->amer"));
  EXPECT_EQ(router_.GetTask(id)->step_id, "overflow");
}

// Issue test 16.
TEST_F(RouterTest, SameDedupeKeyTwiceYieldsOneTask) {
  NewTask req = EmailTask();
  req.dedupe_key = "mail-thread-7";
  auto first = router_.CreateTask(req);
  auto second = router_.CreateTask(req);
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_TRUE(first->created);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(first->task.task_id, second->task.task_id);
  EXPECT_EQ(OfType(router_.DrainEvents(), RoutingEventType::kTaskCreated).size(), 1u);
  EXPECT_EQ(router_.PendingTaskCount(), 1u);
  // Once it is closed the key is free again.
  ASSERT_OK(router_.CancelTask(first->task.task_id, "dup"));
  auto third = router_.CreateTask(req);
  ASSERT_OK(third);
  EXPECT_TRUE(third->created);
}

// Issue test 17.
TEST_F(RouterTest, QueueStatisticsAfterAScriptedScenario) {
  SlaPolicy policy;
  policy.targets = {{"", TaskCategory::kUnspecified, absl::Minutes(10)}};
  ASSERT_OK(router_.SetSlaPolicy(policy));
  ASSERT_OK(router_.PutQueue(Queue{"sales", "worker.role == 'inside_sales'"}));
  Workflow wf;
  wf.workflow_id = "sales";
  wf.steps = {Step("all", "sales", "")};
  wf.reservation_timeout = absl::Minutes(30);
  ASSERT_OK(router_.PutWorkflow(wf));
  // E-mail only, one at a time.
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 1, 0, 0)));
  ASSERT_OK(router_.PutWorker(MakeWorker("w2", WorkerRole::kInsideSales, {"EMEA"}, {}, 1, 0, 0)));
  Worker off = MakeWorker("w3", WorkerRole::kInsideSales, {"EMEA"}, {}, 1);
  off.activity_id = "offline";
  ASSERT_OK(router_.PutWorker(off));
  ASSERT_OK(router_.PutWorker(MakeWorker("other", WorkerRole::kConcierge, {"EMEA"})));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    NewTask req = EmailTask();
    req.workflow_id = "sales";
    ids.push_back(Create(req));
  }
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK(router_.AcceptReservation(ReservationOf(ids[0]), ""));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(router_.AcceptReservation(ReservationOf(ids[1]), ""));
  clock_.Advance(absl::Minutes(7));  // T+10m: ids[2], ids[3] warned at 8m and breached at 10m
  router_.Tick();
  auto s = router_.GetQueueStatistics("sales", absl::Hours(1));
  ASSERT_OK(s);
  EXPECT_EQ(s->task_counts[static_cast<int>(TaskState::kPending)], 2);
  EXPECT_EQ(s->task_counts[static_cast<int>(TaskState::kReserved)], 0);
  EXPECT_EQ(s->task_counts[static_cast<int>(TaskState::kAssigned)], 2);
  EXPECT_EQ(s->longest_wait, absl::Minutes(10));
  EXPECT_EQ(s->oldest_task_id, ids[2]);
  EXPECT_EQ(s->eligible_workers, 3);
  EXPECT_EQ(s->available_workers, 2);
  EXPECT_EQ(s->workers_with_capacity, 0);
  ASSERT_TRUE(s->sla_attainment.has_value());
  EXPECT_DOUBLE_EQ(*s->sla_attainment, 0.5);
  EXPECT_EQ(s->sla_warning_count, 2);
  EXPECT_EQ(s->sla_breach_count, 2);
  EXPECT_EQ(s->average_wait, absl::Seconds(150));
  EXPECT_THAT(router_.GetQueueStatistics("nope", absl::Hours(1)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RouterTest, WorkerStatisticsCountOffersOutcomesAndHandleTime) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 1, 0, 0)));
  const std::string rejected = Create(EmailTask());
  ASSERT_OK(router_.RejectReservation(ReservationOf(rejected), "w1", "no"));
  ASSERT_OK(router_.CancelTask(rejected, "cleanup"));
  const std::string done = Create(EmailTask());
  ASSERT_OK(router_.AcceptReservation(ReservationOf(done), "w1"));
  clock_.Advance(absl::Minutes(4));
  ASSERT_OK(router_.CompleteTask(done, "w1", "ok"));
  const std::string missed = Create(EmailTask());
  clock_.Advance(absl::Seconds(30));
  router_.Tick();
  EXPECT_EQ(StateOf(missed), TaskState::kPending);
  auto s = router_.GetWorkerStatistics("w1", absl::Hours(1));
  ASSERT_OK(s);
  EXPECT_EQ(s->activity_id, "missed");
  EXPECT_EQ(s->reservations_offered, 3);
  EXPECT_EQ(s->reservations_accepted, 1);
  EXPECT_EQ(s->reservations_rejected, 1);
  EXPECT_EQ(s->reservations_timed_out, 1);
  EXPECT_EQ(s->tasks_completed, 1);
  EXPECT_EQ(s->average_handle_time, absl::Minutes(4));
  EXPECT_EQ(s->channels[static_cast<int>(Channel::kEmail)].capacity, 1);
  EXPECT_EQ(s->channels[static_cast<int>(Channel::kEmail)].reserved, 0);
  // Two hours later the window is empty.
  clock_.Advance(absl::Hours(2));
  router_.Tick();
  auto later = router_.GetWorkerStatistics("w1", absl::Hours(1));
  ASSERT_OK(later);
  EXPECT_EQ(later->reservations_offered, 0);
  EXPECT_THAT(router_.GetWorkerStatistics("nope", absl::Hours(1)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RouterTest, WrapUpHoldsCapacityUntilItElapses) {
  Worker w = MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 1);
  w.wrap_up = absl::Seconds(45);
  ASSERT_OK(router_.PutWorker(w));
  const std::string t1 = Create(EmailTask());
  const std::string t2 = Create(EmailTask());
  ASSERT_OK(router_.AcceptReservation(ReservationOf(t1), "w1"));
  ASSERT_OK(router_.WrapUpTask(t1, "w1"));
  EXPECT_EQ(StateOf(t1), TaskState::kWrapping);
  EXPECT_EQ(Load("w1", Channel::kEmail).wrapping, 1);
  clock_.Advance(absl::Seconds(44));
  router_.Tick();
  EXPECT_EQ(StateOf(t2), TaskState::kPending);
  clock_.Advance(absl::Seconds(1));
  router_.Tick();
  EXPECT_EQ(StateOf(t1), TaskState::kCompleted);
  EXPECT_EQ(StateOf(t2), TaskState::kReserved);
}

TEST_F(RouterTest, ActingOnAnotherWorkersOfferOrTaskIsDenied) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"})));
  ASSERT_OK(router_.PutWorker(MakeWorker("w2", WorkerRole::kInsideSales, {"EMEA"})));
  const std::string id = Create(EmailTask());
  const std::string r = ReservationOf(id);
  EXPECT_THAT(router_.AcceptReservation(r, "w2"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(router_.RejectReservation(r, "w2", ""), StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_OK(router_.AcceptReservation(r, "w1"));
  EXPECT_THAT(router_.CompleteTask(id, "w2", ""), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(router_.AcceptReservation("res-999", "w1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.WrapUpTask("task-999", "w1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RouterTest, WorkerGoingOfflineRescindsItsOffers) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"})));
  ASSERT_OK(router_.PutWorker(MakeWorker("w2", WorkerRole::kInsideSales, {"EMEA"})));
  const std::string id = Create(EmailTask());
  const std::string r = ReservationOf(id);
  router_.DrainEvents();
  ASSERT_OK(router_.SetWorkerActivity("w1", "break"));
  EXPECT_EQ(router_.GetReservation(r)->state, ReservationState::kRescinded);
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(id + "->w2"));
  EXPECT_THAT(router_.GetTask(id)->declined_worker_ids, IsEmpty());  // a rescind is no decline
}

TEST_F(RouterTest, WorkerWithADuplicateRegionIsIndexedAndUnindexedSafely) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA", "EMEA"}, {}, 1)));
  const std::string t1 = Create(EmailTask("EMEA"));
  EXPECT_EQ(StateOf(t1), TaskState::kReserved);  // region_pool step, indexed by region
  ASSERT_OK(router_.AcceptReservation(ReservationOf(t1), "w1"));
  ASSERT_OK(router_.CompleteTask(t1, "w1", ""));
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"APAC"}, {}, 1)));
  const std::string t2 = Create(EmailTask("EMEA"));
  EXPECT_EQ(router_.GetTask(t2)->step_id, "overflow");
  EXPECT_EQ(StateOf(t2), TaskState::kReserved);
}

TEST_F(RouterTest, DecidedDealClosesItsApprovalTasks) {
  ASSERT_OK(router_.PutQueue(Queue{"channel_managers", "worker.role == 'channel_manager'"}));
  Workflow wf;
  wf.workflow_id = "approvals";
  wf.task_filter = "task.category == 'deal_approval'";
  wf.steps = {Step("cm", "channel_managers", "")};
  ASSERT_OK(router_.PutWorkflow(wf));
  Worker cm = MakeWorker("cm1", WorkerRole::kChannelManager, {"EMEA"}, {}, 0, 0, 0);
  cm.capacity[static_cast<int>(Channel::kInternal)] = 1;
  ASSERT_OK(router_.PutWorker(cm));
  NewTask approval;
  approval.channel = Channel::kInternal;
  approval.category = TaskCategory::kDealApproval;
  approval.related_deal_id = "deal-1";
  const std::string assigned = Create(approval);  // offered to cm1 (capacity 1)
  const std::string waiting = Create(approval);
  EXPECT_EQ(router_.GetTask(assigned)->workflow_id, "approvals");
  EXPECT_EQ(StateOf(assigned), TaskState::kReserved);
  ASSERT_OK(router_.AcceptReservation(ReservationOf(assigned), "cm1"));
  EXPECT_EQ(router_.CloseDealTasks("deal-1", "deal approved"), 2);
  EXPECT_EQ(StateOf(assigned), TaskState::kCompleted);
  auto w = router_.GetTask(waiting);
  ASSERT_OK(w);
  EXPECT_EQ(w->state, TaskState::kCanceled);
  EXPECT_EQ(w->cancel_source, CancelSource::kDealClosed);
  EXPECT_EQ(router_.CloseDealTasks("deal-1", "again"), 0);  // idempotent
}

TEST_F(RouterTest, DeletingAWorkerRescindsItsOffersButNotItsAssignedWork) {
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 2)));
  const std::string held = Create(EmailTask());
  const std::string offered = Create(EmailTask());
  ASSERT_OK(router_.AcceptReservation(ReservationOf(held), "w1"));
  EXPECT_THAT(router_.DeleteWorker("w1"), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(router_.CompleteTask(held, "w1", "done"));
  const std::string r = ReservationOf(offered);
  ASSERT_OK(router_.DeleteWorker("w1"));
  EXPECT_EQ(router_.GetReservation(r)->state, ReservationState::kRescinded);
  EXPECT_EQ(StateOf(offered), TaskState::kPending);
  EXPECT_THAT(router_.GetWorker("w1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.DeleteWorker("w1"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(router_.PutWorker(MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"}, {}, 2)));
  EXPECT_EQ(StateOf(offered), TaskState::kReserved);  // a new w1 starts afresh
}

TEST_F(RouterTest, InvalidRequestsNameEveryBadField) {
  NewTask bad;
  bad.priority = 20000;
  bad.ttl = absl::Seconds(1);
  auto r = router_.CreateTask(bad);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(prm::FieldViolationsOf(r.status()).size(), 4u);  // channel, category, priority, ttl
  Workflow wf;
  wf.workflow_id = "broken";
  wf.steps = {Step("a", "nope", "worker.skills.x >>= 1", absl::Minutes(1)),
              Step("a", "default", "")};
  EXPECT_THAT(router_.PutWorkflow(wf), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(prm::FieldViolationsOf(router_.PutWorkflow(wf)).size(), 3u);
  NewTask unknown = EmailTask();
  unknown.workflow_id = "nope";
  EXPECT_THAT(router_.CreateTask(unknown), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.PutQueue(Queue{"q", "worker.skills.x >"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  NewTask dup = EmailTask();
  dup.task_id = "fixed";
  ASSERT_OK(router_.CreateTask(dup));
  EXPECT_THAT(router_.CreateTask(dup), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(RouterTest, DeletingConfigurationInUseFailsNamingWhatUsesIt) {
  ASSERT_OK(router_.PutActivity(Activity{"lunch", false}));
  ASSERT_OK(router_.PutActivity(Activity{"training", false}));
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFive(), {});
  ASSERT_OK(cal);
  ASSERT_OK(router_.PutCalendar("office", *cal));
  ASSERT_OK(router_.PutQueue(Queue{"emea", "worker.regions HAS 'EMEA'"}));
  Worker w1 = MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"});
  w1.activity_id = "lunch";
  w1.business_calendar_id = "office";
  ASSERT_OK(router_.PutWorker(w1));
  Workflow wf;
  wf.workflow_id = "emea";
  wf.steps = {Step("pool", "emea", "")};
  wf.missed_activity_id = "training";
  ASSERT_OK(router_.PutWorkflow(wf));

  // Built-ins and unknown ids.
  EXPECT_THAT(router_.DeleteActivity("available"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(router_.DeleteQueue("default"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(router_.DeleteWorkflow("default"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(router_.DeleteActivity("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.DeleteCalendar("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.DeleteQueue("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(router_.DeleteWorkflow("nope"), StatusIs(absl::StatusCode::kNotFound));

  // In use: the message names the user.
  absl::Status s = router_.DeleteActivity("lunch");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("worker w1"));
  s = router_.DeleteActivity("training");
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("workflow emea"));
  s = router_.DeleteCalendar("office");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("worker w1"));
  s = router_.DeleteQueue("emea");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("workflow emea"));
  NewTask req = EmailTask();
  req.workflow_id = "emea";
  const std::string id = Create(req);
  s = router_.DeleteWorkflow("emea");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("open task " + id));

  // Once nothing uses them they go, in dependency order.
  ASSERT_OK(router_.CancelTask(id, "done"));
  ASSERT_OK(router_.DeleteWorkflow("emea"));
  EXPECT_THAT(router_.CreateTask(req), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(router_.DeleteQueue("emea"));
  EXPECT_THAT(router_.GetQueueStatistics("emea", absl::Hours(1)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(router_.DeleteActivity("training"));
  w1.activity_id = "available";
  w1.business_calendar_id = "";
  ASSERT_OK(router_.PutWorker(w1));
  ASSERT_OK(router_.DeleteActivity("lunch"));
  ASSERT_OK(router_.DeleteCalendar("office"));
  w1.activity_id = "lunch";
  EXPECT_THAT(router_.PutWorker(w1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RouterTest, SlaPolicyCalendarAndOpenTasksOfAnOldWorkflowVersionBlockDeletes) {
  auto cal = BusinessCalendar::Create("Europe/Berlin", NineToFive(), {});
  ASSERT_OK(cal);
  ASSERT_OK(router_.PutCalendar("office", *cal));
  SlaPolicy policy;
  policy.business_calendar_id = "office";
  ASSERT_OK(router_.SetSlaPolicy(policy));
  EXPECT_THAT(std::string(router_.DeleteCalendar("office").message()),
              ::testing::HasSubstr("the SLA policy"));
  ASSERT_OK(router_.PutQueue(Queue{"old", ""}));
  Workflow wf;
  wf.workflow_id = "wf";
  wf.steps = {Step("s", "old", "")};
  ASSERT_OK(router_.PutWorkflow(wf));
  NewTask req = EmailTask();
  req.workflow_id = "wf";
  const std::string id = Create(req);  // nobody to offer it to: waits in queue "old"
  wf.steps = {Step("s", "default", "")};
  ASSERT_OK(router_.PutWorkflow(wf));  // the open task keeps the version it started with
  absl::Status s = router_.DeleteQueue("old");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("open task " + id));
}

TEST_F(RouterTest, UpdateTaskRoutesAWaitingTaskAgainWithItsNewValues) {
  ASSERT_OK(router_.PutWorker(MakeWorker("apac", WorkerRole::kInsideSales, {"APAC"}, {}, 1)));
  Workflow wf;
  wf.workflow_id = "regional";
  wf.steps = {Step("region", "default", "worker.regions HAS task.region")};
  ASSERT_OK(router_.PutWorkflow(wf));
  NewTask req = EmailTask("EMEA", 10);
  req.workflow_id = "regional";
  const std::string low = Create(req);
  const std::string high = Create(req);
  router_.DrainEvents();
  EXPECT_EQ(StateOf(low), TaskState::kPending);
  const int64_t version = router_.GetTask(high)->version;

  // Raising the priority and moving the region: offered at once to the APAC worker.
  TaskUpdate update;
  update.region = "APAC";
  update.priority = 50;
  update.title = "now APAC";
  ASSERT_OK(router_.UpdateTask(high, update));
  EXPECT_THAT(Offers(router_.DrainEvents()), ElementsAre(high + "->apac"));
  auto t = router_.GetTask(high);
  ASSERT_OK(t);
  EXPECT_EQ(t->priority, 50);
  EXPECT_EQ(t->title, "now APAC");
  EXPECT_GT(t->version, version);
  EXPECT_EQ(t->create_time, kStart);  // keeps its age

  // The other one moves too, and waits behind nobody once the worker is free.
  TaskUpdate region;
  region.region = "APAC";
  ASSERT_OK(router_.UpdateTask(low, region));
  EXPECT_EQ(StateOf(low), TaskState::kPending);  // the only APAC worker is busy
  AcceptAndComplete(high);
  EXPECT_EQ(StateOf(low), TaskState::kReserved);

  TaskUpdate bad;
  bad.priority = 10001;
  EXPECT_THAT(router_.UpdateTask(low, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(router_.UpdateTask(high, region), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(router_.UpdateTask("nope", region), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RouterTest, ReplacingACalendarMovesTheWorkingHoursOfItsWorkers) {
  // Monday 10:00 UTC = 11:00 Berlin: open under 9-17, closed under an evening-only calendar.
  auto day = BusinessCalendar::Create("Europe/Berlin", NineToFive(), {});
  ASSERT_OK(day);
  ASSERT_OK(router_.PutCalendar("hours", *day));
  Worker w = MakeWorker("w1", WorkerRole::kInsideSales, {"EMEA"});
  w.business_calendar_id = "hours";
  ASSERT_OK(router_.PutWorker(w));
  EXPECT_TRUE(router_.GetWorker("w1")->available);
  std::vector<WeeklyHours> evenings;
  for (absl::Weekday d : {absl::Weekday::monday, absl::Weekday::tuesday}) {
    evenings.push_back({d, 18 * 60, 22 * 60});
  }
  auto evening = BusinessCalendar::Create("Europe/Berlin", evenings, {});
  ASSERT_OK(evening);
  ASSERT_OK(router_.PutCalendar("hours", *evening));
  EXPECT_FALSE(router_.GetWorker("w1")->available);
  const std::string id = Create(EmailTask());
  EXPECT_EQ(StateOf(id), TaskState::kPending);
  clock_.Set(kStart + absl::Hours(7));  // 18:00 Berlin
  router_.Tick();
  EXPECT_TRUE(router_.GetWorker("w1")->available);
  EXPECT_EQ(StateOf(id), TaskState::kReserved);
}

TEST_F(RouterTest, TheTiersFirstResponseSlaAppliesWhenNoPolicyTargetMatches) {
  PartnerContext gold{"gold", 3, "", "", ""};
  gold.first_response_sla = absl::Hours(2);
  router_.PutPartner("p1", gold);
  NewTask req = EmailTask();
  req.partner_id = "p1";
  auto t = router_.GetTask(Create(req));
  ASSERT_OK(t);
  EXPECT_EQ(t->sla.state, SlaState::kRunning);
  EXPECT_EQ(t->sla.target, absl::Hours(2));
  EXPECT_EQ(t->sla.due_time, kStart + absl::Hours(2));
  // A matching policy target wins over the tier's benefit.
  SlaPolicy policy;
  policy.targets = {{"", TaskCategory::kPricing, absl::Minutes(30)}};
  ASSERT_OK(router_.SetSlaPolicy(policy));
  t = router_.GetTask(Create(req));
  ASSERT_OK(t);
  EXPECT_EQ(t->sla.target, absl::Minutes(30));
  // No policy target and no tier benefit: no SLA.
  router_.PutPartner("p2", PartnerContext{"silver", 2, "", "", ""});
  NewTask other = EmailTask();
  other.partner_id = "p2";
  other.category = TaskCategory::kLicensing;
  t = router_.GetTask(Create(other));
  ASSERT_OK(t);
  EXPECT_EQ(t->sla.state, SlaState::kUnspecified);
}

TEST_F(RouterTest, AParallelOfferThatEndsWhileOthersStayPendingIsReported) {
  Workflow wf;
  wf.workflow_id = "broadcast";
  WorkflowStep step = Step("all", "default", "");
  step.parallel_offers = 3;
  wf.steps = {step};
  ASSERT_OK(router_.PutWorkflow(wf));
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_OK(router_.PutWorker(MakeWorker(id, WorkerRole::kInsideSales, {"EMEA"}, {}, 1)));
  }
  NewTask req = EmailTask();
  req.workflow_id = "broadcast";
  const std::string id = Create(req);
  auto t = router_.GetTask(id);
  ASSERT_OK(t);
  ASSERT_EQ(t->reservation_ids.size(), 3u);
  router_.DrainEvents();
  const std::string first = t->reservation_ids[0];
  ASSERT_OK(router_.RejectReservation(first, "", "busy"));
  auto events = router_.DrainEvents();
  auto ended = OfType(events, RoutingEventType::kOfferEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]->reservation->reservation_id, first);
  EXPECT_EQ(ended[0]->reservation->state, ReservationState::kRejected);
  EXPECT_THAT(OfType(events, RoutingEventType::kTaskRequeued), IsEmpty());
  EXPECT_EQ(StateOf(id), TaskState::kReserved);
  EXPECT_EQ(router_.GetTask(id)->reservation_ids.size(), 2u);
}

}  // namespace
}  // namespace prm::routing
