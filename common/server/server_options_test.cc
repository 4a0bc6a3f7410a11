#include "common/server/server_options.h"

#include "common/config/flags.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::server {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RegisterServerFlags, FillsOptionsFromFlagsAndEnvironment) {
  ServerOptions options;
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const char* argv[] = {"test-service", "--grpc-listen=0.0.0.0:50051", "--drain-timeout=5s",
                        "--rpc-metrics=false", "--log-level", "debug"};
  const char* env[] = {"PRM_MAX_MESSAGE_BYTES=1024", "PRM_METRICS_LISTEN=", nullptr};

  auto outcome = flags.Parse(6, argv, env);
  ASSERT_OK(outcome);
  EXPECT_EQ(*outcome, FlagSet::Outcome::kRun);
  EXPECT_EQ(options.grpc_listen, "0.0.0.0:50051");
  EXPECT_EQ(options.drain_timeout, absl::Seconds(5));
  EXPECT_FALSE(options.rpc_metrics);
  EXPECT_EQ(options.log_level, "debug");
  EXPECT_EQ(options.max_receive_message_bytes, 1024);
  EXPECT_EQ(options.metrics_listen, "");
}

TEST(RegisterServerFlags, UsageShowsEveryFlagWithItsDefault) {
  ServerOptions options;
  options.grpc_listen = "0.0.0.0:50051";
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const std::string usage = flags.Usage();
  for (const char* flag : {"--grpc-listen", "--metrics-listen", "--max-message-bytes",
                           "--max-send-message-bytes", "--max-concurrent-streams",
                           "--drain-timeout", "--rpc-metrics", "--log-level", "--rate-limit",
                           "--rate-limit-burst", "--max-deadline", "--max-stream-duration"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(usage, HasSubstr("[default: 0.0.0.0:50051]"));
  EXPECT_THAT(usage, HasSubstr("PRM_DRAIN_TIMEOUT"));
}

TEST(RegisterServerFlags, RejectsADrainTimeoutBeyondTheShutdownBound) {
  ServerOptions options;
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const char* argv[] = {"test-service", "--drain-timeout=30s"};
  EXPECT_THAT(flags.Parse(2, argv, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--drain-timeout")));
}

TEST(RegisterServerFlags, LimitFlagsFillOptionsAndBadValuesAreRefused) {
  ServerOptions options;
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const char* argv[] = {"test-service", "--rate-limit=0", "--max-deadline=5s"};
  const char* env[] = {"PRM_RATE_LIMIT_BURST=7", "PRM_MAX_STREAM_DURATION=10m", nullptr};
  ASSERT_OK(flags.Parse(3, argv, env));
  EXPECT_EQ(options.rate_limit, 0);
  EXPECT_EQ(options.rate_limit_burst, 7);
  EXPECT_EQ(options.max_deadline, absl::Seconds(5));
  EXPECT_EQ(options.max_stream_duration, absl::Minutes(10));

  const std::pair<void (*)(ServerOptions&), const char*> bad[] = {
      {[](ServerOptions& o) { o.rate_limit = -1; }, "--rate-limit"},
      {[](ServerOptions& o) { o.rate_limit_burst = 0; }, "--rate-limit-burst"},
      {[](ServerOptions& o) { o.max_deadline = absl::Milliseconds(500); }, "--max-deadline"},
      {[](ServerOptions& o) { o.max_stream_duration = absl::ZeroDuration(); },
       "--max-stream-duration"},
  };
  for (const auto& [spoil, flag] : bad) {
    ServerOptions o;
    spoil(o);
    EXPECT_THAT(ValidateServerOptions(o),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(flag)));
  }
}

TEST(RegisterServerFlags, RejectsAnAddressWithoutPort) {
  ServerOptions options;
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const char* argv[] = {"test-service", "--grpc-listen=localhost"};
  EXPECT_THAT(flags.Parse(2, argv, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--grpc-listen")));
}

TEST(RegisterServerFlags, RejectsAnUnknownLogLevel) {
  ServerOptions options;
  FlagSet flags("test-service", "A test.");
  RegisterServerFlags(flags, &options);
  const char* argv[] = {"test-service", "--log-level=loud"};
  EXPECT_THAT(flags.Parse(2, argv, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--log-level")));
}

TEST(ValidateServerOptions, AcceptsTheDefaults) { EXPECT_THAT(ValidateServerOptions({}), IsOk()); }

TEST(ValidateServerOptions, RejectsBadValuesNamingTheFlag) {
  ServerOptions bad_port;
  bad_port.grpc_listen = "127.0.0.1:70000";
  EXPECT_THAT(ValidateServerOptions(bad_port),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--grpc-listen")));

  ServerOptions bad_metrics;
  bad_metrics.metrics_listen = "9090";
  EXPECT_THAT(ValidateServerOptions(bad_metrics),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--metrics-listen")));

  ServerOptions bad_size;
  bad_size.max_receive_message_bytes = 0;
  EXPECT_THAT(ValidateServerOptions(bad_size),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-message-bytes")));
}

}  // namespace
}  // namespace prm::server
