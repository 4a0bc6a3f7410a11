// partner-registry: Partners, vendors' channel programs, tiers, competencies and enrollments.

#include "common/runtime/service_runtime.h"
#include "services/partner-registry/adapters/service.h"

int main(int argc, char** argv) {
  return prm::runtime::RunService(
      argc, argv,
      {.name = "partner-registry",
       .summary = "Partners, vendors' channel programs, tiers, competencies and enrollments.",
       .schemas = {},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.deal}; },
       .build = prm::partner::BuildService});
}
