#include "services/deal-registration/domain/deal_book.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "services/deal-registration/domain/customer_identity.h"

namespace prm::deal {

namespace {

absl::Status NotFound(std::string_view vendor_id, std::string_view deal_id) {
  std::string message = "deal ";
  message.append(vendor_id).append("/").append(deal_id).append(" not found");
  return absl::NotFoundError(message);
}

absl::Status CheckVersion(const Deal& deal, std::optional<int64_t> expected_version) {
  if (expected_version && *expected_version != deal.version) {
    return absl::AbortedError(absl::StrCat("deal changed since version ", *expected_version,
                                           " (now ", deal.version, "); reread and retry"));
  }
  return absl::OkStatus();
}

}  // namespace

DealBook::DealBook(const Clock& clock) : clock_(clock) {}

std::string DealBook::Key(std::string_view vendor_id, std::string_view deal_id) {
  std::string key;
  key.reserve(vendor_id.size() + deal_id.size() + 1);
  key.append(vendor_id).push_back('\x1f');
  key.append(deal_id);
  return key;
}

void DealBook::SetPolicy(DealPolicy policy) {
  std::lock_guard lock(mu_);
  std::string key = Key(policy.vendor_id, policy.program_id);
  policies_[std::move(key)] = std::move(policy);
}

DealPolicy DealBook::PolicyFor(std::string_view vendor_id, std::string_view program_id) const {
  std::lock_guard lock(mu_);
  return PolicyLocked(vendor_id, program_id);
}

const DealPolicy& DealBook::PolicyLocked(std::string_view vendor_id,
                                         std::string_view program_id) const {
  auto it = policies_.find(Key(vendor_id, program_id));
  return it == policies_.end() ? default_policy_ : it->second;
}

absl::StatusOr<Deal*> DealBook::Find(std::string_view vendor_id, std::string_view deal_id) {
  auto it = deals_.find(Key(vendor_id, deal_id));
  if (it == deals_.end()) {
    return NotFound(vendor_id, deal_id);
  }
  return &it->second;
}

void DealBook::Reindex(const Deal& deal) {
  if (!IsActive(deal.state)) {
    index_.Remove(deal.vendor_id, deal.deal_id);
    return;
  }
  // Active deals passed ValidateForSubmission, so their identity resolves.
  absl::StatusOr<CustomerIdentity> identity = ResolveCustomerIdentity(deal.end_customer);
  index_.Upsert(ToIndexedRegistration(deal, identity.ok() ? *identity : CustomerIdentity{}));
}

std::vector<ConflictMatch> DealBook::ConflictsOf(const Deal& deal, absl::Time now) const {
  absl::StatusOr<CustomerIdentity> identity = ResolveCustomerIdentity(deal.end_customer);
  if (!identity.ok()) return {};
  return index_.FindConflicts(ToIndexedRegistration(deal, *identity), now);
}

template <typename Command>
absl::StatusOr<CommandResult> DealBook::Apply(std::string_view vendor_id,
                                              std::string_view deal_id,
                                              std::optional<int64_t> expected_version,
                                              Command command) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Deal*> found = Find(vendor_id, deal_id);
  if (!found.ok()) return found.status();
  Deal& deal = **found;
  RETURN_IF_ERROR(CheckVersion(deal, expected_version));
  absl::StatusOr<Transition> t = command(deal, clock_.Now());
  if (!t.ok()) return t.status();
  Reindex(deal);
  CommandResult result;
  result.deal = deal;
  result.transitions.push_back(*std::move(t));
  return result;
}

absl::StatusOr<CommandResult> DealBook::Create(Deal draft, const Actor& actor) {
  std::lock_guard lock(mu_);
  if (draft.deal_id.empty()) draft.deal_id = absl::StrCat("deal-", next_id_++);
  std::string key = Key(draft.vendor_id, draft.deal_id);
  if (deals_.contains(key)) {
    return absl::AlreadyExistsError(
        absl::StrCat("deal ", draft.vendor_id, "/", draft.deal_id, " already exists"));
  }
  draft.state = DealState::kUnspecified;
  absl::StatusOr<Transition> t = CreateDraft(draft, actor, clock_.Now());
  if (!t.ok()) return t.status();
  CommandResult result;
  result.deal = draft;
  result.transitions.push_back(*std::move(t));
  deals_.emplace(std::move(key), std::move(draft));
  return result;
}

