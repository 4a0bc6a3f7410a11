// concierge-routing end to end: the real binary over gRPC with the real broker. Configuration,
// task routing through offers to accept/reject/complete, validation and access, request_id
// retries, events on prm.routing.v1, replay after SIGKILL, timer effects (offer timeout) made
// durable by the Tick command, and deal events consumed from prm.deal.v1.

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_events.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

namespace v1 = ::prm::routing::v1;
using ::testing::ElementsAre;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAre;

constexpr char kRoutingTopic[] = "prm.routing.v1";
constexpr char kDealTopic[] = "prm.deal.v1";

// The fields named by the google.rpc.BadRequest detail of a failed call.
std::vector<std::string> BadFields(const grpc::Status& status) {
  std::vector<std::string> out;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return out;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (!any.UnpackTo(&bad)) continue;
    for (const auto& v : bad.field_violations()) out.push_back(v.field());
  }
  return out;
}

// Event types (ce_type) on the routing topic for `task_id`, in topic order.
std::vector<std::string> EventTypes(const std::string& task_id) {
  std::vector<std::string> types;
  for (const kafka::Record& r :
       testing::ReadTopicWhere(kRoutingTopic, "ce_subject", task_id, absl::Seconds(10))) {
    EXPECT_EQ(r.key, task_id);
    types.emplace_back(r.FindHeader("ce_type").value_or(""));
  }
  return types;
}

// Polls until `done` holds for the event types of `task_id`.
std::vector<std::string> WaitForEvents(const std::string& task_id,
                                       const std::function<bool(const std::vector<std::string>&)>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<std::string> types;
  while (absl::Now() < deadline) {
    types = EventTypes(task_id);
    if (done(types)) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return types;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

class ConciergeRoutingIT : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = testing::UniqueName("routing-it");
    vendor_ = run_ + "-vendor";
    data_dir_ = (std::filesystem::temp_directory_path() / run_).string();
    std::filesystem::remove_all(data_dir_);
    Start();
  }
  void TearDown() override {
    process_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  void Start(std::vector<std::string> args = {}) {
    args_ = args;
    process_ = std::make_unique<testing::ServiceProcess>("concierge-routing", data_dir_,
                                                         run_ + "-group", std::move(args));
    ASSERT_TRUE(process_->StartAndWaitServing());
    stub_ = v1::ConciergeRouting::NewStub(process_->channel());
  }

  // SIGKILL (a crash) and start again on the same data directory.
  void CrashAndRestart() {
    process_->Kill();
    process_.reset();
    Start(args_);
  }

  std::string Admin() const {
    return testing::Token(
        {.subject = "admin", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor_}});
  }
  std::string ConciergeOf(const std::string& worker_id) const {
    return testing::Token({.subject = worker_id,
                           .role = auth::Role::kConcierge,
                           .vendor_ids = {vendor_},
                           .worker_id = worker_id});
  }
  std::string PartnerUser(const std::string& partner_id) const {
    return testing::Token({.subject = partner_id + "-user",
                           .role = auth::Role::kPartnerUser,
                           .vendor_ids = {vendor_},
                           .partner_id = partner_id});
  }

  // Calls `method` with `token`.
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::ConciergeRouting::Stub::*method)(grpc::ClientContext*,
                                                                        const Req&, Resp*),
                    const std::string& token, const Req& request, Resp* response) {
    auto ctx = testing::Context(token);
    return (stub_.get()->*method)(ctx.get(), request, response);
  }

  v1::Worker NewWorker(const std::string& name, const std::vector<std::string>& regions = {"EMEA"}) {
    v1::CreateWorkerRequest r;
    v1::Worker* w = r.mutable_worker();
    w->set_vendor_id(vendor_);
    w->set_display_name(name);
    w->set_role(v1::WORKER_ROLE_CONCIERGE);
    w->set_activity_id("available");
    w->set_email(name + "@vendor.example");
    for (const std::string& region : regions) w->add_regions(region);
    v1::Skill* s = w->add_skills();
    s->set_skill("pricing");
    s->set_level(5);
    v1::ChannelCapacity* c = w->add_capacities();
    c->set_channel(v1::CHANNEL_EMAIL);
    c->set_capacity(1);
    v1::CreateWorkerResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::CreateWorker, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker();
  }

  v1::Queue NewQueue() {
    v1::CreateQueueRequest r;
    r.mutable_queue()->set_vendor_id(vendor_);
    r.mutable_queue()->set_display_name("EMEA pricing");
    r.mutable_queue()->set_target_workers("worker.regions HAS 'EMEA'");
    v1::CreateQueueResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::CreateQueue, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.queue();
  }

  v1::Workflow NewWorkflow(const std::string& queue_id, absl::Duration reservation_timeout) {
    v1::CreateWorkflowRequest r;
    v1::Workflow* wf = r.mutable_workflow();
    wf->set_vendor_id(vendor_);
    wf->set_display_name("pricing");
    wf->set_task_filter("task.category == 'pricing'");
    v1::WorkflowStep* step = wf->add_steps();
    step->set_step_id("pricing-pool");
    step->set_queue_id(queue_id);
    step->set_target("worker.skills.pricing >= 3");
    wf->mutable_reservation_timeout()->set_seconds(
        absl::ToInt64Seconds(reservation_timeout));
    v1::CreateWorkflowResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::CreateWorkflow, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.workflow();
  }

  v1::CreateTaskRequest TaskRequest(const std::string& workflow_id,
                                    const std::string& partner_id = "partner-1") {
    v1::CreateTaskRequest r;
    v1::Task* t = r.mutable_task();
    t->set_vendor_id(vendor_);
    t->set_partner_id(partner_id);
    t->set_channel(v1::CHANNEL_EMAIL);
    t->set_category(v1::TASK_CATEGORY_PRICING);
    t->set_region("EMEA");
    t->set_title("Quote for 200 seats");
    t->set_workflow_id(workflow_id);
    return r;
  }

  v1::Task CreateTask(const v1::CreateTaskRequest& r) {
    v1::CreateTaskResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::CreateTask, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.task();
  }

  v1::Task GetTask(const std::string& task_id) {
    v1::GetTaskRequest r;
    r.set_vendor_id(vendor_);
    r.set_task_id(task_id);
    v1::GetTaskResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::GetTask, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.task();
  }

  v1::Worker GetWorker(const std::string& worker_id) {
    v1::GetWorkerRequest r;
    r.set_vendor_id(vendor_);
    r.set_worker_id(worker_id);
    v1::GetWorkerResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::GetWorker, Admin(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker();
  }

  grpc::Status Accept(const std::string& token, const std::string& reservation_id,
                      v1::AcceptReservationResponse* response, const std::string& request_id = "") {
    v1::AcceptReservationRequest r;
    r.set_vendor_id(vendor_);
    r.set_reservation_id(reservation_id);
    r.set_request_id(request_id);
    return Call(&v1::ConciergeRouting::Stub::AcceptReservation, token, r, response);
  }

  std::vector<v1::Task> ListTasks(const std::string& token, const std::string& filter = "") {
    v1::ListTasksRequest r;
    r.set_vendor_id(vendor_);
    r.set_filter(filter);
    r.set_page_size(500);
    v1::ListTasksResponse response;
    grpc::Status status = Call(&v1::ConciergeRouting::Stub::ListTasks, token, r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.tasks().begin(), response.tasks().end()};
  }

  std::string run_;
  std::string vendor_;
  std::string data_dir_;
  std::vector<std::string> args_;  // of the last Start, used again by CrashAndRestart
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<v1::ConciergeRouting::Stub> stub_;
};

