#include "services/partner-registry/domain/partner_directory.h"

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "services/partner-registry/domain/access.h"

namespace prm::partner {

PartnerDirectory::PartnerDirectory(const Clock& clock,
                                   std::function<std::string(std::string_view)> new_id)
    : clock_(clock), new_id_(std::move(new_id)) {
  if (!new_id_) {
    new_id_ = [this](std::string_view kind) {
      return absl::StrCat(std::string(kind), "-", next_id_++);
    };
  }
}

std::string PartnerDirectory::Key(std::string_view a, std::string_view b) {
  std::string key(a);
  key.push_back('\0');
  key.append(b);
  return key;
}

std::string PartnerDirectory::Etag(int64_t version, absl::Time t) {
  return absl::StrCat(version, "-", absl::ToUnixNanos(t));
}

absl::StatusOr<PartnerResult> PartnerDirectory::CreatePartner(Partner partner,
                                                              std::string creator_vendor_id) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  CanonicalizePartner(partner);
  RETURN_IF_ERROR(ValidatePartner(partner));
  partner.partner_id.clear();
  RETURN_IF_ERROR(identity_.CheckUnique(partner));
  partner.partner_id = new_id_("partner");
  PartnerResult result;
  result.warnings = identity_.Warnings(partner);
  partner.version = 1;
  partner.create_time = now;
  partner.update_time = now;
  partner.etag = Etag(partner.version, now);
  identity_.Add(partner);
  if (!creator_vendor_id.empty()) {
    vendors_by_partner_[partner.partner_id].push_back(creator_vendor_id);
  }
  partners_.emplace(partner.partner_id, partner);
  result.events.push_back(PartnerCreated{EventMeta{"", partner.partner_id, 1, now}, partner,
                                         std::move(creator_vendor_id)});
  result.partner = std::move(partner);
  return result;
}

absl::StatusOr<PartnerResult> PartnerDirectory::UpdatePartner(Partner partner) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  auto it = partners_.find(partner.partner_id);
  if (it == partners_.end()) {
    return absl::NotFoundError(absl::StrCat("partner ", partner.partner_id, " not found"));
  }
  const Partner& old = it->second;
  if (!partner.etag.empty() && partner.etag != old.etag) {
    return absl::AbortedError("partner changed since it was read (stale etag)");
  }
  CanonicalizePartner(partner);
  RETURN_IF_ERROR(ValidatePartner(partner));
  RETURN_IF_ERROR(identity_.CheckUnique(partner));
  PartnerResult result;
  result.warnings = identity_.Warnings(partner);
  partner.version = old.version + 1;
  partner.create_time = old.create_time;
  partner.update_time = now;
  partner.etag = Etag(partner.version, now);
  identity_.Remove(old);
  identity_.Add(partner);
  it->second = partner;
  result.events.push_back(
      PartnerUpdated{EventMeta{"", partner.partner_id, partner.version, now}, partner});
  for (const std::string& vendor : vendors_by_partner_[partner.partner_id]) {
    if (auto e = enrollments_.find(Key(vendor, partner.partner_id)); e != enrollments_.end()) {
      RefreshCandidate(e->second);
    }
  }
  result.partner = std::move(partner);
  return result;
}

absl::StatusOr<Partner> PartnerDirectory::GetPartner(std::string_view partner_id) const {
  std::shared_lock lock(mu_);
  auto it = partners_.find(absl::string_view(partner_id.data(), partner_id.size()));
  if (it == partners_.end()) return absl::NotFoundError("partner not found");
  return it->second;
}

