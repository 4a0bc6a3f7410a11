#pragma once

// Parsing untrusted JSON (tokens, event envelopes, payloads) without exceptions and without
// unbounded nesting, so that nothing downstream recurses deeply on hostile input.

#include <optional>
#include <string_view>

#include "nlohmann/json.hpp"

namespace prm::json {

// The parsed document, or nullopt when `text` is not JSON or nests deeper than `max_depth`.
inline std::optional<nlohmann::json> ParseBounded(std::string_view text, int max_depth) {
  bool too_deep = false;
  nlohmann::json::parser_callback_t limit = [&too_deep, max_depth](
                                                int depth, nlohmann::json::parse_event_t,
                                                nlohmann::json&) {
    if (depth > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  nlohmann::json parsed =
      nlohmann::json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || too_deep) return std::nullopt;
  return parsed;
}

}  // namespace prm::json
