#pragma once

// How the demonstration's concierges answer the offers of partner requests, so that routing
// shows what a channel chief sees in real life: most concierges accept after a short wait, some
// reject the first offer (concierge-routing re-offers the task to another worker), a few let the
// reservation time out (the service moves the worker to the "missed" activity; main.cc brings it
// back), and a few are slow, accepting close to the reservation timeout. Plain C++,
// deterministic: the answer is a function of the demo's seed and the request, so the same seed
// gives the same behaviour. Thread-safe (no state).

#include <cstdint>

#include "absl/time/time.h"

namespace prm::demo {

struct ConciergeBehaviour {
  // Shares of first offers: rejected, left to time out, accepted slowly; the rest are accepted
  // after a short wait. Each in 0..1, together at most 1.
  double reject_share = 0.12;
  double time_out_share = 0.06;
  double slow_share = 0.10;
  // The workflows' reservation timeout: a slow accept waits 60–85 % of it, still in time.
  absl::Duration reservation_timeout = absl::Seconds(5);
};

struct OfferAnswer {
  enum class Action { kAccept, kReject, kLetTimeOut };
  Action action = Action::kAccept;
  // Before accepting or rejecting; zero for kLetTimeOut (the concierge never answers).
  absl::Duration wait;
  // From accepting to completing the task (kAccept only).
  absl::Duration handling;
  bool slow = false;  // a slow accept
};

// The answer to an offer of request `request` (its index in Channel::requests). `first_offer`:
// nobody has rejected or missed the task yet; later offers are always accepted after a short
// wait, so every request ends assigned.
OfferAnswer AnswerOffer(uint64_t seed, uint64_t request, bool first_offer,
                        const ConciergeBehaviour& behaviour);

}  // namespace prm::demo
