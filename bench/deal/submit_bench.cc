// SubmitDeal end to end (issue 4 benchmark): a running deal-registration binary, real gRPC,
// durable commits with the outbox. Each client registers a deal (CreateDeal) and submits it
// (SubmitDeal) in a loop for the given time; the figure is accepted submissions per second.
//
// Run against a service started with a known HS256 secret, e.g. (one command line each)
//   deal-registration --data-dir=/tmp/bench-deal --grpc-listen=127.0.0.1:7443
//       --jwt-secret=bench-secret-0123456789abcdef0123456789 --kafka-brokers=127.0.0.1:19092
//   prm-bench-deal-submit --target 127.0.0.1:7443 --secret bench-secret-0123456789abcdef0123456789
//       [--clients 16] [--seconds 10]

#include <atomic>
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

}  // namespace

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:7443";
  std::string secret;
  int clients = 16;
  int seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--target") == 0) target = argv[i + 1];
    if (std::strcmp(argv[i], "--secret") == 0) secret = argv[i + 1];
    if (std::strcmp(argv[i], "--clients") == 0) clients = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
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
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::DealRegistration::NewStub(
          grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
      for (int i = 0; absl::Now() < end; ++i) {
        grpc::ClientContext create_ctx;
        create_ctx.AddMetadata("authorization", authorization);
        v1::CreateDealRequest create;
        *create.mutable_deal() = Registration(vendor, absl::StrCat(c, "-", i));
        v1::CreateDealResponse created;
        if (!stub->CreateDeal(&create_ctx, create, &created).ok()) {
          ++failed;
          continue;
        }
        grpc::ClientContext submit_ctx;
        submit_ctx.AddMetadata("authorization", authorization);
        v1::SubmitDealRequest submit;
        submit.set_vendor_id(vendor);
        submit.set_deal_id(created.deal().deal_id());
        v1::SubmitDealResponse response;
        if (stub->SubmitDeal(&submit_ctx, submit, &response).ok()) {
          ++submitted;
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::printf("clients=%d seconds=%d submitted=%lld failed=%lld: %.0f SubmitDeal/s "
              "(%.0f write RPCs/s incl. CreateDeal)\n",
              clients, seconds, static_cast<long long>(submitted.load()),
              static_cast<long long>(failed.load()),
              static_cast<double>(submitted.load()) / seconds,
              2.0 * static_cast<double>(submitted.load()) / seconds);
  return failed.load() == 0 ? 0 : 1;
}
