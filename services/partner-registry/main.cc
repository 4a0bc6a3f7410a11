// partner-registry: Partners, vendors' channel programs, tiers, competencies and enrollments.

#include "common/runtime/service_runtime.h"
#include "services/partner-registry/adapters/service.h"

int main(int argc, char** argv) {
  static prm::partner::ServiceOptions options;
  return prm::runtime::RunService(
      argc, argv,
      {.name = "partner-registry",
       .summary = "Partners, vendors' channel programs, tiers, competencies and enrollments.",
       .schemas = {prm::partner::StoreSchema()},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.deal}; },
       .add_flags =
           [](prm::FlagSet& flags) {
             flags.Duration("partner-tick-interval", &options.tick_interval,
                            "how often time passes for every enrollment (competency notices and "
                            "expiry, the trailing revenue window, downgrade grace periods)");
             flags.Check([] {
               return options.tick_interval > absl::ZeroDuration()
                          ? std::string()
                          : std::string("--partner-tick-interval must be positive");
             });
           },
       .build =
           [](prm::runtime::Runtime& rt)
           -> absl::StatusOr<std::unique_ptr<prm::runtime::ServiceParts>> {
         auto parts = prm::partner::BuildPartnerRegistry(rt, options);
         if (!parts.ok()) return parts.status();
         return std::unique_ptr<prm::runtime::ServiceParts>(std::move(*parts));
       }});
}
