#include "services/deal-registration/domain/deal_lifecycle.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"
#include "services/deal-registration/domain/customer_identity.h"

namespace prm::deal {
namespace {

constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxLegalName = 256;
constexpr size_t kMaxDescription = 4000;
constexpr size_t kMaxNote = 4000;
constexpr size_t kMaxReason = 1024;
constexpr size_t kMaxProducts = 100;
constexpr int64_t kMaxQuantity = 1'000'000'000;

absl::Status Illegal(std::string_view command, DealState from, DealState to) {
  const std::string from_name(DealStateName(from));
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot ", std::string(command), " a deal in state ", from_name, ": transition ", from_name,
      " → ", std::string(DealStateName(to)), " is not allowed"));
}

bool IsCurrencyCode(const std::string& code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
           return c >= 'A' && c <= 'Z';
         });
}

bool IsNegative(const Money& m) { return m.units < 0 || m.nanos < 0; }

// Adds every violation of `m` under `field`.
void CheckMoney(const Money& m, const std::string& field, FieldViolations& bad) {
  if (!IsCurrencyCode(m.currency_code)) {
    bad.Add(field + ".currency_code", "must be a 3-letter upper-case ISO 4217 code");
  }
  if (m.nanos < -999'999'999 || m.nanos > 999'999'999) {
    bad.Add(field + ".nanos", "must be in [-999999999, 999999999]");
  } else if ((m.units > 0 && m.nanos < 0) || (m.units < 0 && m.nanos > 0)) {
    bad.Add(field + ".nanos", "must have the sign of units");
  }
  if (IsNegative(m)) bad.Add(field, "must not be negative");
}

bool IsValidDate(const Date& d) {
  if (d.year < 1900 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1) return false;
  const absl::CivilDay day(d.year, d.month, d.day);
  return day.year() == d.year && day.month() == d.month && day.day() == d.day;
}

bool IsCountryCode(const std::string& code) {
  return code.size() == 2 && absl::ascii_isupper(static_cast<unsigned char>(code[0])) &&
         absl::ascii_isupper(static_cast<unsigned char>(code[1]));
}

Date TodayUtc(absl::Time now) {
  const absl::CivilDay day = absl::ToCivilDay(now, absl::UTCTimeZone());
  return Date{static_cast<int32_t>(day.year()), day.month(), day.day()};
}

bool LessThan(const Money& a, const Money& b) {
  return a.units != b.units ? a.units < b.units : a.nanos < b.nanos;
}

// Applies the bookkeeping shared by every command and builds its Transition.
Transition Record(Deal& deal, Deal before, DealAction action, DealEventType type,
                  const Actor& actor, absl::Time now, std::string reason) {
  deal.version += 1;
  deal.update_time = now;
  Transition t;
  t.audit.vendor_id = deal.vendor_id;
  t.audit.deal_id = deal.deal_id;
  t.audit.sequence = deal.version;
  t.audit.action = action;
  t.audit.actor = actor;
  t.audit.time = now;
  t.audit.from_state = before.state;
  t.audit.to_state = deal.state;
  t.audit.reason = std::move(reason);
  if (action != DealAction::kCreated) t.audit.before = std::move(before);
  if (action != DealAction::kDeleted) t.audit.after = deal;
  t.event.type = type;
  t.event.deal = deal;
  t.event.actor = actor;
  t.event.time = now;
  return t;
}

bool Unexpired(const Deal& deal, absl::Time now) {
  return deal.protection.expire_time.has_value() && now < *deal.protection.expire_time;
}

}  // namespace

