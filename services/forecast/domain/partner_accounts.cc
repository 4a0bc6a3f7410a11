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
                          const std::vector<ErpAccount>& accounts) {
  PartnerEntry& entry = partners_[partner_id];
  if (version <= entry.version) return false;
  Unmap(entry, partner_id);
  entry.version = version;
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

std::vector<std::string> PartnerAccounts::PartnersOf(const std::string& vendor_id) const {
  std::set<std::string> partners;
  for (auto it = owner_.lower_bound(ErpAccount{vendor_id, "", ""});
       it != owner_.end() && it->first.vendor_id == vendor_id; ++it) {
    partners.insert(it->second);
  }
  return {partners.begin(), partners.end()};
}

}  // namespace prm::forecast
