// partner-registry through its real gRPC handlers on an in-process server (127.0.0.1:0, a real
// channel), with its real SQLite command log and outbox and a fake clock. Consumed events go
// through ServiceParts::ApplyEvent inside the runtime's exactly-once transaction, as the
// consumer does; published events are read back from the outbox.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/outbox_relay.h"
#include "common/kafka/producer.h"
#include "common/runtime/test_runtime.h"
#include "common/storage/outbox.h"
#include "common/storage/processed_events.h"
#include "common/testing/status_matchers.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "prometheus/registry.h"
#include "spdlog/spdlog.h"
#include "services/partner-registry/adapters/service.h"

namespace prm::partner {
namespace {

namespace pb = ::prm::partner::v1;
using ::prm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kDay = absl::Hours(24);

using runtime::TestRuntime;

std::string Tok(const std::string& role, const std::string& vendors = "",
                const std::string& partner = "") {
  return absl::StrCat(role, ":", vendors, ":", partner);
}
const std::string kAcme = Tok("channel_manager", "acme");
const std::string kGlobex = Tok("channel_manager", "globex");
const std::string kService = Tok("service");

struct Published {
  std::string type;
  std::string key;
  events::CloudEvent event;
};

class PartnerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::critical);  // the unreachable test broker's complaints
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("partner-service-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Start();
  }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    auto created = TestRuntime::Create("partner-registry", dir_.string(), clock_, {StoreSchema()});
    ASSERT_OK(created.status());
    runtime_ = std::move(*created);
    auto parts = BuildPartnerRegistry(*runtime_, {.tick_interval = absl::ZeroDuration()});
    ASSERT_OK(parts.status());
    parts_ = std::move(*parts);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& [service, name] : parts_->GrpcServices()) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::PartnerRegistry::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void Stop() {
    if (server_) server_->Shutdown();
    server_.reset();
    parts_.reset();
    runtime_.reset();
  }
  void Restart() {
    Stop();
    Start();
  }

  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (pb::PartnerRegistry::Stub::*method)(grpc::ClientContext*,
                                                                        const Req&, Resp*),
                    const std::string& token, const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return FromGrpcStatus(((*stub_).*method)(&ctx, request, response));
  }

  // Every event in the outbox so far, oldest first.
  std::vector<Published> Outbox() {
    auto pending = outbox::Pending(runtime_->db(), 100000);
    EXPECT_OK(pending.status());
    std::vector<Published> out;
    for (const outbox::PendingRecord& r : *pending) {
      auto event = events::Decode(r.record);
      EXPECT_OK(event.status());
      out.push_back({event->type, r.record.key, *event});
    }
    return out;
  }
  std::vector<Published> OutboxOfType(std::string_view type) {
    std::vector<Published> out;
    for (Published& p : Outbox()) {
      if (p.type == type) out.push_back(std::move(p));
    }
    return out;
  }

  // As the runtime's consumer: dedupe on source+id, then ApplyEvent in the same transaction.
  absl::Status Consume(const google::protobuf::Message& payload, const std::string& type,
                       const std::string& source, const std::string& id) {
    events::CloudEvent event = events::MakeEvent(payload, type, source, id, clock_.Now(), "k");
    auto decoded = runtime::DecodeEventPayload(event);
    if (!decoded.ok()) return decoded.status();
    return processed_events::ApplyOnce(runtime_->db(), source, id, clock_.Now(),
                                       [&](sqlite::Transaction& tx) {
                                         return parts_->ApplyEvent(event, **decoded, tx);
                                       });
  }

  absl::Status Sale(const std::string& vendor, const std::string& account,
                    const std::string& document, int64_t units,
                    sales::v1::SaleKind kind = sales::v1::SALE_KIND_SELL_IN,
                    const std::string& currency = "EUR", const std::string& category = "hw") {
    sales::v1::SaleRecorded s;
    s.set_vendor_id(vendor);
    s.set_erp_system_id("sap");
    s.set_partner_external_id(account);
    s.set_erp_document_id(document);
    s.set_kind(kind);
    s.set_currency_code(currency);
    auto* line = s.add_lines();
    line->set_sku("sku-1");
    line->set_product_category(category);
    line->set_quantity(1);
    line->mutable_amount()->set_currency_code(currency);
    line->mutable_amount()->set_units(units);
    s.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() - absl::Hours(1)));
    return Consume(s, "prm.sales.SaleRecorded.v1", "erp/sap", absl::StrCat("ev-", document));
  }

  pb::Partner NewPartner(const std::string& name, const std::string& tax_id,
                         const std::string& domain) {
    pb::Partner p;
    p.set_legal_name(name);
    p.set_tax_id(tax_id);
    if (!domain.empty()) p.add_web_domains(domain);
    p.set_hq_country_code("DE");
    p.add_types(common::v1::PARTNER_TYPE_RESELLER);
    p.add_country_codes("DE");
    p.add_sales_regions("DACH");
    p.add_verticals("healthcare");
    return p;
  }

  pb::Partner CreatePartner(const std::string& token, const std::string& vendor,
                            const pb::Partner& partner) {
    pb::CreatePartnerRequest req;
    *req.mutable_partner() = partner;
    req.set_vendor_id(vendor);
    pb::CreatePartnerResponse resp;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, token, req, &resp));
    return resp.partner();
  }

  // A program of `vendor`: registered (no requirements) < silver (EUR `silver` trailing revenue,
  // 1000 by default) < gold (EUR 5000 and the "cloud" competency); a 30-day downgrade grace.
  pb::Program CreateProgram(const std::string& token, const std::string& vendor,
                            int64_t silver = 1000) {
    pb::CreateProgramRequest req;
    pb::Program* p = req.mutable_program();
    p->set_vendor_id(vendor);
    p->set_display_name("Partner program");
    auto* c = p->add_competencies();
    c->set_competency_id("cloud");
    c->set_display_name("Cloud");
    c->set_max_level(3);
    c->mutable_renewal_grace_period()->set_seconds(absl::ToInt64Seconds(10 * kDay));
    auto tier = [&](const char* id, int64_t revenue, bool cloud) {
      auto* t = p->add_tiers();
      t->set_tier_id(id);
      t->set_display_name(id);
      t->mutable_benefits()->set_deal_protection_days(90);
      if (revenue > 0) {
        t->mutable_requirements()->mutable_min_trailing_revenue()->set_currency_code("EUR");
        t->mutable_requirements()->mutable_min_trailing_revenue()->set_units(revenue);
      }
      if (cloud) t->mutable_requirements()->add_required_competencies()->set_competency_id("cloud");
    };
    tier("registered", 0, false);
    tier("silver", silver, false);
    tier("gold", 5000, true);
    p->mutable_downgrade_grace_period()->set_seconds(absl::ToInt64Seconds(30 * kDay));
    pb::CreateProgramResponse resp;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::CreateProgram, token, req, &resp));
    return resp.program();
  }

  pb::Enrollment Enroll(const std::string& token, const std::string& vendor,
                        const std::string& partner, const std::string& program) {
    pb::CreateEnrollmentRequest req;
    req.mutable_enrollment()->set_vendor_id(vendor);
    req.mutable_enrollment()->set_partner_id(partner);
    req.mutable_enrollment()->set_program_id(program);
    pb::CreateEnrollmentResponse resp;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::CreateEnrollment, token, req, &resp));
    return resp.enrollment();
  }

  void Activate(const std::string& token, const std::string& vendor, const std::string& partner) {
    pb::StartEnrollmentOnboardingRequest start;
    start.set_vendor_id(vendor);
    start.set_partner_id(partner);
    pb::StartEnrollmentOnboardingResponse r1;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::StartEnrollmentOnboarding, token, start, &r1));
    pb::ActivateEnrollmentRequest activate;
    activate.set_vendor_id(vendor);
    activate.set_partner_id(partner);
    pb::ActivateEnrollmentResponse r2;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::ActivateEnrollment, token, activate, &r2));
  }

  // A partner of acme with account "A-1" in acme's "sap", enrolled and ACTIVE.
  std::string ActiveAcmePartner(const std::string& name = "Acme Reseller GmbH",
                                const std::string& tax = "DE111", const std::string& domain = "reseller.de",
                                const std::string& account = "A-1") {
    pb::Partner p = NewPartner(name, tax, domain);
    auto* ext = p.add_external_ids();
    ext->set_vendor_id("acme");
    ext->set_erp_system_id("sap");
    ext->set_account_id(account);
    const std::string id = CreatePartner(kAcme, "acme", p).partner_id();
    if (program_.empty()) program_ = CreateProgram(kAcme, "acme").program_id();
    Enroll(kAcme, "acme", id, program_);
    Activate(kAcme, "acme", id);
    return id;
  }

  pb::Enrollment GetEnrollment(const std::string& token, const std::string& vendor,
                               const std::string& partner) {
    pb::GetEnrollmentRequest req;
    req.set_vendor_id(vendor);
    req.set_partner_id(partner);
    pb::GetEnrollmentResponse resp;
    EXPECT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, token, req, &resp));
    return resp.enrollment();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<PartnerRegistryParts> parts_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::PartnerRegistry::Stub> stub_;
  std::string program_;
};