TEST_F(ConciergeRoutingIT, ConfigurationIsCreatedReadAndListed) {
  const v1::Worker ana = NewWorker("ana");
  EXPECT_FALSE(ana.worker_id().empty());
  EXPECT_EQ(ana.vendor_id(), vendor_);
  EXPECT_TRUE(ana.available());
  EXPECT_EQ(ana.email(), "ana@vendor.example");
  const v1::Worker got = GetWorker(ana.worker_id());
  EXPECT_EQ(got.display_name(), "ana");
  EXPECT_EQ(got.regions(0), "EMEA");

  const v1::Queue queue = NewQueue();
  const v1::Workflow workflow = NewWorkflow(queue.queue_id(), absl::Seconds(30));
  EXPECT_EQ(workflow.steps(0).queue_id(), queue.queue_id());

  v1::ListWorkersRequest lw;
  lw.set_vendor_id(vendor_);
  v1::ListWorkersResponse workers;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListWorkers, Admin(), lw, &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);
  EXPECT_EQ(workers.workers(0).worker_id(), ana.worker_id());

  v1::ListQueuesRequest lq;
  lq.set_vendor_id(vendor_);
  v1::ListQueuesResponse queues;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListQueues, Admin(), lq, &queues).ok());
  std::vector<std::string> queue_ids;
  for (const auto& q : queues.queues()) queue_ids.push_back(q.queue_id());
  EXPECT_THAT(queue_ids, ElementsAre("default", queue.queue_id()));

  v1::GetWorkflowRequest gw;
  gw.set_vendor_id(vendor_);
  gw.set_workflow_id(workflow.workflow_id());
  v1::GetWorkflowResponse got_workflow;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetWorkflow, Admin(), gw, &got_workflow).ok());
  EXPECT_EQ(got_workflow.workflow().task_filter(), "task.category == 'pricing'");

  v1::ListWorkflowsRequest lwf;
  lwf.set_vendor_id(vendor_);
  v1::ListWorkflowsResponse workflows;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListWorkflows, Admin(), lwf, &workflows).ok());
  EXPECT_EQ(workflows.workflows_size(), 2);  // the built-in default and ours

  // Updates replace the fields in the mask; the etag guards against lost updates.
  v1::UpdateQueueRequest uq;
  *uq.mutable_queue() = queue;
  uq.mutable_queue()->set_display_name("EMEA pricing (renamed)");
  uq.mutable_queue()->set_target_workers("this is not ignored");
  uq.mutable_update_mask()->add_paths("display_name");
  v1::UpdateQueueResponse uq_response;
  grpc::Status status = Call(&v1::ConciergeRouting::Stub::UpdateQueue, Admin(), uq, &uq_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(uq_response.queue().display_name(), "EMEA pricing (renamed)");
  EXPECT_EQ(uq_response.queue().target_workers(), queue.target_workers());
  EXPECT_EQ(uq_response.queue().version(), 2);
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::UpdateQueue, Admin(), uq, &uq_response).error_code(),
            grpc::StatusCode::ABORTED);  // the etag of version 1 is stale now

  v1::UpdateWorkflowRequest uw;
  *uw.mutable_workflow() = workflow;
  uw.mutable_workflow()->set_rank(5);
  uw.mutable_update_mask()->add_paths("rank");
  uw.mutable_update_mask()->add_paths("workflow_id");
  v1::UpdateWorkflowResponse uw_response;
  status = Call(&v1::ConciergeRouting::Stub::UpdateWorkflow, Admin(), uw, &uw_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ElementsAre("update_mask.paths[1]"));
  uw.mutable_update_mask()->mutable_paths()->RemoveLast();
  status = Call(&v1::ConciergeRouting::Stub::UpdateWorkflow, Admin(), uw, &uw_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(uw_response.workflow().rank(), 5);
  EXPECT_EQ(uw_response.workflow().steps_size(), 1);

  // The concierge changes its own activity.
  v1::SetWorkerActivityRequest sa;
  sa.set_vendor_id(vendor_);
  sa.set_worker_id(ana.worker_id());
  sa.set_activity_id("break");
  v1::SetWorkerActivityResponse set;
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::SetWorkerActivity, ConciergeOf(ana.worker_id()), sa, &set)
          .ok());
  EXPECT_EQ(set.worker().activity_id(), "break");
  EXPECT_FALSE(set.worker().available());
  EXPECT_EQ(GetWorker(ana.worker_id()).activity_id(), "break");
}

TEST_F(ConciergeRoutingIT, TaskIsOfferedAcceptedAndCompletedWithEventsOnKafka) {
  const v1::Worker ana = NewWorker("ana");
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  const v1::Task created = CreateTask(TaskRequest(workflow.workflow_id()));
  // Routing is synchronous: the only eligible worker already holds the offer.
  EXPECT_EQ(created.state(), v1::TASK_STATE_RESERVED);
  EXPECT_EQ(created.workflow_id(), workflow.workflow_id());
  ASSERT_FALSE(created.reservation_id().empty());

  v1::GetReservationRequest gr;
  gr.set_vendor_id(vendor_);
  gr.set_reservation_id(created.reservation_id());
  v1::GetReservationResponse reservation;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, ConciergeOf(ana.worker_id()), gr,
                   &reservation)
                  .ok());
  EXPECT_EQ(reservation.reservation().worker_id(), ana.worker_id());
  EXPECT_EQ(reservation.reservation().state(), v1::RESERVATION_STATE_PENDING);

  v1::AcceptReservationResponse accepted;
  grpc::Status status = Accept(ConciergeOf(ana.worker_id()), created.reservation_id(), &accepted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(accepted.reservation().state(), v1::RESERVATION_STATE_ACCEPTED);
  EXPECT_EQ(accepted.task().state(), v1::TASK_STATE_ASSIGNED);
  EXPECT_EQ(accepted.task().worker_id(), ana.worker_id());

  // The concierge sees its task; a partner user of another partner does not.
  EXPECT_EQ(ListTasks(ConciergeOf(ana.worker_id())).size(), 1u);
  EXPECT_EQ(ListTasks(PartnerUser("partner-1")).size(), 1u);
  EXPECT_TRUE(ListTasks(PartnerUser("partner-2")).empty());

  v1::CompleteTaskRequest cr;
  cr.set_vendor_id(vendor_);
  cr.set_task_id(created.task_id());
  cr.set_resolution("quote sent");
  v1::CompleteTaskResponse completed;
  status = Call(&v1::ConciergeRouting::Stub::CompleteTask, ConciergeOf(ana.worker_id()), cr,
                &completed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(completed.task().state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(completed.task().end_reason(), "quote sent");
  EXPECT_EQ(GetTask(created.task_id()).state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(ListTasks(Admin(), "state = COMPLETED").size(), 1u);
  EXPECT_TRUE(ListTasks(Admin(), "state = PENDING").empty());

  const std::vector<std::string> types = WaitForEvents(
      created.task_id(), [](const auto& t) { return Contains(t, "prm.routing.TaskCompleted.v1"); });
  EXPECT_THAT(types, ElementsAre("prm.routing.TaskCreated.v1", "prm.routing.TaskReserved.v1",
                                 "prm.routing.TaskAssigned.v1", "prm.routing.TaskCompleted.v1"));
  // The payload carries the full task with its aggregate version.
  for (const kafka::Record& r :
       testing::ReadTopicWhere(kRoutingTopic, "ce_subject", created.task_id(), absl::Seconds(10))) {
    if (r.FindHeader("ce_type") != "prm.routing.TaskCompleted.v1") continue;
    auto event = events::Decode(r);
    ASSERT_TRUE(event.ok());
    v1::TaskCompleted payload;
    ASSERT_TRUE(events::UnpackPayload(*event, &payload).ok());
    EXPECT_EQ(payload.task().state(), v1::TASK_STATE_COMPLETED);
    EXPECT_EQ(payload.metadata().vendor_id(), vendor_);
    EXPECT_EQ(payload.metadata().aggregate_version(), payload.task().version());
    EXPECT_EQ(payload.metadata().actor().worker_id(), ana.worker_id());
  }
}

TEST_F(ConciergeRoutingIT, RejectedTaskGoesToTheNextWorkerAndNeverBack) {
  const v1::Worker ana = NewWorker("ana");
  const v1::Worker ben = NewWorker("ben");
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  const v1::Task created = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(created.state(), v1::TASK_STATE_RESERVED);

  v1::GetReservationRequest gr;
  gr.set_vendor_id(vendor_);
  gr.set_reservation_id(created.reservation_id());
  v1::GetReservationResponse first;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, Admin(), gr, &first).ok());
  const std::string first_worker = first.reservation().worker_id();
  const std::string second_worker =
      first_worker == ana.worker_id() ? ben.worker_id() : ana.worker_id();

  v1::RejectReservationRequest rr;
  rr.set_vendor_id(vendor_);
  rr.set_reservation_id(created.reservation_id());
  rr.set_reason("on another call");
  v1::RejectReservationResponse rejected;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::RejectReservation, ConciergeOf(first_worker), rr,
                   &rejected)
                  .ok());
  EXPECT_EQ(rejected.reservation().state(), v1::RESERVATION_STATE_REJECTED);

  const v1::Task after = GetTask(created.task_id());
  EXPECT_EQ(after.state(), v1::TASK_STATE_RESERVED);
  EXPECT_THAT(after.declined_worker_ids(), ElementsAre(first_worker));
  gr.set_reservation_id(after.reservation_id());
  v1::GetReservationResponse second;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, Admin(), gr, &second).ok());
  EXPECT_EQ(second.reservation().worker_id(), second_worker);

  // The second worker rejects too: nobody is left, the task waits.
  rr.set_reservation_id(after.reservation_id());
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::RejectReservation, ConciergeOf(second_worker), rr,
                   &rejected)
                  .ok());
  EXPECT_EQ(GetTask(created.task_id()).state(), v1::TASK_STATE_PENDING);

  // Both offers are listed, newest first; a concierge sees only its own.
  v1::ListReservationsRequest lr;
  lr.set_vendor_id(vendor_);
  lr.set_filter("task_id = \"" + created.task_id() + "\"");
  v1::ListReservationsResponse listed;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListReservations, Admin(), lr, &listed).ok());
  ASSERT_EQ(listed.reservations_size(), 2);
  EXPECT_EQ(listed.reservations(0).worker_id(), second_worker);
  EXPECT_EQ(listed.reservations(1).worker_id(), first_worker);
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListReservations, ConciergeOf(first_worker), lr,
                   &listed)
                  .ok());
  ASSERT_EQ(listed.reservations_size(), 1);
  EXPECT_EQ(listed.reservations(0).state(), v1::RESERVATION_STATE_REJECTED);

  // Stale answers are refused.
  v1::AcceptReservationResponse accepted;
  EXPECT_EQ(Accept(ConciergeOf(first_worker), created.reservation_id(), &accepted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ConciergeRoutingIT, WatchOffersStreamsOffersAndWithdrawals) {
  const v1::Worker ana = NewWorker("ana");
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));

  v1::WatchOffersRequest watch;
  watch.set_vendor_id(vendor_);
  watch.set_worker_id(ana.worker_id());
  auto ctx = testing::Context(ConciergeOf(ana.worker_id()), absl::Seconds(30));
  std::unique_ptr<grpc::ClientReader<v1::WatchOffersResponse>> stream =
      stub_->WatchOffers(ctx.get(), watch);
  // Reads the next message that is not a heartbeat.
  auto next = [](grpc::ClientReader<v1::WatchOffersResponse>& s, v1::WatchOffersResponse* m) {
    while (s.Read(m)) {
      if (!m->has_heartbeat_time()) return true;
    }
    return false;
  };

  // Created after the stream opened: the offer is pushed.
  const v1::Task task = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(task.state(), v1::TASK_STATE_RESERVED);
  v1::WatchOffersResponse message;
  ASSERT_TRUE(next(*stream, &message));
  ASSERT_TRUE(message.has_offer());
  EXPECT_EQ(message.offer().task().task_id(), task.task_id());
  EXPECT_EQ(message.offer().reservation().reservation_id(), task.reservation_id());
  EXPECT_EQ(message.offer().reservation().state(), v1::RESERVATION_STATE_PENDING);

  // A second stream (a reconnect) starts with the pending offer.
  auto ctx2 = testing::Context(ConciergeOf(ana.worker_id()), absl::Seconds(30));
  std::unique_ptr<grpc::ClientReader<v1::WatchOffersResponse>> again =
      stub_->WatchOffers(ctx2.get(), watch);
  v1::WatchOffersResponse replayed;
  ASSERT_TRUE(next(*again, &replayed));
  EXPECT_EQ(replayed.offer().reservation().reservation_id(), task.reservation_id());

  // Canceling the task withdraws the offer on both streams.
  v1::CancelTaskRequest cancel;
  cancel.set_vendor_id(vendor_);
  cancel.set_task_id(task.task_id());
  cancel.set_reason("partner solved it");
  v1::CancelTaskResponse canceled;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CancelTask, Admin(), cancel, &canceled).ok());
  for (auto* s : {stream.get(), again.get()}) {
    ASSERT_TRUE(next(*s, &message));
    ASSERT_TRUE(message.has_withdrawn());
    EXPECT_EQ(message.withdrawn().reservation().reservation_id(), task.reservation_id());
    EXPECT_EQ(message.withdrawn().reservation().state(), v1::RESERVATION_STATE_RESCINDED);
  }
  ctx->TryCancel();
  ctx2->TryCancel();
  stream->Finish();
  again->Finish();

  // Another worker's offers are not for this concierge.
  const v1::Worker ben = NewWorker("ben");
  watch.set_worker_id(ben.worker_id());
  auto denied_ctx = testing::Context(ConciergeOf(ana.worker_id()));
  auto denied = stub_->WatchOffers(denied_ctx.get(), watch);
  EXPECT_FALSE(denied->Read(&message));
  EXPECT_EQ(denied->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// An open WatchOffers stream ends UNAVAILABLE as soon as the drain starts, instead of holding it
// until --drain-timeout (the service registers a stream closer with the runtime).
TEST_F(ConciergeRoutingIT, SigtermWithAnOpenOfferStreamDrainsInTime) {
  process_->Kill();
  Start({"--drain-timeout=20s"});
  const v1::Worker ana = NewWorker("ana");
  v1::WatchOffersRequest watch;
  watch.set_vendor_id(vendor_);
  watch.set_worker_id(ana.worker_id());
  auto ctx = testing::Context(ConciergeOf(ana.worker_id()), absl::Seconds(60));
  auto stream = stub_->WatchOffers(ctx.get(), watch);
  // The stream is open once a task created now is offered on it.
  CreateTask(TaskRequest(""));
  v1::WatchOffersResponse message;
  ASSERT_TRUE(stream->Read(&message));
  const auto [wait_status, took] = process_->Terminate();
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << wait_status;
  EXPECT_LT(took, absl::Seconds(10)) << "the open stream held the drain";
  while (stream->Read(&message)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ConciergeRoutingIT, InvalidArgumentNamesEveryBadField) {
  v1::CreateWorkerRequest bad_worker;
  bad_worker.mutable_worker()->set_vendor_id(vendor_);
  v1::Skill* s = bad_worker.mutable_worker()->add_skills();
  s->set_skill("Pricing!");
  s->set_level(11);
  bad_worker.mutable_worker()->add_capacities()->set_capacity(-1);
  v1::CreateWorkerResponse worker;
  grpc::Status status =
      Call(&v1::ConciergeRouting::Stub::CreateWorker, Admin(), bad_worker, &worker);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status),
              UnorderedElementsAre("worker.display_name", "worker.role", "worker.skills[0].skill",
                                   "worker.skills[0].level", "worker.capacities[0].channel",
                                   "worker.capacities[0].capacity", "worker.activity_id"));

  v1::CreateTaskRequest bad_task;
  bad_task.mutable_task()->set_vendor_id(vendor_);
  bad_task.mutable_task()->set_priority(20000);
  bad_task.mutable_task()->mutable_ttl()->set_seconds(1);
  v1::CreateTaskResponse task;
  status = Call(&v1::ConciergeRouting::Stub::CreateTask, Admin(), bad_task, &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("task.channel", "task.category",
                                                      "task.priority", "task.ttl"));

  v1::CreateWorkflowRequest bad_workflow;
  bad_workflow.mutable_workflow()->set_vendor_id(vendor_);
  v1::WorkflowStep* step = bad_workflow.mutable_workflow()->add_steps();
  step->set_step_id("one");
  step->set_queue_id("no-such-queue");
  step->set_target("worker.skills.pricing >=");
  v1::CreateWorkflowResponse workflow;
  status = Call(&v1::ConciergeRouting::Stub::CreateWorkflow, Admin(), bad_workflow, &workflow);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status),
              UnorderedElementsAre("workflow.display_name", "workflow.steps[0].queue_id",
                                   "workflow.steps[0].target"));

  v1::GetTaskRequest no_ids;
  v1::GetTaskResponse got;
  status = Call(&v1::ConciergeRouting::Stub::GetTask, Admin(), no_ids, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("vendor_id", "task_id"));
}

