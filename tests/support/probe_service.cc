#include "tests/support/probe_service.h"

#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"

namespace prm::testing {
namespace {

constexpr int64_t kMaxSleepMilliseconds = 60'000;

// A Sleep call's reactor. Whoever finishes first — the timer, a cancellation or the service's
// destruction — finishes it; the shared state outlives the reactor so latecomers see that.
class SleepReactor final : public grpc::ServerUnaryReactor {
 public:
  struct State {
    std::atomic<bool> finished{false};
    SleepReactor* reactor;
    void Finish(grpc::Status status) {
      if (!finished.exchange(true)) reactor->Finish(std::move(status));
    }
  };

  SleepReactor() : state_(std::make_shared<State>()) { state_->reactor = this; }
  const std::shared_ptr<State>& state() const { return state_; }

  void OnCancel() override {
    state_->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "sleep cancelled"));
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

// Finishes sleeping calls when they are due, on one thread.
class ProbeService::Timer {
 public:
  Timer() : thread_([this] { Run(); }) {}

  ~Timer() {
    EndAll();
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      wake_.Signal();
    }
    thread_.join();
  }

  void FinishAt(absl::Time when, std::shared_ptr<SleepReactor::State> state) {
    {
      absl::MutexLock lock(&mu_);
      if (!ended_) {
        due_.emplace(when, std::move(state));
        wake_.Signal();
        return;
      }
    }
    state->Finish(Ended());
  }

  // Finishes every pending call with UNAVAILABLE, now and from now on.
  void EndAll() {
    std::multimap<absl::Time, std::shared_ptr<SleepReactor::State>> pending;
    {
      absl::MutexLock lock(&mu_);
      ended_ = true;
      pending.swap(due_);
    }
    for (auto& [when, state] : pending) state->Finish(Ended());
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      if (due_.empty()) {
        wake_.Wait(&mu_);
        continue;
      }
      if (const absl::Time next = due_.begin()->first; absl::Now() < next) {
        wake_.WaitWithDeadline(&mu_, next);
        continue;
      }
      std::shared_ptr<SleepReactor::State> state = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      mu_.Unlock();
      state->Finish(grpc::Status::OK);
      mu_.Lock();
    }
  }

  absl::Mutex mu_;
  absl::CondVar wake_;
  std::multimap<absl::Time, std::shared_ptr<SleepReactor::State>> due_ ABSL_GUARDED_BY(mu_);
  static grpc::Status Ended() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
  }

  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

ProbeService::ProbeService(server::Authenticator authenticator)
    : authenticator_(std::move(authenticator)), timer_(std::make_unique<Timer>()) {}

ProbeService::~ProbeService() = default;

void ProbeService::EndSleeps() { timer_->EndAll(); }

int ProbeService::handler_runs() const { return handler_runs_.load(); }

void ProbeService::HoldFails(bool hold) {
  absl::MutexLock lock(&hold_mu_);
  hold_fails_ = hold;
}

int ProbeService::held_fails() const {
  absl::MutexLock lock(&hold_mu_);
  return held_fails_;
}

grpc::ServerUnaryReactor* ProbeService::Ping(grpc::CallbackServerContext* ctx,
                                             const v1::PingRequest* request,
                                             v1::PingResponse* response) {
  return server::ServeInline(ctx, authenticator_, [=, this](const server::CallContext& call) {
    handler_runs_.fetch_add(1, std::memory_order_relaxed);
    if (request->describe_call()) {
      response->set_subject(call.principal().subject);
      response->set_request_id(call.request_id());
      response->set_trace_id(call.trace_id());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ProbeService::Fail(grpc::CallbackServerContext* ctx,
                                             const v1::FailRequest* request,
                                             v1::FailResponse* /*response*/) {
  return server::Serve(ctx, authenticator_, [=, this](const server::CallContext&) -> absl::Status {
    handler_runs_.fetch_add(1, std::memory_order_relaxed);
    if (request->message() == kHoldMessage) {
      absl::MutexLock lock(&hold_mu_);
      ++held_fails_;
      hold_mu_.Await(absl::Condition(+[](bool* hold) { return !*hold; }, &hold_fails_));
      --held_fails_;
    }
    if (request->code() == 0) {
      FieldViolations bad;
      bad.Add("name", "must not be empty");
      bad.Add("page_size", "must be between 1 and 1000");
      return bad.ToStatus("invalid probe request");
    }
    if (request->code() < 0 || request->code() > 16) {
      return InvalidField("code", "must be a google.rpc.Code value between 0 and 16");
    }
    return absl::Status(static_cast<absl::StatusCode>(request->code()), request->message());
  });
}

grpc::ServerUnaryReactor* ProbeService::Sleep(grpc::CallbackServerContext* ctx,
                                              const v1::SleepRequest* request,
                                              v1::SleepResponse* /*response*/) {
  absl::StatusOr<server::CallContext> call = server::AdmitCall(ctx, authenticator_);
  absl::Status status = call.status();
  if (status.ok()) {
    status = server::RunHandler(*call, [&](const server::CallContext&) -> absl::Status {
      handler_runs_.fetch_add(1, std::memory_order_relaxed);
      if (request->milliseconds() < 0 || request->milliseconds() > kMaxSleepMilliseconds) {
        return InvalidField("milliseconds", "must be between 0 and 60000");
      }
      return absl::OkStatus();
    });
  }
  if (!status.ok()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  auto* reactor = new SleepReactor();
  timer_->FinishAt(absl::Now() + absl::Milliseconds(request->milliseconds()), reactor->state());
  return reactor;
}

}  // namespace prm::testing
