#pragma once

// The one mapping between absl::Status and grpc::Status. Field violations carried by the
// absl::Status (field_violations.h) become a google.rpc.Status with a google.rpc.BadRequest
// detail in the `grpc-status-details-bin` trailer, which any gRPC client can read back.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace prm {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for clients of other PRM services: keeps code, message and BadRequest details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace prm
