// Routing target expressions as a workflow author (or an attacker) may write them: Parse
// answers INVALID_ARGUMENT or an expression that evaluates without crashing.

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "services/concierge-routing/domain/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto expression = prm::routing::Expression::Parse(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (expression.ok()) (void)expression->Evaluate(nullptr, nullptr);
  return 0;
}
