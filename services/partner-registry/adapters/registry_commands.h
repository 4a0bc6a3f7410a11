#pragma once

// Every write partner-registry accepts, as a command of its command log
// (common/storage/command_log.h): the gRPC writes (kind = method name, payload = LoggedCall with
// the caller and the request), consumed events (kind = CloudEvents type, payload = the event
// message) and the timer ("Tick"). Apply is the one code path for a live command and for its
// replay at start-up, so it is deterministic given the command, its pinned time and the state
// before it: access checks use the logged caller, ids and times come from the directory.
//
// Apply either fully applies a command (and, live, appends its events to the outbox in the
// same transaction) or fails leaving the state unchanged: composite commands check everything
// that can fail before their first change.
//
// Not thread-safe by itself: commands are serialized by the command log's write transaction;
// `directory()` reads are thread-safe (PartnerDirectory locks).

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/storage/command_log.h"
#include "common/storage/sqlite.h"
#include "common/time/clock.h"
#include "partner_commands.pb.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "services/partner-registry/domain/partner_directory.h"

namespace prm::partner {

inline constexpr std::string_view kTickCommand = "Tick";
inline constexpr std::string_view kSaleRecordedType = "prm.sales.SaleRecorded.v1";

// The caller as logged, and back.
internal::v1::Caller ToCaller(const auth::Principal& principal);
auth::Principal FromCaller(const internal::v1::Caller& caller);

// The deal-registration event types that change partner figures.
bool IsDealOutcomeType(std::string_view type);

struct RegistryOptions {
  std::string event_source = "prm/partner-registry";
  std::string partner_topic = "prm.partner.v1";
};

class RegistryCommands {
 public:
  // `clock` is the command log's clock (pinned while a command applies).
  RegistryCommands(const Clock& clock, RegistryOptions options);

  // Applies one command; `tx` is the live transaction, or null on replay (no events are
  // written). Returns the serialized reply (the RPC's response; empty for events and ticks).
  // Errors are the RPC's (or, for events, INVALID_ARGUMENT for a record that can never apply).
  // A "Tick" that changed nothing fails with kNothingToLog (the caller then rolls back).
  absl::StatusOr<std::string> Apply(const command_log::Command& command, sqlite::Transaction* tx);

  // Pending sales of accounts that no enrolled partner maps yet (SaleRecorded says they apply
  // once the mapping exists).
  size_t pending_sale_count() const;

  const PartnerDirectory& directory() const { return directory_; }

  static bool IsNothingToLog(const absl::Status& status);

  // What a command did besides its reply: the events to publish, and for PartnerUpdated /
  // ProgramUpdated the field paths that changed.
  struct Effects {
    Events events;
    std::vector<std::string> changed_paths;
  };

 private:
  using Handler = absl::Status (RegistryCommands::*)(const auth::Principal&,
                                                     const internal::v1::LoggedCall&,
                                                     std::string* reply, Effects&);
  template <typename Req, typename Resp>
  using TypedHandler = absl::Status (RegistryCommands::*)(const auth::Principal&, const Req&,
                                                          Resp*, Effects&);
  template <typename Req, typename Resp, TypedHandler<Req, Resp> F>
  absl::Status Run(const auth::Principal& who, const internal::v1::LoggedCall& call,
                   std::string* reply, Effects& fx);

