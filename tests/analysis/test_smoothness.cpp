// (L0, L1) estimation: the frontier and the least-squares line on samples
// worked by hand, and both estimators on every synthetic family with a
// certificate: never above the certified envelope, and close to it where
// the certificate is tight.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <gtest/gtest.h>

#include "distclip/algorithms/runner.hpp"
#include "distclip/analysis/smoothness.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/core/random.hpp"
#include "distclip/objectives/catalog.hpp"
#include "distclip/objectives/language_model.hpp"

namespace distclip {
namespace {

SmoothnessSample sample(double g, double l) { return {SmoothnessMethod::kHvp, 0, g, l, 0.0}; }

// ---------------------------------------------------------------------------
// Fits on samples worked by hand. Every value below is a small dyadic
// rational, so the frontier is exact.

TEST(SmoothnessFrontier, VerticesAreTheUpperHullsEdgesUpToTheHighestPoint) {
  // Upper hull of (0, 2), (1, 5), (2, 6), (3, 6.5): edge slopes 3, 1, 0.5;
  // (1, 3) lies under it and (2.5, 1) right of the highest point.
  const std::vector<SmoothnessSample> samples = {sample(2, 6), sample(0, 2),   sample(1, 5),
                                                 sample(1, 3), sample(3, 6.5), sample(2.5, 1)};
  const std::vector<FrontierVertex> vertices = frontier(samples);
  // L1 = 0 needs L0 = 6.5; at each slope the contact moves left:
  // 6.5 - 0.5 * 3 = 5, 6 - 1 * 2 = 4, 5 - 3 * 1 = 2; then (0, 2) holds L0 at 2.
  const std::vector<std::pair<double, double>> expected = {{0, 6.5}, {0.5, 5}, {1, 4}, {3, 2}};
  ASSERT_EQ(vertices.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(vertices[i].l1, expected[i].first) << i;
    EXPECT_EQ(vertices[i].l0, expected[i].second) << i;
  }
  EXPECT_EQ(frontier_l0(vertices, 0.25), 5.75);
  EXPECT_EQ(frontier_l0(vertices, 2.0), 3.0);
  EXPECT_EQ(frontier_l0(vertices, 100.0), 2.0);
  EXPECT_EQ(smallest_l0(samples, 2.0), 3.0);
  EXPECT_EQ(smallest_l0(samples, 100.0), 2.0);
}

TEST(SmoothnessFrontier, EndsWhereL0ReachesZero) {
  // (1, 1), (2, 4), (4, 5): slopes 3 and 0.5. At L1 = 0.5, L0 = 3; the
  // contact (2, 4) gives L0 = 4 - 2 L1 = 0 at L1 = 2, before the slope 3.
  const std::vector<SmoothnessSample> samples = {sample(1, 1), sample(2, 4), sample(4, 5)};
  const std::vector<FrontierVertex> vertices = frontier(samples);
  const std::vector<std::pair<double, double>> expected = {{0, 5}, {0.5, 3}, {2, 0}};
  ASSERT_EQ(vertices.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(vertices[i].l1, expected[i].first) << i;
    EXPECT_EQ(vertices[i].l0, expected[i].second) << i;
  }
  EXPECT_EQ(frontier_l0(vertices, 1.0), 2.0);
  EXPECT_EQ(frontier_l0(vertices, 3.0), 0.0);
  EXPECT_EQ(smallest_l0(samples, 3.0), 0.0);
}

TEST(SmoothnessFrontier, DegenerateSampleSets) {
  EXPECT_TRUE(frontier({}).empty());
  EXPECT_EQ(frontier_l0({}, 1.0), 0.0);
  const std::vector<SmoothnessSample> one = {sample(2, 4)};
  const std::vector<FrontierVertex> line = frontier(one);
  ASSERT_EQ(line.size(), 2u);
  EXPECT_EQ(line[1].l1, 2.0);
  EXPECT_EQ(line[1].l0, 0.0);
  // Collinear samples through the origin: one piece, no zero-length ones.
  const std::vector<SmoothnessSample> collinear = {sample(1, 2), sample(2, 4), sample(3, 6)};
  EXPECT_EQ(frontier(collinear).size(), 2u);
  const std::vector<SmoothnessSample> flat = {sample(0, 0), sample(1, 0)};
  ASSERT_EQ(frontier(flat).size(), 1u);
  EXPECT_EQ(frontier(flat)[0].l0, 0.0);
  const std::vector<SmoothnessSample> bad = {sample(1, 1), sample(-1, 1)};
  EXPECT_THROW(frontier(bad), std::invalid_argument);
  const std::vector<SmoothnessSample> nan = {sample(1, std::nan(""))};
  EXPECT_THROW(fit_line(nan), std::invalid_argument);
}

TEST(SmoothnessFrontier, MatchesTheDirectMaximumOnRandomSamples) {
  // The hull walk against max_k (L_k - L1 g_k) at L1 between and beyond
  // every breakpoint. Both are a few additions of numbers below 10; 1e-12.
  Rng rng = make_stream(61, StreamPurpose::kTest, 0);
  boost::random::normal_distribution<double> normal;
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<SmoothnessSample> samples;
    for (int k = 0; k < 50; ++k) {
      const double g = std::abs(normal(rng)) * (trial % 2 == 0 ? 1.0 : 3.0);
      samples.push_back(sample(g, std::abs(2.0 + g + normal(rng))));
    }
    const std::vector<FrontierVertex> vertices = frontier(samples);
    for (std::size_t i = 1; i < vertices.size(); ++i) {
      EXPECT_GT(vertices[i].l1, vertices[i - 1].l1);
      EXPECT_LT(vertices[i].l0, vertices[i - 1].l0);
    }
    for (double l1 = 0.0; l1 < 2.0 * vertices.back().l1 + 1.0; l1 += 0.01) {
      ASSERT_NEAR(frontier_l0(vertices, l1), smallest_l0(samples, l1), 1e-12) << l1;
    }
  }
}

TEST(SmoothnessLine, LeastSquaresByHand) {
  // On L = 2 + 3 g exactly.
  const std::vector<SmoothnessSample> exact = {sample(0, 2), sample(1, 5), sample(4, 14)};
  const auto line = fit_line(exact);
  ASSERT_TRUE(line.has_value());
  EXPECT_NEAR(line->l0, 2.0, 1e-12);
  EXPECT_NEAR(line->l1, 3.0, 1e-12);
  EXPECT_NEAR(line->r_squared, 1.0, 1e-12);
  EXPECT_EQ(line->samples, 3u);
  // (0, 1), (1, 3), (2, 2), (3, 4): Sxy = 4, Sxx = 5, slope 0.8, intercept
  // 2.5 - 0.8 * 1.5 = 1.3, residuals -0.3, 0.9, -0.9, 0.3: SSR = 1.8,
  // SST = 5, R^2 = 0.64.
  const std::vector<SmoothnessSample> noisy = {sample(0, 1), sample(1, 3), sample(2, 2),
                                               sample(3, 4)};
  const auto fit = fit_line(noisy);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->l0, 1.3, 1e-12);
  EXPECT_NEAR(fit->l1, 0.8, 1e-12);
  EXPECT_NEAR(fit->r_squared, 0.64, 1e-12);
  // No line through one gradient norm.
  EXPECT_FALSE(fit_line(std::vector<SmoothnessSample>{sample(1, 1), sample(1, 2)}).has_value());
  EXPECT_FALSE(fit_line(std::vector<SmoothnessSample>{sample(1, 1)}).has_value());
}

