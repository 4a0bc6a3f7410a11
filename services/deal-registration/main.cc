// deal-registration: Registers partner deals, detects channel conflict, protects approved deals.

#include "common/runtime/service_runtime.h"
#include "common/storage/command_log.h"
#include "services/deal-registration/adapters/service.h"

int main(int argc, char** argv) {
  static prm::deal::ServiceOptions options;
  return prm::runtime::RunService(
      argc, argv,
      {.name = "deal-registration",
       .summary = "Registers partner deals, detects channel conflict, protects approved deals.",
       .schemas = {prm::command_log::Schema()},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.partner}; },
       .add_flags =
           [](prm::FlagSet& flags) {
             flags.Duration("deal-timer-interval", &options.timer_interval,
                            "how often due approval SLAs, expiry reminders and expiries are run");
             flags.Duration("deal-testing-clock-offset", &options.clock_offset,
                            "testing only: shift the service clock forward by this much");
             prm::client::RegisterClientFlags(flags, &options.partner_registry);
             prm::client::RegisterServiceIdentityFlags(flags, &options.service_token_file);
             flags.Check([] {
               return options.timer_interval > absl::ZeroDuration()
                          ? std::string()
                          : std::string("--deal-timer-interval must be positive");
             });
           },
       .build = [](prm::runtime::Runtime& rt) { return prm::deal::BuildService(rt, options); }});
}