absl::StatusOr<Events> PartnerDirectory::DeletePartner(std::string_view partner_id,
                                                       std::string_view etag) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  auto it = partners_.find(absl::string_view(partner_id.data(), partner_id.size()));
  if (it == partners_.end()) return absl::NotFoundError("partner not found");
  if (!etag.empty() && etag != it->second.etag) {
    return absl::AbortedError("partner changed since it was read (stale etag)");
  }
  for (const std::string& vendor : vendors_by_partner_[it->first]) {
    auto e = enrollments_.find(Key(vendor, partner_id));
    if (e != enrollments_.end() && e->second.state() != EnrollmentState::kTerminated) {
      return absl::FailedPreconditionError(
          "partner is in use: it has an enrollment that is not TERMINATED");
    }
  }
  Events events;
  events.push_back(PartnerDeleted{EventMeta{"", it->first, it->second.version + 1, now}});
  identity_.Remove(it->second);
  vendors_by_partner_.erase(it->first);
  partners_.erase(it);
  return events;
}

std::optional<std::string> PartnerDirectory::FindPartnerByTaxId(std::string_view tax_id) const {
  std::shared_lock lock(mu_);
  return identity_.FindByTaxId(tax_id);
}

std::optional<std::string> PartnerDirectory::FindPartnerByWebDomain(
    std::string_view domain) const {
  std::shared_lock lock(mu_);
  return identity_.FindByWebDomain(domain);
}

std::vector<Partner> PartnerDirectory::ListPartnersFor(const auth::Principal& who) const {
  std::shared_lock lock(mu_);
  std::vector<Partner> out;
  static const std::vector<std::string> kNone;
  for (const auto& [id, partner] : partners_) {
    auto v = vendors_by_partner_.find(id);
    if (CanReadPartner(who, id, v == vendors_by_partner_.end() ? kNone : v->second)) {
      out.push_back(RedactPartner(who, partner));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Partner& a, const Partner& b) { return a.partner_id < b.partner_id; });
  return out;
}

std::optional<std::string> PartnerDirectory::FindPartnerByExternalId(
    const ExternalId& external_id) const {
  std::shared_lock lock(mu_);
  return identity_.FindByExternalId(external_id);
}

absl::StatusOr<ProgramResult> PartnerDirectory::CreateProgram(Program program) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(ValidateProgram(program));
  program.program_id = new_id_("program");
  program.version = 1;
  program.create_time = now;
  program.update_time = now;
  program.etag = Etag(1, now);
  programs_.emplace(Key(program.vendor_id, program.program_id), program);
  ProgramResult result{program, {}};
  result.events.push_back(ProgramCreated{EventMeta{program.vendor_id, "", 1, now}, program});
  return result;
}

absl::StatusOr<ProgramResult> PartnerDirectory::UpdateProgram(Program program) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  auto it = programs_.find(Key(program.vendor_id, program.program_id));
  if (it == programs_.end()) return absl::NotFoundError("program not found");
  if (!program.etag.empty() && program.etag != it->second.etag) {
    return absl::AbortedError("program changed since it was read (stale etag)");
  }
  RETURN_IF_ERROR(ValidateProgram(program));
  program.version = it->second.version + 1;
  program.create_time = it->second.create_time;
  program.update_time = now;
  program.etag = Etag(program.version, now);
  it->second = program;
  ProgramResult result{program, {}};
  result.events.push_back(
      ProgramUpdated{EventMeta{program.vendor_id, "", program.version, now}, program});
  std::vector<std::string> keys;
  for (const auto& [key, e] : enrollments_) {
    if (e.vendor_id() == program.vendor_id && e.program_id() == program.program_id) {
      keys.push_back(key);
    }
  }
  std::sort(keys.begin(), keys.end());  // deterministic event order
  for (const std::string& key : keys) {
    Enrollment& e = enrollments_.at(key);
    e.Reevaluate(it->second, now, EvaluationTrigger::kProgram, result.events);
    RefreshCandidate(e);
  }
  return result;
}

absl::StatusOr<Program> PartnerDirectory::GetProgram(std::string_view vendor_id,
                                                     std::string_view program_id) const {
  std::shared_lock lock(mu_);
  auto it = programs_.find(Key(vendor_id, program_id));
  if (it == programs_.end()) return absl::NotFoundError("program not found");
  return it->second;
}

