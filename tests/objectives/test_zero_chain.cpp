// zero-chain, the eps^-4 lower-bound instance: the chain's properties that
// the lower bound rests on (Carmon et al. 2019, Lemma 3; Arjevani et al.
// 2019, Lemma 2), the probability-p oracle, and that no algorithm of the
// catalog finishes the chain in fewer queries than the bound allows.
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

#include <boost/random/uniform_real_distribution.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
const double kPhiMax = std::sqrt(2.0 * std::numbers::pi * std::numbers::e);

ObjectiveSpec chain(Index dim, double reveal = 0.3) {
  ObjectiveSpec spec = family_spec("zero-chain", dim);
  spec.reveal_probability = reveal;
  return resolve(spec);
}

// A point whose first `front` coordinates are u_i ~ U[-4, 4] and the rest
// u_i ~ U[-1/2, 1/2]: prog_{1/2}(u) = front once the last of the first has
// |u| >= 0.6, where Psi = e^-24 is still far from underflow.
Vector point_with_front(Rng& rng, const ObjectiveSpec& spec, Index front) {
  boost::random::uniform_real_distribution<double> wide(-4.0, 4.0), narrow(-0.5, 0.5);
  Vector x(spec.dim);
  for (Index i = 0; i < spec.dim; ++i) x[i] = spec.width * (i < front ? wide(rng) : narrow(rng));
  if (front > 0 && std::abs(x[front - 1]) < 0.6 * spec.width) {
    x[front - 1] = std::copysign(0.6 * spec.width + std::abs(x[front - 1]), x[front - 1]);
  }
  return x;
}

// F(0) = -c lambda Phi(0) = -c lambda sqrt(2 pi e) / 2, and f_low is the
// infimum: at u = 1e4 in every coordinate Psi = exp(1 - 1/(2u - 1)^2) is
// within 2.5e-9 of e and Phi at its supremum, so F is within 3e-9 |f_low|
// of f_low (rounding: d terms, 8 d eps |f_low|).
TEST(ZeroChain, StartsAtMinusHalfPhiMaxAndApproachesFLow) {
  for (const Index d : {1, 2, 20}) {
    const ObjectiveSpec spec = chain(d);
    const auto f = make_function(spec);
    const double unit = spec.scale * spec.width;
    EXPECT_NEAR(f->value(Vector::Zero(d)), -unit * kPhiMax / 2.0, 8.0 * kEps * unit * kPhiMax);
    EXPECT_DOUBLE_EQ(f->f_low(), -unit * kPhiMax * (1.0 + std::numbers::e * (d - 1.0)));
    const double far = f->value(Vector::Constant(d, 1e4 * spec.width));
    const double slack = (3e-9 + 8.0 * d * kEps) * std::abs(f->f_low());
    EXPECT_GE(far, f->f_low() - 8.0 * d * kEps * std::abs(f->f_low()));
    EXPECT_LE(far, f->f_low() + slack);
  }
}

// The zero-chain property: past coordinate prog_{1/2}(u) + 1 every partial
// derivative is exactly 0, and coordinate prog_{1/2}(u) + 1 is not (Psi of
// the front is positive, and so is Phi').
TEST(ZeroChain, GradientVanishesPastTheChainsFront) {
  const Index d = 12;
  const ObjectiveSpec spec = chain(d);
  const auto f = make_function(spec);
  Rng rng = make_stream(71, StreamPurpose::kTest, 0);
  Vector g(d);
  for (Index front = 0; front < d; ++front) {
    for (int repeat = 0; repeat < 20; ++repeat) {
      f->gradient(point_with_front(rng, spec, front), g);
      EXPECT_NE(g[front], 0.0) << "front " << front;
      for (Index j = front + 1; j < d; ++j) EXPECT_EQ(g[j], 0.0) << "front " << front << ", j " << j;
    }
  }
}

