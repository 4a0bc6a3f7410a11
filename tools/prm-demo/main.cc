// prm-demo: the demonstration behind `scripts/dev up` (issue 9). It generates a channel from a
// fixed seed (tools/prm-demo/channel.h), pushes it through the running platform — the four
// services' public gRPC APIs and the ERP sales topic, nothing else — waits until every service
// has caught up, and prints what a channel chief wants to see.
//
//   prm-demo --jwt-secret-file=.prm/dev-secret [--kafka-brokers=127.0.0.1:9092] [--seed=42] ...

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <tuple>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/auth/jwt.h"
#include "common/config/flags.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "common/time/clock.h"
#include "grpcpp/create_channel.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tools/prm-demo/channel.h"
#include "tools/prm-demo/concierge_answers.h"

extern char** environ;

namespace prm::demo {
namespace {

namespace pv1 = ::prm::partner::v1;
namespace dv1 = ::prm::deal::v1;
namespace rv1 = ::prm::routing::v1;
namespace fv1 = ::prm::forecast::v1;
namespace sv1 = ::prm::sales::v1;

// How long a concierge has to answer an offer (the API's minimum): short, so that the
// reservations the demo's concierges let time out are re-offered within the run.
constexpr absl::Duration kReservationTimeout = absl::Seconds(5);
// The task attribute naming the partner request (its index in Channel::requests), from which a
// concierge's answer is drawn.
constexpr char kTicketAttribute[] = "ticket";

struct Options {
  std::string partner_registry = "127.0.0.1:50051";
  std::string deal_registration = "127.0.0.1:50052";
  std::string concierge_routing = "127.0.0.1:50053";
  std::string forecast = "127.0.0.1:50054";
  std::string kafka_brokers = "127.0.0.1:9092";
  std::string sales_topic = "prm.sales.v1";
  std::string jwt_secret_file;
  std::string jwt_secret;
  std::string jwt_issuer = "prm-dev";
  std::string jwt_audience = "prm";
  int64_t seed = 42;
  int64_t partners = 240;
  int64_t deals_per_vendor = 60;
  int64_t requests_per_vendor = 60;
  std::string run_id;
  absl::Duration timeout = absl::Minutes(4);
};

// A failed call the demonstration cannot go on without.
[[noreturn]] void Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "prm-demo: " << what << " failed: " << status.error_code() << " "
            << status.error_message() << "\n";
  std::exit(1);
}

// A failed call the demonstration goes on without (its summary shows the consequence).
void Warn(const std::string& what, const grpc::Status& status) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << "prm-demo: warning: " << what << " failed: " << status.error_code() << " "
            << status.error_message() << "\n";
}

std::string Money(double units) {
  const double a = std::abs(units);
  std::string s = a >= 1e6   ? absl::StrFormat("%.2fM", a / 1e6)
                  : a >= 1e3 ? absl::StrFormat("%.1fk", a / 1e3)
                             : absl::StrFormat("%.0f", a);
  return (units < 0 ? "-" : "") + s;
}
double Units(const common::v1::Money& m) { return m.units() + m.nanos() / 1e9; }

std::string Cycle(const google::protobuf::Duration& d) {
  const double s = static_cast<double>(d.seconds()) + d.nanos() / 1e9;
  return s >= 86400 ? absl::StrFormat("%.1fd", s / 86400)
         : s >= 3600 ? absl::StrFormat("%.1fh", s / 3600)
         : s >= 60   ? absl::StrFormat("%.1fm", s / 60)
                     : absl::StrFormat("%.1fs", s);
}

std::string Seconds(double s) { return absl::StrFormat("%.1fs", s); }

// The q-quantile (nearest rank) of `values`; 0 when empty.
double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

