// prmctl's generic RPC verbs, output, errors, CSV reading and SVG plot, in-process. The verbs
// call a real gRPC server on loopback that runs small fake implementations of PartnerRegistry,
// ConciergeRouting and Forecast: these tests are about the client (flags → request, response →
// table or JSON, status → error text), not the services.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "tools/prmctl/plot.h"
#include "tools/prmctl/prmctl.h"
#include "tools/prmctl/sales_command.h"

namespace prm::prmctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace partner_pb = ::prm::partner::v1;
namespace routing_pb = ::prm::routing::v1;
namespace forecast_pb = ::prm::forecast::v1;
namespace deal_pb = ::prm::deal::v1;

constexpr char kToken[] = "tok-1";

grpc::Status CheckToken(grpc::ServerContext* context) {
  auto it = context->client_metadata().find("authorization");
  if (it == context->client_metadata().end() ||
      std::string(it->second.data(), it->second.size()) != absl::StrCat("Bearer ", kToken)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token");
  }
  return grpc::Status::OK;
}

partner_pb::Partner SamplePartner(std::string id, std::string name) {
  partner_pb::Partner p;
  p.set_partner_id(std::move(id));
  p.set_legal_name(std::move(name));
  p.set_display_name(p.legal_name());
  p.set_hq_country_code("LV");
  p.add_types(common::v1::PARTNER_TYPE_RESELLER);
  p.add_types(common::v1::PARTNER_TYPE_MSP);
  p.mutable_create_time()->set_seconds(1767225600);  // 2026-01-01T00:00:00Z
  return p;
}

class FakePartners final : public partner_pb::PartnerRegistry::Service {
 public:
  grpc::Status GetPartner(grpc::ServerContext* context, const partner_pb::GetPartnerRequest* request,
                          partner_pb::GetPartnerResponse* response) override {
    if (grpc::Status s = CheckToken(context); !s.ok()) return s;
    if (request->partner_id() != "p-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "partner " + request->partner_id());
    }
    *response->mutable_partner() = SamplePartner("p-1", "Baltic Networks SIA");
    return grpc::Status::OK;
  }
  grpc::Status ListPartners(grpc::ServerContext* context,
                            const partner_pb::ListPartnersRequest* request,
                            partner_pb::ListPartnersResponse* response) override {
    if (grpc::Status s = CheckToken(context); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    last_list_ = *request;
    if (request->filter() == "none") return grpc::Status::OK;
    if (request->page_token() == "page-2") {
      *response->add_partners() = SamplePartner("p-3", "Third AB");
      return grpc::Status::OK;
    }
    *response->add_partners() = SamplePartner("p-1", "Baltic Networks SIA");
    *response->add_partners() = SamplePartner("p-2", "Nordic Cloud AS");
    response->set_next_page_token("page-2");
    return grpc::Status::OK;
  }
  grpc::Status CreatePartner(grpc::ServerContext*, const partner_pb::CreatePartnerRequest* request,
                             partner_pb::CreatePartnerResponse* response) override {
    FieldViolations bad;
    if (request->partner().legal_name().empty()) bad.Add("partner.legal_name", "is required");
    if (request->partner().types().empty()) bad.Add("partner.types", "needs at least one type");
    if (!bad.empty()) return ToGrpcStatus(bad.ToStatus("the partner is incomplete"));
    *response->mutable_partner() = request->partner();
    response->mutable_partner()->set_partner_id("p-new");
    return grpc::Status::OK;
  }

  partner_pb::ListPartnersRequest last_list() {
    absl::MutexLock lock(&mu_);
    return last_list_;
  }

 private:
  absl::Mutex mu_;
  partner_pb::ListPartnersRequest last_list_;
};

class FakeRouting final : public routing_pb::ConciergeRouting::Service {
 public:
  grpc::Status WatchOffers(grpc::ServerContext*, const routing_pb::WatchOffersRequest* request,
                           grpc::ServerWriter<routing_pb::WatchOffersResponse>* writer) override {
    for (int i = 1; i <= 2; ++i) {
      routing_pb::WatchOffersResponse message;
      message.mutable_offer()->mutable_reservation()->set_reservation_id(absl::StrCat("r-", i));
      message.mutable_offer()->mutable_reservation()->set_worker_id(request->worker_id());
      writer->Write(message);
    }
    return grpc::Status::OK;
  }
};

// Echoes the deal it is given, so that tests see the request the flags built.
class FakeDeals final : public deal_pb::DealRegistration::Service {
 public:
  grpc::Status CreateDeal(grpc::ServerContext*, const deal_pb::CreateDealRequest* request,
                          deal_pb::CreateDealResponse* response) override {
    *response->mutable_deal() = request->deal();
    return grpc::Status::OK;
  }
};

forecast_pb::SeriesForecast SampleForecast() {
  forecast_pb::SeriesForecast f;
  f.set_series_id("v1/VENDOR/&all");
  f.set_currency_code("EUR");
  f.mutable_model()->set_specification("ETS(A,N,N)");
  auto money = [](common::v1::Money* m, int64_t units) {
    m->set_currency_code("EUR");
    m->set_units(units);
  };
  for (int i = 0; i < 3; ++i) {
    auto* a = f.add_history();
    a->mutable_period_start()->set_year(2026);
    a->mutable_period_start()->set_month(1 + i);
    a->mutable_period_start()->set_day(1);
    money(a->mutable_actual(), 1000 + 100 * i);
  }
  for (int i = 0; i < 2; ++i) {
    auto* p = f.add_points();
    p->mutable_period_start()->set_year(2026);
    p->mutable_period_start()->set_month(4 + i);
    p->mutable_period_start()->set_day(1);
    money(p->mutable_mean(), 1300);
    money(p->mutable_lower_80(), 1100);
    money(p->mutable_upper_80(), 1500);
    money(p->mutable_lower_95(), 1000 - 50 * i);
    money(p->mutable_upper_95(), 1600 + 50 * i);
  }
  return f;
}

class FakeForecast final : public forecast_pb::Forecast::Service {
 public:
  grpc::Status GetForecast(grpc::ServerContext*, const forecast_pb::GetForecastRequest* request,
                           forecast_pb::GetForecastResponse* response) override {
    if (request->series().level() != forecast_pb::FORECAST_LEVEL_VENDOR ||
        request->granularity() != forecast_pb::GRANULARITY_MONTH) {
      return ToGrpcStatus(InvalidField("series.level", "expected VENDOR and MONTH"));
    }
    *response->mutable_forecast() = SampleForecast();
    return grpc::Status::OK;
  }
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class PrmctlRpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    partners_ = new FakePartners;
    routing_ = new FakeRouting;
    forecast_ = new FakeForecast;
    deals_ = new FakeDeals;
    builder.RegisterService(deals_);
    builder.RegisterService(partners_);
    builder.RegisterService(routing_);
    builder.RegisterService(forecast_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    server_->Shutdown();
    delete server_;
    delete partners_;
    delete routing_;
    delete forecast_;
    delete deals_;
  }