// ---- partners ----------------------------------------------------------------------------

TEST_F(PartnerServiceTest, CreateThenGetPartnerWithEtagAndEvent) {
  pb::Partner created = CreatePartner(kAcme, "acme", NewPartner("Acme Reseller", "DE1", "www.Reseller.de"));
  EXPECT_FALSE(created.partner_id().empty());
  EXPECT_EQ(created.version(), 1);
  EXPECT_FALSE(created.etag().empty());
  EXPECT_THAT(created.web_domains(), ElementsAre("reseller.de"));
  EXPECT_TRUE(created.has_create_time());

  pb::GetPartnerRequest get;
  get.set_partner_id(created.partner_id());
  pb::GetPartnerResponse got;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kAcme, get, &got));
  EXPECT_EQ(got.partner().SerializeAsString(), created.SerializeAsString());

  std::vector<Published> events = OutboxOfType("prm.partner.PartnerCreated.v1");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].key, created.partner_id());
  EXPECT_EQ(events[0].event.source, "prm/partner-registry");
  pb::PartnerCreated payload;
  ASSERT_OK(events::UnpackPayload(events[0].event, &payload));
  EXPECT_EQ(payload.partner().partner_id(), created.partner_id());
  EXPECT_EQ(payload.creator_vendor_id(), "acme");
  EXPECT_EQ(payload.metadata().aggregate_version(), 1);
  EXPECT_EQ(payload.metadata().event_id(), events[0].event.id);
  EXPECT_EQ(payload.metadata().actor().role(), common::v1::ROLE_CHANNEL_MANAGER);
}

TEST_F(PartnerServiceTest, DuplicateTaxIdAndDomainAreAlreadyExistsNamingThePartner) {
  const std::string id = CreatePartner(kAcme, "acme", NewPartner("Acme", "LV-40003 123", "acme.com")).partner_id();
  pb::CreatePartnerRequest req;
  req.set_vendor_id("acme");
  *req.mutable_partner() = NewPartner("Other", "lv40003123", "");
  pb::CreatePartnerResponse resp;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(id)));
  *req.mutable_partner() = NewPartner("Other", "", "https://www.acme.com/about");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(id)));
  // A similar legal name alone is a warning.
  *req.mutable_partner() = NewPartner("ACME, Inc.", "", "acme-other.com");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &resp));
  ASSERT_THAT(resp.warnings(), SizeIs(1));
  EXPECT_EQ(resp.warnings(0).kind(), pb::PARTNER_WARNING_KIND_SIMILAR_NAME);
  EXPECT_EQ(resp.warnings(0).other_partner_id(), id);
  // Staff of another vendor are not told which partner it is.
  *req.mutable_partner() = NewPartner("Acme Ltd", "", "acme-third.com");
  req.set_vendor_id("globex");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, kGlobex, req, &resp));
  ASSERT_THAT(resp.warnings(), SizeIs(2));
  for (const auto& w : resp.warnings()) {
    EXPECT_EQ(w.other_partner_id(), "");
    EXPECT_THAT(w.message(), ::testing::Not(HasSubstr("Acme")));
  }
}

TEST_F(PartnerServiceTest, InvalidPartnerNamesEveryBadFieldUnderPartner) {
  pb::CreatePartnerRequest req;
  req.set_vendor_id("acme");
  pb::Partner* p = req.mutable_partner();
  p->set_hq_country_code("XX");
  p->add_web_domains("not a domain");
  pb::CreatePartnerResponse resp;
  absl::Status s = Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &resp);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  std::set<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(s)) fields.insert(v.field);
  EXPECT_TRUE(fields.contains("partner.legal_name"));
  EXPECT_TRUE(fields.contains("partner.hq_country_code"));
  EXPECT_TRUE(fields.contains("partner.web_domains[0]"));
  EXPECT_TRUE(fields.contains("partner.types"));
}

TEST_F(PartnerServiceTest, UpdatePartnerFollowsTheMaskAndTheEtag) {
  pb::Partner created = CreatePartner(kAcme, "acme", NewPartner("Acme", "DE1", "acme.de"));
  pb::UpdatePartnerRequest req;
  req.mutable_partner()->set_partner_id(created.partner_id());
  req.mutable_partner()->set_display_name("ACME Channel");
  req.mutable_partner()->set_legal_name("ignored: not in the mask");
  req.mutable_partner()->set_etag(created.etag());
  req.mutable_update_mask()->add_paths("display_name");
  pb::UpdatePartnerResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp));
  EXPECT_EQ(resp.partner().display_name(), "ACME Channel");
  EXPECT_EQ(resp.partner().legal_name(), "Acme");
  EXPECT_EQ(resp.partner().version(), 2);
  EXPECT_NE(resp.partner().etag(), created.etag());

  // The old etag is stale now.
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kAborted));
  // Output-only and unknown paths, and an empty mask.
  req.mutable_partner()->clear_etag();
  req.mutable_update_mask()->set_paths(0, "create_time");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output only")));
  req.mutable_update_mask()->set_paths(0, "no_such_field");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument));
  req.clear_update_mask();
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("update_mask")));

  std::vector<Published> updated = OutboxOfType("prm.partner.PartnerUpdated.v1");
  ASSERT_THAT(updated, SizeIs(1));
  pb::PartnerUpdated payload;
  ASSERT_OK(events::UnpackPayload(updated[0].event, &payload));
  EXPECT_THAT(payload.changed_paths(), ElementsAre("display_name"));
  EXPECT_EQ(payload.metadata().aggregate_version(), 2);
}

