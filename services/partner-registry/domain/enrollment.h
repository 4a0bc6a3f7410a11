#pragma once

// An enrollment: a partner's membership in one vendor's program (SPEC §4.3–§4.5), with its
// lifecycle, tier (kept right by tier evaluation with a downgrade grace period), competencies,
// history for as_of reads, and figures derived from sales and deal events.
//
// Lifecycle: PROSPECT → ONBOARDING → ACTIVE ⇄ SUSPENDED, and every non-terminal state →
// TERMINATED (as documented on prm.partner.v1.Enrollment: a prospect that never onboards, or an
// onboarding that fails, must be endable too). TERMINATED is terminal: every mutating method
// then returns FAILED_PRECONDITION, and sales/deal figures are no longer applied.
//
// The tier is kept right in every non-terminal state (a suspended partner keeps earning or losing
// it); FindPartners only considers ACTIVE enrollments.
//
// Every event increments `version` by one and carries it, so versions are strictly increasing.
// Figures (metrics) change without version or event, as on the proto.
//
// Mutating methods either fully apply and append their events to `out`, or return an error and
// leave the enrollment unchanged. Plain value; thread-compatible.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/partner-registry/domain/competency.h"
#include "services/partner-registry/domain/events.h"
#include "services/partner-registry/domain/money.h"
#include "services/partner-registry/domain/program.h"
#include "services/partner-registry/domain/tier_evaluator.h"

namespace prm::partner {

// Trailing window of the derived figures.
inline constexpr absl::Duration kTrailingWindow = absl::Hours(24 * 365);

// "PROSPECT", "ONBOARDING", ... ("UNSPECIFIED" for kUnspecified).
std::string_view EnrollmentStateName(EnrollmentState state);

// OK when `from` → `to` is a lifecycle transition; otherwise FAILED_PRECONDITION whose message
// names both states ("illegal transition PROSPECT -> ACTIVE").
absl::Status CheckTransition(EnrollmentState from, EnrollmentState to);

struct PendingDowngrade {
  std::string tier_id;  // empty = no tier
  int tier_rank = 0;
  absl::Time effective_time;  // below_since + grace
  absl::Time below_since;     // when the current tier's requirements stopped being met
  TierEvaluation evaluation;
  friend bool operator==(const PendingDowngrade&, const PendingDowngrade&) = default;
};

struct CategoryRevenue {
  std::string product_category;
  Money revenue;
  double share = 0;  // of total trailing revenue, 0..1 (0 when the total is not positive)
  friend bool operator==(const CategoryRevenue&, const CategoryRevenue&) = default;
};

struct EnrollmentMetrics {
  Money trailing_revenue;                   // currency = the enrollment's reporting currency
  std::vector<CategoryRevenue> sales_mix;   // largest first, then by category
  double win_rate = 0;                      // won ÷ (won + lost + expired), 0 when none closed
  int64_t won_deal_count = 0;
  int64_t lost_deal_count = 0;
  std::optional<absl::Duration> average_sales_cycle;  // unset when none won
  int64_t open_deal_count = 0;
  absl::Time compute_time = absl::InfinitePast();
};

// prm.sales.v1: sell-in and sell-through add, returns subtract. `amount` is non-negative and
// already converted to the enrollment's reporting currency.
enum class SaleKind { kSellIn, kSellThrough, kReturn };
struct Sale {
  std::string event_id;  // for the runtime's dedupe; not used here
  absl::Time time;
  SaleKind kind = SaleKind::kSellIn;
  std::string product_category;
  Money amount;
};

// prm.deal.v1 outcomes: a submitted deal is open until won, lost or expired. A withdrawn deal
// (rejected, cancelled or deleted) stops being open without counting as closed.
enum class DealOutcomeKind { kSubmitted, kWon, kLost, kExpired, kWithdrawn };
struct DealOutcome {
  std::string deal_id;
  DealOutcomeKind kind = DealOutcomeKind::kSubmitted;
  absl::Time submit_time;
  absl::Time close_time;  // kWon/kLost/kExpired
};

// What GetEnrollment(as_of = D) returns: program, lifecycle state, tier and competencies valid
// at D.
struct EnrollmentAsOf {
  absl::Time as_of;
  std::string program_id;
  EnrollmentState state = EnrollmentState::kUnspecified;
  std::string state_reason;
  absl::Time state_change_time = absl::InfinitePast();
  std::string tier_id;
  int tier_rank = 0;
  absl::Time tier_start_time = absl::InfinitePast();
  std::vector<Competency> competencies;  // as recorded at D, `state` = StateAt(D)
};

class Enrollment {
 public:
  // A new PROSPECT enrollment of `partner_id` in `program`, with its first tier evaluation.
  // Emits EnrollmentStateChanged (UNSPECIFIED → PROSPECT, version 1) and, when a tier is met,
  // TierChanged (version 2).
  static Enrollment Create(std::string partner_id, const Program& program, absl::Time now,
                           std::vector<DomainEvent>& out);

