#pragma once

// Which partner (partner-registry id) each ERP account of each vendor belongs to (SPEC §7.1),
// projected from the complete partner snapshots of prm.partner.v1 (PartnerCreated, PartnerUpdated
// with external_ids, PartnerDeleted). Sales are kept per account; a partner's series sums the
// accounts mapped to it when it is read. Plain C++; not thread-safe (the service serializes);
// deterministic.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace prm::forecast {

struct ErpAccount {
  std::string vendor_id;
  std::string erp_system_id;
  std::string account_id;
  friend auto operator<=>(const ErpAccount&, const ErpAccount&) = default;
};

// The segment dimensions of a partner that do not depend on the vendor (SPEC §7.5): primary type
// (Partner.types[0], 0 = none), primary region (sales_regions[0], else hq_country_code) and
// primary vertical (verticals[0], "" = none).
struct PartnerProfile {
  int partner_type = 0;
  std::string region;
  std::string vertical;
};

// A segment in a query: unset dimensions (0 or "") match every partner; "-" as tier or vertical
// matches partners without one.
struct SegmentFilter {
  int partner_type = 0;
  std::string tier_id;
  std::string region;
  std::string vertical;
};

class PartnerAccounts {
 public:
  // Replaces the partner's accounts (every vendor's) with `accounts` and its profile, unless
  // `version` is not newer than the partner's last applied event (a redelivered or stale
  // snapshot): then returns false and changes nothing. An account claimed by another partner
  // moves to this one.
  bool Set(const std::string& partner_id, int64_t version, const std::vector<ErpAccount>& accounts,
           const PartnerProfile& profile = {});

  // The partner's current tier at the vendor ("" = none), from TierChanged; false for a stale
  // enrollment version.
  bool SetTier(const std::string& vendor_id, const std::string& partner_id, int64_t version,
               const std::string& tier_id);

  // Partners with accounts at the vendor whose current segment matches `segment`, by id. The
  // segment is the partner's now, not as of each sale's date.
  std::vector<std::string> PartnersInSegment(const std::string& vendor_id,
                                             const SegmentFilter& segment) const;

  // The partner's primary type and current tier at the vendor (0 and "" when unknown).
  std::pair<int, std::string> TypeAndTier(const std::string& vendor_id,
                                          const std::string& partner_id) const;

  // The partner is gone: its accounts become unmapped (their sales stay in the vendor totals).
  // False for a stale version, as Set.
  bool Remove(const std::string& partner_id, int64_t version);

  // AccountKey values of the partner's accounts at `vendor_id` (empty when none).
  std::set<std::string> AccountKeys(const std::string& vendor_id,
                                    const std::string& partner_id) const;

  // The vendor's partners with accounts grouped by their current segment, every dimension set
  // ("-" for no tier or no vertical), segments in key order, partners by id.
  std::map<std::tuple<int, std::string, std::string, std::string>, std::vector<std::string>>
  Segments(const std::string& vendor_id) const;

  // AccountKey values of every account at `vendor_id` that some partner owns.
  std::set<std::string> OwnedAccountKeys(const std::string& vendor_id) const;

  // Partners with at least one account at `vendor_id`, by id.
  std::vector<std::string> PartnersOf(const std::string& vendor_id) const;

 private:
  struct PartnerEntry {
    int64_t version = 0;
    std::vector<ErpAccount> accounts;
    PartnerProfile profile;
  };
  struct TierEntry {
    int64_t version = 0;
    std::string tier_id;
  };

  void Unmap(PartnerEntry& entry, const std::string& partner_id);

  std::map<std::string, PartnerEntry> partners_;
  std::map<ErpAccount, std::string> owner_;
  std::map<std::pair<std::string, std::string>, TierEntry> tiers_;  // (vendor, partner)
};

}  // namespace prm::forecast