absl::StatusOr<CommandResult> DealBook::Update(std::string_view vendor_id,
                                               std::string_view deal_id, const Deal& changes,
                                               const std::vector<std::string>& paths,
                                               const Actor& actor,
                                               std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return UpdateDetails(deal, changes, paths, actor, now);
  });
}

absl::StatusOr<CommandResult> DealBook::Delete(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               std::optional<int64_t> expected_version) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Deal*> found = Find(vendor_id, deal_id);
  if (!found.ok()) return found.status();
  RETURN_IF_ERROR(CheckVersion(**found, expected_version));
  Deal before = **found;
  absl::StatusOr<Transition> t = DeleteDraft(**found, actor, clock_.Now());
  if (!t.ok()) return t.status();
  deals_.erase(Key(vendor_id, deal_id));
  CommandResult result;
  result.deal = std::move(before);
  result.transitions.push_back(*std::move(t));
  return result;
}

absl::StatusOr<CommandResult> DealBook::Submit(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               const PartnerFacts& partner,
                                               std::optional<int64_t> expected_version) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Deal*> found = Find(vendor_id, deal_id);
  if (!found.ok()) return found.status();
  Deal& deal = **found;
  RETURN_IF_ERROR(CheckVersion(deal, expected_version));
  const absl::Time now = clock_.Now();
  const DealPolicy& policy = PolicyLocked(vendor_id, partner.program_id);

  // Conflicts are computed on the deal as it will be submitted (its own entry, if any, is
  // excluded by id); the lifecycle validates before anything changes.
  Deal probe = deal;
  probe.review.submit_time = now;
  std::vector<ConflictMatch> conflicts = ConflictsOf(probe, now);
  const bool has_conflict = !conflicts.empty();
  bool approved_rival = false;
  for (const ConflictMatch& m : conflicts) approved_rival |= m.state == DealState::kApproved;
  const AutoApprovalRule* rule =
      approved_rival ? nullptr : MatchAutoApprovalRule(policy, probe, partner, has_conflict);

  absl::StatusOr<Transition> submitted = prm::deal::Submit(
      deal, actor, now, policy, partner.program_id, has_conflict, rule == nullptr);
  if (!submitted.ok()) return submitted.status();
  CommandResult result;
  result.transitions.push_back(*std::move(submitted));
  if (rule != nullptr) {
    absl::StatusOr<Transition> approved =
        prm::deal::Approve(deal, Actor::System(), now, ApprovalMode::kAuto, rule->rule_id,
                           partner.protection_days.value_or(policy.default_protection_days),
                           policy.max_extensions);
    if (approved.ok()) result.transitions.push_back(*std::move(approved));
  }
  Reindex(deal);
  result.deal = deal;
  result.conflicts = std::move(conflicts);
  return result;
}

absl::StatusOr<CommandResult> DealBook::StartReview(std::string_view vendor_id,
                                                    std::string_view deal_id,
                                                    const Actor& actor,
                                                    std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return prm::deal::StartReview(deal, actor, now);
  });
}

absl::StatusOr<CommandResult> DealBook::Return(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               const std::string& note,
                                               const std::vector<std::string>& fields_to_fix,
                                               std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return ReturnToPartner(deal, actor, now, note, fields_to_fix);
  });
}

absl::StatusOr<CommandResult> DealBook::Approve(std::string_view vendor_id,
                                                std::string_view deal_id, const Actor& actor,
                                                const PartnerFacts& partner,
                                                std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version,
               [&](Deal& deal, absl::Time now)
                   -> absl::StatusOr<Transition> {
                 if (deal.state == DealState::kUnderReview) {
                   for (const ConflictMatch& m : ConflictsOf(deal, now)) {
                     if (m.state == DealState::kApproved) {
                       return absl::FailedPreconditionError(absl::StrCat(
                           "cannot approve: deal ", m.deal_id,
                           " of the same customer and product scope is approved until ",
                           absl::FormatTime(*m.expire_time, absl::UTCTimeZone()),
                           " (exclusivity)"));
                     }
                   }
                 }
                 const DealPolicy& policy = PolicyLocked(vendor_id, deal.program_id);
                 return prm::deal::Approve(
                     deal, actor, now, ApprovalMode::kManual, "",
                     partner.protection_days.value_or(policy.default_protection_days),
                     policy.max_extensions);
               });
}