TEST_F(ConciergeRoutingIT, CallersActOnlyWithinTheirScope) {
  const v1::Worker ana = NewWorker("ana");
  const v1::Worker ben = NewWorker("ben", {"APAC"});
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  const v1::Task task = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(task.state(), v1::TASK_STATE_RESERVED);  // offered to ana, the only EMEA worker

  // No token.
  {
    grpc::ClientContext ctx;
    v1::GetTaskRequest r;
    r.set_vendor_id(vendor_);
    r.set_task_id(task.task_id());
    v1::GetTaskResponse response;
    EXPECT_EQ(stub_->GetTask(&ctx, r, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Another vendor's admin.
  const std::string other_admin = testing::Token(
      {.subject = "other", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor_ + "-other"}});
  v1::GetTaskRequest get;
  get.set_vendor_id(vendor_);
  get.set_task_id(task.task_id());
  v1::GetTaskResponse got;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetTask, other_admin, get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Another concierge may neither read nor answer ana's offer.
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetTask, ConciergeOf(ben.worker_id()), get, &got)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::AcceptReservationResponse accepted;
  EXPECT_EQ(Accept(ConciergeOf(ben.worker_id()), task.reservation_id(), &accepted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetTask, ConciergeOf(ana.worker_id()), get, &got)
                .error_code(),
            grpc::StatusCode::OK);
  // A concierge changes only its own activity; configuration is for admins.
  v1::SetWorkerActivityRequest sa;
  sa.set_vendor_id(vendor_);
  sa.set_worker_id(ana.worker_id());
  sa.set_activity_id("offline");
  v1::SetWorkerActivityResponse set;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::SetWorkerActivity, ConciergeOf(ben.worker_id()), sa,
                 &set)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateQueueRequest cq;
  cq.mutable_queue()->set_vendor_id(vendor_);
  cq.mutable_queue()->set_display_name("mine");
  v1::CreateQueueResponse queue;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::CreateQueue, ConciergeOf(ana.worker_id()), cq, &queue)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Partner users create tasks for their own partner only and see only those.
  v1::CreateTaskResponse created;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::CreateTask, PartnerUser("partner-2"),
                 TaskRequest(workflow.workflow_id(), "partner-1"), &created)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CreateTask, PartnerUser("partner-2"),
                   TaskRequest(workflow.workflow_id(), ""), &created)
                  .ok());
  EXPECT_EQ(created.task().partner_id(), "partner-2");
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetTask, PartnerUser("partner-2"), get, &got)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::vector<v1::Task> own = ListTasks(PartnerUser("partner-2"));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].task_id(), created.task().task_id());
}

