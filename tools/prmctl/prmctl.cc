#include "tools/prmctl/prmctl.h"

#include <array>
#include <string>

#include "tools/prmctl/dlq_command.h"
#include "tools/prmctl/health_command.h"
#include "tools/prmctl/rpc_command.h"
#include "tools/prmctl/sales_command.h"
#include "tools/prmctl/token_command.h"

namespace prm::prmctl {
namespace {

// The commands besides the RPC nouns of rpc_command.cc.
constexpr std::array<Subcommand, 4> kSubcommands = {{
    {"health", "ask a service whether it is SERVING", &RunHealth},
    {"token", "print a development bearer token for calling the services", &RunToken},
    {"sales", "publish: send ERP sales from a CSV file to Kafka", &RunSales},
    {"dlq", "list, replay: inspect a dead-letter topic and republish its records", &RunDlq},
}};

const Subcommand* Find(std::string_view name) {
  for (const Subcommand& command : kSubcommands) {
    if (command.name == name) return &command;
  }
  static constexpr Subcommand kRpc = {"", "", &RunRpcNoun};
  return IsRpcNoun(name) ? &kRpc : nullptr;
}

void PrintUsage(std::ostream& out) {
  out << "prmctl — command-line client for PRM, the partner relationship management platform\n\n"
         "Usage: prmctl <noun> <verb> [--flag=value ...]\n\nResources and their verbs:\n";
  PrintRpcUsage(out);
  out << "\nOther commands:\n";
  for (const Subcommand& command : kSubcommands) {
    const size_t pad = command.name.size() < 12 ? 12 - command.name.size() : 1;
    out << "  " << command.name << std::string(pad, ' ') << command.summary << "\n";
  }
  out << "\n  prmctl <noun> --help          the noun's verbs\n"
         "  prmctl <noun> <verb> --help   the verb's flags: one per request field, --request=JSON,\n"
         "                                --json output, --token, the service's address\n"
         "  prmctl --version              the version\n";
}

}  // namespace

int RunPrmctl(int argc, const char* const* argv, const CommandContext& context) {
  if (argc < 2) {
    PrintUsage(context.err);
    return kExitUsage;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h") {
    PrintUsage(context.out);
    return kExitOk;
  }
  if (first == "--version") {
    context.out << "prmctl " << context.version << "\n";
    return kExitOk;
  }
  if (first == "help") {
    if (argc < 3) {
      PrintUsage(context.out);
      return kExitOk;
    }
    const Subcommand* command = Find(argv[2]);
    if (command == nullptr) {
      context.err << "prmctl: unknown command \"" << argv[2] << "\" (see prmctl --help)\n";
      return kExitUsage;
    }
    const char* help_argv[] = {argv[2], "--help", nullptr};
    return command->run(2, help_argv, context);
  }
  const Subcommand* command = Find(first);
  if (command == nullptr) {
    context.err << "prmctl: unknown command \"" << first << "\" (see prmctl --help)\n";
    return kExitUsage;
  }
  return command->run(argc - 1, argv + 1, context);
}

}  // namespace prm::prmctl
