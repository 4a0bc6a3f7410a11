#include "tools/prm-demo/concierge_answers.h"

namespace prm::demo {
namespace {

// SplitMix64: a well-mixed, portable stream of 64-bit values from (seed, request, offer kind).
class Stream {
 public:
  Stream(uint64_t seed, uint64_t request, bool first_offer)
      : state_(seed ^ (request * 0x9E3779B97F4A7C15ULL) ^
               (first_offer ? 0 : 0xD1B54A32D192ED03ULL)) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  absl::Duration Between(absl::Duration lo, absl::Duration hi) {
    return lo + (hi - lo) * Uniform();
  }

 private:
  uint64_t state_;
};

}  // namespace

OfferAnswer AnswerOffer(uint64_t seed, uint64_t request, bool first_offer,
                        const ConciergeBehaviour& behaviour) {
  Stream draw(seed, request, first_offer);
  const double kind = draw.Uniform();
  OfferAnswer answer;
  answer.handling = draw.Between(absl::Milliseconds(500), absl::Seconds(3));
  const absl::Duration quick = draw.Between(absl::Milliseconds(300), absl::Milliseconds(1500));
  const double slow_fraction = 0.60 + 0.25 * draw.Uniform();
  if (!first_offer) {
    answer.wait = quick;
    return answer;
  }
  if (kind < behaviour.reject_share) {
    answer.action = OfferAnswer::Action::kReject;
    answer.wait = draw.Between(absl::Milliseconds(500), absl::Seconds(2));
  } else if (kind < behaviour.reject_share + behaviour.time_out_share) {
    answer.action = OfferAnswer::Action::kLetTimeOut;
  } else if (kind < behaviour.reject_share + behaviour.time_out_share + behaviour.slow_share) {
    answer.slow = true;
    answer.wait = behaviour.reservation_timeout * slow_fraction;
  } else {
    answer.wait = quick;
  }
  return answer;
}

}  // namespace prm::demo
