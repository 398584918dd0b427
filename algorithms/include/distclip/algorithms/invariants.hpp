// The paper's almost-sure lemmas as invariants checked at every step of a
// run (docs/theory.md):
//   Lemma 1: ||xbar_t - x_i^t|| <= 2 gamma I for every worker i;
//   Lemma 3: (1/N) sum_i ||g_i^t - grad f(xbar_t)||
//              <= sigma + kappa + r (A L0 + B L1 (||grad f(xbar_t)|| + kappa)),
//            r = 2 gamma I, A and B at c = L1 r.
// A violation stops the run with a report. Since the lemmas hold surely
// under Assumption 1, a violation means a constant the oracle certified is
// wrong, or the algorithm is not the one analysed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/observer.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/constants.hpp"

namespace distclip {

// What the lemmas need, and which of them apply to a run.
struct LemmaBounds {
  // Lemma 1's radius: 2 s I for local methods, where s bounds the length of
  // one step (gamma for clipped steps); 0 where every worker always holds
  // the same model (gradients averaged every step, or one worker). Absent
  // when steps have no bound: local SGD's plain steps, and CELGC's
  // global-average clip option, whose step min(eta, gamma / ||gbar||) ||g_i||
  // exceeds gamma when ||g_i|| > ||gbar||.
  std::optional<double> consensus_radius;
  std::string consensus_reason;  // why Lemma 1 is not checked, when it is not
  // Lemma 3 needs L0, L1, sigma and kappa known. Where Lemma 1 applies, its
  // radius is r; elsewhere r is the measured consensus distance at the step,
  // for which the same derivation holds (docs/theory.md).
  bool deviation_checked = false;
  std::string deviation_reason;  // why Lemma 3 is not checked, when it is not
  double l0 = 0.0;
  double l1 = 0.0;
  double sigma = 0.0;
  double kappa = 0.0;

  static LemmaBounds of(const Algorithm& algorithm, const RunOptions& options,
                        const OracleConstants& constants);
  // Lemma 3's right side at radius r and gradient norm ||grad f(xbar)||.
  double deviation_bound(double radius, double grad_norm) const;
};

// One side of a lemma against the other at one step.
struct InvariantViolation {
  std::string lemma;  // "Lemma 1" or "Lemma 3"
  std::int64_t step = 0;
  int worker = 0;     // Lemma 1: the farthest worker; Lemma 3: the largest term's
  double lhs = 0.0;
  double rhs = 0.0;
  std::string describe() const;
};

// The observer. Checks every step, keeps the largest lhs / rhs of each
// lemma, and stops the run at the first violation.
class InvariantChecker final : public Observer {
 public:
  explicit InvariantChecker(LemmaBounds bounds) : bounds_(std::move(bounds)) {}

  bool wants_steps() const override { return true; }
  ObserverDecision on_evaluation(const EvalRecord&) override { return ObserverDecision::kContinue; }
  ObserverDecision on_step(const StepRecord& record) override;
  // The counts and largest ratios so far (a violation stops the run, so a
  // checkpoint never holds one).
  void save_state(StateWriter& out) const override;
  void restore_state(StateReader& in) override;

  const LemmaBounds& bounds() const { return bounds_; }
  std::int64_t steps_checked() const { return steps_checked_; }
  // max over checked steps of lhs / rhs (0 before any step, or where rhs = 0
  // and lhs = 0).
  double consensus_slack() const { return consensus_ratio_; }
  double deviation_slack() const { return deviation_ratio_; }
  const std::optional<InvariantViolation>& violation() const { return violation_; }

  // Relative rounding allowance of a comparison (see on_step).
  static constexpr double kRoundingTolerance = 1e-9;

 private:
  LemmaBounds bounds_;
  std::int64_t steps_checked_ = 0;
  double consensus_ratio_ = 0.0;
  double deviation_ratio_ = 0.0;
  std::optional<InvariantViolation> violation_;
};

}  // namespace distclip
