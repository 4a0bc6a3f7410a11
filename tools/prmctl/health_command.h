#pragma once

// `prmctl health`: asks a server's grpc.health.v1 service whether it is SERVING.

#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

// Prints the status (SERVING, NOT_SERVING, SERVICE_UNKNOWN, or UNREACHABLE with the reason);
// exits 0 only for SERVING. With --wait, keeps asking until SERVING or the wait is over.
int RunHealth(int argc, const char* const* argv, const CommandContext& context);

}  // namespace prm::prmctl
