#pragma once

// The four real service binaries on the test broker, with a vendor world seeded through their
// public APIs by each object's rightful owner: the common ground of the security tests (the
// access-control matrix, the hostile-input sweep). Each test makes its own platform (own run
// name, stores and consumer groups).
//
// A vendor world: a program with one tier; partners (legal name, tax id, web domain, ERP
// account), each with an ACTIVE enrollment and a deal registered by the partner's own user;
// concierges (the first in APAC when there are several, the others in EMEA, pricing 5, one
// e-mail at a time); an EMEA queue and a pricing workflow; a pricing task of one partner that
// routing reserved at once for an eligible worker; an EUR exchange rate at forecast.
//
// Seeding failures are gtest failures (EXPECT) of the calling test.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/auth/principal.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm::security {

namespace pv1 = ::prm::partner::v1;
namespace dv1 = ::prm::deal::v1;
namespace rv1 = ::prm::routing::v1;
namespace fv1 = ::prm::forecast::v1;

class SeededPlatform {
 public:
  static constexpr const char* kServices[] = {"partner-registry", "deal-registration",
                                              "concierge-routing", "forecast"};

  // One vendor's objects, created by their owners.
  struct VendorWorld {
    std::string vendor, program, queue, workflow;
    struct PartnerWorld {
      std::string id, legal_name, tax_id, domain, account, deal, deal_title, customer, amount,
          task, task_title, reservation;
    };
    std::map<std::string, PartnerWorld> partners;  // by letter
    struct WorkerWorld {
      std::string id, name, email;
    };
    std::map<std::string, WorkerWorld> workers;  // by label
  };

  // Each binary with its gRPC service, as the protos describe it.
  static std::vector<std::pair<std::string, const google::protobuf::ServiceDescriptor*>>
  ServiceDescriptors() {
    return {
        {"partner-registry", pv1::CreatePartnerRequest::descriptor()->file()->FindServiceByName(
                                 "PartnerRegistry")},
        {"deal-registration",
         dv1::CreateDealRequest::descriptor()->file()->FindServiceByName("DealRegistration")},
        {"concierge-routing",
         rv1::CreateTaskRequest::descriptor()->file()->FindServiceByName("ConciergeRouting")},
        {"forecast", fv1::GetForecastRequest::descriptor()->file()->FindServiceByName("Forecast")},
    };
  }

  SeededPlatform() = default;
  SeededPlatform(const SeededPlatform&) = delete;
  SeededPlatform& operator=(const SeededPlatform&) = delete;
  ~SeededPlatform() { Stop(); }

  void Start(const std::string& prefix) {
    run_ = testing::UniqueName(prefix);
    root_ = absl::StrCat("/tmp/", run_);
    for (const char* service : kServices) {
      processes_[service] = std::make_unique<testing::ServiceProcess>(
          service, absl::StrCat(root_, "/", service), absl::StrCat(run_, "-", service));
      processes_[service]->Start();
    }
    for (const char* service : kServices) {
      EXPECT_TRUE(testing::WaitForHealth(processes_[service]->address(),
                                         grpc::health::v1::HealthCheckResponse::SERVING,
                                         absl::Seconds(60)))
          << service << " did not become SERVING";
    }
    partners_ = pv1::PartnerRegistry::NewStub(processes_["partner-registry"]->channel());
    deals_ = dv1::DealRegistration::NewStub(processes_["deal-registration"]->channel());
    routing_ = rv1::ConciergeRouting::NewStub(processes_["concierge-routing"]->channel());
    forecast_ = fv1::Forecast::NewStub(processes_["forecast"]->channel());
  }

  void Stop() {
    for (auto& [name, process] : processes_) process->Terminate();
    processes_.clear();
  }

  template <typename Stub, typename Req, typename Resp>
  Resp Must(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Stub& stub,
            const std::string& token, const Req& request, const char* what) {
    Resp response;
    auto ctx = testing::Context(token);
    const grpc::Status status = (stub.*method)(ctx.get(), request, &response);
    EXPECT_TRUE(status.ok()) << "seeding " << what << ": " << status.error_code() << " "
                             << status.error_message();
    return response;
  }

  std::string Admin(const std::string& vendor) {
    return testing::Token({.subject = "admin-" + vendor, .role = auth::Role::kVendorAdmin,
                  .vendor_ids = {vendor}});
  }
  std::string Manager(const std::string& vendor) {
    return testing::Token({.subject = "manager-" + vendor, .role = auth::Role::kChannelManager,
                  .vendor_ids = {vendor}});
  }
  std::string PartnerUser(const std::string& vendor, const std::string& partner) {
    return testing::Token({.subject = "user-" + partner, .role = auth::Role::kPartnerUser,
                  .vendor_ids = {vendor}, .partner_id = partner});
  }