TEST_F(PartnerServiceTest, VendorStaffReplaceOnlyTheirOwnExternalIds) {
  pb::Partner p = NewPartner("Acme", "DE1", "acme.de");
  for (const char* vendor : {"acme", "globex"}) {
    auto* e = p.add_external_ids();
    e->set_vendor_id(vendor);
    e->set_erp_system_id("sap");
    e->set_account_id(absl::StrCat(vendor, "-1"));
  }
  const std::string id = CreatePartner(kService, "", p).partner_id();
  const std::string program = CreateProgram(kAcme, "acme").program_id();
  Enroll(kAcme, "acme", id, program);

  pb::GetPartnerRequest get;
  get.set_partner_id(id);
  pb::GetPartnerResponse got;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kAcme, get, &got));
  ASSERT_THAT(got.partner().external_ids(), SizeIs(1));
  EXPECT_EQ(got.partner().external_ids(0).vendor_id(), "acme");

  pb::UpdatePartnerRequest req;
  req.mutable_partner()->set_partner_id(id);
  auto* e = req.mutable_partner()->add_external_ids();
  e->set_vendor_id("acme");
  e->set_erp_system_id("sap");
  e->set_account_id("acme-2");
  req.mutable_update_mask()->add_paths("external_ids");
  pb::UpdatePartnerResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kService, get, &got));
  std::set<std::string> accounts;
  for (const auto& x : got.partner().external_ids()) accounts.insert(x.account_id());
  EXPECT_EQ(accounts, (std::set<std::string>{"acme-2", "globex-1"}));

  // Writing another vendor's entry is denied.
  e->set_vendor_id("globex");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(PartnerServiceTest, ListPartnersPagesFiltersAndOrders) {
  for (int i = 0; i < 5; ++i) {
    pb::Partner p = NewPartner(absl::StrCat("Partner ", i), absl::StrCat("T", i),
                               absl::StrCat("p", i, ".com"));
    if (i % 2 == 1) p.set_hq_country_code("LV");
    CreatePartner(kAcme, "acme", p);
    clock_.Advance(absl::Seconds(1));
  }
  CreatePartner(kGlobex, "globex", NewPartner("Globex partner", "G1", "g.com"));

  pb::ListPartnersRequest req;
  req.set_vendor_id("acme");
  req.set_page_size(2);
  std::vector<std::string> names;
  for (int page = 0; page < 10; ++page) {
    pb::ListPartnersResponse resp;
    ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp));
    for (const auto& p : resp.partners()) names.push_back(p.legal_name());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_THAT(names, ElementsAre("Partner 0", "Partner 1", "Partner 2", "Partner 3", "Partner 4"));

  // A token is bound to the other parameters.
  req.set_page_token("");
  pb::ListPartnersResponse first;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &first));
  req.set_page_token(first.next_page_token());
  req.set_filter("hq_country_code = \"LV\"");
  pb::ListPartnersResponse resp;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  req.set_page_token("garbage!");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));

  req.set_page_token("");
  req.set_page_size(0);
  req.set_order_by("display_name desc");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp));
  names.clear();
  for (const auto& p : resp.partners()) names.push_back(p.legal_name());
  EXPECT_THAT(names, ElementsAre("Partner 3", "Partner 1"));

  req.set_filter("types = PARTNER_TYPE_RESELLER AND (hq_country_code = \"DE\" OR legal_name = \"Partner 1\")");
  req.set_order_by("");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp));
  EXPECT_THAT(resp.partners(), SizeIs(4));

  req.set_filter("no_such_field = 1");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("filter")));
  req.set_filter("");
  req.set_page_size(-1);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  req.set_page_size(0);
  req.set_order_by("tax_id");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("order_by")));
  // Another vendor's staff: denied for acme, their own list for globex.
  req.set_order_by("");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListPartners, kGlobex, req, &resp),
              StatusIs(absl::StatusCode::kPermissionDenied));
  req.set_vendor_id("globex");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPartners, kGlobex, req, &resp));
  ASSERT_THAT(resp.partners(), SizeIs(1));
  EXPECT_EQ(resp.partners(0).legal_name(), "Globex partner");
}

TEST_F(PartnerServiceTest, LookupPartnerByTaxIdDomainAndExternalId) {
  pb::Partner p = NewPartner("Acme", "DE 123", "acme.com");
  auto* e = p.add_external_ids();
  e->set_vendor_id("acme");
  e->set_erp_system_id("sap");
  e->set_account_id("A-9");
  const std::string id = CreatePartner(kAcme, "acme", p).partner_id();
  pb::LookupPartnerRequest req;
  req.set_vendor_id("acme");
  pb::LookupPartnerResponse resp;
  req.set_web_domain("shop.acme.com");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::LookupPartner, kAcme, req, &resp));
  EXPECT_EQ(resp.partner().partner_id(), id);
  req.set_tax_id("de123");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::LookupPartner, kAcme, req, &resp));
  EXPECT_EQ(resp.partner().partner_id(), id);
  *req.mutable_external_id() = *e;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::LookupPartner, kAcme, req, &resp));
  EXPECT_EQ(resp.partner().partner_id(), id);
  req.set_tax_id("nope");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::LookupPartner, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kNotFound));
  // Another vendor finds the shared identity by its domain, without acme's external ids.
  req.set_vendor_id("globex");
  req.set_web_domain("acme.com");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::LookupPartner, kGlobex, req, &resp));
  EXPECT_EQ(resp.partner().partner_id(), id);
  EXPECT_THAT(resp.partner().external_ids(), IsEmpty());
  *req.mutable_external_id() = *e;
  req.set_vendor_id("globex");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::LookupPartner, kGlobex, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument));
  req.set_vendor_id("acme");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::LookupPartner, kGlobex, req, &resp),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(PartnerServiceTest, DeletePartnerInUseUntilTerminated) {
  const std::string id = ActiveAcmePartner();
  pb::DeletePartnerRequest del;
  del.set_partner_id(id);
  pb::DeletePartnerResponse resp;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::DeletePartner, kAcme, del, &resp),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  pb::TerminateEnrollmentRequest term;
  term.set_vendor_id("acme");
  term.set_partner_id(id);
  pb::TerminateEnrollmentResponse t;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::TerminateEnrollment, kAcme, term, &t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reason")));
  term.set_reason("contract ended");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::TerminateEnrollment, kAcme, term, &t));
  del.set_etag("stale");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::DeletePartner, kAcme, del, &resp),
              StatusIs(absl::StatusCode::kAborted));
  del.clear_etag();
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::DeletePartner, kAcme, del, &resp));
  pb::GetPartnerRequest get;
  get.set_partner_id(id);
  pb::GetPartnerResponse got;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetPartner, kAcme, get, &got),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(OutboxOfType("prm.partner.PartnerDeleted.v1"), SizeIs(1));
}

TEST_F(PartnerServiceTest, RequestIdReplayReturnsTheFirstResultAndEmitsOneEvent) {
  pb::CreatePartnerRequest req;
  req.set_vendor_id("acme");
  *req.mutable_partner() = NewPartner("Acme", "DE1", "acme.de");
  req.set_request_id("create-acme-1");
  pb::CreatePartnerResponse first, second;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &first));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &second));
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  EXPECT_THAT(OutboxOfType("prm.partner.PartnerCreated.v1"), SizeIs(1));
  // The same id with a different request.
  req.mutable_partner()->set_legal_name("Other");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &second),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
  req.set_request_id("bad id!");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::CreatePartner, kAcme, req, &second),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
}

// ---- access ------------------------------------------------------------------------------

