#pragma once

// SIGTERM/SIGINT handling without signal handlers: the signals are blocked in every thread and
// one thread collects them synchronously with sigtimedwait (ServiceHost::RunUntilSignal).
//
// main() must call BlockTerminationSignals() first thing, before anything (gRPC, spdlog's
// async sinks, librdkafka, ...) starts a thread: threads inherit the signal mask of their
// creator, and a thread that does not block the signals would receive SIGTERM and die by it.

#include <optional>

#include "absl/time/time.h"

namespace prm::server {

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it creates later).
void BlockTerminationSignals();

// True when the calling thread has SIGTERM and SIGINT blocked.
bool TerminationSignalsBlocked();

// Waits up to `timeout` for SIGTERM or SIGINT (which must be blocked) and returns the signal
// number, or nullopt on timeout.
std::optional<int> WaitForTerminationSignal(absl::Duration timeout);

}  // namespace prm::server
