#include "services/partner-registry/adapters/proto_mapping.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"

namespace prm::partner {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);

template <typename Enum, typename Repeated>
std::vector<Enum> EnumsFrom(const Repeated& values) {
  std::vector<Enum> out;
  out.reserve(values.size());
  for (int v : values) out.push_back(static_cast<Enum>(v));
  return out;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

}  // namespace

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    out->Clear();
    return;
  }
  const timespec ts = absl::ToTimespec(t);
  out->set_seconds(ts.tv_sec);
  out->set_nanos(static_cast<int32_t>(ts.tv_nsec));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(const Money& money, common::v1::Money* out) {
  out->set_currency_code(money.currency_code);
  out->set_units(money.units());
  out->set_nanos(money.nanos_part());
}

absl::StatusOr<Money> FromProto(const common::v1::Money& money, const std::string& field) {
  FieldViolations bad;
  const std::string& c = money.currency_code();
  if (c.size() != 3 || !std::all_of(c.begin(), c.end(), [](char x) { return x >= 'A' && x <= 'Z'; })) {
    bad.Add(absl::StrCat(field, ".currency_code"), "must be a 3-letter upper-case ISO 4217 code");
  }
  if (money.nanos() < -999'999'999 || money.nanos() > 999'999'999) {
    bad.Add(absl::StrCat(field, ".nanos"), "must be in -999999999..999999999");
  } else if ((money.units() > 0 && money.nanos() < 0) || (money.units() < 0 && money.nanos() > 0)) {
    bad.Add(absl::StrCat(field, ".nanos"), "must have the sign of units");
  }
  if (!bad.empty()) return bad.ToStatus("money is invalid");
  return Money::FromUnits(c, money.units(), money.nanos());
}

void ToProto(const Partner& p, v1::Partner* out) {
  out->Clear();
  out->set_partner_id(p.partner_id);
  out->set_legal_name(p.legal_name);
  out->set_display_name(p.display_name);
  out->set_tax_id(p.tax_id);
  for (const auto& d : p.web_domains) out->add_web_domains(d);
  out->set_hq_country_code(p.hq_country_code);
  out->set_time_zone(p.time_zone);
  for (PartnerType t : p.types) out->add_types(static_cast<common::v1::PartnerType>(t));
  for (const auto& c : p.country_codes) out->add_country_codes(c);
  for (const auto& r : p.sales_regions) out->add_sales_regions(r);
  for (const auto& v : p.verticals) out->add_verticals(v);
  for (const CarriedVendor& cv : p.carried_vendors) {
    v1::CarriedVendor* o = out->add_carried_vendors();
    o->set_name(cv.name);
    o->set_vendor_id(cv.vendor_id);
    for (const auto& pc : cv.product_categories) o->add_product_categories(pc);
  }
  for (const Contact& c : p.contacts) {
    v1::Contact* o = out->add_contacts();
    o->set_contact_id(c.contact_id);
    o->set_display_name(c.display_name);
    o->set_email(c.email);
    o->set_phone(c.phone);
    o->set_job_title(c.job_title);
    for (ContactRole r : c.roles) o->add_roles(static_cast<v1::ContactRole>(r));
    o->set_language_code(c.language_code);
  }
  for (const ExternalId& e : p.external_ids) {
    v1::ExternalId* o = out->add_external_ids();
    o->set_vendor_id(e.vendor_id);
    o->set_erp_system_id(e.erp_system_id);
    o->set_account_id(e.account_id);
  }
  for (const auto& [k, v] : p.attributes) (*out->mutable_attributes())[k] = v;
  out->set_version(p.version);
  out->set_etag(p.etag);
  ToProto(p.create_time, out->mutable_create_time());
  ToProto(p.update_time, out->mutable_update_time());
}

