#include "common/status/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "common/status/field_violations.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace prm {

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());

  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(message);
  if (auto payload = status.GetPayload(kBadRequestTypeUrl)) {
    google::rpc::BadRequest bad_request;
    if (bad_request.ParseFromString(std::string(*payload))) {
      rpc_status.add_details()->PackFrom(bad_request);
    }
  }
  if (const std::string reason = ErrorReasonOf(status); !reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain(std::string(domain));
    rpc_status.add_details()->PackFrom(info);
  }
  if (auto payload = status.GetPayload(kRetryInfoTypeUrl)) {
    google::rpc::RetryInfo retry;
    if (retry.ParseFromString(std::string(*payload))) rpc_status.add_details()->PackFrom(retry);
  }
  if (rpc_status.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rpc_status;
  if (status.error_details().empty() || !rpc_status.ParseFromString(status.error_details())) {
    return out;
  }
  for (const auto& detail : rpc_status.details()) {
    google::rpc::BadRequest bad_request;
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (detail.UnpackTo(&bad_request)) {
      out.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
    } else if (detail.UnpackTo(&info)) {
      if (info.reason() != DefaultErrorReason(out.code())) out = WithReason(out, info.reason());
    } else if (detail.UnpackTo(&retry)) {
      out.SetPayload(kRetryInfoTypeUrl, absl::Cord(retry.SerializeAsString()));
    }
  }
  return out;
}

}  // namespace prm
