#include "tools/prmctl/health_command.h"

#include <chrono>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config/flags.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "tools/prmctl/channel.h"
#include "tools/prmctl/command_flags.h"

namespace prm::prmctl {
namespace {

using grpc::health::v1::HealthCheckResponse;

struct HealthOptions {
  ChannelOptions channel{.address = "127.0.0.1:50051"};
  std::string service;
  absl::Duration wait = absl::ZeroDuration();
  absl::Duration timeout = absl::Seconds(2);
};

// One check: the status name, and whether it is SERVING.
std::pair<std::string, bool> Check(grpc::health::v1::Health::Stub& stub,
                                   const HealthOptions& options) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(options.service);
  HealthCheckResponse response;
  grpc::Status status = stub.Check(&ctx, request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return {"SERVICE_UNKNOWN", false};
    return {"UNREACHABLE (" + status.error_message() + ")", false};
  }
  return {HealthCheckResponse::ServingStatus_Name(response.status()),
          response.status() == HealthCheckResponse::SERVING};
}

}  // namespace

int RunHealth(int argc, const char* const* argv, const CommandContext& context) {
  HealthOptions options;
  FlagSet flags("prmctl health", "ask a PRM service whether it is SERVING (grpc.health.v1)");
  AddChannelFlags(flags, &options.channel, "address");
  flags.String("service", &options.service,
               "a gRPC service name such as prm.deal.v1.DealRegistration (\"\" = the server)");
  flags.Duration("wait", &options.wait, "keep asking until SERVING for up to this long");
  flags.Duration("timeout", &options.timeout, "deadline of each check");
  if (std::optional<int> stop = ParseCommandFlags(flags, argc, argv, context)) return *stop;

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(options.channel);
  if (!channel.ok()) {
    context.err << "prmctl health: " << channel.status().message() << "\n";
    return kExitUsage;
  }
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  const absl::Time deadline = absl::Now() + options.wait;
  while (true) {
    auto [status, serving] = Check(*stub, options);
    if (serving || absl::Now() >= deadline) {
      (serving ? context.out : context.err) << status << "\n";
      return serving ? kExitOk : kExitFailure;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace prm::prmctl
