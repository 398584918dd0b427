// Lemmas 1 and 3 as per-step invariants: zero violations for every
// algorithm on every synthetic objective with certified constants and
// bounded noise, a caught violation when a constant is wrong, and the
// checker's bookkeeping.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "distclip/algorithms/invariants.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"

namespace distclip {
namespace {

// An oracle that reports someone else's constants: a deliberately wrong
// certificate.
class MisstatedConstants final : public Oracle {
 public:
  MisstatedConstants(Oracle& inner, OracleConstants constants)
      : inner_(inner), constants_(constants) {}
  Index dimension() const override { return inner_.dimension(); }
  void initial_point(VectorRef x0) const override { inner_.initial_point(x0); }
  double value(ConstVectorRef x) const override { return inner_.value(x); }
  void gradient(ConstVectorRef x, VectorRef out) const override { inner_.gradient(x, out); }
  double local_value(int worker, ConstVectorRef x) const override {
    return inner_.local_value(worker, x);
  }
  void local_gradient(int worker, ConstVectorRef x, VectorRef out) const override {
    inner_.local_gradient(worker, x, out);
  }
  void stochastic_gradient(ConstVectorRef x, int worker, Rng& rng, VectorRef out) const override {
    inner_.stochastic_gradient(x, worker, rng, out);
  }
  OracleConstants constants() const override { return constants_; }
  std::string describe() const override { return inner_.describe() + " (misstated constants)"; }
  void reserve_workers(int n) override { inner_.reserve_workers(n); }

 private:
  Oracle& inner_;
  OracleConstants constants_;
};

// f(x) = cosh(x) in one coordinate, whose stochastic gradients carry a
// bounded offset of alternating sign: worker i's k-th gradient is
// sinh(x) + sigma (-1)^(i + k). Lemma 3 needs only ||g - grad f|| <= sigma
// (not unbiasedness), and the alternation lines the offset up with the
// spread: a worker pushed left by +sigma at step k - 1 draws -sigma at step
// k, where its gradient also falls short of grad f(xbar) by about
// cosh(xbar) times its distance (and the other way round for the other
// worker). So the lemma's slack is exactly the first-order smoothness form
// at xbar. Certified: cosh'' = cosh <= 1 + |sinh| since cosh - |sinh| =
// e^-|x| <= 1, so (L0, L1) = (1, 1).
class AlternatingCosh final : public Oracle {
 public:
  AlternatingCosh(double x0, double sigma) : x0_(x0), sigma_(sigma) {}
  Index dimension() const override { return 1; }
  void initial_point(VectorRef x0) const override { x0[0] = x0_; }
  double value(ConstVectorRef x) const override { return std::cosh(x[0]); }
  void gradient(ConstVectorRef x, VectorRef out) const override { out[0] = std::sinh(x[0]); }
  void stochastic_gradient(ConstVectorRef x, int worker, Rng&, VectorRef out) const override {
    const std::int64_t k = calls_[worker]++;
    out[0] = std::sinh(x[0]) + ((worker + k) % 2 == 0 ? sigma_ : -sigma_);
  }
  OracleConstants constants() const override {
    OracleConstants c;
    c.l0 = Constant::known(1.0);
    c.l1 = Constant::known(1.0);
    c.sigma = Constant::known(sigma_);
    c.f_low = Constant::known(1.0);
    c.kappa = Constant::known(0.0);
    return c;
  }
  std::string describe() const override { return "cosh with alternating offsets"; }
  void reserve_workers(int n) override { calls_.assign(static_cast<std::size_t>(n), 0); }

