#pragma once

// Translation between the prm.routing.v1 API messages and the routing domain (domain/model.h,
// domain/router.h), and the validation of client input that names every bad field of a request
// (paths relative to the request, e.g. "worker.skills[2].level").
//
// The domain enums mirror the proto enums value for value, so enum mapping is a checked cast.
// Output-only proto fields the domain does not track (display names of queues and workflows,
// create and update times of configuration, e-mail of workers) are the adapter's, see
// routing_commands.h.
//
// Thread-safe (pure functions).

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/status/field_violations.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "prm/routing/v1/routing_resources.pb.h"
#include "services/concierge-routing/domain/business_time.h"
#include "services/concierge-routing/domain/model.h"
#include "services/concierge-routing/domain/router.h"
#include "services/concierge-routing/domain/sla.h"

namespace prm::routing {

google::protobuf::Timestamp TimeToProto(absl::Time t);
absl::Time TimeFromProto(const google::protobuf::Timestamp& t);
google::protobuf::Duration DurationToProto(absl::Duration d);
absl::Duration DurationFromProto(const google::protobuf::Duration& d);


// The etag of an aggregate at `version`.
std::string EtagOf(int64_t version);

// `current` with the fields of `update` named by the update mask `paths` ("*" = every path in
// `all`); repeated fields and messages are replaced, not appended to or merged.
template <typename M>
M Merged(const M& current, const M& update, const google::protobuf::FieldMask& paths,
         const std::vector<std::string>& all) {
  google::protobuf::FieldMask mask;
  for (const std::string& p : paths.paths()) {
    if (p == "*") {
      for (const std::string& a : all) mask.add_paths(a);
    } else {
      mask.add_paths(p);
    }
  }
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  options.set_replace_message_fields(true);
  M merged = current;
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(update, mask, options, &merged);
  return merged;
}

// ---- workers ---------------------------------------------------------------------------------

// Adds a violation for every bad writable field of `worker`, under `prefix` ("worker.").
// `require_all` = a create (required fields must be set); an update checks only what it sets.
void ValidateWorker(const prm::routing::v1::Worker& worker, bool require_all,
                    FieldViolations& bad, const std::string& prefix = "worker.");
// The domain worker for a valid proto worker (worker_id taken as is).
Worker WorkerFromProto(const prm::routing::v1::Worker& worker);
// The proto worker of a domain status; vendor-level metadata is filled in by the caller.
prm::routing::v1::Worker WorkerToProto(const WorkerStatus& status);

// ---- queues and workflows --------------------------------------------------------------------

void ValidateQueue(const prm::routing::v1::Queue& queue, FieldViolations& bad,
                   const std::string& prefix = "queue.");
Queue QueueFromProto(const prm::routing::v1::Queue& queue);

// `queue_exists` tells whether a step's queue id names an existing queue of the vendor.
void ValidateWorkflow(const prm::routing::v1::Workflow& workflow,
                      const std::function<bool(const std::string&)>& queue_exists,
                      FieldViolations& bad, const std::string& prefix = "workflow.");
Workflow WorkflowFromProto(const prm::routing::v1::Workflow& workflow);

// ---- tasks and reservations ------------------------------------------------------------------

void ValidateNewTask(const prm::routing::v1::Task& task, FieldViolations& bad,
                     const std::string& prefix = "task.");
// The writable fields of a task (UpdateTask's update_mask paths).
inline const std::vector<std::string> kTaskWritablePaths = {"title", "language", "region",
                                                            "attributes", "priority"};
// Adds a violation for every bad field among `paths` (of kTaskWritablePaths).
void ValidateTaskFields(const prm::routing::v1::Task& task, const std::vector<std::string>& paths,
                        FieldViolations& bad, const std::string& prefix = "task.");
// The domain update setting the fields named by `paths` ("priority" unset = no change).
TaskUpdate TaskUpdateFromProto(const prm::routing::v1::Task& task,
                               const std::vector<std::string>& paths);
// The domain request for a valid proto task; `task_id` is the id to create it under.
NewTask NewTaskFromProto(const prm::routing::v1::Task& task, std::string task_id);
prm::routing::v1::Task TaskToProto(const Task& task, const std::string& vendor_id);
prm::routing::v1::Reservation ReservationToProto(const Reservation& reservation,
                                                 const std::string& vendor_id);

// ---- calendars and SLA policy ---------------------------------------------------------------

// The writable fields of a business calendar (UpdateBusinessCalendar's update_mask paths).
inline const std::vector<std::string> kCalendarWritablePaths = {"display_name", "time_zone",
                                                                "weekly_hours", "holidays"};
// Fields BusinessCalendar::Create does not check itself (display name, days, times, dates).
void ValidateCalendar(const prm::routing::v1::BusinessCalendar& calendar, FieldViolations& bad,
                      const std::string& prefix = "calendar.");
// The domain calendar; INVALID_ARGUMENT naming the fields under `prefix` (unknown time zone,
// overlapping intervals, repeated holidays).
absl::StatusOr<BusinessCalendar> CalendarFromProto(
    const prm::routing::v1::BusinessCalendar& calendar, const std::string& prefix = "calendar.");

// `paths` are the SlaPolicy fields being set ("targets", "warning_percent",
// "business_calendar_id", "category_priorities").
void ValidateSlaPolicy(const prm::routing::v1::SlaPolicy& policy,
                       const std::vector<std::string>& paths, FieldViolations& bad,
                       const std::string& prefix = "policy.");
SlaPolicy SlaPolicyFromProto(const prm::routing::v1::SlaPolicy& policy);

// ---- statistics ------------------------------------------------------------------------------

prm::routing::v1::QueueStatistics QueueStatisticsToProto(const QueueStatistics& statistics,
                                                         const std::string& vendor_id,
                                                         const std::string& queue_id);
prm::routing::v1::WorkerStatistics WorkerStatisticsToProto(const WorkerStatistics& statistics,
                                                           const std::string& vendor_id,
                                                           const std::string& worker_id);

}  // namespace prm::routing
