#pragma once

// Internal to common/kafka: builds a librdkafka configuration from ClientOptions.

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/kafka/producer.h"
#include "spdlog/spdlog.h"

namespace prm::kafka {

// `defaults` first, then ClientOptions (brokers, client id, properties) override them.
inline absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const ClientOptions& options, const std::map<std::string, std::string>& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> props = defaults;
  props["bootstrap.servers"] = options.brokers;
  if (!options.client_id.empty()) props["client.id"] = options.client_id;
  for (const auto& [k, v] : options.properties) props[k] = v;
  std::string error;
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", k, ": ", error));
    }
  }
  return conf;
}

// Sends librdkafka's own log lines and errors to spdlog, so they come out as JSON log lines
// like everything else instead of raw text on stderr.
inline void LogRdKafkaEvent(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_LOG: {
      int severity = event.severity();
      if (severity <= RdKafka::Event::EVENT_SEVERITY_ERROR) {
        spdlog::error("kafka {}: {}", event.fac(), event.str());
      } else if (severity <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        spdlog::warn("kafka {}: {}", event.fac(), event.str());
      } else {
        spdlog::debug("kafka {}: {}", event.fac(), event.str());
      }
      break;
    }
    case RdKafka::Event::EVENT_ERROR:
      // Non-fatal errors repeat what the log lines above already said.
      if (event.fatal()) {
        spdlog::error("kafka fatal: {}: {}", RdKafka::err2str(event.err()), event.str());
      } else {
        spdlog::debug("kafka: {}: {}", RdKafka::err2str(event.err()), event.str());
      }
      break;
    default:
      break;
  }
}

class EventLogger final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override { LogRdKafkaEvent(event); }
};

}  // namespace prm::kafka
