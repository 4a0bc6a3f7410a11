#pragma once

// The settings every PRM service binary shares for its gRPC server, metrics endpoint, logging
// and shutdown, and the flags that fill them, so that all four services expose the same knobs:
//
//   --grpc-listen              PRM_GRPC_LISTEN              gRPC address host:port
//   --metrics-listen           PRM_METRICS_LISTEN           /metrics host:port ("" = none)
//   --max-message-bytes        PRM_MAX_MESSAGE_BYTES        largest request accepted
//   --max-send-message-bytes   PRM_MAX_SEND_MESSAGE_BYTES   largest response sent
//   --max-concurrent-streams   PRM_MAX_CONCURRENT_STREAMS   concurrent RPCs per client connection
//   --drain-timeout            PRM_DRAIN_TIMEOUT            bound on in-flight RPCs at shutdown
//   --rpc-metrics              PRM_RPC_METRICS              record RED metrics per RPC
//   --log-level                PRM_LOG_LEVEL                trace|debug|info|warn|error|..
//   --tls-cert-file            PRM_TLS_CERT_FILE            server certificate chain (PEM): TLS on
//   --tls-key-file             PRM_TLS_KEY_FILE             its private key (PEM)
//   --tls-client-ca-file       PRM_TLS_CLIENT_CA_FILE       CA bundle (PEM): mutual TLS, clients
//                                                           must present a certificate it signed
//   --tls-reload-interval      PRM_TLS_RELOAD_INTERVAL      how often the three files are re-read
//   --health-listen            PRM_HEALTH_LISTEN            plaintext host:port serving only
//                                                           grpc.health.v1 ("" = none)
//   --rate-limit               PRM_RATE_LIMIT               calls/s per caller (0 = no limit)
//   --rate-limit-burst         PRM_RATE_LIMIT_BURST         calls a caller may make at once
//   --max-deadline             PRM_MAX_DEADLINE             bound on a unary call's deadline
//   --max-stream-duration      PRM_MAX_STREAM_DURATION      bound on a streaming call's life
//
// TLS: certificates are watched, not loaded once: replace the files (atomically, e.g. by a
// Kubernetes Secret volume's symlink swap) and new connections use the new ones within
// tls_reload_interval, without a restart. With mutual TLS on, kubelet's gRPC probes cannot
// present a client certificate, hence the separate plaintext health port.
//
// Limits (SPEC §3.1): a request larger than max_receive_message_bytes fails with
// RESOURCE_EXHAUSTED before any handler runs; a response larger than max_send_message_bytes
// fails the call with RESOURCE_EXHAUSTED. Each caller (token subject and role; `service`
// exempt) may make rate_limit calls/s with bursts of rate_limit_burst; beyond that calls fail
// with RESOURCE_EXHAUSTED, reason RATE_LIMITED and a RetryInfo (rate_limiter.h). A call's
// deadline is the client's bounded by max_deadline (unary) or max_stream_duration (streams):
// CallContext::deadline() reports the bound, and the host cancels a call still running at it
// (the client sees CANCELLED). Page size, filter length and batch size: limits.h.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config/flags.h"

namespace prm::server {

// The SPEC §3.4 bound from SIGTERM to exit.
inline constexpr absl::Duration kMaxShutdownTime = absl::Seconds(25);

struct ServerOptions {
  // Loopback with a free port by default; a service's main sets its own defaults (for example
  // "0.0.0.0:50051" and "0.0.0.0:9090") before RegisterServerFlags, which shows them in --help.
  std::string grpc_listen = "127.0.0.1:0";
  std::string metrics_listen = "127.0.0.1:0";  // empty: no metrics endpoint
  int64_t max_receive_message_bytes = 4 << 20;
  int64_t max_send_message_bytes = 16 << 20;
  int64_t max_concurrent_streams = 1000;
  // Threads running unary handlers (handler_pool.h): how many calls may block at once (a
  // commit's fsync, a call to another service) while the server goes on serving the rest.
  int64_t handler_threads = 32;
  // How long shutdown waits for in-flight RPCs before cancelling them. Drain steps run after
  // that, within what is left of kMaxShutdownTime.
  absl::Duration drain_timeout = absl::Seconds(20);
  bool rpc_metrics = true;  // false only to measure the interceptor's cost
  std::string log_level = "info";
  std::string tls_cert_file;       // empty: plaintext
  std::string tls_key_file;
  std::string tls_client_ca_file;  // empty: no client certificates asked for
  absl::Duration tls_reload_interval = absl::Seconds(60);
  std::string health_listen;       // empty: health only on the gRPC port
  int64_t rate_limit = 5000;        // calls/s per caller; 0: no limit
  int64_t rate_limit_burst = 10000; // at least 1
  absl::Duration max_deadline = absl::Seconds(60);
  absl::Duration max_stream_duration = absl::Hours(1);
};

// OK, or INVALID_ARGUMENT naming the first bad setting (addresses must be host:port with a
// port in 0..65535, sizes positive, drain_timeout below kMaxShutdownTime, a rate limit of
// 0 or more with a burst of at least 1, deadline caps of at least 1 s, TLS certificate and
// key given together, a client CA only with them, a reload interval of at least 1 s).
absl::Status ValidateServerOptions(const ServerOptions& options);

// Binds the flags above to `options`; the current values become the defaults. Adds a check so
// that FlagSet::Parse reports what ValidateServerOptions would. `options` must outlive `flags`.
void RegisterServerFlags(FlagSet& flags, ServerOptions* options);

}  // namespace prm::server
