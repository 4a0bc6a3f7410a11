#pragma once

// Machine-readable error details beyond the code and message (proto/README.md, "Errors"):
//
// - a stable reason: every error a PRM server returns carries a google.rpc.ErrorInfo whose
//   `reason` is a prm.common.v1.ErrorReason name without its prefix ("STALE_ETAG") and whose
//   `domain` is the service's package. Handlers rarely set it: DefaultErrorReason derives it
//   from the code (ABORTED → STALE_ETAG, PERMISSION_DENIED → ACCESS_DENIED, ...), and a handler
//   overrides it with WithReason only where the code alone is ambiguous;
// - a retry delay (google.rpc.RetryInfo), for RESOURCE_EXHAUSTED from the rate limiter.
//
// Both travel inside the absl::Status as payloads, like the BadRequest of field_violations.h,
// and grpc_status.h turns them into the `grpc-status-details-bin` trailer.
//
//   return WithReason(absl::FailedPreconditionError("the program has enrollments"), "IN_USE");

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prm {

// The domain of ErrorInfo details when the service's package is not known.
inline constexpr absl::string_view kDefaultErrorDomain = "prm";

// Reasons not derived from a code (the rest are the prm.common.v1.ErrorReason names).
inline constexpr absl::string_view kReasonRateLimited = "RATE_LIMITED";

// absl::Status payload keys: the explicit reason (raw string) and a serialized
// google.rpc.RetryInfo.
inline constexpr absl::string_view kErrorReasonPayloadKey = "prm/error-reason";
inline constexpr absl::string_view kRetryInfoTypeUrl =
    "type.googleapis.com/google.rpc.RetryInfo";

// `status` with an explicit reason (ignored for OK).
absl::Status WithReason(absl::Status status, absl::string_view reason);
// `status` with a RetryInfo asking the client to wait `delay` (ignored for OK).
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The reason derived from a code alone; "" for OK and for codes that are not a client's
// mistake or decision (UNKNOWN, INTERNAL, DATA_LOSS, CANCELLED, DEADLINE_EXCEEDED, ...).
std::string DefaultErrorReason(absl::StatusCode code);

// The explicit reason of `status`, otherwise DefaultErrorReason of its code.
std::string ErrorReasonOf(const absl::Status& status);

// The retry delay carried by `status`, if any.
std::optional<absl::Duration> RetryDelayOf(const absl::Status& status);

}  // namespace prm
