#include "common/time/clock.h"

namespace prm {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace prm
