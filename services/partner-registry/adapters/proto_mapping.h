#pragma once

// Translation between prm.partner.v1 messages and the partner-registry domain types, field for
// field. No rules live here: validation is the domain's (ValidatePartner, ValidateProgram, ...);
// this only fills the documented proto defaults ("unset = 90 days") and reports money that is
// not well formed. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "prm/common/v1/money.pb.h"
#include "prm/partner/v1/partner_resources.pb.h"
#include "services/partner-registry/domain/enrollment.h"
#include "services/partner-registry/domain/partner.h"
#include "services/partner-registry/domain/partner_finder.h"
#include "services/partner-registry/domain/program.h"
#include "services/partner-registry/domain/tier_evaluator.h"

namespace prm::partner {

// Times: an infinite time is an unset Timestamp and back.
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& t);
void ToProto(absl::Duration d, google::protobuf::Duration* out);
absl::Duration FromProto(const google::protobuf::Duration& d);

// Money: INVALID_ARGUMENT naming `field` when the currency is not three upper-case letters,
// nanos is out of range or the signs of units and nanos differ.
void ToProto(const Money& money, common::v1::Money* out);
absl::StatusOr<Money> FromProto(const common::v1::Money& money, const std::string& field);

void ToProto(const Partner& partner, v1::Partner* out);
Partner FromProto(const v1::Partner& partner);

void ToProto(const Program& program, v1::Program* out);
// INVALID_ARGUMENT when a revenue requirement's money is malformed (path under `prefix`).
absl::StatusOr<Program> FromProto(const v1::Program& program, const std::string& prefix);
void ToProto(const TierBenefits& benefits, v1::TierBenefits* out);

// `now` gives each competency's state (Competency::state is as last recorded).
void ToProto(const Competency& competency, absl::Time now, v1::Competency* out);
Competency FromProto(const v1::Competency& competency);

void ToProto(const TierEvaluation& evaluation, v1::TierEvaluation* out);

// The enrollment as the API shows it: competencies' states at `now`, the etag derived from
// version and update time.
void ToProto(const Enrollment& enrollment, absl::Time now, v1::Enrollment* out);
std::string EnrollmentEtag(const Enrollment& enrollment);

Lead FromProto(const v1::Lead& lead);
void ToProto(const LeadMatches& matches, v1::LeadMatches* out);

// The same status with every BadRequest field path prefixed ("legal_name" → "partner.legal_name").
// Other statuses are returned unchanged.
absl::Status PrefixFieldPaths(absl::Status status, const std::string& prefix);

}  // namespace prm::partner
