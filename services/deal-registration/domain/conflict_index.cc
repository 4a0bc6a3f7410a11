#include "services/deal-registration/domain/conflict_index.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"

namespace prm::deal {
namespace {

std::vector<uint32_t> Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

IndexedRegistration ToIndexedRegistration(const Deal& deal, const CustomerIdentity& customer) {
  IndexedRegistration r;
  r.vendor_id = deal.vendor_id;
  r.deal_id = deal.deal_id;
  r.partner_id = deal.partner_id;
  r.state = deal.state;
  r.submit_time = deal.review.submit_time.value_or(deal.create_time);
  if (deal.state == DealState::kApproved) r.expire_time = deal.protection.expire_time;
  r.customer = customer;
  for (const ProductLine& line : deal.products) {
    r.skus.push_back(line.sku);
    r.categories.push_back(line.product_category);
  }
  return r;
}

uint64_t ConflictIndex::ChainHash(Chain chain, std::string_view vendor, std::string_view a,
                                  std::string_view b) {
  return absl::HashOf(static_cast<int>(chain), absl::string_view(vendor.data(), vendor.size()),
                      absl::string_view(a.data(), a.size()),
                      absl::string_view(b.data(), b.size()));
}

std::optional<uint64_t> ConflictIndex::SlotHash(const Slot& s, Chain chain) {
  switch (chain) {
    case kById:
      return ChainHash(chain, s.vendor_id, s.deal_id, "");
    case kByName:
      if (s.name_key.empty()) return std::nullopt;
      return ChainHash(chain, s.vendor_id, s.country_code, s.name_key);
    case kByDomain:
      if (s.registrable_domain.empty()) return std::nullopt;
      return ChainHash(chain, s.vendor_id, s.registrable_domain, "");
    case kByTax:
      if (s.tax_key.empty()) return std::nullopt;
      return ChainHash(chain, s.vendor_id, s.country_code, s.tax_key);
    case kChains:
      break;
  }
  return std::nullopt;
}

bool ConflictIndex::SameKey(const Slot& s, Chain chain, std::string_view vendor,
                            std::string_view a, std::string_view b) {
  if (s.vendor_id != vendor) return false;
  switch (chain) {
    case kById: return s.deal_id == a;
    case kByName: return s.country_code == a && s.name_key == b;
    case kByDomain: return s.registrable_domain == a;
    case kByTax: return s.country_code == a && s.tax_key == b;
    case kChains: break;
  }
  return false;
}

uint32_t ConflictIndex::FindSlot(std::string_view vendor_id, std::string_view deal_id) const {
  auto it = heads_[kById].find(ChainHash(kById, vendor_id, deal_id, ""));
  if (it == heads_[kById].end()) return kNil;
  for (uint32_t id = it->second; id != kNil; id = slots_[id].next[kById]) {
    if (SameKey(slots_[id], kById, vendor_id, deal_id, "")) return id;
  }
  return kNil;
}

void ConflictIndex::Link(uint32_t id) {
  Slot& s = slots_[id];
  for (int c = 0; c < kChains; ++c) {
    const auto chain = static_cast<Chain>(c);
    const std::optional<uint64_t> h = SlotHash(s, chain);
    if (!h) continue;
    auto [it, inserted] = heads_[c].try_emplace(*h, id);
    s.next[c] = inserted ? kNil : std::exchange(it->second, id);
  }
}

void ConflictIndex::Unlink(uint32_t id) {
  Slot& s = slots_[id];
  for (int c = 0; c < kChains; ++c) {
    const std::optional<uint64_t> h = SlotHash(s, static_cast<Chain>(c));
    if (!h) continue;
    auto it = heads_[c].find(*h);
    if (it == heads_[c].end()) continue;
    if (it->second == id) {
      if (s.next[c] == kNil) {
        heads_[c].erase(it);
      } else {
        it->second = s.next[c];
      }
    } else {
      for (uint32_t prev = it->second; prev != kNil; prev = slots_[prev].next[c]) {
        if (slots_[prev].next[c] == id) {
          slots_[prev].next[c] = s.next[c];
          break;
        }
      }
    }
    s.next[c] = kNil;
  }
}

std::vector<uint32_t> ConflictIndex::Intern(const std::vector<std::string>& values,
                                            absl::flat_hash_map<std::string, uint32_t>& ids,
                                            std::vector<std::string>& names) {
  std::vector<uint32_t> out;
  out.reserve(values.size());
  for (const std::string& v : values) {
    auto [it, inserted] = ids.try_emplace(v, static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(v);
    out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  out.shrink_to_fit();
  return out;
}

std::vector<uint32_t> ConflictIndex::Lookup(
    const std::vector<std::string>& values,
    const absl::flat_hash_map<std::string, uint32_t>& ids) const {
  std::vector<uint32_t> out;
  for (const std::string& v : values) {
    if (auto it = ids.find(v); it != ids.end()) out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void ConflictIndex::Upsert(IndexedRegistration r) {
  Remove(r.vendor_id, r.deal_id);
  if (!IsActive(r.state)) return;
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[id];
  s.vendor_id = std::move(r.vendor_id);
  s.deal_id = std::move(r.deal_id);
  s.partner_id = std::move(r.partner_id);
  s.country_code = std::move(r.customer.country_code);
  s.name_key = std::move(r.customer.name_key);
  s.registrable_domain = std::move(r.customer.registrable_domain);
  s.tax_key = std::move(r.customer.tax_key);
  s.skus = Intern(r.skus, sku_ids_, sku_names_);
  s.categories = Intern(r.categories, category_ids_, category_names_);
  s.submit_time = r.submit_time;
  s.expire_time = r.expire_time;
  s.state = r.state;
  s.live = true;
  Link(id);
  ++live_;
}

bool ConflictIndex::Remove(std::string_view vendor_id, std::string_view deal_id) {
  const uint32_t id = FindSlot(vendor_id, deal_id);
  if (id == kNil) return false;
  Unlink(id);
  slots_[id] = Slot{};
  free_.push_back(id);
  --live_;
  return true;
}

std::vector<ConflictMatch> ConflictIndex::FindConflicts(const IndexedRegistration& probe,
                                                        absl::Time now) const {
  // Candidates: (slot, bit mask of matched customer identities).
  std::vector<std::pair<uint32_t, unsigned>> candidates;
  auto collect = [&](Chain chain, std::string_view a, std::string_view b) {
    auto it = heads_[chain].find(ChainHash(chain, probe.vendor_id, a, b));
    if (it == heads_[chain].end()) return;
    for (uint32_t id = it->second; id != kNil; id = slots_[id].next[chain]) {
      if (SameKey(slots_[id], chain, probe.vendor_id, a, b)) {
        candidates.emplace_back(id, 1u << chain);
      }
    }
  };
  const CustomerIdentity& c = probe.customer;
  if (!c.name_key.empty()) collect(kByName, c.country_code, c.name_key);
  if (!c.registrable_domain.empty()) collect(kByDomain, c.registrable_domain, "");
  if (!c.tax_key.empty()) collect(kByTax, c.country_code, c.tax_key);
  if (candidates.empty()) return {};
  // A registration found through several identities appears once with every reason.
  std::sort(candidates.begin(), candidates.end());
  size_t kept = 0;
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (kept > 0 && candidates[kept - 1].first == candidates[k].first) {
      candidates[kept - 1].second |= candidates[k].second;
    } else {
      candidates[kept++] = candidates[k];
    }
  }
  candidates.resize(kept);

  const std::vector<uint32_t> skus = Lookup(probe.skus, sku_ids_);
  const std::vector<uint32_t> categories = Lookup(probe.categories, category_ids_);
  std::vector<ConflictMatch> out;
  for (const auto& [id, mask] : candidates) {
    const Slot& s = slots_[id];
    if (s.deal_id == probe.deal_id) continue;
    if (s.state == DealState::kApproved && s.expire_time && *s.expire_time <= now) continue;
    const std::vector<uint32_t> common_skus = Intersect(s.skus, skus);
    const std::vector<uint32_t> common_categories = Intersect(s.categories, categories);
    if (common_skus.empty() && common_categories.empty()) continue;
    ConflictMatch m;
    m.deal_id = s.deal_id;
    m.partner_id = s.partner_id;
    m.state = s.state;
    m.submit_time = s.submit_time;
    m.expire_time = s.expire_time;
    if (mask & (1u << kByName)) {
      m.reasons.push_back({ConflictReasonKind::kCustomerLegalName, s.name_key});
    }
    if (mask & (1u << kByDomain)) {
      m.reasons.push_back({ConflictReasonKind::kCustomerWebDomain, s.registrable_domain});
    }
    if (mask & (1u << kByTax)) {
      m.reasons.push_back({ConflictReasonKind::kCustomerTaxId, s.tax_key});
    }
    for (uint32_t sku : common_skus) {
      m.reasons.push_back({ConflictReasonKind::kProductSku, sku_names_[sku]});
    }
    for (uint32_t cat : common_categories) {
      m.reasons.push_back({ConflictReasonKind::kProductCategory, category_names_[cat]});
    }
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const ConflictMatch& a, const ConflictMatch& b) {
    return a.submit_time != b.submit_time ? a.submit_time < b.submit_time : a.deal_id < b.deal_id;
  });
  return out;
}

}  // namespace prm::deal