TEST(SmoothnessEnvelope, FirstOrderFormForSegmentsAndL0PlusL1GForTheHessian) {
  // A segment of length 0.5 at g = 2 under (L0, L1) = (3, 2): c = 1, where
  // A = 1 + e - (e - 1) = 2 and B = e - 1, so the envelope is 6 + 4 (e - 1).
  const SmoothnessSample segment{SmoothnessMethod::kSegment, 0, 2.0, 0.0, 0.5};
  EXPECT_NEAR(certified_envelope(segment, 3.0, 2.0), 6.0 + 4.0 * (std::exp(1.0) - 1.0), 1e-14);
  // L1 = 0: c = 0, A = B = 1, plain L-smoothness.
  EXPECT_EQ(certified_envelope(segment, 3.0, 0.0), 3.0);
  EXPECT_EQ(certified_envelope(sample(2.0, 0.0), 3.0, 2.0), 7.0);
}

TEST(SmoothnessOptions, RejectedWithTheFieldAndItsRange) {
  std::string error;
  EXPECT_FALSE(SegmentOptions{.points = 0}.IsValid(&error));
  EXPECT_EQ(error, "points = 0, must be >= 1");
  EXPECT_FALSE(HvpOptions{.iterations = 0}.IsValid(&error));
  EXPECT_EQ(error, "hvp-iterations = 0, must be >= 1");
  EXPECT_FALSE(HvpOptions{.relative_step = -1.0}.IsValid(&error));
  EXPECT_EQ(error, "hvp-step = -1, must be finite and > 0");
}

