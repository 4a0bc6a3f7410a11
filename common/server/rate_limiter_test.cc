// RateLimiter on the fake clock: burst, refill, per-caller buckets, the retry delay, the
// `service` exemption and bounded memory.

#include "common/server/rate_limiter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/error_info.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prm/common/v1/error_reason.pb.h"

namespace prm::server {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;

auth::Principal Partner(std::string subject, auth::Role role = auth::Role::kPartnerUser) {
  return auth::Principal{.subject = std::move(subject), .role = role, .vendor_ids = {"v1"},
                         .partner_id = "p1"};
}

TEST(RateLimiter, AdmitsTheBurstThenRefusesWithRetryDelayAndReason) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 2, .burst = 3}, clock);
  const auth::Principal alice = Partner("alice");
  for (int i = 0; i < 3; ++i) EXPECT_THAT(limiter.Admit(alice), IsOk()) << i;
  const absl::Status refused = limiter.Admit(alice);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(ErrorReasonOf(refused), "RATE_LIMITED");
  EXPECT_EQ(RetryDelayOf(refused), absl::Milliseconds(500));  // one token at 2/s

  clock.Advance(absl::Milliseconds(499));
  EXPECT_THAT(limiter.Admit(alice), StatusIs(absl::StatusCode::kResourceExhausted));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_THAT(limiter.Admit(alice), IsOk());
  EXPECT_THAT(limiter.Admit(alice), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(RateLimiter, RefillsAtTheRateUpToTheBurstOnly) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 10, .burst = 5}, clock);
  const auth::Principal alice = Partner("alice");
  for (int i = 0; i < 5; ++i) ASSERT_THAT(limiter.Admit(alice), IsOk());
  clock.Advance(absl::Hours(1));  // refills to 5, not 36,000
  int admitted = 0;
  while (limiter.Admit(alice).ok()) ++admitted;
  EXPECT_EQ(admitted, 5);
  // A steady 10/s is sustained indefinitely.
  for (int i = 0; i < 100; ++i) {
    clock.Advance(absl::Milliseconds(100));
    ASSERT_THAT(limiter.Admit(alice), IsOk()) << i;
  }
}

TEST(RateLimiter, EachSubjectAndRoleHasItsOwnBucket) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1}, clock);
  EXPECT_THAT(limiter.Admit(Partner("alice")), IsOk());
  EXPECT_THAT(limiter.Admit(Partner("alice")), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(limiter.Admit(Partner("bob")), IsOk());
  auth::Principal alice_staff{.subject = "alice", .role = auth::Role::kChannelManager,
                              .vendor_ids = {"v1"}};
  EXPECT_THAT(limiter.Admit(alice_staff), IsOk());
  EXPECT_EQ(limiter.tracked_principals(), 3u);
}

// The reason on the wire is a prm.common.v1.ErrorReason name without its prefix, like every
// other reason (proto/README.md "Errors"): the string and the enum value must not drift apart.
TEST(RateLimiter, ItsReasonIsTheRateLimitedValueOfTheErrorReasonEnum) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1}, clock);
  ASSERT_THAT(limiter.Admit(Partner("alice")), IsOk());
  const absl::Status refused = limiter.Admit(Partner("alice"));
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  common::v1::ErrorReason reason = common::v1::ERROR_REASON_UNSPECIFIED;
  ASSERT_TRUE(common::v1::ErrorReason_Parse(absl::StrCat("ERROR_REASON_", ErrorReasonOf(refused)),
                                            &reason))
      << ErrorReasonOf(refused) << " is not a prm.common.v1.ErrorReason";
  EXPECT_EQ(reason, common::v1::ERROR_REASON_RATE_LIMITED);
}

TEST(RateLimiter, ServicePrincipalsAndADisabledLimiterAreNotLimited) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 1}, clock);
  const auth::Principal service{.subject = "deal-registration", .role = auth::Role::kService};
  for (int i = 0; i < 100; ++i) ASSERT_THAT(limiter.Admit(service), IsOk());
  RateLimiter off({.per_second = 0, .burst = 1}, clock);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i) ASSERT_THAT(off.Admit(Partner("alice")), IsOk());
  EXPECT_EQ(limiter.tracked_principals() + off.tracked_principals(), 0u);
}

TEST(RateLimiter, IdleCallersAreForgottenWhenTheTableGrows) {
  FakeClock clock;
  RateLimiter limiter({.per_second = 100, .burst = 10}, clock);
  for (size_t i = 0; i < RateLimiter::kPruneAbove; ++i) {
    ASSERT_THAT(limiter.Admit(Partner(absl::StrCat("caller-", i))), IsOk());
  }
  EXPECT_EQ(limiter.tracked_principals(), RateLimiter::kPruneAbove);
  clock.Advance(absl::Seconds(1));  // every bucket is full again
  ASSERT_THAT(limiter.Admit(Partner("one-more")), IsOk());
  EXPECT_EQ(limiter.tracked_principals(), 1u);
}

}  // namespace
}  // namespace prm::server