  // `prmctl <args> --<service>-address=<fake> [--token=tok-1]`.
  Outcome Run(std::vector<std::string> args, bool with_address = true) {
    if (with_address && args.size() >= 2) {
      const std::string service = args[0] == "partners"   ? "partner"
                                  : args[0] == "forecast" ? "forecast"
                                  : args[0] == "deals"    ? "deal"
                                                          : "routing";
      args.push_back(absl::StrCat("--", service, "-address=127.0.0.1:", port_));
    }
    std::vector<const char*> argv = {"prmctl"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    const char* env[] = {nullptr};
    std::ostringstream out, err;
    CommandContext context{.env = env, .out = out, .err = err, .clock = clock_, .version = "t"};
    const int code = RunPrmctl(static_cast<int>(argv.size()) - 1, argv.data(), context);
    return {code, out.str(), err.str()};
  }

  static std::string TempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            absl::StrCat("prmctl-test-", getpid(), "-", name))
        .string();
  }

  static inline int port_ = 0;
  static inline grpc::Server* server_ = nullptr;
  static inline FakePartners* partners_ = nullptr;
  static inline FakeRouting* routing_ = nullptr;
  static inline FakeForecast* forecast_ = nullptr;
  static inline FakeDeals* deals_ = nullptr;
  FakeClock clock_;
};

