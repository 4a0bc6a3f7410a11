// prmctl: wires the process (arguments, environment, streams, wall clock) to RunPrmctl.

#include <unistd.h>

#include <iostream>

#include "common/time/clock.h"
#include "tools/prmctl/prmctl.h"

#ifndef PRM_VERSION
#define PRM_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  const prm::prmctl::CommandContext context{.env = environ,
                                            .out = std::cout,
                                            .err = std::cerr,
                                            .clock = prm::SystemClock::Instance(),
                                            .version = PRM_VERSION,
                                            .err_is_terminal = isatty(STDERR_FILENO) == 1};
  return prm::prmctl::RunPrmctl(argc, argv, context);
}
