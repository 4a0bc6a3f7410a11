#pragma once

// The conflict index (SPEC §5.3): per vendor, the active registrations (SUBMITTED,
// UNDER_REVIEW, APPROVED and unexpired) hashed by normalized legal name + country, registrable
// web domain, and tax id + country.
//
// A conflict is: same vendor, a different deal, the same end customer by at least one of the
// three identities, and at least one common SKU or product category. Registrations of other
// vendors never conflict. Lookups cost a few hash probes plus the registrations of the same
// customer — independent of how many registrations the index holds.
//
// Thread safety: not thread-safe. Const methods may run concurrently with each other; any
// mutation needs exclusive access (the owner, e.g. DealBook, holds a lock).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "services/deal-registration/domain/customer_identity.h"
#include "services/deal-registration/domain/deal.h"

namespace prm::deal {

enum class ConflictReasonKind {
  kUnspecified = 0,
  kCustomerLegalName = 1,
  kCustomerWebDomain = 2,
  kCustomerTaxId = 3,
  kProductSku = 4,
  kProductCategory = 5,
};

struct ConflictReason {
  ConflictReasonKind kind = ConflictReasonKind::kUnspecified;
  std::string matched_value;  // normalized: name key, registrable domain, tax id, SKU, category
  friend bool operator==(const ConflictReason&, const ConflictReason&) = default;
};

// What the index knows of one registration.
struct IndexedRegistration {
  std::string vendor_id;
  std::string deal_id;
  std::string partner_id;
  DealState state = DealState::kUnspecified;
  absl::Time submit_time;
  std::optional<absl::Time> expire_time;  // APPROVED: inactive from this instant on
  CustomerIdentity customer;
  std::vector<std::string> skus;
  std::vector<std::string> categories;
};

// One earlier (or other) registration a probe conflicts with. Vendor staff see all of it; a
// partner may only learn that the list is non-empty.
struct ConflictMatch {
  std::string deal_id;
  std::string partner_id;
  DealState state = DealState::kUnspecified;
  absl::Time submit_time;
  std::optional<absl::Time> expire_time;
  // Customer reasons (name, domain, tax id) first, then SKUs, then categories; never empty of
  // either group.
  std::vector<ConflictReason> reasons;
};

// Builds the index entry of a deal from its customer identity.
IndexedRegistration ToIndexedRegistration(const Deal& deal, const CustomerIdentity& customer);

class ConflictIndex {
 public:
  ConflictIndex() = default;
  ConflictIndex(const ConflictIndex&) = delete;
  ConflictIndex& operator=(const ConflictIndex&) = delete;

  // Adds (vendor_id, deal_id), replacing a previous entry of the same deal. A registration in a
  // state that is not active is removed instead.
  void Upsert(IndexedRegistration registration);

  // Removes (vendor_id, deal_id); false when it was not indexed.
  bool Remove(std::string_view vendor_id, std::string_view deal_id);

  // Active registrations of probe.vendor_id other than probe.deal_id that conflict with the
  // probe at `now` (an APPROVED one with expire_time <= now is not active), ordered by
  // submit_time then deal_id.
  std::vector<ConflictMatch> FindConflicts(const IndexedRegistration& probe, absl::Time now) const;

  // Number of indexed registrations.
  size_t size() const { return live_; }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  enum Chain { kById = 0, kByName = 1, kByDomain = 2, kByTax = 3, kChains = 4 };

  struct Slot {
    std::string vendor_id;
    std::string deal_id;
    std::string partner_id;
    std::string country_code;
    std::string name_key;
    std::string registrable_domain;
    std::string tax_key;
    std::vector<uint32_t> skus;        // interned, sorted, unique
    std::vector<uint32_t> categories;  // interned, sorted, unique
    absl::Time submit_time;
    std::optional<absl::Time> expire_time;
    DealState state = DealState::kUnspecified;
    bool live = false;
    uint32_t next[kChains] = {kNil, kNil, kNil, kNil};
  };

  static uint64_t ChainHash(Chain chain, std::string_view vendor, std::string_view a,
                            std::string_view b);
  // Hash of `slot` for `chain`, or nullopt when the slot has no such identity.
  static std::optional<uint64_t> SlotHash(const Slot& slot, Chain chain);
  static bool SameKey(const Slot& slot, Chain chain, std::string_view vendor, std::string_view a,
                      std::string_view b);

  uint32_t FindSlot(std::string_view vendor_id, std::string_view deal_id) const;
  void Link(uint32_t id);
  void Unlink(uint32_t id);
  std::vector<uint32_t> Intern(const std::vector<std::string>& values,
                               absl::flat_hash_map<std::string, uint32_t>& ids,
                               std::vector<std::string>& names);
  std::vector<uint32_t> Lookup(const std::vector<std::string>& values,
                               const absl::flat_hash_map<std::string, uint32_t>& ids) const;

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  absl::flat_hash_map<uint64_t, uint32_t> heads_[kChains];
  absl::flat_hash_map<std::string, uint32_t> sku_ids_;
  std::vector<std::string> sku_names_;
  absl::flat_hash_map<std::string, uint32_t> category_ids_;
  std::vector<std::string> category_names_;
};

}  // namespace prm::deal