TEST_F(PartnerServiceTest, DenialsLeakNothing) {
  const std::string a = ActiveAcmePartner();
  const std::string b = ActiveAcmePartner("Other Reseller", "DE222", "other.de", "A-2");
  const std::string user_a = Tok("partner_user", "acme", a);
  pb::GetPartnerRequest get;
  pb::GetPartnerResponse got;
  get.set_partner_id(b);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetPartner, user_a, get, &got),
              StatusIs(absl::StatusCode::kPermissionDenied));
  get.set_partner_id("no-such-partner");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetPartner, user_a, get, &got),
              StatusIs(absl::StatusCode::kPermissionDenied));
  get.set_partner_id(a);
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, user_a, get, &got));
  // Globex staff: acme's partner does not exist in their namespace; acme's enrollments are denied.
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetPartner, kGlobex, get, &got),
              StatusIs(absl::StatusCode::kNotFound));
  pb::GetEnrollmentRequest ge;
  ge.set_vendor_id("acme");
  ge.set_partner_id(a);
  pb::GetEnrollmentResponse enrollment;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kGlobex, ge, &enrollment),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(enrollment.has_enrollment());
  ge.set_partner_id(b);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetEnrollment, user_a, ge, &enrollment),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ge.set_partner_id(a);
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, user_a, ge, &enrollment));
  // Partner users manage nothing; they may only opt out of leads.
  pb::SuspendEnrollmentRequest suspend;
  suspend.set_vendor_id("acme");
  suspend.set_partner_id(a);
  suspend.set_reason("self");
  pb::SuspendEnrollmentResponse s;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::SuspendEnrollment, user_a, suspend, &s),
              StatusIs(absl::StatusCode::kPermissionDenied));
  pb::UpdateEnrollmentRequest update;
  update.mutable_enrollment()->set_vendor_id("acme");
  update.mutable_enrollment()->set_partner_id(a);
  update.mutable_enrollment()->set_lead_opt_out(true);
  update.mutable_update_mask()->add_paths("lead_opt_out");
  pb::UpdateEnrollmentResponse u;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, user_a, update, &u));
  EXPECT_TRUE(u.enrollment().lead_opt_out());
  update.mutable_update_mask()->add_paths("points");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, user_a, update, &u),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // FindPartners is for staff and services.
  pb::FindPartnersRequest find;
  find.set_vendor_id("acme");
  find.add_leads();
  pb::FindPartnersResponse f;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::FindPartners, user_a, find, &f),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::FindPartners, kGlobex, find, &f),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Programs are managed by their vendor's staff only.
  pb::GetProgramRequest gp;
  gp.set_vendor_id("acme");
  gp.set_program_id(program_);
  pb::GetProgramResponse program;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetProgram, kGlobex, gp, &program),
              StatusIs(absl::StatusCode::kPermissionDenied));
  grpc::ClientContext no_token;
  EXPECT_EQ(stub_->GetProgram(&no_token, gp, &program).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PartnerServiceTest, TwoVendorsHoldDifferentTiersAndNeverSeeEachOther) {
  pb::Partner p = NewPartner("Shared", "DE9", "shared.de");
  for (const char* vendor : {"acme", "globex"}) {
    auto* e = p.add_external_ids();
    e->set_vendor_id(vendor);
    e->set_erp_system_id("sap");
    e->set_account_id("S-1");
  }
  const std::string id = CreatePartner(kService, "", p).partner_id();
  const std::string acme_program = CreateProgram(kAcme, "acme").program_id();
  const std::string globex_program = CreateProgram(kGlobex, "globex").program_id();
  Enroll(kAcme, "acme", id, acme_program);
  Enroll(kGlobex, "globex", id, globex_program);
  Activate(kAcme, "acme", id);
  Activate(kGlobex, "globex", id);
  ASSERT_OK(Sale("acme", "S-1", "doc-1", 2000));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "silver");
  EXPECT_EQ(GetEnrollment(kGlobex, "globex", id).tier_id(), "registered");

  pb::ListEnrollmentsRequest list;
  list.set_partner_id(id);
  list.set_vendor_id("globex");
  pb::ListEnrollmentsResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListEnrollments, kGlobex, list, &resp));
  ASSERT_THAT(resp.enrollments(), SizeIs(1));
  EXPECT_EQ(resp.enrollments(0).vendor_id(), "globex");
  EXPECT_EQ(resp.enrollments(0).metrics().trailing_revenue().units(), 0);
  // A partner user of both vendors sees both; one of acme only sees acme's.
  list.clear_vendor_id();
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListEnrollments, Tok("partner_user", "acme,globex", id),
                 list, &resp));
  EXPECT_THAT(resp.enrollments(), SizeIs(2));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListEnrollments, Tok("partner_user", "acme", id), list,
                 &resp));
  ASSERT_THAT(resp.enrollments(), SizeIs(1));
  EXPECT_EQ(resp.enrollments(0).tier_id(), "silver");

  // A competency granted at globex: acme's enrollment never shows it, and globex staff never
  // read acme's enrollment (tier, competencies, figures) in any way.
  pb::GrantCompetencyRequest grant;
  grant.set_vendor_id("globex");
  grant.set_partner_id(id);
  grant.mutable_competency()->set_competency_id("cloud");
  grant.mutable_competency()->mutable_expire_time()->set_seconds(
      absl::ToUnixSeconds(clock_.Now() + 60 * kDay));
  pb::GrantCompetencyResponse granted;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GrantCompetency, kGlobex, grant, &granted));
  EXPECT_THAT(granted.enrollment().competencies(), SizeIs(1));
  const pb::Enrollment at_acme = GetEnrollment(kAcme, "acme", id);
  EXPECT_THAT(at_acme.competencies(), IsEmpty());
  EXPECT_EQ(at_acme.metrics().trailing_revenue().units(), 2000);
  pb::GetEnrollmentRequest other;
  other.set_vendor_id("acme");
  other.set_partner_id(id);
  pb::GetEnrollmentResponse denied;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kGlobex, other, &denied),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(denied.has_enrollment());
  list.set_vendor_id("acme");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ListEnrollments, kGlobex, list, &resp),
              StatusIs(absl::StatusCode::kPermissionDenied));
  list.set_vendor_id("globex");
  list.set_filter("tier_id = \"silver\"");
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListEnrollments, kGlobex, list, &resp));
  EXPECT_THAT(resp.enrollments(), IsEmpty());
  pb::GetPartnerRequest gp;
  gp.set_partner_id(id);
  pb::GetPartnerResponse partner;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kGlobex, gp, &partner));
  ASSERT_THAT(partner.partner().external_ids(), SizeIs(1));
  EXPECT_EQ(partner.partner().external_ids(0).vendor_id(), "globex");
}

// ---- programs, enrollments, tiers -------------------------------------------------------

