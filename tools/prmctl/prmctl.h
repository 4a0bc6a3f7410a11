#pragma once

// prmctl, the command-line client for people (SPEC §8): `prmctl <command> [--flag=value ...]`.
// Each command is one entry of a table (prmctl.cc) with its own FlagSet; adding a command
// means writing one Run function and adding one row. The RPC nouns (`prmctl <noun> <verb>`:
// partners, deals, tasks, forecast, …) are rows of one generic mechanism (rpc_command.h).
//
// Exit codes: 0 success, 1 the command failed, 2 usage error (unknown command or flag, bad or
// missing value). Not thread-safe: one command runs per process.

#include <ostream>
#include <string_view>

#include "common/time/clock.h"

namespace prm::prmctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// What a command may touch, injected so that tests run commands in-process.
struct CommandContext {
  const char* const* env;  // `environ`-style, null-terminated; may be null
  std::ostream& out;       // results (a token, a table) and --help
  std::ostream& err;       // diagnostics
  const Clock& clock;
  std::string_view version;
  bool err_is_terminal = false;  // `err` is a terminal: progress bars redraw in place
};

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  // argv[0] is the command's name; returns the exit code.
  int (*run)(int argc, const char* const* argv, const CommandContext& context);
};

// Dispatches `prmctl <command> …` (argv[0] is the program). Also handles `--help`, `help
// <command>` and `--version`.
int RunPrmctl(int argc, const char* const* argv, const CommandContext& context);

}  // namespace prm::prmctl