TEST_F(ConciergeRoutingIT, RetriedRequestIdHasNoSecondEffect) {
  NewWorker("ana");
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  v1::CreateTaskRequest r = TaskRequest(workflow.workflow_id());
  r.set_request_id(run_ + "-create-1");
  const v1::Task first = CreateTask(r);
  const v1::Task retry = CreateTask(r);
  EXPECT_EQ(retry.task_id(), first.task_id());
  EXPECT_EQ(ListTasks(Admin()).size(), 1u);

  // The same request_id for another request is refused.
  r.mutable_task()->set_title("something else");
  v1::CreateTaskResponse response;
  grpc::Status status = Call(&v1::ConciergeRouting::Stub::CreateTask, Admin(), r, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status).empty() ? std::vector<std::string>{status.error_message()}
                                        : BadFields(status),
              ::testing::Contains(::testing::HasSubstr("request_id")));

  // A retried accept answers the same without a second effect.
  v1::AcceptReservationResponse accepted, again;
  ASSERT_TRUE(Accept(Admin(), first.reservation_id(), &accepted, run_ + "-accept").ok());
  ASSERT_TRUE(Accept(Admin(), first.reservation_id(), &again, run_ + "-accept").ok());
  EXPECT_EQ(again.task().version(), accepted.task().version());

  const std::vector<std::string> types = WaitForEvents(
      first.task_id(), [](const auto& t) { return Contains(t, "prm.routing.TaskAssigned.v1"); });
  EXPECT_EQ(std::count(types.begin(), types.end(), "prm.routing.TaskCreated.v1"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "prm.routing.TaskAssigned.v1"), 1);
}

TEST_F(ConciergeRoutingIT, StateSurvivesSigkillAndRestart) {
  const v1::Worker ana = NewWorker("ana");
  NewWorker("ben");
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  const v1::Task assigned = CreateTask(TaskRequest(workflow.workflow_id()));
  v1::AcceptReservationResponse accepted;
  ASSERT_TRUE(Accept(Admin(), assigned.reservation_id(), &accepted).ok());
  const v1::Task reserved = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(reserved.state(), v1::TASK_STATE_RESERVED);
  const v1::Task waiting = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(waiting.state(), v1::TASK_STATE_PENDING);  // both workers' email capacity is used
  const v1::Task before_assigned = GetTask(assigned.task_id());
  const v1::Task before_reserved = GetTask(reserved.task_id());

  CrashAndRestart();

  EXPECT_EQ(GetTask(assigned.task_id()).SerializeAsString(), before_assigned.SerializeAsString());
  EXPECT_EQ(GetTask(reserved.task_id()).SerializeAsString(), before_reserved.SerializeAsString());
  EXPECT_EQ(GetTask(waiting.task_id()).state(), v1::TASK_STATE_PENDING);
  EXPECT_EQ(GetWorker(ana.worker_id()).email(), "ana@vendor.example");
  EXPECT_EQ(ListTasks(Admin()).size(), 3u);

  // The restored state keeps working: completing the assigned task frees its worker, who pulls
  // the waiting one; new ids do not collide with old ones.
  v1::CompleteTaskRequest cr;
  cr.set_vendor_id(vendor_);
  cr.set_task_id(assigned.task_id());
  v1::CompleteTaskResponse completed;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CompleteTask, Admin(), cr, &completed).ok());
  EXPECT_EQ(GetTask(waiting.task_id()).state(), v1::TASK_STATE_RESERVED);
  const v1::Task fresh = CreateTask(TaskRequest(workflow.workflow_id()));
  EXPECT_NE(fresh.task_id(), assigned.task_id());
  EXPECT_NE(fresh.task_id(), reserved.task_id());
  EXPECT_NE(fresh.task_id(), waiting.task_id());
  EXPECT_EQ(ListTasks(Admin()).size(), 4u);
}

// Replay cost, printed for bench figures: many commands, then a crash and a timed restart.
TEST_F(ConciergeRoutingIT, ReplayRestoresThousandsOfCommands) {
  for (int i = 0; i < 20; ++i) NewWorker(absl::StrCat("w", i));
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Minutes(10));
  constexpr int kTasks = 2000;
  const absl::Time start = absl::Now();
  std::string last_task;
  for (int i = 0; i < kTasks; ++i) last_task = CreateTask(TaskRequest(workflow.workflow_id())).task_id();
  const absl::Duration writes = absl::Now() - start;
  const v1::Task before = GetTask(last_task);

  process_->Kill();
  process_.reset();
  const absl::Time restart = absl::Now();
  Start();
  const absl::Duration replay = absl::Now() - restart;
  std::cout << "[ figures  ] " << kTasks + 22 << " commands: written in "
            << absl::FormatDuration(writes) << " ("
            << static_cast<int>(kTasks / absl::ToDoubleSeconds(writes))
            << " CreateTask/s over gRPC), restart with replay to SERVING in "
            << absl::FormatDuration(replay) << "\n";
  EXPECT_EQ(GetTask(last_task).SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(ListTasks(Admin(), "state = RESERVED").size(), 20u);  // one per worker
}

TEST_F(ConciergeRoutingIT, OfferTimeoutMovesTheWorkerToMissedDurably) {
  const v1::Worker ana = NewWorker("ana");
  // The shortest reservation timeout the API allows.
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(5));
  const v1::Task task = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(task.state(), v1::TASK_STATE_RESERVED);

  // Nobody answers: the background Tick fires the timeout without any request arriving.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  v1::Worker worker = GetWorker(ana.worker_id());
  while (worker.activity_id() != "missed" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    worker = GetWorker(ana.worker_id());
  }
  ASSERT_EQ(worker.activity_id(), "missed");
  EXPECT_FALSE(worker.available());
  v1::Task after = GetTask(task.task_id());
  EXPECT_EQ(after.state(), v1::TASK_STATE_PENDING);
  EXPECT_THAT(after.declined_worker_ids(), ElementsAre(ana.worker_id()));

  const std::vector<std::string> types = WaitForEvents(
      task.task_id(), [](const auto& t) { return Contains(t, "prm.routing.TaskRequeued.v1"); });
  EXPECT_THAT(types, IsSupersetOf({"prm.routing.TaskRequeued.v1"}));

  // The timer's effect was logged: it survives a crash.
  CrashAndRestart();
  EXPECT_EQ(GetWorker(ana.worker_id()).activity_id(), "missed");
  after = GetTask(task.task_id());
  EXPECT_EQ(after.state(), v1::TASK_STATE_PENDING);
  EXPECT_THAT(after.declined_worker_ids(), ElementsAre(ana.worker_id()));
}

TEST_F(ConciergeRoutingIT, ThePartnersOwnConciergeIsOfferedFirstThenWrapsUpWithStatistics) {
  // Two workers in the same region; the partner's concierge is the one that joined last, so
  // longest-idle alone would pick the other.
  const v1::Worker other = NewWorker("other");
  v1::Worker own = NewWorker("own");
  // The concierge comes from prm.partner.v1.
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
  ASSERT_TRUE(producer.ok());
  const std::string partner = run_ + "-partner";
  prm::partner::v1::ConciergeAssigned assigned;
  assigned.mutable_metadata()->set_vendor_id(vendor_);
  assigned.set_partner_id(partner);
  assigned.set_worker_id(own.worker_id());
  const events::CloudEvent event =
      events::MakeEvent(assigned, "prm.partner.ConciergeAssigned.v1", "prm/partner-registry-it",
                        run_ + "-assigned", absl::Now(), partner);
  ASSERT_TRUE(
      (*producer)->Produce(events::EncodeBinary(event, "prm.partner.v1"), absl::Seconds(10)).ok());

  // Wrap-up takes a minute for the concierge.
  v1::UpdateWorkerRequest uw;
  uw.mutable_worker()->set_vendor_id(vendor_);
  uw.mutable_worker()->set_worker_id(own.worker_id());
  uw.mutable_worker()->mutable_wrap_up_duration()->set_seconds(60);
  uw.mutable_worker()->add_languages("de");
  uw.mutable_update_mask()->add_paths("wrap_up_duration");
  uw.mutable_update_mask()->add_paths("languages");
  v1::UpdateWorkerResponse updated;
  grpc::Status status = Call(&v1::ConciergeRouting::Stub::UpdateWorker, Admin(), uw, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.worker().wrap_up_duration().seconds(), 60);
  EXPECT_THAT(updated.worker().languages(), ElementsAre("de"));
  EXPECT_EQ(updated.worker().display_name(), "own");  // not in the mask: kept
  EXPECT_EQ(updated.worker().version(), 2);

  // Poll until the event is applied: a task of the partner's then carries its concierge.
  v1::Task task;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (int i = 0;; ++i) {
    v1::CreateTaskRequest r = TaskRequest("", partner);  // the built-in default workflow
    r.mutable_task()->set_dedupe_key(absl::StrCat(run_, "-probe-", i));
    task = CreateTask(r);
    if (!task.partner_context().concierge_worker_id().empty() || absl::Now() > deadline) break;
    v1::CancelTaskRequest cancel;
    cancel.set_vendor_id(vendor_);
    cancel.set_task_id(task.task_id());
    v1::CancelTaskResponse canceled;
    ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CancelTask, Admin(), cancel, &canceled).ok());
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(task.partner_context().concierge_worker_id(), own.worker_id());
  EXPECT_EQ(task.state(), v1::TASK_STATE_RESERVED);
  EXPECT_EQ(task.step_id(), "concierge");
  v1::AcceptReservationResponse accepted;
  ASSERT_TRUE(Accept(ConciergeOf(own.worker_id()), task.reservation_id(), &accepted).ok());
  EXPECT_EQ(accepted.reservation().worker_id(), own.worker_id());

  v1::WrapUpTaskRequest wr;
  wr.set_vendor_id(vendor_);
  wr.set_task_id(task.task_id());
  v1::WrapUpTaskResponse wrapping;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::WrapUpTask, ConciergeOf(other.worker_id()), wr,
                 &wrapping)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::WrapUpTask, ConciergeOf(own.worker_id()), wr, &wrapping)
          .ok());
  EXPECT_EQ(wrapping.task().state(), v1::TASK_STATE_WRAPPING);

  v1::GetWorkerStatisticsRequest ws;
  ws.set_vendor_id(vendor_);
  ws.set_worker_id(own.worker_id());
  v1::GetWorkerStatisticsResponse worker_stats;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetWorkerStatistics, ConciergeOf(own.worker_id()),
                   ws, &worker_stats)
                  .ok());
  ASSERT_EQ(worker_stats.statistics().channels_size(), 1);
  EXPECT_EQ(worker_stats.statistics().channels(0).wrapping(), 1);
  EXPECT_EQ(worker_stats.statistics().reservations_accepted(), 1);

  v1::GetQueueStatisticsRequest qs;
  qs.set_vendor_id(vendor_);
  qs.set_queue_id("default");
  v1::GetQueueStatisticsResponse queue_stats;
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::GetQueueStatistics, Admin(), qs, &queue_stats).ok());
  EXPECT_EQ(queue_stats.statistics().eligible_workers(), 2);
  int wrapping_count = 0;
  for (const auto& c : queue_stats.statistics().task_counts()) {
    if (c.state() == v1::TASK_STATE_WRAPPING) wrapping_count = c.count();
  }
  EXPECT_EQ(wrapping_count, 1);

  // Activities: a custom one, listed after the built-ins.
  v1::CreateActivityRequest ca;
  ca.mutable_activity()->set_vendor_id(vendor_);
  ca.mutable_activity()->set_activity_id("training");
  ca.mutable_activity()->set_display_name("Training");
  v1::CreateActivityResponse activity;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CreateActivity, Admin(), ca, &activity).ok());
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::CreateActivity, Admin(), ca, &activity).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::ListActivitiesRequest la;
  la.set_vendor_id(vendor_);
  v1::ListActivitiesResponse activities;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListActivities, Admin(), la, &activities).ok());
  ASSERT_GE(activities.activities_size(), 6);
  EXPECT_EQ(activities.activities(activities.activities_size() - 1).activity_id(), "training");
  v1::UpdateActivityRequest ua;
  *ua.mutable_activity() = activity.activity();
  ua.mutable_activity()->set_display_name("Product training");
  ua.mutable_activity()->set_available(true);  // immutable: not in the mask, not applied
  ua.mutable_update_mask()->add_paths("display_name");
  v1::UpdateActivityResponse renamed;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::UpdateActivity, Admin(), ua, &renamed).ok());
  EXPECT_EQ(renamed.activity().display_name(), "Product training");
  EXPECT_FALSE(renamed.activity().available());
  ua.mutable_update_mask()->add_paths("available");
  status = Call(&v1::ConciergeRouting::Stub::UpdateActivity, Admin(), ua, &renamed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ElementsAre("update_mask.paths[1]"));
}

