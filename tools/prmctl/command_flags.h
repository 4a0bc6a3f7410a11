#pragma once

// What every prmctl subcommand does with its flags, in one place.

#include <optional>

#include "common/config/flags.h"
#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

// Parses `flags` from argv and from the PRM_* variables that name the command's own flags
// (a service setting such as PRM_GRPC_LISTEN in the same shell is ignored, not rejected).
// Returns the exit code when the command stops here — after printing --help or --version, or
// the usage error (kExitUsage) — and nullopt when the command should run.
std::optional<int> ParseCommandFlags(FlagSet& flags, int argc, const char* const* argv,
                                     const CommandContext& context);

}  // namespace prm::prmctl
