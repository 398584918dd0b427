// Theorem 1 of Liu et al. (NeurIPS 2022; the ICLR version with kappa) in
// code: the parameters it prescribes, every condition it and its lemmas
// place on them, each with its numbers, and its iteration count, whose
// constant the published statements do not give ("scaling only";
// docs/theory.md derives what can be derived).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace distclip {

// The constants of Assumption 1 and the goal.
struct TheoryInputs {
  double l0 = 0.0;     // L0 >= 0
  double l1 = 0.0;     // L1 >= 0
  double sigma = 0.0;  // almost-sure noise bound, sigma + kappa > 0
  double kappa = 0.0;  // heterogeneity; 0 for the NeurIPS (homogeneous) case
  double delta = 0.0;  // f(x_0) - f_*, > 0
  double eps = 0.1;    // the target, > 0
  int num_workers = 1; // N >= 1
  double c = 1.0;      // the constant of the first-order smoothness form, > 0
  // T = t_constant * Delta A L0 (sigma + kappa)^2 / (N eps^4).
  double t_constant = 1.0;

  // One line naming the first invalid field and its accepted range.
  bool IsValid(std::string* error) const;
};

// One inequality of the theorem or a lemma, with both sides.
struct TheoryCondition {
  std::string name;       // e.g. "eps <= min(A L0 / (B L1), 0.1)"
  std::string source;     // "Theorem 1", "Lemma 3", ...
  double lhs = 0.0;
  double rhs = 0.0;
  bool holds = false;     // lhs <= rhs
};

struct TheoryParameters {
  double a = 1.0;  // A = 1 + e^c - (e^c - 1) / c
  double b = 1.0;  // B = (e^c - 1) / c
  // I = floor(1 / (2 N eps)), at least 1 (the condition says when the
  // floor is 0 and I = 1 breaks I <= 1 / (2 N eps)).
  std::int64_t sync_interval = 1;
  // gamma = (N eps / (28 (sigma + kappa))) min(eps / (A L0), 1 / (B L1))
  // (the second term is absent when L1 = 0), eta = gamma / (5 (sigma + kappa)).
  double clip_threshold = 0.0;
  double step_size = 0.0;
  // Delta A L0 (sigma + kappa)^2 / (N eps^4): Theorem 1's iteration count
  // without its constant, the unit of the tightness ratio.
  double t_scale = 0.0;
  // ceil(t_constant * t_scale): scaling only (docs/theory.md).
  std::int64_t steps = 0;
  std::int64_t rounds = 0;  // ceil(steps / I)
  std::vector<TheoryCondition> conditions;

  bool all_hold() const;
};

// The theorem's choices and conditions. Throws std::invalid_argument with
// IsValid's message for invalid inputs.
TheoryParameters theorem1(const TheoryInputs& inputs);

// Measured T over t_scale: how far the bound's scaling is from a run.
double tightness_ratio(std::int64_t measured_steps, const TheoryParameters& parameters);

}  // namespace distclip