// ---------------------------------------------------------------------------
// The estimators where the answer is known exactly: f(x) = x^T H x / 2 with
// H = diag(-3, 3, 1, 0.5), ||H|| = 3 attained by two eigenvalues of opposite
// sign (where a Rayleigh quotient would average them away).

class Quadratic final : public Oracle {
 public:
  Index dimension() const override { return 4; }
  void initial_point(VectorRef x0) const override { x0.setZero(); }
  double value(ConstVectorRef x) const override { return 0.5 * x.dot(hessian_.cwiseProduct(x)); }
  void gradient(ConstVectorRef x, VectorRef out) const override { out = hessian_.cwiseProduct(x); }
  void stochastic_gradient(ConstVectorRef x, int, Rng&, VectorRef out) const override {
    gradient(x, out);
  }
  OracleConstants constants() const override { return {}; }
  std::string describe() const override { return "quadratic"; }

 private:
  Vector hessian_ = (Vector(4) << -3.0, 3.0, 1.0, 0.5).finished();
};

Vector point(std::initializer_list<double> entries) {
  Vector x(static_cast<Index>(entries.size()));
  Index j = 0;
  for (double e : entries) x[j++] = e;
  return x;
}

TEST(SmoothnessEstimators, ExactOnAQuadratic) {
  const Quadratic oracle;
  // Segments: the gradient is linear, so every z gives ||H (y - x)|| / ||y - x||.
  // A repeated point has no segment and gives no sample.
  const std::vector<Vector> path = {point({0, 0, 0, 0}), point({1, 0, 0, 0}), point({1, 0, 0, 0}),
                                    point({1, 0, 2, 0})};
  const std::vector<SmoothnessSample> segments = segment_estimates(oracle, path, {.points = 3});
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].method, SmoothnessMethod::kSegment);
  EXPECT_EQ(segments[0].point, 0u);
  EXPECT_EQ(segments[0].grad_norm, 0.0);
  EXPECT_NEAR(segments[0].smoothness, 3.0, 1e-15);
  EXPECT_EQ(segments[0].step_length, 1.0);
  EXPECT_EQ(segments[1].point, 2u);
  EXPECT_EQ(segments[1].grad_norm, 3.0);
  EXPECT_NEAR(segments[1].smoothness, 1.0, 1e-15);
  EXPECT_EQ(segments[1].step_length, 2.0);

  // Central differences of a linear gradient are exact but for rounding,
  // u ||grad f|| / h = 2.2e-16 * 12 / (6e-6 * 5.5) = 8e-11; after 20
  // iterations v has lost all but (1/3)^20 = 3e-10 of its components off
  // the +-3 eigenvectors, which changes ||Hv|| by their square.
  const std::vector<Vector> points = {point({1, 2, 3, 4}), point({0, 0, 0, 0})};
  const std::vector<SmoothnessSample> hvp = hvp_estimates(oracle, points);
  ASSERT_EQ(hvp.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(hvp[k].method, SmoothnessMethod::kHvp);
    EXPECT_EQ(hvp[k].point, k);
    EXPECT_NEAR(hvp[k].smoothness, 3.0, 1e-9) << k;
  }
  EXPECT_EQ(hvp[0].step_length, kDoubleRelativeStep * std::sqrt(30.0));
  EXPECT_EQ(hvp[1].step_length, kDoubleRelativeStep);  // h = relative step * max(1, 0)
  EXPECT_EQ(hvp[0].grad_norm, point({-3, 6, 3, 2}).norm());
}