  // Lifecycle transition; FAILED_PRECONDITION naming from and to when illegal. Emits one
  // EnrollmentStateChanged. reason: at most 1024 characters (INVALID_ARGUMENT otherwise).
  absl::Status Transition(EnrollmentState to, std::string_view reason, absl::Time now,
                          std::vector<DomainEvent>& out);

  // Moves the enrollment to `to`, another program of the same vendor (INVALID_ARGUMENT
  // "program_id" otherwise; FAILED_PRECONDITION when TERMINATED or when `to` measures revenue in
  // another currency than the enrollment's figures). Nothing happens when it is the current
  // program. The tier is evaluated under the new program's requirements at once (trigger
  // PROGRAM, no downgrade grace: the old tier belongs to another ladder) and a pending downgrade
  // is dropped. Emits EnrollmentUpdated {"program_id"}, then TierChanged unless the enrollment
  // had no tier and still has none. Competencies held stay held (they are the partner's
  // certifications at the vendor) and count under the new program's requirements.
  absl::Status ChangeProgram(const Program& to, absl::Time now, std::vector<DomainEvent>& out);

  // Grants a competency defined in the program (INVALID_ARGUMENT: unknown id, level outside
  // 0..max_level, certified people outside 0..1e6, grant_time in the future, expire_time not
  // after grant_time). Defaults: grant_time = now, expire_time = grant + default validity; the
  // grace comes from the definition. ALREADY_EXISTS when the competency still counts (renew it).
  // Emits CompetencyGranted, then TierChanged if the tier changes.
  absl::Status GrantCompetency(Competency competency, const Program& program, absl::Time now,
                               std::vector<DomainEvent>& out);
  // New expiry (after now and after the old one, else INVALID_ARGUMENT), optionally a new level
  // and certified people. NOT_FOUND when not held; FAILED_PRECONDITION when expired or revoked
  // (grant again). Re-arms CompetencyExpiring. Emits CompetencyRenewed (+ TierChanged).
  absl::Status RenewCompetency(std::string_view competency_id, absl::Time new_expire_time,
                               std::optional<int> level, std::optional<int> certified_people,
                               const Program& program, absl::Time now,
                               std::vector<DomainEvent>& out);
  // NOT_FOUND when not held; FAILED_PRECONDITION when already revoked. Emits CompetencyRevoked
  // (+ TierChanged).
  absl::Status RevokeCompetency(std::string_view competency_id, std::string_view reason,
                                const Program& program, absl::Time now,
                                std::vector<DomainEvent>& out);

  // Points 0..1e9 (INVALID_ARGUMENT otherwise). Emits EnrollmentUpdated (+ TierChanged).
  absl::Status SetPoints(int64_t points, const Program& program, absl::Time now,
                         std::vector<DomainEvent>& out);
  // Emits EnrollmentUpdated {"lead_opt_out"} when the value changes; nothing otherwise.
  absl::Status SetLeadOptOut(bool opt_out, absl::Time now, std::vector<DomainEvent>& out);
  // Emits ConciergeAssigned when the worker changes; nothing otherwise.
  absl::Status AssignConcierge(std::string worker_id, absl::Time now,
                               std::vector<DomainEvent>& out);
  // Emits EnrollmentUpdated {"channel_manager_worker_id"} when it changes.
  absl::Status SetChannelManager(std::string worker_id, absl::Time now,
                                 std::vector<DomainEvent>& out);

  // Replaces the vendor-specific attributes (same limits as Partner.attributes: at most 64, keys
  // 1..64 characters of [a-z0-9_.-], values at most 1024; INVALID_ARGUMENT naming each bad key).
  // Emits EnrollmentUpdated {"attributes"} when they change.
  absl::Status SetAttributes(std::map<std::string, std::string> attributes, absl::Time now,
                             std::vector<DomainEvent>& out);

  // Applies a sale to the figures and re-evaluates the tier (trigger SALES). INVALID_ARGUMENT
  // for a negative amount or a currency other than the reporting currency. Deterministic: the
  // figures depend only on the set of sales applied and `now`, not on their order.
  absl::Status ApplySale(const Sale& sale, const Program& program, absl::Time now,
                         std::vector<DomainEvent>& out);
  // Applies a deal outcome to win rate, cycle and open count. No events.
  absl::Status ApplyDealOutcome(const DealOutcome& outcome, absl::Time now);

