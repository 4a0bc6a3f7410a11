#include "services/partner-registry/domain/enrollment.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/status/status_macros.h"
#include "common/text/text.h"

namespace prm::partner {
namespace {

bool Counts(CompetencyState s) {
  return s == CompetencyState::kActive || s == CompetencyState::kInGrace;
}

// The currency a program's revenue requirements use; empty when none has one.
std::string ProgramCurrency(const Program& program) {
  for (const Tier& t : program.tiers) {
    if (t.requirements.min_trailing_revenue.has_value()) {
      return t.requirements.min_trailing_revenue->currency_code;
    }
  }
  return "";
}

}  // namespace

std::string_view EnrollmentStateName(EnrollmentState state) {
  switch (state) {
    case EnrollmentState::kUnspecified: return "UNSPECIFIED";
    case EnrollmentState::kProspect: return "PROSPECT";
    case EnrollmentState::kOnboarding: return "ONBOARDING";
    case EnrollmentState::kActive: return "ACTIVE";
    case EnrollmentState::kSuspended: return "SUSPENDED";
    case EnrollmentState::kTerminated: return "TERMINATED";
  }
  return "UNSPECIFIED";
}

absl::Status CheckTransition(EnrollmentState from, EnrollmentState to) {
  using S = EnrollmentState;
  bool ok = false;
  switch (from) {
    case S::kProspect: ok = to == S::kOnboarding || to == S::kTerminated; break;
    case S::kOnboarding: ok = to == S::kActive || to == S::kTerminated; break;
    case S::kActive: ok = to == S::kSuspended || to == S::kTerminated; break;
    case S::kSuspended: ok = to == S::kActive || to == S::kTerminated; break;
    case S::kUnspecified:
    case S::kTerminated: ok = false; break;
  }
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "illegal transition ", std::string(EnrollmentStateName(from)), " -> ",
      std::string(EnrollmentStateName(to))));
}

Enrollment Enrollment::Create(std::string partner_id, const Program& program, absl::Time now,
                              std::vector<DomainEvent>& out) {
  Enrollment e;
  e.vendor_id_ = program.vendor_id;
  e.partner_id_ = std::move(partner_id);
  e.program_id_ = program.program_id;
  e.state_ = EnrollmentState::kProspect;
  e.state_change_time_ = now;
  e.create_time_ = now;
  e.update_time_ = now;
  e.metrics_.trailing_revenue.currency_code = ProgramCurrency(program);
  e.metrics_.compute_time = now;
  e.tier_history_.push_back({absl::InfinitePast(), "", 0});
  e.RecordState(now);
  out.push_back(EnrollmentStateChanged{e.NextMeta(now), e.program_id_,
                                       EnrollmentState::kUnspecified, EnrollmentState::kProspect,
                                       "enrolled"});
  e.Reevaluate(program, now, EvaluationTrigger::kEnrollment, out);
  return e;
}

EventMeta Enrollment::NextMeta(absl::Time now) {
  ++version_;
  update_time_ = now;
  return EventMeta{vendor_id_, partner_id_, version_, now};
}

absl::Status Enrollment::CheckNotTerminated() const {
  if (state_ == EnrollmentState::kTerminated) {
    return absl::FailedPreconditionError("enrollment is TERMINATED");
  }
  return absl::OkStatus();
}

absl::Status Enrollment::Transition(EnrollmentState to, std::string_view reason, absl::Time now,
                                    std::vector<DomainEvent>& out) {
  if (CharacterCount(reason) > 1024) return InvalidField("reason", "at most 1024 characters");
  RETURN_IF_ERROR(CheckTransition(state_, to));
  const EnrollmentState from = state_;
  state_ = to;
  state_reason_ = std::string(reason);
  state_change_time_ = now;
  RecordState(now);
  out.push_back(EnrollmentStateChanged{NextMeta(now), program_id_, from, to, state_reason_});
  return absl::OkStatus();
}