absl::Status ValidateForSubmission(const Deal& deal, absl::Time now, absl::Duration tolerance) {
  FieldViolations bad;
  if (deal.vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (deal.partner_id.empty()) bad.Add("partner_id", "is required");
  if (deal.title.empty() || CharacterCount(deal.title) > kMaxTitle) {
    bad.Add("title", "must be 1..200 characters");
  }
  if (CharacterCount(deal.description) > kMaxDescription) {
    bad.Add("description", "must be at most 4000 characters");
  }
  const EndCustomer& c = deal.end_customer;
  if (c.legal_name.empty() || c.legal_name.size() > kMaxLegalName) {
    bad.Add("end_customer.legal_name", "is required (1..256 characters)");
  }
  if (!IsCountryCode(c.country_code)) {
    bad.Add("end_customer.country_code", "must be an upper-case ISO 3166-1 alpha-2 code");
  }
  if (c.web_domain.empty() && c.tax_id.empty()) {
    bad.Add("end_customer.web_domain", "web_domain or tax_id is required");
    bad.Add("end_customer.tax_id", "web_domain or tax_id is required");
  }
  if (!c.web_domain.empty()) {
    absl::StatusOr<std::string> d = NormalizeWebDomain(c.web_domain);
    if (!d.ok()) bad.Add("end_customer.web_domain", std::string(d.status().message()));
  }
  if (!c.tax_id.empty()) {
    absl::StatusOr<std::string> t = NormalizeTaxId(c.tax_id, c.country_code);
    if (!t.ok()) bad.Add("end_customer.tax_id", std::string(t.status().message()));
  }
  if (!deal.value.has_value()) {
    bad.Add("value", "is required");
  } else {
    CheckMoney(*deal.value, "value", bad);
  }
  if (deal.products.empty() || deal.products.size() > kMaxProducts) {
    bad.Add("products", "must have 1..100 lines");
  }
  for (size_t i = 0; i < deal.products.size() && i < kMaxProducts; ++i) {
    const ProductLine& p = deal.products[i];
    const std::string f = absl::StrCat("products[", i, "]");
    if (p.sku.empty() || CharacterCount(p.sku) > 64) {
      bad.Add(f + ".sku", "must be 1..64 characters");
    }
    if (p.product_category.empty() || CharacterCount(p.product_category) > 64) {
      bad.Add(f + ".product_category", "must be 1..64 characters");
    }
    if (p.quantity < 1 || p.quantity > kMaxQuantity) {
      bad.Add(f + ".quantity", "must be 1..1000000000");
    }
    CheckMoney(p.amount, f + ".amount", bad);
    if (deal.value && IsCurrencyCode(p.amount.currency_code) &&
        p.amount.currency_code != deal.value->currency_code) {
      bad.Add(f + ".amount.currency_code", "must equal value.currency_code");
    }
  }
  if (!deal.expected_close_date.has_value()) {
    bad.Add("expected_close_date", "is required");
  } else if (!IsValidDate(*deal.expected_close_date)) {
    bad.Add("expected_close_date", "is not a valid date");
  } else {
    const Date earliest = TodayUtc(now - tolerance);
    const Date& d = *deal.expected_close_date;
    if (absl::CivilDay(d.year, d.month, d.day) <
        absl::CivilDay(earliest.year, earliest.month, earliest.day)) {
      bad.Add("expected_close_date", "must not be in the past");
    }
  }
  return bad.ToStatus("deal registration is incomplete or invalid");
}

const AutoApprovalRule* MatchAutoApprovalRule(const DealPolicy& policy, const Deal& deal,
                                              const PartnerFacts& partner, bool has_conflict) {
  for (const AutoApprovalRule& rule : policy.auto_approval_rules) {
    if (!rule.enabled) continue;
    if (has_conflict && !rule.allow_conflict) continue;
    if (rule.min_tier_rank > 0 && partner.tier_rank < rule.min_tier_rank) continue;
    if (rule.max_value) {
      if (!deal.value || deal.value->currency_code != rule.max_value->currency_code ||
          !LessThan(*deal.value, *rule.max_value)) {
        continue;
      }
    }
    if (!rule.country_codes.empty() &&
        std::find(rule.country_codes.begin(), rule.country_codes.end(),
                  deal.end_customer.country_code) == rule.country_codes.end()) {
      continue;
    }
    if (!rule.product_categories.empty() &&
        !std::all_of(deal.products.begin(), deal.products.end(), [&](const ProductLine& p) {
          return std::find(rule.product_categories.begin(), rule.product_categories.end(),
                           p.product_category) != rule.product_categories.end();
        })) {
      continue;
    }
    if (!rule.partner_types.empty() &&
        std::find(rule.partner_types.begin(), rule.partner_types.end(), partner.partner_type) ==
            rule.partner_types.end()) {
      continue;
    }
    return &rule;
  }
  return nullptr;
}

absl::StatusOr<Transition> CreateDraft(Deal& deal, const Actor& actor, absl::Time now) {
  FieldViolations bad;
  if (deal.vendor_id.empty()) bad.Add("vendor_id", "is required");
  if (deal.deal_id.empty()) bad.Add("deal_id", "is required");
  if (deal.partner_id.empty()) bad.Add("partner_id", "is required");
  if (deal.title.empty() || CharacterCount(deal.title) > kMaxTitle) {
    bad.Add("title", "must be 1..200 characters");
  }
  if (deal.products.size() > kMaxProducts) bad.Add("products", "must have at most 100 lines");
  if (CharacterCount(deal.description) > kMaxDescription) {
    bad.Add("description", "must be at most 4000 characters");
  }
  if (!bad.empty()) return bad.ToStatus("cannot create deal");
  if (deal.state != DealState::kUnspecified) {
    return Illegal("create", deal.state, DealState::kDraft);
  }
  Deal before = deal;
  deal.state = DealState::kDraft;
  deal.version = 0;
  deal.create_time = now;
  deal.creator = actor;
  return Record(deal, std::move(before), DealAction::kCreated, DealEventType::kCreated, actor,
                now, "");
}

absl::StatusOr<Transition> UpdateDetails(Deal& deal, const Deal& changes,
                                         const std::vector<std::string>& paths, const Actor& actor,
                                         absl::Time now) {
  FieldViolations bad;
  if (paths.empty()) bad.Add("update_mask", "must name at least one field");
  for (const std::string& p : paths) {
    if (p != "title" && p != "end_customer" && p != "products" && p != "value" &&
        p != "expected_close_date" && p != "stage" && p != "description") {
      bad.Add("update_mask", absl::StrCat("field '", p, "' cannot be updated"));
    }
  }
  if (!bad.empty()) return bad.ToStatus("cannot update deal");
  if (deal.state == DealState::kApproved) {
    // The protected opportunity itself (customer, products, value) is fixed once approved; the
    // partner keeps its pipeline fields current.
    for (const std::string& p : paths) {
      if (p != "stage" && p != "expected_close_date" && p != "description") {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot update '", p,
            "' of an APPROVED deal: only stage, expected_close_date and description"));
      }
    }
  } else if (deal.state != DealState::kDraft && deal.state != DealState::kReturned) {
    return Illegal("update", deal.state, deal.state);
  }
  Deal before = deal;
  for (const std::string& p : paths) {
    if (p == "title") deal.title = changes.title;
    if (p == "end_customer") deal.end_customer = changes.end_customer;
    if (p == "products") deal.products = changes.products;
    if (p == "value") deal.value = changes.value;
    if (p == "expected_close_date") deal.expected_close_date = changes.expected_close_date;
    if (p == "stage") deal.stage = changes.stage;
    if (p == "description") deal.description = changes.description;
  }
  if (deal.title.empty() || CharacterCount(deal.title) > kMaxTitle) {
    deal = std::move(before);
    return InvalidField("title", "must be 1..200 characters");
  }
  Transition t = Record(deal, std::move(before), DealAction::kUpdated, DealEventType::kUpdated,
                        actor, now, "");
  t.event.changed_paths = paths;
  return t;
}