Partner FromProto(const v1::Partner& p) {
  Partner out;
  out.partner_id = p.partner_id();
  out.legal_name = p.legal_name();
  out.display_name = p.display_name();
  out.tax_id = p.tax_id();
  out.web_domains = Strings(p.web_domains());
  out.hq_country_code = p.hq_country_code();
  out.time_zone = p.time_zone();
  out.types = EnumsFrom<PartnerType>(p.types());
  out.country_codes = Strings(p.country_codes());
  out.sales_regions = Strings(p.sales_regions());
  out.verticals = Strings(p.verticals());
  for (const auto& cv : p.carried_vendors()) {
    out.carried_vendors.push_back(
        {cv.name(), cv.vendor_id(), Strings(cv.product_categories())});
  }
  for (const auto& c : p.contacts()) {
    out.contacts.push_back({c.contact_id(), c.display_name(), c.email(), c.phone(), c.job_title(),
                            EnumsFrom<ContactRole>(c.roles()), c.language_code()});
  }
  for (const auto& e : p.external_ids()) {
    out.external_ids.push_back({e.vendor_id(), e.erp_system_id(), e.account_id()});
  }
  out.attributes = {p.attributes().begin(), p.attributes().end()};
  out.etag = p.etag();
  return out;
}

void ToProto(const TierBenefits& b, v1::TierBenefits* out) {
  out->set_discount_basis_points(b.discount_basis_points);
  out->set_deal_protection_days(b.deal_protection_days);
  out->set_routing_priority(b.routing_priority);
  if (b.first_response_sla.has_value()) {
    ToProto(*b.first_response_sla, out->mutable_first_response_sla());
  }
}

void ToProto(const Program& p, v1::Program* out) {
  out->Clear();
  out->set_vendor_id(p.vendor_id);
  out->set_program_id(p.program_id);
  out->set_display_name(p.display_name);
  out->set_description(p.description);
  for (PartnerType t : p.eligible_types) {
    out->add_eligible_types(static_cast<common::v1::PartnerType>(t));
  }
  int rank = 0;
  for (const Tier& t : p.tiers) {
    v1::Tier* o = out->add_tiers();
    o->set_tier_id(t.tier_id);
    o->set_display_name(t.display_name);
    o->set_rank(++rank);
    v1::TierRequirements* r = o->mutable_requirements();
    if (t.requirements.min_trailing_revenue.has_value()) {
      ToProto(*t.requirements.min_trailing_revenue, r->mutable_min_trailing_revenue());
    }
    r->set_min_active_competencies(t.requirements.min_active_competencies);
    for (const CompetencyRequirement& cr : t.requirements.required_competencies) {
      v1::CompetencyRequirement* ro = r->add_required_competencies();
      ro->set_competency_id(cr.competency_id);
      ro->set_min_level(cr.min_level);
    }
    if (t.requirements.min_points.has_value()) r->set_min_points(*t.requirements.min_points);
    ToProto(t.benefits, o->mutable_benefits());
  }
  for (const CompetencyDefinition& d : p.competencies) {
    v1::CompetencyDefinition* o = out->add_competencies();
    o->set_competency_id(d.competency_id);
    o->set_display_name(d.display_name);
    o->set_max_level(d.max_level);
    ToProto(d.default_validity, o->mutable_default_validity());
    ToProto(d.renewal_grace_period, o->mutable_renewal_grace_period());
  }
  ToProto(p.downgrade_grace_period, out->mutable_downgrade_grace_period());
  ToProto(p.competency_expiry_notice, out->mutable_competency_expiry_notice());
  out->set_version(p.version);
  out->set_etag(p.etag);
  ToProto(p.create_time, out->mutable_create_time());
  ToProto(p.update_time, out->mutable_update_time());
}

