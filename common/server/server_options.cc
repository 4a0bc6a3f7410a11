#include "common/server/server_options.h"

#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace prm::server {
namespace {

constexpr int64_t kMaxRateSetting = 1'000'000'000;
constexpr int64_t kMaxHandlerThreads = 1024;

bool IsHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  int port = 0;
  const std::string_view digits = address.substr(colon + 1);
  return absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &port) && port >= 0 &&
         port <= 65535;
}

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& options) {
  if (!IsHostPort(options.grpc_listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-listen: \"", options.grpc_listen, "\" is not host:port"));
  }
  if (!options.metrics_listen.empty() && !IsHostPort(options.metrics_listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen: \"", options.metrics_listen, "\" is not host:port"));
  }
  if (options.max_receive_message_bytes <= 0 || options.max_receive_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError("--max-message-bytes: must be between 1 and 2^31-1");
  }
  if (options.max_send_message_bytes <= 0 || options.max_send_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError("--max-send-message-bytes: must be between 1 and 2^31-1");
  }
  if (options.max_concurrent_streams <= 0 || options.max_concurrent_streams > INT32_MAX) {
    return absl::InvalidArgumentError("--max-concurrent-streams: must be between 1 and 2^31-1");
  }
  if (options.handler_threads < 1 || options.handler_threads > kMaxHandlerThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--handler-threads: must be between 1 and ", kMaxHandlerThreads));
  }
  if (options.drain_timeout < absl::ZeroDuration() ||
      options.drain_timeout >= kMaxShutdownTime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--drain-timeout: must be below ", absl::FormatDuration(kMaxShutdownTime),
        " so that shutdown ends within it"));
  }
  if (!options.health_listen.empty() && !IsHostPort(options.health_listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--health-listen: \"", options.health_listen, "\" is not host:port"));
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert-file, --tls-key-file: give both (TLS) or neither (plaintext)");
  }
  if (!options.tls_client_ca_file.empty() && options.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file: mutual TLS needs --tls-cert-file and --tls-key-file too");
  }
  if (options.tls_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-interval: must be at least 1s");
  }
  if (options.rate_limit < 0 || options.rate_limit > kMaxRateSetting) {
    return absl::InvalidArgumentError("--rate-limit: must be between 0 (no limit) and 10^9");
  }
  if (options.rate_limit_burst < 1 || options.rate_limit_burst > kMaxRateSetting) {
    return absl::InvalidArgumentError("--rate-limit-burst: must be between 1 and 10^9");
  }
  if (options.max_deadline < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--max-deadline: must be at least 1s");
  }
  if (options.max_stream_duration < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--max-stream-duration: must be at least 1s");
  }
  bool known_level = false;
  for (const std::string& level : logging::LogLevelNames()) {
    known_level |= level == options.log_level;
  }
  if (!known_level) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-level: unknown level \"", options.log_level, "\""));
  }
  return absl::OkStatus();
}

void RegisterServerFlags(FlagSet& flags, ServerOptions* options) {
  flags.String("grpc-listen", &options->grpc_listen,
               "gRPC listen address host:port (port 0 picks a free port)");
  flags.String("metrics-listen", &options->metrics_listen,
               "Prometheus /metrics listen address host:port; empty disables it");
  flags.Int("max-message-bytes", &options->max_receive_message_bytes,
            "largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED", 1,
            INT32_MAX);
  flags.Int("max-send-message-bytes", &options->max_send_message_bytes,
            "largest response message sent", 1, INT32_MAX);
  flags.Int("max-concurrent-streams", &options->max_concurrent_streams,
            "concurrent RPCs allowed on one client connection", 1, INT32_MAX);
  flags.Int("handler-threads", &options->handler_threads,
            "threads running unary handlers: how many calls may wait at once (for a commit, for "
            "another service) while the rest are served",
            1, kMaxHandlerThreads);
  flags.Duration("drain-timeout", &options->drain_timeout,
                 "on SIGTERM, how long in-flight RPCs may run before they are cancelled");
  flags.Bool("rpc-metrics", &options->rpc_metrics,
             "record grpc_server_* RED metrics for every RPC");
  flags.Choice("log-level", &options->log_level, logging::LogLevelNames(),
               "lowest level written to the JSON log");
  flags.String("tls-cert-file", &options->tls_cert_file,
               "server certificate chain, PEM; with --tls-key-file turns TLS on (files are "
               "re-read every --tls-reload-interval: rotate without restart)");
  flags.String("tls-key-file", &options->tls_key_file, "private key of --tls-cert-file, PEM");
  flags.String("tls-client-ca-file", &options->tls_client_ca_file,
               "CA bundle, PEM: require and verify client certificates (mutual TLS)");
  flags.Duration("tls-reload-interval", &options->tls_reload_interval,
                 "how often the TLS files are re-read");
  flags.String("health-listen", &options->health_listen,
               "plaintext host:port serving only grpc.health.v1, for probes when mutual TLS is "
               "on; empty: health only on --grpc-listen");
  flags.Int("rate-limit", &options->rate_limit,
            "calls per second each caller (token subject and role) may make; more fail with "
            "RESOURCE_EXHAUSTED and a retry delay; 0: no limit; `service` callers are exempt",
            0, kMaxRateSetting);
  flags.Int("rate-limit-burst", &options->rate_limit_burst,
            "calls a caller may make at once before --rate-limit applies", 1, kMaxRateSetting);
  flags.Duration("max-deadline", &options->max_deadline,
                 "longest a unary call may run: a longer or missing client deadline is bounded");
  flags.Duration("max-stream-duration", &options->max_stream_duration,
                 "longest a streaming call (WatchOffers...) may stay open; clients reconnect");
  flags.Check([options]() -> std::string {
    absl::Status status = ValidateServerOptions(*options);
    return status.ok() ? std::string() : std::string(status.message());
  });
}

}  // namespace prm::server
