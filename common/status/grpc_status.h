#pragma once

// The one mapping between absl::Status and grpc::Status. Every failed status becomes a
// google.rpc.Status in the `grpc-status-details-bin` trailer, which any gRPC client can read
// back, with these details, in this order:
//   - google.rpc.BadRequest: the field violations the status carries (field_violations.h);
//   - google.rpc.ErrorInfo: reason ErrorReasonOf(status) (error_info.h) and `domain`, for every
//     code that has a reason (none for INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED, ...);
//   - google.rpc.RetryInfo: the retry delay the status carries (error_info.h).
// A status with none of them gets no details trailer.
//
// The trailers fit the 8 KiB of metadata a gRPC client accepts by default (grpc-message is
// percent-encoded, the details base64-encoded), whatever the request held: otherwise a client
// sees RESOURCE_EXHAUSTED "received initial metadata size exceeds limit" instead of the error.
// The message is cut to kMaxStatusMessageBytes; the BadRequest keeps the violations that fit
// kMaxBadRequestBytes, in order, each field and description cut, and the message then says how
// many more there were.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/status/error_info.h"
#include "grpcpp/support/status.h"

namespace prm {

inline constexpr size_t kMaxStatusMessageBytes = 1024;
inline constexpr size_t kMaxBadRequestBytes = 2048;
inline constexpr size_t kMaxViolationFieldBytes = 256;
inline constexpr size_t kMaxViolationDescriptionBytes = 512;

// `domain` is the service's protobuf package ("prm.deal.v1") when known.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          absl::string_view domain = kDefaultErrorDomain);

// The reverse, for clients of other PRM services: keeps code, message, and the BadRequest,
// ErrorInfo reason and RetryInfo details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace prm
