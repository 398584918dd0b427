// Theorem 1 on the bench: the stationarity bound at the theorem's T, and
// how the measured T(eps, N) compares with the theorem's scaling
// Delta A L0 (sigma + kappa)^2 / (N eps^4) (docs/theory.md, "What the
// bench shows").
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "distclip/algorithms/invariants.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/analysis/theory.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"

namespace distclip {
namespace {

ObjectiveSpec certified(std::string family, std::optional<double> x0 = std::nullopt) {
  ObjectiveSpec spec;
  spec.family = std::move(family);
  spec.dim = 1;
  spec.x0 = x0;
  spec.noise.model = "ball";  // bounded and symmetric unimodal: Assumption 1(iii)
  spec.noise.sigma = 0.5;
  return spec;
}

TheoryInputs inputs_for(const Oracle& oracle, double eps, int n) {
  const OracleConstants c = oracle.constants();
  Vector x0(oracle.dimension());
  oracle.initial_point(x0);
  TheoryInputs in;
  in.l0 = c.l0.value();
  in.l1 = c.l1.value();
  in.sigma = c.sigma.value();
  in.kappa = c.kappa.value();
  in.delta = oracle.value(x0) - c.f_low.value();
  in.eps = eps;
  in.num_workers = n;
  return in;
}

RunOptions theorem_options(const TheoryParameters& p, int n, std::uint64_t seed) {
  RunOptions o;
  o.num_workers = n;
  o.sync_interval = static_cast<int>(p.sync_interval);
  o.clip_threshold = p.clip_threshold;
  o.step_size = p.step_size;
  o.seed = seed;
  o.eval_every = 1;  // the ergodic average over every step, as the theorem has it
  return o;
}

RunSummary run_celgc(Oracle& oracle, const RunOptions& options, InvariantChecker* checker) {
  InProcessCommunicator communicator(options.num_workers);
  Runner runner(kCelgc, oracle, communicator, options);
  std::vector<Observer*> observers;
  if (checker != nullptr) observers.push_back(checker);
  return runner.run(observers);
}

// The theorem: with its eta, gamma and I, (1/T) sum_t E ||grad f(xbar_t)||
// <= 4 eps at its T. The published T hides its constant, so the test uses
// T = 4 t_scale: on these objectives at eps = 0.1 reaching 4 eps takes
// 1.4 to 1.8 t_scale (measured over the four certified families at their
// default x0, d = 2, N = 1 and 8; the need falls like eps, so eps = 0.1,
// the largest the theorem allows, is the hardest). The lemmas are checked
// on every step of the same runs.
//
// False-failure rate: the mean over K = 5 seeds of the ergodic average is
// asserted <= 4 eps. Measured here: means 0.147 (cosh-well) to 0.294
// (quartic) against 4 eps = 0.4, seed-to-seed standard deviations at most
// 6.2e-4 (the average is dominated by the deterministic descent from x0).
// By Cantelli's inequality, whatever the distribution, P(mean > 4 eps) <=
// 1 / (1 + K m^2 / s^2) with margin m >= 0.106 and s <= 6.2e-4: below 1e-5,
// under the required 1e-3.
TEST(TheoryBounds, ErgodicGradientNormAtTheoremsTIsBelowFourEps) {
  constexpr double kEps = 0.1;
  constexpr double kConstant = 4.0;
  constexpr int kSeeds = 5;
  for (const std::string family : {"double-well", "quartic", "cosh-well", "rippled-quadratic"}) {
    for (int n : {1, 4}) {
      const auto oracle = make_oracle(certified(family));
      TheoryInputs in = inputs_for(*oracle, kEps, n);
      in.t_constant = kConstant;
      const TheoryParameters p = theorem1(in);
      ASSERT_TRUE(p.all_hold()) << family;
      double sum = 0.0;
      double sum_sq = 0.0;
      for (int seed = 1; seed <= kSeeds; ++seed) {
        RunOptions options = theorem_options(p, n, seed);
        options.max_steps = p.steps;
        InvariantChecker checker(LemmaBounds::of(kCelgc, options, oracle->constants()));
        const RunSummary s = run_celgc(*oracle, options, &checker);
        ASSERT_FALSE(checker.violation()) << checker.violation()->describe();
        ASSERT_EQ(s.termination, Termination::kBudgetExhausted);
        const double ergodic = s.final_record->ergodic_grad_norm;
        sum += ergodic;
        sum_sq += ergodic * ergodic;
      }
      const double mean = sum / kSeeds;
      const double sd = std::sqrt(std::max(0.0, sum_sq / kSeeds - mean * mean) * kSeeds / (kSeeds - 1));
      fmt::print("[ bound ] {:<18} N = {}: T = {}, mean ergodic ||grad f|| = {:.4f} (sd {:.2e}) "
                 "<= 4 eps = {}\n",
                 family, n, p.steps, mean, sd, 4 * kEps);
      EXPECT_LE(mean, 4 * kEps) << family << " N = " << n;
    }
  }
}

// Measured T(eps, N): the first step with (1/t) sum_s ||grad f(xbar_s)||
// <= eps, with the theorem's parameters at that eps and N; its ratio to
// t_scale = Delta A L0 sigma^2 / (N eps^4) is the tightness ratio.
double measured_ratio(const std::string& family, std::optional<double> x0, double eps, int n) {
  const auto oracle = make_oracle(certified(family, x0));
  const TheoryParameters p = theorem1(inputs_for(*oracle, eps, n));
  RunOptions options = theorem_options(p, n, 1);
  options.target = eps;
  options.max_steps = 1000 * p.steps;
  const RunSummary s = run_celgc(*oracle, options, nullptr);
  EXPECT_EQ(s.termination, Termination::kTargetReached);
  return tightness_ratio(s.steps, p);
}

// Over eps in {0.2, 0.1, 0.05} and N in {1, 2, 4, 8} with N <= 1 / eps.
// Linear speedup: at fixed eps the ratio is the same for every N (measured
// spread <= 2%; asserted within 10%). The eps-dependence is not the
// theorem's eps^-4 but eps^-3: with eta ~ eps^2 the ergodic sum is
// dominated by the descent from x0, whose sum of ||grad f|| is about its
// path length over eta, so T ~ 1 / (eta eps) ~ eps^-3 and the ratio halves
// with eps (measured slopes of log ratio on log eps: 1.00 double-well,
// 0.85 quartic). Asserted: the slope lies in [0.7, 1.3], and is not 0, which
// an eps^-4 law would give. So a fixed objective's ratio moves by a factor
// of about 4 over this eps range (4.02 for double-well from x0 = 1.5):
// the theorem's eps^-4 is a worst case over objectives, not what a fixed
// one shows.
TEST(TheoryBounds, TightnessRatioIsFlatInNAndGrowsLikeEpsForAFixedObjective) {
  struct Case {
    std::string family;
    double x0;
  };
  for (const Case& c : {Case{"double-well", 1.5}, Case{"quartic", 0.7}}) {
    std::vector<double> log_eps;
    std::vector<double> log_ratio;
    for (double eps : {0.2, 0.1, 0.05}) {
      std::vector<double> ratios;
      for (int n : {1, 2, 4, 8}) {
        if (n > 1.0 / eps + 1e-9) continue;
        ratios.push_back(measured_ratio(c.family, c.x0, eps, n));
      }
      const auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
      fmt::print("[ tightness ] {:<12} eps = {:<4}: ratio over N from {:.3f} to {:.3f}\n",
                 c.family, eps, *low, *high);
      EXPECT_LE(*high / *low, 1.10) << c.family << " eps = " << eps;
      log_eps.push_back(std::log(eps));
      log_ratio.push_back(std::log(ratios.front()));
    }
    const double slope = (log_ratio.back() - log_ratio.front()) / (log_eps.back() - log_eps.front());
    fmt::print("[ tightness ] {:<12} slope of log ratio on log eps = {:.3f}\n", c.family, slope);
    EXPECT_GE(slope, 0.7) << c.family;
    EXPECT_LE(slope, 1.3) << c.family;
  }
}

}  // namespace
}  // namespace distclip