TEST_F(PrmctlRpcTest, ListBuildsTheRequestFromFlagsAndPrintsATable) {
  Outcome run = Run({"partners", "list", "--token=tok-1", "--vendor-id=v1", "--page-size=2",
                     "--filter=types = PARTNER_TYPE_MSP"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  const partner_pb::ListPartnersRequest request = partners_->last_list();
  EXPECT_EQ(request.vendor_id(), "v1");
  EXPECT_EQ(request.page_size(), 2);
  EXPECT_EQ(request.filter(), "types = PARTNER_TYPE_MSP");

  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << run.out;
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            "PARTNER_ID +DISPLAY_NAME +LEGAL_NAME +HQ_COUNTRY_CODE +TYPES +UPDATE_TIME"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("p-1 +Baltic Networks SIA +Baltic Networks SIA +LV "
                                                "+RESELLER, MSP *"));
  EXPECT_THAT(lines[2], ::testing::StartsWith("p-2 "));
  // Columns line up: every row's second column starts where the header's does.
  EXPECT_EQ(lines[1].find("Baltic"), lines[0].find("DISPLAY_NAME"));
  EXPECT_EQ(lines[3], "next_page_token: page-2");
}

TEST_F(PrmctlRpcTest, AllFetchesEveryPage) {
  Outcome run = Run({"partners", "list", "--token=tok-1", "--all"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << run.out;  // header, p-1, p-2, p-3; no next_page_token
  EXPECT_THAT(lines[3], ::testing::StartsWith("p-3 "));
  EXPECT_EQ(partners_->last_list().page_token(), "page-2");

  run = Run({"partners", "get", "--all"});  // GetPartner has no pages
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--all: unknown flag"));
}

TEST_F(PrmctlRpcTest, AnEmptyListSaysSo) {
  Outcome run = Run({"partners", "list", "--token=tok-1", "--filter=none"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out, "(no partners)\n");
}

TEST_F(PrmctlRpcTest, JsonRequestIsOverriddenByFlags) {
  Outcome run = Run({"partners", "list", "--token=tok-1",
                     R"(--request={"vendor_id": "v0", "page_size": 5, "filter": "x"})",
                     "--vendor-id=v9"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(partners_->last_list().vendor_id(), "v9");
  EXPECT_EQ(partners_->last_list().page_size(), 5);
  EXPECT_EQ(partners_->last_list().filter(), "x");

  const std::string file = TempPath("request.json");
  std::ofstream(file) << R"({"vendorId": "from-file", "pageSize": 7})";
  run = Run({"partners", "list", "--token=tok-1", "--request-file=" + file});
  std::filesystem::remove(file);
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(partners_->last_list().vendor_id(), "from-file");
  EXPECT_EQ(partners_->last_list().page_size(), 7);
}

TEST_F(PrmctlRpcTest, GetPrintsDetailAndJsonRoundTrips) {
  Outcome run = Run({"partners", "get", "--token=tok-1", "--partner-id=p-1"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("partner_id:      p-1\n"));
  EXPECT_THAT(run.out, HasSubstr("types:           RESELLER, MSP\n"));
  EXPECT_THAT(run.out, HasSubstr("create_time:     2026-01-01T00:00:00Z\n"));

  run = Run({"partners", "get", "--token=Bearer tok-1", "--partner-id=p-1", "--json"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  partner_pb::GetPartnerResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok()) << run.out;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      parsed.partner(), SamplePartner("p-1", "Baltic Networks SIA")));
  EXPECT_THAT(run.out, HasSubstr("\"legal_name\""));  // proto field names, as --request takes
}

TEST_F(PrmctlRpcTest, TokenFromAFile) {
  const std::string file = TempPath("token");
  std::ofstream(file) << kToken << "\n";
  Outcome run = Run({"partners", "get", "--token-file=" + file, "--partner-id=p-1"});
  std::filesystem::remove(file);
  EXPECT_EQ(run.code, kExitOk) << run.err;

  run = Run({"partners", "get", "--partner-id=p-1"});  // no token
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_EQ(run.err, "prmctl: UNAUTHENTICATED: missing or wrong bearer token\n");
}

TEST_F(PrmctlRpcTest, ErrorsShowCodeMessageAndEveryFieldViolation) {
  Outcome run = Run({"partners", "create", "--partner.hq-country-code=LV"});
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_THAT(run.out, ::testing::IsEmpty());
  EXPECT_THAT(run.err, ::testing::StartsWith(
                           "prmctl: INVALID_ARGUMENT: the partner is incomplete\n  partner."));
  EXPECT_THAT(run.err, HasSubstr("\n  partner.legal_name: is required\n"));
  EXPECT_THAT(run.err, HasSubstr("\n  partner.types: needs at least one type\n"));

  run = Run({"partners", "get", "--token=tok-1", "--partner-id=p-404"});
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_EQ(run.err, "prmctl: NOT_FOUND: partner p-404\n");
}

TEST_F(PrmctlRpcTest, EnumAndRepeatedFlagsAndCreate) {
  Outcome run = Run({"partners", "create", "--partner.legal-name=ACME, Inc.",
                     "--partner.types=reseller,PARTNER_TYPE_ISV", "--partner.web-domains=a.com",
                     "--json"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  partner_pb::CreatePartnerResponse created;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &created).ok());
  EXPECT_EQ(created.partner().legal_name(), "ACME, Inc.");
  EXPECT_THAT(created.partner().types(),
              ElementsAre(common::v1::PARTNER_TYPE_RESELLER, common::v1::PARTNER_TYPE_ISV));
  EXPECT_THAT(created.partner().web_domains(), ElementsAre("a.com"));
}

TEST_F(PrmctlRpcTest, MoneyAndDateFlagsReadAsTheyPrint) {
  Outcome run = Run({"deals", "create", "--deal.value=12500.5 EUR",
                     "--deal.expected-close-date=2026-06-30", "--deal.title=Core refresh"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("value:               12500.50 EUR\n"));
  EXPECT_THAT(run.out, HasSubstr("expected_close_date: 2026-06-30\n"));

  run = Run({"deals", "create", "--deal.value=-0.25 USD", "--json"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  deal_pb::CreateDealResponse created;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &created).ok());
  EXPECT_EQ(created.deal().value().units(), 0);
  EXPECT_EQ(created.deal().value().nanos(), -250000000);
  EXPECT_EQ(created.deal().value().currency_code(), "USD");

  run = Run({"deals", "create", "--deal.value=12 euros", "--deal.expected-close-date=30.6.2026"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--deal.value: must be an amount and a currency, e.g. \"1234.50 EUR\""));
  EXPECT_THAT(run.err, HasSubstr("--deal.expected-close-date: must be a date YYYY-MM-DD"));
}

TEST_F(PrmctlRpcTest, UsageErrorsNameTheFlag) {
  Outcome run = Run({"partners", "create", "--partner.types=shop", "--bogus=1"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--bogus: unknown flag"));

  run = Run({"partners", "create", "--partner.types=shop"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--partner.types: unknown value \"shop\" (one of RESELLER|"));

  run = Run({"partners", "list", "--page-size=many", "--request={nope"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--page-size: must be a whole number (got \"many\")"));
  EXPECT_THAT(run.err, HasSubstr("--request: "));

  run = Run({"partners", "fly"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("unknown verb \"fly\" for partners"));

  run = Run({"partners"}, false);
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("  lookup "));

  run = Run({"--help"}, false);
  EXPECT_EQ(run.code, kExitOk);
  for (const char* noun : {"partners", "programs", "enrollments", "deals", "tasks", "offers",
                           "workers", "forecast", "velocity", "token", "sales", "health"}) {
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("\n  ", noun, " "))) << noun;
  }
  // Every verb names a method this build knows (a typo in the table would fail here).
  for (const char* noun : {"partners", "programs", "enrollments", "deals", "tasks", "offers",
                           "workers", "queues", "activities", "workflows", "calendars", "sla",
                           "forecast", "velocity"}) {
    Outcome verbs = Run({noun, "--help"}, false);
    for (absl::string_view line : absl::StrSplit(verbs.out, '\n')) {
      if (!absl::StartsWith(line, "  ") || absl::StartsWith(line, "  prmctl")) continue;
      const std::string verb(absl::StripAsciiWhitespace(line.substr(0, 20)));
      Outcome help = Run({noun, verb, "--help"}, false);
      EXPECT_EQ(help.code, kExitOk) << noun << " " << verb << ": " << help.err;
    }
  }
}

TEST_F(PrmctlRpcTest, StreamingVerbPrintsEachMessage) {
  Outcome run = Run({"offers", "watch", "--vendor-id=v1", "--worker-id=w-7", "--json"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << run.out;
  EXPECT_THAT(lines[0], HasSubstr("\"reservation_id\":\"r-1\""));
  EXPECT_THAT(lines[1], HasSubstr("\"worker_id\":\"w-7\""));
}

TEST_F(PrmctlRpcTest, ForecastGetPrintsTablesAndPlots) {
  const std::string svg_path = TempPath("forecast.svg");
  Outcome run = Run({"forecast", "get", "--series.vendor-id=v1", "--series.level=vendor",
                     "--granularity=MONTH", "--plot=" + svg_path});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("  PERIOD_START  MEAN         LOWER_80     UPPER_80"));
  EXPECT_THAT(run.out, HasSubstr("  2026-04-01    1300.00 EUR  1100.00 EUR  1500.00 EUR"));
  EXPECT_THAT(run.out, HasSubstr("history:\n  PERIOD_START  PERIOD_END  ACTUAL\n"));
  EXPECT_THAT(run.out, HasSubstr("\n  2026-03-01                1200.00 EUR\n"));
  EXPECT_THAT(run.out, HasSubstr("\n  specification: ETS(A,N,N)\n"));
  std::ifstream in(svg_path);
  std::stringstream svg;
  svg << in.rdbuf();
  std::filesystem::remove(svg_path);
  EXPECT_EQ(svg.str(), ForecastSvg(SampleForecast()));

  run = Run({"forecast", "get", "--series.level=partner", "--granularity=MONTH"});
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_THAT(run.err, HasSubstr("\n  series.level: expected VENDOR and MONTH\n"));
}

// A PartnerRegistry served over TLS with a certificate for 127.0.0.1 made by the openssl CLI.
TEST_F(PrmctlRpcTest, TlsWhenACaBundleIsGiven) {
  const std::string dir = TempPath("tls");
  std::filesystem::create_directories(dir);
  auto run = [](const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
  };
  ASSERT_EQ(run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                             "-nodes -days 2 -subj /CN=prmctl-ca -keyout ", dir, "/ca.key -out ",
                             dir, "/ca.crt")), 0);
  std::ofstream(dir + "/leaf.ext") << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
  ASSERT_EQ(run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                             "-subj /CN=leaf -keyout ", dir, "/leaf.key -out ", dir, "/leaf.csr")), 0);
  ASSERT_EQ(run(absl::StrCat("openssl x509 -req -days 2 -in ", dir, "/leaf.csr -CA ", dir,
                             "/ca.crt -CAkey ", dir, "/ca.key -CAcreateserial -extfile ", dir,
                             "/leaf.ext -out ", dir, "/leaf.crt")), 0);
  auto read = [&](const std::string& name) {
    std::stringstream buffer;
    buffer << std::ifstream(dir + "/" + name).rdbuf();
    return buffer.str();
  };
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({read("leaf.key"), read("leaf.crt")});
  FakePartners partners;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
  builder.RegisterService(&partners);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("--partner-address=127.0.0.1:", port);

  Outcome tls = Run({"partners", "get", "--token=tok-1", "--partner-id=p-1", address,
                     "--tls-ca-file=" + dir + "/ca.crt", "--timeout=5s"}, false);
  EXPECT_EQ(tls.code, kExitOk) << tls.err;
  EXPECT_THAT(tls.out, HasSubstr("Baltic Networks SIA"));

  Outcome plaintext = Run({"partners", "get", "--token=tok-1", "--partner-id=p-1", address,
                           "--timeout=2s"}, false);
  EXPECT_EQ(plaintext.code, kExitFailure);

  Outcome half = Run({"partners", "get", address, "--tls-cert-file=" + dir + "/leaf.crt"}, false);
  EXPECT_EQ(half.code, kExitUsage);
  EXPECT_THAT(half.err, HasSubstr("--tls-cert-file and --tls-key-file: give both or neither"));

  Outcome missing = Run({"partners", "get", address, "--tls-ca-file=" + dir + "/nope.crt"}, false);
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("--tls-ca-file: cannot read"));
  server->Shutdown();
  std::filesystem::remove_all(dir);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ForecastSvgTest, DrawsHistoryForecastBandsAxesAndLegend) {
  const std::string svg = ForecastSvg(SampleForecast());
  EXPECT_TRUE(absl::StartsWith(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>\n"));
  EXPECT_EQ(Count(svg, "<polygon class=\"band95\""), 1);
  EXPECT_EQ(Count(svg, "<polygon class=\"band80\""), 1);
  EXPECT_EQ(Count(svg, "<polyline class=\"history\""), 1);
  EXPECT_EQ(Count(svg, "<polyline class=\"mean\""), 1);
  // The mean starts at the last actual and has one vertex per point.
  const size_t mean = svg.find("<polyline class=\"mean\" points=\"");
  const std::string points = svg.substr(mean + 31, svg.find('"', mean + 31) - mean - 31);
  EXPECT_EQ(Count(points, ","), 3);
  EXPECT_EQ(Count(svg, "class=\"xtick\""), 5);  // one per period
  EXPECT_GE(Count(svg, "class=\"ytick\""), 3);
  for (const char* label : {"actual", "forecast (mean)", "80 % interval", "95 % interval",
                            "net sales (EUR)", "period start", "2026-05-01"}) {
    EXPECT_THAT(svg, HasSubstr(label));
  }
  EXPECT_THAT(svg, HasSubstr("v1/VENDOR/&amp;all — ETS(A,N,N)"));  // escaped
  EXPECT_THAT(svg, Not(HasSubstr("<script")));

  // Empty series: still a valid picture.
  const std::string empty = ForecastSvg(forecast_pb::SeriesForecast());
  EXPECT_THAT(empty, HasSubstr("</svg>"));
  EXPECT_EQ(Count(empty, "<polygon"), 0);
}

const absl::Time kNow = absl::FromUnixSeconds(1780000000);  // 2026-05-28

constexpr char kHeader[] =
    "vendor_id,erp_system_id,partner_external_id,erp_document_id,kind,sale_time,currency_code,"
    "sku,product_category,quantity,amount,customer_legal_name,customer_country_code\n";

TEST(SalesCsvTest, ReadsDocumentsWithTheirLines) {
  const std::string csv = absl::StrCat(
      kHeader,
      "v1,sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,SKU-1,networking,2,1000.50,,\r\n"
      "v1,sap,ACC-1,INV-1,SELL_IN,2026-03-01,EUR,SKU-2,security,1,99,,\n"
      "\n"
      "v1,sap,ACC-2,INV-2,sell_through,2026-03-02T10:00:00Z,EUR,SKU-1,networking,5,5000.1,"
      "\"ACME, Inc.\",US\n");
  SalesCsv parsed = ParseSalesCsv(csv, kNow);
  EXPECT_EQ(parsed.fatal, "");
  EXPECT_THAT(parsed.problems, ::testing::IsEmpty());
  ASSERT_EQ(parsed.documents.size(), 2u);
  const auto& first = parsed.documents[0];
  EXPECT_EQ(first.line, 2);
  EXPECT_EQ(first.sale.kind(), sales::v1::SALE_KIND_SELL_IN);
  EXPECT_EQ(first.sale.sale_time().seconds(), 1772323200);  // 2026-03-01T00:00:00Z
  ASSERT_EQ(first.sale.lines_size(), 2);
  EXPECT_EQ(first.sale.lines(0).amount().units(), 1000);
  EXPECT_EQ(first.sale.lines(0).amount().nanos(), 500000000);
  EXPECT_EQ(first.sale.lines(0).amount().currency_code(), "EUR");
  EXPECT_EQ(first.sale.lines(1).product_category(), "security");
  const auto& second = parsed.documents[1];
  EXPECT_EQ(second.line, 5);
  EXPECT_EQ(second.sale.end_customer().legal_name(), "ACME, Inc.");
  EXPECT_EQ(second.sale.lines(0).amount().nanos(), 100000000);
}

TEST(SalesCsvTest, BadRowsAreReportedByLineAndTheirDocumentsSkipped) {
  const std::string csv = absl::StrCat(
      kHeader,
      "v1,sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,SKU-1,networking,2,10,,\n"  // line 2: good
      "v1,sap,ACC-1,INV-2,barter,2026-03-01,eur,SKU-1,networking,0,-5,,\n"   // line 3: bad
      "v1,sap,ACC-1,INV-2,sell_in,2026-03-01,EUR,SKU-2,networking,1,1,,\n"   // line 4: same doc
      "v1,sap,ACC-3,INV-3,sell_through,yesterday,EUR,SKU-1,networking,1,1,,\n"  // line 5
      "v1,sap,ACC-4,INV-4,sell_in,2026-03-01,EUR\n"                          // line 6: short
      "v1,sap,ACC-5,INV-5,return,2026-03-01,USD,SKU-1,networking,1,1.5,,\n"  // line 7: good
      "v1,sap,ACC-6,INV-6,sell_in,2026-05-30,EUR,SKU-1,networking,1,1,,\n");  // line 8: future
  SalesCsv parsed = ParseSalesCsv(csv, kNow);
  ASSERT_EQ(parsed.fatal, "");
  ASSERT_EQ(parsed.documents.size(), 2u);
  EXPECT_EQ(parsed.documents[0].sale.erp_document_id(), "INV-1");
  EXPECT_EQ(parsed.documents[1].sale.erp_document_id(), "INV-5");
  EXPECT_EQ(parsed.skipped_documents, 4);
  const std::string problems = absl::StrJoin(parsed.problems, "\n");
  EXPECT_THAT(problems, HasSubstr("line 3: kind: must be sell_in, sell_through or return (got \"barter\")"));
  EXPECT_THAT(problems, HasSubstr("line 3: currency_code: must be 3 upper-case letters (got \"eur\")"));
  EXPECT_THAT(problems, HasSubstr("line 3: quantity: must be a whole number 1..1000000000"));
  EXPECT_THAT(problems, HasSubstr("line 3: amount: must be a non-negative decimal"));
  EXPECT_THAT(problems, HasSubstr("line 5: sale_time: must be RFC 3339 or YYYY-MM-DD"));
  EXPECT_THAT(problems, HasSubstr("line 5: customer_legal_name: a sell_through sale needs"));
  EXPECT_THAT(problems, HasSubstr("line 6: has 7 fields, the header 13"));
  EXPECT_THAT(problems, HasSubstr("line 8: sale_time: must be from 1990-01-01 to one day from now"));
  EXPECT_THAT(problems, Not(HasSubstr("line 2:")));
  EXPECT_THAT(problems, HasSubstr("line 4: currency_code: differs from the document's first row "
                                  "(line 3)"));
}

TEST(SalesCsvTest, HeaderProblemsStopEverything) {
  EXPECT_THAT(ParseSalesCsv("vendor_id,color\nv1,red\n", kNow).fatal,
              ::testing::AllOf(HasSubstr("header (line 1)"), HasSubstr("unknown column \"color\""),
                               HasSubstr("missing column \"amount\"")));
  EXPECT_THAT(ParseSalesCsv("", kNow).fatal, HasSubstr("empty"));
  EXPECT_THAT(ParseSalesCsv(absl::StrCat(kHeader, "v1,\"open"), kNow).fatal,
              HasSubstr("line 2: a quoted field is not closed"));
}

TEST_F(PrmctlRpcTest, SalesPublishChecksTheFileBeforeKafka) {
  Outcome run = Run({"sales", "publish"}, false);
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--csv (PRM_CSV): is required"));

  run = Run({"sales", "publish", "--csv=/nonexistent/sales.csv"}, false);
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("cannot read /nonexistent/sales.csv"));

  const std::string file = TempPath("bad.csv");
  std::ofstream(file) << kHeader << "v1,sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,S,n,x,1,,\n";
  // --strict: nothing is sent, so no broker is needed (port 1 would refuse).
  run = Run({"sales", "publish", "--csv=" + file, "--strict", "--kafka-brokers=127.0.0.1:1"}, false);
  std::filesystem::remove(file);
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_THAT(run.err, HasSubstr(": line 2: quantity: must be a whole number"));
  EXPECT_THAT(run.err, HasSubstr("1 document(s) with bad rows — nothing sent (--strict)"));
}

// Every command that talks to Kafka names the brokers as the services do: --kafka-brokers
// (PRM_KAFKA_BROKERS). `sales publish` used to take --brokers; that is now an unknown flag.
TEST_F(PrmctlRpcTest, KafkaCommandsTakeKafkaBrokersLikeTheServices) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {"sales", "publish"}, {"dlq", "list"}, {"dlq", "replay"}}) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    Outcome help = Run(args, false);
    EXPECT_EQ(help.code, kExitOk) << command[0] << " " << command[1] << ": " << help.err;
    EXPECT_THAT(help.out, HasSubstr("--kafka-brokers")) << command[0] << " " << command[1];
    EXPECT_THAT(help.out, HasSubstr("PRM_KAFKA_BROKERS")) << command[0] << " " << command[1];
    EXPECT_THAT(help.out, Not(HasSubstr("--brokers"))) << command[0] << " " << command[1];
  }
  const std::string file = TempPath("renamed.csv");
  std::ofstream(file) << kHeader << "v1,sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,S,n,x,1,,\n";
  Outcome run =
      Run({"sales", "publish", "--csv=" + file, "--strict", "--brokers=127.0.0.1:1"}, false);
  std::filesystem::remove(file);
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--brokers: unknown flag"));
}

}  // namespace
}  // namespace prm::prmctl
