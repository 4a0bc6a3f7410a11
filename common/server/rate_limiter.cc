#include "common/server/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status/error_info.h"

namespace prm::server {

absl::Status RateLimiter::Admit(const auth::Principal& principal) {
  if (!enabled() || principal.role == auth::Role::kService) return absl::OkStatus();
  // The role is part of the key: one subject holding tokens of two roles gets two budgets.
  std::string key = absl::StrCat(std::string(auth::RoleName(principal.role)), "/", principal.subject);
  const double burst = std::max(1.0, limit_.burst);
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(std::move(key), Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!inserted && now > bucket.updated) {
    bucket.tokens = std::min(
        burst, bucket.tokens + absl::ToDoubleSeconds(now - bucket.updated) * limit_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    if (inserted && buckets_.size() > kPruneAbove) PruneFullBuckets(now);
    return absl::OkStatus();
  }
  // Whole milliseconds, rounded up, so that a client waiting this long finds a token.
  const double wait_ms = std::ceil((1.0 - bucket.tokens) / limit_.per_second * 1000.0);
  const absl::Duration wait = absl::Milliseconds(wait_ms);
  return WithRetryDelay(
      WithReason(absl::ResourceExhaustedError(absl::StrCat(
                     "request rate limit exceeded (", limit_.per_second,
                     " calls/s per caller); retry in ", absl::FormatDuration(wait))),
                 kReasonRateLimited),
      wait);
}

void RateLimiter::PruneFullBuckets(absl::Time now) {
  const double burst = std::max(1.0, limit_.burst);
  absl::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    return b.tokens + absl::ToDoubleSeconds(now - b.updated) * limit_.per_second >= burst;
  });
}

size_t RateLimiter::tracked_principals() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace prm::server
