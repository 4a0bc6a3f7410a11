// prm-bench-forecast-sales: produces `count` SaleRecorded CloudEvents (binary mode, as an ERP
// integration publishes them) to a topic, for bench/forecast/ingest/run.sh, which then times the
// forecast service ingesting them beside kcat reading the same topic.
//
//   prm-bench-forecast-sales --kafka-brokers=127.0.0.1:9092 --topic=bench.forecast.sales --count=500000
//
// The sales: one vendor, `accounts` ERP accounts, 20 product categories, one or two lines each,
// sale times spread over three years ending now, a distinct ERP document each.

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "prm/sales/v1/sales_events.pb.h"

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "bench.forecast.sales";
  std::string vendor = "bench-vendor";
  int64_t count = 500000;
  int64_t accounts = 500;
  prm::FlagSet flags("prm-bench-forecast-sales", "produce SaleRecorded events for the bench");
  flags.String("kafka-brokers", &brokers, "Kafka bootstrap servers (as the services and prmctl)");
  flags.String("topic", &topic, "topic to produce to (must exist)");
  flags.String("vendor", &vendor, "vendor_id of the sales");
  flags.Int("count", &count, "events", 1, 100'000'000);
  flags.Int("accounts", &accounts, "ERP accounts", 1, 1'000'000);
  auto outcome = flags.Parse(argc, argv, nullptr);
  if (!outcome.ok()) {
    std::cerr << outcome.status().message() << "\n";
    return 2;
  }
  if (*outcome != prm::FlagSet::Outcome::kRun) {
    std::cout << flags.Usage();
    return 0;
  }
  auto producer = prm::kafka::Producer::Create({.brokers = brokers, .client_id = "bench-sales"});
  if (!producer.ok()) {
    std::cerr << producer.status() << "\n";
    return 1;
  }
  const absl::Time now = absl::Now();
  const int64_t span_s = 3 * 365 * 86400;
  const std::string run = absl::StrCat(absl::ToUnixMicros(now));
  constexpr int64_t kBatch = 20000;
  const absl::Time start = absl::Now();
  int64_t bytes = 0;
  for (int64_t sent = 0; sent < count;) {
    std::vector<prm::kafka::Record> batch;
    for (int64_t i = 0; i < kBatch && sent < count; ++i, ++sent) {
      prm::sales::v1::SaleRecorded sale;
      const std::string account = absl::StrCat("acct-", sent % accounts);
      sale.set_vendor_id(vendor);
      sale.set_erp_system_id("sap-eu");
      sale.set_partner_external_id(account);
      sale.set_erp_document_id(absl::StrCat("inv-", run, "-", sent));
      sale.set_kind(prm::sales::v1::SALE_KIND_SELL_IN);
      sale.set_currency_code("USD");
      // Spread over the span, out of order (a multiplicative walk), ending before now.
      const int64_t offset = (sent * 2654435761LL) % span_s;
      sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(now) - span_s + offset);
      for (int l = 0; l < 1 + sent % 2; ++l) {
        prm::common::v1::ProductLine* line = sale.add_lines();
        line->set_sku(absl::StrCat("sku-", (sent + l) % 200));
        line->set_product_category(absl::StrCat("category-", (sent + l) % 20));
        line->set_quantity(1 + sent % 5);
        line->mutable_amount()->set_currency_code("USD");
        line->mutable_amount()->set_units(100 + sent % 900);
      }
      prm::events::CloudEvent event =
          prm::events::MakeEvent(sale, "prm.sales.SaleRecorded.v1", "erp/sap-eu",
                                 absl::StrCat("sale-", run, "-", sent), absl::Now(),
                                 absl::StrCat(vendor, "/", account));
      batch.push_back(prm::events::EncodeBinary(event, topic));
      bytes += static_cast<int64_t>(batch.back().value.size());
    }
    for (const auto& status : (*producer)->ProduceAndWait(batch, absl::Seconds(120))) {
      if (!status.ok()) {
        std::cerr << status << "\n";
        return 1;
      }
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cout << "produced " << count << " sales (" << bytes / count << " payload bytes each) in "
            << seconds << " s\n";
  return 0;
}
