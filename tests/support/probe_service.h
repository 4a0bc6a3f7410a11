#pragma once

// The Probe service (probe.proto) on the common/server runtime: every RPC goes through
// prm::server::Serve / AdmitCall, so it is authenticated exactly like a real service.
// Used by the server runtime's own tests, by integration tests, and by the empty-RPC
// benchmark (bench/rpc).
//
// Thread-safe. Sleep calls are finished by the service's own timer thread, never by blocking a
// gRPC thread; a cancelled Sleep ends at once with CANCELLED. Destroying the service finishes
// any still-sleeping call with UNAVAILABLE; the service must outlive the gRPC server it is
// registered with (declare it before the ServiceHost).

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"

#include "common/server/call_context.h"
#include "probe.grpc.pb.h"

namespace prm::testing {

class ProbeService final : public prm::testing::v1::Probe::CallbackService {
 public:
  explicit ProbeService(server::Authenticator authenticator);
  ~ProbeService() override;

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const v1::PingRequest* request,
                                 v1::PingResponse* response) override;
  grpc::ServerUnaryReactor* Fail(grpc::CallbackServerContext* ctx,
                                 const v1::FailRequest* request,
                                 v1::FailResponse* response) override;
  grpc::ServerUnaryReactor* Sleep(grpc::CallbackServerContext* ctx,
                                  const v1::SleepRequest* request,
                                  v1::SleepResponse* response) override;

  // Ends every sleeping call with UNAVAILABLE and makes later Sleep calls end so at once: the
  // stream-closer pattern of ServiceHost::AddStreamCloser, for tests of the drain.
  void EndSleeps();

  // How many times a handler body ran (after authentication). For tests.
  int handler_runs() const;

  // While held, each Fail handler whose request message is kHoldMessage waits (blocking its
  // thread) until released: a stand-in for a handler waiting on a commit or another service.
  // Other Fail calls never wait. `held_fails` counts the ones waiting.
  static constexpr char kHoldMessage[] = "hold";
  // (Ping runs inline — server::ServeInline, the empty-RPC baseline — and must never wait.)
  void HoldFails(bool hold);
  int held_fails() const;

 private:
  class Timer;

  server::Authenticator authenticator_;
  std::unique_ptr<Timer> timer_;
  std::atomic<int> handler_runs_{0};
  mutable absl::Mutex hold_mu_;
  bool hold_fails_ ABSL_GUARDED_BY(hold_mu_) = false;
  int held_fails_ ABSL_GUARDED_BY(hold_mu_) = 0;
};

}  // namespace prm::testing
