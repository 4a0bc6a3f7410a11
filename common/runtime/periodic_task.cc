#include "common/runtime/periodic_task.h"

#include <utility>

namespace prm::runtime {

PeriodicTask::PeriodicTask(absl::Duration interval, absl::AnyInvocable<void()> task)
    : thread_([this, interval, task = std::move(task)]() mutable {
        while (!stop_.WaitForNotificationWithTimeout(interval)) task();
      }) {}

PeriodicTask::~PeriodicTask() {
  stop_.Notify();
  thread_.join();
}

}  // namespace prm::runtime
