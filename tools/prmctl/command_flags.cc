#include "tools/prmctl/command_flags.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace prm::prmctl {

std::optional<int> ParseCommandFlags(FlagSet& flags, int argc, const char* const* argv,
                                     const CommandContext& context) {
  absl::flat_hash_set<std::string> names;
  for (const std::string& flag : flags.Names()) names.insert(FlagSet::EnvName(flag));
  std::vector<const char*> env;
  for (const char* const* e = context.env; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (names.contains(std::string(entry.substr(0, entry.find('='))))) env.push_back(*e);
  }
  env.push_back(nullptr);

  absl::StatusOr<FlagSet::Outcome> outcome = flags.Parse(argc, argv, env.data());
  if (!outcome.ok()) {
    context.err << outcome.status().message() << "\n";
    return kExitUsage;
  }
  switch (*outcome) {
    case FlagSet::Outcome::kHelp:
      context.out << flags.Usage();
      return kExitOk;
    case FlagSet::Outcome::kVersion:
      context.out << "prmctl " << context.version << "\n";
      return kExitOk;
    case FlagSet::Outcome::kRun:
      return std::nullopt;
  }
  return kExitUsage;
}

}  // namespace prm::prmctl
