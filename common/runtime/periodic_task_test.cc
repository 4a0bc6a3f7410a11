#include "common/runtime/periodic_task.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace prm::runtime {
namespace {

TEST(PeriodicTaskTest, RunsRepeatedlyUntilDestroyedAndLetsALongRunGiveUp) {
  std::atomic<int> runs = 0;
  absl::Notification third;
  {
    PeriodicTask task(absl::Milliseconds(1), [&] {
      if (++runs == 3) third.Notify();
    });
    ASSERT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
  const int at_destruction = runs;
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(runs, at_destruction) << "no run after destruction";

  // A run in progress sees stopping() once destruction begins, and destruction waits for it.
  absl::Notification started;
  bool gave_up = false;
  {
    std::atomic<PeriodicTask*> self = nullptr;
    PeriodicTask task(absl::Milliseconds(1), [&] {
      if (started.HasBeenNotified()) return;
      started.Notify();
      while (self.load() == nullptr || !self.load()->stopping()) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      gave_up = true;
    });
    self = &task;
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
  EXPECT_TRUE(gave_up);
}

}  // namespace
}  // namespace prm::runtime
