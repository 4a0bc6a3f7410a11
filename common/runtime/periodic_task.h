#pragma once

// Runs a task every `interval` on a thread of its own, from construction until destruction:
// the services' timers (due offers and SLAs, deal expiries, competency expiries, forecast
// refreshes). The first run is one interval after construction; runs never overlap. The
// destructor stops the thread and waits for a run in progress, which may look at stopping()
// to give up early. Thread-safe.

#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace prm::runtime {

class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, absl::AnyInvocable<void()> task);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // True once destruction has begun.
  bool stopping() const { return stop_.HasBeenNotified(); }

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace prm::runtime
