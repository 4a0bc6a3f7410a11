// forecast: Forecasts channel revenue by partner and segment, with sales velocity and mix.

#include "common/runtime/service_runtime.h"
#include "common/storage/command_log.h"
#include "services/forecast/adapters/service.h"

int main(int argc, char** argv) {
  static prm::forecast::ServiceOptions options;
  return prm::runtime::RunService(
      argc, argv,
      {.name = "forecast",
       .summary = "Forecasts channel revenue by partner and segment, with sales velocity and mix.",
       .schemas = {prm::command_log::Schema()},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.partner, t.deal}; },
       .add_flags =
           [](prm::FlagSet& flags) {
             flags.Duration("forecast-refresh-interval", &options.refresh_interval,
                            "how often stale stored forecasts are recomputed and changed ones "
                            "published as ForecastUpdated");
             flags.Check([] {
               return options.refresh_interval >= absl::Milliseconds(10)
                          ? std::string()
                          : std::string("--forecast-refresh-interval must be at least 10ms");
             });
           },
       .build = [](prm::runtime::Runtime& rt) { return prm::forecast::BuildService(rt, options); }});
}
