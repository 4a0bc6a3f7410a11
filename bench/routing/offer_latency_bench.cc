// CreateTask → offer received on WatchOffers (issue 5 benchmark: p99 ≤ 10 ms at 1,000 tasks/s
// over gRPC), against a running concierge-routing binary on loopback.
//
// Setup: a fresh vendor, --workers concierges in region EMEA with e-mail capacity 100 each (so
// every task finds a free worker without anyone accepting), one WatchOffers stream per worker.
// Then an open-loop client sends CreateTask at --rate per second for --seconds (asynchronous
// calls at fixed instants, so a slow reply never delays the next request). A task's latency is
// from the instant its CreateTask was scheduled to the instant its offer arrives on the worker's
// stream. The tasks route through the built-in default workflow (previous worker → concierge →
// region pool), each a routing decision over every worker.
//
// Run against a service started with a known HS256 secret, e.g. (one command line each)
//   concierge-routing --data-dir=/tmp/bench-routing --grpc-listen=127.0.0.1:7445
//       --metrics-listen=127.0.0.1:0 --jwt-secret=bench-secret-0123456789abcdef0123456789
//       --kafka-brokers=127.0.0.1:19092 --kafka-group=bench-routing [--sqlite-durability=normal]
//   prm-bench-routing-offer-latency --target 127.0.0.1:7445
//       --secret bench-secret-0123456789abcdef0123456789 [--rate 1000] [--seconds 10]
//       [--workers 0 = enough for every task]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/common/percentile.h"
#include "common/auth/jwt.h"
#include "common/time/clock.h"
#include "grpcpp/create_channel.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"