void Enrollment::RecordState(absl::Time now) {
  state_history_.push_back({now, program_id_, state_, state_reason_, state_change_time_});
}

absl::Status Enrollment::ChangeProgram(const Program& to, absl::Time now,
                                       std::vector<DomainEvent>& out) {
  if (to.vendor_id != vendor_id_) {
    return InvalidField("program_id", absl::StrCat("must be a program of vendor ", vendor_id_));
  }
  RETURN_IF_ERROR(CheckNotTerminated());
  if (to.program_id == program_id_) return absl::OkStatus();
  std::string& currency = metrics_.trailing_revenue.currency_code;
  const std::string to_currency = ProgramCurrency(to);
  if (!currency.empty() && !to_currency.empty() && to_currency != currency) {
    return absl::FailedPreconditionError(absl::StrCat(
        "program ", to.program_id, " measures revenue in ", to_currency,
        " but the enrollment's figures are in ", currency));
  }
  if (currency.empty()) currency = to_currency;
  program_id_ = to.program_id;
  pending_.reset();
  RecordState(now);
  out.push_back(EnrollmentUpdated{NextMeta(now), {"program_id"}});
  const TierEvaluation eval = Evaluate(to, now, EvaluationTrigger::kProgram);
  if (!tier_id_.empty() || !eval.qualified_tier_id.empty()) {
    ChangeTier(to, eval, std::nullopt, now, out);
  }
  return absl::OkStatus();
}

Competency* Enrollment::FindCompetency(std::string_view competency_id) {
  for (Competency& c : competencies_) {
    if (c.competency_id == competency_id) return &c;
  }
  return nullptr;
}

void Enrollment::RecordCompetency(const Competency& c, absl::Time now) {
  competency_history_.push_back({now, c});
}

absl::Status Enrollment::GrantCompetency(Competency c, const Program& program, absl::Time now,
                                         std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  FieldViolations bad;
  const CompetencyDefinition* def = program.FindCompetency(c.competency_id);
  if (def == nullptr) {
    bad.Add("competency.competency_id", "is not a competency of the program");
  } else if (c.level < 0 || c.level > def->max_level) {
    bad.Add("competency.level", absl::StrCat("must be 0..", def->max_level));
  }
  if (c.certified_people < 0 || c.certified_people > 1'000'000) {
    bad.Add("competency.certified_people", "must be 0..1000000");
  }
  if (c.grant_time == absl::InfinitePast()) c.grant_time = now;
  if (c.grant_time > now) bad.Add("competency.grant_time", "must not be in the future");
  if (def != nullptr && c.expire_time == absl::InfiniteFuture()) {
    c.expire_time = c.grant_time + def->default_validity;
  }
  if (c.expire_time <= c.grant_time) bad.Add("competency.expire_time", "must be after grant_time");
  RETURN_IF_ERROR(bad.ToStatus("competency is invalid"));
  c.level = std::max(c.level, 1);
  c.renewal_grace_period = def->renewal_grace_period;
  c.revoke_time.reset();
  c.revoke_reason.clear();
  c.state = StateAt(c, now);
  c.expiring_notified = false;
  Competency* held = FindCompetency(c.competency_id);
  if (held != nullptr && CountsAt(*held, now)) {
    return absl::AlreadyExistsError(
        absl::StrCat("competency ", c.competency_id, " is held and counting; renew it instead"));
  }
  if (held != nullptr) {
    *held = c;
  } else {
    competencies_.push_back(c);
  }
  RecordCompetency(c, now);
  out.push_back(CompetencyGranted{NextMeta(now), c});
  Reevaluate(program, now, EvaluationTrigger::kCompetency, out);
  return absl::OkStatus();
}