TEST_F(PartnerServiceTest, EnrollmentLifecycleEmitsOneEventPerTransitionWithRisingVersions) {
  const std::string id = CreatePartner(kAcme, "acme", NewPartner("Acme", "DE1", "acme.de")).partner_id();
  program_ = CreateProgram(kAcme, "acme").program_id();
  pb::Enrollment e = Enroll(kAcme, "acme", id, program_);
  EXPECT_EQ(e.state(), pb::ENROLLMENT_STATE_PROSPECT);
  EXPECT_EQ(e.tier_id(), "registered");
  pb::CreateEnrollmentRequest again;
  again.mutable_enrollment()->set_vendor_id("acme");
  again.mutable_enrollment()->set_partner_id(id);
  again.mutable_enrollment()->set_program_id(program_);
  pb::CreateEnrollmentResponse r;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::CreateEnrollment, kAcme, again, &r),
              StatusIs(absl::StatusCode::kAlreadyExists));

  pb::ActivateEnrollmentRequest activate;
  activate.set_vendor_id("acme");
  activate.set_partner_id(id);
  pb::ActivateEnrollmentResponse a;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ActivateEnrollment, kAcme, activate, &a),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("PROSPECT -> ACTIVE")));
  pb::StartEnrollmentOnboardingRequest start;
  start.set_vendor_id("acme");
  start.set_partner_id(id);
  start.set_etag("stale");
  pb::StartEnrollmentOnboardingResponse s;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::StartEnrollmentOnboarding, kAcme, start, &s),
              StatusIs(absl::StatusCode::kAborted));
  start.set_etag(GetEnrollment(kAcme, "acme", id).etag());
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::StartEnrollmentOnboarding, kAcme, start, &s));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ActivateEnrollment, kAcme, activate, &a));
  EXPECT_EQ(a.enrollment().state(), pb::ENROLLMENT_STATE_ACTIVE);
  pb::TerminateEnrollmentRequest term;
  term.set_vendor_id("acme");
  term.set_partner_id(id);
  term.set_reason("done");
  pb::TerminateEnrollmentResponse t;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::TerminateEnrollment, kAcme, term, &t));
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::ActivateEnrollment, kAcme, activate, &a),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  std::vector<std::pair<pb::EnrollmentState, int64_t>> transitions;
  int64_t last_version = 0;
  for (const Published& p : Outbox()) {
    if (p.type == "prm.partner.EnrollmentStateChanged.v1") {
      pb::EnrollmentStateChanged ev;
      ASSERT_OK(events::UnpackPayload(p.event, &ev));
      transitions.emplace_back(ev.to_state(), ev.metadata().aggregate_version());
      EXPECT_EQ(p.key, id);
      EXPECT_EQ(ev.enrollment().partner_id(), id);
    }
    if (p.key == id && p.type != "prm.partner.PartnerCreated.v1") {
      pb::PartnerDeleted header;  // {metadata = 1, partner_id = 2} like every enrollment event
      ASSERT_OK(events::UnpackPayload(p.event, &header));
      EXPECT_GT(header.metadata().aggregate_version(), last_version) << p.type;
      last_version = header.metadata().aggregate_version();
    }
  }
  ASSERT_THAT(transitions, SizeIs(4));
  EXPECT_EQ(transitions[0].first, pb::ENROLLMENT_STATE_PROSPECT);
  EXPECT_EQ(transitions[1].first, pb::ENROLLMENT_STATE_ONBOARDING);
  EXPECT_EQ(transitions[2].first, pb::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(transitions[3].first, pb::ENROLLMENT_STATE_TERMINATED);
}

TEST_F(PartnerServiceTest, SalesUpgradeAtOnceAndDowngradeOnlyAfterGrace) {
  const std::string id = ActiveAcmePartner();
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 600));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "registered");
  ASSERT_OK(Sale("acme", "A-1", "inv-2", 600));
  pb::Enrollment e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.tier_id(), "silver");
  EXPECT_EQ(e.metrics().trailing_revenue().units(), 1200);
  std::vector<Published> changed = OutboxOfType("prm.partner.TierChanged.v1");
  ASSERT_FALSE(changed.empty());
  pb::TierChanged tc;
  ASSERT_OK(events::UnpackPayload(changed.back().event, &tc));
  EXPECT_EQ(tc.from_tier_id(), "registered");
  EXPECT_EQ(tc.to_tier_id(), "silver");
  EXPECT_EQ(tc.evaluation().trigger(), pb::EVALUATION_TRIGGER_SALES);
  bool revenue_passed = false;
  for (const auto& r : tc.evaluation().results()) {
    if (r.tier_id() == "silver" && r.kind() == pb::REQUIREMENT_KIND_TRAILING_REVENUE) {
      revenue_passed = r.passed();
      EXPECT_EQ(r.actual_amount().units(), 1200);
    }
  }
  EXPECT_TRUE(revenue_passed);
  EXPECT_EQ(tc.to_tier_benefits().deal_protection_days(), 90);

  // The same document again (a new CloudEvents id) has no effect.
  ASSERT_OK(Sale("acme", "A-1", "inv-2", 600));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 1200);

  // A return pushes revenue below silver: pending, not yet a downgrade.
  ASSERT_OK(Sale("acme", "A-1", "cn-1", 500, sales::v1::SALE_KIND_RETURN));
  e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.tier_id(), "silver");
  EXPECT_EQ(e.pending_downgrade().tier_id(), "registered");
  clock_.Advance(29 * kDay);
  ASSERT_OK(parts_->Tick());
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "silver");
  clock_.Advance(2 * kDay);
  ASSERT_OK(parts_->Tick());
  e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.tier_id(), "registered");
  ASSERT_OK(events::UnpackPayload(OutboxOfType("prm.partner.TierChanged.v1").back().event, &tc));
  EXPECT_EQ(tc.to_tier_id(), "registered");
  EXPECT_EQ(tc.evaluation().trigger(), pb::EVALUATION_TRIGGER_GRACE_ELAPSED);
  EXPECT_TRUE(tc.has_grace_start_time());

  // A sale in another currency never applies: the consumer sends it to the DLQ.
  EXPECT_THAT(Sale("acme", "A-1", "inv-usd", 10, sales::v1::SALE_KIND_SELL_IN, "USD"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A malformed record names its fields.
  sales::v1::SaleRecorded bad;
  EXPECT_THAT(Consume(bad, "prm.sales.SaleRecorded.v1", "erp/sap", "bad-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vendor_id")));
  // Sell-through needs its end customer (the record is otherwise valid).
  EXPECT_THAT(Sale("acme", "A-1", "st-1", 10, sales::v1::SALE_KIND_SELL_THROUGH),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("end_customer")));
}

// Issue 7: nanos outside 0..999999999 make no timestamp; such a sale was counted here while
// forecast dead-lettered it.
TEST_F(PartnerServiceTest, SaleWhoseTimeHasNanosOutOfRangeIsPoisonAndCountsNothing) {
  const std::string id = ActiveAcmePartner();
  sales::v1::SaleRecorded s;
  s.set_vendor_id("acme");
  s.set_erp_system_id("sap");
  s.set_partner_external_id("A-1");
  s.set_erp_document_id("inv-nanos");
  s.set_kind(sales::v1::SALE_KIND_SELL_IN);
  s.set_currency_code("EUR");
  auto* line = s.add_lines();
  line->set_sku("sku-1");
  line->set_product_category("hw");
  line->set_quantity(1);
  line->mutable_amount()->set_currency_code("EUR");
  line->mutable_amount()->set_units(700);
  s.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() - absl::Hours(1)));
  for (int32_t nanos : {-1, 1'000'000'000}) {
    s.mutable_sale_time()->set_nanos(nanos);
    EXPECT_THAT(Consume(s, "prm.sales.SaleRecorded.v1", "erp/sap", absl::StrCat("ev-n", nanos)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sale_time")));
  }
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 0);
  s.mutable_sale_time()->set_nanos(0);
  EXPECT_OK(Consume(s, "prm.sales.SaleRecorded.v1", "erp/sap", "ev-n-good"));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 700);
}

TEST_F(PartnerServiceTest, SaleOfAnUnknownAccountIsDeadLetteredAndAppliesWhenReplayedAfterMapping) {
  const std::string id = ActiveAcmePartner();
  // No partner has account LATE-1: the record is poison (NOT_FOUND → the DLQ), its reason names
  // the field, and nothing of it is kept.
  EXPECT_THAT(Sale("acme", "LATE-1", "inv-9", 3000),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("partner_external_id"), HasSubstr("LATE-1"))));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 0);
  pb::UpdatePartnerRequest req;
  req.mutable_partner()->set_partner_id(id);
  for (const char* account : {"A-1", "LATE-1"}) {
    auto* e = req.mutable_partner()->add_external_ids();
    e->set_vendor_id("acme");
    e->set_erp_system_id("sap");
    e->set_account_id(account);
  }
  req.mutable_update_mask()->add_paths("external_ids");
  pb::UpdatePartnerResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdatePartner, kAcme, req, &resp));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 0)
      << "a dead-lettered sale must not come back by itself";
  // The operator replays the record (same CloudEvent) once the account is mapped: it applies,
  // once.
  ASSERT_OK(Sale("acme", "LATE-1", "inv-9", 3000));
  ASSERT_OK(Sale("acme", "LATE-1", "inv-9", 3000));
  pb::Enrollment e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.tier_id(), "silver");
  EXPECT_EQ(e.metrics().trailing_revenue().units(), 3000);
  Restart();
  e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.tier_id(), "silver");
  EXPECT_EQ(e.metrics().trailing_revenue().units(), 3000);
}

