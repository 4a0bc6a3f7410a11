#include "services/deal-registration/adapters/proto_mapping.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"

namespace prm::deal {
namespace {

namespace v1 = ::prm::deal::v1;
namespace cv1 = ::prm::common::v1;

template <typename Event>
std::unique_ptr<Event> WithDeal(const DealEvent& event, const EventContext& context) {
  auto message = std::make_unique<Event>();
  cv1::EventMetadata* metadata = message->mutable_metadata();
  metadata->set_event_id(context.event_id);
  metadata->set_vendor_id(event.deal.vendor_id);
  metadata->set_aggregate_version(event.deal.version);
  *metadata->mutable_event_time() = ToTimestamp(event.time);
  *metadata->mutable_actor() = ToProto(event.actor);
  metadata->set_request_id(context.request_id);
  if constexpr (!std::is_same_v<Event, v1::DealDeleted>) {
    ToProto(event.deal, message->mutable_deal());
  }
  return message;
}

bool IsRuleId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
  return out;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Duration ToDurationProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

absl::Duration FromDurationProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

cv1::Money ToProto(const Money& money) {
  cv1::Money out;
  out.set_currency_code(money.currency_code);
  out.set_units(money.units);
  out.set_nanos(money.nanos);
  return out;
}

Money FromProto(const cv1::Money& money) {
  return Money{money.currency_code(), money.units(), money.nanos()};
}

cv1::Date ToProto(const Date& date) {
  cv1::Date out;
  out.set_year(date.year);
  out.set_month(date.month);
  out.set_day(date.day);
  return out;
}

Date FromProto(const cv1::Date& date) { return Date{date.year(), date.month(), date.day()}; }

cv1::EndCustomer ToProto(const EndCustomer& customer) {
  cv1::EndCustomer out;
  out.set_legal_name(customer.legal_name);
  out.set_country_code(customer.country_code);
  out.set_web_domain(customer.web_domain);
  out.set_tax_id(customer.tax_id);
  return out;
}

EndCustomer FromProto(const cv1::EndCustomer& customer) {
  return EndCustomer{customer.legal_name(), customer.country_code(), customer.web_domain(),
                     customer.tax_id()};
}

cv1::ProductLine ToProto(const ProductLine& line) {
  cv1::ProductLine out;
  out.set_sku(line.sku);
  out.set_product_category(line.product_category);
  out.set_quantity(line.quantity);
  *out.mutable_amount() = ToProto(line.amount);
  return out;
}

ProductLine FromProto(const cv1::ProductLine& line) {
  return ProductLine{line.sku(), line.product_category(), line.quantity(),
                     FromProto(line.amount())};
}

cv1::Actor ToProto(const Actor& actor) {
  cv1::Actor out;
  out.set_role(static_cast<cv1::Role>(actor.role));
  out.set_subject(actor.subject);
  out.set_partner_id(actor.partner_id);
  out.set_worker_id(actor.worker_id);
  return out;
}

Actor FromProto(const cv1::Actor& actor) {
  return Actor{static_cast<Role>(actor.role()), actor.subject(), actor.partner_id(),
               actor.worker_id()};
}

Actor ActorOf(const auth::Principal& principal) {
  Actor actor;
  switch (principal.role) {
    case auth::Role::kVendorAdmin: actor.role = Role::kVendorAdmin; break;
    case auth::Role::kChannelManager: actor.role = Role::kChannelManager; break;
    case auth::Role::kPartnerUser: actor.role = Role::kPartnerUser; break;
    case auth::Role::kConcierge: actor.role = Role::kConcierge; break;
    case auth::Role::kErpIntegration: actor.role = Role::kErpIntegration; break;
    case auth::Role::kService: actor.role = Role::kService; break;
  }
  actor.subject = principal.subject;
  actor.partner_id = principal.partner_id;
  actor.worker_id = principal.worker_id;
  return actor;
}

std::string Etag(int64_t version) { return absl::StrCat("v", version); }

absl::StatusOr<std::optional<int64_t>> ParseEtag(absl::string_view etag, absl::string_view field) {
  if (etag.empty()) return std::optional<int64_t>();
  int64_t version = 0;
  if (etag.size() < 2 || etag[0] != 'v' || !absl::SimpleAtoi(etag.substr(1), &version) ||
      version < 1) {
    return InvalidField(std::string(field), "is not an etag issued by this service");
  }
  return std::optional<int64_t>(version);
}

void ToProto(const Deal& deal, v1::Deal* out) {
  out->Clear();
  out->set_vendor_id(deal.vendor_id);
  out->set_deal_id(deal.deal_id);
  out->set_partner_id(deal.partner_id);
  out->set_program_id(deal.program_id);
  out->set_state(static_cast<v1::DealState>(deal.state));
  out->set_title(deal.title);
  *out->mutable_end_customer() = ToProto(deal.end_customer);
  for (const ProductLine& line : deal.products) *out->add_products() = ToProto(line);
  if (deal.value) *out->mutable_value() = ToProto(*deal.value);
  if (deal.expected_close_date) {
    *out->mutable_expected_close_date() = ToProto(*deal.expected_close_date);
  }
  out->set_stage(static_cast<v1::DealStage>(deal.stage));
  out->set_description(deal.description);
  out->set_has_conflict(deal.has_conflict);

  const DealReview& r = deal.review;
  v1::DealReview* review = out->mutable_review();
  if (r.submit_time) *review->mutable_submit_time() = ToTimestamp(*r.submit_time);
  if (r.approval_due_time) *review->mutable_approval_due_time() = ToTimestamp(*r.approval_due_time);
  if (r.review_start_time) {
    *review->mutable_review_start_time() = ToTimestamp(*r.review_start_time);
  }
  if (r.reviewer) *review->mutable_reviewer() = ToProto(*r.reviewer);
  if (r.decision_time) *review->mutable_decision_time() = ToTimestamp(*r.decision_time);
  review->set_approval_mode(static_cast<v1::ApprovalMode>(r.approval_mode));
  review->set_auto_approval_rule_id(r.auto_approval_rule_id);
  review->set_rejection_reason(static_cast<v1::RejectionReason>(r.rejection_reason));
  review->set_decision_note(r.decision_note);
  for (const std::string& f : r.fields_to_fix) review->add_fields_to_fix(f);
  review->set_approval_sla_breached(r.approval_sla_breached);

  const DealProtection& p = deal.protection;
  v1::DealProtection* protection = out->mutable_protection();
  if (p.approve_time) *protection->mutable_approve_time() = ToTimestamp(*p.approve_time);
  protection->set_protection_days(p.protection_days);
  if (p.expire_time) *protection->mutable_expire_time() = ToTimestamp(*p.expire_time);
  protection->set_extension_count(p.extension_count);
  protection->set_max_extensions(p.max_extensions);
  protection->set_expiry_reminder_sent(p.expiry_reminder_sent);

  const DealOutcome& o = deal.outcome;
  v1::DealOutcome* outcome = out->mutable_outcome();
  if (o.close_time) *outcome->mutable_close_time() = ToTimestamp(*o.close_time);
  if (o.close_date) *outcome->mutable_close_date() = ToProto(*o.close_date);
  outcome->set_source(static_cast<v1::CloseSource>(o.source));
  if (o.won_amount) *outcome->mutable_won_amount() = ToProto(*o.won_amount);
  outcome->set_erp_system_id(o.erp_system_id);
  outcome->set_erp_document_id(o.erp_document_id);
  outcome->set_loss_reason(o.loss_reason);

  out->set_cancel_reason(deal.cancel_reason);
  *out->mutable_creator() = ToProto(deal.creator);
  out->set_version(deal.version);
  out->set_etag(Etag(deal.version));
  *out->mutable_create_time() = ToTimestamp(deal.create_time);
  *out->mutable_update_time() = ToTimestamp(deal.update_time);
}

v1::Deal ToProto(const Deal& deal) {
  v1::Deal out;
  ToProto(deal, &out);
  return out;
}

Deal WritableFromProto(const v1::Deal& in) {
  Deal deal;
  deal.vendor_id = in.vendor_id();
  deal.deal_id = in.deal_id();
  deal.partner_id = in.partner_id();
  deal.title = in.title();
  deal.end_customer = FromProto(in.end_customer());
  for (const cv1::ProductLine& line : in.products()) deal.products.push_back(FromProto(line));
  if (in.has_value()) deal.value = FromProto(in.value());
  if (in.has_expected_close_date()) deal.expected_close_date = FromProto(in.expected_close_date());
  deal.stage = static_cast<DealStage>(in.stage());
  deal.description = in.description();
  return deal;
}

v1::DealConflict ToConflictProto(const Deal& deal, const ConflictMatch& match,
                                 absl::Time detect_time) {
  v1::DealConflict out;
  const bool deal_is_later =
      !deal.review.submit_time || match.submit_time <= *deal.review.submit_time;
  if (deal_is_later) {
    out.set_earlier_deal_id(match.deal_id);
    out.set_earlier_partner_id(match.partner_id);
    out.set_earlier_state(static_cast<v1::DealState>(match.state));
    *out.mutable_earlier_submit_time() = ToTimestamp(match.submit_time);
    out.set_later_deal_id(deal.deal_id);
    out.set_later_partner_id(deal.partner_id);
  } else {
    out.set_earlier_deal_id(deal.deal_id);
    out.set_earlier_partner_id(deal.partner_id);
    out.set_earlier_state(static_cast<v1::DealState>(deal.state));
    *out.mutable_earlier_submit_time() = ToTimestamp(*deal.review.submit_time);
    out.set_later_deal_id(match.deal_id);
    out.set_later_partner_id(match.partner_id);
  }
  out.set_conflict_id(absl::StrCat(out.earlier_deal_id(), "~", out.later_deal_id()));
  for (const ConflictReason& reason : match.reasons) {
    v1::ConflictReason* r = out.add_reasons();
    r->set_kind(static_cast<v1::ConflictReasonKind>(reason.kind));
    r->set_matched_value(reason.matched_value);
  }
  *out.mutable_detect_time() = ToTimestamp(detect_time);
  out.set_active(true);  // FindConflicts returns active registrations only
  return out;
}

v1::DealAuditEntry ToProto(const AuditEntry& entry) {
  v1::DealAuditEntry out;
  out.set_vendor_id(entry.vendor_id);
  out.set_deal_id(entry.deal_id);
  out.set_sequence(entry.sequence);
  out.set_action(static_cast<v1::DealAction>(entry.action));
  *out.mutable_actor() = ToProto(entry.actor);
  *out.mutable_time() = ToTimestamp(entry.time);
  out.set_from_state(static_cast<v1::DealState>(entry.from_state));
  out.set_to_state(static_cast<v1::DealState>(entry.to_state));
  out.set_reason(entry.reason);
  if (entry.before) ToProto(*entry.before, out.mutable_before());
  if (entry.after) ToProto(*entry.after, out.mutable_after());
  return out;
}

v1::DealPolicy ToProto(const DealPolicy& policy) {
  v1::DealPolicy out;
  out.set_vendor_id(policy.vendor_id);
  out.set_program_id(policy.program_id);
  for (const AutoApprovalRule& rule : policy.auto_approval_rules) {
    v1::AutoApprovalRule* r = out.add_auto_approval_rules();
    r->set_rule_id(rule.rule_id);
    r->set_enabled(rule.enabled);
    r->set_min_tier_rank(rule.min_tier_rank);
    if (rule.max_value) *r->mutable_max_value() = ToProto(*rule.max_value);
    r->set_allow_conflict(rule.allow_conflict);
    for (const std::string& c : rule.country_codes) r->add_country_codes(c);
    for (const std::string& c : rule.product_categories) r->add_product_categories(c);
    for (int32_t t : rule.partner_types) {
      r->add_partner_types(static_cast<prm::common::v1::PartnerType>(t));
    }
  }
  *out.mutable_approval_sla() = ToDurationProto(policy.approval_sla);
  *out.mutable_expiry_reminder_lead() = ToDurationProto(policy.expiry_reminder_lead);
  out.set_max_extensions(policy.max_extensions);
  out.set_default_extension_days(policy.default_extension_days);
  out.set_max_extension_days(policy.max_extension_days);
  out.set_default_protection_days(policy.default_protection_days);
  return out;
}

absl::StatusOr<DealPolicy> MergePolicy(const DealPolicy& base, const v1::DealPolicy& policy,
                                       const std::vector<std::string>& paths) {
  static constexpr absl::string_view kWritable[] = {
      "auto_approval_rules", "approval_sla",       "expiry_reminder_lead",
      "max_extensions",      "default_extension_days", "max_extension_days",
      "default_protection_days"};
  FieldViolations bad;
  std::vector<std::string> fields;
  if (paths.empty()) bad.Add("update_mask", "must name at least one field");
  for (const std::string& p : paths) {
    if (p == "*") {
      fields.clear();
      for (absl::string_view f : kWritable) fields.emplace_back(f);
    } else if (std::find(std::begin(kWritable), std::end(kWritable), p) != std::end(kWritable)) {
      fields.push_back(p);
    } else {
      bad.Add("update_mask", absl::StrCat("field '", p, "' cannot be updated"));
    }
  }
  DealPolicy out = base;
  auto has = [&](absl::string_view f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  if (has("auto_approval_rules")) {
    if (policy.auto_approval_rules_size() > 50) {
      bad.Add("policy.auto_approval_rules", "at most 50 rules");
    }
    out.auto_approval_rules.clear();
    for (int i = 0; i < policy.auto_approval_rules_size(); ++i) {
      const v1::AutoApprovalRule& r = policy.auto_approval_rules(i);
      AutoApprovalRule rule;
      rule.rule_id = r.rule_id();
      if (!IsRuleId(r.rule_id())) {
        bad.Add(absl::StrCat("policy.auto_approval_rules[", i, "].rule_id"),
                "must be 1..64 characters of [a-z0-9_-]");
      }
      rule.enabled = r.enabled();
      rule.min_tier_rank = r.min_tier_rank();
      if (r.min_tier_rank() < 0) {
        bad.Add(absl::StrCat("policy.auto_approval_rules[", i, "].min_tier_rank"),
                "must not be negative");
      }
      if (r.has_max_value()) rule.max_value = FromProto(r.max_value());
      rule.allow_conflict = r.allow_conflict();
      rule.country_codes.assign(r.country_codes().begin(), r.country_codes().end());
      rule.product_categories.assign(r.product_categories().begin(),
                                     r.product_categories().end());
      for (int t : r.partner_types()) rule.partner_types.push_back(t);
      out.auto_approval_rules.push_back(std::move(rule));
    }
  }
  if (has("approval_sla")) {
    out.approval_sla = FromDurationProto(policy.approval_sla());
    if (out.approval_sla < absl::Hours(1) || out.approval_sla > absl::Hours(24 * 30)) {
      bad.Add("policy.approval_sla", "must be 1 hour..30 days");
    }
  }
  if (has("expiry_reminder_lead")) {
    out.expiry_reminder_lead = FromDurationProto(policy.expiry_reminder_lead());
    if (out.expiry_reminder_lead < absl::Hours(1) ||
        out.expiry_reminder_lead > absl::Hours(24 * 90)) {
      bad.Add("policy.expiry_reminder_lead", "must be 1 hour..90 days");
    }
  }
  auto range = [&](absl::string_view f, int32_t value, int32_t lo, int32_t hi, int32_t* target) {
    if (!has(f)) return;
    *target = value;
    if (value < lo || value > hi) {
      bad.Add(absl::StrCat("policy.", f), absl::StrCat("must be ", lo, "..", hi));
    }
  };
  range("max_extensions", policy.max_extensions(), 0, 10, &out.max_extensions);
  range("default_extension_days", policy.default_extension_days(), 1, 365,
        &out.default_extension_days);
  range("max_extension_days", policy.max_extension_days(), 1, 365, &out.max_extension_days);
  range("default_protection_days", policy.default_protection_days(), 1, 3650,
        &out.default_protection_days);
  if (!bad.empty()) return bad.ToStatus("bad deal policy");
  return out;
}

EventMessage ToEventProto(const DealEvent& event, const EventContext& context) {
  EventMessage out;
  out.type = absl::StrCat("prm.deal.", std::string(DealEventTypeName(event.type)), ".v1");
  switch (event.type) {
    case DealEventType::kCreated:
      out.message = WithDeal<v1::DealCreated>(event, context);
      break;
    case DealEventType::kUpdated: {
      auto m = WithDeal<v1::DealUpdated>(event, context);
      for (const std::string& p : event.changed_paths) m->add_changed_paths(p);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kDeleted: {
      auto m = WithDeal<v1::DealDeleted>(event, context);
      m->set_deal_id(event.deal.deal_id);
      m->set_partner_id(event.deal.partner_id);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kSubmitted: {
      auto m = WithDeal<v1::DealSubmitted>(event, context);
      m->set_has_conflict(event.has_conflict);
      m->set_review_required(event.review_required);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kReviewStarted:
      out.message = WithDeal<v1::DealReviewStarted>(event, context);
      break;
    case DealEventType::kReturned: {
      auto m = WithDeal<v1::DealReturned>(event, context);
      m->set_note(event.note);
      for (const std::string& f : event.fields_to_fix) m->add_fields_to_fix(f);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kApproved: {
      auto m = WithDeal<v1::DealApproved>(event, context);
      m->set_mode(static_cast<v1::ApprovalMode>(event.mode));
      m->set_auto_approval_rule_id(event.auto_approval_rule_id);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kRejected: {
      auto m = WithDeal<v1::DealRejected>(event, context);
      m->set_reason(static_cast<v1::RejectionReason>(event.rejection_reason));
      m->set_note(event.note);
      m->set_duplicate_of_deal_id(event.duplicate_of_deal_id);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kCancelled: {
      auto m = WithDeal<v1::DealCancelled>(event, context);
      m->set_reason(event.reason);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kWon: {
      auto m = WithDeal<v1::DealWon>(event, context);
      if (event.won_amount) *m->mutable_won_amount() = ToProto(*event.won_amount);
      m->set_source(static_cast<v1::CloseSource>(event.source));
      out.message = std::move(m);
      break;
    }
    case DealEventType::kLost: {
      auto m = WithDeal<v1::DealLost>(event, context);
      m->set_reason(event.reason);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kExpired:
      out.message = WithDeal<v1::DealExpired>(event, context);
      break;
    case DealEventType::kExpiryReminder: {
      auto m = WithDeal<v1::DealExpiryReminder>(event, context);
      if (event.expire_time) *m->mutable_expire_time() = ToTimestamp(*event.expire_time);
      *m->mutable_lead() = ToDurationProto(event.lead);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kProtectionExtended: {
      auto m = WithDeal<v1::DealProtectionExtended>(event, context);
      if (event.previous_expire_time) {
        *m->mutable_previous_expire_time() = ToTimestamp(*event.previous_expire_time);
      }
      m->set_extension_days(event.extension_days);
      m->set_reason(event.reason);
      out.message = std::move(m);
      break;
    }
    case DealEventType::kApprovalSlaBreached: {
      auto m = WithDeal<v1::DealApprovalSlaBreached>(event, context);
      if (event.approval_due_time) {
        *m->mutable_approval_due_time() = ToTimestamp(*event.approval_due_time);
      }
      *m->mutable_approval_sla() = ToDurationProto(event.approval_sla);
      out.message = std::move(m);
      break;
    }
  }
  return out;
}

EventMessage ToConflictDetectedProto(const Deal& deal, const std::vector<ConflictMatch>& conflicts,
                                     const Actor& actor, absl::Time time,
                                     const EventContext& context) {
  DealEvent base;
  base.deal = deal;
  base.actor = actor;
  base.time = time;
  auto m = WithDeal<v1::DealConflictDetected>(base, context);
  for (const ConflictMatch& match : conflicts) {
    *m->add_conflicts() = ToConflictProto(deal, match, time);
  }
  return EventMessage{std::move(m), "prm.deal.DealConflictDetected.v1"};
}

}  // namespace prm::deal
