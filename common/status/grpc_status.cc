#include "common/status/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "common/status/field_violations.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace prm {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return grpc::Status(code, message);

  google::rpc::BadRequest bad_request;
  bad_request.ParseFromString(std::string(*payload));
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(message);
  rpc_status.add_details()->PackFrom(bad_request);
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& detail : rpc_status.details()) {
      google::rpc::BadRequest bad_request;
      if (detail.UnpackTo(&bad_request)) {
        out.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
      }
    }
  }
  return out;
}

}  // namespace prm