common::v1::Date Day(absl::Time t) {
  const absl::CivilDay d = absl::ToCivilDay(t, absl::UTCTimeZone());
  common::v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

const char* TypeName(int type) {
  static const char* kNames[] = {"-", "reseller", "VAR", "distributor", "MSP", "SI",
                                 "referral", "ISV", "retailer", "franchise"};
  return type >= 0 && type <= 9 ? kNames[type] : "?";
}

class Demo {
 public:
  Demo(Options options, Channel channel, auth::TokenMinter minter,
       std::unique_ptr<kafka::Producer> producer)
      : o_(std::move(options)),
        ch_(std::move(channel)),
        minter_(std::move(minter)),
        producer_(std::move(producer)) {
    auto connect = [this](const std::string& name, const std::string& address) {
      auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
      channels_.emplace_back(absl::StrCat(name, " at ", address), channel);
      return channel;
    };
    partners_ = pv1::PartnerRegistry::NewStub(connect("partner-registry", o_.partner_registry));
    deals_ = dv1::DealRegistration::NewStub(connect("deal-registration", o_.deal_registration));
    routing_ = rv1::ConciergeRouting::NewStub(connect("concierge-routing", o_.concierge_routing));
    forecast_ = fv1::Forecast::NewStub(connect("forecast", o_.forecast));
    service_ = Token({.subject = "prm-demo", .role = auth::Role::kService});
  }

  int Run() {
    const absl::Time start = absl::Now();
    deadline_ = start + o_.timeout;
    // The services may still be starting (scripts/dev waits for their health; a bare run may not).
    for (const auto& [name, channel] : channels_) {
      if (!channel->WaitForConnected(absl::ToChronoTime(start + absl::Seconds(60)))) {
        std::cerr << "prm-demo: " << name << " does not answer; is the platform running?\n";
        return 1;
      }
    }
    Step("programs, partners and enrollments", [&] { SetUpPartners(); });
    Step("concierges, queues and workflows", [&] { SetUpRouting(); });
    StartConcierges();
    Step(absl::StrFormat("%d ERP sales (two years) to %s", ch_.sales.size(), o_.sales_topic),
         [&] { PublishHistory(); });
    Step("waiting for tiers to follow the sales", [&] { WaitForSales(); });
    Step(absl::StrFormat("%d deal registrations", ch_.deals.size()), [&] { RegisterDeals(); });
    Step(absl::StrFormat("%d partner requests", ch_.requests.size()), [&] { RaiseRequests(); });
    Step("closing deals: ERP invoices and losses", [&] { CloseDeals(); });
    Step("waiting for the services to catch up", [&] { WaitForEverything(); });
    StopConcierges();
    Summary(absl::Now() - start);
    return 0;
  }

 private:
  struct PartnerState {
    std::string partner_id;
    std::map<size_t, std::string> account;  // vendor → ERP account
  };
  struct DealState {
    std::string deal_id;
    bool review_required = false;
    bool auto_approved = false;
    bool approved = false;
    bool rejected = false;
    bool conflict = false;
  };

  std::string Token(const auth::Principal& p) {
    absl::StatusOr<std::string> t = minter_.Mint(p, absl::Hours(2));
    if (!t.ok()) {
      std::cerr << "prm-demo: cannot mint a token: " << t.status() << "\n";
      std::exit(1);
    }
    return "Bearer " + *t;
  }
  std::string PartnerUser(size_t v, size_t p) {
    return Token({.subject = "user@" + ch_.partners[p].key,
                  .role = auth::Role::kPartnerUser,
                  .vendor_ids = {ch_.vendors[v].vendor_id},
                  .partner_id = partners_state_[p].partner_id});
  }
  std::string Manager(size_t v) {
    return Token({.subject = "channel-chief",
                  .role = auth::Role::kChannelManager,
                  .vendor_ids = {ch_.vendors[v].vendor_id}});
  }
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token,
                                           absl::Duration deadline = absl::Seconds(20)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", token);
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return ctx;
  }

  void Step(const std::string& what, const std::function<void()>& body) {
    const absl::Time t0 = absl::Now();
    std::cout << "demo: " << what << " ..." << std::flush;
    body();
    std::cout << absl::StrFormat(" %.1fs\n", absl::ToDoubleSeconds(absl::Now() - t0))
              << std::flush;
  }

  // Polls `done` until it holds or the run's deadline passes (then warns and goes on).
  bool Until(const std::string& what, const std::function<bool()>& done) {
    while (!done()) {
      if (absl::Now() > deadline_) {
        std::cout << "\ndemo: WARNING: gave up waiting for " << what << "\n";
        return false;
      }
      absl::SleepFor(absl::Milliseconds(250));
    }
    return true;
  }

  // --- partner-registry ------------------------------------------------------------------
  void SetUpPartners() {
    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      const VendorSpec& vendor = ch_.vendors[v];
      pv1::CreateProgramRequest req;
      pv1::Program* program = req.mutable_program();
      program->set_vendor_id(vendor.vendor_id);
      program->set_display_name(vendor.display_name + " Partner Program");
      for (size_t i = 0; i < vendor.tiers.size(); ++i) {
        const TierSpec& spec = vendor.tiers[i];
        pv1::Tier* tier = program->add_tiers();
        tier->set_tier_id(spec.tier_id);
        tier->set_display_name(absl::AsciiStrToUpper(spec.tier_id.substr(0, 1)) +
                               spec.tier_id.substr(1));
        tier->set_rank(static_cast<int32_t>(i + 1));
        tier->mutable_benefits()->set_routing_priority(spec.routing_priority);
        tier->mutable_benefits()->set_deal_protection_days(spec.protection_days);
        tier->mutable_benefits()->set_discount_basis_points(static_cast<int32_t>(500 * i));
        if (spec.min_revenue > 0) {
          auto* min = tier->mutable_requirements()->mutable_min_trailing_revenue();
          min->set_currency_code(vendor.currency);
          min->set_units(spec.min_revenue);
        }
      }
      pv1::CreateProgramResponse created;
      grpc::Status s = partners_->CreateProgram(Ctx(service_).get(), req, &created);
      if (!s.ok()) Fail("CreateProgram " + vendor.vendor_id, s);
      program_ids_.push_back(created.program().program_id());
    }
    partners_state_.resize(ch_.partners.size());
    for (size_t pi = 0; pi < ch_.partners.size(); ++pi) {
      const PartnerSpec& spec = ch_.partners[pi];
      PartnerState& state = partners_state_[pi];
      pv1::CreatePartnerRequest req;
      req.set_vendor_id(ch_.vendors[spec.vendors[0]].vendor_id);
      req.set_request_id(absl::StrCat(o_.run_id, "-", spec.key));
      pv1::Partner* p = req.mutable_partner();
      p->set_legal_name(absl::StrCat(spec.legal_name, " [", o_.run_id, "]"));
      p->set_hq_country_code(spec.country);
      p->set_time_zone(spec.time_zone);
      p->add_types(static_cast<common::v1::PartnerType>(spec.type));
      p->add_country_codes(spec.country);
      p->add_sales_regions(spec.region);
      p->add_verticals(spec.vertical);
      for (size_t v : spec.vendors) {
        auto* carried = p->add_carried_vendors();
        carried->set_name(ch_.vendors[v].display_name);
        carried->set_vendor_id(ch_.vendors[v].vendor_id);
        auto* ext = p->add_external_ids();
        ext->set_vendor_id(ch_.vendors[v].vendor_id);
        ext->set_erp_system_id(ch_.vendors[v].erp_system_id);
        state.account[v] = absl::StrCat("ACC-", spec.key);
        ext->set_account_id(state.account[v]);
      }
      for (const std::string& other : spec.other_vendors) p->add_carried_vendors()->set_name(other);
      pv1::CreatePartnerResponse created;
      grpc::Status s = partners_->CreatePartner(Ctx(service_).get(), req, &created);
      if (!s.ok()) Fail("CreatePartner " + spec.key, s);
      state.partner_id = created.partner().partner_id();
      for (size_t v : spec.vendors) {
        const std::string& vendor_id = ch_.vendors[v].vendor_id;
        pv1::CreateEnrollmentRequest enroll;
        enroll.mutable_enrollment()->set_vendor_id(vendor_id);
        enroll.mutable_enrollment()->set_partner_id(state.partner_id);
        enroll.mutable_enrollment()->set_program_id(program_ids_[v]);
        pv1::CreateEnrollmentResponse enrolled;
        s = partners_->CreateEnrollment(Ctx(service_).get(), enroll, &enrolled);
        if (!s.ok()) Fail("CreateEnrollment " + spec.key, s);
        pv1::StartEnrollmentOnboardingRequest onboard;
        onboard.set_vendor_id(vendor_id);
        onboard.set_partner_id(state.partner_id);
        pv1::StartEnrollmentOnboardingResponse onboarded;
        s = partners_->StartEnrollmentOnboarding(Ctx(service_).get(), onboard, &onboarded);
        if (!s.ok()) Fail("StartEnrollmentOnboarding " + spec.key, s);
        pv1::ActivateEnrollmentRequest activate;
        activate.set_vendor_id(vendor_id);
        activate.set_partner_id(state.partner_id);
        pv1::ActivateEnrollmentResponse active;
        s = partners_->ActivateEnrollment(Ctx(service_).get(), activate, &active);
        if (!s.ok()) Fail("ActivateEnrollment " + spec.key, s);
        entry_tier_[{v, pi}] = active.enrollment().tier_id();
      }
    }
  }

  std::vector<pv1::Enrollment> Enrollments(size_t v) {
    std::vector<pv1::Enrollment> out;
    pv1::ListEnrollmentsRequest req;
    req.set_vendor_id(ch_.vendors[v].vendor_id);
    req.set_page_size(500);
    do {
      pv1::ListEnrollmentsResponse resp;
      grpc::Status s = partners_->ListEnrollments(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("ListEnrollments", s);
      out.insert(out.end(), resp.enrollments().begin(), resp.enrollments().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  // --- concierge-routing -----------------------------------------------------------------
  void SetUpRouting() {
    worker_ids_.resize(ch_.concierges.size());
    std::map<std::pair<size_t, std::string>, std::string> calendars;
    for (size_t i = 0; i < ch_.concierges.size(); ++i) {
      const ConciergeSpec& c = ch_.concierges[i];
      const std::string& vendor_id = ch_.vendors[c.vendor].vendor_id;
      std::string& calendar = calendars[{c.vendor, c.time_zone}];
      if (calendar.empty()) {
        // Open 24×7 in the hub's time zone: the SLA clock runs in it.
        rv1::CreateBusinessCalendarRequest req;
        req.mutable_calendar()->set_vendor_id(vendor_id);
        req.mutable_calendar()->set_display_name(c.region + " hub");
        req.mutable_calendar()->set_time_zone(c.time_zone);
        rv1::CreateBusinessCalendarResponse resp;
        grpc::Status s = routing_->CreateBusinessCalendar(Ctx(service_).get(), req, &resp);
        if (!s.ok()) Fail("CreateBusinessCalendar", s);
        calendar = resp.calendar().business_calendar_id();
      }
      rv1::CreateWorkerRequest req;
      rv1::Worker* w = req.mutable_worker();
      w->set_vendor_id(vendor_id);
      w->set_display_name(c.name);
      w->set_email(absl::StrCat("concierge", i, "@", ch_.vendors[c.vendor].vendor_id, ".example"));
      w->set_role(rv1::WORKER_ROLE_CONCIERGE);
      w->set_activity_id("available");
      w->set_business_calendar_id(calendar);
      w->add_regions(c.region);
      if (c.region == "NA") w->add_regions("LATAM");
      w->add_languages("en");
      for (const auto& [skill, level] : c.skills) {
        auto* s = w->add_skills();
        s->set_skill(skill);
        s->set_level(level);
      }
      for (rv1::Channel channel : {rv1::CHANNEL_EMAIL, rv1::CHANNEL_PORTAL, rv1::CHANNEL_CHAT}) {
        auto* cap = w->add_capacities();
        cap->set_channel(channel);
        cap->set_capacity(2);
      }
      rv1::CreateWorkerResponse resp;
      grpc::Status s = routing_->CreateWorker(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("CreateWorker", s);
      worker_ids_[i] = resp.worker().worker_id();
    }
    // Per vendor: a queue per region hub; requests go first to the partner's own concierge,
    // then to the region's concierges with the skill, then to anyone.
    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      const std::string& vendor_id = ch_.vendors[v].vendor_id;
      auto queue = [&](const std::string& name, const std::string& target) {
        rv1::CreateQueueRequest req;
        req.mutable_queue()->set_vendor_id(vendor_id);
        req.mutable_queue()->set_display_name(name);
        req.mutable_queue()->set_target_workers(target);
        rv1::CreateQueueResponse resp;
        grpc::Status s = routing_->CreateQueue(Ctx(service_).get(), req, &resp);
        if (!s.ok()) Fail("CreateQueue " + name, s);
        return resp.queue().queue_id();
      };
      const std::string everyone = queue("All concierges", "worker.role == 'concierge'");
      for (const char* region : {"NA", "EMEA", "APAC", "LATAM"}) {
        const std::string regional =
            queue(absl::StrCat(region, " concierges"),
                  absl::StrCat("worker.regions HAS '", region, "'"));
        rv1::CreateWorkflowRequest req;
        rv1::Workflow* wf = req.mutable_workflow();
        wf->set_vendor_id(vendor_id);
        wf->set_display_name(absl::StrCat(region, " partner requests"));
        wf->set_task_filter(absl::StrCat("task.region == '", region, "'"));
        wf->mutable_reservation_timeout()->set_seconds(absl::ToInt64Seconds(kReservationTimeout));
        rv1::WorkflowStep* own = wf->add_steps();
        own->set_step_id("own-concierge");
        own->set_queue_id(everyone);
        own->set_target("worker.worker_id == task.partner.concierge_worker_id");
        own->mutable_timeout()->set_seconds(20);
        own->set_skip_if_nobody_available(true);
        rv1::WorkflowStep* hub = wf->add_steps();
        hub->set_step_id("region");
        hub->set_queue_id(regional);
        hub->mutable_timeout()->set_seconds(60);
        hub->set_skip_if_nobody_available(true);
        rv1::WorkflowStep* any = wf->add_steps();
        any->set_step_id("anyone");
        any->set_queue_id(everyone);
        any->set_priority_increase(50);
        rv1::CreateWorkflowResponse resp;
        grpc::Status s = routing_->CreateWorkflow(Ctx(service_).get(), req, &resp);
        if (!s.ok()) Fail("CreateWorkflow", s);
      }
      // First-response targets: tighter for the top tiers.
      rv1::UpdateSlaPolicyRequest sla;
      sla.mutable_policy()->set_vendor_id(vendor_id);
      sla.mutable_policy()->set_warning_percent(80);
      const std::vector<TierSpec>& tiers = ch_.vendors[v].tiers;
      auto* top = sla.mutable_policy()->add_targets();
      top->set_tier_id(tiers.back().tier_id);
      top->mutable_first_response()->set_seconds(15 * 60);
      auto* any = sla.mutable_policy()->add_targets();
      any->mutable_first_response()->set_seconds(4 * 3600);
      sla.mutable_update_mask()->add_paths("targets");
      sla.mutable_update_mask()->add_paths("warning_percent");
      rv1::UpdateSlaPolicyResponse updated;
      grpc::Status s = routing_->UpdateSlaPolicy(Ctx(service_).get(), sla, &updated);
      if (!s.ok()) Fail("UpdateSlaPolicy", s);
    }
    // The top partners get a named concierge of their region (partner-registry tells routing).
    for (size_t pi = 0; pi < ch_.partners.size(); ++pi) {
      const PartnerSpec& p = ch_.partners[pi];
      if (p.size < 2.5) continue;
      for (size_t v : p.vendors) {
        const std::string hub = p.region == "LATAM" ? "NA" : p.region;
        std::vector<size_t> candidates;
        for (size_t i = 0; i < ch_.concierges.size(); ++i) {
          if (ch_.concierges[i].vendor == v && ch_.concierges[i].region == hub) {
            candidates.push_back(i);
          }
        }
        if (candidates.empty()) continue;
        pv1::AssignConciergeRequest req;
        req.set_vendor_id(ch_.vendors[v].vendor_id);
        req.set_partner_id(partners_state_[pi].partner_id);
        req.set_worker_id(worker_ids_[candidates[pi % candidates.size()]]);
        pv1::AssignConciergeResponse resp;
        grpc::Status s = partners_->AssignConcierge(Ctx(service_).get(), req, &resp);
        if (!s.ok()) Fail("AssignConcierge", s);
        ++concierges_assigned_;
      }
    }
  }

  // Each concierge watches its offers and answers them as concierge_answers.h draws it from the
  // seed and the request: accept after a wait and complete after handling it, reject, or let the
  // reservation time out (and set itself available again once the service has moved it to
  // "missed"). Every answer runs on a thread of its own, so a slow answer holds up no other offer.
  void StartConcierges() {
    for (size_t i = 0; i < ch_.concierges.size(); ++i) {
      auto ctx = std::make_unique<grpc::ClientContext>();
      const std::string vendor_id = ch_.vendors[ch_.concierges[i].vendor].vendor_id;
      const std::string token = Token({.subject = worker_ids_[i],
                                       .role = auth::Role::kConcierge,
                                       .vendor_ids = {vendor_id},
                                       .worker_id = worker_ids_[i]});
      ctx->AddMetadata("authorization", token);
      grpc::ClientContext* raw = ctx.get();
      watch_contexts_.push_back(std::move(ctx));
      watchers_.emplace_back([this, raw, vendor_id, token, i] {
        rv1::WatchOffersRequest req;
        req.set_vendor_id(vendor_id);
        req.set_worker_id(worker_ids_[i]);
        auto reader = routing_->WatchOffers(raw, req);
        rv1::WatchOffersResponse event;
        while (reader->Read(&event)) {
          if (event.has_withdrawn() &&
              event.withdrawn().reservation().state() == rv1::RESERVATION_STATE_TIMED_OUT) {
            Answer([this, vendor_id, token, i] { ComeBack(vendor_id, token, i); });
          }
          if (!event.has_offer()) continue;
          Answer([this, offer = event.offer(), vendor_id, token] {
            Respond(offer, vendor_id, token);
          });
        }
        reader->Finish();
      });
    }
  }
  void Answer(std::function<void()> body) {
    std::lock_guard<std::mutex> lock(answers_mu_);
    answers_.emplace_back(std::move(body));
  }
  void Respond(const rv1::Offer& offer, const std::string& vendor_id, const std::string& token) {
    const auto ticket = offer.task().attributes().find(kTicketAttribute);
    uint64_t request = 0;
    OfferAnswer answer;  // other tasks (none expected) are accepted at once
    if (ticket != offer.task().attributes().end() && absl::SimpleAtoi(ticket->second, &request)) {
      answer = AnswerOffer(static_cast<uint64_t>(o_.seed), request,
                           offer.task().declined_worker_ids().empty(),
                           {.reservation_timeout = kReservationTimeout});
    }
    if (answer.action == OfferAnswer::Action::kLetTimeOut) return;
    absl::SleepFor(answer.wait);
    if (answer.action == OfferAnswer::Action::kReject) {
      rv1::RejectReservationRequest reject;
      reject.set_vendor_id(vendor_id);
      reject.set_reservation_id(offer.reservation().reservation_id());
      reject.set_reason("busy with a customer escalation");
      rv1::RejectReservationResponse rejected;
      routing_->RejectReservation(Ctx(token).get(), reject, &rejected);
      return;
    }
    rv1::AcceptReservationRequest accept;
    accept.set_vendor_id(vendor_id);
    accept.set_reservation_id(offer.reservation().reservation_id());
    rv1::AcceptReservationResponse accepted;
    // Not OK when the offer was rescinded meanwhile (the task went to someone else).
    if (!routing_->AcceptReservation(Ctx(token).get(), accept, &accepted).ok()) return;
    absl::SleepFor(answer.handling);
    rv1::CompleteTaskRequest complete;
    complete.set_vendor_id(vendor_id);
    complete.set_task_id(accepted.task().task_id());
    complete.set_resolution("answered");
    rv1::CompleteTaskResponse completed;
    grpc::Status s = routing_->CompleteTask(Ctx(token).get(), complete, &completed);
    if (!s.ok()) Warn("CompleteTask " + complete.task_id(), s);
  }
  // After a missed offer the service has moved the worker to "missed" (or "paused"): it comes
  // back two seconds later.
  void ComeBack(const std::string& vendor_id, const std::string& token, size_t concierge) {
    absl::SleepFor(absl::Seconds(2));
    rv1::SetWorkerActivityRequest req;
    req.set_vendor_id(vendor_id);
    req.set_worker_id(worker_ids_[concierge]);
    req.set_activity_id("available");
    rv1::SetWorkerActivityResponse resp;
    grpc::Status s = routing_->SetWorkerActivity(Ctx(token).get(), req, &resp);
    if (!s.ok()) Warn("SetWorkerActivity " + worker_ids_[concierge], s);
  }
  void StopConcierges() {
    for (auto& ctx : watch_contexts_) ctx->TryCancel();
    for (std::thread& t : watchers_) t.join();
    std::lock_guard<std::mutex> lock(answers_mu_);
    for (std::thread& t : answers_) t.join();
  }

  // --- ERP sales -------------------------------------------------------------------------
  kafka::Record SaleRecord(const SaleSpec& s, const std::string& sku, const std::string& deal_id,
                           const std::string& domain = "") {
    const VendorSpec& vendor = ch_.vendors[s.vendor];
    const std::string& account = partners_state_[s.partner].account.at(s.vendor);
    sv1::SaleRecorded sale;
    sale.set_vendor_id(vendor.vendor_id);
    sale.set_erp_system_id(vendor.erp_system_id);
    sale.set_partner_external_id(account);
    sale.set_erp_document_id(s.document);
    sale.set_kind(s.sell_through ? sv1::SALE_KIND_SELL_THROUGH : sv1::SALE_KIND_SELL_IN);
    sale.set_currency_code(vendor.currency);
    if (s.sell_through) {
      sale.mutable_end_customer()->set_legal_name(s.customer);
      sale.mutable_end_customer()->set_country_code(s.customer_country);
      if (!domain.empty()) sale.mutable_end_customer()->set_web_domain(domain);
    }
    auto* line = sale.add_lines();
    line->set_sku(sku);
    line->set_product_category(s.category);
    line->set_quantity(s.quantity);
    line->mutable_amount()->set_currency_code(vendor.currency);
    line->mutable_amount()->set_units(s.units);
    sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(s.time));
    sale.set_deal_id(deal_id);
    if (s.big_deal) (*sale.mutable_attributes())["order_type"] = "project";
    const std::string key = absl::StrCat(vendor.vendor_id, "/", vendor.erp_system_id, "/", account);
    (s.sell_through ? expected_through_ : expected_in_)[s.vendor] += s.units;
    return events::EncodeBinary(
        events::MakeEvent(sale, "prm.sales.SaleRecorded.v1", "erp/" + vendor.erp_system_id,
                          absl::StrCat(o_.run_id, "-", vendor.erp_system_id, "-", s.document),
                          absl::Now(), key),
        o_.sales_topic);
  }

  void Publish(const std::vector<kafka::Record>& records) {
    for (size_t i = 0; i < records.size(); i += 2000) {
      std::vector<kafka::Record> batch(records.begin() + static_cast<long>(i),
                                       records.begin() + static_cast<long>(
                                                             std::min(records.size(), i + 2000)));
      for (const absl::Status& s : producer_->ProduceAndWait(batch, absl::Seconds(60))) {
        if (!s.ok()) {
          std::cerr << "\nprm-demo: publishing to " << o_.sales_topic << " failed: " << s << "\n";
          std::exit(1);
        }
      }
    }
  }

  void PublishHistory() {
    std::vector<kafka::Record> records;
    records.reserve(ch_.sales.size());
    for (const SaleSpec& s : ch_.sales) {
      records.push_back(SaleRecord(s, "SKU-" + absl::AsciiStrToUpper(s.category), ""));
    }
    Publish(records);
  }

  // Sum of a VENDOR-level monthly series' history (0 when there is none yet).
  double VendorHistory(size_t v, fv1::Measure measure) {
    fv1::GetForecastRequest req;
    req.mutable_series()->set_vendor_id(ch_.vendors[v].vendor_id);
    req.mutable_series()->set_level(fv1::FORECAST_LEVEL_VENDOR);
    req.mutable_series()->set_measure(measure);
    req.set_granularity(fv1::GRANULARITY_MONTH);
    req.set_horizon(1);
    req.set_history_periods(40);
    fv1::GetForecastResponse resp;
    if (!forecast_->GetForecast(Ctx(service_, absl::Seconds(60)).get(), req, &resp).ok()) return 0;
    double sum = 0;
    for (const auto& p : resp.forecast().history()) sum += Units(p.actual());
    return sum;
  }

  bool ForecastCaughtUp() {
    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      if (VendorHistory(v, fv1::MEASURE_SELL_IN) != expected_in_[v]) return false;
      if (VendorHistory(v, fv1::MEASURE_SELL_THROUGH) != expected_through_[v]) return false;
    }
    return true;
  }

  // partner-registry has consumed the sales when the trailing revenue stops moving.
  bool RegistryStable() {
    double total = 0;
    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      for (const pv1::Enrollment& e : Enrollments(v)) total += Units(e.metrics().trailing_revenue());
    }
    const bool stable = total > 0 && total == last_registry_total_;
    last_registry_total_ = total;
    return stable;
  }

  void WaitForSales() {
    Until("forecast to ingest the sales", [&] { return ForecastCaughtUp(); });
    Until("partner-registry to ingest the sales", [&] { return RegistryStable(); });
  }

  // --- deal-registration -----------------------------------------------------------------
  void RegisterDeals() {
    // Top-tier partners' clean registrations are approved automatically; the rest wait for a
    // channel manager (and concierge-routing opens an approval task for each).
    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      dv1::UpdateDealPolicyRequest req;
      req.mutable_policy()->set_vendor_id(ch_.vendors[v].vendor_id);
      req.mutable_policy()->set_program_id(program_ids_[v]);
      auto* rule = req.mutable_policy()->add_auto_approval_rules();
      rule->set_rule_id("top-tier");
      rule->set_display_name("Top-tier partners, no conflict");
      rule->set_enabled(true);
      rule->set_min_tier_rank(static_cast<int32_t>(ch_.vendors[v].tiers.size()) - 1);
      rule->set_allow_conflict(false);
      req.mutable_update_mask()->add_paths("auto_approval_rules");
      dv1::UpdateDealPolicyResponse resp;
      grpc::Status s = deals_->UpdateDealPolicy(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("UpdateDealPolicy", s);
    }
    deal_state_.resize(ch_.deals.size());
    for (size_t i = 0; i < ch_.deals.size(); ++i) {
      const DealSpec& d = ch_.deals[i];
      const VendorSpec& vendor = ch_.vendors[d.vendor];
      DealState& state = deal_state_[i];
      const std::string user = PartnerUser(d.vendor, d.partner);
      dv1::CreateDealRequest create;
      dv1::Deal* deal = create.mutable_deal();
      deal->set_vendor_id(vendor.vendor_id);
      deal->set_partner_id(partners_state_[d.partner].partner_id);
      deal->set_title(absl::StrCat(d.category, " project at ", d.customer));
      deal->mutable_end_customer()->set_legal_name(d.customer);
      deal->mutable_end_customer()->set_country_code(d.customer_country);
      deal->mutable_end_customer()->set_web_domain(d.customer_domain);
      auto* line = deal->add_products();
      line->set_sku("SKU-" + absl::AsciiStrToUpper(d.category));
      line->set_product_category(d.category);
      line->set_quantity(std::max<int64_t>(1, d.units / 1000));
      line->mutable_amount()->set_currency_code(vendor.currency);
      line->mutable_amount()->set_units(d.units);
      deal->mutable_value()->set_currency_code(vendor.currency);
      deal->mutable_value()->set_units(d.units);
      *deal->mutable_expected_close_date() =
          Day(absl::Now() + absl::Hours(24) * d.expected_close_days);
      deal->set_stage(dv1::DEAL_STAGE_QUALIFYING);
      dv1::CreateDealResponse created;
      grpc::Status s = deals_->CreateDeal(Ctx(user).get(), create, &created);
      if (!s.ok()) Fail("CreateDeal", s);
      state.deal_id = created.deal().deal_id();
      dv1::SubmitDealRequest submit;
      submit.set_vendor_id(vendor.vendor_id);
      submit.set_deal_id(state.deal_id);
      dv1::SubmitDealResponse submitted;
      // deal-registration learns enrollments from partner-registry's events; a brand-new
      // enrollment may not have arrived yet.
      for (int attempt = 0;; ++attempt) {
        s = deals_->SubmitDeal(Ctx(user).get(), submit, &submitted);
        if (s.ok() || s.error_code() != grpc::StatusCode::FAILED_PRECONDITION || attempt == 40) {
          break;
        }
        absl::SleepFor(absl::Milliseconds(250));
      }
      if (!s.ok()) Fail("SubmitDeal", s);
      state.conflict = submitted.deal().has_conflict();
      state.auto_approved = submitted.deal().state() == dv1::DEAL_STATE_APPROVED;
      state.approved = state.auto_approved;
      state.review_required = !state.auto_approved;
      if (state.auto_approved) continue;
      // The channel manager decides: duplicates of a registered customer are rejected.
      const std::string manager = Manager(d.vendor);
      dv1::StartReviewRequest review;
      review.set_vendor_id(vendor.vendor_id);
      review.set_deal_id(state.deal_id);
      dv1::StartReviewResponse reviewed;
      s = deals_->StartReview(Ctx(manager).get(), review, &reviewed);
      if (!s.ok()) Fail("StartReview", s);
      if (d.fate == DealSpec::Fate::kRejected || state.conflict) {
        dv1::RejectDealRequest reject;
        reject.set_vendor_id(vendor.vendor_id);
        reject.set_deal_id(state.deal_id);
        reject.set_reason(dv1::REJECTION_REASON_DUPLICATE);
        reject.set_note("Another partner registered this opportunity first");
        dv1::RejectDealResponse rejected;
        s = deals_->RejectDeal(Ctx(manager).get(), reject, &rejected);
        if (!s.ok()) Fail("RejectDeal", s);
        state.rejected = true;
      } else {
        dv1::ApproveDealRequest approve;
        approve.set_vendor_id(vendor.vendor_id);
        approve.set_deal_id(state.deal_id);
        dv1::ApproveDealResponse approved;
        s = deals_->ApproveDeal(Ctx(manager).get(), approve, &approved);
        if (!s.ok()) Fail("ApproveDeal", s);
        state.approved = true;
      }
    }
  }

  void CloseDeals() {
    std::vector<kafka::Record> invoices;
    int document = 0;
    for (size_t i = 0; i < ch_.deals.size(); ++i) {
      const DealSpec& d = ch_.deals[i];
      const DealState& state = deal_state_[i];
      if (!state.approved) continue;
      if (d.fate == DealSpec::Fate::kWon) {
        SaleSpec s;
        s.vendor = d.vendor;
        s.partner = d.partner;
        s.document = absl::StrFormat("DEAL-INV-%04d", ++document);
        s.sell_through = true;
        s.category = d.category;
        s.customer = d.customer;
        s.customer_country = d.customer_country;
        s.units = d.units;
        s.quantity = std::max<int64_t>(1, d.units / 1000);
        s.time = absl::Now() - absl::Minutes(10);
        invoices.push_back(SaleRecord(s, "SKU-" + absl::AsciiStrToUpper(d.category), state.deal_id,
                                      d.customer_domain));
        ++expected_won_[d.vendor];
      } else if (d.fate == DealSpec::Fate::kLost) {
        dv1::MarkDealLostRequest lost;
        lost.set_vendor_id(ch_.vendors[d.vendor].vendor_id);
        lost.set_deal_id(state.deal_id);
        lost.set_reason("Customer chose a competitor");
        dv1::MarkDealLostResponse resp;
        grpc::Status s =
            deals_->MarkDealLost(Ctx(PartnerUser(d.vendor, d.partner)).get(), lost, &resp);
        if (!s.ok()) Fail("MarkDealLost", s);
      }
    }
    Publish(invoices);
  }

  std::vector<dv1::Deal> Deals(size_t v) {
    std::vector<dv1::Deal> out;
    dv1::ListDealsRequest req;
    req.set_vendor_id(ch_.vendors[v].vendor_id);
    req.set_page_size(500);
    do {
      dv1::ListDealsResponse resp;
      grpc::Status s = deals_->ListDeals(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("ListDeals", s);
      out.insert(out.end(), resp.deals().begin(), resp.deals().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  // --- partner requests ------------------------------------------------------------------
  void RaiseRequests() {
    for (const RequestSpec& r : ch_.requests) {
      rv1::CreateTaskRequest req;
      rv1::Task* t = req.mutable_task();
      t->set_vendor_id(ch_.vendors[r.vendor].vendor_id);
      t->set_partner_id(partners_state_[r.partner].partner_id);
      t->set_channel(static_cast<rv1::Channel>(r.channel));
      t->set_category(static_cast<rv1::TaskCategory>(r.category));
      t->set_region(ch_.partners[r.partner].region);
      t->set_language("en");
      t->set_title(r.title);
      (*t->mutable_attributes())[kTicketAttribute] = absl::StrCat(&r - ch_.requests.data());
      rv1::CreateTaskResponse resp;
      grpc::Status s = routing_->CreateTask(Ctx(PartnerUser(r.vendor, r.partner)).get(), req, &resp);
      if (!s.ok()) Fail("CreateTask", s);
    }
  }

  std::vector<rv1::Task> Tasks(size_t v) {
    std::vector<rv1::Task> out;
    rv1::ListTasksRequest req;
    req.set_vendor_id(ch_.vendors[v].vendor_id);
    req.set_page_size(500);
    do {
      rv1::ListTasksResponse resp;
      grpc::Status s = routing_->ListTasks(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("ListTasks", s);
      out.insert(out.end(), resp.tasks().begin(), resp.tasks().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  std::vector<rv1::Reservation> Reservations(size_t v) {
    std::vector<rv1::Reservation> out;
    rv1::ListReservationsRequest req;
    req.set_vendor_id(ch_.vendors[v].vendor_id);
    req.set_page_size(500);
    do {
      rv1::ListReservationsResponse resp;
      grpc::Status s = routing_->ListReservations(Ctx(service_).get(), req, &resp);
      if (!s.ok()) Fail("ListReservations", s);
      out.insert(out.end(), resp.reservations().begin(), resp.reservations().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  fv1::Velocity Velocity(size_t v, fv1::ForecastLevel level, const std::string& partner_id) {
    fv1::GetVelocityRequest req;
    req.mutable_series()->set_vendor_id(ch_.vendors[v].vendor_id);
    req.mutable_series()->set_level(level);
    req.mutable_series()->set_partner_id(partner_id);
    req.set_window_days(90);
    fv1::GetVelocityResponse resp;
    forecast_->GetVelocity(Ctx(service_).get(), req, &resp);
    return resp.velocity();
  }

  void WaitForEverything() {
    Until("forecast to ingest the invoices", [&] { return ForecastCaughtUp(); });
    Until("deal-registration to close the invoiced deals", [&] {
      for (size_t v = 0; v < ch_.vendors.size(); ++v) {
        const std::vector<dv1::Deal> deals = Deals(v);
        if (std::count_if(deals.begin(), deals.end(), [](const dv1::Deal& d) {
              return d.state() == dv1::DEAL_STATE_WON;
            }) < expected_won_[v]) {
          return false;
        }
      }
      return true;
    });
    Until("concierge-routing to route every request", [&] {
      for (size_t v = 0; v < ch_.vendors.size(); ++v) {
        for (const rv1::Task& t : Tasks(v)) {
          if (t.category() == rv1::TASK_CATEGORY_DEAL_APPROVAL) {
            if (t.state() == rv1::TASK_STATE_PENDING || t.state() == rv1::TASK_STATE_RESERVED) {
              // Open approval tasks must belong to deals still waiting for a decision.
              auto it = std::find_if(deal_state_.begin(), deal_state_.end(),
                                     [&](const DealState& d) { return d.deal_id == t.related_deal_id(); });
              if (it != deal_state_.end() && (it->approved || it->rejected)) return false;
            }
            continue;
          }
          if (t.state() != rv1::TASK_STATE_COMPLETED) return false;
        }
      }
      return true;
    });
    Until("forecast velocity to see the won deals", [&] {
      for (size_t v = 0; v < ch_.vendors.size(); ++v) {
        if (Velocity(v, fv1::FORECAST_LEVEL_VENDOR, "").won_deal_count() < expected_won_[v]) {
          return false;
        }
      }
      return true;
    });
    Until("partner-registry to settle", [&] { return RegistryStable(); });
  }

  // --- the channel chief's summary -------------------------------------------------------
  void Summary(absl::Duration took) {
    std::cout << "\n==================== PRM demonstration: what the channel chief sees "
                 "====================\n";
    std::map<std::string, int> by_type, by_region;
    for (const PartnerSpec& p : ch_.partners) {
      ++by_type[TypeName(p.type)];
      ++by_region[p.region];
    }
    std::cout << absl::StrFormat("Channel: %d partners, %d vendors on the platform, %d concierges, "
                                 "%d ERP sales over two years (seed %d, run %s)\n",
                                 ch_.partners.size(), ch_.vendors.size(), ch_.concierges.size(),
                                 ch_.sales.size(), o_.seed, o_.run_id);
    std::cout << "  by type:  ";
    for (const auto& [t, n] : by_type) std::cout << t << " " << n << "  ";
    std::cout << "\n  by region: ";
    for (const auto& [r, n] : by_region) std::cout << r << " " << n << "  ";
    std::cout << "\n";

    for (size_t v = 0; v < ch_.vendors.size(); ++v) {
      const VendorSpec& vendor = ch_.vendors[v];
      std::cout << "\n---- " << vendor.display_name << " (" << vendor.vendor_id << ", "
                << vendor.currency << ") ----\n";
      // Tier movements.
      std::map<std::string, int> count;
      std::map<std::string, double> revenue;
      int moved = 0;
      for (const pv1::Enrollment& e : Enrollments(v)) {
        ++count[e.tier_id()];
        revenue[e.tier_id()] += Units(e.metrics().trailing_revenue());
        if (e.tier_rank() > 1) ++moved;
      }
      std::cout << absl::StrFormat("Tier movements (all partners entered at '%s'; %d moved up on "
                                   "trailing-12-month sales):\n",
                                   vendor.tiers.front().tier_id, moved);
      std::cout << absl::StrFormat("  %-12s %9s %14s %10s\n", "tier", "partners", "trailing 12m",
                                   "threshold");
      for (const TierSpec& t : vendor.tiers) {
        std::cout << absl::StrFormat("  %-12s %9d %14s %10s\n", t.tier_id, count[t.tier_id],
                                     Money(revenue[t.tier_id]), Money(static_cast<double>(t.min_revenue)));
      }

      // Deals and conflicts.
      int registered = 0, auto_approved = 0, manual = 0, rejected = 0, conflicts_flagged = 0;
      for (size_t i = 0; i < ch_.deals.size(); ++i) {
        if (ch_.deals[i].vendor != v) continue;
        ++registered;
        if (deal_state_[i].auto_approved) ++auto_approved;
        if (deal_state_[i].approved && !deal_state_[i].auto_approved) ++manual;
        if (deal_state_[i].rejected) ++rejected;
      }
      std::map<dv1::DealState, int> states;
      for (const dv1::Deal& d : Deals(v)) {
        ++states[d.state()];
        if (d.has_conflict()) ++conflicts_flagged;
      }
      std::cout << absl::StrFormat(
          "Deal registration: %d registered; %d conflicts caught at submission (%d rejected as "
          "duplicates); %d approved automatically, %d by a channel manager\n",
          registered, conflicts_flagged, rejected, auto_approved, manual);
      std::cout << absl::StrFormat(
          "  now: %d won (closed by ERP invoices), %d lost, %d approved and open, %d rejected\n",
          states[dv1::DEAL_STATE_WON], states[dv1::DEAL_STATE_LOST],
          states[dv1::DEAL_STATE_APPROVED], states[dv1::DEAL_STATE_REJECTED]);

      // Routing and SLA, as concierge-routing recorded them.
      int requests = 0, completed = 0, met = 0, breached = 0, approvals = 0, approvals_closed = 0;
      std::map<std::string, int> by_step;
      std::set<std::string> request_tasks;
      std::vector<double> accept_seconds;
      for (const rv1::Task& t : Tasks(v)) {
        if (t.category() == rv1::TASK_CATEGORY_DEAL_APPROVAL) {
          ++approvals;
          if (t.state() == rv1::TASK_STATE_CANCELED &&
              t.cancel_source() == rv1::CANCEL_SOURCE_DEAL_CLOSED) {
            ++approvals_closed;
          }
          continue;
        }
        ++requests;
        request_tasks.insert(t.task_id());
        if (t.state() == rv1::TASK_STATE_COMPLETED) ++completed;
        if (t.sla().state() == rv1::SLA_STATE_MET) ++met;
        if (t.sla().state() == rv1::SLA_STATE_BREACHED) ++breached;
        ++by_step[t.step_id().empty() ? "-" : t.step_id()];
        if (t.has_assign_time()) {
          accept_seconds.push_back(
              static_cast<double>(t.assign_time().seconds() - t.create_time().seconds()) +
              (t.assign_time().nanos() - t.create_time().nanos()) / 1e9);
        }
      }
      // Offers of the partner requests: rejected ones (and whether the task was offered again
      // afterwards) and timed-out ones.
      std::map<std::string, std::vector<rv1::Reservation>> offers;
      for (const rv1::Reservation& r : Reservations(v)) {
        if (request_tasks.contains(r.task_id())) offers[r.task_id()].push_back(r);
      }
      int offered = 0, offers_rejected = 0, reoffered = 0, timed_out = 0;
      for (const auto& [task_id, list] : offers) {
        offered += static_cast<int>(list.size());
        for (const rv1::Reservation& r : list) {
          if (r.state() == rv1::RESERVATION_STATE_TIMED_OUT) ++timed_out;
          if (r.state() != rv1::RESERVATION_STATE_REJECTED) continue;
          ++offers_rejected;
          auto nanos = [](const google::protobuf::Timestamp& t) {
            return t.seconds() * 1'000'000'000LL + t.nanos();
          };
          if (std::any_of(list.begin(), list.end(), [&](const rv1::Reservation& later) {
                return later.worker_id() != r.worker_id() &&
                       nanos(later.create_time()) >= nanos(r.end_time());
              })) {
            ++reoffered;
          }
        }
      }
      std::cout << absl::StrFormat(
          "Concierge routing: %d partner requests routed, %d completed; %d offers made, %d "
          "rejected (%d re-offered to another concierge), %d reservations timed out (%s to "
          "answer)\n",
          requests, completed, offered, offers_rejected, reoffered, timed_out,
          Seconds(absl::ToDoubleSeconds(kReservationTimeout)));
      std::cout << absl::StrFormat(
          "  first-response SLA met %d/%d (%.0f%%); time from request to accept: median %s, "
          "p90 %s, max %s\n",
          met, met + breached, met + breached > 0 ? 100.0 * met / (met + breached) : 100.0,
          Seconds(Percentile(accept_seconds, 0.5)), Seconds(Percentile(accept_seconds, 0.9)),
          Seconds(Percentile(accept_seconds, 1.0)));
      std::cout << "  answered at step:";
      for (const auto& [step, n] : by_step) std::cout << " " << step << " " << n;
      std::cout << absl::StrFormat(
          "\n  %d deal-approval tasks opened for channel managers, %d closed by the decision\n",
          approvals, approvals_closed);

      // Forecast: vendor and top segments, next three months with intervals. Segments hold each
      // sale in the tier the partner had on its day; this run's tiers were all decided minutes
      // ago, after two years of back-dated sales, so the demo groups segments over every tier.
      std::cout << "Forecast of sell-in, next 3 months, with 80 % and 95 % intervals (vendor total and "
                   "the four type/region/vertical segments, all tiers, with the most trailing "
                   "revenue; partners in brackets):\n";
      PrintForecast(v, "vendor total", fv1::FORECAST_LEVEL_VENDOR, nullptr);
      fv1::ListSegmentsRequest seg;
      seg.set_vendor_id(vendor.vendor_id);
      seg.set_page_size(500);
      fv1::ListSegmentsResponse segments;
      grpc::Status s = forecast_->ListSegments(Ctx(service_).get(), seg, &segments);
      if (!s.ok()) {
        std::cout << "  (segments unavailable: " << s.error_message() << ")\n";
      }
      struct Group {
        fv1::Segment segment;  // tier unset: every tier
        double revenue = 0;
        int partners = 0;
      };
      std::map<std::tuple<int, std::string, std::string>, Group> groups;
      for (const fv1::SegmentSummary& summary : segments.segments()) {
        const fv1::Segment& sg = summary.segment();
        Group& g = groups[{sg.partner_type(), sg.region(), sg.vertical()}];
        g.segment = sg;
        g.segment.clear_tier_id();
        g.revenue += Units(summary.trailing_revenue());
        g.partners += summary.partner_count();
      }
      std::vector<Group> top;
      for (auto& [key, g] : groups) top.push_back(std::move(g));
      std::sort(top.begin(), top.end(),
                [](const Group& a, const Group& b) { return a.revenue > b.revenue; });
      for (size_t i = 0; i < top.size() && i < 4; ++i) {
        const fv1::Segment& sg = top[i].segment;
        PrintForecast(v,
                      absl::StrFormat("%s/%s/%s [%d]", TypeName(sg.partner_type()),
                                      sg.region().empty() ? "-" : sg.region(),
                                      sg.vertical().empty() ? "-" : sg.vertical(),
                                      top[i].partners),
                      fv1::FORECAST_LEVEL_SEGMENT, &sg);
      }

      // Velocity leaders.
      struct Leader {
        std::string name;
        fv1::Velocity velocity;
      };
      std::vector<Leader> leaders;
      std::set<size_t> with_deals;
      for (const DealSpec& d : ch_.deals) {
        if (d.vendor == v) with_deals.insert(d.partner);
      }
      for (size_t pi : with_deals) {
        fv1::Velocity vel = Velocity(v, fv1::FORECAST_LEVEL_PARTNER, partners_state_[pi].partner_id);
        if (vel.won_deal_count() > 0) leaders.push_back({ch_.partners[pi].legal_name, vel});
      }
      std::sort(leaders.begin(), leaders.end(), [](const Leader& a, const Leader& b) {
        return Units(a.velocity.velocity_per_day()) > Units(b.velocity.velocity_per_day());
      });
      const fv1::Velocity total = Velocity(v, fv1::FORECAST_LEVEL_VENDOR, "");
      std::cout << absl::StrFormat(
          "Sales velocity, last 90 days: %d opportunities, %d won, %d lost, win rate %.0f%%, "
          "average won %s, average cycle %s\n",
          total.opportunities(), total.won_deal_count(), total.lost_deal_count(),
          100 * total.win_rate(), Money(Units(total.average_deal_size())),
          Cycle(total.average_sales_cycle()));
      std::cout << "  (every deal of this run was registered minutes ago, so cycles are seconds; "
                   "velocity counts a cycle shorter than a day as one day)\n";
      std::cout << absl::StrFormat("  %-34s %5s %4s %5s %9s %9s %11s\n", "velocity leaders", "opps",
                                   "won", "win", "avg won", "cycle", "per day");
      for (size_t i = 0; i < leaders.size() && i < 5; ++i) {
        const fv1::Velocity& vel = leaders[i].velocity;
        std::cout << absl::StrFormat("  %-34s %5d %4d %4.0f%% %9s %9s %11s\n",
                                     leaders[i].name.substr(0, 34), vel.opportunities(),
                                     vel.won_deal_count(), 100 * vel.win_rate(),
                                     Money(Units(vel.average_deal_size())),
                                     Cycle(vel.average_sales_cycle()),
                                     Money(Units(vel.velocity_per_day())));
      }
    }
    std::cout << absl::StrFormat("\nDemonstration finished in %.0f s.\n", absl::ToDoubleSeconds(took));
  }

  void PrintForecast(size_t v, const std::string& label, fv1::ForecastLevel level,
                     const fv1::Segment* segment) {
    fv1::GetForecastRequest req;
    req.mutable_series()->set_vendor_id(ch_.vendors[v].vendor_id);
    req.mutable_series()->set_level(level);
    req.mutable_series()->set_measure(fv1::MEASURE_SELL_IN);
    if (segment != nullptr) *req.mutable_series()->mutable_segment() = *segment;
    req.set_granularity(fv1::GRANULARITY_MONTH);
    req.set_horizon(3);
    req.set_history_periods(36);
    fv1::GetForecastResponse resp;
    grpc::Status s = forecast_->GetForecast(Ctx(service_, absl::Seconds(60)).get(), req, &resp);
    if (!s.ok()) {
      std::cout << absl::StrFormat("  %-42s (no forecast: %s)\n", label, s.error_message());
      return;
    }
    const std::string method =
        fv1::ForecastMethod_Name(resp.forecast().model().method()).substr(16);
    bool first = true;
    for (const fv1::ForecastPoint& p : resp.forecast().points()) {
      std::cout << absl::StrFormat("  %-42s %04d-%02d %8s   80%% %7s-%-7s  95%% %7s-%-7s %s\n",
                                   first ? label.substr(0, 42) : "", p.period_start().year(),
                                   p.period_start().month(), Money(Units(p.mean())),
                                   Money(Units(p.lower_80())), Money(Units(p.upper_80())),
                                   Money(Units(p.lower_95())), Money(Units(p.upper_95())),
                                   first ? method : "");
      first = false;
    }
  }

  Options o_;
  Channel ch_;
  auth::TokenMinter minter_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> channels_;
  std::unique_ptr<pv1::PartnerRegistry::Stub> partners_;
  std::unique_ptr<dv1::DealRegistration::Stub> deals_;
  std::unique_ptr<rv1::ConciergeRouting::Stub> routing_;
  std::unique_ptr<fv1::Forecast::Stub> forecast_;
  std::string service_;
  absl::Time deadline_;

  std::vector<std::string> program_ids_;
  std::vector<PartnerState> partners_state_;
  std::map<std::pair<size_t, size_t>, std::string> entry_tier_;
  std::vector<std::string> worker_ids_;
  int concierges_assigned_ = 0;
  std::vector<DealState> deal_state_;
  std::map<size_t, double> expected_in_, expected_through_;
  std::map<size_t, int> expected_won_;
  double last_registry_total_ = -1;
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_contexts_;
  std::vector<std::thread> watchers_;
  std::mutex answers_mu_;
  std::vector<std::thread> answers_;
};

int Main(int argc, char** argv) {
  Options o;
  FlagSet flags("prm-demo",
                "generate a channel, push it through the running platform (gRPC and Kafka only) "
                "and print the channel chief's summary");
  flags.String("partner-registry", &o.partner_registry, "partner-registry gRPC address");
  flags.String("deal-registration", &o.deal_registration, "deal-registration gRPC address");
  flags.String("concierge-routing", &o.concierge_routing, "concierge-routing gRPC address");
  flags.String("forecast", &o.forecast, "forecast gRPC address");
  flags.String("kafka-brokers", &o.kafka_brokers, "Kafka bootstrap servers for ERP sales");
  flags.String("topic-sales", &o.sales_topic, "ERP sales topic");
  flags.String("jwt-secret-file", &o.jwt_secret_file, "file holding the services' HS256 secret");
  flags.String("jwt-secret", &o.jwt_secret, "the HS256 secret inline (prefer the file)");
  flags.String("jwt-issuer", &o.jwt_issuer, "`iss` of the minted tokens");
  flags.String("jwt-audience", &o.jwt_audience, "`aud` of the minted tokens");
  flags.Int("seed", &o.seed, "seed of the generated channel", 0, int64_t{1} << 62);
  flags.Int("partners", &o.partners, "number of partners", 10, 5000);
  flags.Int("deals-per-vendor", &o.deals_per_vendor, "deal registrations per vendor", 1, 5000);
  flags.Int("requests-per-vendor", &o.requests_per_vendor, "partner requests per vendor", 1, 5000);
  flags.String("run-id", &o.run_id,
               "suffix of the vendor ids (default: the start time), so reruns do not collide");
  flags.Duration("timeout", &o.timeout, "how long to wait for the services to catch up");
  flags.Check([&o] {
    return o.jwt_secret.empty() && o.jwt_secret_file.empty()
               ? std::string("--jwt-secret-file (or --jwt-secret) is required")
               : std::string();
  });
  absl::StatusOr<FlagSet::Outcome> outcome = flags.Parse(argc, argv, environ);
  if (!outcome.ok()) {
    std::cerr << "prm-demo: " << outcome.status().message() << "\n";
    return 2;
  }
  if (*outcome != FlagSet::Outcome::kRun) {
    std::cout << flags.Usage();
    return 0;
  }
  if (o.jwt_secret.empty()) {
    absl::StatusOr<std::string> secret = auth::ReadHs256SecretFile(o.jwt_secret_file);
    if (!secret.ok()) {
      std::cerr << "prm-demo: --jwt-secret-file: " << secret.status().message() << "\n";
      return 2;
    }
    o.jwt_secret = *std::move(secret);
  }
  if (o.run_id.empty()) {
    o.run_id = absl::FormatTime("%Y%m%d%H%M%S", absl::Now(), absl::UTCTimeZone());
  }
  absl::StatusOr<auth::TokenMinter> minter = auth::TokenMinter::Create(
      {.algorithm = "HS256",
       .hs256_secret = o.jwt_secret,
       .issuer = o.jwt_issuer,
       .audience = o.jwt_audience},
      SystemClock::Instance());
  if (!minter.ok()) {
    std::cerr << "prm-demo: " << minter.status() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(
          {.brokers = o.kafka_brokers, .client_id = "prm-demo", .properties = {}});
  if (!producer.ok()) {
    std::cerr << "prm-demo: " << producer.status() << "\n";
    return 2;
  }
  Channel channel = Generate({.seed = static_cast<uint64_t>(o.seed),
                              .partners = static_cast<int>(o.partners),
                              .deals_per_vendor = static_cast<int>(o.deals_per_vendor),
                              .requests_per_vendor = static_cast<int>(o.requests_per_vendor),
                              .run_id = o.run_id,
                              .now = absl::Now()});
  Demo demo(std::move(o), std::move(channel), *std::move(minter), *std::move(producer));
  return demo.Run();
}

}  // namespace
}  // namespace prm::demo

int main(int argc, char** argv) { return prm::demo::Main(argc, argv); }
