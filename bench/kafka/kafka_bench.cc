// prm-bench-kafka: events/s through common/kafka — the idempotent producer and the consumer
// group member that stores each offset after its (here empty) handler — on a real broker.
// bench/kafka/run.sh runs it beside kcat on the same topic and prints the ratios.
//
//   prm-bench-kafka --kafka-brokers=127.0.0.1:9092 --topic=bench.kafka --count=500000 --size=200

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "bench.kafka";
  std::string phase = "both";
  int64_t count = 200000;
  int64_t size = 200;
  prm::FlagSet flags("prm-bench-kafka", "produce/consume throughput through common/kafka");
  flags.String("kafka-brokers", &brokers, "Kafka bootstrap servers (as the services and prmctl)");
  flags.String("topic", &topic, "topic to use (must exist)");
  flags.Choice("phase", &phase, {"produce", "consume", "both"}, "what to measure");
  flags.Int("count", &count, "records", 1, 100'000'000);
  flags.Int("size", &size, "value bytes per record", 0, 1'000'000);
  auto outcome = flags.Parse(argc, argv, nullptr);
  if (!outcome.ok()) {
    std::cerr << outcome.status().message() << "\n";
    return 2;
  }
  if (*outcome != prm::FlagSet::Outcome::kRun) {
    std::cout << flags.Usage();
    return 0;
  }

  auto producer = prm::kafka::Producer::Create({.brokers = brokers, .client_id = "bench"});
  if (!producer.ok()) {
    std::cerr << producer.status() << "\n";
    return 1;
  }

  if (phase != "consume") {
    const std::string value(size, 'x');
    constexpr int64_t kBatch = 20000;
    absl::Time start = absl::Now();
    for (int64_t sent = 0; sent < count;) {
      std::vector<prm::kafka::Record> batch;
      for (int64_t i = 0; i < kBatch && sent < count; ++i, ++sent) {
        batch.push_back({.topic = topic, .key = absl::StrCat("k", sent % 1000), .value = value});
      }
      for (const auto& status : (*producer)->ProduceAndWait(batch, absl::Seconds(60))) {
        if (!status.ok()) {
          std::cerr << status << "\n";
          return 1;
        }
      }
    }
    double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::cout << "produce_events_per_s " << static_cast<int64_t>(count / seconds) << "\n";
  }

  if (phase != "produce") {
    std::atomic<int64_t> seen{0};
    std::atomic<int64_t> first_ns{0};
    auto consumer = prm::kafka::Consumer::Create(
        {.client = {.brokers = brokers, .client_id = "bench"},
         .group_id = absl::StrCat("bench-", absl::ToUnixNanos(absl::Now())),
         .topics = {topic}},
        [&](const prm::kafka::Record&) {
          if (seen.fetch_add(1) == 0) first_ns = absl::ToUnixNanos(absl::Now());
          return absl::OkStatus();
        },
        producer->get(), nullptr);
    if (!consumer.ok() || !(*consumer)->Start().ok()) {
      std::cerr << "consumer failed to start\n";
      return 1;
    }
    absl::Time deadline = absl::Now() + absl::Minutes(5);
    while (seen.load() < count && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    absl::Time end = absl::Now();
    (*consumer)->Stop();
    if (seen.load() < count) {
      std::cerr << "consumed only " << seen.load() << " of " << count << "\n";
      return 1;
    }
    // From the first record handled: the group join is a one-off cost, not throughput.
    double seconds = absl::ToDoubleSeconds(end - absl::FromUnixNanos(first_ns.load()));
    std::cout << "consume_events_per_s " << static_cast<int64_t>(count / seconds) << "\n";
  }
  return 0;
}
