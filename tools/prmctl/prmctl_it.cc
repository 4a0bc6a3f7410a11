// prmctl end to end (label integration): the real prmctl binary against the real
// partner-registry binary over gRPC, and `sales publish` into the real broker, read back with an
// independent librdkafka reader and decoded as the services decode it.

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"

namespace prm {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  return "'" + absl::StrReplaceAll(arg, {{"'", "'\\''"}}) + "'";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class PrmctlIT : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = testing::UniqueName("prmctl-it");
    vendor_ = run_;
    dir_ = std::filesystem::temp_directory_path() / run_;
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (process_) process_->Terminate();
    std::filesystem::remove_all(dir_);
  }

  // The prmctl binary with `args`, its output captured; PRM_* variables of the test's own
  // environment do not leak in.
  Outcome Prmctl(const std::vector<std::string>& args) {
    std::string command = "env -i " + Quote(testing::BinaryPath("prmctl"));
    for (const std::string& arg : args) command += " " + Quote(arg);
    const std::string out = (dir_ / "out").string(), err = (dir_ / "err").string();
    command += " >" + Quote(out) + " 2>" + Quote(err);
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out), Slurp(err)};
  }

  std::string run_, vendor_;
  std::filesystem::path dir_;
  std::unique_ptr<testing::ServiceProcess> process_;
};

TEST_F(PrmctlIT, PartnersAgainstTheRealPartnerRegistry) {
  process_ = std::make_unique<testing::ServiceProcess>("partner-registry", (dir_ / "data").string(),
                                                       run_ + "-group");
  ASSERT_TRUE(process_->StartAndWaitServing());
  const std::string token = testing::Token(
      {.subject = "it-manager", .role = auth::Role::kChannelManager, .vendor_ids = {vendor_}});
  const std::vector<std::string> common = {"--partner-address=" + process_->address(),
                                           "--token=" + token};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), common.begin(), common.end());
    return args;
  };

  Outcome created = Prmctl(with({"partners", "create", "--vendor-id=" + vendor_,
                                 "--partner.legal-name=Baltic Networks SIA",
                                 "--partner.hq-country-code=LV", "--partner.types=reseller,msp",
                                 "--json"}));
  ASSERT_EQ(created.code, 0) << created.err;
  partner::v1::CreatePartnerResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created.out, &response).ok())
      << created.out;
  const std::string id = response.partner().partner_id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(response.partner().types_size(), 2);

  Outcome got = Prmctl(with({"partners", "get", "--partner-id=" + id}));
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("legal_name:"));
  EXPECT_THAT(got.out, HasSubstr("Baltic Networks SIA"));
  EXPECT_THAT(got.out, HasSubstr("RESELLER, MSP"));

  Outcome listed = Prmctl(with({"partners", "list", "--vendor-id=" + vendor_}));
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, ::testing::StartsWith("PARTNER_ID "));
  EXPECT_THAT(listed.out, HasSubstr("\n" + id + " "));

  // Every bad field of the server's INVALID_ARGUMENT, one per line.
  Outcome bad = Prmctl(with({"partners", "create", "--vendor-id=" + vendor_,
                             "--partner.hq-country-code=XX"}));
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, ::testing::StartsWith("prmctl: INVALID_ARGUMENT: "));
  for (const char* field : {"partner.legal_name", "partner.hq_country_code", "partner.types"}) {
    EXPECT_THAT(bad.err, HasSubstr(absl::StrCat("\n  ", field, ": "))) << field;
  }

  Outcome denied = Prmctl({"partners", "get", "--partner-id=" + id,
                           "--partner-address=" + process_->address()});
  EXPECT_EQ(denied.code, 1);
  EXPECT_THAT(denied.err, ::testing::StartsWith("prmctl: UNAUTHENTICATED: "));
}

std::vector<sales::v1::SaleRecorded> ReadBack(const std::string& source, size_t want) {
  std::vector<sales::v1::SaleRecorded> sales;
  for (int attempt = 0; attempt < 20 && sales.size() < want; ++attempt) {
    sales.clear();
    for (const kafka::Record& record :
         testing::ReadTopicWhere("prm.sales.v1", "ce_source", source, absl::Seconds(10))) {
      absl::StatusOr<events::CloudEvent> event = events::Decode(record);
      EXPECT_TRUE(event.ok()) << event.status();
      if (!event.ok()) continue;
      EXPECT_EQ(event->type, "prm.sales.SaleRecorded.v1");
      sales.emplace_back();
      EXPECT_TRUE(events::UnpackPayload(*event, &sales.back()).ok());
    }
  }
  return sales;
}