  // Time passes: emits CompetencyExpiring once per grant when `now` reaches expire_time −
  // program.competency_expiry_notice, CompetencyExpired when a competency's grace ends, then
  // moves the trailing window and re-evaluates (a due downgrade applies, trigger GRACE_ELAPSED).
  // No-op when TERMINATED.
  void Tick(const Program& program, absl::Time now, std::vector<DomainEvent>& out);

  // Re-evaluates the tier: an upgrade applies at once; a downgrade starts (or continues) a
  // pending downgrade and applies when program.downgrade_grace_period since the requirements
  // first failed has passed; meeting the current tier again cancels it. Emits TierChanged when
  // the tier changes. No-op when TERMINATED.
  void Reevaluate(const Program& program, absl::Time now, EvaluationTrigger trigger,
                  std::vector<DomainEvent>& out);

  // Tier evaluation now, without applying it.
  TierEvaluation Evaluate(const Program& program, absl::Time now,
                          EvaluationTrigger trigger) const;

  // Program, state, tier and competencies valid at `as_of`; NOT_FOUND when the enrollment did
  // not exist yet.
  absl::StatusOr<EnrollmentAsOf> AsOf(absl::Time as_of) const;

  // Competencies counting at `t` (ACTIVE or IN_GRACE).
  std::vector<const Competency*> CountingCompetencies(absl::Time t) const;

  const std::string& vendor_id() const { return vendor_id_; }
  const std::string& partner_id() const { return partner_id_; }
  const std::string& program_id() const { return program_id_; }
  EnrollmentState state() const { return state_; }
  const std::string& state_reason() const { return state_reason_; }
  absl::Time state_change_time() const { return state_change_time_; }
  const std::string& tier_id() const { return tier_id_; }
  int tier_rank() const { return tier_rank_; }
  absl::Time tier_start_time() const { return tier_start_time_; }
  const std::optional<PendingDowngrade>& pending_downgrade() const { return pending_; }
  const std::vector<Competency>& competencies() const { return competencies_; }
  const std::string& concierge_worker_id() const { return concierge_worker_id_; }
  const std::string& channel_manager_worker_id() const { return channel_manager_worker_id_; }
  int64_t points() const { return points_; }
  bool lead_opt_out() const { return lead_opt_out_; }
  const EnrollmentMetrics& metrics() const { return metrics_; }
  const std::map<std::string, std::string>& attributes() const { return attributes_; }
  int64_t version() const { return version_; }
  absl::Time create_time() const { return create_time_; }
  absl::Time update_time() const { return update_time_; }

 private:
  // From `start` on, the enrollment was in `program_id` and `state` (entered at state_change).
  struct StatePeriod {
    absl::Time start;
    std::string program_id;
    EnrollmentState state = EnrollmentState::kUnspecified;
    std::string state_reason;
    absl::Time state_change;
  };
  struct TierPeriod {
    absl::Time start;
    std::string tier_id;
    int tier_rank = 0;
  };
  struct CompetencySnapshot {
    absl::Time from;
    Competency competency;
  };
  struct ClosedDeal {
    std::string deal_id;
    absl::Time close_time;
    bool won = false;
    absl::Duration cycle;
  };

  EventMeta NextMeta(absl::Time now);
  absl::Status CheckNotTerminated() const;
  Competency* FindCompetency(std::string_view competency_id);
  void RecordCompetency(const Competency& c, absl::Time now);
  void RecordState(absl::Time now);
  void ChangeTier(const Program& program, const TierEvaluation& eval,
                  std::optional<absl::Time> grace_start, absl::Time now,
                  std::vector<DomainEvent>& out);
  void RecomputeFigures(absl::Time now);

  std::string vendor_id_;
  std::string partner_id_;
  std::string program_id_;
  EnrollmentState state_ = EnrollmentState::kUnspecified;
  std::string state_reason_;
  absl::Time state_change_time_;
  std::string tier_id_;
  int tier_rank_ = 0;
  absl::Time tier_start_time_ = absl::InfinitePast();
  std::optional<PendingDowngrade> pending_;
  std::vector<Competency> competencies_;
  std::string concierge_worker_id_;
  std::string channel_manager_worker_id_;
  int64_t points_ = 0;
  bool lead_opt_out_ = false;
  EnrollmentMetrics metrics_;
  std::map<std::string, std::string> attributes_;
  int64_t version_ = 0;
  absl::Time create_time_;
  absl::Time update_time_;

  std::vector<StatePeriod> state_history_;
  std::vector<TierPeriod> tier_history_;
  std::vector<CompetencySnapshot> competency_history_;
  std::vector<Sale> sales_;  // within the trailing window
  absl::flat_hash_set<std::string> open_deals_;
  std::vector<ClosedDeal> closed_deals_;
};

}  // namespace prm::partner