absl::StatusOr<Program> FromProto(const v1::Program& p, const std::string& prefix) {
  Program out;
  out.vendor_id = p.vendor_id();
  out.program_id = p.program_id();
  out.display_name = p.display_name();
  out.description = p.description();
  out.eligible_types = EnumsFrom<PartnerType>(p.eligible_types());
  FieldViolations bad;
  for (int i = 0; i < p.tiers_size(); ++i) {
    const v1::Tier& t = p.tiers(i);
    Tier tier;
    tier.tier_id = t.tier_id();
    tier.display_name = t.display_name();
    const v1::TierRequirements& r = t.requirements();
    if (r.has_min_trailing_revenue()) {
      absl::StatusOr<Money> m = FromProto(
          r.min_trailing_revenue(),
          absl::StrCat(prefix, "tiers[", i, "].requirements.min_trailing_revenue"));
      if (m.ok()) {
        tier.requirements.min_trailing_revenue = *m;
      } else {
        for (const FieldViolation& v : FieldViolationsOf(m.status())) bad.Add(v.field, v.description);
      }
    }
    tier.requirements.min_active_competencies = r.min_active_competencies();
    for (const auto& cr : r.required_competencies()) {
      tier.requirements.required_competencies.push_back({cr.competency_id(), cr.min_level()});
    }
    if (r.has_min_points()) tier.requirements.min_points = r.min_points();
    const v1::TierBenefits& b = t.benefits();
    tier.benefits.discount_basis_points = b.discount_basis_points();
    tier.benefits.deal_protection_days = b.deal_protection_days();
    tier.benefits.routing_priority = b.routing_priority();
    if (b.has_first_response_sla()) tier.benefits.first_response_sla = FromProto(b.first_response_sla());
    out.tiers.push_back(std::move(tier));
  }
  for (const auto& d : p.competencies()) {
    CompetencyDefinition def;
    def.competency_id = d.competency_id();
    def.display_name = d.display_name();
    def.max_level = d.max_level() == 0 ? 1 : d.max_level();
    def.default_validity =
        d.has_default_validity() ? FromProto(d.default_validity()) : 365 * kDay;
    def.renewal_grace_period =
        d.has_renewal_grace_period() ? FromProto(d.renewal_grace_period()) : absl::ZeroDuration();
    out.competencies.push_back(std::move(def));
  }
  out.downgrade_grace_period =
      p.has_downgrade_grace_period() ? FromProto(p.downgrade_grace_period()) : 90 * kDay;
  out.competency_expiry_notice =
      p.has_competency_expiry_notice() ? FromProto(p.competency_expiry_notice()) : 30 * kDay;
  out.etag = p.etag();
  if (!bad.empty()) return bad.ToStatus("program is invalid");
  return out;
}

void ToProto(const Competency& c, absl::Time now, v1::Competency* out) {
  out->set_competency_id(c.competency_id);
  out->set_level(c.level);
  out->set_certified_people(c.certified_people);
  ToProto(c.grant_time, out->mutable_grant_time());
  ToProto(c.expire_time, out->mutable_expire_time());
  ToProto(c.renewal_grace_period, out->mutable_renewal_grace_period());
  out->set_state(static_cast<v1::CompetencyState>(StateAt(c, now)));
  if (c.revoke_time.has_value()) ToProto(*c.revoke_time, out->mutable_revoke_time());
  out->set_revoke_reason(c.revoke_reason);
}

Competency FromProto(const v1::Competency& c) {
  Competency out;
  out.competency_id = c.competency_id();
  out.level = c.level();
  out.certified_people = c.certified_people();
  if (c.has_grant_time()) out.grant_time = FromProto(c.grant_time());
  if (c.has_expire_time()) out.expire_time = FromProto(c.expire_time());
  return out;
}

void ToProto(const TierEvaluation& e, v1::TierEvaluation* out) {
  out->set_qualified_tier_id(e.qualified_tier_id);
  out->set_qualified_tier_rank(e.qualified_tier_rank);
  for (const RequirementResult& r : e.results) {
    v1::RequirementResult* o = out->add_results();
    o->set_tier_id(r.tier_id);
    o->set_kind(static_cast<v1::RequirementKind>(r.kind));
    o->set_competency_id(r.competency_id);
    o->set_passed(r.passed);
    if (r.required_amount.has_value()) ToProto(*r.required_amount, o->mutable_required_amount());
    if (r.actual_amount.has_value()) ToProto(*r.actual_amount, o->mutable_actual_amount());
    o->set_required_value(r.required_value);
    o->set_actual_value(r.actual_value);
  }
  ToProto(e.evaluate_time, out->mutable_evaluate_time());
  out->set_trigger(static_cast<v1::EvaluationTrigger>(e.trigger));
}

std::string EnrollmentEtag(const Enrollment& e) {
  return absl::StrCat(e.version(), "-", absl::ToUnixNanos(e.update_time()));
}

