// Routing decisions per second of the concierge-routing domain engine on one thread.
//
// Setup: 2,000 workers (4 regions, pricing skill 1..10, capacity e-mail 5) and 20,000 e-mail
// tasks with random priorities; the workers fill up with 10,000 offers and 10,000 tasks stay
// PENDING. The target of the pool step is
//   worker.skills.pricing >= 3 AND worker.regions HAS task.region   (longest idle).
//
// Phases (a decision = one offer made, i.e. one task matched to one worker):
//  1. steady state: accept the oldest offer, complete that task, create a new task; the freed
//     worker pulls the best waiting task it is eligible for. Pending stays at ~10,000.
//  2. burst: all workers go offline and come back; each pulls up to its capacity from the
//     10,000+ waiting tasks.
// Prints decisions/s per phase and VmRSS from /proc/self/status.
//
// Scenario "pool" (default) uses that one step. Scenario "default" uses the built-in default
// workflow instead (previous worker → the partner's concierge → region pool → overflow) with
// 10,000 partners, each with one of the 400 concierge workers (the other 1,600 are the pools).
//
// Usage: prm-bench-routing-decisions [steady_iterations=200000] [pool|default]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <ctime>
#include <string>
#include <vector>

#include "common/time/clock.h"
#include "services/concierge-routing/domain/router.h"

namespace {

using prm::routing::Channel;
using prm::routing::NewTask;
using prm::routing::Router;
using prm::routing::RoutingEvent;
using prm::routing::RoutingEventType;

constexpr int kWorkers = 2000;
constexpr int kPendingTarget = 10000;
const char* const kRegions[] = {"EMEA", "AMER", "APAC", "LATAM"};

std::string VmRss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return line.substr(6);
  }
  return "?";
}

// CPU time of this thread: the figure "on one core" even when the machine is shared.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Offer {
  std::string reservation_id;
  std::string task_id;
};