TEST(SmoothnessEstimators, DeterministicAndCheckedInputs) {
  const Quadratic oracle;
  const std::vector<Vector> points = {point({1, 2, 3, 4}), point({-1, 0, 1, 0})};
  const auto first = hvp_estimates(oracle, points, {.iterations = 3});
  const auto again = hvp_estimates(oracle, points, {.iterations = 3});
  for (std::size_t k = 0; k < first.size(); ++k) {
    EXPECT_EQ(first[k].smoothness, again[k].smoothness);
  }
  const std::vector<Vector> wrong = {point({1, 2, 3})};
  EXPECT_THROW(hvp_estimates(oracle, wrong), std::invalid_argument);
  EXPECT_THROW(segment_estimates(oracle, points, {.points = 0}), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// The estimators on the certified families.

struct Family {
  ObjectiveSpec spec;
  double step_size;
  double clip_threshold;
  double radius;  // of the random points, on the scale of the family's x0
  // The largest estimate / envelope over the trajectory and the probes must
  // reach these: an estimator that returned half the curvature would not.
  double segment_at_least;
  double hvp_at_least;
};

// d = 5, condition 4. Measured largest estimate / envelope, (trajectory,
// probes), segment then hvp:
// - double-well (8, 3), tight: (0.340, 0.99999), (1.000, 0.9988). Near the
//   minimiser ||Hess f|| = L0 with g = 0; along the trajectory's end the steps
//   follow the lightest coordinate, whose curvature is L0 / 4.
// - quartic (12, 24), loose (docs/objectives.md: 1/3): (0.140, 0.328),
//   (0.185, 0.330).
// - cosh-well (15.3, 1), L1 tight as |b x| grows: (0.483, 0.9991), (0.652, 1.000).
// - rippled-quadratic (12, 0), tight at 0: (0.501, 1.000), (1.000, 0.999999).
// - phase-retrieval (L0, L1 from the data), loose by ~25x at d = 5:
//   (0.0237, 0.0356), (0.0297, 0.0445).
std::vector<Family> families() {
  const auto spec = [](std::string name) {
    ObjectiveSpec s;
    s.family = std::move(name);
    s.dim = 5;
    s.condition = 4.0;
    return s;
  };
  return {{spec("double-well"), 0.05, 0.1, 2.0, 0.99, 0.99},
          {spec("quartic"), 0.01, 0.1, 1.0, 0.3, 0.3},
          {spec("cosh-well"), 0.05, 0.1, 4.0, 0.99, 0.99},
          {spec("rippled-quadratic"), 0.05, 0.1, 3.0, 0.99, 0.99},
          {spec("phase-retrieval"), 0.01, 0.05, 1.0, 0.03, 0.04}};
}

// xbar_t at every other step of a deterministic CELGC run (N = 2, I = 4),
// which ends near a stationary point.
std::vector<Vector> trajectory(Oracle& oracle, const Family& family) {
  RunOptions options;
  options.num_workers = 2;
  options.sync_interval = 4;
  options.step_size = family.step_size;
  options.clip_threshold = family.clip_threshold;
  options.max_steps = 400;
  InProcessCommunicator communicator(2);
  Runner runner(kCelgc, oracle, communicator, options);
  std::vector<Vector> points;
  for (std::int64_t t = 0; t <= options.max_steps; t += 2) {
    EXPECT_TRUE(runner.advance_to(t));
    runner.evaluate();
    points.push_back(runner.averaged_iterate());
  }
  return points;
}

// Points where the certificates are tightest or loosest: along the heaviest
// axis and the diagonal at radii 1e-2 to 10 (both signs), near the family's
// stationary points, and random ones.
std::vector<Vector> probe_points(const Oracle& oracle, const Family& family) {
  const Index d = oracle.dimension();
  std::vector<Vector> points;
  Vector heaviest = Vector::Zero(d);
  heaviest[d - 1] = 1.0;
  const Vector diagonal = Vector::Ones(d) / std::sqrt(static_cast<double>(d));
  for (double r = 1e-2; r <= 10.0; r *= 1.25) {
    for (const Vector& u : {heaviest, diagonal}) {
      points.push_back(r * u);
      points.push_back(-r * u);
    }
  }
  points.push_back(Vector::Zero(d));
  points.push_back(Vector::Ones(d));  // double-well's minimiser
  Rng rng = make_stream(62, StreamPurpose::kTest, 0);
  boost::random::normal_distribution<double> normal;
  for (int k = 0; k < 100; ++k) {
    Vector x(d);
    for (Index j = 0; j < d; ++j) x[j] = normal(rng);
    points.push_back(family.radius * std::pow(10.0, (k % 5 - 2) / 2.0) * x / x.norm());
  }
  return points;
}

// Short segments from each probe point: along the heaviest axis and along a
// random direction, of length 1e-3 max(1, ||x||), so that c = L1 ||y - x||
// stays small and the envelope is nearly L0 + L1 ||grad f(x)||.
std::vector<SmoothnessSample> probe_segments(const Oracle& oracle,
                                             const std::vector<Vector>& points) {
  const Index d = oracle.dimension();
  Rng rng = make_stream(63, StreamPurpose::kTest, 0);
  boost::random::normal_distribution<double> normal;
  std::vector<SmoothnessSample> samples;
  for (const Vector& x : points) {
    Vector random(d);
    for (Index j = 0; j < d; ++j) random[j] = normal(rng);
    Vector heaviest = Vector::Zero(d);
    heaviest[d - 1] = 1.0;
    for (const Vector& u : {heaviest, Vector(random / random.norm())}) {
      const std::vector<Vector> pair = {x, x + 1e-3 * std::max(1.0, x.norm()) * u};
      const auto estimate = segment_estimates(oracle, pair, {.points = 4});
      samples.insert(samples.end(), estimate.begin(), estimate.end());
    }
  }
  return samples;
}

struct Ratios {
  double trajectory = 0.0;
  double probes = 0.0;
};

// The largest estimate / envelope; every one must be <= 1 + kSlack.
// Slack: the envelope is rigorous in exact arithmetic. The families' gradients
// are sums of at most 8 d = 40 double terms (relative error < 1e-14), and a
// segment divides a difference of two of them by ||z - x|| >= 2.5e-4 (the
// shortest z of a probe), an error below 1e-14 ||grad f|| / 2.5e-4 = 4e-11
// ||grad f|| on an envelope >= L1 ||grad f|| (and >= L0 > 0 for L1 = 0).
// Central differences with h = 6e-6 max(1, ||x||) err by h^2 ||D^3 f|| / 6
// (below 1e-9 of ||Hess f|| for these polynomials and cosh with |b x| <= 25)
// plus rounding 1e-14 ||grad f|| / h. 1e-6 is far above both and far below
// any real excess.
constexpr double kSlack = 1e-6;

double largest_ratio(const std::vector<SmoothnessSample>& samples, const OracleConstants& c,
                     const std::string& what) {
  double largest = 0.0;
  for (const SmoothnessSample& s : samples) {
    const double ratio = s.smoothness / certified_envelope(s, c.l0.value(), c.l1.value());
    EXPECT_LE(ratio, 1.0 + kSlack) << what << " at point " << s.point << ": g = " << s.grad_norm
                                   << ", L = " << s.smoothness << ", step " << s.step_length;
    largest = std::max(largest, ratio);
  }
  return largest;
}

Ratios segment_ratios(Oracle& oracle, const Family& family) {
  const OracleConstants c = oracle.constants();
  const std::vector<Vector> path = trajectory(oracle, family);
  return {largest_ratio(segment_estimates(oracle, path), c, family.spec.family + " trajectory"),
          largest_ratio(probe_segments(oracle, probe_points(oracle, family)), c,
                        family.spec.family + " probes")};
}

Ratios hvp_ratios(Oracle& oracle, const Family& family) {
  const OracleConstants c = oracle.constants();
  const std::vector<Vector> path = trajectory(oracle, family);
  return {largest_ratio(hvp_estimates(oracle, path), c, family.spec.family + " trajectory"),
          largest_ratio(hvp_estimates(oracle, probe_points(oracle, family)), c,
                        family.spec.family + " probes")};
}

TEST(SmoothnessEstimates, NeverAboveTheCertificateAndCloseWhereItIsTight) {
  for (const Family& family : families()) {
    const auto oracle = make_oracle(family.spec);
    const Ratios segment = segment_ratios(*oracle, family);
    const Ratios hvp = hvp_ratios(*oracle, family);
    std::cout << "[ smoothness ] " << family.spec.family << ": largest estimate / envelope, "
              << "segment " << segment.trajectory << " (trajectory), " << segment.probes
              << " (probes); hvp " << hvp.trajectory << " (trajectory), " << hvp.probes
              << " (probes)\n";
    EXPECT_GE(std::max(segment.trajectory, segment.probes), family.segment_at_least)
        << family.spec.family;
    EXPECT_GE(std::max(hvp.trajectory, hvp.probes), family.hvp_at_least) << family.spec.family;
  }
}

// ---------------------------------------------------------------------------
// The LSTM, which has no certificate: its fitted (L0, L1) describes samples
// it was not fitted on.

// A character LSTM on Tiny Shakespeare small enough that a gradient of its
// fixed evaluation set takes ~0.2 ms (d = 8041); empty when DISTCLIP_DATA
// does not hold the corpus.
std::optional<ObjectiveSpec> small_lstm() {
  const char* data = std::getenv("DISTCLIP_DATA");
  const std::string file = "tinyshakespeare/input.txt";
  if (data == nullptr || !std::filesystem::exists(std::filesystem::path(data) / file)) {
    return std::nullopt;
  }
  ObjectiveSpec spec;
  spec.family = "lstm";
  spec.batch_size = 4;
  LanguageModelSpec& lm = spec.language_model;
  lm.data_folder = data;
  lm.train_file = file;
  lm.level = "char";
  lm.embedding = 8;
  lm.hidden = 32;
  lm.window = 16;
  lm.eval_windows = 16;
  return spec;
}

// Segment estimates (K = 4) between consecutive xbar_t of 600 CELGC steps
// (N = 4, I = 8, eta = 5, gamma = 0.5, clipping active: the settings of
// test_language_model), fitted on the even-indexed samples and checked on
// the odd ones. About 0.8 s.
//
// Measured at seed 1: ||grad f|| from 0.076 to 0.32; the even samples' least
// squares L = 0.033 + 1.80 g (R^2 = 0.21: L varies along the run far more
// than g explains, the relation is an envelope rather than a law); the
// frontier at L1 = 1.80 is L0 = 0.599 (L-smoothness alone needs L0 = 0.992);
// the largest held-out L / (L0 + L1 g) is 0.881, none above 1.
//
// Why not "none above 1" as the assertion: L0 is a maximum over the ~300
// even samples, and a sample exchangeable with them lies above that maximum
// with probability 1/(n + 1), so about one of 300 held-out samples is
// expected above the fitted envelope by chance. Over seeds 1..10 the count
// was 0, 0, 0, 0, 0, 4, 1, 2, 0, 1 and the largest ratio 0.86 to 1.07. The
// test allows 2% of them (6) above, none by more than 10%. A fit that
// missed the envelope fails it: half the frontier's L0 puts 11 held-out
// samples above, the largest at 1.32; the least-squares intercept in place of
// the frontier's L0 puts 137 above.
TEST(LstmSmoothness, FittedEnvelopeHoldsOnHeldOutSamples) {
  const std::optional<ObjectiveSpec> spec = small_lstm();
  if (!spec) GTEST_SKIP() << "DISTCLIP_DATA does not hold tinyshakespeare/input.txt";
  LanguageModelOracle oracle(*spec, 4);
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 8;
  options.step_size = 5.0;
  options.clip_threshold = 0.5;
  options.max_steps = 600;
  InProcessCommunicator communicator(4);
  Runner runner(kCelgc, oracle, communicator, options);
  std::vector<Vector> points;
  for (std::int64_t t = 0; t <= options.max_steps; ++t) {
    ASSERT_TRUE(runner.advance_to(t));
    runner.evaluate();
    points.push_back(runner.averaged_iterate());
  }
  const std::vector<SmoothnessSample> samples = segment_estimates(oracle, points, {.points = 4});
  ASSERT_EQ(samples.size(), 600u);
  std::vector<SmoothnessSample> even, odd;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    (k % 2 == 0 ? even : odd).push_back(samples[k]);
  }

  const std::optional<SmoothnessLine> line = fit_line(even);
  ASSERT_TRUE(line.has_value());
  EXPECT_GT(line->l1, 0.0);
  const std::vector<FrontierVertex> vertices = frontier(even);
  const double l1 = line->l1;
  const double l0 = frontier_l0(vertices, l1);
  // L1 > 0 buys a smaller L0 than L-smoothness (L1 = 0) needs.
  EXPECT_LT(l0, frontier_l0(vertices, 0.0));

  int above = 0;
  double largest = 0.0;
  for (const SmoothnessSample& s : odd) {
    const double ratio = s.smoothness / (l0 + l1 * s.grad_norm);
    above += ratio > 1.0 ? 1 : 0;
    largest = std::max(largest, ratio);
  }
  std::cout << "[ smoothness ] lstm: least squares L = " << line->l0 << " + " << l1
            << " g (R^2 = " << line->r_squared << "), frontier L0 = " << l0 << " at L1 = " << l1
            << "; held out: " << above << " of " << odd.size()
            << " above, largest L / (L0 + L1 g) = " << largest << "\n";
  EXPECT_LE(above, static_cast<int>(0.02 * odd.size()));
  EXPECT_LE(largest, 1.1);
}

}  // namespace
}  // namespace distclip
