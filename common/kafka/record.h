#pragma once

// A Kafka record as PRM code sees it: plain values, no librdkafka types. The consumer hands
// these to handlers; the producer and the outbox relay take them; the CloudEvents codec maps
// them to and from events.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prm::kafka {

struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Record {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  // Set on consumed records only.
  int32_t partition = -1;
  int64_t offset = -1;

  // The value of the first header named `key`, if any.
  std::optional<std::string_view> FindHeader(std::string_view key) const {
    for (const auto& h : headers) {
      if (h.key == key) return h.value;
    }
    return std::nullopt;
  }
};

}  // namespace prm::kafka