TEST_F(ConciergeRoutingIT, CalendarsAndTheSlaPolicyAreConfigured) {
  v1::CreateBusinessCalendarRequest cr;
  v1::BusinessCalendar* cal = cr.mutable_calendar();
  cal->set_vendor_id(vendor_);
  cal->set_display_name("Berlin office");
  cal->set_time_zone("Europe/Berlin");
  v1::BusinessHours* h = cal->add_weekly_hours();
  h->set_day(v1::DAY_OF_WEEK_MONDAY);
  h->mutable_start()->set_hours(9);
  h->mutable_end()->set_hours(17);
  v1::Holiday* holiday = cal->add_holidays();
  holiday->mutable_date()->set_year(2026);
  holiday->mutable_date()->set_month(12);
  holiday->mutable_date()->set_day(25);
  v1::CreateBusinessCalendarResponse created;
  grpc::Status status =
      Call(&v1::ConciergeRouting::Stub::CreateBusinessCalendar, Admin(), cr, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string calendar_id = created.calendar().business_calendar_id();
  EXPECT_FALSE(calendar_id.empty());

  v1::GetBusinessCalendarRequest gc;
  gc.set_vendor_id(vendor_);
  gc.set_business_calendar_id(calendar_id);
  v1::GetBusinessCalendarResponse got;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetBusinessCalendar, Admin(), gc, &got).ok());
  EXPECT_EQ(got.calendar().time_zone(), "Europe/Berlin");

  cal->set_time_zone("Mars/Olympus_Mons");
  h->mutable_end()->set_hours(25);
  status = Call(&v1::ConciergeRouting::Stub::CreateBusinessCalendar, Admin(), cr, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ElementsAre("calendar.weekly_hours[0].end"));
  h->mutable_end()->set_hours(17);
  status = Call(&v1::ConciergeRouting::Stub::CreateBusinessCalendar, Admin(), cr, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ElementsAre("calendar.time_zone"));

  v1::UpdateSlaPolicyRequest ur;
  ur.mutable_policy()->set_vendor_id(vendor_);
  ur.mutable_policy()->set_business_calendar_id(calendar_id);
  ur.mutable_policy()->set_warning_percent(75);
  v1::SlaTarget* target = ur.mutable_policy()->add_targets();
  target->set_category(v1::TASK_CATEGORY_PRICING);
  target->mutable_first_response()->set_seconds(4 * 3600);
  ur.mutable_update_mask()->add_paths("*");
  v1::UpdateSlaPolicyResponse updated;
  status = Call(&v1::ConciergeRouting::Stub::UpdateSlaPolicy, Admin(), ur, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.policy().version(), 1);

  v1::GetSlaPolicyRequest gp;
  gp.set_vendor_id(vendor_);
  v1::GetSlaPolicyResponse policy;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetSlaPolicy, Admin(), gp, &policy).ok());
  EXPECT_EQ(policy.policy().warning_percent(), 75);
  EXPECT_EQ(policy.policy().business_calendar_id(), calendar_id);

  // Tasks created now get the SLA, measured in the calendar's business time.
  const v1::Task task = CreateTask(TaskRequest(""));
  EXPECT_EQ(task.sla().state(), v1::SLA_STATE_RUNNING);
  EXPECT_EQ(task.sla().target().seconds(), 4 * 3600);
  EXPECT_EQ(task.sla().time_zone(), "Europe/Berlin");

  // A stale etag and bad fields are refused.
  ur.mutable_policy()->set_etag(policy.policy().etag() + "-stale");
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::UpdateSlaPolicy, Admin(), ur, &updated).error_code(),
            grpc::StatusCode::ABORTED);
  ur.mutable_policy()->clear_etag();
  ur.mutable_policy()->set_warning_percent(100);
  target->mutable_first_response()->set_seconds(1);
  status = Call(&v1::ConciergeRouting::Stub::UpdateSlaPolicy, Admin(), ur, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("policy.targets[0].first_response",
                                                      "policy.warning_percent"));
}

TEST_F(ConciergeRoutingIT, SlaWarningAndBreachFireOnceFromTheTimerAndSurviveACrash) {
  // The shortest target the API allows (one minute, 24×7) with the earliest warning.
  v1::UpdateSlaPolicyRequest ur;
  ur.mutable_policy()->set_vendor_id(vendor_);
  ur.mutable_policy()->set_warning_percent(1);
  ur.mutable_policy()->add_targets()->mutable_first_response()->set_seconds(60);
  ur.mutable_update_mask()->add_paths("*");
  v1::UpdateSlaPolicyResponse updated;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::UpdateSlaPolicy, Admin(), ur, &updated).ok());
  // Nobody can take it: it waits unanswered.
  const v1::Task task = CreateTask(TaskRequest(""));
  ASSERT_EQ(task.state(), v1::TASK_STATE_PENDING);
  ASSERT_EQ(task.sla().state(), v1::SLA_STATE_RUNNING);

  auto wait_for_sla = [&](v1::SlaState want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(150);
    v1::Task t = GetTask(task.task_id());
    while (t.sla().state() != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(250));
      t = GetTask(task.task_id());
    }
    return t.sla().state();
  };
  EXPECT_EQ(wait_for_sla(v1::SLA_STATE_WARNING), v1::SLA_STATE_WARNING);
  EXPECT_EQ(wait_for_sla(v1::SLA_STATE_BREACHED), v1::SLA_STATE_BREACHED);

  const std::vector<std::string> types = WaitForEvents(
      task.task_id(), [](const auto& t) { return Contains(t, "prm.routing.SlaBreached.v1"); });
  EXPECT_EQ(std::count(types.begin(), types.end(), "prm.routing.SlaWarning.v1"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "prm.routing.SlaBreached.v1"), 1);

  CrashAndRestart();
  EXPECT_EQ(GetTask(task.task_id()).sla().state(), v1::SLA_STATE_BREACHED);
}

