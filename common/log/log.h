#pragma once

// Structured logging for every PRM process (SPEC §3.4): one JSON object per line on stdout,
//
//   {"ts":"2026-01-01T00:00:00.123Z","level":"info","service":"partner-registry",
//    "msg":"...","request_id":"...","trace_id":"..."}
//
// `request_id` and `trace_id` appear only when the logging thread is inside a ScopedLogContext
// that set them. Strings are JSON-escaped; invalid UTF-8 is replaced by U+FFFD, never thrown.
//
// main() calls InitLogging once, early; everyone else just calls spdlog::info/warn/error.
// Never log secrets (tokens, authorization headers, passwords).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spdlog/formatter.h"

namespace prm::logging {

// The accepted values of `level`, most verbose first: "trace", "debug", "info", "warn",
// "error", "critical", "off". Bind the --log-level flag to these with FlagSet::Choice.
const std::vector<std::string>& LogLevelNames();

// Replaces spdlog's default logger with one that writes JSON lines to stdout (flushed after
// every line, so nothing is lost to buffering when the process is killed) at `level` and above.
// `level` must be one of LogLevelNames(); anything else is a programming error and aborts.
// Not thread-safe: call from main() before other threads log.
void InitLogging(std::string_view service, std::string_view level);

// The formatter InitLogging installs, for tests and for loggers with other sinks.
std::unique_ptr<spdlog::formatter> MakeJsonFormatter(std::string service);

// Request-scoped fields added to every line the current thread logs while the scope is alive.
// Scopes nest: the innermost wins and the outer one is restored on destruction. Empty values
// are omitted from the output. The scope belongs to the thread that created it; work handed to
// another thread must open its own scope. Not copyable or movable.
class ScopedLogContext {
 public:
  ScopedLogContext(std::string_view request_id, std::string_view trace_id);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  std::string previous_request_id_;
  std::string previous_trace_id_;
};

// The current thread's values (empty outside any scope).
std::string_view CurrentRequestId();
std::string_view CurrentTraceId();

}  // namespace prm::logging
