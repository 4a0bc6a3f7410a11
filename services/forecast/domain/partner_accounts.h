#pragma once

// Which partner (partner-registry id) each ERP account of each vendor belongs to (SPEC §7.1),
// projected from the complete partner snapshots of prm.partner.v1 (PartnerCreated, PartnerUpdated
// with external_ids, PartnerDeleted), and each partner's tier at each vendor over time
// (TierChanged). Sales are kept per account; a partner's series sums the accounts mapped to it
// when it is read, and a segment's series counts each day's sales in the tier the partner held on
// that day. Plain C++; not thread-safe (the service serializes); deterministic.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/forecast/domain/sales_ledger.h"

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

  // Records a tier change of the partner at the vendor (TierChanged): the enrollment version
  // after it, the tiers before and after ("" = none) and when it took effect. Changes may arrive
  // in any order; the one with the highest version gives the current tier. False when this
  // version was recorded before (nothing changes).
  bool SetTier(const std::string& vendor_id, const std::string& partner_id, int64_t version,
               const std::string& from_tier_id, const std::string& to_tier_id,
               absl::Time effective);

  // The partner's tier at the vendor day by day (UTC): (first day, tier) in order, the first
  // from kFirstDay. Before its first known change a partner held that change's "from" tier; a
  // change counts from the day it took effect, and the last change of a day wins that day.
  // One entry ("" = none) when no change is known.
  std::vector<std::pair<absl::CivilDay, std::string>> TierTimeline(
      const std::string& vendor_id, const std::string& partner_id) const;

  // Partners with accounts at the vendor whose current segment matches `segment`, by id.
  std::vector<std::string> PartnersInSegment(const std::string& vendor_id,
                                             const SegmentFilter& segment) const;

  // Partners with accounts at the vendor whose segment matched `segment` on some day, each with
  // those days (SPEC §7.1: type, region and vertical are the partner's current ones; the tier is
  // the one it held that day). Every day when the segment sets no tier.
  std::map<std::string, DaySpans> PartnerDaysInSegment(const std::string& vendor_id,
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

  // A segment of Segments(): the partners in it now and every partner that was in it on some
  // day, with those days.
  struct SegmentMembers {
    std::vector<std::string> current;  // by id
    std::map<std::string, DaySpans> days;
  };
  using SegmentKey = std::tuple<int, std::string, std::string, std::string>;

  // The vendor's segments (type, tier, region, vertical; every dimension set, "-" for no tier or
  // no vertical) that a partner with accounts there is in now or was in on some day, in key
  // order.
  std::map<SegmentKey, SegmentMembers> Segments(const std::string& vendor_id) const;

  // AccountKey values of every account at `vendor_id` that some partner owns.
  std::set<std::string> OwnedAccountKeys(const std::string& vendor_id) const;

  // The partner owning the account ("" when none does).
  const std::string& OwnerOf(const ErpAccount& account) const;

  // The vendors at which the partner has accounts.
  std::set<std::string> VendorsOf(const std::string& partner_id) const;

  // Partners with at least one account at `vendor_id`, by id.
  std::vector<std::string> PartnersOf(const std::string& vendor_id) const;

 private:
  struct PartnerEntry {
    int64_t version = 0;
    std::vector<ErpAccount> accounts;
    PartnerProfile profile;
  };
  struct TierChange {
    absl::CivilDay day;  // UTC day it took effect
    std::string from_tier_id;
    std::string to_tier_id;
  };

  void Unmap(PartnerEntry& entry, const std::string& partner_id);
  const std::string& CurrentTier(const std::string& vendor_id,
                                 const std::string& partner_id) const;

  std::map<std::string, PartnerEntry> partners_;
  std::map<ErpAccount, std::string> owner_;
  // (vendor, partner) → tier changes by enrollment version.
  std::map<std::pair<std::string, std::string>, std::map<int64_t, TierChange>> tiers_;
};

}  // namespace prm::forecast
