// deal-registration: Registers partner deals, detects channel conflict, protects approved deals.

#include "common/runtime/service_runtime.h"
#include "services/deal-registration/adapters/service.h"

int main(int argc, char** argv) {
  return prm::runtime::RunService(
      argc, argv,
      {.name = "deal-registration",
       .summary = "Registers partner deals, detects channel conflict, protects approved deals.",
       .schemas = {},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.partner}; },
       .build = prm::deal::BuildService});
}