absl::StatusOr<Transition> DeleteDraft(Deal& deal, const Actor& actor, absl::Time now) {
  if (deal.state != DealState::kDraft) {
    return Illegal("delete", deal.state, DealState::kUnspecified);
  }
  Deal before = deal;
  deal.state = DealState::kUnspecified;
  return Record(deal, std::move(before), DealAction::kDeleted, DealEventType::kDeleted, actor,
                now, "");
}

absl::StatusOr<Transition> Submit(Deal& deal, const Actor& actor, absl::Time now,
                                  const DealPolicy& policy, const std::string& program_id,
                                  bool has_conflict, bool review_required) {
  if (deal.state != DealState::kDraft && deal.state != DealState::kReturned) {
    return Illegal("submit", deal.state, DealState::kSubmitted);
  }
  if (absl::Status s = ValidateForSubmission(deal, now); !s.ok()) return s;
  Deal before = deal;
  deal.state = DealState::kSubmitted;
  deal.program_id = program_id;
  deal.has_conflict = has_conflict;
  deal.review = DealReview{};
  deal.review.submit_time = now;
  deal.review.approval_due_time = now + policy.approval_sla;
  Transition t = Record(deal, std::move(before), DealAction::kSubmitted, DealEventType::kSubmitted,
                        actor, now, "");
  t.event.has_conflict = has_conflict;
  t.event.review_required = review_required;
  return t;
}