namespace {

namespace v1 = ::prm::routing::v1;
using ::prm::bench::Percentile;
constexpr int kCapacity = 100;  // the API's maximum per channel
constexpr char kTitlePrefix[] = "bench-";

}  // namespace

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:7445";
  std::string secret;
  int rate = 1000;
  int seconds = 10;
  int workers = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--target") == 0) target = argv[i + 1];
    if (std::strcmp(argv[i], "--secret") == 0) secret = argv[i + 1];
    if (std::strcmp(argv[i], "--rate") == 0) rate = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--workers") == 0) workers = std::atoi(argv[i + 1]);
  }
  const int total = rate * seconds;
  if (rate <= 0 || seconds <= 0) {
    std::fprintf(stderr, "--rate and --seconds must be positive\n");
    return 2;
  }
  if (workers <= 0) workers = (total + kCapacity - 1) / kCapacity;
  auto minter = prm::auth::TokenMinter::Create(
      {.algorithm = "HS256", .hs256_secret = secret, .issuer = "prm-dev", .audience = "prm"},
      prm::SystemClock::Instance());
  if (!minter.ok()) {
    std::fprintf(stderr, "%s\n", minter.status().ToString().c_str());
    return 1;
  }
  const std::string vendor = absl::StrCat("bench-vendor-", absl::ToUnixMicros(absl::Now()));
  auto token = minter->Mint(
      {.subject = "bench", .role = prm::auth::Role::kVendorAdmin, .vendor_ids = {vendor}},
      absl::Hours(1));
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().ToString().c_str());
    return 1;
  }
  const std::string authorization = "Bearer " + *token;
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = v1::ConciergeRouting::NewStub(channel);

  // Workers and their offer streams.
  std::vector<std::string> worker_ids;
  for (int w = 0; w < workers; ++w) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    v1::CreateWorkerRequest r;
    v1::Worker* worker = r.mutable_worker();
    worker->set_vendor_id(vendor);
    worker->set_display_name(absl::StrCat("bench worker ", w));
    worker->set_role(v1::WORKER_ROLE_CONCIERGE);
    worker->set_activity_id("available");
    worker->add_regions("EMEA");
    v1::ChannelCapacity* c = worker->add_capacities();
    c->set_channel(v1::CHANNEL_EMAIL);
    c->set_capacity(kCapacity);
    v1::CreateWorkerResponse response;
    grpc::Status s = stub->CreateWorker(&ctx, r, &response);
    if (!s.ok()) {
      std::fprintf(stderr, "CreateWorker: %s\n", s.error_message().c_str());
      return 1;
    }
    worker_ids.push_back(response.worker().worker_id());
  }
  std::vector<absl::Time> scheduled(total);
  std::vector<std::atomic<int64_t>> received_us(total);
  for (auto& r : received_us) r.store(0);
  std::atomic<int> offers{0}, streams_open{0};
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_contexts;
  std::vector<std::thread> readers;
  for (const std::string& id : worker_ids) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", authorization);
    grpc::ClientContext* raw = ctx.get();
    watch_contexts.push_back(std::move(ctx));
    readers.emplace_back([&, raw, id] {
      v1::WatchOffersRequest r;
      r.set_vendor_id(vendor);
      r.set_worker_id(id);
      auto stream = stub->WatchOffers(raw, r);
      ++streams_open;
      v1::WatchOffersResponse m;
      while (stream->Read(&m)) {
        if (!m.has_offer()) continue;
        const absl::Time now = absl::Now();
        int index = 0;
        absl::string_view title = m.offer().task().title();
        if (!absl::ConsumePrefix(&title, kTitlePrefix) || !absl::SimpleAtoi(title, &index) ||
            index < 0 || index >= total) {
          continue;
        }
        int64_t expected = 0;
        if (received_us[index].compare_exchange_strong(expected, absl::ToUnixMicros(now))) {
          ++offers;
        }
      }
      stream->Finish();
    });
  }
  while (streams_open.load() < workers) absl::SleepFor(absl::Milliseconds(10));
  absl::SleepFor(absl::Milliseconds(500));  // let the server register every stream

  // The open-loop sender.
  std::atomic<int> done{0}, failed{0};
  std::mutex error_mu;
  std::string first_error;
  const absl::Time start = absl::Now() + absl::Milliseconds(100);
  for (int i = 0; i < total; ++i) {
    scheduled[i] = start + absl::Seconds(1) * i / rate;
    const absl::Time now = absl::Now();
    if (scheduled[i] > now) absl::SleepFor(scheduled[i] - now);
    struct Call {
      grpc::ClientContext ctx;
      v1::CreateTaskRequest request;
      v1::CreateTaskResponse response;
    };
    auto* call = new Call;
    call->ctx.AddMetadata("authorization", authorization);
    v1::Task* t = call->request.mutable_task();
    t->set_vendor_id(vendor);
    t->set_partner_id(absl::StrCat("partner-", i % 100));
    t->set_channel(v1::CHANNEL_EMAIL);
    t->set_category(v1::TASK_CATEGORY_PRICING);
    t->set_region("EMEA");
    t->set_title(absl::StrCat(kTitlePrefix, i));
    stub->async()->CreateTask(&call->ctx, &call->request, &call->response,
                              [&, call](grpc::Status s) {
                                if (!s.ok()) {
                                  ++failed;
                                  std::lock_guard lock(error_mu);
                                  if (first_error.empty()) first_error = s.error_message();
                                }
                                ++done;
                                delete call;
                              });
  }
  const absl::Time sent = absl::Now();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((done.load() < total || offers.load() + failed.load() < total) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Time finished = absl::Now();
  for (auto& ctx : watch_contexts) ctx->TryCancel();
  for (std::thread& t : readers) t.join();

  std::vector<double> latencies_ms;
  for (int i = 0; i < total; ++i) {
    const int64_t us = received_us[i].load();
    if (us == 0) continue;
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::FromUnixMicros(us) - scheduled[i]));
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double send_seconds = absl::ToDoubleSeconds(sent - start);
  std::printf(
      "workers=%d target_rate=%d/s tasks=%d sent_in=%.2fs (achieved %.0f/s) failed=%d "
      "offers=%zu missing=%d\n",
      workers, rate, total, send_seconds, total / send_seconds, failed.load(),
      latencies_ms.size(), total - static_cast<int>(latencies_ms.size()));
  std::printf("CreateTask -> offer on WatchOffers (ms): p50=%.2f p90=%.2f p99=%.2f p99.9=%.2f "
              "max=%.2f (last offer %.2fs after the last send)\n",
              Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.90),
              Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 0.999),
              latencies_ms.empty() ? 0.0 : latencies_ms.back(),
              absl::ToDoubleSeconds(finished - sent));
  if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  return failed.load() == 0 && static_cast<int>(latencies_ms.size()) == total ? 0 : 1;
}
