#include "common/events/payload.h"
#include "services/concierge-routing/adapters/proto_mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::routing {
namespace {

namespace v1 = ::prm::routing::v1;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Fields(const FieldViolations& bad) {
  std::vector<std::string> out;
  for (const FieldViolation& v : bad.violations()) out.push_back(v.field);
  return out;
}

TEST(ProtoMapping, TimesAndDurationsRoundTripIncludingBeforeTheEpoch) {
  for (absl::Time t : {absl::FromUnixMicros(1'700'000'000'123'456), absl::FromUnixMicros(-1),
                       absl::UnixEpoch()}) {
    const google::protobuf::Timestamp p = TimeToProto(t);
    EXPECT_GE(p.nanos(), 0);
    EXPECT_EQ(TimeFromProto(p), t);
  }
  EXPECT_EQ(DurationFromProto(DurationToProto(absl::Milliseconds(-1500))),
            absl::Milliseconds(-1500));
}

TEST(ProtoMapping, DeterministicSerializationIgnoresMapInsertionOrder) {
  v1::Task a, b;
  (*a.mutable_attributes())["x"] = "1";
  (*a.mutable_attributes())["y"] = "2";
  (*b.mutable_attributes())["y"] = "2";
  (*b.mutable_attributes())["x"] = "1";
  EXPECT_EQ(events::SerializeDeterministically(a), events::SerializeDeterministically(b));
}

TEST(ProtoMapping, NewTaskCarriesEveryInputField) {
  v1::Task t;
  t.set_partner_id("p1");
  t.set_channel(v1::CHANNEL_CALL);
  t.set_category(v1::TASK_CATEGORY_LICENSING);
  t.set_language("de");
  t.set_region("EMEA");
  t.set_title("renewal");
  (*t.mutable_attributes())["product"] = "db";
  t.set_priority(0);  // explicitly zero, not derived
  t.set_dedupe_key("thread-1");
  t.mutable_ttl()->set_seconds(3600);
  t.set_related_deal_id("d1");
  t.set_workflow_id("wf");
  const NewTask n = NewTaskFromProto(t, "task-7");
  EXPECT_EQ(n.task_id, "task-7");
  EXPECT_EQ(n.channel, Channel::kCall);
  EXPECT_EQ(n.category, TaskCategory::kLicensing);
  EXPECT_EQ(n.attributes.at("product"), "db");
  ASSERT_TRUE(n.priority.has_value());
  EXPECT_EQ(*n.priority, 0);
  EXPECT_EQ(n.ttl, absl::Hours(1));
  EXPECT_EQ(n.related_deal_id, "d1");
  EXPECT_EQ(n.workflow_id, "wf");
  t.clear_priority();
  t.clear_ttl();
  EXPECT_FALSE(NewTaskFromProto(t, "").priority.has_value());
  EXPECT_FALSE(NewTaskFromProto(t, "").ttl.has_value());
}

TEST(ProtoMapping, TaskToProtoShowsStateReservationAndSla) {
  Task t;
  t.task_id = "task-1";
  t.state = TaskState::kReserved;
  t.reservation_ids = {"res-3"};
  t.version = 4;
  t.sla.state = SlaState::kWarning;
  t.sla.target = absl::Minutes(30);
  t.sla.due_time = absl::FromUnixSeconds(1000);
  t.sla.time_zone = "Asia/Tokyo";
  const v1::Task p = TaskToProto(t, "vendor-1");
  EXPECT_EQ(p.vendor_id(), "vendor-1");
  EXPECT_EQ(p.state(), v1::TASK_STATE_RESERVED);
  EXPECT_EQ(p.reservation_id(), "res-3");
  EXPECT_EQ(p.version(), 4);
  EXPECT_EQ(p.etag(), EtagOf(4));
  EXPECT_EQ(p.sla().state(), v1::SLA_STATE_WARNING);
  EXPECT_EQ(p.sla().due_time().seconds(), 1000);
  EXPECT_FALSE(p.sla().has_warning_time());  // InfiniteFuture = not scheduled
  // No SLA: the field stays unset.
  EXPECT_FALSE(TaskToProto(Task{}, "v").has_sla());
}

TEST(ProtoMapping, WorkerValidationNamesEveryBadField) {
  v1::Worker w;
  w.add_skills()->set_level(0);
  w.add_capacities()->set_capacity(101);
  w.mutable_wrap_up_duration()->set_seconds(7200);
  (*w.mutable_attributes())["Bad Key"] = "x";
  FieldViolations bad;
  ValidateWorker(w, /*require_all=*/true, bad);
  EXPECT_THAT(Fields(bad),
              UnorderedElementsAre("worker.display_name", "worker.role", "worker.skills[0].skill",
                                   "worker.skills[0].level", "worker.capacities[0].channel",
                                   "worker.capacities[0].capacity", "worker.activity_id",
                                   "worker.wrap_up_duration", "worker.attributes[Bad Key]"));
  // An update checks only what it sets.
  FieldViolations partial;
  ValidateWorker(v1::Worker(), /*require_all=*/false, partial);
  EXPECT_TRUE(partial.empty());
}

TEST(ProtoMapping, WorkflowStepsNeedATimeoutExceptTheLast) {
  v1::Workflow wf;
  wf.set_display_name("two steps");
  for (const char* id : {"first", "last"}) {
    v1::WorkflowStep* s = wf.add_steps();
    s->set_step_id(id);
    s->set_queue_id("default");
  }
  FieldViolations bad;
  ValidateWorkflow(wf, [](const std::string& q) { return q == "default"; }, bad);
  EXPECT_THAT(Fields(bad), ElementsAre("workflow.steps[0].timeout"));
  wf.mutable_steps(0)->mutable_timeout()->set_seconds(60);
  FieldViolations ok;
  ValidateWorkflow(wf, [](const std::string& q) { return q == "default"; }, ok);
  EXPECT_TRUE(ok.empty());
  const Workflow domain = WorkflowFromProto(wf);
  EXPECT_EQ(domain.steps[0].timeout, absl::Minutes(1));
  EXPECT_EQ(domain.steps[1].timeout, absl::InfiniteDuration());
  EXPECT_EQ(domain.steps[0].parallel_offers, 1);
}

TEST(ProtoMapping, CalendarErrorsAreNamedUnderTheRequestField) {
  v1::BusinessCalendar cal;
  cal.set_time_zone("Nowhere/Atlantis");
  auto parsed = CalendarFromProto(cal);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(parsed.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("calendar.time_zone"));
  cal.set_time_zone("Asia/Tokyo");
  v1::BusinessHours* h = cal.add_weekly_hours();
  h->set_day(v1::DAY_OF_WEEK_SUNDAY);
  h->mutable_start()->set_hours(9);
  h->mutable_end()->set_hours(18);
  parsed = CalendarFromProto(cal);
  ASSERT_TRUE(parsed.ok());
  // Sunday 10:00 in Tokyo is open; Monday 10:00 is not.
  EXPECT_TRUE(parsed->IsOpen(absl::FromCivil(absl::CivilSecond(2026, 12, 6, 10, 0, 0),
                                             absl::FixedTimeZone(9 * 3600))));
  EXPECT_FALSE(parsed->IsOpen(absl::FromCivil(absl::CivilSecond(2026, 12, 7, 10, 0, 0),
                                              absl::FixedTimeZone(9 * 3600))));
}

}  // namespace
}  // namespace prm::routing