absl::StatusOr<CommandResult> DealBook::Reject(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               RejectionReason reason, const std::string& note,
                                               const std::string& duplicate_of_deal_id,
                                               std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return prm::deal::Reject(deal, actor, now, reason, note, duplicate_of_deal_id);
  });
}

absl::StatusOr<CommandResult> DealBook::Cancel(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               const std::string& reason,
                                               std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return prm::deal::Cancel(deal, actor, now, reason);
  });
}

absl::StatusOr<CommandResult> DealBook::MarkWon(std::string_view vendor_id,
                                                std::string_view deal_id, const Actor& actor,
                                                const WinDetails& win,
                                                std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return prm::deal::MarkWon(deal, actor, now, win);
  });
}

absl::StatusOr<CommandResult> DealBook::MarkLost(std::string_view vendor_id,
                                                 std::string_view deal_id, const Actor& actor,
                                                 const std::string& reason,
                                                 std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version, [&](Deal& deal, absl::Time now) {
    return prm::deal::MarkLost(deal, actor, now, reason);
  });
}

absl::StatusOr<CommandResult> DealBook::Extend(std::string_view vendor_id,
                                               std::string_view deal_id, const Actor& actor,
                                               int32_t days, const std::string& reason,
                                               std::optional<int64_t> expected_version) {
  return Apply(vendor_id, deal_id, expected_version,
               [&](Deal& deal, absl::Time now) {
                 return ExtendProtection(deal, actor, now, days, reason,
                                         PolicyLocked(vendor_id, deal.program_id));
               });
}

std::vector<Transition> DealBook::RunTimers() {
  std::lock_guard lock(mu_);
  const absl::Time now = clock_.Now();
  std::vector<Transition> fired;
  for (auto& [key, deal] : deals_) {
    const DealPolicy& policy = PolicyLocked(deal.vendor_id, deal.program_id);
    if ((deal.state == DealState::kSubmitted || deal.state == DealState::kUnderReview) &&
        !deal.review.approval_sla_breached && deal.review.approval_due_time &&
        *deal.review.approval_due_time <= now) {
      if (auto t = BreachApprovalSla(deal, now, policy.approval_sla); t.ok()) {
        fired.push_back(*std::move(t));
      }
    }
    if (deal.state != DealState::kApproved || !deal.protection.expire_time) continue;
    const absl::Time expire = *deal.protection.expire_time;
    if (expire <= now) {
      if (auto t = Expire(deal, now); t.ok()) {
        fired.push_back(*std::move(t));
        index_.Remove(deal.vendor_id, deal.deal_id);
      }
    } else if (!deal.protection.expiry_reminder_sent &&
               expire - policy.expiry_reminder_lead <= now) {
      if (auto t = RemindExpiry(deal, now, policy.expiry_reminder_lead); t.ok()) {
        fired.push_back(*std::move(t));
      }
    }
  }
  return fired;
}

std::optional<absl::Time> DealBook::NextTimerDue() const {
  std::lock_guard lock(mu_);
  std::optional<absl::Time> next;
  auto consider = [&](absl::Time t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [key, deal] : deals_) {
    if ((deal.state == DealState::kSubmitted || deal.state == DealState::kUnderReview) &&
        !deal.review.approval_sla_breached && deal.review.approval_due_time) {
      consider(*deal.review.approval_due_time);
    }
    if (deal.state != DealState::kApproved || !deal.protection.expire_time) continue;
    const absl::Time expire = *deal.protection.expire_time;
    consider(expire);
    if (!deal.protection.expiry_reminder_sent) {
      consider(expire - PolicyLocked(deal.vendor_id, deal.program_id).expiry_reminder_lead);
    }
  }
  return next;
}

