#pragma once

// `prmctl token`: mints an HS256 development token from the shared secret, so that a developer
// can call the services locally (SPEC §3.2 "local development mode"):
//
//   prmctl token --role=partner_user --vendor=v1,v2 --partner=p1 [--worker=w] [--subject=alice]
//                [--ttl=1h] (--jwt-secret-file=.prm/dev-secret | --jwt-secret=…)
//                [--jwt-issuer=prm-dev] [--jwt-audience=prm]
//
// The secret is read as the services read it (the file preferred, trailing whitespace dropped).
// The jwt settings also come from PRM_JWT_SECRET_FILE, PRM_JWT_SECRET, PRM_JWT_ISSUER and
// PRM_JWT_AUDIENCE, the variables the services read; other PRM_* variables are ignored. The
// token goes to stdout with a newline; nothing else does.

#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

int RunToken(int argc, const char* const* argv, const CommandContext& context);

}  // namespace prm::prmctl