std::vector<Program> PartnerDirectory::ListPrograms(std::string_view vendor_id) const {
  std::shared_lock lock(mu_);
  std::vector<Program> out;
  for (const auto& [key, program] : programs_) {
    if (program.vendor_id == vendor_id) out.push_back(program);
  }
  std::sort(out.begin(), out.end(),
            [](const Program& a, const Program& b) { return a.program_id < b.program_id; });
  return out;
}

absl::StatusOr<Events> PartnerDirectory::DeleteProgram(std::string_view vendor_id,
                                                       std::string_view program_id,
                                                       std::string_view etag) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  auto it = programs_.find(Key(vendor_id, program_id));
  if (it == programs_.end()) return absl::NotFoundError("program not found");
  if (!etag.empty() && etag != it->second.etag) {
    return absl::AbortedError("program changed since it was read (stale etag)");
  }
  for (const auto& [key, e] : enrollments_) {
    if (e.vendor_id() == vendor_id && e.program_id() == program_id &&
        e.state() != EnrollmentState::kTerminated) {
      return absl::FailedPreconditionError(
          "program is in use: it has an enrollment that is not TERMINATED");
    }
  }
  Events events;
  events.push_back(ProgramDeleted{
      EventMeta{std::string(vendor_id), "", it->second.version + 1, now}, std::string(program_id)});
  programs_.erase(it);
  return events;
}

std::vector<Enrollment> PartnerDirectory::ListEnrollments(std::string_view vendor_id) const {
  std::shared_lock lock(mu_);
  std::vector<Enrollment> out;
  for (const auto& [key, e] : enrollments_) {
    if (e.vendor_id() == vendor_id) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const Enrollment& a, const Enrollment& b) {
    return a.partner_id() < b.partner_id();
  });
  return out;
}

const Program* PartnerDirectory::ProgramOf(const Enrollment& e) const {
  auto it = programs_.find(Key(e.vendor_id(), e.program_id()));
  return it == programs_.end() ? nullptr : &it->second;
}

void PartnerDirectory::RefreshCandidate(const Enrollment& e) {
  auto p = partners_.find(e.partner_id());
  const Program* program = ProgramOf(e);
  if (e.state() != EnrollmentState::kActive || e.lead_opt_out() || p == partners_.end() ||
      program == nullptr) {
    finder_.Remove(e.vendor_id(), e.partner_id());
    return;
  }
  const Partner& partner = p->second;
  FinderCandidate c;
  c.vendor_id = e.vendor_id();
  c.partner_id = e.partner_id();
  c.display_name = partner.display_name;
  c.types = partner.types;
  c.country_codes = partner.country_codes;
  c.sales_regions = partner.sales_regions;
  c.verticals = partner.verticals;
  c.tier_id = e.tier_id();
  c.tier_rank = e.tier_rank();
  c.tier_count = static_cast<int>(program->tiers.size());
  for (const Competency& held : e.competencies()) {
    if (held.state == CompetencyState::kRevoked || held.state == CompetencyState::kExpired) continue;
    const CompetencyDefinition* def = program->FindCompetency(held.competency_id);
    absl::Time until = CountsUntil(held);
    if (held.revoke_time.has_value()) until = std::min(until, *held.revoke_time);
    c.competencies.push_back({held.competency_id, held.level, def ? def->max_level : held.level,
                              until});
  }
  const EnrollmentMetrics& m = e.metrics();
  c.win_rate = m.win_rate;
  c.trailing_revenue = m.trailing_revenue.ToDouble();
  c.open_deal_count = m.open_deal_count;
  for (const CategoryRevenue& cr : m.sales_mix) c.category_shares.emplace_back(cr.product_category, cr.share);
  finder_.Upsert(c);
}

