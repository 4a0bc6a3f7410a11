#pragma once

// Collects every bad field of a request so that one INVALID_ARGUMENT names them all
// (SPEC §3.1). The violations travel inside the absl::Status as a google.rpc.BadRequest payload,
// which the gRPC adapter (grpc_status.h) turns into the `grpc-status-details-bin` trailer.
//
// Usage:
//   FieldViolations bad;
//   if (req.partner_id().empty()) bad.Add("partner_id", "is required");
//   RETURN_IF_ERROR(bad.ToStatus("deal registration is incomplete"));

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace prm {

struct FieldViolation {
  std::string field;
  std::string description;
  friend bool operator==(const FieldViolation&, const FieldViolation&) = default;
};

// absl::Status payload key holding a serialized google.rpc.BadRequest.
inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";

class FieldViolations {
 public:
  void Add(std::string field, std::string description);
  bool empty() const { return violations_.empty(); }
  const std::vector<FieldViolation>& violations() const { return violations_; }

  // OK when nothing was added; otherwise INVALID_ARGUMENT whose message lists every field and
  // whose payload carries them as a google.rpc.BadRequest.
  absl::Status ToStatus(absl::string_view summary = "invalid request") const;

 private:
  std::vector<FieldViolation> violations_;
};

// INVALID_ARGUMENT for a single bad field.
absl::Status InvalidField(std::string field, std::string description);

// The violations carried by `status` (empty when it carries none).
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);

}  // namespace prm
