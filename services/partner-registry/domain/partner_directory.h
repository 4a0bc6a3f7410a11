#pragma once

// PartnerDirectory: the in-memory aggregate root of partner-registry. It owns partners (with their
// identity index and ERP account map), programs and enrollments, applies each command atomically
// (all of its changes or none) and returns the domain events the command produced, in order, for
// the adapter to persist with the state in one transaction (outbox).
//
// Time comes from the injected Clock; ids from the injected generator. Idempotency of commands
// (request_id) and of consumed events (CloudEvents source+id) is the runtime's job; the commands
// here are deterministic given the clock, so a replay of the same inputs yields the same state.
//
// Thread-safe: commands take an exclusive lock, reads a shared one. The clock must outlive it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/time/clock.h"
#include "services/partner-registry/domain/enrollment.h"
#include "services/partner-registry/domain/events.h"
#include "services/partner-registry/domain/identity.h"
#include "services/partner-registry/domain/partner.h"
#include "services/partner-registry/domain/partner_finder.h"
#include "services/partner-registry/domain/program.h"

namespace prm::partner {

using Events = std::vector<DomainEvent>;

struct PartnerResult {
  Partner partner;
  std::vector<IdentityWarning> warnings;  // e.g. a similar legal name; not an error
  Events events;
};

struct ProgramResult {
  Program program;
  Events events;  // ProgramCreated/Updated, then TierChanged of re-evaluated enrollments
};

class PartnerDirectory {
 public:
  // `new_id(kind)` returns a fresh id for kind "partner" or "program"; the default gives
  // "<kind>-<n>" from a counter.
  explicit PartnerDirectory(const Clock& clock,
                            std::function<std::string(std::string_view kind)> new_id = nullptr);

  // Partners. INVALID_ARGUMENT (every bad field), ALREADY_EXISTS naming the existing partner for
  // a shared tax id, web domain or external id. The partner is canonicalized first (domains
  // normalized). Emits PartnerCreated.
  absl::StatusOr<PartnerResult> CreatePartner(Partner partner, std::string creator_vendor_id);
  // Replaces the partner's fields (partner_id selects it). NOT_FOUND; ABORTED when partner.etag
  // is set and stale; INVALID_ARGUMENT; ALREADY_EXISTS as on create. Emits PartnerUpdated.
  absl::StatusOr<PartnerResult> UpdatePartner(Partner partner);
  absl::StatusOr<Partner> GetPartner(std::string_view partner_id) const;
  // FAILED_PRECONDITION (in use) while the partner has an enrollment that is not TERMINATED;
  // NOT_FOUND; ABORTED when etag is set and stale. Frees its tax id, domains and external ids.
  // Emits PartnerDeleted.
  absl::StatusOr<Events> DeletePartner(std::string_view partner_id, std::string_view etag);
  // LookupPartner's keys; nullopt when no partner has it.
  std::optional<std::string> FindPartnerByExternalId(const ExternalId& external_id) const;
  std::optional<std::string> FindPartnerByTaxId(std::string_view tax_id) const;
  std::optional<std::string> FindPartnerByWebDomain(std::string_view domain) const;
  // Partners `who` may read (access.h), redacted, by partner id.
  std::vector<Partner> ListPartnersFor(const auth::Principal& who) const;

  // Programs. INVALID_ARGUMENT; UpdateProgram: NOT_FOUND, ABORTED on a stale etag; re-evaluates
  // every enrollment of the program (trigger PROGRAM).
  absl::StatusOr<ProgramResult> CreateProgram(Program program);
  absl::StatusOr<ProgramResult> UpdateProgram(Program program);
  absl::StatusOr<Program> GetProgram(std::string_view vendor_id,
                                     std::string_view program_id) const;
  // The vendor's programs by program id.
  std::vector<Program> ListPrograms(std::string_view vendor_id) const;
  // FAILED_PRECONDITION (in use) while an enrollment in it is not TERMINATED; NOT_FOUND; ABORTED
  // on a stale etag. Emits ProgramDeleted.
  absl::StatusOr<Events> DeleteProgram(std::string_view vendor_id, std::string_view program_id,
                                       std::string_view etag);

  // Enrollments. NOT_FOUND for an unknown partner, program or enrollment; ALREADY_EXISTS when
  // the partner is already enrolled at the vendor; FAILED_PRECONDITION when the partner's types
  // are not eligible for the program. Other codes as on Enrollment's methods.
  absl::StatusOr<Events> Enroll(std::string_view vendor_id, std::string_view partner_id,
                                std::string_view program_id);
  absl::StatusOr<Events> Transition(std::string_view vendor_id, std::string_view partner_id,
                                    EnrollmentState to, std::string_view reason);
  // Enrollment::ChangeProgram to the vendor's program `program_id`: INVALID_ARGUMENT
  // "program_id" when the vendor has no such program (another vendor's program included);
  // FAILED_PRECONDITION when the partner's types are not eligible for it.
  absl::StatusOr<Events> ChangeProgram(std::string_view vendor_id, std::string_view partner_id,
                                       std::string_view program_id);
  absl::StatusOr<Events> GrantCompetency(std::string_view vendor_id, std::string_view partner_id,
                                         Competency competency);
  absl::StatusOr<Events> RenewCompetency(std::string_view vendor_id, std::string_view partner_id,
                                         std::string_view competency_id,
                                         absl::Time new_expire_time,
                                         std::optional<int> level = std::nullopt,
                                         std::optional<int> certified_people = std::nullopt);
  absl::StatusOr<Events> RevokeCompetency(std::string_view vendor_id, std::string_view partner_id,
                                          std::string_view competency_id,
                                          std::string_view reason);
  absl::StatusOr<Events> SetPoints(std::string_view vendor_id, std::string_view partner_id,
                                   int64_t points);
  absl::StatusOr<Events> SetLeadOptOut(std::string_view vendor_id, std::string_view partner_id,
                                       bool opt_out);
  absl::StatusOr<Events> AssignConcierge(std::string_view vendor_id, std::string_view partner_id,
                                         std::string worker_id);
  absl::StatusOr<Events> SetChannelManager(std::string_view vendor_id,
                                           std::string_view partner_id, std::string worker_id);
  absl::StatusOr<Events> SetEnrollmentAttributes(std::string_view vendor_id,
                                                 std::string_view partner_id,
                                                 std::map<std::string, std::string> attributes);
  absl::StatusOr<Events> EvaluateTier(std::string_view vendor_id, std::string_view partner_id);

