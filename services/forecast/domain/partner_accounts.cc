#include "services/forecast/domain/partner_accounts.h"

#include "services/forecast/domain/sales_ledger.h"

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

std::map<std::tuple<int, std::string, std::string, std::string>, std::vector<std::string>>
PartnerAccounts::Segments(const std::string& vendor_id) const {
  std::map<std::tuple<int, std::string, std::string, std::string>, std::vector<std::string>>
      segments;
  for (const std::string& partner_id : PartnersOf(vendor_id)) {
    const PartnerProfile& p = partners_.at(partner_id).profile;
    auto tier = tiers_.find({vendor_id, partner_id});
    const std::string tier_id =
        tier == tiers_.end() || tier->second.tier_id.empty() ? "-" : tier->second.tier_id;
    segments[{p.partner_type, tier_id, p.region, p.vertical.empty() ? "-" : p.vertical}]
        .push_back(partner_id);
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

std::vector<std::string> PartnerAccounts::PartnersOf(const std::string& vendor_id) const {
  std::set<std::string> partners;
  for (auto it = owner_.lower_bound(ErpAccount{vendor_id, "", ""});
       it != owner_.end() && it->first.vendor_id == vendor_id; ++it) {
    partners.insert(it->second);
  }
  return {partners.begin(), partners.end()};
}

bool PartnerAccounts::SetTier(const std::string& vendor_id, const std::string& partner_id,
                              int64_t version, const std::string& tier_id) {
  TierEntry& entry = tiers_[{vendor_id, partner_id}];
  if (version <= entry.version) return false;
  entry.version = version;
  entry.tier_id = tier_id;
  return true;
}

std::vector<std::string> PartnerAccounts::PartnersInSegment(const std::string& vendor_id,
                                                            const SegmentFilter& segment) const {
  std::vector<std::string> matching;
  for (const std::string& partner_id : PartnersOf(vendor_id)) {
    const PartnerProfile& p = partners_.at(partner_id).profile;
    auto tier = tiers_.find({vendor_id, partner_id});
    const std::string tier_id = tier == tiers_.end() ? "" : tier->second.tier_id;
    auto matches = [](const std::string& want, const std::string& have) {
      return want.empty() || (want == "-" ? have.empty() : want == have);
    };
    if (segment.partner_type != 0 && segment.partner_type != p.partner_type) continue;
    if (!matches(segment.tier_id, tier_id) || !matches(segment.vertical, p.vertical)) continue;
    if (!segment.region.empty() && segment.region != p.region) continue;
    matching.push_back(partner_id);
  }
  return matching;
}

std::pair<int, std::string> PartnerAccounts::TypeAndTier(const std::string& vendor_id,
                                                         const std::string& partner_id) const {
  std::pair<int, std::string> result;
  if (auto p = partners_.find(partner_id); p != partners_.end()) {
    result.first = p->second.profile.partner_type;
  }
  if (auto t = tiers_.find({vendor_id, partner_id}); t != tiers_.end()) {
    result.second = t->second.tier_id;
  }
  return result;
}

}  // namespace prm::forecast