absl::Status Enrollment::RenewCompetency(std::string_view competency_id,
                                         absl::Time new_expire_time, std::optional<int> level,
                                         std::optional<int> certified_people,
                                         const Program& program, absl::Time now,
                                         std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  Competency* held = FindCompetency(competency_id);
  if (held == nullptr) {
    return absl::NotFoundError(absl::StrCat("competency ", std::string(competency_id), " is not held"));
  }
  const CompetencyState st = StateAt(*held, now);
  if (!Counts(st)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "competency ", std::string(competency_id), " is ", st == CompetencyState::kRevoked ? "revoked" : "expired",
        "; grant it again"));
  }
  FieldViolations bad;
  if (new_expire_time <= now || new_expire_time <= held->expire_time) {
    bad.Add("expire_time", "must be after now and after the current expire_time");
  }
  const CompetencyDefinition* def = program.FindCompetency(competency_id);
  const int max_level = def != nullptr ? def->max_level : 10;
  if (level.has_value() && (*level < 0 || *level > max_level)) {
    bad.Add("level", absl::StrCat("must be 0..", max_level));
  }
  if (certified_people.has_value() && (*certified_people < 0 || *certified_people > 1'000'000)) {
    bad.Add("certified_people", "must be 0..1000000");
  }
  RETURN_IF_ERROR(bad.ToStatus("renewal is invalid"));
  const absl::Time previous = held->expire_time;
  held->expire_time = new_expire_time;
  if (level.has_value()) held->level = std::max(*level, 1);
  if (certified_people.has_value()) held->certified_people = *certified_people;
  held->expiring_notified = false;
  held->state = StateAt(*held, now);
  RecordCompetency(*held, now);
  out.push_back(CompetencyRenewed{NextMeta(now), *held, previous});
  Reevaluate(program, now, EvaluationTrigger::kCompetency, out);
  return absl::OkStatus();
}

absl::Status Enrollment::RevokeCompetency(std::string_view competency_id, std::string_view reason,
                                          const Program& program, absl::Time now,
                                          std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (CharacterCount(reason) > 1024) return InvalidField("reason", "at most 1024 characters");
  Competency* held = FindCompetency(competency_id);
  if (held == nullptr) {
    return absl::NotFoundError(absl::StrCat("competency ", std::string(competency_id), " is not held"));
  }
  if (held->revoke_time.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("competency ", std::string(competency_id), " is already revoked"));
  }
  held->revoke_time = now;
  held->revoke_reason = std::string(reason);
  held->state = CompetencyState::kRevoked;
  RecordCompetency(*held, now);
  out.push_back(CompetencyRevoked{NextMeta(now), *held});
  Reevaluate(program, now, EvaluationTrigger::kCompetency, out);
  return absl::OkStatus();
}

