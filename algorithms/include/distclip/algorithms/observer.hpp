// Observers see every evaluation of a run and may stop it, as Ceres'
// IterationCallback does. Recording traces and showing progress are
// observers, not code inside the loop.
#pragma once

#include "distclip/core/record.hpp"

namespace distclip {

enum class ObserverDecision { kContinue, kStop };

class Observer {
 public:
  virtual ~Observer() = default;
  // Called at every evaluation point, in order, from the thread that runs
  // the loop.
  virtual ObserverDecision on_evaluation(const EvalRecord& record) = 0;
};

}  // namespace distclip