std::vector<sales::v1::SaleRecorded> ReadBackStructured(const std::string& source, size_t want) {
  std::vector<sales::v1::SaleRecorded> sales;
  for (int attempt = 0; attempt < 20 && sales.size() < want; ++attempt) {
    sales.clear();
    for (const kafka::Record& record : testing::ReadTopic("prm.sales.v1", absl::Seconds(10))) {
      absl::StatusOr<events::CloudEvent> event = events::Decode(record);
      if (!event.ok() || event->source != source) continue;
      EXPECT_EQ(record.FindHeader("content-type"),
                std::optional<std::string_view>("application/cloudevents+json; charset=UTF-8"));
      EXPECT_EQ(event->data_content_type, "application/json");
      sales.emplace_back();
      EXPECT_TRUE(events::UnpackPayload(*event, &sales.back()).ok());
    }
  }
  return sales;
}

TEST_F(PrmctlIT, SalesPublishSendsCsvRowsAsCloudEventsToTheBroker) {
  const std::string csv = (dir_ / "sales.csv").string();
  std::ofstream(csv)
      << "vendor_id,erp_system_id,partner_external_id,erp_document_id,kind,sale_time,"
         "currency_code,sku,product_category,quantity,amount\n"
      << vendor_ << ",sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,SKU-1,networking,2,1000.50\n"
      << vendor_ << ",sap,ACC-1,INV-1,sell_in,2026-03-01,EUR,SKU-2,security,1,99\n"
      << vendor_ << ",sap,ACC-2,INV-2,sell_in,2026-03-02,EUR,SKU-1,networking,1,10\n"
      << vendor_ << ",sap,ACC-3,INV-3,sell_in,2026-03-02,EUR,SKU-1,networking,many,10\n";
  const std::string source = "erp/" + run_;
  Outcome run = Prmctl({"sales", "publish", "--csv=" + csv,
                        "--kafka-brokers=" + testing::KafkaBrokers(), "--source=" + source,
                        "--batch=2"});
  EXPECT_EQ(run.code, 1) << "a bad row makes the exit code 1: " << run.err;
  EXPECT_THAT(run.err, HasSubstr("sales.csv: line 5: quantity: must be a whole number"));
  EXPECT_THAT(run.err, HasSubstr("published 2/2 (100%)"));  // plain progress: not a terminal
  EXPECT_THAT(run.out, HasSubstr("sent     2 SaleRecorded event(s) to prm.sales.v1"));
  EXPECT_THAT(run.out, HasSubstr("failed   0\n"));
  EXPECT_THAT(run.out, HasSubstr("skipped  1 document(s), 1 bad row(s)\n"));
  EXPECT_THAT(run.out, HasSubstr("\nACC-1                1     0\n"));

  std::vector<sales::v1::SaleRecorded> sales = ReadBack(source, 2);
  ASSERT_EQ(sales.size(), 2u);
  std::sort(sales.begin(), sales.end(),
            [](const auto& a, const auto& b) { return a.erp_document_id() < b.erp_document_id(); });
  EXPECT_EQ(sales[0].erp_document_id(), "INV-1");
  ASSERT_EQ(sales[0].lines_size(), 2);
  EXPECT_EQ(sales[0].lines(0).amount().units(), 1000);
  EXPECT_EQ(sales[0].lines(0).amount().nanos(), 500000000);
  EXPECT_EQ(sales[0].partner_external_id(), "ACC-1");
  EXPECT_EQ(sales[1].erp_document_id(), "INV-2");

  // Structured mode with a JSON payload, summary as JSON.
  const std::string one = (dir_ / "one.csv").string();
  std::ofstream(one) << "vendor_id,erp_system_id,partner_external_id,erp_document_id,kind,"
                        "sale_time,currency_code,sku,product_category,quantity,amount\n"
                     << vendor_ << ",sap,ACC-9,INV-9,return,2026-03-03,USD,SKU-1,networking,1,5\n";
  run = Prmctl({"sales", "publish", "--csv=" + one, "--kafka-brokers=" + testing::KafkaBrokers(),
                "--source=" + source + "-structured", "--mode=structured", "--content-type=json",
                "--json"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"sent\":1,\"failed\":0"));
  sales = ReadBackStructured(source + "-structured", 1);
  ASSERT_EQ(sales.size(), 1u);
  EXPECT_EQ(sales[0].kind(), sales::v1::SALE_KIND_RETURN);
  EXPECT_EQ(sales[0].currency_code(), "USD");
}

}  // namespace
}  // namespace prm
