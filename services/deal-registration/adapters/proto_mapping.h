#pragma once

// Translation between the deal domain's plain C++ values (domain/deal.h, deal_lifecycle.h,
// conflict_index.h) and the prm.deal.v1 / prm.common.v1 protobuf messages. Nothing here decides
// anything: enums map 1:1 by number, optional values map to message presence, times to
// google.protobuf.Timestamp (UTC).
//
// Etags: a deal's (and a policy's) etag is derived from its version, "v<version>". ParseEtag is
// the inverse; an empty etag means "unconditional".
//
// Thread safety: pure functions.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "prm/common/v1/actor.pb.h"
#include "prm/common/v1/date.pb.h"
#include "prm/common/v1/end_customer.pb.h"
#include "prm/common/v1/money.pb.h"
#include "prm/common/v1/product_line.pb.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/deal/v1/deal_resources.pb.h"
#include "services/deal-registration/domain/conflict_index.h"
#include "services/deal-registration/domain/deal.h"
#include "services/deal-registration/domain/deal_lifecycle.h"

namespace prm::deal {

google::protobuf::Timestamp ToTimestamp(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
google::protobuf::Duration ToDurationProto(absl::Duration d);
absl::Duration FromDurationProto(const google::protobuf::Duration& d);

prm::common::v1::Money ToProto(const Money& money);
Money FromProto(const prm::common::v1::Money& money);
prm::common::v1::Date ToProto(const Date& date);
Date FromProto(const prm::common::v1::Date& date);
prm::common::v1::EndCustomer ToProto(const EndCustomer& customer);
EndCustomer FromProto(const prm::common::v1::EndCustomer& customer);
prm::common::v1::ProductLine ToProto(const ProductLine& line);
ProductLine FromProto(const prm::common::v1::ProductLine& line);
prm::common::v1::Actor ToProto(const Actor& actor);
Actor FromProto(const prm::common::v1::Actor& actor);

// The actor a verified caller acts as (audit entries, event metadata).
Actor ActorOf(const auth::Principal& principal);

std::string Etag(int64_t version);
// nullopt for an empty etag; INVALID_ARGUMENT naming `field` when it is not an etag this
// service issued.
absl::StatusOr<std::optional<int64_t>> ParseEtag(absl::string_view etag, absl::string_view field);

// The whole deal, output-only fields and etag included.
void ToProto(const Deal& deal, prm::deal::v1::Deal* out);
prm::deal::v1::Deal ToProto(const Deal& deal);
// The client-writable fields of a deal (vendor_id, deal_id, partner_id, title, end_customer,
// products, value, expected_close_date, stage, description); output-only fields are ignored.
Deal WritableFromProto(const prm::deal::v1::Deal& deal);

// A conflict between `deal` and `match` for vendor staff; the earlier-submitted registration is
// "earlier". `detect_time` is when it was found.
prm::deal::v1::DealConflict ToConflictProto(const Deal& deal, const ConflictMatch& match,
                                            absl::Time detect_time);

prm::deal::v1::DealAuditEntry ToProto(const AuditEntry& entry);

prm::deal::v1::DealPolicy ToProto(const DealPolicy& policy);
// Replaces the fields of `base` named by `paths` ("*" = all writable) with those of `policy`.
// INVALID_ARGUMENT naming every bad field (paths and values, ranges as in deal_resources.proto).
absl::StatusOr<DealPolicy> MergePolicy(const DealPolicy& base,
                                       const prm::deal::v1::DealPolicy& policy,
                                       const std::vector<std::string>& paths);

// What every event of a command shares.
struct EventContext {
  std::string event_id;
  std::string request_id;  // empty for timers and consumed events
};

// The prm.deal.v1 event message of a domain event, metadata filled in, and its CloudEvents
// type ("prm.deal.DealSubmitted.v1").
struct EventMessage {
  std::unique_ptr<google::protobuf::Message> message;
  std::string type;
};
EventMessage ToEventProto(const DealEvent& event, const EventContext& context);

// DealConflictDetected for a submission that found `conflicts`.
EventMessage ToConflictDetectedProto(const Deal& deal, const std::vector<ConflictMatch>& conflicts,
                                     const Actor& actor, absl::Time time,
                                     const EventContext& context);

}  // namespace prm::deal