TEST_F(PartnerServiceTest, SaleOfAKnownPartnerNotYetEnrolledAppliesOnEnrollment) {
  pb::Partner p = NewPartner("Early Bird SARL", "FR222", "earlybird.fr");
  auto* ext = p.add_external_ids();
  ext->set_vendor_id("acme");
  ext->set_erp_system_id("sap");
  ext->set_account_id("EB-1");
  const std::string id = CreatePartner(kAcme, "acme", p).partner_id();
  // The account is mapped but the partner has no enrollment at acme yet: the sale waits.
  ASSERT_OK(Sale("acme", "EB-1", "inv-eb", 3000));
  program_ = CreateProgram(kAcme, "acme").program_id();
  Enroll(kAcme, "acme", id, program_);
  Activate(kAcme, "acme", id);
  pb::Enrollment e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.metrics().trailing_revenue().units(), 3000);
  EXPECT_EQ(e.tier_id(), "silver");
  Restart();
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().trailing_revenue().units(), 3000);
}

TEST_F(PartnerServiceTest, CompetenciesDriveTierExpiryNoticeAndGrace) {
  const std::string id = ActiveAcmePartner();
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 6000));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "silver");
  pb::GrantCompetencyRequest grant;
  grant.set_vendor_id("acme");
  grant.set_partner_id(id);
  grant.mutable_competency()->set_competency_id("cloud");
  grant.mutable_competency()->set_level(2);
  grant.mutable_competency()->mutable_expire_time()->set_seconds(
      absl::ToUnixSeconds(clock_.Now() + 60 * kDay));
  pb::GrantCompetencyResponse granted;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GrantCompetency, kAcme, grant, &granted));
  EXPECT_EQ(granted.enrollment().tier_id(), "gold");
  EXPECT_EQ(granted.competency().state(), pb::COMPETENCY_STATE_ACTIVE);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GrantCompetency, kAcme, grant, &granted),
              StatusIs(absl::StatusCode::kAlreadyExists));
  grant.mutable_competency()->set_competency_id("unknown");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GrantCompetency, kAcme, grant, &granted),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // The notice comes once, 30 days (the default) before expiry.
  clock_.Advance(31 * kDay);
  ASSERT_OK(parts_->Tick());
  ASSERT_OK(parts_->Tick());
  EXPECT_THAT(OutboxOfType("prm.partner.CompetencyExpiring.v1"), SizeIs(1));
  // Expired but within its 10-day grace: still counts.
  clock_.Advance(35 * kDay);
  ASSERT_OK(parts_->Tick());
  pb::Enrollment e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.competencies(0).state(), pb::COMPETENCY_STATE_IN_GRACE);
  EXPECT_EQ(e.tier_id(), "gold");
  EXPECT_THAT(OutboxOfType("prm.partner.CompetencyExpired.v1"), IsEmpty());
  // After the grace it expires; the tier waits for its own downgrade grace.
  clock_.Advance(5 * kDay);
  ASSERT_OK(parts_->Tick());
  e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.competencies(0).state(), pb::COMPETENCY_STATE_EXPIRED);
  EXPECT_THAT(OutboxOfType("prm.partner.CompetencyExpired.v1"), SizeIs(1));
  EXPECT_EQ(e.tier_id(), "gold");
  EXPECT_EQ(e.pending_downgrade().tier_id(), "silver");

  // Renewing an expired competency is refused; revoking needs a reason.
  pb::RenewCompetencyRequest renew;
  renew.set_vendor_id("acme");
  renew.set_partner_id(id);
  renew.set_competency_id("cloud");
  pb::RenewCompetencyResponse renewed;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::RenewCompetency, kAcme, renew, &renewed),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  pb::RevokeCompetencyRequest revoke;
  revoke.set_vendor_id("acme");
  revoke.set_partner_id(id);
  revoke.set_competency_id("cloud");
  pb::RevokeCompetencyResponse revoked;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::RevokeCompetency, kAcme, revoke, &revoked),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reason")));
}

TEST_F(PartnerServiceTest, AsOfReadsBeforeAndAfterATierChange) {
  const std::string id = ActiveAcmePartner();
  const absl::Time before = clock_.Now();
  clock_.Advance(kDay);
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 1500));
  clock_.Advance(kDay);
  pb::GetEnrollmentRequest req;
  req.set_vendor_id("acme");
  req.set_partner_id(id);
  pb::GetEnrollmentResponse resp;
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(before));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp));
  EXPECT_EQ(resp.enrollment().tier_id(), "registered");
  EXPECT_EQ(resp.enrollment().etag(), "");
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp));
  EXPECT_EQ(resp.enrollment().tier_id(), "silver");
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(clock_.Now() + kDay));
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("as_of")));
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(before - 30 * kDay));
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PartnerServiceTest, AsOfReadsReturnTheLifecycleStateAtThatInstant) {
  const absl::Time enrolled = clock_.Now();
  const std::string id = ActiveAcmePartner();  // PROSPECT → ONBOARDING → ACTIVE at `enrolled`
  clock_.Advance(kDay);
  pb::SuspendEnrollmentRequest suspend;
  suspend.set_vendor_id("acme");
  suspend.set_partner_id(id);
  suspend.set_reason("unpaid invoices");
  pb::SuspendEnrollmentResponse suspended;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::SuspendEnrollment, kAcme, suspend, &suspended));
  const absl::Time suspend_time = clock_.Now();
  clock_.Advance(kDay);
  pb::GetEnrollmentRequest req;
  req.set_vendor_id("acme");
  req.set_partner_id(id);
  pb::GetEnrollmentResponse resp;
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(enrolled + absl::Hours(1)));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp));
  EXPECT_EQ(resp.enrollment().state(), pb::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(resp.enrollment().state_reason(), "");
  EXPECT_EQ(resp.enrollment().program_id(), program_);
  req.mutable_as_of()->set_seconds(absl::ToUnixSeconds(suspend_time + absl::Hours(1)));
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, req, &resp));
  EXPECT_EQ(resp.enrollment().state(), pb::ENROLLMENT_STATE_SUSPENDED);
  EXPECT_EQ(resp.enrollment().state_reason(), "unpaid invoices");
  EXPECT_EQ(resp.enrollment().state_change_time().seconds(), absl::ToUnixSeconds(suspend_time));
  // Without as_of: the current state, which is what the as_of read after the change returned.
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).state(), pb::ENROLLMENT_STATE_SUSPENDED);
}

