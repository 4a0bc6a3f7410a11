#pragma once

// FlagSet rejects unknown PRM_* variables, which is right for a service but wrong for a client
// run from a shell that also holds the services' settings. A command passes FlagSet only the
// variables of the flags it declares.

#include <string_view>
#include <vector>

namespace prm::prmctl {

// The entries of `env` (null-terminated `NAME=value` array, may be null) whose NAME is
// FlagSet::EnvName of one of `flags`, as a null-terminated array pointing into `env`.
std::vector<const char*> EnvironmentFor(const char* const* env,
                                        const std::vector<std::string_view>& flags);

}  // namespace prm::prmctl
