#pragma once

// `prmctl dlq list|replay`: inspect the dead letters of a `<topic>.dlq` topic and republish
// their originals once the cause is fixed (issue 9, SPEC §2 "Events in"; dead_letters.h has the
// rules). Both read the DLQ topic from its beginning to its current end with assigned
// partitions — no consumer group, no commits — and show each origin (group, topic, partition,
// offset) once.
//
//   list     a table (or --json, one object per line) of the selected dead letters
//   replay   republishes each distinct selected original to its origin topic with its key, value
//            and headers (prm_dlq_* stripped) through the idempotent producer, waits for the
//            acknowledgements and prints a summary; exit code 1 when any failed. Without a
//            selector (--group, --reason-contains, --ce-id) it needs --all.

#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

// `dlq list …` / `dlq replay …`; argv[0] is "dlq".
int RunDlq(int argc, const char* const* argv, const CommandContext& context);

}  // namespace prm::prmctl
