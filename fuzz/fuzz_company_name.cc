// Company legal names in any bytes (invalid UTF-8 included): normalization never crashes and a
// name always matches itself.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "services/deal-registration/domain/company_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), size);
  (void)prm::deal::NormalizeCompanyName(name);
  (void)prm::deal::SameCompanyName(name, name);
  return 0;
}