void ToProto(const Enrollment& e, absl::Time now, v1::Enrollment* out) {
  out->Clear();
  out->set_vendor_id(e.vendor_id());
  out->set_partner_id(e.partner_id());
  out->set_program_id(e.program_id());
  out->set_state(static_cast<v1::EnrollmentState>(e.state()));
  out->set_state_reason(e.state_reason());
  ToProto(e.state_change_time(), out->mutable_state_change_time());
  out->set_tier_id(e.tier_id());
  out->set_tier_rank(e.tier_rank());
  if (!e.tier_id().empty()) ToProto(e.tier_start_time(), out->mutable_tier_start_time());
  if (e.pending_downgrade().has_value()) {
    const PendingDowngrade& d = *e.pending_downgrade();
    v1::PendingDowngrade* o = out->mutable_pending_downgrade();
    o->set_tier_id(d.tier_id);
    o->set_tier_rank(d.tier_rank);
    ToProto(d.effective_time, o->mutable_effective_time());
    ToProto(d.evaluation, o->mutable_evaluation());
  }
  for (const Competency& c : e.competencies()) ToProto(c, now, out->add_competencies());
  out->set_concierge_worker_id(e.concierge_worker_id());
  out->set_channel_manager_worker_id(e.channel_manager_worker_id());
  out->set_points(e.points());
  out->set_lead_opt_out(e.lead_opt_out());
  const EnrollmentMetrics& m = e.metrics();
  v1::EnrollmentMetrics* mo = out->mutable_metrics();
  if (!m.trailing_revenue.currency_code.empty()) {
    ToProto(m.trailing_revenue, mo->mutable_trailing_revenue());
  }
  for (const CategoryRevenue& cr : m.sales_mix) {
    v1::CategoryRevenue* o = mo->add_sales_mix();
    o->set_product_category(cr.product_category);
    ToProto(cr.revenue, o->mutable_revenue());
    o->set_share(cr.share);
  }
  mo->set_win_rate(m.win_rate);
  mo->set_won_deal_count(m.won_deal_count);
  mo->set_lost_deal_count(m.lost_deal_count);
  if (m.average_sales_cycle.has_value()) {
    ToProto(*m.average_sales_cycle, mo->mutable_average_sales_cycle());
  }
  mo->set_open_deal_count(m.open_deal_count);
  ToProto(m.compute_time, mo->mutable_compute_time());
  for (const auto& [k, v] : e.attributes()) (*out->mutable_attributes())[k] = v;
  out->set_version(e.version());
  out->set_etag(EnrollmentEtag(e));
  ToProto(e.create_time(), out->mutable_create_time());
  ToProto(e.update_time(), out->mutable_update_time());
}

Lead FromProto(const v1::Lead& l) {
  Lead out;
  out.lead_id = l.lead_id();
  out.country_code = l.country_code();
  out.sales_region = l.sales_region();
  out.vertical = l.vertical();
  out.product_category = l.product_category();
  for (const auto& cr : l.required_competencies()) {
    out.required_competencies.push_back({cr.competency_id(), cr.min_level()});
  }
  out.types = EnumsFrom<PartnerType>(l.types());
  out.min_tier_rank = l.min_tier_rank();
  out.excluded_partner_ids = Strings(l.excluded_partner_ids());
  return out;
}

void ToProto(const LeadMatches& m, v1::LeadMatches* out) {
  out->set_lead_id(m.lead_id);
  out->set_eligible_count(m.eligible_count);
  for (const PartnerMatch& pm : m.matches) {
    v1::PartnerMatch* o = out->add_matches();
    o->set_partner_id(pm.partner_id);
    o->set_display_name(pm.display_name);
    o->set_tier_id(pm.tier_id);
    o->set_tier_rank(pm.tier_rank);
    o->set_score(pm.score);
    v1::ScoreParts* parts = o->mutable_parts();
    parts->set_competency_fit(pm.parts.competency_fit);
    parts->set_tier(pm.parts.tier);
    parts->set_win_rate(pm.parts.win_rate);
    parts->set_velocity(pm.parts.velocity);
    parts->set_load(pm.parts.load);
    o->set_selection_probability(pm.selection_probability);
  }
}

absl::Status PrefixFieldPaths(absl::Status status, const std::string& prefix) {
  std::vector<FieldViolation> violations = FieldViolationsOf(status);
  if (violations.empty()) return status;
  FieldViolations bad;
  for (FieldViolation& v : violations) bad.Add(absl::StrCat(prefix, v.field), v.description);
  // Keep the summary (the text before the first ':').
  absl::string_view message = status.message();
  return bad.ToStatus(message.substr(0, message.find(':')));
}

}  // namespace prm::partner