  VendorWorld SeedVendor(const std::string& label, const std::vector<std::string>& partners,
                         const std::vector<std::string>& workers, const std::string& task_owner,
                         int64_t amount) {
    VendorWorld w;
    w.vendor = absl::StrCat(run_, "-", label);
    const std::string admin = Admin(w.vendor);

    pv1::CreateProgramRequest program;
    program.mutable_program()->set_vendor_id(w.vendor);
    program.mutable_program()->set_display_name(absl::StrCat("Program ", label, " ", run_));
    auto* tier = program.mutable_program()->add_tiers();
    tier->set_tier_id("registered");
    tier->set_display_name("registered");
    tier->mutable_benefits()->set_deal_protection_days(90);
    tier->mutable_benefits()->set_routing_priority(10);
    w.program = Must(&pv1::PartnerRegistry::Stub::CreateProgram, *partners_, admin, program,
                     "CreateProgram")
                    .program()
                    .program_id();

    for (const std::string& letter : partners) {
      VendorWorld::PartnerWorld p;
      p.legal_name = absl::StrCat(letter, "-secret-corp-", run_);
      p.tax_id = absl::StrCat("TX", letter, absl::ToUnixMicros(absl::Now()) % 100000000);
      p.domain = absl::StrCat(letter, "-", run_, ".example");
      p.account = absl::StrCat(letter, "-acct-", run_);
      pv1::CreatePartnerRequest create;
      create.set_vendor_id(w.vendor);
      pv1::Partner* partner = create.mutable_partner();
      partner->set_legal_name(p.legal_name);
      partner->set_tax_id(p.tax_id);
      partner->add_web_domains(p.domain);
      partner->set_hq_country_code("US");
      partner->add_types(common::v1::PARTNER_TYPE_RESELLER);
      auto* ext = partner->add_external_ids();
      ext->set_vendor_id(w.vendor);
      ext->set_erp_system_id("erp-" + run_);
      ext->set_account_id(p.account);
      p.id = Must(&pv1::PartnerRegistry::Stub::CreatePartner, *partners_, admin, create,
                  "CreatePartner")
                 .partner()
                 .partner_id();

      pv1::CreateEnrollmentRequest enroll;
      enroll.mutable_enrollment()->set_vendor_id(w.vendor);
      enroll.mutable_enrollment()->set_partner_id(p.id);
      enroll.mutable_enrollment()->set_program_id(w.program);
      Must(&pv1::PartnerRegistry::Stub::CreateEnrollment, *partners_, admin, enroll,
           "CreateEnrollment");
      pv1::StartEnrollmentOnboardingRequest onboard;
      onboard.set_vendor_id(w.vendor);
      onboard.set_partner_id(p.id);
      Must(&pv1::PartnerRegistry::Stub::StartEnrollmentOnboarding, *partners_,
           Manager(w.vendor), onboard, "StartEnrollmentOnboarding");
      pv1::ActivateEnrollmentRequest activate;
      activate.set_vendor_id(w.vendor);
      activate.set_partner_id(p.id);
      Must(&pv1::PartnerRegistry::Stub::ActivateEnrollment, *partners_, Manager(w.vendor),
           activate, "ActivateEnrollment");

      // A deal registered by the partner's own user.
      p.deal_title = absl::StrCat(letter, "-secret-deal-", run_);
      p.customer = absl::StrCat(letter, "-secret-customer-", run_);
      p.amount = absl::StrCat(amount);
      dv1::CreateDealRequest deal;
      dv1::Deal* d = deal.mutable_deal();
      d->set_vendor_id(w.vendor);
      d->set_partner_id(p.id);
      d->set_title(p.deal_title);
      d->mutable_end_customer()->set_legal_name(p.customer);
      d->mutable_end_customer()->set_country_code("US");
      auto* line = d->add_products();
      line->set_sku("SKU-1");
      line->set_product_category("security");
      line->set_quantity(1);
      line->mutable_amount()->set_currency_code("USD");
      line->mutable_amount()->set_units(amount);
      d->mutable_value()->set_currency_code("USD");
      d->mutable_value()->set_units(amount);
      const absl::CivilDay close =
          absl::ToCivilDay(absl::Now() + absl::Hours(24 * 60), absl::UTCTimeZone());
      d->mutable_expected_close_date()->set_year(static_cast<int32_t>(close.year()));
      d->mutable_expected_close_date()->set_month(close.month());
      d->mutable_expected_close_date()->set_day(close.day());
      p.deal = Must(&dv1::DealRegistration::Stub::CreateDeal, *deals_,
                    PartnerUser(w.vendor, p.id), deal, "CreateDeal")
                   .deal()
                   .deal_id();
      w.partners[letter] = p;
    }

    // Workers: the first in APAC (never eligible), the others in EMEA.
    for (size_t i = 0; i < workers.size(); ++i) {
      VendorWorld::WorkerWorld ww;
      ww.name = absl::StrCat(workers[i], "-secret-worker-", run_);
      ww.email = absl::StrCat(workers[i], "-", run_, "@vendor.example");
      rv1::CreateWorkerRequest r;
      rv1::Worker* worker = r.mutable_worker();
      worker->set_vendor_id(w.vendor);
      worker->set_display_name(ww.name);
      worker->set_role(rv1::WORKER_ROLE_CONCIERGE);
      worker->set_activity_id("available");
      worker->set_email(ww.email);
      worker->add_regions(i == 0 && workers.size() > 1 ? "APAC" : "EMEA");
      rv1::Skill* s = worker->add_skills();
      s->set_skill("pricing");
      s->set_level(5);
      rv1::ChannelCapacity* c = worker->add_capacities();
      c->set_channel(rv1::CHANNEL_EMAIL);
      c->set_capacity(1);
      ww.id = Must(&rv1::ConciergeRouting::Stub::CreateWorker, *routing_, admin, r,
                   "CreateWorker")
                  .worker()
                  .worker_id();
      w.workers[workers[i]] = ww;
    }
    rv1::CreateQueueRequest queue;
    queue.mutable_queue()->set_vendor_id(w.vendor);
    queue.mutable_queue()->set_display_name("EMEA pricing");
    queue.mutable_queue()->set_target_workers("worker.regions HAS 'EMEA'");
    w.queue = Must(&rv1::ConciergeRouting::Stub::CreateQueue, *routing_, admin, queue,
                   "CreateQueue")
                  .queue()
                  .queue_id();
    rv1::CreateWorkflowRequest workflow;
    rv1::Workflow* wf = workflow.mutable_workflow();
    wf->set_vendor_id(w.vendor);
    wf->set_display_name("pricing");
    wf->set_task_filter("task.category == 'pricing'");
    rv1::WorkflowStep* step = wf->add_steps();
    step->set_step_id("pricing-pool");
    step->set_queue_id(w.queue);
    step->set_target("worker.skills.pricing >= 3");
    wf->mutable_reservation_timeout()->set_seconds(3600);
    w.workflow = Must(&rv1::ConciergeRouting::Stub::CreateWorkflow, *routing_, admin, workflow,
                      "CreateWorkflow")
                     .workflow()
                     .workflow_id();

    // The task owner's request, reserved at once for the eligible worker.
    VendorWorld::PartnerWorld& owner = w.partners[task_owner];
    owner.task_title = absl::StrCat(task_owner, "-secret-task-", run_);
    rv1::CreateTaskRequest task;
    rv1::Task* t = task.mutable_task();
    t->set_vendor_id(w.vendor);
    t->set_partner_id(owner.id);
    t->set_channel(rv1::CHANNEL_EMAIL);
    t->set_category(rv1::TASK_CATEGORY_PRICING);
    t->set_region("EMEA");
    t->set_title(owner.task_title);
    t->set_workflow_id(w.workflow);
    const rv1::Task created =
        Must(&rv1::ConciergeRouting::Stub::CreateTask, *routing_, admin, task, "CreateTask")
            .task();
    owner.task = created.task_id();
    owner.reservation = created.reservation_id();
    EXPECT_FALSE(owner.reservation.empty()) << "the task was not reserved for a worker";

    // Forecast: a vendor-specific exchange rate.
    fv1::SetExchangeRatesRequest rates;
    rates.set_vendor_id(w.vendor);
    fv1::ExchangeRate* rate = rates.add_rates();
    rate->set_vendor_id(w.vendor);
    rate->set_currency_code("EUR");
    rate->mutable_effective_date()->set_year(2026);
    rate->mutable_effective_date()->set_month(1);
    rate->mutable_effective_date()->set_day(1);
    rate->set_rate(rate_);
    Must(&fv1::Forecast::Stub::SetExchangeRates, *forecast_, admin, rates, "SetExchangeRates");
    return w;
  }

  const std::string& run() const { return run_; }
  const std::string& rate() const { return rate_; }
  testing::ServiceProcess& process(const std::string& service) { return *processes_.at(service); }

  std::string run_;
  std::string root_;
  const std::string rate_ = "1.23456789";
  std::map<std::string, std::unique_ptr<testing::ServiceProcess>> processes_;
  std::unique_ptr<pv1::PartnerRegistry::Stub> partners_;
  std::unique_ptr<dv1::DealRegistration::Stub> deals_;
  std::unique_ptr<rv1::ConciergeRouting::Stub> routing_;
  std::unique_ptr<fv1::Forecast::Stub> forecast_;
};

}  // namespace prm::security
