#pragma once

// The one mapping between absl::Status and grpc::Status. Every failed status becomes a
// google.rpc.Status in the `grpc-status-details-bin` trailer, which any gRPC client can read
// back, with these details, in this order:
//   - google.rpc.BadRequest: the field violations the status carries (field_violations.h);
//   - google.rpc.ErrorInfo: reason ErrorReasonOf(status) (error_info.h) and `domain`, for every
//     code that has a reason (none for INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED, ...);
//   - google.rpc.RetryInfo: the retry delay the status carries (error_info.h).
// A status with none of them gets no details trailer.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/status/error_info.h"
#include "grpcpp/support/status.h"

namespace prm {

// `domain` is the service's protobuf package ("prm.deal.v1") when known.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          absl::string_view domain = kDefaultErrorDomain);

// The reverse, for clients of other PRM services: keeps code, message, and the BadRequest,
// ErrorInfo reason and RetryInfo details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace prm