TEST_F(PartnerServiceTest, UpdateEnrollmentMovesToAnotherProgramOfTheVendor) {
  const std::string id = ActiveAcmePartner();
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 1500));
  ASSERT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "silver");
  const std::string standard = program_;
  const std::string strict = CreateProgram(kAcme, "acme", /*silver=*/2000).program_id();
  const std::string globex = CreateProgram(kGlobex, "globex").program_id();
  const absl::Time before_move = clock_.Now();
  clock_.Advance(kDay);
  const int64_t version = GetEnrollment(kAcme, "acme", id).version();
  const size_t tier_events = OutboxOfType("prm.partner.TierChanged.v1").size();

  pb::UpdateEnrollmentRequest req;
  req.mutable_enrollment()->set_vendor_id("acme");
  req.mutable_enrollment()->set_partner_id(id);
  req.mutable_update_mask()->add_paths("program_id");
  pb::UpdateEnrollmentResponse resp;
  // Another vendor's program, or none, is a bad field; together with every other bad field.
  req.mutable_enrollment()->set_program_id(globex);
  req.mutable_enrollment()->set_points(-1);
  req.mutable_update_mask()->add_paths("points");
  absl::Status bad = Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, kAcme, req, &resp);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  std::set<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(bad)) fields.insert(v.field);
  EXPECT_EQ(fields, (std::set<std::string>{"enrollment.program_id", "enrollment.points"}));
  req.mutable_update_mask()->mutable_paths()->RemoveLast();
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).program_id(), standard);

  // The move: re-evaluated under the new program's requirements at once (1500 < 2000).
  req.mutable_enrollment()->set_program_id(strict);
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, kAcme, req, &resp));
  EXPECT_EQ(resp.enrollment().program_id(), strict);
  EXPECT_EQ(resp.enrollment().tier_id(), "registered");
  EXPECT_FALSE(resp.enrollment().has_pending_downgrade());
  EXPECT_EQ(resp.enrollment().version(), version + 2);
  pb::EnrollmentUpdated updated;
  ASSERT_OK(events::UnpackPayload(OutboxOfType("prm.partner.EnrollmentUpdated.v1").back().event,
                                  &updated));
  EXPECT_THAT(updated.changed_paths(), ElementsAre("program_id"));
  EXPECT_EQ(updated.metadata().aggregate_version(), version + 1);
  std::vector<Published> tier_changed = OutboxOfType("prm.partner.TierChanged.v1");
  ASSERT_EQ(tier_changed.size(), tier_events + 1);
  pb::TierChanged tc;
  ASSERT_OK(events::UnpackPayload(tier_changed.back().event, &tc));
  EXPECT_EQ(tc.program_id(), strict);
  EXPECT_EQ(tc.from_tier_id(), "silver");
  EXPECT_EQ(tc.to_tier_id(), "registered");
  EXPECT_EQ(tc.evaluation().trigger(), pb::EVALUATION_TRIGGER_PROGRAM);
  EXPECT_EQ(tc.metadata().aggregate_version(), version + 2);

  // as_of before the move: the old program and tier.
  pb::GetEnrollmentRequest get;
  get.set_vendor_id("acme");
  get.set_partner_id(id);
  get.mutable_as_of()->set_seconds(absl::ToUnixSeconds(before_move));
  pb::GetEnrollmentResponse got;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetEnrollment, kAcme, get, &got));
  EXPECT_EQ(got.enrollment().program_id(), standard);
  EXPECT_EQ(got.enrollment().tier_id(), "silver");

  // The old program is no longer in use; the move survives a restart (replay).
  pb::DeleteProgramRequest del;
  del.set_vendor_id("acme");
  del.set_program_id(standard);
  pb::DeleteProgramResponse deleted;
  EXPECT_OK(Call(&pb::PartnerRegistry::Stub::DeleteProgram, kAcme, del, &deleted));
  Restart();
  pb::Enrollment after = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(after.program_id(), strict);
  EXPECT_EQ(after.tier_id(), "registered");
  EXPECT_EQ(after.version(), version + 2);

  // A TERMINATED enrollment moves nowhere.
  pb::TerminateEnrollmentRequest terminate;
  terminate.set_vendor_id("acme");
  terminate.set_partner_id(id);
  terminate.set_reason("contract ended");
  pb::TerminateEnrollmentResponse terminated;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::TerminateEnrollment, kAcme, terminate, &terminated));
  const std::string third = CreateProgram(kAcme, "acme").program_id();
  req.mutable_enrollment()->set_program_id(third);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PartnerServiceTest, UpdateProgramReevaluatesItsEnrollments) {
  const std::string id = ActiveAcmePartner();
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 800));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "registered");
  pb::GetProgramRequest get;
  get.set_vendor_id("acme");
  get.set_program_id(program_);
  pb::GetProgramResponse got;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetProgram, kAcme, get, &got));
  pb::UpdateProgramRequest req;
  *req.mutable_program() = got.program();
  req.mutable_program()->mutable_tiers(1)->mutable_requirements()->mutable_min_trailing_revenue()->set_units(500);
  req.mutable_update_mask()->add_paths("tiers");
  pb::UpdateProgramResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdateProgram, kAcme, req, &resp));
  EXPECT_EQ(resp.program().version(), 2);
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).tier_id(), "silver");
  pb::ProgramUpdated updated;
  ASSERT_OK(events::UnpackPayload(OutboxOfType("prm.partner.ProgramUpdated.v1").back().event, &updated));
  EXPECT_THAT(updated.changed_paths(), ElementsAre("tiers"));
  pb::TierChanged tc;
  ASSERT_OK(events::UnpackPayload(OutboxOfType("prm.partner.TierChanged.v1").back().event, &tc));
  EXPECT_EQ(tc.evaluation().trigger(), pb::EVALUATION_TRIGGER_PROGRAM);
  // The old etag is stale; vendor_id is immutable.
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdateProgram, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kAborted));
  req.mutable_update_mask()->set_paths(0, "vendor_id");
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::UpdateProgram, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument));

  pb::ListProgramsRequest list;
  list.set_vendor_id("acme");
  pb::ListProgramsResponse programs;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::ListPrograms, kAcme, list, &programs));
  EXPECT_THAT(programs.programs(), SizeIs(1));
  pb::DeleteProgramRequest del;
  del.set_vendor_id("acme");
  del.set_program_id(program_);
  pb::DeleteProgramResponse d;
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::DeleteProgram, kAcme, del, &d),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PartnerServiceTest, EvaluateTierAndAssignConcierge) {
  const std::string id = ActiveAcmePartner();
  pb::EvaluateEnrollmentTierRequest eval;
  eval.set_vendor_id("acme");
  eval.set_partner_id(id);
  pb::EvaluateEnrollmentTierResponse r;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::EvaluateEnrollmentTier, kAcme, eval, &r));
  EXPECT_FALSE(r.tier_changed());
  EXPECT_EQ(r.evaluation().qualified_tier_id(), "registered");
  EXPECT_EQ(r.evaluation().trigger(), pb::EVALUATION_TRIGGER_MANUAL);
  EXPECT_FALSE(r.evaluation().results().empty());

  pb::AssignConciergeRequest assign;
  assign.set_vendor_id("acme");
  assign.set_partner_id(id);
  assign.set_worker_id("w-7");
  pb::AssignConciergeResponse a;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::AssignConcierge, kAcme, assign, &a));
  EXPECT_EQ(a.enrollment().concierge_worker_id(), "w-7");
  std::vector<Published> assigned = OutboxOfType("prm.partner.ConciergeAssigned.v1");
  ASSERT_THAT(assigned, SizeIs(1));
  pb::ConciergeAssigned ev;
  ASSERT_OK(events::UnpackPayload(assigned[0].event, &ev));
  EXPECT_EQ(ev.worker_id(), "w-7");
  EXPECT_EQ(ev.metadata().vendor_id(), "acme");
}

