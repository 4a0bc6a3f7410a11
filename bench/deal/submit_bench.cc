// SubmitDeal end to end (issue 4 benchmark): a running deal-registration binary, real gRPC,
// durable commits with the outbox. Two modes:
//   --mode submit (default): each client first registers --drafts deals (CreateDeal, not
//     measured), then submits them (SubmitDeal) for at most the given time; the figures are
//     accepted submissions per second and, with --server-pid, server CPU per SubmitDeal.
//   --mode pairs: each client registers and submits a deal in a loop (CreateDeal + SubmitDeal);
//     the figures count the pairs.
//
// Run against a service started with a known HS256 secret, e.g. (one command line each)
//   deal-registration --data-dir=/tmp/bench-deal --grpc-listen=127.0.0.1:7443
//       --jwt-secret=bench-secret-0123456789abcdef0123456789 --kafka-brokers=127.0.0.1:19092
//   prm-bench-deal-submit --target 127.0.0.1:7443 --secret bench-secret-0123456789abcdef0123456789
//       [--clients 16] [--seconds 10] [--server-pid PID]
//
// "One core" (issue 4) on a shared machine is reported as CPU time, beside the wall-clock rate:
// with --server-pid, the server process's user+system CPU seconds over the run (from
// /proc/PID/stat), per 1,000 SubmitDeal (each with its CreateDeal) and the SubmitDeal rate one
// fully used core would give; the client's own CPU comes from getrusage.

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/auth/jwt.h"
#include "common/time/clock.h"
#include "grpcpp/create_channel.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"

namespace {

namespace v1 = ::prm::deal::v1;

v1::Deal Registration(const std::string& vendor, const std::string& unique) {
  v1::Deal d;
  d.set_vendor_id(vendor);
  d.set_partner_id("bench-partner");
  d.set_title("Bench opportunity");
  d.mutable_end_customer()->set_legal_name(absl::StrCat("Customer ", unique, " Ltd"));
  d.mutable_end_customer()->set_country_code("GB");
  d.mutable_end_customer()->set_web_domain(absl::StrCat("c", unique, ".co.uk"));
  auto* line = d.add_products();
  line->set_sku("SKU-1");
  line->set_product_category("storage");
  line->set_quantity(1);
  line->mutable_amount()->set_currency_code("GBP");
  line->mutable_amount()->set_units(100);
  d.mutable_value()->set_currency_code("GBP");
  d.mutable_value()->set_units(100);
  const absl::CivilDay day = absl::ToCivilDay(absl::Now() + absl::Hours(24 * 60), absl::UTCTimeZone());
  d.mutable_expected_close_date()->set_year(static_cast<int32_t>(day.year()));
  d.mutable_expected_close_date()->set_month(day.month());
  d.mutable_expected_close_date()->set_day(day.day());
  return d;
}

// utime + stime of process `pid` in seconds; -1 when unreadable.
double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:7443";
  std::string secret;
  int clients = 16;
  int seconds = 10;
  int server_pid = 0;
  int drafts = 1000;
  std::string mode = "submit";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--target") == 0) target = argv[i + 1];
    if (std::strcmp(argv[i], "--secret") == 0) secret = argv[i + 1];
    if (std::strcmp(argv[i], "--clients") == 0) clients = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--server-pid") == 0) server_pid = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--drafts") == 0) drafts = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
  }
  auto minter = prm::auth::TokenMinter::Create(
      {.algorithm = "HS256", .hs256_secret = secret, .issuer = "prm-dev", .audience = "prm"},
      prm::SystemClock::Instance());
  if (!minter.ok()) {
    std::fprintf(stderr, "%s\n", minter.status().ToString().c_str());
    return 1;
  }
  const std::string vendor = absl::StrCat("bench-vendor-", absl::ToUnixMicros(absl::Now()));
  auto token = minter->Mint({.subject = "bench",
                             .role = prm::auth::Role::kPartnerUser,
                             .vendor_ids = {vendor},
                             .partner_id = "bench-partner"},
                            absl::Hours(1));
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().ToString().c_str());
    return 1;
  }
  const std::string authorization = "Bearer " + *token;
  std::atomic<int64_t> submitted{0}, failed{0};
  const bool pairs = mode == "pairs";
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < clients; ++c) {
    channels.push_back(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  }
  auto create = [&](v1::DealRegistration::Stub& stub, const std::string& unique,
                    std::string* deal_id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    v1::CreateDealRequest request;
    *request.mutable_deal() = Registration(vendor, unique);
    v1::CreateDealResponse created;
    if (!stub.CreateDeal(&ctx, request, &created).ok()) return false;
    *deal_id = created.deal().deal_id();
    return true;
  };
  auto submit = [&](v1::DealRegistration::Stub& stub, const std::string& deal_id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    v1::SubmitDealRequest request;
    request.set_vendor_id(vendor);
    request.set_deal_id(deal_id);
    v1::SubmitDealResponse response;
    if (stub.SubmitDeal(&ctx, request, &response).ok()) {
      ++submitted;
    } else {
      ++failed;
    }
  };
  // Drafts for the submit mode, registered before the measurement.
  std::vector<std::vector<std::string>> draft_ids(clients);
  if (!pairs) {
    std::vector<std::thread> creators;
    for (int c = 0; c < clients; ++c) {
      creators.emplace_back([&, c] {
        auto stub = v1::DealRegistration::NewStub(channels[c]);
        for (int i = 0; i < drafts; ++i) {
          std::string id;
          if (create(*stub, absl::StrCat(c, "-", i), &id)) {
            draft_ids[c].push_back(id);
          } else {
            ++failed;
          }
        }
      });
    }
    for (std::thread& t : creators) t.join();
  }
  const double server_cpu_start = server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  const double client_cpu_start = OwnCpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::DealRegistration::NewStub(channels[c]);
      if (!pairs) {
        for (size_t i = 0; i < draft_ids[c].size() && absl::Now() < end; ++i) {
          submit(*stub, draft_ids[c][i]);
        }
        return;
      }
      for (int i = 0; absl::Now() < end; ++i) {
        std::string id;
        if (!create(*stub, absl::StrCat(c, "-", i), &id)) {
          ++failed;
          continue;
        }
        submit(*stub, id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double client_cpu = OwnCpuSeconds() - client_cpu_start;
  const double server_cpu =
      server_pid > 0 ? ProcessCpuSeconds(server_pid) - server_cpu_start : -1;
  const double n = static_cast<double>(submitted.load());
  const double rpcs = pairs ? 2 * n : n;
  std::printf("mode=%s clients=%d elapsed=%.1fs submitted=%lld failed=%lld: %.0f SubmitDeal/s"
              " (%.0f write RPCs/s)\n",
              mode.c_str(), clients, elapsed, static_cast<long long>(submitted.load()),
              static_cast<long long>(failed.load()), n / elapsed, rpcs / elapsed);
  const char* what = pairs ? "SubmitDeal (+ its CreateDeal)" : "SubmitDeal";
  if (server_cpu >= 0 && n > 0) {
    std::printf("server CPU %.2f s = %.3f ms per %s -> %.0f SubmitDeal per server CPU-second\n",
                server_cpu, 1000.0 * server_cpu / n, what, n / server_cpu);
  }
  std::printf("client CPU %.2f s (%.3f ms per %s)\n", client_cpu,
              n > 0 ? 1000.0 * client_cpu / n : 0.0, what);
  return failed.load() == 0 ? 0 : 1;
}
