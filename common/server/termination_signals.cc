#include "common/server/termination_signals.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace prm::server {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool TerminationSignalsBlocked() {
  sigset_t current;
  pthread_sigmask(SIG_BLOCK, nullptr, &current);
  return sigismember(&current, SIGTERM) == 1 && sigismember(&current, SIGINT) == 1;
}

std::optional<int> WaitForTerminationSignal(absl::Duration timeout) {
  const sigset_t set = TerminationSignals();
  const timespec ts = absl::ToTimespec(timeout);
  for (;;) {
    const int signal = sigtimedwait(&set, nullptr, &ts);
    if (signal > 0) return signal;
    if (errno != EINTR) return std::nullopt;  // EAGAIN: timed out
  }
}

}  // namespace prm::server
