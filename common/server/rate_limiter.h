#pragma once

// Per-principal request rate limit (SPEC §3.1 limits): one token bucket per caller, keyed by the
// verified token's subject and role, refilled at `per_second` up to `burst`. A call admitted
// takes one token; a call that finds the bucket empty fails with RESOURCE_EXHAUSTED, reason
// RATE_LIMITED and a google.rpc.RetryInfo saying when the next token is due.
//
// `service` principals (service-to-service calls) are not limited: they act for callers that
// were limited at the edge, and one service identity carries every replica's traffic.
//
// Memory stays bounded: buckets that have refilled completely hold no information and are
// dropped when the table grows past kPruneAbove entries.
//
// Time comes from the injected Clock, so tests drive it with FakeClock. Thread-safe.

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/time/clock.h"

namespace prm::server {

struct RateLimit {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // bucket size; at least 1 when per_second > 0
};

class RateLimiter {
 public:
  static constexpr size_t kPruneAbove = 10'000;

  RateLimiter(RateLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  bool enabled() const { return limit_.per_second > 0; }

  // OK when `principal` may make one more call now (and takes the token), otherwise
  // RESOURCE_EXHAUSTED with the retry delay (error_info.h).
  absl::Status Admit(const auth::Principal& principal);

  size_t tracked_principals() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  void PruneFullBuckets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimit limit_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace prm::server
