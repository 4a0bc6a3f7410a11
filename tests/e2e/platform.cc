#include "tests/e2e/platform.h"

#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/principal.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/consumer.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/kafka_fixture.h"

namespace prm::e2e {

std::string Domain(const std::string& customer) {
  std::string d;
  for (char c : customer) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) d += absl::ascii_tolower(c);
  }
  return d + ".example";
}

bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

Platform::Platform(const std::string& run)
    : run_(run),
      vendor_(run + "-vendor"),
      root_((std::filesystem::temp_directory_path() / run).string()) {
  std::filesystem::remove_all(root_);
  for (const std::string& s : ServiceNames()) processes_[s] = MakeProcess(s);
  auto producer =
      kafka::Producer::Create(
      {.brokers = testing::KafkaBrokers(), .client_id = run_ + "-erp", .properties = {}});
  EXPECT_TRUE(producer.ok()) << producer.status();
  if (producer.ok()) producer_ = *std::move(producer);
}

Platform::~Platform() {
  for (auto& [name, process] : processes_) process->Terminate();
  processes_.clear();
  std::filesystem::remove_all(root_);
}

std::string Platform::Group(const std::string& service) const {
  return absl::StrCat(run_, "-", service);
}

std::vector<Platform::DeadLetter> Platform::OwnDeadLetters(
    std::vector<kafka::Record> records) const {
  std::map<std::string, std::string> service_of_group;
  for (const std::string& s : ServiceNames()) service_of_group[Group(s)] = s;
  auto header = [](const kafka::Record& r, const char* key) {
    return std::string(r.FindHeader(key).value_or(""));
  };
  std::set<std::string> origins;
  std::vector<DeadLetter> own;
  for (kafka::Record& r : records) {
    const auto service = service_of_group.find(header(r, kafka::kDlqGroupHeader));
    if (service == service_of_group.end()) continue;
    const std::string origin =
        absl::StrCat(service->first, "/", header(r, kafka::kDlqTopicHeader), "/",
                     header(r, kafka::kDlqPartitionHeader), "/", header(r, kafka::kDlqOffsetHeader));
    if (!origins.insert(origin).second) continue;
    own.push_back({service->second, std::move(r)});
  }
  return own;
}

bool Platform::Serving(const std::string& service) const {
  return testing::Health(processes_.at(service)->address()) ==
         grpc::health::v1::HealthCheckResponse::SERVING;
}

std::unique_ptr<testing::ServiceProcess> Platform::MakeProcess(const std::string& service) const {
  std::vector<std::string> extra;
  // Services that ask partner-registry directly: deal-registration at submission, routing about
  // partners it has not heard of.
  if (service == "deal-registration" || service == "concierge-routing") {
    extra.push_back("--partner-registry-address=" +
                    processes_.at("partner-registry")->address());
  }
  // Timers often enough that a restart mid-story finds them due quickly.
  if (service == "partner-registry") extra.push_back("--partner-tick-interval=1s");
  return std::make_unique<testing::ServiceProcess>(service, absl::StrCat(root_, "/", service),
                                                   Group(service), std::move(extra));
}

void Platform::MakeStubs() {
  partners_ = pv1::PartnerRegistry::NewStub(processes_["partner-registry"]->channel());
  deals_ = dv1::DealRegistration::NewStub(processes_["deal-registration"]->channel());
  routing_ = rv1::ConciergeRouting::NewStub(processes_["concierge-routing"]->channel());
  forecast_ = fv1::Forecast::NewStub(processes_["forecast"]->channel());
}

bool Platform::Start() {
  for (const std::string& s : ServiceNames()) processes_[s]->Start();
  bool ok = true;
  for (const std::string& s : ServiceNames()) {
    if (!testing::WaitForHealth(processes_[s]->address(),
                                grpc::health::v1::HealthCheckResponse::SERVING,
                                absl::Seconds(60))) {
      ADD_FAILURE() << s << " did not become SERVING";
      ok = false;
    }
  }
  MakeStubs();
  return ok;
}

bool Platform::Restart(const std::string& service, bool kill) {
  testing::ServiceProcess& process = *processes_.at(service);
  if (kill) {
    process.Kill();
  } else {
    process.Terminate();
  }
  // The same object keeps its address: clients reconnect to the same port.
  process.Start();
  const bool serving = testing::WaitForHealth(
      process.address(), grpc::health::v1::HealthCheckResponse::SERVING, absl::Seconds(60));
  EXPECT_TRUE(serving) << service << " did not become SERVING after the restart";
  return serving;
}

std::string Platform::Admin() const {
  return testing::Token(
      {.subject = "e2e-admin", .role = auth::Role::kVendorAdmin, .vendor_ids = {vendor_}});
}
std::string Platform::Manager() const {
  return testing::Token(
      {.subject = "e2e-manager", .role = auth::Role::kChannelManager, .vendor_ids = {vendor_}});
}
std::string Platform::PartnerUser(const std::string& partner_id) const {
  return testing::Token({.subject = partner_id + "-user",
                         .role = auth::Role::kPartnerUser,
                         .vendor_ids = {vendor_},
                         .partner_id = partner_id});
}
std::string Platform::Concierge(const std::string& worker_id) const {
  return testing::Token({.subject = worker_id,
                         .role = auth::Role::kConcierge,
                         .vendor_ids = {vendor_},
                         .worker_id = worker_id});
}

bool Platform::PublishSale(const sv1::SaleRecorded& sale, const std::string& event_id) {
  const std::string key =
      absl::StrCat(sale.vendor_id(), "/", sale.erp_system_id(), "/", sale.partner_external_id());
  return PublishRaw(events::EncodeBinary(
      events::MakeEvent(sale, "prm.sales.SaleRecorded.v1", absl::StrCat("erp/", kErp), event_id,
                        absl::Now(), key),
      kSalesTopic));
}

bool Platform::PublishRaw(const kafka::Record& record) {
  if (!producer_) return false;
  absl::Status status = producer_->Produce(record, absl::Seconds(30));
  EXPECT_TRUE(status.ok()) << status;
  return status.ok();
}

sv1::SaleRecorded Platform::Sale(const std::string& account, const std::string& document,
                                 sv1::SaleKind kind, absl::Time time, int64_t units,
                                 const std::string& customer, const std::string& deal_id) const {
  sv1::SaleRecorded sale;
  sale.set_vendor_id(vendor_);
  sale.set_erp_system_id(kErp);
  sale.set_partner_external_id(account);
  sale.set_erp_document_id(document);
  sale.set_kind(kind);
  sale.set_currency_code("USD");
  if (!customer.empty()) {
    sale.mutable_end_customer()->set_legal_name(customer);
    sale.mutable_end_customer()->set_country_code("US");
    sale.mutable_end_customer()->set_web_domain(Domain(customer));
  }
  auto* line = sale.add_lines();
  line->set_sku("SKU-FW-1");
  line->set_product_category("security");
  line->set_quantity(2);
  line->mutable_amount()->set_currency_code("USD");
  line->mutable_amount()->set_units(units);
  sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(time));
  sale.set_deal_id(deal_id);
  return sale;
}

std::vector<kafka::Record> ReadWhere(const std::string& topic,
                                     const std::function<bool(const kafka::Record&)>& keep) {
  std::vector<kafka::Record> out;
  for (kafka::Record& r : testing::ReadTopic(topic, absl::Seconds(10))) {
    if (keep(r)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace prm::e2e
