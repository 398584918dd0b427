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

  // Whether on_step() is wanted. If any observer of a run wants it, the
  // runner goes one step at a time and, before every step's update, forms
  // xbar_t and grad f(xbar_t) (one more full gradient per step; the
  // trajectory is unchanged).
  virtual bool wants_steps() const { return false; }
  // Called with every step's lemma quantities, in order, from the thread
  // that runs the loop, on every rank alike.
  virtual ObserverDecision on_step(const StepRecord& /*record*/) {
    return ObserverDecision::kContinue;
  }

  // What a run resumed from a checkpoint needs of this observer, saved at
  // the checkpoint and restored before the run goes on. An observer whose
  // later decisions or output depend on what it has seen must save it; the
  // defaults save nothing.
  virtual void save_state(StateWriter& /*out*/) const {}
  virtual void restore_state(StateReader& /*in*/) {}
};

}  // namespace distclip