absl::Status Enrollment::SetPoints(int64_t points, const Program& program, absl::Time now,
                                   std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (points < 0 || points > 1'000'000'000) return InvalidField("points", "must be 0..1000000000");
  if (points == points_) return absl::OkStatus();
  points_ = points;
  out.push_back(EnrollmentUpdated{NextMeta(now), {"points"}});
  Reevaluate(program, now, EvaluationTrigger::kEnrollment, out);
  return absl::OkStatus();
}

absl::Status Enrollment::SetLeadOptOut(bool opt_out, absl::Time now,
                                       std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (opt_out == lead_opt_out_) return absl::OkStatus();
  lead_opt_out_ = opt_out;
  out.push_back(EnrollmentUpdated{NextMeta(now), {"lead_opt_out"}});
  return absl::OkStatus();
}

absl::Status Enrollment::AssignConcierge(std::string worker_id, absl::Time now,
                                         std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (CharacterCount(worker_id) > 128) return InvalidField("worker_id", "at most 128 characters");
  if (worker_id == concierge_worker_id_) return absl::OkStatus();
  std::string previous = std::exchange(concierge_worker_id_, worker_id);
  out.push_back(ConciergeAssigned{NextMeta(now), std::move(previous), std::move(worker_id)});
  return absl::OkStatus();
}

absl::Status Enrollment::SetChannelManager(std::string worker_id, absl::Time now,
                                           std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (CharacterCount(worker_id) > 128) {
    return InvalidField("channel_manager_worker_id", "at most 128 characters");
  }
  if (worker_id == channel_manager_worker_id_) return absl::OkStatus();
  channel_manager_worker_id_ = std::move(worker_id);
  out.push_back(EnrollmentUpdated{NextMeta(now), {"channel_manager_worker_id"}});
  return absl::OkStatus();
}

absl::Status Enrollment::SetAttributes(std::map<std::string, std::string> attributes,
                                       absl::Time now, std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  FieldViolations bad;
  if (attributes.size() > 64) bad.Add("attributes", "at most 64 entries");
  for (const auto& [key, value] : attributes) {
    const bool key_ok =
        !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                 c == '-';
        });
    if (!key_ok) {
      bad.Add(absl::StrCat("attributes[", key.substr(0, 64), "]"),
              "key must be 1..64 characters of [a-z0-9_.-]");
    } else if (CharacterCount(value) > 1024) {
      bad.Add(absl::StrCat("attributes[", key, "]"), "value at most 1024 characters");
    }
  }
  RETURN_IF_ERROR(bad.ToStatus("attributes are invalid"));
  if (attributes == attributes_) return absl::OkStatus();
  attributes_ = std::move(attributes);
  out.push_back(EnrollmentUpdated{NextMeta(now), {"attributes"}});
  return absl::OkStatus();
}

absl::Status Enrollment::ApplySale(const Sale& sale, const Program& program, absl::Time now,
                                   std::vector<DomainEvent>& out) {
  RETURN_IF_ERROR(CheckNotTerminated());
  FieldViolations bad;
  if (sale.amount.nanos < 0) bad.Add("amount", "must be non-negative");
  std::string& currency = metrics_.trailing_revenue.currency_code;
  if (!currency.empty() && sale.amount.currency_code != currency) {
    bad.Add("amount.currency_code", absl::StrCat("must be the reporting currency ", currency));
  }
  if (sale.amount.currency_code.size() != 3) bad.Add("amount.currency_code", "must be ISO 4217");
  RETURN_IF_ERROR(bad.ToStatus("sale is invalid"));
  if (currency.empty()) currency = sale.amount.currency_code;
  if (sale.time > now - kTrailingWindow) sales_.push_back(sale);
  RecomputeFigures(now);
  Reevaluate(program, now, EvaluationTrigger::kSales, out);
  return absl::OkStatus();
}

absl::Status Enrollment::ApplyDealOutcome(const DealOutcome& d, absl::Time now) {
  RETURN_IF_ERROR(CheckNotTerminated());
  if (d.deal_id.empty()) return InvalidField("deal_id", "is required");
  if (d.kind == DealOutcomeKind::kSubmitted) {
    const bool closed = std::any_of(closed_deals_.begin(), closed_deals_.end(),
                                    [&](const ClosedDeal& c) { return c.deal_id == d.deal_id; });
    if (!closed) open_deals_.insert(d.deal_id);
  } else if (d.kind == DealOutcomeKind::kWithdrawn) {
    open_deals_.erase(d.deal_id);
  } else {
    if (d.close_time < d.submit_time) {
      return InvalidField("close_time", "must not be before submit_time");
    }
    open_deals_.erase(d.deal_id);
    ClosedDeal c{d.deal_id, d.close_time, d.kind == DealOutcomeKind::kWon,
                 d.close_time - d.submit_time};
    auto it = std::find_if(closed_deals_.begin(), closed_deals_.end(),
                           [&](const ClosedDeal& x) { return x.deal_id == d.deal_id; });
    if (it != closed_deals_.end()) {
      *it = c;
    } else {
      closed_deals_.push_back(c);
    }
  }
  RecomputeFigures(now);
  return absl::OkStatus();
}