 public:
  // The write RPCs, by way of Apply.
  absl::Status CreatePartner(const auth::Principal&, const v1::CreatePartnerRequest&,
                             v1::CreatePartnerResponse*, Effects&);
  absl::Status UpdatePartner(const auth::Principal&, const v1::UpdatePartnerRequest&,
                             v1::UpdatePartnerResponse*, Effects&);
  absl::Status DeletePartner(const auth::Principal&, const v1::DeletePartnerRequest&,
                             v1::DeletePartnerResponse*, Effects&);
  absl::Status CreateProgram(const auth::Principal&, const v1::CreateProgramRequest&,
                             v1::CreateProgramResponse*, Effects&);
  absl::Status UpdateProgram(const auth::Principal&, const v1::UpdateProgramRequest&,
                             v1::UpdateProgramResponse*, Effects&);
  absl::Status DeleteProgram(const auth::Principal&, const v1::DeleteProgramRequest&,
                             v1::DeleteProgramResponse*, Effects&);
  absl::Status CreateEnrollment(const auth::Principal&, const v1::CreateEnrollmentRequest&,
                                v1::CreateEnrollmentResponse*, Effects&);
  absl::Status UpdateEnrollment(const auth::Principal&, const v1::UpdateEnrollmentRequest&,
                                v1::UpdateEnrollmentResponse*, Effects&);
  absl::Status StartEnrollmentOnboarding(const auth::Principal&,
                                         const v1::StartEnrollmentOnboardingRequest&,
                                         v1::StartEnrollmentOnboardingResponse*, Effects&);
  absl::Status ActivateEnrollment(const auth::Principal&, const v1::ActivateEnrollmentRequest&,
                                  v1::ActivateEnrollmentResponse*, Effects&);
  absl::Status SuspendEnrollment(const auth::Principal&, const v1::SuspendEnrollmentRequest&,
                                 v1::SuspendEnrollmentResponse*, Effects&);
  absl::Status TerminateEnrollment(const auth::Principal&, const v1::TerminateEnrollmentRequest&,
                                   v1::TerminateEnrollmentResponse*, Effects&);
  absl::Status EvaluateEnrollmentTier(const auth::Principal&,
                                      const v1::EvaluateEnrollmentTierRequest&,
                                      v1::EvaluateEnrollmentTierResponse*, Effects&);
  absl::Status GrantCompetency(const auth::Principal&, const v1::GrantCompetencyRequest&,
                               v1::GrantCompetencyResponse*, Effects&);
  absl::Status RenewCompetency(const auth::Principal&, const v1::RenewCompetencyRequest&,
                               v1::RenewCompetencyResponse*, Effects&);
  absl::Status RevokeCompetency(const auth::Principal&, const v1::RevokeCompetencyRequest&,
                                v1::RevokeCompetencyResponse*, Effects&);
  absl::Status AssignConcierge(const auth::Principal&, const v1::AssignConciergeRequest&,
                               v1::AssignConciergeResponse*, Effects&);

 private:
  absl::Status Transition(const auth::Principal& who, const std::string& vendor_id,
                          const std::string& partner_id, const std::string& etag,
                          EnrollmentState to, const std::string& reason, bool reason_required,
                          v1::Enrollment* out, Effects& fx);
  absl::StatusOr<Enrollment> ManagedEnrollment(const auth::Principal& who,
                                               const std::string& vendor_id,
                                               const std::string& partner_id);
  absl::Status ApplySaleRecorded(const std::string& payload, Effects& fx);
  absl::Status ApplyDealEvent(const std::string& type, const std::string& payload, Effects& fx);
  // Applies stored sales of the partner's accounts (at `vendor_id`, or every vendor when empty)
  // that can now be mapped.
  void ApplyPendingSales(const std::string& partner_id, const std::string& vendor_id,
                         Effects& fx);
  void ToResponse(const Enrollment& e, v1::Enrollment* out) const;
  // Forgets documents and pending sales older than the trailing window.
  void PruneSales(absl::Time now);

  const Clock& clock_;
  RegistryOptions options_;
  PartnerDirectory directory_;
  // ERP documents already applied (vendor \0 erp system \0 document id) with their sale time;
  // dropped once the sale time leaves the trailing window (such a sale no longer counts, so a
  // late duplicate of it has no effect either).
  absl::flat_hash_map<std::string, absl::Time> seen_documents_;
  // Sales of mapped accounts whose partner is not enrolled at the vendor yet, by vendor \0 erp
  // system \0 account; applied on enrollment.
  absl::flat_hash_map<std::string, std::vector<Sale>> pending_sales_;
  size_t pending_count_ = 0;
};

}  // namespace prm::partner
