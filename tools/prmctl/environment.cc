#include "tools/prmctl/environment.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "common/config/flags.h"

namespace prm::prmctl {

std::vector<const char*> EnvironmentFor(const char* const* env,
                                        const std::vector<std::string_view>& flags) {
  absl::flat_hash_set<std::string> names;
  for (std::string_view flag : flags) {
    names.insert(FlagSet::EnvName(absl::string_view(flag.data(), flag.size())));
  }
  std::vector<const char*> out;
  for (const char* const* e = env; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (names.contains(std::string(entry.substr(0, entry.find('='))))) out.push_back(*e);
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace prm::prmctl