absl::StatusOr<std::optional<CommandResult>> DealBook::CloseFromSale(const SaleRecord& sale) {
  absl::StatusOr<CustomerIdentity> identity = ResolveCustomerIdentity(sale.end_customer);
  if (!identity.ok()) return identity.status();
  IndexedRegistration probe;
  probe.vendor_id = sale.vendor_id;
  probe.customer = *std::move(identity);
  for (const ProductLine& line : sale.lines) {
    probe.skus.push_back(line.sku);
    probe.categories.push_back(line.product_category);
  }
  std::lock_guard lock(mu_);
  const absl::Time now = clock_.Now();
  const ConflictMatch* chosen = nullptr;
  const std::vector<ConflictMatch> matches = index_.FindConflicts(probe, now);
  for (const ConflictMatch& m : matches) {  // ordered by submit time
    if (m.state != DealState::kApproved || m.partner_id != sale.partner_id) continue;
    if (chosen == nullptr || m.deal_id == sale.deal_id) chosen = &m;
    if (m.deal_id == sale.deal_id) break;
  }
  if (chosen == nullptr) return std::optional<CommandResult>();
  absl::StatusOr<Deal*> found = Find(sale.vendor_id, chosen->deal_id);
  if (!found.ok()) return found.status();
  Deal& deal = **found;

  Money won{sale.currency_code, 0, 0};
  for (const ProductLine& line : sale.lines) {
    const bool matching = std::any_of(deal.products.begin(), deal.products.end(),
                                      [&](const ProductLine& p) {
                                        return p.sku == line.sku ||
                                               p.product_category == line.product_category;
                                      });
    if (!matching) continue;
    if (line.amount.currency_code != sale.currency_code) {
      return InvalidField("lines.amount.currency_code", "must equal the sale's currency_code");
    }
    won.units += line.amount.units;
    won.nanos += line.amount.nanos;
    if (won.nanos >= 1'000'000'000) {
      won.units += 1;
      won.nanos -= 1'000'000'000;
    }
  }
  WinDetails win;
  win.won_amount = won;
  win.source = CloseSource::kErpSale;
  const absl::CivilDay sale_day = absl::ToCivilDay(sale.sale_time, absl::UTCTimeZone());
  win.close_date = Date{static_cast<int32_t>(sale_day.year()), sale_day.month(), sale_day.day()};
  win.erp_system_id = sale.erp_system_id;
  win.erp_document_id = sale.erp_document_id;
  absl::StatusOr<Transition> t = prm::deal::MarkWon(deal, Actor::System(), now, win);
  if (!t.ok()) return t.status();
  Reindex(deal);
  CommandResult result;
  result.deal = deal;
  result.transitions.push_back(*std::move(t));
  return std::optional<CommandResult>(std::move(result));
}

absl::StatusOr<DealPage> DealBook::List(const DealQuery& query) const {
  FieldViolations bad;
  if (query.vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (query.page_size < 0) bad.Add("page_size", "must not be negative");
  if (!bad.empty()) return bad.ToStatus("bad deal query");
  const size_t page_size =
      query.page_size == 0 ? 50 : static_cast<size_t>(std::min(query.page_size, 500));
  const std::string prefix = Key(query.vendor_id, "");
  std::lock_guard lock(mu_);
  DealPage page;
  auto it = query.page_token.empty() ? deals_.lower_bound(prefix)
                                     : deals_.upper_bound(Key(query.vendor_id, query.page_token));
  for (; it != deals_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const Deal& d = it->second;
    if (query.partner_id && d.partner_id != *query.partner_id) continue;
    if (!query.states.empty() &&
        std::find(query.states.begin(), query.states.end(), d.state) == query.states.end()) {
      continue;
    }
    if (query.expiring_before &&
        !(d.state == DealState::kApproved && d.protection.expire_time &&
          *d.protection.expire_time < *query.expiring_before)) {
      continue;
    }
    if (query.has_conflict && d.has_conflict != *query.has_conflict) continue;
    if (page.deals.size() == page_size) {
      page.next_page_token = page.deals.back().deal_id;
      break;
    }
    page.deals.push_back(d);
  }
  return page;
}

absl::StatusOr<Deal> DealBook::Get(std::string_view vendor_id, std::string_view deal_id) const {
  std::lock_guard lock(mu_);
  auto it = deals_.find(Key(vendor_id, deal_id));
  if (it == deals_.end()) {
    return NotFound(vendor_id, deal_id);
  }
  return it->second;
}

absl::StatusOr<std::vector<ConflictMatch>> DealBook::CurrentConflicts(
    std::string_view vendor_id, std::string_view deal_id) const {
  std::lock_guard lock(mu_);
  auto it = deals_.find(Key(vendor_id, deal_id));
  if (it == deals_.end()) {
    return NotFound(vendor_id, deal_id);
  }
  return ConflictsOf(it->second, clock_.Now());
}

size_t DealBook::active_registrations() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace prm::deal
