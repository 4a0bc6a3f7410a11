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
//
// TLS: certificates are watched, not loaded once: replace the files (atomically, e.g. by a
// Kubernetes Secret volume's symlink swap) and new connections use the new ones within
// tls_reload_interval, without a restart. With mutual TLS on, kubelet's gRPC probes cannot
// present a client certificate, hence the separate plaintext health port.
//
// Limits (SPEC §3.1): a request larger than max_receive_message_bytes fails with
// RESOURCE_EXHAUSTED before any handler runs; a response larger than max_send_message_bytes
// fails the call with RESOURCE_EXHAUSTED. Deadlines are the client's: gRPC cannot shorten a
// deadline on the server, so handlers that do long work read CallContext::deadline() and stop
// early; calls with no deadline are bounded only by shutdown (drain_timeout).

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
};

// OK, or INVALID_ARGUMENT naming the first bad setting (addresses must be host:port with a
// port in 0..65535, sizes positive, drain_timeout below kMaxShutdownTime, TLS certificate and
// key given together, a client CA only with them, a reload interval of at least 1 s).
absl::Status ValidateServerOptions(const ServerOptions& options);

// Binds the flags above to `options`; the current values become the defaults. Adds a check so
// that FlagSet::Parse reports what ValidateServerOptions would. `options` must outlive `flags`.
void RegisterServerFlags(FlagSet& flags, ServerOptions* options);

}  // namespace prm::server
