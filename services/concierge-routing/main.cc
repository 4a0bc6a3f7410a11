// concierge-routing: Routes partner requests to the right sales concierge within SLA.

#include "common/client/service_client.h"
#include "common/runtime/service_runtime.h"
#include "common/storage/command_log.h"
#include "services/concierge-routing/adapters/service.h"

int main(int argc, char** argv) {
  static prm::routing::ServiceOptions options;
  return prm::runtime::RunService(
      argc, argv,
      {.name = "concierge-routing",
       .summary = "Routes partner requests to the right sales concierge within SLA.",
       .schemas = {prm::command_log::Schema()},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.partner, t.deal}; },
       .add_flags =
           [](prm::FlagSet& flags) {
             prm::client::RegisterClientFlags(flags, &options.partner_registry);
             prm::client::RegisterServiceIdentityFlags(flags, &options.service_token_file);
           },
       .build = [](prm::runtime::Runtime& rt) { return prm::routing::BuildService(rt, options); }});
}