absl::StatusOr<Events> PartnerDirectory::Enroll(std::string_view vendor_id,
                                                std::string_view partner_id,
                                                std::string_view program_id) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  auto p = partners_.find(absl::string_view(partner_id.data(), partner_id.size()));
  if (p == partners_.end()) return absl::NotFoundError("partner not found");
  auto prog = programs_.find(Key(vendor_id, program_id));
  if (prog == programs_.end()) return absl::NotFoundError("program not found");
  const std::string key = Key(vendor_id, partner_id);
  if (enrollments_.contains(key)) {
    return absl::AlreadyExistsError(
        absl::StrCat("partner ", std::string(partner_id), " is already enrolled at vendor ",
                     std::string(vendor_id)));
  }
  if (!prog->second.Accepts(p->second.types)) {
    return absl::FailedPreconditionError("the partner's types are not eligible for the program");
  }
  Events events;
  Enrollment e = Enrollment::Create(std::string(partner_id), prog->second, now, events);
  auto& vendors = vendors_by_partner_[std::string(partner_id)];
  if (std::find(vendors.begin(), vendors.end(), vendor_id) == vendors.end()) {
    vendors.emplace_back(vendor_id);
  }
  auto [it, inserted] = enrollments_.emplace(key, std::move(e));
  RefreshCandidate(it->second);
  return events;
}

absl::StatusOr<Events> PartnerDirectory::MutateEnrollment(std::string_view vendor_id,
                                                          std::string_view partner_id,
                                                          const EnrollmentCommand& command) {
  std::unique_lock lock(mu_);
  return MutateEnrollmentLocked(vendor_id, partner_id, command);
}

absl::StatusOr<Events> PartnerDirectory::MutateEnrollmentLocked(
    std::string_view vendor_id, std::string_view partner_id, const EnrollmentCommand& command) {
  const absl::Time now = clock_.Now();
  auto it = enrollments_.find(Key(vendor_id, partner_id));
  if (it == enrollments_.end()) return absl::NotFoundError("enrollment not found");
  const Program* program = ProgramOf(it->second);
  if (program == nullptr) return absl::FailedPreconditionError("the program no longer exists");
  Enrollment copy = it->second;
  Events events;
  RETURN_IF_ERROR(command(copy, *program, now, events));
  it->second = std::move(copy);
  RefreshCandidate(it->second);
  return events;
}

absl::StatusOr<Events> PartnerDirectory::Transition(std::string_view vendor_id,
                                                    std::string_view partner_id,
                                                    EnrollmentState to, std::string_view reason) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            RETURN_IF_ERROR(e.Transition(to, reason, now, out));
                            e.Reevaluate(p, now, EvaluationTrigger::kEnrollment, out);
                            return absl::OkStatus();
                          });
}

absl::StatusOr<Events> PartnerDirectory::ChangeProgram(std::string_view vendor_id,
                                                       std::string_view partner_id,
                                                       std::string_view program_id) {
  std::unique_lock lock(mu_);
  auto prog = programs_.find(Key(vendor_id, program_id));
  if (prog == programs_.end()) {
    return InvalidField("program_id",
                        absl::StrCat("is not a program of vendor ", std::string(vendor_id)));
  }
  const Program& to = prog->second;
  auto p = partners_.find(absl::string_view(partner_id.data(), partner_id.size()));
  if (p != partners_.end() && !to.Accepts(p->second.types)) {
    return absl::FailedPreconditionError("the partner's types are not eligible for the program");
  }
  return MutateEnrollmentLocked(vendor_id, partner_id,
                                [&](Enrollment& e, const Program&, absl::Time now, Events& out) {
                                  return e.ChangeProgram(to, now, out);
                                });
}

