#include "tools/prm-demo/concierge_answers.h"

#include <map>

#include "gtest/gtest.h"

namespace prm::demo {
namespace {

using Action = OfferAnswer::Action;

bool Same(const OfferAnswer& a, const OfferAnswer& b) {
  return a.action == b.action && a.wait == b.wait && a.handling == b.handling &&
         a.slow == b.slow;
}

TEST(ConciergeAnswers, SameSeedAndRequestGiveTheSameAnswer) {
  const ConciergeBehaviour behaviour;
  int differ_by_seed = 0;
  for (uint64_t r = 0; r < 200; ++r) {
    EXPECT_TRUE(Same(AnswerOffer(42, r, true, behaviour), AnswerOffer(42, r, true, behaviour)));
    EXPECT_TRUE(Same(AnswerOffer(42, r, false, behaviour), AnswerOffer(42, r, false, behaviour)));
    if (!Same(AnswerOffer(42, r, true, behaviour), AnswerOffer(7, r, true, behaviour))) {
      ++differ_by_seed;
    }
  }
  EXPECT_EQ(differ_by_seed, 200);  // the waits are continuous: another seed changes every one
}

TEST(ConciergeAnswers, FirstOffersAreMostlyAcceptedSomeRejectedAFewLeftToTimeOutOrSlow) {
  const ConciergeBehaviour behaviour;  // 12 % reject, 6 % time out, 10 % slow
  std::map<Action, int> actions;
  int slow = 0;
  const int n = 10'000;
  for (uint64_t r = 0; r < n; ++r) {
    const OfferAnswer a = AnswerOffer(42, r, true, behaviour);
    ++actions[a.action];
    if (a.slow) ++slow;
  }
  EXPECT_NEAR(actions[Action::kReject], 0.12 * n, 0.015 * n);
  EXPECT_NEAR(actions[Action::kLetTimeOut], 0.06 * n, 0.015 * n);
  EXPECT_NEAR(slow, 0.10 * n, 0.015 * n);
  EXPECT_NEAR(actions[Action::kAccept], 0.82 * n, 0.015 * n);
}

TEST(ConciergeAnswers, WaitsFitTheReservationTimeout) {
  const ConciergeBehaviour behaviour{.reservation_timeout = absl::Seconds(8)};
  int slow = 0;
  for (uint64_t r = 0; r < 2000; ++r) {
    const OfferAnswer a = AnswerOffer(3, r, true, behaviour);
    EXPECT_GE(a.handling, absl::Milliseconds(500));
    EXPECT_LE(a.handling, absl::Seconds(3));
    switch (a.action) {
      case Action::kLetTimeOut:
        EXPECT_EQ(a.wait, absl::ZeroDuration());
        break;
      case Action::kReject:
        EXPECT_GE(a.wait, absl::Milliseconds(500));
        EXPECT_LE(a.wait, absl::Seconds(2));
        break;
      case Action::kAccept:
        if (a.slow) {
          ++slow;
          // Late, but still before the 8-second reservation timeout.
          EXPECT_GE(a.wait, absl::Milliseconds(4800));
          EXPECT_LE(a.wait, absl::Milliseconds(6800));
        } else {
          EXPECT_GE(a.wait, absl::Milliseconds(300));
          EXPECT_LE(a.wait, absl::Milliseconds(1500));
        }
        break;
    }
  }
  EXPECT_GT(slow, 0);
}

TEST(ConciergeAnswers, LaterOffersAreAcceptedQuicklySoEveryRequestEndsAssigned) {
  const ConciergeBehaviour behaviour{.reject_share = 0.5, .time_out_share = 0.3, .slow_share = 0.2};
  for (uint64_t r = 0; r < 2000; ++r) {
    const OfferAnswer a = AnswerOffer(42, r, false, behaviour);
    EXPECT_EQ(a.action, Action::kAccept);
    EXPECT_FALSE(a.slow);
    EXPECT_LE(a.wait, absl::Milliseconds(1500));
  }
}

TEST(ConciergeAnswers, ZeroSharesMeanEveryFirstOfferIsAcceptedQuickly) {
  const ConciergeBehaviour behaviour{.reject_share = 0, .time_out_share = 0, .slow_share = 0};
  for (uint64_t r = 0; r < 2000; ++r) {
    const OfferAnswer a = AnswerOffer(42, r, true, behaviour);
    EXPECT_EQ(a.action, Action::kAccept);
    EXPECT_FALSE(a.slow);
  }
}

}  // namespace
}  // namespace prm::demo
