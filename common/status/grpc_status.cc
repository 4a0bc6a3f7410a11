#include "common/status/grpc_status.h"

#include <string>
#include <string_view>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violations.h"
#include "common/text/text.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace prm {
namespace {

// A text cut to `max_bytes` on a code point boundary, saying how long it was.
std::string Cut(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::string_view kept = TruncateUtf8(std::string_view(text.data(), text.size()), max_bytes);
  return absl::StrCat(absl::string_view(kept.data(), kept.size()), "... (", text.size(),
                      " bytes)");
}

// The violations that fit the details budget, each field and description cut, in their order;
// the message says how many were left out.
google::rpc::BadRequest Bounded(const google::rpc::BadRequest& all, std::string& message) {
  google::rpc::BadRequest kept;
  size_t bytes = 0;
  for (const auto& v : all.field_violations()) {
    google::rpc::BadRequest::FieldViolation cut;
    cut.set_field(Cut(v.field(), kMaxViolationFieldBytes));
    cut.set_description(Cut(v.description(), kMaxViolationDescriptionBytes));
    bytes += cut.ByteSizeLong() + 4;
    if (bytes > kMaxBadRequestBytes) break;
    *kept.add_field_violations() = std::move(cut);
  }
  if (const int left = all.field_violations_size() - kept.field_violations_size(); left > 0) {
    absl::StrAppend(&message, " (", left, " more field violations not listed)");
  }
  return kept;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message = Cut(status.message(), kMaxStatusMessageBytes);

  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  if (auto payload = status.GetPayload(kBadRequestTypeUrl)) {
    google::rpc::BadRequest bad_request;
    if (bad_request.ParseFromString(std::string(*payload))) {
      rpc_status.add_details()->PackFrom(Bounded(bad_request, message));
    }
  }
  rpc_status.set_message(message);
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
