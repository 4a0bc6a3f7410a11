#include "services/forecast/domain/partner_accounts.h"

#include <algorithm>

namespace prm::forecast {

void PartnerAccounts::Unmap(PartnerEntry& entry, const std::string& partner_id) {
  for (const ErpAccount& account : entry.accounts) {
    auto it = owner_.find(account);
    if (it != owner_.end() && it->second == partner_id) owner_.erase(it);
  }
  entry.accounts.clear();
}

bool PartnerAccounts::Set(const std::string& partner_id, int64_t version,
                          const std::vector<ErpAccount>& accounts,
                          const PartnerProfile& profile) {
  PartnerEntry& entry = partners_[partner_id];
  if (version <= entry.version) return false;
  Unmap(entry, partner_id);
  entry.version = version;
  entry.profile = profile;
  for (const ErpAccount& account : accounts) {
    auto [it, inserted] = owner_.try_emplace(account, partner_id);
    if (!inserted && it->second != partner_id) {
      // The account moved: the previous owner no longer lists it.
      auto previous = partners_.find(it->second);
      if (previous != partners_.end()) std::erase(previous->second.accounts, account);
      it->second = partner_id;
    }
    entry.accounts.push_back(account);
  }
  return true;
}

bool PartnerAccounts::Remove(const std::string& partner_id, int64_t version) {
  PartnerEntry& entry = partners_[partner_id];
  if (version <= entry.version) return false;
  Unmap(entry, partner_id);
  entry.version = version;
  return true;
}

std::set<std::string> PartnerAccounts::AccountKeys(const std::string& vendor_id,
                                                   const std::string& partner_id) const {
  std::set<std::string> keys;
  auto it = partners_.find(partner_id);
  if (it == partners_.end()) return keys;
  for (const ErpAccount& account : it->second.accounts) {
    if (account.vendor_id == vendor_id) {
      keys.insert(AccountKey(account.erp_system_id, account.account_id));
    }
  }
  return keys;
}

std::map<PartnerAccounts::SegmentKey, PartnerAccounts::SegmentMembers> PartnerAccounts::Segments(
    const std::string& vendor_id) const {
  std::map<SegmentKey, SegmentMembers> segments;
  for (const std::string& partner_id : PartnersOf(vendor_id)) {
    const PartnerProfile& p = partners_.at(partner_id).profile;
    const std::string vertical = p.vertical.empty() ? "-" : p.vertical;
    const auto timeline = TierTimeline(vendor_id, partner_id);
    for (size_t i = 0; i < timeline.size(); ++i) {
      const std::string& tier = timeline[i].second;
      SegmentMembers& members =
          segments[{p.partner_type, tier.empty() ? "-" : tier, p.region, vertical}];
      const absl::CivilDay end = i + 1 < timeline.size() ? timeline[i + 1].first : kEndDay;
      members.days[partner_id].emplace_back(timeline[i].first, end);
      if (i + 1 == timeline.size()) members.current.push_back(partner_id);
    }
  }
  return segments;
}

std::set<std::string> PartnerAccounts::OwnedAccountKeys(const std::string& vendor_id) const {
  std::set<std::string> keys;
  for (auto it = owner_.lower_bound(ErpAccount{vendor_id, "", ""});
       it != owner_.end() && it->first.vendor_id == vendor_id; ++it) {
    keys.insert(AccountKey(it->first.erp_system_id, it->first.account_id));
  }
  return keys;
}

const std::string& PartnerAccounts::OwnerOf(const ErpAccount& account) const {
  static const std::string kNone;
  auto it = owner_.find(account);
  return it == owner_.end() ? kNone : it->second;
}

std::set<std::string> PartnerAccounts::VendorsOf(const std::string& partner_id) const {
  std::set<std::string> vendors;
  auto it = partners_.find(partner_id);
  if (it == partners_.end()) return vendors;
  for (const ErpAccount& account : it->second.accounts) vendors.insert(account.vendor_id);
  return vendors;
}

std::vector<std::string> PartnerAccounts::PartnersOf(const std::string& vendor_id) const {
  std::set<std::string> partners;
  for (auto it = owner_.lower_bound(ErpAccount{vendor_id, "", ""});
       it != owner_.end() && it->first.vendor_id == vendor_id; ++it) {
    partners.insert(it->second);
  }
  return {partners.begin(), partners.end()};
}

bool PartnerAccounts::SetTier(const std::string& vendor_id, const std::string& partner_id,
                              int64_t version, const std::string& from_tier_id,
                              const std::string& to_tier_id, absl::Time effective) {
  return tiers_[{vendor_id, partner_id}]
      .try_emplace(version, TierChange{absl::ToCivilDay(effective, absl::UTCTimeZone()),
                                       from_tier_id, to_tier_id})
      .second;
}

const std::string& PartnerAccounts::CurrentTier(const std::string& vendor_id,
                                                const std::string& partner_id) const {
  static const std::string kNone;
  auto it = tiers_.find({vendor_id, partner_id});
  return it == tiers_.end() || it->second.empty() ? kNone : it->second.rbegin()->second.to_tier_id;
}

std::vector<std::pair<absl::CivilDay, std::string>> PartnerAccounts::TierTimeline(
    const std::string& vendor_id, const std::string& partner_id) const {
  auto it = tiers_.find({vendor_id, partner_id});
  if (it == tiers_.end() || it->second.empty()) return {{kFirstDay, ""}};
  std::vector<std::pair<absl::CivilDay, std::string>> timeline = {
      {kFirstDay, it->second.begin()->second.from_tier_id}};
  for (const auto& [version, change] : it->second) {
    // Versions order the changes; a change stamped earlier than the one before it counts from
    // that one's day.
    const absl::CivilDay day = std::max(change.day, timeline.back().first);
    if (day == timeline.back().first) {
      timeline.back().second = change.to_tier_id;
    } else {
      timeline.emplace_back(day, change.to_tier_id);
    }
    // Consecutive days in the same tier are one entry.
    if (timeline.size() > 1 && timeline[timeline.size() - 2].second == timeline.back().second) {
      timeline.pop_back();
    }
  }
  return timeline;
}

namespace {

// Whether a segment dimension set to `want` ("" = any, "-" = none) matches `have`.
bool Matches(const std::string& want, const std::string& have) {
  return want.empty() || (want == "-" ? have.empty() : want == have);
}

}  // namespace

std::vector<std::string> PartnerAccounts::PartnersInSegment(const std::string& vendor_id,
                                                            const SegmentFilter& segment) const {
  std::vector<std::string> matching;
  for (const std::string& partner_id : PartnersOf(vendor_id)) {
    const PartnerProfile& p = partners_.at(partner_id).profile;
    if (segment.partner_type != 0 && segment.partner_type != p.partner_type) continue;
    if (!Matches(segment.tier_id, CurrentTier(vendor_id, partner_id))) continue;
    if (!Matches(segment.vertical, p.vertical)) continue;
    if (!segment.region.empty() && segment.region != p.region) continue;
    matching.push_back(partner_id);
  }
  return matching;
}

std::map<std::string, DaySpans> PartnerAccounts::PartnerDaysInSegment(
    const std::string& vendor_id, const SegmentFilter& segment) const {
  std::map<std::string, DaySpans> matching;
  for (const std::string& partner_id : PartnersOf(vendor_id)) {
    const PartnerProfile& p = partners_.at(partner_id).profile;
    if (segment.partner_type != 0 && segment.partner_type != p.partner_type) continue;
    if (!Matches(segment.vertical, p.vertical)) continue;
    if (!segment.region.empty() && segment.region != p.region) continue;
    const auto timeline = TierTimeline(vendor_id, partner_id);
    DaySpans days;
    for (size_t i = 0; i < timeline.size(); ++i) {
      if (!Matches(segment.tier_id, timeline[i].second)) continue;
      const absl::CivilDay end = i + 1 < timeline.size() ? timeline[i + 1].first : kEndDay;
      if (!days.empty() && days.back().second == timeline[i].first) {
        days.back().second = end;
      } else {
        days.emplace_back(timeline[i].first, end);
      }
    }
    if (!days.empty()) matching.emplace(partner_id, std::move(days));
  }
  return matching;
}

std::pair<int, std::string> PartnerAccounts::TypeAndTier(const std::string& vendor_id,
                                                         const std::string& partner_id) const {
  std::pair<int, std::string> result;
  if (auto p = partners_.find(partner_id); p != partners_.end()) {
    result.first = p->second.profile.partner_type;
  }
  result.second = CurrentTier(vendor_id, partner_id);
  return result;
}

}  // namespace prm::forecast