TEST_F(ConciergeRoutingIT, DealEventsOpenAndCloseAnApprovalTaskOnce) {
  auto producer = kafka::Producer::Create({.brokers = testing::KafkaBrokers()});
  ASSERT_TRUE(producer.ok());
  auto produce = [&](const google::protobuf::Message& payload, const std::string& type,
                     const std::string& event_id, const std::string& deal_id) {
    const events::CloudEvent event = events::MakeEvent(
        payload, type, "prm/deal-registration-it", event_id, absl::Now(), deal_id);
    ASSERT_TRUE((*producer)->Produce(events::EncodeBinary(event, kDealTopic), absl::Seconds(10)).ok());
  };
  auto submitted = [&](const std::string& deal_id) {
    prm::deal::v1::DealSubmitted e;
    e.mutable_metadata()->set_vendor_id(vendor_);
    e.mutable_deal()->set_vendor_id(vendor_);
    e.mutable_deal()->set_deal_id(deal_id);
    e.mutable_deal()->set_partner_id("partner-1");
    e.mutable_deal()->set_title("Acme rollout");
    e.set_review_required(true);
    return e;
  };
  auto approval_tasks = [&](const std::string& deal_id) {
    return ListTasks(Admin(), absl::StrCat("related_deal_id = \"", deal_id, "\""));
  };
  auto wait_for_tasks = [&](const std::string& deal_id, size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (approval_tasks(deal_id).size() < n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    return approval_tasks(deal_id);
  };

  const std::string deal = run_ + "-deal";
  const std::string event_id = run_ + "-submitted";
  produce(submitted(deal), "prm.deal.DealSubmitted.v1", event_id, deal);
  std::vector<v1::Task> tasks = wait_for_tasks(deal, 1);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].category(), v1::TASK_CATEGORY_DEAL_APPROVAL);
  EXPECT_EQ(tasks[0].channel(), v1::CHANNEL_INTERNAL);
  EXPECT_EQ(tasks[0].partner_id(), "partner-1");

  // A redelivered duplicate, then a marker event: once the marker is applied, the duplicate was
  // processed (or skipped) before it, and it created nothing.
  produce(submitted(deal), "prm.deal.DealSubmitted.v1", event_id, deal);
  const std::string marker = run_ + "-marker";
  produce(submitted(marker), "prm.deal.DealSubmitted.v1", run_ + "-marker-submitted", marker);
  ASSERT_EQ(wait_for_tasks(marker, 1).size(), 1u);
  EXPECT_EQ(approval_tasks(deal).size(), 1u);

  // The deal is decided: its unassigned approval task closes.
  prm::deal::v1::DealApproved approved;
  approved.mutable_metadata()->set_vendor_id(vendor_);
  approved.mutable_deal()->set_vendor_id(vendor_);
  approved.mutable_deal()->set_deal_id(deal);
  produce(approved, "prm.deal.DealApproved.v1", run_ + "-approved", deal);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  v1::Task task = GetTask(tasks[0].task_id());
  while (task.state() != v1::TASK_STATE_CANCELED && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    task = GetTask(tasks[0].task_id());
  }
  EXPECT_EQ(task.state(), v1::TASK_STATE_CANCELED);
  EXPECT_EQ(task.cancel_source(), v1::CANCEL_SOURCE_DEAL_CLOSED);

  // Replay rebuilds what the consumed events did.
  CrashAndRestart();
  EXPECT_EQ(GetTask(tasks[0].task_id()).state(), v1::TASK_STATE_CANCELED);
  EXPECT_EQ(approval_tasks(deal).size(), 1u);
  EXPECT_EQ(approval_tasks(marker).size(), 1u);
}

