// The bounded JSON parser behind tokens and structured events: never crashes, never recurses
// past its depth bound, whatever the text.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json/bounded_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)prm::json::ParseBounded(std::string_view(reinterpret_cast<const char*>(data), size), 32);
  return 0;
}