absl::StatusOr<Transition> StartReview(Deal& deal, const Actor& actor, absl::Time now) {
  if (deal.state != DealState::kSubmitted) {
    return Illegal("start review of", deal.state, DealState::kUnderReview);
  }
  Deal before = deal;
  deal.state = DealState::kUnderReview;
  deal.review.review_start_time = now;
  deal.review.reviewer = actor;
  return Record(deal, std::move(before), DealAction::kReviewStarted,
                DealEventType::kReviewStarted, actor, now, "");
}

absl::StatusOr<Transition> ReturnToPartner(Deal& deal, const Actor& actor, absl::Time now,
                                           const std::string& note,
                                           const std::vector<std::string>& fields_to_fix) {
  if (note.empty() || note.size() > kMaxNote) {
    return InvalidField("note", "is required (1..4000 characters)");
  }
  if (deal.state != DealState::kUnderReview) {
    return Illegal("return", deal.state, DealState::kReturned);
  }
  Deal before = deal;
  deal.state = DealState::kReturned;
  deal.review.decision_note = note;
  deal.review.fields_to_fix = fields_to_fix;
  Transition t = Record(deal, std::move(before), DealAction::kReturned, DealEventType::kReturned,
                        actor, now, note);
  t.event.note = note;
  t.event.fields_to_fix = fields_to_fix;
  return t;
}

absl::StatusOr<Transition> Approve(Deal& deal, const Actor& actor, absl::Time now,
                                   ApprovalMode mode, const std::string& rule_id,
                                   int32_t protection_days, int32_t max_extensions) {
  FieldViolations bad;
  if (mode == ApprovalMode::kUnspecified) bad.Add("mode", "is required");
  if (mode == ApprovalMode::kAuto && rule_id.empty()) {
    bad.Add("auto_approval_rule_id", "is required for an automatic approval");
  }
  if (protection_days < 1 || protection_days > 3650) {
    bad.Add("protection_days", "must be 1..3650");
  }
  if (!bad.empty()) return bad.ToStatus("cannot approve deal");
  const bool allowed = (mode == ApprovalMode::kManual && deal.state == DealState::kUnderReview) ||
                       (mode == ApprovalMode::kAuto && deal.state == DealState::kSubmitted);
  if (!allowed) return Illegal("approve", deal.state, DealState::kApproved);
  Deal before = deal;
  deal.state = DealState::kApproved;
  deal.review.decision_time = now;
  deal.review.approval_mode = mode;
  deal.review.auto_approval_rule_id = mode == ApprovalMode::kAuto ? rule_id : "";
  deal.protection = DealProtection{};
  deal.protection.approve_time = now;
  deal.protection.protection_days = protection_days;
  deal.protection.expire_time = now + absl::Hours(24) * protection_days;
  deal.protection.max_extensions = max_extensions;
  Transition t = Record(deal, std::move(before), DealAction::kApproved, DealEventType::kApproved,
                        actor, now, rule_id);
  t.event.mode = mode;
  t.event.auto_approval_rule_id = deal.review.auto_approval_rule_id;
  return t;
}