// DeleteActivity, UpdateBusinessCalendar, DeleteBusinessCalendar, DeleteQueue and DeleteWorkflow:
// what is still in use is refused FAILED_PRECONDITION naming the user, a stale etag ABORTED, and
// the removals survive a crash.
TEST_F(ConciergeRoutingIT, ConfigurationIsUpdatedAndDeletedOnlyOnceUnused) {
  v1::CreateActivityRequest ca;
  ca.mutable_activity()->set_vendor_id(vendor_);
  ca.mutable_activity()->set_activity_id("lunch");
  ca.mutable_activity()->set_display_name("Lunch");
  v1::CreateActivityResponse activity;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CreateActivity, Admin(), ca, &activity).ok());
  v1::CreateBusinessCalendarRequest cc;
  v1::BusinessCalendar* cal = cc.mutable_calendar();
  cal->set_vendor_id(vendor_);
  cal->set_display_name("Berlin office");
  cal->set_time_zone("Europe/Berlin");
  v1::BusinessHours* h = cal->add_weekly_hours();
  h->set_day(v1::DAY_OF_WEEK_MONDAY);
  h->mutable_start()->set_hours(9);
  h->mutable_end()->set_hours(17);
  v1::CreateBusinessCalendarResponse calendar;
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::CreateBusinessCalendar, Admin(), cc, &calendar).ok());
  const std::string calendar_id = calendar.calendar().business_calendar_id();

  // A worker on the calendar in the new activity; a workflow on a new queue with a waiting task.
  v1::Worker ana = NewWorker("ana");
  v1::UpdateWorkerRequest uw;
  *uw.mutable_worker() = ana;
  uw.mutable_worker()->set_activity_id("lunch");
  uw.mutable_worker()->set_business_calendar_id(calendar_id);
  uw.mutable_update_mask()->add_paths("business_calendar_id");
  v1::UpdateWorkerResponse updated_worker;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::UpdateWorker, Admin(), uw, &updated_worker).ok());
  v1::SetWorkerActivityRequest sa;
  sa.set_vendor_id(vendor_);
  sa.set_worker_id(ana.worker_id());
  sa.set_activity_id("lunch");
  v1::SetWorkerActivityResponse set_activity;
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::SetWorkerActivity, Admin(), sa, &set_activity).ok());
  const v1::Queue queue = NewQueue();
  const v1::Workflow workflow = NewWorkflow(queue.queue_id(), absl::Seconds(60));
  const v1::Task task = CreateTask(TaskRequest(workflow.workflow_id()));
  ASSERT_EQ(task.state(), v1::TASK_STATE_PENDING);

  auto expect_in_use = [](const grpc::Status& status, const std::string& user) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr(user));
  };
  v1::DeleteActivityRequest da;
  da.set_vendor_id(vendor_);
  da.set_activity_id("lunch");
  v1::DeleteActivityResponse deleted_activity;
  expect_in_use(Call(&v1::ConciergeRouting::Stub::DeleteActivity, Admin(), da, &deleted_activity),
                "worker " + ana.worker_id());
  da.set_activity_id("available");
  expect_in_use(Call(&v1::ConciergeRouting::Stub::DeleteActivity, Admin(), da, &deleted_activity),
                "built-in");
  v1::DeleteBusinessCalendarRequest dc;
  dc.set_vendor_id(vendor_);
  dc.set_business_calendar_id(calendar_id);
  v1::DeleteBusinessCalendarResponse deleted_calendar;
  expect_in_use(
      Call(&v1::ConciergeRouting::Stub::DeleteBusinessCalendar, Admin(), dc, &deleted_calendar),
      "worker " + ana.worker_id());
  v1::DeleteQueueRequest dq;
  dq.set_vendor_id(vendor_);
  dq.set_queue_id(queue.queue_id());
  v1::DeleteQueueResponse deleted_queue;
  expect_in_use(Call(&v1::ConciergeRouting::Stub::DeleteQueue, Admin(), dq, &deleted_queue),
                "workflow " + workflow.workflow_id());
  v1::DeleteWorkflowRequest dw;
  dw.set_vendor_id(vendor_);
  dw.set_workflow_id(workflow.workflow_id());
  v1::DeleteWorkflowResponse deleted_workflow;
  expect_in_use(Call(&v1::ConciergeRouting::Stub::DeleteWorkflow, Admin(), dw, &deleted_workflow),
                "open task " + task.task_id());

  // Bad requests: every bad field named; a concierge may not; a stale etag is ABORTED.
  v1::DeleteQueueRequest empty;
  grpc::Status status =
      Call(&v1::ConciergeRouting::Stub::DeleteQueue, Admin(), empty, &deleted_queue);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), UnorderedElementsAre("vendor_id", "queue_id"));
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::DeleteQueue, ConciergeOf(ana.worker_id()), dq,
                 &deleted_queue)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdateBusinessCalendarRequest uc;
  *uc.mutable_calendar() = calendar.calendar();
  uc.mutable_calendar()->set_etag("W/\"7\"");
  uc.mutable_calendar()->set_time_zone("Asia/Singapore");
  uc.mutable_update_mask()->add_paths("time_zone");
  v1::UpdateBusinessCalendarResponse updated_calendar;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::UpdateBusinessCalendar, Admin(), uc,
                 &updated_calendar)
                .error_code(),
            grpc::StatusCode::ABORTED);
  uc.mutable_calendar()->set_time_zone("Mars/Olympus_Mons");
  uc.mutable_update_mask()->add_paths("version");
  status = Call(&v1::ConciergeRouting::Stub::UpdateBusinessCalendar, Admin(), uc,
                &updated_calendar);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ElementsAre("update_mask.paths[1]"));

  // UpdateBusinessCalendar with the current etag: a new version in the new zone.
  uc.mutable_calendar()->set_etag(calendar.calendar().etag());
  uc.mutable_calendar()->set_time_zone("Asia/Singapore");
  uc.mutable_update_mask()->clear_paths();
  uc.mutable_update_mask()->add_paths("time_zone");
  status = Call(&v1::ConciergeRouting::Stub::UpdateBusinessCalendar, Admin(), uc,
                &updated_calendar);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated_calendar.calendar().time_zone(), "Asia/Singapore");
  EXPECT_EQ(updated_calendar.calendar().display_name(), "Berlin office");
  EXPECT_EQ(updated_calendar.calendar().version(), 2);

  // Once unused, everything goes: task, workflow, queue, then the worker's activity and calendar.
  v1::CancelTaskRequest cancel;
  cancel.set_vendor_id(vendor_);
  cancel.set_task_id(task.task_id());
  cancel.set_reason("no longer needed");
  v1::CancelTaskResponse canceled;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CancelTask, Admin(), cancel, &canceled).ok());
  dw.set_etag(workflow.etag());
  status = Call(&v1::ConciergeRouting::Stub::DeleteWorkflow, Admin(), dw, &deleted_workflow);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = Call(&v1::ConciergeRouting::Stub::DeleteQueue, Admin(), dq, &deleted_queue);
  ASSERT_TRUE(status.ok()) << status.error_message();
  sa.set_activity_id("available");
  ASSERT_TRUE(
      Call(&v1::ConciergeRouting::Stub::SetWorkerActivity, Admin(), sa, &set_activity).ok());
  *uw.mutable_worker() = GetWorker(ana.worker_id());
  uw.mutable_worker()->clear_business_calendar_id();
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::UpdateWorker, Admin(), uw, &updated_worker).ok());
  da.set_activity_id("lunch");
  status = Call(&v1::ConciergeRouting::Stub::DeleteActivity, Admin(), da, &deleted_activity);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = Call(&v1::ConciergeRouting::Stub::DeleteBusinessCalendar, Admin(), dc, &deleted_calendar);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Gone, also after a crash and replay.
  CrashAndRestart();
  v1::GetQueueRequest gq;
  gq.set_vendor_id(vendor_);
  gq.set_queue_id(queue.queue_id());
  v1::GetQueueResponse got_queue;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetQueue, Admin(), gq, &got_queue).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetWorkflowRequest gw;
  gw.set_vendor_id(vendor_);
  gw.set_workflow_id(workflow.workflow_id());
  v1::GetWorkflowResponse got_workflow;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetWorkflow, Admin(), gw, &got_workflow).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetActivityRequest ga;
  ga.set_vendor_id(vendor_);
  ga.set_activity_id("lunch");
  v1::GetActivityResponse got_activity;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetActivity, Admin(), ga, &got_activity).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetBusinessCalendarRequest gc;
  gc.set_vendor_id(vendor_);
  gc.set_business_calendar_id(calendar_id);
  v1::GetBusinessCalendarResponse got_calendar;
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::GetBusinessCalendar, Admin(), gc, &got_calendar)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::DeleteQueue, Admin(), dq, &deleted_queue).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConciergeRoutingIT, UpdateTaskChangesAWaitingTaskAndRoutesItAgain) {
  const v1::Workflow workflow = NewWorkflow(NewQueue().queue_id(), absl::Seconds(60));
  v1::CreateTaskRequest request = TaskRequest(workflow.workflow_id());
  request.mutable_task()->set_region("APAC");
  const v1::Task task = CreateTask(request);
  ASSERT_EQ(task.state(), v1::TASK_STATE_PENDING);  // nobody in the EMEA queue yet
  const v1::Worker ana = NewWorker("ana", {"EMEA"});
  ASSERT_EQ(GetTask(task.task_id()).state(), v1::TASK_STATE_RESERVED);  // the queue's worker
  const v1::Task offered = GetTask(task.task_id());

  v1::UpdateTaskRequest ur;
  ur.mutable_task()->set_vendor_id(vendor_);
  ur.mutable_task()->set_task_id(task.task_id());
  ur.mutable_task()->set_etag(offered.etag());
  ur.mutable_task()->set_title("Quote for 500 seats");
  ur.mutable_task()->set_priority(700);
  (*ur.mutable_task()->mutable_attributes())["seats"] = "500";
  ur.mutable_update_mask()->add_paths("title");
  ur.mutable_update_mask()->add_paths("priority");
  ur.mutable_update_mask()->add_paths("attributes");
  v1::UpdateTaskResponse updated;
  grpc::Status status = Call(&v1::ConciergeRouting::Stub::UpdateTask, Admin(), ur, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.task().title(), "Quote for 500 seats");
  EXPECT_EQ(updated.task().priority(), 700);
  EXPECT_EQ(updated.task().attributes().at("seats"), "500");
  EXPECT_EQ(updated.task().region(), "APAC");  // not in the mask
  EXPECT_EQ(updated.task().state(), v1::TASK_STATE_RESERVED);
  EXPECT_GT(updated.task().version(), offered.version());

  // The old etag is stale now; bad paths and values are all named; partner users may not.
  status = Call(&v1::ConciergeRouting::Stub::UpdateTask, Admin(), ur, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  ur.mutable_task()->clear_etag();
  ur.mutable_task()->set_priority(20000);
  ur.mutable_task()->set_title(std::string(300, 'x'));
  ur.mutable_update_mask()->add_paths("state");
  status = Call(&v1::ConciergeRouting::Stub::UpdateTask, Admin(), ur, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status),
              UnorderedElementsAre("update_mask.paths[3]", "task.title", "task.priority"));
  ur.mutable_update_mask()->clear_paths();
  ur.mutable_update_mask()->add_paths("title");
  ur.mutable_task()->set_title("mine");
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::UpdateTask, PartnerUser("partner-1"), ur, &updated)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A closed task cannot change.
  v1::CancelTaskRequest cancel;
  cancel.set_vendor_id(vendor_);
  cancel.set_task_id(task.task_id());
  v1::CancelTaskResponse canceled;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CancelTask, Admin(), cancel, &canceled).ok());
  EXPECT_EQ(Call(&v1::ConciergeRouting::Stub::UpdateTask, Admin(), ur, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Issue test 9 over gRPC: a step with parallel_offers = 3 offers the task to three workers at
// once; two accept at the same time: exactly one wins, the others' offers are rescinded and
// withdrawn on WatchOffers.
TEST_F(ConciergeRoutingIT, ParallelOffersAssignExactlyOnceAndWithdrawTheRest) {
  const v1::Queue queue = NewQueue();
  v1::CreateWorkflowRequest cw;
  v1::Workflow* wf = cw.mutable_workflow();
  wf->set_vendor_id(vendor_);
  wf->set_display_name("broadcast");
  v1::WorkflowStep* step = wf->add_steps();
  step->set_step_id("everyone");
  step->set_queue_id(queue.queue_id());
  step->set_parallel_offers(3);
  v1::CreateWorkflowResponse workflow;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CreateWorkflow, Admin(), cw, &workflow).ok());
  EXPECT_EQ(workflow.workflow().steps(0).parallel_offers(), 3);
  std::vector<v1::Worker> workers = {NewWorker("ana"), NewWorker("ben"), NewWorker("cy")};

  v1::WatchOffersRequest watch;
  watch.set_vendor_id(vendor_);
  watch.set_worker_id(workers[2].worker_id());
  auto watch_ctx = testing::Context(ConciergeOf(workers[2].worker_id()), absl::Seconds(30));
  auto stream = stub_->WatchOffers(watch_ctx.get(), watch);

  const v1::Task task = CreateTask(TaskRequest(workflow.workflow().workflow_id()));
  ASSERT_EQ(task.state(), v1::TASK_STATE_RESERVED);
  v1::ListReservationsRequest lr;
  lr.set_vendor_id(vendor_);
  lr.set_filter("task_id = \"" + task.task_id() + "\"");
  v1::ListReservationsResponse listed;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListReservations, Admin(), lr, &listed).ok());
  ASSERT_EQ(listed.reservations_size(), 3);
  std::map<std::string, std::string> reservation_of;  // worker → reservation
  for (const v1::Reservation& r : listed.reservations()) {
    EXPECT_EQ(r.state(), v1::RESERVATION_STATE_PENDING);
    reservation_of[r.worker_id()] = r.reservation_id();
  }
  ASSERT_EQ(reservation_of.size(), 3u);
  const std::string mine = reservation_of[workers[2].worker_id()];
  // Offers and withdrawals the third worker receives, heartbeats skipped.
  auto next = [&](v1::WatchOffersResponse* m) {
    while (stream->Read(m)) {
      if (m->has_offer() || m->has_withdrawn()) return true;
    }
    return false;
  };
  v1::WatchOffersResponse message;
  ASSERT_TRUE(next(&message));
  ASSERT_TRUE(message.has_offer());
  EXPECT_EQ(message.offer().reservation().reservation_id(), mine);

  grpc::Status results[2];
  v1::AcceptReservationResponse responses[2];
  std::thread first([&] {
    results[0] = Accept(ConciergeOf(workers[0].worker_id()), reservation_of[workers[0].worker_id()],
                        &responses[0]);
  });
  std::thread second([&] {
    results[1] = Accept(ConciergeOf(workers[1].worker_id()), reservation_of[workers[1].worker_id()],
                        &responses[1]);
  });
  first.join();
  second.join();
  ASSERT_EQ(results[0].ok() + results[1].ok(), 1)
      << results[0].error_message() << " / " << results[1].error_message();
  const int winner = results[0].ok() ? 0 : 1;
  EXPECT_EQ(results[1 - winner].error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const v1::Task assigned = GetTask(task.task_id());
  EXPECT_EQ(assigned.state(), v1::TASK_STATE_ASSIGNED);
  EXPECT_EQ(assigned.worker_id(), workers[winner].worker_id());

  listed.Clear();
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::ListReservations, Admin(), lr, &listed).ok());
  int accepted = 0, rescinded = 0;
  for (const v1::Reservation& r : listed.reservations()) {
    accepted += r.state() == v1::RESERVATION_STATE_ACCEPTED;
    rescinded += r.state() == v1::RESERVATION_STATE_RESCINDED;
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(rescinded, 2);
  // The third worker's offer is withdrawn.
  ASSERT_TRUE(next(&message));
  ASSERT_TRUE(message.has_withdrawn());
  EXPECT_EQ(message.withdrawn().reservation().reservation_id(), mine);
  EXPECT_EQ(message.withdrawn().reservation().state(), v1::RESERVATION_STATE_RESCINDED);
  watch_ctx->TryCancel();
  stream->Finish();
}

