#pragma once

// `prmctl <noun> <verb> [flags]`: every verb is one row of kVerbs (rpc_command.cc) naming a gRPC
// method of one of the four services; one generic mechanism does the rest through protobuf
// reflection:
//   - the request comes from --request='{json}' and/or --request-file=FILE (canonical proto3
//     JSON, "-" = stdin), then from one flag per simple field of the request, nested fields
//     dotted: `--partner-id=p-1`, `--partner.legal-name=ACME`, `--series.level=VENDOR` (enum
//     values with or without their type prefix; repeated fields comma-separated; Timestamp as
//     RFC 3339, Duration as "90s", FieldMask as "a,b"). Flags win over the JSON.
//   - the call goes to --<service>-address (PRM_<SERVICE>_ADDRESS; defaults as scripts/dev:
//     partner 127.0.0.1:50051, deal :50052, routing :50053, forecast :50054) with the bearer
//     token of --token / --token-file (PRM_TOKEN / PRM_TOKEN_FILE) and a --timeout deadline.
//   - the response is printed readably (render.h) or, with --json, as canonical proto3 JSON;
//     a server-streaming method prints each message as it arrives (JSON: one per line).
//   - a failed call prints its code, message and every field violation, exit code 1.

#include <ostream>
#include <string_view>

#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

// True when `noun` names a group of RPC verbs (partners, deals, …).
bool IsRpcNoun(std::string_view noun);

// Runs `<noun> <verb> [flags]`; argv[0] is the noun.
int RunRpcNoun(int argc, const char* const* argv, const CommandContext& context);

// The nouns and their verbs, for `prmctl --help`.
void PrintRpcUsage(std::ostream& out);

}  // namespace prm::prmctl
