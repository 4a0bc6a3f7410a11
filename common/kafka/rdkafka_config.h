#pragma once

// Internal to common/kafka: builds a librdkafka configuration from ClientOptions.

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/kafka/producer.h"

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

}  // namespace prm::kafka