void Enrollment::RecomputeFigures(absl::Time now) {
  const absl::Time from = now - kTrailingWindow;
  sales_.erase(std::remove_if(sales_.begin(), sales_.end(),
                              [&](const Sale& s) { return s.time <= from; }),
               sales_.end());
  absl::int128 total = 0;
  std::map<std::string, absl::int128> by_category;
  for (const Sale& s : sales_) {
    if (s.time > now) continue;
    const absl::int128 signed_amount =
        s.kind == SaleKind::kReturn ? -s.amount.nanos : s.amount.nanos;
    total += signed_amount;
    by_category[s.product_category] += signed_amount;
  }
  metrics_.trailing_revenue.nanos = total;
  metrics_.sales_mix.clear();
  for (const auto& [category, nanos] : by_category) {
    CategoryRevenue c{category, Money{metrics_.trailing_revenue.currency_code, nanos}, 0};
    if (total > 0 && nanos > 0) c.share = static_cast<double>(nanos) / static_cast<double>(total);
    metrics_.sales_mix.push_back(std::move(c));
  }
  std::stable_sort(metrics_.sales_mix.begin(), metrics_.sales_mix.end(),
                   [](const CategoryRevenue& a, const CategoryRevenue& b) {
                     return a.revenue.nanos > b.revenue.nanos;
                   });
  if (metrics_.sales_mix.size() > 100) metrics_.sales_mix.resize(100);

  closed_deals_.erase(std::remove_if(closed_deals_.begin(), closed_deals_.end(),
                                     [&](const ClosedDeal& c) { return c.close_time <= from; }),
                      closed_deals_.end());
  int64_t won = 0, lost = 0;
  absl::Duration cycle_sum;
  for (const ClosedDeal& c : closed_deals_) {
    if (c.close_time > now) continue;
    if (c.won) {
      ++won;
      cycle_sum += c.cycle;
    } else {
      ++lost;
    }
  }
  metrics_.won_deal_count = won;
  metrics_.lost_deal_count = lost;
  metrics_.win_rate = won + lost > 0 ? static_cast<double>(won) / static_cast<double>(won + lost) : 0;
  metrics_.average_sales_cycle =
      won > 0 ? std::optional<absl::Duration>(cycle_sum / won) : std::nullopt;
  metrics_.open_deal_count = static_cast<int64_t>(open_deals_.size());
  metrics_.compute_time = now;
}

void Enrollment::Tick(const Program& program, absl::Time now, std::vector<DomainEvent>& out) {
  if (state_ == EnrollmentState::kTerminated) return;
  bool expired_any = false;
  for (Competency& c : competencies_) {
    if (c.revoke_time.has_value()) continue;
    if (!c.expiring_notified && now >= c.expire_time - program.competency_expiry_notice) {
      c.expiring_notified = true;
      if (now < c.expire_time) {
        out.push_back(CompetencyExpiring{NextMeta(now), c, program.competency_expiry_notice});
      }
    }
    const CompetencyState st = StateAt(c, now);
    if (st == CompetencyState::kExpired && c.state != CompetencyState::kExpired) {
      c.state = st;
      out.push_back(CompetencyExpired{NextMeta(now), c});
      expired_any = true;
    } else {
      c.state = st;
    }
  }
  RecomputeFigures(now);
  EvaluationTrigger trigger = EvaluationTrigger::kSales;
  if (pending_.has_value() && now >= pending_->effective_time) {
    trigger = EvaluationTrigger::kGraceElapsed;
  } else if (expired_any) {
    trigger = EvaluationTrigger::kCompetency;
  }
  Reevaluate(program, now, trigger, out);
}

TierEvaluation Enrollment::Evaluate(const Program& program, absl::Time now,
                                    EvaluationTrigger trigger) const {
  return EvaluateTiers(program, TierInputs{metrics_.trailing_revenue, &competencies_, points_},
                       now, trigger);
}