int Collect(Router& router, std::deque<Offer>& offers) {
  int n = 0;
  for (RoutingEvent& e : router.DrainEvents()) {
    if (e.type != RoutingEventType::kTaskReserved) continue;
    offers.push_back({e.reservation->reservation_id, e.task.task_id});
    ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const long steady_iterations = argc > 1 ? std::atol(argv[1]) : 200000;
  const std::string scenario = argc > 2 ? argv[2] : "pool";
  const bool default_workflow = scenario == "default";
  if (!default_workflow && scenario != "pool") {
    std::fprintf(stderr, "scenario must be pool or default\n");
    return 1;
  }
  constexpr int kConcierges = 400;
  constexpr int kPartners = 10000;
  std::mt19937 rng(42);
  prm::FakeClock clock;
  prm::routing::RouterOptions options;
  options.retain_terminal_tasks = false;
  Router router(clock, options);

  prm::routing::Workflow wf;
  wf.workflow_id = "pool";
  prm::routing::WorkflowStep step;
  step.step_id = "pool";
  step.queue_id = "default";
  step.target = "worker.skills.pricing >= 3 AND worker.regions HAS task.region";
  wf.steps = {step};
  wf.reservation_timeout = absl::Hours(1);
  // A workflow with an empty task_filter catches every task, so the default scenario has none.
  if (auto s = default_workflow ? absl::OkStatus() : router.PutWorkflow(wf); !s.ok()) {
    std::fprintf(stderr, "workflow: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  for (int i = 0; i < kWorkers; ++i) {
    prm::routing::Worker w;
    w.worker_id = "w" + std::to_string(i);
    w.role = default_workflow && i < kConcierges ? prm::routing::WorkerRole::kConcierge
                                                 : prm::routing::WorkerRole::kInsideSales;
    w.regions = {kRegions[rng() % 4]};
    w.languages = {"en"};
    w.skills = {{"pricing", 1 + static_cast<int>(rng() % 10)}, {"licensing", 5}};
    w.capacity[static_cast<int>(Channel::kEmail)] = 5;
    if (auto s = router.PutWorker(w); !s.ok()) return 1;
  }
  if (default_workflow) {
    for (int p = 0; p < kPartners; ++p) {
      prm::routing::PartnerContext ctx;
      ctx.tier_id = "gold";
      ctx.concierge_worker_id = "w" + std::to_string(p % kConcierges);
      router.PutPartner("p" + std::to_string(p), ctx);
    }
  }
  auto make_task = [&] {
    NewTask t;
    t.channel = Channel::kEmail;
    t.category = prm::routing::TaskCategory::kPricing;
    t.region = kRegions[rng() % 4];
    t.language = "en";
    t.priority = static_cast<int>(rng() % 100);
    if (default_workflow) {
      t.partner_id = "p" + std::to_string(rng() % kPartners);
    } else {
      t.workflow_id = "pool";
    }
    t.attributes = {{"product", "edge"}};
    return t;
  };
  std::deque<Offer> offers;
  const auto load_start = std::chrono::steady_clock::now();
  while (router.PendingTaskCount() < static_cast<size_t>(kPendingTarget)) {
    if (!router.CreateTask(make_task()).ok()) return 1;
    if (offers.size() % 1000 == 0) Collect(router, offers);
  }
  Collect(router, offers);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  std::printf("scenario %s\n", scenario.c_str());
  std::printf("setup: %d workers, %zu offers outstanding, %zu pending tasks (%.2f s)\n", kWorkers,
              offers.size(), router.PendingTaskCount(), load_s);
  std::printf("RSS after setup: %s\n", VmRss().c_str());

  // Phase 1: steady state.
  long decisions = 0;
  const double steady_cpu_start = ThreadCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < steady_iterations && !offers.empty(); ++i) {
    clock.Advance(absl::Microseconds(10));
    const Offer o = offers.front();
    offers.pop_front();
    if (!router.AcceptReservation(o.reservation_id, "").ok()) return 2;
    if (!router.CompleteTask(o.task_id, "", "done").ok()) return 3;
    if (!router.CreateTask(make_task()).ok()) return 4;
    decisions += Collect(router, offers);
  }
  const double steady_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double steady_cpu = ThreadCpuSeconds() - steady_cpu_start;
  std::printf("steady: %ld decisions, wall %.3f s = %.0f decisions/s, cpu %.3f s = %.0f "
              "decisions/s (each with accept + complete + create), pending %zu\n",
              decisions, steady_s, decisions / steady_s, steady_cpu, decisions / steady_cpu,
              router.PendingTaskCount());
  std::printf("RSS after steady phase: %s\n", VmRss().c_str());

  // Phase 2: burst. Offline rescinds every offer (requeued, not declined); back online, every
  // worker pulls up to capacity from the waiting tasks.
  for (int i = 0; i < kWorkers; ++i) {
    if (!router.SetWorkerActivity("w" + std::to_string(i), "offline").ok()) return 5;
  }
  router.DrainEvents();
  offers.clear();
  const size_t pending_before = router.PendingTaskCount();
  const double burst_cpu_start = ThreadCpuSeconds();
  const auto burst_start = std::chrono::steady_clock::now();
  long burst = 0;
  for (int i = 0; i < kWorkers; ++i) {
    if (!router.SetWorkerActivity("w" + std::to_string(i), "available").ok()) return 6;
    if (i % 100 == 99) burst += Collect(router, offers);
  }
  burst += Collect(router, offers);
  const double burst_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - burst_start).count();
  const double burst_cpu = ThreadCpuSeconds() - burst_cpu_start;
  std::printf("burst: %ld decisions from %zu pending, wall %.3f s = %.0f decisions/s, cpu %.3f s "
              "= %.0f decisions/s\n",
              burst, pending_before, burst_s, burst / burst_s, burst_cpu, burst / burst_cpu);
  std::printf("RSS at end: %s\n", VmRss().c_str());
  return 0;
}
