// An ERP SaleRecorded event whose JSON payload is arbitrary text: UnpackPayload answers
// INVALID_ARGUMENT or a message, never a crash.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/events/payload.h"
#include "prm/sales/v1/sales_events.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  prm::events::CloudEvent event{.id = "1",
                                .source = "erp/fuzz",
                                .type = "prm.sales.SaleRecorded.v1",
                                .data_content_type = "application/json",
                                .data = std::string(reinterpret_cast<const char*>(data), size)};
  prm::sales::v1::SaleRecorded sale;
  (void)prm::events::UnpackPayload(event, &sale, "prm.sales.SaleRecorded.v1");
  event.data_content_type = "application/protobuf";
  (void)prm::events::UnpackPayload(event, &sale, "prm.sales.SaleRecorded.v1");
  return 0;
}
