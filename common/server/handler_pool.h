#pragma once

// The threads PRM's unary handlers run on.
//
// gRPC C++ 1.51 runs every callback-API reactor — our unary handlers and the WatchOffers-style
// streams alike — on a few "nexting" threads: max(2, min(16, cores / 2)), so 2 on a 2-core
// machine. A handler that blocks there (a SQLite group commit waiting for its fsync, a call to
// another service) stops every other call of the server: with two of them blocked, nothing
// else is read, answered or pushed, and writes cannot group their commits because at most two
// are ever in flight. Serve (call_context.h) therefore hands each admitted call to this pool
// and finishes the call's reactor from here; gRPC's threads only move bytes.
//
// A fixed number of threads take calls first come, first served. A call whose deadline has
// passed while it waited is answered DEADLINE_EXCEEDED without running (Serve checks).
//
// Thread-safe. The destructor runs what is queued, then joins the threads; ServiceHost destroys
// the pool only after the server has finished every call.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace prm::server {

class HandlerPool {
 public:
  explicit HandlerPool(int threads);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `task`; one of the pool's threads runs it.
  void Run(absl::AnyInvocable<void() &&> task);

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<absl::AnyInvocable<void() &&>> queue_;  // guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace prm::server
