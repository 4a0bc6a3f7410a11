#include "common/status/error_info.h"

#include "absl/strings/cord.h"
#include "google/rpc/error_details.pb.h"

namespace prm {

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kErrorReasonPayloadKey, absl::Cord(reason));
  return status;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  google::rpc::RetryInfo info;
  const int64_t nanos = absl::ToInt64Nanoseconds(delay);
  info.mutable_retry_delay()->set_seconds(nanos / 1'000'000'000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::string DefaultErrorReason(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "INVALID_FIELD";
    case absl::StatusCode::kNotFound: return "NOT_FOUND";
    case absl::StatusCode::kAlreadyExists: return "DUPLICATE";
    case absl::StatusCode::kPermissionDenied: return "ACCESS_DENIED";
    case absl::StatusCode::kUnauthenticated: return "INVALID_TOKEN";
    case absl::StatusCode::kAborted: return "STALE_ETAG";  // every ABORTED is an etag mismatch
    case absl::StatusCode::kFailedPrecondition: return "ILLEGAL_STATE_TRANSITION";
    case absl::StatusCode::kResourceExhausted: return "LIMIT_EXCEEDED";
    case absl::StatusCode::kUnavailable: return "SERVICE_UNAVAILABLE";
    default: return "";
  }
}

std::string ErrorReasonOf(const absl::Status& status) {
  if (auto reason = status.GetPayload(kErrorReasonPayloadKey)) {
    return std::string(*reason);
  }
  return DefaultErrorReason(status.code());
}

std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryInfoTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

}  // namespace prm
