#pragma once

// What deal-registration keeps of partner-registry's events (prm.partner.v1): the partners' ERP
// account numbers (to map a SaleRecorded to a partner) and types, and each enrollment's program,
// state, tier rank and the tier's protection days (for submission, auto-approval and approval).
// Built only from consumed events, which the command log replays, so it is rebuilt at start-up
// like the deals.
//
// Thread safety: not thread-safe; the owner (DurableDealBook) locks.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "services/deal-registration/domain/deal_lifecycle.h"

namespace prm::deal {

struct EnrollmentView {
  std::string program_id;
  prm::partner::v1::EnrollmentState state = prm::partner::v1::ENROLLMENT_STATE_UNSPECIFIED;
  int32_t tier_rank = 0;
  std::optional<int32_t> protection_days;
  int64_t version = 0;  // the enrollment aggregate's version last applied
};

class PartnerProjection {
 public:
  // Partner identity: external ids and types. Older versions than the one held are ignored.
  void ApplyPartner(const prm::partner::v1::Partner& partner);
  // Enrollment snapshot (EnrollmentStateChanged, EnrollmentUpdated); older versions ignored.
  void ApplyEnrollment(const prm::partner::v1::Enrollment& enrollment);
  void ApplyTierChanged(const prm::partner::v1::TierChanged& changed);

  // The partner whose ERP account `account_id` at (vendor, erp system) is, if known.
  std::optional<std::string> PartnerForAccount(std::string_view vendor_id,
                                               std::string_view erp_system_id,
                                               std::string_view account_id) const;
  // The enrollment of the partner at the vendor, if any event named it.
  std::optional<EnrollmentView> Enrollment(std::string_view vendor_id,
                                           std::string_view partner_id) const;
  // What the domain needs of the partner at the vendor; defaults when nothing is known.
  PartnerFacts FactsFor(std::string_view vendor_id, std::string_view partner_id) const;

 private:
  static std::string Key(std::string_view a, std::string_view b, std::string_view c = "");

  struct PartnerView {
    int64_t version = 0;
    std::vector<int32_t> types;
    std::vector<std::string> account_keys;  // Key(vendor, erp system, account)
  };
  absl::flat_hash_map<std::string, PartnerView> partners_;          // by partner id
  absl::flat_hash_map<std::string, std::string> accounts_;         // account key → partner id
  absl::flat_hash_map<std::string, EnrollmentView> enrollments_;    // Key(vendor, partner)
};

}  // namespace prm::deal