absl::StatusOr<Events> PartnerDirectory::GrantCompetency(std::string_view vendor_id,
                                                         std::string_view partner_id,
                                                         Competency competency) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            return e.GrantCompetency(competency, p, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::RenewCompetency(
    std::string_view vendor_id, std::string_view partner_id, std::string_view competency_id,
    absl::Time new_expire_time, std::optional<int> level, std::optional<int> certified_people) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            return e.RenewCompetency(competency_id, new_expire_time, level,
                                                     certified_people, p, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::RevokeCompetency(std::string_view vendor_id,
                                                          std::string_view partner_id,
                                                          std::string_view competency_id,
                                                          std::string_view reason) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            return e.RevokeCompetency(competency_id, reason, p, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::SetPoints(std::string_view vendor_id,
                                                   std::string_view partner_id, int64_t points) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            return e.SetPoints(points, p, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::SetLeadOptOut(std::string_view vendor_id,
                                                       std::string_view partner_id,
                                                       bool opt_out) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program&, absl::Time now, Events& out) {
                            return e.SetLeadOptOut(opt_out, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::AssignConcierge(std::string_view vendor_id,
                                                         std::string_view partner_id,
                                                         std::string worker_id) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program&, absl::Time now, Events& out) {
                            return e.AssignConcierge(worker_id, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::SetChannelManager(std::string_view vendor_id,
                                                           std::string_view partner_id,
                                                           std::string worker_id) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program&, absl::Time now, Events& out) {
                            return e.SetChannelManager(worker_id, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::SetEnrollmentAttributes(
    std::string_view vendor_id, std::string_view partner_id,
    std::map<std::string, std::string> attributes) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program&, absl::Time now, Events& out) {
                            return e.SetAttributes(attributes, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::EvaluateTier(std::string_view vendor_id,
                                                      std::string_view partner_id) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            RETURN_IF_ERROR(e.state() == EnrollmentState::kTerminated
                                                ? absl::FailedPreconditionError(
                                                      "enrollment is TERMINATED")
                                                : absl::OkStatus());
                            e.Reevaluate(p, now, EvaluationTrigger::kManual, out);
                            return absl::OkStatus();
                          });
}

absl::StatusOr<Events> PartnerDirectory::ApplySale(std::string_view vendor_id,
                                                   std::string_view erp_system_id,
                                                   std::string_view account_id, const Sale& sale) {
  std::unique_lock lock(mu_);
  std::optional<std::string> partner_id = identity_.FindByExternalId(ExternalId{
      std::string(vendor_id), std::string(erp_system_id), std::string(account_id)});
  if (!partner_id.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no partner has account ", std::string(account_id), " in ",
                     std::string(erp_system_id)));
  }
  return MutateEnrollmentLocked(vendor_id, *partner_id,
                          [&](Enrollment& e, const Program& p, absl::Time now, Events& out) {
                            return e.ApplySale(sale, p, now, out);
                          });
}

absl::StatusOr<Events> PartnerDirectory::ApplyDealOutcome(std::string_view vendor_id,
                                                          std::string_view partner_id,
                                                          const DealOutcome& outcome) {
  return MutateEnrollment(vendor_id, partner_id,
                          [&](Enrollment& e, const Program&, absl::Time now, Events&) {
                            return e.ApplyDealOutcome(outcome, now);
                          });
}

Events PartnerDirectory::Tick(bool* state_changed) {
  std::unique_lock lock(mu_);
  const absl::Time now = clock_.Now();
  std::vector<std::string> keys;
  keys.reserve(enrollments_.size());
  for (const auto& [key, e] : enrollments_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());  // deterministic event order
  Events events;
  bool changed = false;
  for (const std::string& key : keys) {
    Enrollment& e = enrollments_.at(key);
    const Program* program = ProgramOf(e);
    if (program == nullptr) continue;
    const size_t before = events.size();
    const absl::int128 revenue = e.metrics().trailing_revenue.nanos;
    const std::optional<PendingDowngrade> pending = e.pending_downgrade();
    e.Tick(*program, now, events);
    if (events.size() != before || revenue != e.metrics().trailing_revenue.nanos) {
      RefreshCandidate(e);
    }
    const std::optional<PendingDowngrade>& after = e.pending_downgrade();
    if (pending.has_value() != after.has_value() ||
        (pending.has_value() && (pending->tier_id != after->tier_id ||
                                 pending->below_since != after->below_since))) {
      changed = true;
    }
  }
  if (state_changed != nullptr) *state_changed = changed || !events.empty();
  return events;
}

absl::StatusOr<Enrollment> PartnerDirectory::GetEnrollment(std::string_view vendor_id,
                                                           std::string_view partner_id) const {
  std::shared_lock lock(mu_);
  auto it = enrollments_.find(Key(vendor_id, partner_id));
  if (it == enrollments_.end()) return absl::NotFoundError("enrollment not found");
  return it->second;
}

absl::StatusOr<EnrollmentAsOf> PartnerDirectory::GetEnrollmentAsOf(std::string_view vendor_id,
                                                                   std::string_view partner_id,
                                                                   absl::Time as_of) const {
  std::shared_lock lock(mu_);
  auto it = enrollments_.find(Key(vendor_id, partner_id));
  if (it == enrollments_.end()) return absl::NotFoundError("enrollment not found");
  return it->second.AsOf(as_of);
}

absl::Status PartnerDirectory::ReadEnrollmentFor(
    const auth::Principal& who, std::string_view vendor_id, std::string_view partner_id,
    absl::FunctionRef<void(const Enrollment&)> read) const {
  if (!CanReadEnrollment(who, vendor_id, partner_id)) {
    return absl::NotFoundError("enrollment not found");
  }
  std::shared_lock lock(mu_);
  auto it = enrollments_.find(Key(vendor_id, partner_id));
  if (it == enrollments_.end()) return absl::NotFoundError("enrollment not found");
  read(it->second);
  return absl::OkStatus();
}

absl::StatusOr<Enrollment> PartnerDirectory::GetEnrollmentFor(const auth::Principal& who,
                                                              std::string_view vendor_id,
                                                              std::string_view partner_id) const {
  std::optional<Enrollment> out;
  RETURN_IF_ERROR(
      ReadEnrollmentFor(who, vendor_id, partner_id, [&](const Enrollment& e) { out = e; }));
  return *std::move(out);
}

std::vector<std::string> PartnerDirectory::VendorsOf(std::string_view partner_id) const {
  std::shared_lock lock(mu_);
  auto it = vendors_by_partner_.find(absl::string_view(partner_id.data(), partner_id.size()));
  return it == vendors_by_partner_.end() ? std::vector<std::string>{} : it->second;
}

absl::Status PartnerDirectory::ReadPartnerFor(const auth::Principal& who,
                                              std::string_view partner_id,
                                              absl::FunctionRef<void(const Partner&)> read) const {
  static const std::vector<std::string> kNone;
  const absl::string_view id(partner_id.data(), partner_id.size());
  std::shared_lock lock(mu_);
  auto it = partners_.find(id);
  auto v = vendors_by_partner_.find(id);
  const std::vector<std::string>& vendors = v == vendors_by_partner_.end() ? kNone : v->second;
  if (it == partners_.end() || !CanReadPartner(who, partner_id, vendors)) {
    return absl::NotFoundError("partner not found");
  }
  read(it->second);
  return absl::OkStatus();
}

absl::StatusOr<Partner> PartnerDirectory::GetPartnerFor(const auth::Principal& who,
                                                        std::string_view partner_id) const {
  Partner out;
  RETURN_IF_ERROR(
      ReadPartnerFor(who, partner_id, [&](const Partner& p) { out = RedactPartner(who, p); }));
  return out;
}

std::vector<Enrollment> PartnerDirectory::ListEnrollmentsFor(const auth::Principal& who,
                                                             std::string_view partner_id) const {
  std::vector<std::string> vendors = VendorsOf(partner_id);
  std::sort(vendors.begin(), vendors.end());
  std::vector<Enrollment> out;
  for (const std::string& v : vendors) {
    if (absl::StatusOr<Enrollment> e = GetEnrollmentFor(who, v, partner_id); e.ok()) {
      out.push_back(*std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<LeadMatches>> PartnerDirectory::FindPartners(
    std::string_view vendor_id, const std::vector<Lead>& leads,
    const FindOptions& options) const {
  std::shared_lock lock(mu_);
  return finder_.Find(vendor_id, leads, options, clock_.Now());
}

}  // namespace prm::partner