// ||grad F(x)|| > c whenever |u_T| < 1 (the chain is not finished), at
// random points, at points along the chain's path, and with every finished
// link but the last; and ||grad F||_inf <= 23 c everywhere. (At |u_T| = 1
// the bound is attained: for d = 1, |F'| = c Phi'(1) = c.)
TEST(ZeroChain, GradientStaysAboveScaleUntilTheChainEnds) {
  for (const Index d : {1, 3, 25}) {
    const ObjectiveSpec spec = chain(d);
    const auto f = make_function(spec);
    const double c = spec.scale;
    Rng rng = make_stream(72, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
    boost::random::uniform_real_distribution<double> wide(-4.0, 4.0), last(-1.0, 1.0);
    Vector x(d), g(d);
    double smallest = std::numeric_limits<double>::infinity();
    double largest_entry = 0.0;
    const auto check = [&](const Vector& point) {
      f->gradient(point, g);
      smallest = std::min(smallest, g.norm());
      largest_entry = std::max(largest_entry, g.cwiseAbs().maxCoeff());
    };
    for (int repeat = 0; repeat < 2000; ++repeat) {
      for (Index i = 0; i < d; ++i) x[i] = spec.width * wide(rng);
      x[d - 1] = spec.width * last(rng);
      check(x);
    }
    for (double t = -0.999; t < 1.0; t += 1e-3) {
      x.setConstant(1.5 * spec.width);
      x[d - 1] = t * spec.width;
      check(x);
      check(Vector::Constant(d, t * spec.width));
    }
    EXPECT_GT(smallest, c) << "d = " << d;
    EXPECT_LE(largest_entry, 23.0 * c) << "d = " << d;
    std::cout << "[ zero-chain ] d = " << d << ": min ||grad f|| / c with |u_T| < 1 = "
              << smallest / c << ", max |grad f|_j / c = " << largest_entry / c << "\n";
  }
}

// The oracle: at a point with prog_{1/4}(u) = k, each sample equals the
// gradient bit for bit in every coordinate but k + 1, which is either 0 or
// g_{k+1} / p. Over K = 40000 samples the revealed fraction is p within 6
// binomial standard deviations, the mean of that coordinate is g_{k+1}
// within 6 standard errors (false failure ~2e-9 each, CLT), every sample's
// noise is within the stated almost-sure bound, and its mean square within
// 6 standard errors of (1 - p) / p g_{k+1}^2, at or under the stated std.
TEST(ZeroChain, OracleHidesTheNextCoordinateExceptWithProbabilityP) {
  const Index d = 8;
  const ObjectiveSpec spec = chain(d, 0.3);
  const auto oracle = make_oracle(spec);
  const double p = spec.reveal_probability;
  Vector x = Vector::Zero(d);
  x.head(3) << 1.2 * spec.width, 0.9 * spec.width, 0.8 * spec.width;  // prog_{1/4} = 3
  Vector exact(d), sample(d);
  oracle->gradient(x, exact);
  const Index next = 3;  // 0-based index of coordinate prog + 1
  ASSERT_NE(exact[next], 0.0);
  const double sigma = oracle->constants().sigma.value();
  const double noise_std = oracle->constants().noise_std.value();
  EXPECT_DOUBLE_EQ(sigma, 23.0 * spec.scale * (1.0 - p) / p);
  Rng rng = make_stream(73, StreamPurpose::kTest, 0);
  const int draws = 40000;
  int revealed = 0;
  double sum = 0.0, sum_sq = 0.0, noise_sq = 0.0;
  for (int k = 0; k < draws; ++k) {
    oracle->stochastic_gradient(x, 0, rng, sample);
    for (Index j = 0; j < d; ++j) {
      if (j != next) {
        ASSERT_EQ(sample[j], exact[j]) << j;
      }
    }
    ASSERT_TRUE(sample[next] == 0.0 || sample[next] == exact[next] * (1.0 / p)) << sample[next];
    revealed += sample[next] != 0.0 ? 1 : 0;
    sum += sample[next];
    sum_sq += sample[next] * sample[next];
    const double noise = (sample - exact).norm();
    ASSERT_LE(noise, sigma);
    noise_sq += noise * noise;
  }
  const double n = draws;
  EXPECT_NEAR(revealed / n, p, 6.0 * std::sqrt(p * (1.0 - p) / n));
  const double mean = sum / n;
  const double sd = std::sqrt(sum_sq / n - mean * mean);
  EXPECT_NEAR(mean, exact[next], 6.0 * sd / std::sqrt(n));
  const double g2 = exact[next] * exact[next];
  // noise^2 is g^2 (hidden) or g^2 ((1 - p) / p)^2 (revealed): its standard
  // deviation is g^2 |((1 - p) / p)^2 - 1| sqrt(p (1 - p)).
  const double square_sd = g2 * std::abs(std::pow((1.0 - p) / p, 2) - 1.0) * std::sqrt(p * (1.0 - p));
  EXPECT_NEAR(noise_sq / n, (1.0 - p) / p * g2, 6.0 * square_sd / std::sqrt(n));
  EXPECT_LE(std::sqrt((1.0 - p) / p * g2), noise_std);

  // p = 1 reveals everything: the sample is the gradient, sigma = 0.
  const auto open = make_oracle(chain(d, 1.0));
  open->stochastic_gradient(x, 0, rng, sample);
  EXPECT_TRUE((sample.array() == exact.array()).all());
  EXPECT_EQ(open->constants().sigma.value(), 0.0);
}

// The lower bound on a run. A worker's query reveals the chain's next
// coordinate only with probability p, independently of everything before,
// and the algorithms of the catalog are zero-respecting (steps along sampled
// gradients, averages and clipping never create a coordinate no gradient
// had), so after Q queries (steps x workers) the iterates reach at most
// Bin(Q, p) coordinates. Reaching eps < c needs the whole chain (the test
// above), so P(eps within Q queries) <= P(Bin(Q, p) >= T) <= e^{-Qp}
// (e Q p / T)^T, the Chernoff bound: 4e-9 at Q = T / (2p) with T = 100. The
// assertion, per run, is that more than T / (2p) queries were needed; 12
// runs, false failure below 1e-7. It can fail: with every coordinate
// revealed (p = 1, no noise: deterministic) the same algorithms finish in
// fewer than half that many queries, travelling the chain alone.
TEST(ZeroChain, NoAlgorithmFinishesTheChainInFewerQueriesThanTheBound) {
  const Index d = 100;
  const double p = 5e-4;
  const double bound = d / (2.0 * p);
  ObjectiveSpec spec = family_spec("zero-chain", d);
  spec.scale = 0.02;
  spec.width = 1.52;  // L0 = 152 c / lambda = 2
  struct Case {
    const Algorithm* algorithm;
    int workers;
  };
  for (const Case& c : {Case{&kClippedSgd, 1}, Case{&kNaiveParallelClip, 4}, Case{&kCelgc, 4},
                        Case{&kLocalSgd, 4}}) {
    for (const double reveal : {p, 1.0}) {
      spec.reveal_probability = reveal;
      const auto oracle = make_oracle(resolve(spec));
      for (std::uint64_t seed = 1; seed <= (reveal == p ? 3u : 1u); ++seed) {
        RunOptions options;
        options.num_workers = c.workers;
        options.sync_interval = 4;
        options.step_size = 0.5;  // 1 / L0
        options.clip_threshold = 0.5 * spec.width;
        options.max_steps = 2'000'000;
        options.eval_every = 10;
        options.target = spec.scale / 2.0;
        options.criterion = StopCriterion::kMinimum;
        options.seed = seed;
        InProcessCommunicator communicator(c.workers);
        Runner runner(*c.algorithm, *oracle, communicator, options);
        const RunSummary summary = runner.run({});
        SCOPED_TRACE(fmt::format("{} N = {} p = {} seed {}", c.algorithm->name, c.workers, reveal,
                                 seed));
        ASSERT_EQ(summary.termination, Termination::kTargetReached);
        // The chain is finished where eps is reached.
        EXPECT_GT(std::abs(runner.averaged_iterate()[d - 1]), spec.width);
        const double queries = static_cast<double>(summary.steps) * c.workers;
        if (reveal == p) {
          EXPECT_GT(queries, bound);
        } else {
          EXPECT_LT(queries, bound / 2.0);
        }
        std::cout << "[ zero-chain ] " << c.algorithm->name << " N = " << c.workers
                  << " p = " << reveal << " seed " << seed << ": " << queries
                  << " queries, bound " << bound << "\n";
      }
    }
  }
}

}  // namespace
}  // namespace distclip::test