// Issue test 14 over gRPC: a reopened request (same dedupe key after completion) goes back to
// the concierge who handled it, although another worker has been idle longer.
TEST_F(ConciergeRoutingIT, ReopenedRequestReturnsToThePreviousConcierge) {
  const v1::Worker ana = NewWorker("ana");
  const v1::Worker ben = NewWorker("ben");
  v1::CreateTaskRequest request = TaskRequest("");
  request.mutable_task()->set_category(v1::TASK_CATEGORY_LICENSING);  // the default workflow
  request.mutable_task()->set_dedupe_key("thread-" + run_);
  const v1::Task first = CreateTask(request);
  ASSERT_EQ(first.state(), v1::TASK_STATE_RESERVED);
  EXPECT_TRUE(first.previous_worker_id().empty());
  v1::GetReservationRequest gr;
  gr.set_vendor_id(vendor_);
  gr.set_reservation_id(first.reservation_id());
  v1::GetReservationResponse offer;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, Admin(), gr, &offer).ok());
  const std::string handler = offer.reservation().worker_id();
  const std::string other = handler == ana.worker_id() ? ben.worker_id() : ana.worker_id();
  v1::AcceptReservationResponse accepted;
  ASSERT_TRUE(Accept(ConciergeOf(handler), first.reservation_id(), &accepted).ok());
  v1::CompleteTaskRequest cr;
  cr.set_vendor_id(vendor_);
  cr.set_task_id(first.task_id());
  v1::CompleteTaskResponse completed;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::CompleteTask, ConciergeOf(handler), cr, &completed)
                  .ok());

  const v1::Task reopened = CreateTask(request);
  EXPECT_NE(reopened.task_id(), first.task_id());
  EXPECT_EQ(reopened.previous_worker_id(), handler);
  EXPECT_EQ(reopened.step_id(), "previous_worker");
  gr.set_reservation_id(reopened.reservation_id());
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, Admin(), gr, &offer).ok());
  EXPECT_EQ(offer.reservation().worker_id(), handler);
  EXPECT_NE(offer.reservation().worker_id(), other);
}

// --partner-registry-address: a task for a partner the service has not heard of from
// prm.partner.v1 takes the partner's concierge, tier priority and tier SLA from partner-registry,
// asked before the command is logged; replay needs no partner-registry. partner-registry here
// publishes to a topic nobody consumes, so nothing but the lookup can tell routing about the
// partner.
TEST_F(ConciergeRoutingIT, AnUnknownPartnerIsLookedUpInPartnerRegistryAndTheAnswerReplayed) {
  namespace pv1 = ::prm::partner::v1;
  const std::string registry_dir = data_dir_ + "-registry";
  auto registry = std::make_unique<testing::ServiceProcess>(
      "partner-registry", registry_dir, run_ + "-registry-group",
      std::vector<std::string>{"--topic-partner=prm.it.outbox"});
  ASSERT_TRUE(registry->StartAndWaitServing());
  auto registry_stub = pv1::PartnerRegistry::NewStub(registry->channel());
  process_.reset();
  Start({"--partner-registry-address=" + registry->address(), "--partner-registry-deadline=2s"});

  const v1::Worker ana = NewWorker("ana");
  const v1::Worker ben = NewWorker("ben");
  auto registry_call = [&](auto method, const auto& request, auto* response) {
    grpc::Status s = ((*registry_stub).*method)(testing::Context(Admin()).get(), request, response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  };
  pv1::CreatePartnerRequest cp;
  cp.set_vendor_id(vendor_);
  cp.mutable_partner()->set_legal_name("Lookup Reseller GmbH");
  cp.mutable_partner()->set_hq_country_code("DE");
  cp.mutable_partner()->add_types(common::v1::PARTNER_TYPE_RESELLER);
  pv1::CreatePartnerResponse partner;
  registry_call(&pv1::PartnerRegistry::Stub::CreatePartner, cp, &partner);
  const std::string partner_id = partner.partner().partner_id();
  pv1::CreateProgramRequest cg;
  cg.mutable_program()->set_vendor_id(vendor_);
  cg.mutable_program()->set_display_name("Program");
  pv1::Tier* tier = cg.mutable_program()->add_tiers();
  tier->set_tier_id("gold");
  tier->set_display_name("Gold");
  tier->mutable_benefits()->set_deal_protection_days(90);
  tier->mutable_benefits()->set_routing_priority(700);
  tier->mutable_benefits()->mutable_first_response_sla()->set_seconds(2 * 3600);
  pv1::CreateProgramResponse program;
  registry_call(&pv1::PartnerRegistry::Stub::CreateProgram, cg, &program);
  pv1::CreateEnrollmentRequest ce;
  ce.mutable_enrollment()->set_vendor_id(vendor_);
  ce.mutable_enrollment()->set_partner_id(partner_id);
  ce.mutable_enrollment()->set_program_id(program.program().program_id());
  pv1::CreateEnrollmentResponse enrollment;
  registry_call(&pv1::PartnerRegistry::Stub::CreateEnrollment, ce, &enrollment);
  pv1::StartEnrollmentOnboardingRequest onboard;
  onboard.set_vendor_id(vendor_);
  onboard.set_partner_id(partner_id);
  onboard.set_reason("signed");
  pv1::StartEnrollmentOnboardingResponse onboarded;
  registry_call(&pv1::PartnerRegistry::Stub::StartEnrollmentOnboarding, onboard, &onboarded);
  pv1::ActivateEnrollmentRequest activate;
  activate.set_vendor_id(vendor_);
  activate.set_partner_id(partner_id);
  activate.set_reason("onboarded");
  pv1::ActivateEnrollmentResponse activated;
  registry_call(&pv1::PartnerRegistry::Stub::ActivateEnrollment, activate, &activated);
  pv1::AssignConciergeRequest ac;
  ac.set_vendor_id(vendor_);
  ac.set_partner_id(partner_id);
  ac.set_worker_id(ben.worker_id());
  pv1::AssignConciergeResponse assigned;
  registry_call(&pv1::PartnerRegistry::Stub::AssignConcierge, ac, &assigned);
  pv1::GetEnrollmentRequest ge;
  ge.set_vendor_id(vendor_);
  ge.set_partner_id(partner_id);
  pv1::GetEnrollmentResponse current;
  registry_call(&pv1::PartnerRegistry::Stub::GetEnrollment, ge, &current);
  ASSERT_EQ(current.enrollment().concierge_worker_id(), ben.worker_id());
  const bool gold = current.enrollment().tier_id() == "gold";

  // The partner's own concierge is offered the task (the region pool would have picked ana).
  v1::CreateTaskRequest request = TaskRequest("", partner_id);
  request.mutable_task()->set_category(v1::TASK_CATEGORY_LICENSING);
  const v1::Task task = CreateTask(request);
  EXPECT_EQ(task.partner_context().concierge_worker_id(), ben.worker_id());
  EXPECT_EQ(task.step_id(), "concierge");
  EXPECT_EQ(task.partner_context().tier_id(), current.enrollment().tier_id());
  if (gold) {
    EXPECT_EQ(task.priority(), 700);
    EXPECT_EQ(task.sla().target().seconds(), 2 * 3600);
  }
  v1::GetReservationRequest gr;
  gr.set_vendor_id(vendor_);
  gr.set_reservation_id(task.reservation_id());
  v1::GetReservationResponse offer;
  ASSERT_TRUE(Call(&v1::ConciergeRouting::Stub::GetReservation, Admin(), gr, &offer).ok());
  EXPECT_EQ(offer.reservation().worker_id(), ben.worker_id());

  // partner-registry goes away; the answer was logged, so replay and later tasks need it not.
  registry.reset();
  std::filesystem::remove_all(registry_dir);
  CrashAndRestart();
  const v1::Task replayed = GetTask(task.task_id());
  EXPECT_EQ(replayed.partner_context().concierge_worker_id(), ben.worker_id());
  EXPECT_EQ(replayed.priority(), task.priority());
  request.mutable_task()->set_title("second request");
  const v1::Task second = CreateTask(request);
  EXPECT_EQ(second.partner_context().concierge_worker_id(), ben.worker_id());
  // A partner nobody can tell about while partner-registry is down: routed without context.
  const v1::Task stranger = CreateTask(TaskRequest("", run_ + "-stranger"));
  EXPECT_TRUE(stranger.partner_context().concierge_worker_id().empty());
  EXPECT_NE(stranger.state(), v1::TASK_STATE_UNSPECIFIED);
}

}  // namespace
}  // namespace prm
