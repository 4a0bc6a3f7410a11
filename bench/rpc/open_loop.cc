// An open-loop latency client for any unary method of PRM's services (and the probe server):
// calls start at fixed instants, --rate per second, whatever the replies do, and a call's latency
// runs from the instant it was scheduled to its reply — a slow reply never delays later calls,
// and the queueing behind it counts (no coordinated omission). The latency a caller sees at a
// given offered load, which a closed-loop tool with N workers (ghz -c N --rps) blurs with its own
// pacing and garbage collection.
//
//   prm-bench-rpc-open-loop --target HOST:PORT --method prm.partner.v1.PartnerRegistry/GetPartner
//       --data_file requests.json [--authorization "Bearer …"] [--rate 1000] [--count 30000]
//       [--warmup 2000]
//
// --data_file holds a JSON array of request messages (proto3 JSON, as ghz -D takes them), sent
// round-robin. The method's types come from the descriptors linked in (every PRM service and the
// probe), so no code changes per method. Prints one line:
//   sent=N rate=R/s achieved=A/s errors=E p50=… p90=… p99=… p99.9=… max=… (ms)
// and exits 1 when any call failed.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/common/percentile.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "nlohmann/json.hpp"
#include "prm/deal/v1/deal_service.pb.h"
#include "prm/forecast/v1/forecast_service.pb.h"
#include "prm/partner/v1/partner_service.pb.h"
#include "prm/routing/v1/routing_service.pb.h"
#include "probe.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(std::string, method, "", "full method name, package.Service/Method");
ABSL_FLAG(std::string, data_file, "", "JSON array of requests, sent round-robin");
ABSL_FLAG(std::string, authorization, "", "authorization metadata of every call");
ABSL_FLAG(int, rate, 1000, "calls started per second");
ABSL_FLAG(int, count, 30000, "calls measured");
ABSL_FLAG(int, warmup, 2000, "calls before the measured ones, at the same rate, not counted");

namespace {

namespace pb = ::google::protobuf;
using ::prm::bench::Percentile;

// Keeps every service's descriptors in the generated pool (a static library's object file is
// linked only when something refers to it).
const pb::Descriptor* const kLinked[] = {
    prm::partner::v1::GetPartnerRequest::descriptor(),
    prm::deal::v1::GetDealRequest::descriptor(),
    prm::routing::v1::CreateTaskRequest::descriptor(),
    prm::forecast::v1::GetForecastRequest::descriptor(),
    prm::testing::v1::PingRequest::descriptor(),
};

// The requests of `path` as serialized `type` messages; exits with a message on any problem.
std::vector<grpc::ByteBuffer> ReadRequests(const std::string& path, const pb::Descriptor& type) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json array = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!in || !array.is_array() || array.empty()) {
    std::fprintf(stderr, "--data_file %s: not a non-empty JSON array\n", path.c_str());
    std::exit(2);
  }
  pb::DynamicMessageFactory factory;
  std::vector<grpc::ByteBuffer> requests;
  for (const nlohmann::json& element : array) {
    std::unique_ptr<pb::Message> message(factory.GetPrototype(&type)->New());
    if (auto s = pb::util::JsonStringToMessage(element.dump(), message.get()); !s.ok()) {
      std::fprintf(stderr, "--data_file %s: %s\n", path.c_str(), s.ToString().c_str());
      std::exit(2);
    }
    const std::string bytes = message->SerializeAsString();
    grpc::Slice slice(bytes);
    requests.emplace_back(&slice, 1);
  }
  return requests;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string method = absl::GetFlag(FLAGS_method);
  const int rate = absl::GetFlag(FLAGS_rate);
  const int count = absl::GetFlag(FLAGS_count);
  const int warmup = std::max(0, absl::GetFlag(FLAGS_warmup));
  if (rate <= 0 || count <= 0) {
    std::fprintf(stderr, "--rate and --count must be positive\n");
    return 2;
  }
  const pb::MethodDescriptor* descriptor = pb::DescriptorPool::generated_pool()->FindMethodByName(
      absl::StrReplaceAll(method, {{"/", "."}}));
  if (descriptor == nullptr || descriptor->client_streaming() ||
      descriptor->server_streaming()) {
    std::fprintf(stderr, "--method %s: no such unary method (linked: %zu services' types)\n",
                 method.c_str(), std::size(kLinked));
    return 2;
  }
  const std::vector<grpc::ByteBuffer> requests =
      ReadRequests(absl::GetFlag(FLAGS_data_file), *descriptor->input_type());
  const std::string path = "/" + method;
  const std::string authorization = absl::GetFlag(FLAGS_authorization);

  grpc::GenericStub stub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  const int total = warmup + count;
  std::vector<double> latency_ms(total, -1);
  std::atomic<int> done{0}, failed{0};
  std::mutex error_mu;
  std::string first_error;
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer response;
  };
  const absl::Time start = absl::Now() + absl::Milliseconds(100);
  absl::Time measured_from = start;
  for (int i = 0; i < total; ++i) {
    const absl::Time scheduled = start + absl::Seconds(1) * i / rate;
    if (i == warmup) measured_from = scheduled;
    const absl::Time now = absl::Now();
    if (scheduled > now) absl::SleepFor(scheduled - now);
    auto* call = new Call;
    if (!authorization.empty()) call->ctx.AddMetadata("authorization", authorization);
    stub.UnaryCall(&call->ctx, path, grpc::StubOptions(), &requests[i % requests.size()],
                   &call->response, [&, call, i, scheduled](grpc::Status s) {
                     latency_ms[i] = absl::ToDoubleMilliseconds(absl::Now() - scheduled);
                     if (!s.ok() && i >= warmup) {
                       ++failed;
                       std::lock_guard lock(error_mu);
                       if (first_error.empty()) first_error = s.error_message();
                     }
                     delete call;
                     ++done;  // last: latency_ms[i] is written before the count says so
                   });
  }
  const absl::Time sent = absl::Now();
  while (done.load() < total) absl::SleepFor(absl::Milliseconds(5));

  std::vector<double> measured(latency_ms.begin() + warmup, latency_ms.end());
  std::sort(measured.begin(), measured.end());
  std::printf("sent=%d rate=%d/s achieved=%.0f/s errors=%d p50=%.3f p90=%.3f p99=%.3f "
              "p99.9=%.3f max=%.3f (ms)\n",
              count, rate, count / absl::ToDoubleSeconds(sent - measured_from), failed.load(),
              Percentile(measured, 0.50), Percentile(measured, 0.90), Percentile(measured, 0.99),
              Percentile(measured, 0.999), measured.back());
  if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  return failed.load() == 0 ? 0 : 1;
}