absl::StatusOr<Transition> Reject(Deal& deal, const Actor& actor, absl::Time now,
                                  RejectionReason reason, const std::string& note,
                                  const std::string& duplicate_of_deal_id) {
  FieldViolations bad;
  if (reason == RejectionReason::kUnspecified) bad.Add("reason", "a reason code is required");
  if (reason == RejectionReason::kOther && note.empty()) {
    bad.Add("note", "must explain a rejection with reason OTHER");
  }
  if (CharacterCount(note) > kMaxNote) bad.Add("note", "must be at most 4000 characters");
  if (!bad.empty()) return bad.ToStatus("cannot reject deal");
  if (deal.state != DealState::kSubmitted && deal.state != DealState::kUnderReview) {
    return Illegal("reject", deal.state, DealState::kRejected);
  }
  Deal before = deal;
  deal.state = DealState::kRejected;
  deal.review.decision_time = now;
  deal.review.rejection_reason = reason;
  deal.review.decision_note = note;
  Transition t = Record(deal, std::move(before), DealAction::kRejected, DealEventType::kRejected,
                        actor, now, note);
  t.event.rejection_reason = reason;
  t.event.note = note;
  t.event.duplicate_of_deal_id = duplicate_of_deal_id;
  return t;
}

absl::StatusOr<Transition> Cancel(Deal& deal, const Actor& actor, absl::Time now,
                                  const std::string& reason) {
  if (CharacterCount(reason) > kMaxReason) {
    return InvalidField("reason", "must be at most 1024 characters");
  }
  if (deal.state != DealState::kSubmitted && deal.state != DealState::kUnderReview &&
      deal.state != DealState::kReturned) {
    return Illegal("cancel", deal.state, DealState::kCancelled);
  }
  Deal before = deal;
  deal.state = DealState::kCancelled;
  deal.cancel_reason = reason;
  Transition t = Record(deal, std::move(before), DealAction::kCancelled,
                        DealEventType::kCancelled, actor, now, reason);
  t.event.reason = reason;
  return t;
}

absl::StatusOr<Transition> MarkWon(Deal& deal, const Actor& actor, absl::Time now,
                                   const WinDetails& win) {
  FieldViolations bad;
  CheckMoney(win.won_amount, "won_amount", bad);
  if (win.close_date && !IsValidDate(*win.close_date)) {
    bad.Add("close_date", "is not a valid date");
  }
  if (win.source == CloseSource::kUnspecified) bad.Add("source", "is required");
  if (!bad.empty()) return bad.ToStatus("cannot mark deal won");
  if (deal.state != DealState::kApproved) return Illegal("win", deal.state, DealState::kWon);
  if (!Unexpired(deal, now)) {
    return absl::FailedPreconditionError(
        "cannot win a deal whose protection has expired: transition APPROVED → WON needs an "
        "unexpired approval");
  }
  Deal before = deal;
  deal.state = DealState::kWon;
  deal.outcome = DealOutcome{};
  deal.outcome.close_time = now;
  deal.outcome.close_date = win.close_date.value_or(TodayUtc(now));
  deal.outcome.source = win.source;
  deal.outcome.won_amount = win.won_amount;
  deal.outcome.erp_system_id = win.erp_system_id;
  deal.outcome.erp_document_id = win.erp_document_id;
  Transition t =
      Record(deal, std::move(before), DealAction::kWon, DealEventType::kWon, actor, now, "");
  t.event.won_amount = win.won_amount;
  t.event.source = win.source;
  return t;
}

absl::StatusOr<Transition> MarkLost(Deal& deal, const Actor& actor, absl::Time now,
                                    const std::string& reason) {
  if (CharacterCount(reason) > kMaxReason) {
    return InvalidField("reason", "must be at most 1024 characters");
  }
  if (deal.state != DealState::kApproved) return Illegal("lose", deal.state, DealState::kLost);
  if (!Unexpired(deal, now)) {
    return absl::FailedPreconditionError(
        "cannot lose a deal whose protection has expired: transition APPROVED → LOST needs an "
        "unexpired approval");
  }
  Deal before = deal;
  deal.state = DealState::kLost;
  deal.outcome = DealOutcome{};
  deal.outcome.close_time = now;
  deal.outcome.close_date = TodayUtc(now);
  deal.outcome.source = CloseSource::kApi;
  deal.outcome.loss_reason = reason;
  Transition t =
      Record(deal, std::move(before), DealAction::kLost, DealEventType::kLost, actor, now, reason);
  t.event.reason = reason;
  return t;
}