void Enrollment::Reevaluate(const Program& program, absl::Time now, EvaluationTrigger trigger,
                            std::vector<DomainEvent>& out) {
  if (state_ == EnrollmentState::kTerminated) return;
  TierEvaluation eval = Evaluate(program, now, trigger);
  const int current = program.RankOf(tier_id_);
  if (!tier_id_.empty() && current == 0) {  // the tier was removed from the program
    pending_.reset();
    ChangeTier(program, eval, std::nullopt, now, out);
    return;
  }
  tier_rank_ = current;
  if (eval.qualified_tier_rank > current) {
    pending_.reset();
    ChangeTier(program, eval, std::nullopt, now, out);
    return;
  }
  if (eval.qualified_tier_rank == current) {
    pending_.reset();
    return;
  }
  if (!pending_.has_value()) {
    pending_ = PendingDowngrade{eval.qualified_tier_id, eval.qualified_tier_rank,
                                now + program.downgrade_grace_period, now, eval};
  } else {
    pending_->tier_id = eval.qualified_tier_id;
    pending_->tier_rank = eval.qualified_tier_rank;
    pending_->effective_time = pending_->below_since + program.downgrade_grace_period;
    pending_->evaluation = eval;
  }
  if (now >= pending_->effective_time) {
    const absl::Time below_since = pending_->below_since;
    pending_.reset();
    ChangeTier(program, eval, below_since, now, out);
  }
}

void Enrollment::ChangeTier(const Program& program, const TierEvaluation& eval,
                            std::optional<absl::Time> grace_start, absl::Time now,
                            std::vector<DomainEvent>& out) {
  TierChanged ev;
  ev.program_id = program_id_;
  ev.from_tier_id = tier_id_;
  ev.from_tier_rank = tier_rank_;
  ev.to_tier_id = eval.qualified_tier_id;
  ev.to_tier_rank = eval.qualified_tier_rank;
  if (const Tier* t = program.FindTier(eval.qualified_tier_id); t != nullptr) {
    ev.to_tier_benefits = t->benefits;
  }
  ev.evaluation = eval;
  ev.grace_start_time = grace_start;
  tier_id_ = eval.qualified_tier_id;
  tier_rank_ = eval.qualified_tier_rank;
  tier_start_time_ = now;
  tier_history_.push_back({now, tier_id_, tier_rank_});
  ev.meta = NextMeta(now);
  out.push_back(std::move(ev));
}

absl::StatusOr<EnrollmentAsOf> Enrollment::AsOf(absl::Time as_of) const {
  if (as_of < create_time_) {
    return absl::NotFoundError("the enrollment did not exist at as_of");
  }
  EnrollmentAsOf view;
  view.as_of = as_of;
  for (const StatePeriod& p : state_history_) {
    if (p.start > as_of) break;
    view.program_id = p.program_id;
    view.state = p.state;
    view.state_reason = p.state_reason;
    view.state_change_time = p.state_change;
  }
  for (const TierPeriod& p : tier_history_) {
    if (p.start > as_of) break;
    view.tier_id = p.tier_id;
    view.tier_rank = p.tier_rank;
    view.tier_start_time = p.start;
  }
  std::map<std::string, const Competency*> latest;
  for (const CompetencySnapshot& s : competency_history_) {
    if (s.from > as_of) break;
    latest[s.competency.competency_id] = &s.competency;
  }
  for (const auto& [id, c] : latest) {
    Competency copy = *c;
    copy.state = StateAt(copy, as_of);
    view.competencies.push_back(std::move(copy));
  }
  return view;
}

std::vector<const Competency*> Enrollment::CountingCompetencies(absl::Time t) const {
  std::vector<const Competency*> out;
  for (const Competency& c : competencies_) {
    if (CountsAt(c, t)) out.push_back(&c);
  }
  return out;
}

}  // namespace prm::partner