TEST_F(PartnerServiceTest, DealEventsFeedWinRateAndLoad) {
  const std::string id = ActiveAcmePartner();
  auto deal_event = [&](const char* type, const char* deal_id) {
    deal::v1::DealWon e;  // every handled deal event starts {metadata = 1, deal = 2}
    e.mutable_metadata()->set_vendor_id("acme");
    e.mutable_metadata()->mutable_event_time()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
    e.mutable_deal()->set_vendor_id("acme");
    e.mutable_deal()->set_partner_id(id);
    e.mutable_deal()->set_deal_id(deal_id);
    e.mutable_deal()->mutable_create_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() - 10 * kDay));
    return Consume(e, type, "prm/deal-registration", absl::StrCat(type, deal_id));
  };
  ASSERT_OK(deal_event("prm.deal.DealSubmitted.v1", "d1"));
  ASSERT_OK(deal_event("prm.deal.DealSubmitted.v1", "d2"));
  ASSERT_OK(deal_event("prm.deal.DealSubmitted.v1", "d3"));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().open_deal_count(), 3);
  ASSERT_OK(deal_event("prm.deal.DealWon.v1", "d1"));
  ASSERT_OK(deal_event("prm.deal.DealLost.v1", "d2"));
  ASSERT_OK(deal_event("prm.deal.DealCancelled.v1", "d3"));
  pb::Enrollment e = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(e.metrics().open_deal_count(), 0);
  EXPECT_DOUBLE_EQ(e.metrics().win_rate(), 0.5);
  EXPECT_EQ(e.metrics().won_deal_count(), 1);
  EXPECT_TRUE(e.metrics().has_average_sales_cycle());
}

// Issue 7: a deal event no deal-registration could have sent is poison and counts nothing.
TEST_F(PartnerServiceTest, HostileDealEventsArePoisonAndCountNothing) {
  const std::string id = ActiveAcmePartner();
  deal::v1::DealWon good;
  good.mutable_metadata()->set_vendor_id("acme");
  good.mutable_deal()->set_vendor_id("acme");
  good.mutable_deal()->set_partner_id(id);
  good.mutable_deal()->set_deal_id("d1");
  good.mutable_deal()->set_state(deal::v1::DEAL_STATE_WON);
  good.mutable_deal()->mutable_review()->mutable_submit_time()->set_seconds(
      absl::ToUnixSeconds(clock_.Now() - 10 * kDay));
  good.mutable_deal()->mutable_outcome()->mutable_close_time()->set_seconds(
      absl::ToUnixSeconds(clock_.Now()));
  good.mutable_won_amount()->set_currency_code("EUR");
  good.mutable_won_amount()->set_units(100);
  const std::vector<std::pair<std::string, std::function<void(deal::v1::DealWon&)>>> hostile = {
      {"won_amount", [](auto& w) { w.mutable_won_amount()->set_units(-100); }},
      {"deal.state",
       [](auto& w) { w.mutable_deal()->set_state(static_cast<deal::v1::DealState>(99)); }},
      {"deal.outcome.close_time",
       [](auto& w) {
         w.mutable_deal()->mutable_outcome()->mutable_close_time()->set_seconds(253'402'300'799);
       }},
      {"deal.review.submit_time",
       [](auto& w) {
         w.mutable_deal()->mutable_review()->mutable_submit_time()->set_seconds(-62'135'596'800);
       }},
  };
  int n = 0;
  for (const auto& [field, mutate] : hostile) {
    deal::v1::DealWon won = good;
    mutate(won);
    EXPECT_THAT(Consume(won, "prm.deal.DealWon.v1", "prm/deal-registration",
                        absl::StrCat("hostile-", ++n)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)))
        << field;
  }
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().won_deal_count(), 0);
  ASSERT_OK(Consume(good, "prm.deal.DealWon.v1", "prm/deal-registration", "good"));
  EXPECT_EQ(GetEnrollment(kAcme, "acme", id).metrics().won_deal_count(), 1);
}

// ---- FindPartners ------------------------------------------------------------------------

TEST_F(PartnerServiceTest, FindPartnersRanksDrawsAndSkipsPartnersWhoDeclined) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(ActiveAcmePartner(absl::StrCat("Reseller ", i), absl::StrCat("T", i),
                                    absl::StrCat("r", i, ".de"), absl::StrCat("A-", i)));
  }
  ASSERT_OK(Sale("acme", "A-0", "inv-0", 4000));
  pb::UpdateEnrollmentRequest optout;
  optout.mutable_enrollment()->set_vendor_id("acme");
  optout.mutable_enrollment()->set_partner_id(ids[3]);
  optout.mutable_enrollment()->set_lead_opt_out(true);
  optout.mutable_update_mask()->add_paths("lead_opt_out");
  pb::UpdateEnrollmentResponse u;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::UpdateEnrollment, kAcme, optout, &u));

  pb::FindPartnersRequest req;
  req.set_vendor_id("acme");
  pb::Lead* lead = req.add_leads();
  lead->set_lead_id("L1");
  lead->set_country_code("DE");
  lead->add_excluded_partner_ids(ids[2]);
  pb::FindPartnersResponse resp;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::FindPartners, kAcme, req, &resp));
  ASSERT_THAT(resp.results(), SizeIs(1));
  EXPECT_EQ(resp.results(0).lead_id(), "L1");
  EXPECT_EQ(resp.results(0).eligible_count(), 2);
  ASSERT_THAT(resp.results(0).matches(), SizeIs(2));
  EXPECT_EQ(resp.results(0).matches(0).partner_id(), ids[0]);  // the one with sales
  EXPECT_GT(resp.results(0).matches(0).parts().velocity(), 0);
  EXPECT_EQ(resp.seed(), 0u);

  req.set_mode(pb::FIND_MODE_WEIGHTED_RANDOM);
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::FindPartners, kAcme, req, &resp));
  EXPECT_NE(resp.seed(), 0u);
  req.set_seed(resp.seed());
  pb::FindPartnersResponse again;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::FindPartners, kAcme, req, &again));
  EXPECT_EQ(resp.SerializeAsString(), again.SerializeAsString());
  for (const auto& m : resp.results(0).matches()) {
    EXPECT_NE(m.partner_id(), ids[3]);
    EXPECT_NE(m.partner_id(), ids[2]);
    EXPECT_GT(m.selection_probability(), 0);
  }

  for (int i = 0; i < 100; ++i) req.add_leads();
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::FindPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("leads")));
  req.mutable_leads()->DeleteSubrange(1, 100);
  req.set_max_results(51);
  EXPECT_THAT(Call(&pb::PartnerRegistry::Stub::FindPartners, kAcme, req, &resp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_results")));
}

// ---- durability --------------------------------------------------------------------------

TEST_F(PartnerServiceTest, RestartReplaysTheLogToTheSameState) {
  const std::string id = ActiveAcmePartner();
  ASSERT_OK(Sale("acme", "A-1", "inv-1", 1500));
  clock_.Advance(kDay);
  pb::GrantCompetencyRequest grant;
  grant.set_vendor_id("acme");
  grant.set_partner_id(id);
  grant.mutable_competency()->set_competency_id("cloud");
  pb::GrantCompetencyResponse granted;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GrantCompetency, kAcme, grant, &granted));
  pb::GetPartnerRequest get;
  get.set_partner_id(id);
  pb::GetPartnerResponse partner_before, partner_after;
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kAcme, get, &partner_before));
  const pb::Enrollment before = GetEnrollment(kAcme, "acme", id);
  const size_t events_before = Outbox().size();

  Restart();
  EXPECT_GT(parts_->replayed_commands(), 5);
  ASSERT_OK(Call(&pb::PartnerRegistry::Stub::GetPartner, kAcme, get, &partner_after));
  EXPECT_EQ(partner_before.SerializeAsString(), partner_after.SerializeAsString());
  const pb::Enrollment after = GetEnrollment(kAcme, "acme", id);
  EXPECT_EQ(before.etag(), after.etag());
  EXPECT_EQ(before.tier_id(), after.tier_id());
  EXPECT_EQ(before.competencies_size(), after.competencies_size());
  EXPECT_EQ(Outbox().size(), events_before);  // replay emits nothing
  // Ids keep counting from where they were.
  const std::string next = CreatePartner(kAcme, "acme", NewPartner("New", "N1", "new.de")).partner_id();
  EXPECT_NE(next, id);
}

}  // namespace
}  // namespace prm::partner