absl::StatusOr<Transition> Expire(Deal& deal, absl::Time now) {
  if (deal.state != DealState::kApproved) {
    return Illegal("expire", deal.state, DealState::kExpired);
  }
  if (Unexpired(deal, now)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot expire a deal before its protection ends at ",
        absl::FormatTime(*deal.protection.expire_time, absl::UTCTimeZone())));
  }
  Deal before = deal;
  deal.state = DealState::kExpired;
  return Record(deal, std::move(before), DealAction::kExpired, DealEventType::kExpired,
                Actor::System(), now, "");
}

absl::StatusOr<Transition> ExtendProtection(Deal& deal, const Actor& actor, absl::Time now,
                                            int32_t days, const std::string& reason,
                                            const DealPolicy& policy) {
  FieldViolations bad;
  if (reason.empty() || reason.size() > kMaxReason) {
    bad.Add("reason", "is required (1..1024 characters)");
  }
  const int32_t effective = days == 0 ? policy.default_extension_days : days;
  if (effective < 1 || effective > policy.max_extension_days) {
    bad.Add("extension_days", absl::StrCat("must be 1..", policy.max_extension_days));
  }
  if (!bad.empty()) return bad.ToStatus("cannot extend protection");
  if (deal.state != DealState::kApproved) {
    return Illegal("extend protection of", deal.state, DealState::kApproved);
  }
  if (!Unexpired(deal, now)) {
    return absl::FailedPreconditionError("cannot extend protection that has already expired");
  }
  if (deal.protection.extension_count >= deal.protection.max_extensions) {
    return absl::FailedPreconditionError(absl::StrCat(
        "protection was already extended ", deal.protection.extension_count,
        " times, the maximum of the program"));
  }
  Deal before = deal;
  const absl::Time previous = *deal.protection.expire_time;
  deal.protection.expire_time = previous + absl::Hours(24) * effective;
  deal.protection.extension_count += 1;
  deal.protection.expiry_reminder_sent = false;
  Transition t = Record(deal, std::move(before), DealAction::kProtectionExtended,
                        DealEventType::kProtectionExtended, actor, now, reason);
  t.event.previous_expire_time = previous;
  t.event.extension_days = effective;
  t.event.reason = reason;
  return t;
}

absl::StatusOr<Transition> RemindExpiry(Deal& deal, absl::Time now, absl::Duration lead) {
  if (deal.state != DealState::kApproved) {
    return Illegal("remind expiry of", deal.state, DealState::kApproved);
  }
  if (deal.protection.expiry_reminder_sent) {
    return absl::FailedPreconditionError("the expiry reminder was already sent");
  }
  if (!Unexpired(deal, now) || now < *deal.protection.expire_time - lead) {
    return absl::FailedPreconditionError("the deal is not within the reminder lead of expiry");
  }
  Deal before = deal;
  deal.protection.expiry_reminder_sent = true;
  Transition t = Record(deal, std::move(before), DealAction::kExpiryReminded,
                        DealEventType::kExpiryReminder, Actor::System(), now, "");
  t.event.expire_time = deal.protection.expire_time;
  t.event.lead = lead;
  return t;
}

absl::StatusOr<Transition> BreachApprovalSla(Deal& deal, absl::Time now,
                                             absl::Duration approval_sla) {
  if (deal.state != DealState::kSubmitted && deal.state != DealState::kUnderReview) {
    return Illegal("breach the approval SLA of", deal.state, deal.state);
  }
  if (deal.review.approval_sla_breached) {
    return absl::FailedPreconditionError("the approval SLA breach was already recorded");
  }
  if (!deal.review.approval_due_time || now < *deal.review.approval_due_time) {
    return absl::FailedPreconditionError("the approval is not yet overdue");
  }
  Deal before = deal;
  deal.review.approval_sla_breached = true;
  Transition t = Record(deal, std::move(before), DealAction::kApprovalSlaBreached,
                        DealEventType::kApprovalSlaBreached, Actor::System(), now, "");
  t.event.approval_due_time = deal.review.approval_due_time;
  t.event.approval_sla = approval_sla;
  return t;
}

}  // namespace prm::deal
