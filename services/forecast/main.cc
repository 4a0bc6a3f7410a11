// forecast: Forecasts channel revenue by partner and segment, with sales velocity and mix.

#include "common/runtime/service_runtime.h"
#include "common/storage/command_log.h"
#include "services/forecast/adapters/service.h"

int main(int argc, char** argv) {
  return prm::runtime::RunService(
      argc, argv,
      {.name = "forecast",
       .summary = "Forecasts channel revenue by partner and segment, with sales velocity and mix.",
       .schemas = {prm::command_log::Schema()},
       .consumed_topics =
           [](const prm::runtime::Topics& t) { return std::vector<std::string>{t.sales, t.partner, t.deal}; },
       .build = prm::forecast::BuildService});
}