 private:
  double x0_;
  double sigma_;
  mutable std::vector<std::int64_t> calls_;
};

OracleConstants with_l1(OracleConstants constants, double l1) {
  constants.l1 = Constant::known(l1);
  return constants;
}

struct Checked {
  RunSummary summary;
  InvariantChecker checker;
};

Checked run_checked(const Algorithm& algorithm, Oracle& oracle, const RunOptions& options) {
  InProcessCommunicator communicator(options.num_workers);
  Runner runner(algorithm, oracle, communicator, options);
  Checked result{RunSummary{},
                 InvariantChecker(LemmaBounds::of(algorithm, options, oracle.constants()))};
  Observer* observers[] = {&result.checker};
  result.summary = runner.run(observers);
  return result;
}

ObjectiveSpec spec_of(std::string family, std::string noise, double sigma) {
  ObjectiveSpec spec;
  spec.family = std::move(family);
  spec.dim = 6;
  spec.condition = 3.0;
  spec.noise.model = std::move(noise);
  spec.noise.sigma = sigma;
  return spec;
}

// One checked run of every algorithm and clip option on `spec`, with
// heterogeneity zeta (0: homogeneous; > 0: 4 workers, and Lemma 3 then
// carries kappa, and the local L0 the tilt).
void expect_invariants_hold(const ObjectiveSpec& spec, const std::string& label) {
  const bool heterogeneous = spec.heterogeneity > 0.0;
  for (const Algorithm& algorithm : algorithms()) {
    if (heterogeneous && algorithm.single_machine()) continue;
    const int workers = algorithm.single_machine() ? 1 : 4;
    const auto oracle = make_oracle(spec, workers);
    for (ClipOption clip : {ClipOption::kLocal, ClipOption::kMax, ClipOption::kGlobalAverage}) {
      if (clip != ClipOption::kLocal && !algorithm.uses_clip_option()) continue;
      RunOptions options;
      options.num_workers = workers;
      options.sync_interval = 5;
      options.step_size = 0.05;
      options.clip_threshold = 0.05;
      options.clip_option = clip;
      options.max_steps = 1000;
      options.eval_every = 100;
      options.seed = 11;
      const Checked run = run_checked(algorithm, *oracle, options);
      SCOPED_TRACE(fmt::format("{} {} {}", label, algorithm.name, to_string(clip)));
      ASSERT_FALSE(run.checker.violation()) << run.checker.violation()->describe();
      // Unclipped steps may diverge on the fast-growing families: a
      // result, checked up to the step it happened.
      if (algorithm.step_rule != StepRule::kPlain) {
        EXPECT_EQ(run.summary.termination, Termination::kBudgetExhausted);
      }
      EXPECT_EQ(run.checker.steps_checked(), run.summary.steps);
    }
  }
}

TEST(Invariants, HoldForEveryAlgorithmOnEveryCertifiedObjectiveWithBoundedNoise) {
  for (const FamilyInfo& family : objective_families()) {
    for (const std::string noise : {"ball", "truncated-gaussian"}) {
      ObjectiveSpec spec = spec_of(std::string(family.name), noise, 2.0);
      if (!make_oracle(spec)->constants().sigma.is_known()) continue;  // phase-retrieval
      expect_invariants_hold(spec, fmt::format("{} {}", family.name, noise));
      if (family.name == "zero-chain") continue;  // homogeneous by construction
      spec.heterogeneity = 0.5;
      expect_invariants_hold(spec, fmt::format("{} {} kappa = 0.5", family.name, noise));
    }
  }
}

TEST(Invariants, ATooSmallL1IsCaughtByLemma3) {
  // Two workers from x0 = 3, unclipped steps (gamma far above eta |g|),
  // averaged every 8 steps. At step 1 each worker sits eta sigma from xbar and |sinh(x_i) - sinh(xbar)| ~ cosh(3) eta sigma = 0.10, while
  // the bound's smoothness term is eta sigma (A L0 + B L1 sinh(3)): 0.11 with
  // the certified L1 = 1 (cosh 3 = 10.07 <= 1 + sinh 3 = 11.02), 0.06 with
  // L1 = 0.5.
  RunOptions options;
  options.num_workers = 2;
  options.sync_interval = 8;
  options.step_size = 0.01;
  options.clip_threshold = 10.0;
  options.max_steps = 100;
  options.eval_every = 10;
  AlternatingCosh certified(3.0, 1.0);
  const Checked honest = run_checked(kCelgc, certified, options);
  ASSERT_FALSE(honest.checker.violation()) << honest.checker.violation()->describe();
  EXPECT_EQ(honest.checker.steps_checked(), options.max_steps);
  EXPECT_GT(honest.checker.deviation_slack(), 0.99);  // the check is tight here

  AlternatingCosh inner(3.0, 1.0);
  MisstatedConstants wrong(inner, with_l1(inner.constants(), 0.5));
  const Checked caught = run_checked(kCelgc, wrong, options);
  ASSERT_TRUE(caught.checker.violation());
  const InvariantViolation& v = *caught.checker.violation();
  EXPECT_EQ(v.lemma, "Lemma 3");
  EXPECT_EQ(v.step, 1);
  EXPECT_GT(v.lhs, v.rhs);
  EXPECT_EQ(caught.summary.termination, Termination::kStoppedByObserver);
  EXPECT_EQ(caught.summary.steps, 1);  // stopped before step 1's update
}

TEST(Invariants, ATooSmallSigmaIsCaughtByLemma3) {
  // One worker: the lemma reads ||g - grad f(x)|| <= sigma, and ball noise
  // in d = 6 reaches past 0.9 sigma within a few hundred draws (the first
  // test measures a ratio of 0.999 over 1000 steps).
  const auto oracle = make_oracle(spec_of("double-well", "ball", 1.0));
  OracleConstants claimed = oracle->constants();
  claimed.sigma = Constant::known(0.9);
  MisstatedConstants wrong(*oracle, claimed);
  RunOptions options;
  options.max_steps = 1000;
  options.step_size = 0.01;
  const Checked caught = run_checked(kClippedSgd, wrong, options);
  ASSERT_TRUE(caught.checker.violation());
  EXPECT_EQ(caught.checker.violation()->lemma, "Lemma 3");
  EXPECT_GT(caught.checker.violation()->lhs, 0.9);
  EXPECT_LE(caught.checker.violation()->lhs, 1.0);
}

TEST(Invariants, ATooSmallKappaIsCaughtByLemma3) {
  // No noise, tilts of mean norm 0.5: at a round's start (r = 0) the lemma
  // reads (1/N) sum_i ||b_i|| <= kappa, which holds with equality for the
  // constructed kappa and fails at step 0 for 0.9 of it.
  ObjectiveSpec spec = spec_of("double-well", "none", 1.0);
  spec.heterogeneity = 0.5;
  const auto oracle = make_oracle(spec, 4);
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 5;
  options.max_steps = 100;
  EXPECT_FALSE(run_checked(kCelgc, *oracle, options).checker.violation());
  OracleConstants claimed = oracle->constants();
  claimed.kappa = Constant::known(0.45);
  MisstatedConstants wrong(*oracle, claimed);
  const Checked caught = run_checked(kCelgc, wrong, options);
  ASSERT_TRUE(caught.checker.violation());
  EXPECT_EQ(caught.checker.violation()->lemma, "Lemma 3");
  EXPECT_EQ(caught.checker.violation()->step, 0);
  EXPECT_NEAR(caught.checker.violation()->lhs, 0.5, 1e-14);
}

TEST(Invariants, ATooSmallRadiusIsCaughtByLemma1) {
  // CELGC's workers spread to about a quarter of 2 gamma I on the first
  // test's runs; a radius of a tenth of it must be exceeded.
  const auto oracle = make_oracle(spec_of("double-well", "ball", 2.0));
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 5;
  options.step_size = 0.05;
  options.clip_threshold = 0.05;
  options.max_steps = 200;
  LemmaBounds bounds = LemmaBounds::of(kCelgc, options, oracle->constants());
  ASSERT_TRUE(bounds.consensus_radius);
  EXPECT_DOUBLE_EQ(*bounds.consensus_radius, 2 * 0.05 * 5);
  bounds.consensus_radius = *bounds.consensus_radius / 10;
  InvariantChecker checker(bounds);
  InProcessCommunicator communicator(4);
  Runner runner(kCelgc, *oracle, communicator, options);
  Observer* observers[] = {&checker};
  const RunSummary summary = runner.run(observers);
  ASSERT_TRUE(checker.violation());
  EXPECT_EQ(checker.violation()->lemma, "Lemma 1");
  EXPECT_GT(checker.violation()->lhs, 0.01);
  EXPECT_EQ(summary.termination, Termination::kStoppedByObserver);
}

TEST(Invariants, SayWhichLemmasApplyAndWhy) {
  const auto oracle = make_oracle(spec_of("double-well", "ball", 1.0));
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 8;
  options.clip_threshold = 0.5;
  EXPECT_DOUBLE_EQ(*LemmaBounds::of(kCelgc, options, oracle->constants()).consensus_radius, 8.0);
  EXPECT_DOUBLE_EQ(
      *LemmaBounds::of(kNaiveParallelClip, options, oracle->constants()).consensus_radius, 0.0);
  EXPECT_FALSE(LemmaBounds::of(kLocalSgd, options, oracle->constants()).consensus_radius);
  options.clip_option = ClipOption::kGlobalAverage;
  const LemmaBounds global = LemmaBounds::of(kCelgc, options, oracle->constants());
  EXPECT_FALSE(global.consensus_radius);
  EXPECT_NE(global.consensus_reason.find("global-average"), std::string::npos);

  ObjectiveSpec gaussian = spec_of("double-well", "gaussian", 1.0);
  const LemmaBounds unbounded = LemmaBounds::of(kCelgc, options, make_oracle(gaussian)->constants());
  EXPECT_FALSE(unbounded.deviation_checked);
  EXPECT_EQ(unbounded.deviation_reason, "the oracle's sigma is unbounded");
}

TEST(Invariants, Lemma3BoundIsThePublishedOneWhenKappaIsZero) {
  LemmaBounds bounds;
  bounds.l0 = 2.0;
  bounds.l1 = 3.0;
  bounds.sigma = 0.5;
  bounds.deviation_checked = true;
  // r = 0.1, c = L1 r = 0.3: A = 1 + e^0.3 - (e^0.3 - 1)/0.3, B = (e^0.3 - 1)/0.3.
  const double b = (std::exp(0.3) - 1.0) / 0.3;
  const double a = 1.0 + std::exp(0.3) - b;
  EXPECT_NEAR(bounds.deviation_bound(0.1, 4.0), 0.5 + 0.1 * (a * 2.0 + b * 3.0 * 4.0), 1e-14);
  // kappa adds itself and r B L1 kappa (the step the published statement skips).
  bounds.kappa = 0.25;
  EXPECT_NEAR(bounds.deviation_bound(0.1, 4.0),
              0.75 + 0.1 * (a * 2.0 + b * 3.0 * 4.25), 1e-14);
}

}  // namespace
}  // namespace distclip