  // A sales event from the vendor's ERP: the account is mapped to the partner through its
  // external ids (NOT_FOUND when unmapped or not enrolled at the vendor). TierChanged may follow.
  absl::StatusOr<Events> ApplySale(std::string_view vendor_id, std::string_view erp_system_id,
                                   std::string_view account_id, const Sale& sale);
  absl::StatusOr<Events> ApplyDealOutcome(std::string_view vendor_id,
                                          std::string_view partner_id, const DealOutcome& outcome);

  // Time passes for every enrollment (Enrollment::Tick): expiring and expired competencies, the
  // moving trailing window, downgrades whose grace ended. `state_changed`, when given, is set to
  // whether the tick changed what later commands depend on: it emitted events, or started,
  // retargeted or cancelled a pending downgrade (which emits none). A tick that changed nothing
  // need not be logged for replay.
  Events Tick(bool* state_changed = nullptr);

  // Reads. NOT_FOUND when absent.
  absl::StatusOr<Enrollment> GetEnrollment(std::string_view vendor_id,
                                           std::string_view partner_id) const;
  absl::StatusOr<EnrollmentAsOf> GetEnrollmentAsOf(std::string_view vendor_id,
                                                   std::string_view partner_id,
                                                   absl::Time as_of) const;
  // The hot read path (GetPartner, GetEnrollment): calls `read` with the object as stored, under
  // the shared lock and without a copy, when it exists and `who` may read it (access.h);
  // otherwise NOT_FOUND, the same for absent and denied. `read` must not call the directory.
  // The partner is not redacted: hide what CanSeeExternalIdsOf refuses.
  absl::Status ReadPartnerFor(const auth::Principal& who, std::string_view partner_id,
                              absl::FunctionRef<void(const Partner&)> read) const;
  absl::Status ReadEnrollmentFor(const auth::Principal& who, std::string_view vendor_id,
                                 std::string_view partner_id,
                                 absl::FunctionRef<void(const Enrollment&)> read) const;
  // As GetEnrollment, but NOT_FOUND also when `who` may not read it (access.h), so a denial
  // leaks nothing.
  absl::StatusOr<Enrollment> GetEnrollmentFor(const auth::Principal& who,
                                              std::string_view vendor_id,
                                              std::string_view partner_id) const;
  // The partner as `who` may see it (external ids of other vendors removed); NOT_FOUND when
  // absent or not visible.
  absl::StatusOr<Partner> GetPartnerFor(const auth::Principal& who,
                                        std::string_view partner_id) const;
  // The partner's enrollments `who` may read, by vendor id.
  std::vector<Enrollment> ListEnrollmentsFor(const auth::Principal& who,
                                             std::string_view partner_id) const;
  // The vendor's enrollments by partner id.
  std::vector<Enrollment> ListEnrollments(std::string_view vendor_id) const;
  // Vendors the partner is enrolled at or was created by.
  std::vector<std::string> VendorsOf(std::string_view partner_id) const;

  // FindPartners over the ACTIVE, not opted-out enrollments of `vendor_id` (partner_finder.h).
  absl::StatusOr<std::vector<LeadMatches>> FindPartners(std::string_view vendor_id,
                                                        const std::vector<Lead>& leads,
                                                        const FindOptions& options) const;

 private:
  using EnrollmentCommand = std::function<absl::Status(Enrollment&, const Program&, absl::Time,
                                                       Events&)>;
  absl::StatusOr<Events> MutateEnrollment(std::string_view vendor_id,
                                          std::string_view partner_id,
                                          const EnrollmentCommand& command);
  // As MutateEnrollment with mu_ already held exclusively.
  absl::StatusOr<Events> MutateEnrollmentLocked(std::string_view vendor_id,
                                                std::string_view partner_id,
                                                const EnrollmentCommand& command);
  const Program* ProgramOf(const Enrollment& e) const;
  void RefreshCandidate(const Enrollment& e);
  static std::string Key(std::string_view a, std::string_view b);
  static std::string Etag(int64_t version, absl::Time t);

  const Clock& clock_;
  std::function<std::string(std::string_view)> new_id_;
  int64_t next_id_ = 1;
  mutable std::shared_mutex mu_;
  absl::node_hash_map<std::string, Partner> partners_;
  absl::flat_hash_map<std::string, std::vector<std::string>> vendors_by_partner_;
  IdentityIndex identity_;
  absl::node_hash_map<std::string, Program> programs_;       // vendor \0 program
  absl::node_hash_map<std::string, Enrollment> enrollments_;  // vendor \0 partner
  PartnerFinder finder_;
};

}  // namespace prm::partner
