#pragma once

// A real PRM service binary under test: started as a child process on a free loopback port
// with its own data directory, talked to over gRPC with a minted token, stopped by SIGTERM (the
// drain) or SIGKILL (a crash). Every service's integration test stands on this.

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace prm::testing {

// The HS256 secret every service under test is started with.
inline constexpr char kTestJwtSecret[] = "integration-test-secret-0123456789abcdef012345";

// A free TCP port on 127.0.0.1 below the kernel's ephemeral range, reserved for this test
// process (a lock file) so that a service killed and restarted on it finds it free again.
int FreePort();

// `TEST_BIN_DIR/<name>` (build/bin when unset).
std::string BinaryPath(const std::string& name);

// A bearer token ("Bearer <jwt>") for `principal`, valid for an hour.
std::string Token(const auth::Principal& principal);
// A `service` token, which covers every vendor.
std::string ServiceToken();

// A client context with the token, a request id and a deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                             absl::Duration deadline = absl::Seconds(10));

class ServiceProcess {
 public:
  // `binary` is a file name in TEST_BIN_DIR ("partner-registry"). The process gets
  // --data-dir, --kafka-brokers, --kafka-group, --grpc-listen, --metrics-listen=127.0.0.1:0,
  // --jwt-secret, --log-level=warn, then `extra_args`.
  ServiceProcess(std::string binary, std::string data_dir, std::string group,
                 std::vector<std::string> extra_args = {},
                 std::string brokers = KafkaBrokersOrEmpty());
  ~ServiceProcess();  // SIGKILL if still running
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  void Start();
  // Start, then wait until the health service says SERVING; false after `timeout`.
  bool StartAndWaitServing(absl::Duration timeout = absl::Seconds(60));
  // Sends SIGTERM and waits for the exit; returns the wait status and the time it took.
  std::pair<int, absl::Duration> Terminate();
  // SIGKILL, as a crash.
  void Kill();

  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel();

 private:
  static std::string KafkaBrokersOrEmpty();

  std::string binary_;
  std::string data_dir_;
  std::string group_;
  std::vector<std::string> extra_args_;
  std::string brokers_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  pid_t pid_ = -1;
};

// The overall health of the server at `address`: SERVING, NOT_SERVING, or UNKNOWN when it does
// not answer (grpc.health.v1 enum values).
int Health(const std::string& address);
// Waits until Health(address) == want.
bool WaitForHealth(const std::string& address, int want, absl::Duration timeout);

}  // namespace prm::testing
