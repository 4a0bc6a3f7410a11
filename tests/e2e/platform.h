#pragma once

// The whole platform under test: the four service binaries as child processes on one real
// broker, each with its own data directory and consumer group, and a vendor of this run's own
// (the broker and its topics are shared with other tests). The helpers below speak only the
// public gRPC APIs and the Kafka topics: what an ERP, a partner, a channel manager and a
// concierge would do, and what they could see.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/kafka/producer.h"
#include "common/kafka/record.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "prm/sales/v1/sales_events.pb.h"
#include "tests/integration/service_process.h"

namespace prm::e2e {

namespace pv1 = ::prm::partner::v1;
namespace dv1 = ::prm::deal::v1;
namespace rv1 = ::prm::routing::v1;
namespace fv1 = ::prm::forecast::v1;
namespace sv1 = ::prm::sales::v1;

inline constexpr char kSalesTopic[] = "prm.sales.v1";
inline constexpr char kSalesDlq[] = "prm.sales.v1.dlq";
inline constexpr char kPartnerTopic[] = "prm.partner.v1";
inline constexpr char kDealTopic[] = "prm.deal.v1";
inline constexpr char kErp[] = "sap-e2e";

// The four services, in the order they are started.
inline const std::vector<std::string>& ServiceNames() {
  static const std::vector<std::string> names = {"partner-registry", "deal-registration",
                                                 "concierge-routing", "forecast"};
  return names;
}

// The web domain the tests give an end customer ("Contoso Health" → "contosohealth.example").
std::string Domain(const std::string& customer);

// Polls `done` every 100 ms until it holds or `timeout` passes. The services start with fresh
// consumer groups and read the shared topics from the beginning, so on a busy broker an event of
// this run waits behind everything other tests published before it: the default is generous.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(150));

class Platform {
 public:
  explicit Platform(const std::string& run);
  ~Platform();

  // Starts the four services and waits until each is SERVING.
  bool Start();
  // SIGTERM (drain) or SIGKILL (crash) `service`, then start it again on the same data
  // directory and port; true once it is SERVING again.
  bool Restart(const std::string& service, bool kill);
  // The consumer group of `service` (as it appears in DLQ headers).
  std::string Group(const std::string& service) const;
  // True when `service` answers its health check with SERVING (false when it crashed).
  bool Serving(const std::string& service) const;

  // This platform's dead letters among `records` (read from DLQ topics), each with the service
  // whose consumer group wrote it. Left out: other groups' (other tests' platforms on the
  // shared broker consume the same topics and dead-letter the same poison), and repeats of one
  // origin — group, topic, partition, offset — since dead-lettering is at least once (a record
  // redelivered before its offset was committed is dead-lettered again).
  struct DeadLetter {
    std::string service;
    kafka::Record record;
  };
  std::vector<DeadLetter> OwnDeadLetters(std::vector<kafka::Record> records) const;

  const std::string& run() const { return run_; }
  const std::string& vendor() const { return vendor_; }

  pv1::PartnerRegistry::Stub& partners() { return *partners_; }
  dv1::DealRegistration::Stub& deals() { return *deals_; }
  rv1::ConciergeRouting::Stub& routing() { return *routing_; }
  fv1::Forecast::Stub& forecast() { return *forecast_; }

  // Tokens for this run's vendor.
  std::string Admin() const;
  std::string Manager() const;
  std::string PartnerUser(const std::string& partner_id) const;
  std::string Concierge(const std::string& worker_id) const;

  // Publishes `sale` to prm.sales.v1 as an ERP would: binary-mode CloudEvent with id
  // `event_id`, key vendor/erp/account (one partition per account). Returns false on failure.
  bool PublishSale(const sv1::SaleRecorded& sale, const std::string& event_id);
  // Publishes a raw record (for malformed events).
  bool PublishRaw(const kafka::Record& record);

  // A sale of `account` with one line.
  sv1::SaleRecorded Sale(const std::string& account, const std::string& document,
                         sv1::SaleKind kind, absl::Time time, int64_t units,
                         const std::string& customer = "", const std::string& deal_id = "") const;

 private:
  std::unique_ptr<testing::ServiceProcess> MakeProcess(const std::string& service) const;
  void MakeStubs();

  std::string run_;
  std::string vendor_;
  std::string root_;
  std::map<std::string, std::unique_ptr<testing::ServiceProcess>> processes_;
  std::unique_ptr<pv1::PartnerRegistry::Stub> partners_;
  std::unique_ptr<dv1::DealRegistration::Stub> deals_;
  std::unique_ptr<rv1::ConciergeRouting::Stub> routing_;
  std::unique_ptr<fv1::Forecast::Stub> forecast_;
  std::unique_ptr<kafka::Producer> producer_;
};

// Records of `topic` (read from the beginning) that `keep` accepts.
std::vector<kafka::Record> ReadWhere(const std::string& topic,
                                     const std::function<bool(const kafka::Record&)>& keep);

}  // namespace prm::e2e
