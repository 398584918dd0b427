// The (L0, L1) certificates: ||Hess f(x)||_2 <= L0 + L1 ||grad f(x)|| at
// random and adversarial points, and evidence that each certificate is tight
// (or how loose it is) where the derivation says so.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <numbers>
#include <string>

#include <boost/math/tools/minima.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <gtest/gtest.h>

#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

// The certificates are exact inequalities; what is compared is computed in
// floating point. The Hessian entries carry a relative error of a few eps
// (phase-retrieval: a sum of n <= 400 terms, <= 400 eps), the eigenvalue
// solver's norm O(d eps) with d <= 50, the gradient norm (d + n) eps: all
// below 1e-13, so a relative slack of 1e-12 covers rounding with a margin of
// 10 and is far below any real violation.
constexpr double kSlack = 1e-12;

struct Tally {
  double worst_ratio = 0.0;
  int points = 0;
  void add(const CertificateCheck& check) {
    worst_ratio = std::max(worst_ratio, check.ratio());
    ++points;
  }
};

void expect_certified(const SyntheticFunction& f, const Vector& x, Tally& tally,
                      const std::string& where) {
  const CertificateCheck check = check_certificate(f, x);
  ASSERT_TRUE(std::isfinite(check.hessian_norm) && std::isfinite(check.gradient_norm))
      << f.describe() << " at " << where;
  EXPECT_LE(check.hessian_norm, check.bound * (1.0 + kSlack))
      << f.describe() << " at " << where << ": ||H|| = " << check.hessian_norm
      << ", ||g|| = " << check.gradient_norm;
  tally.add(check);
}

void report(const std::string& what, const Tally& tally) {
  std::cout << std::setprecision(6) << "[ certificate ] " << what
            << ": max ||H|| / (L0 + L1 ||g||) = " << tally.worst_ratio << " over " << tally.points
            << " points\n";
  testing::Test::RecordProperty("max_ratio", std::to_string(tally.worst_ratio));
}

// Random directions at radii 1e-3 .. 1e2 (quarter decades), and points whose
// coordinates span four decades. cosh-well keeps |b x_j| <= 300, where cosh
// is finite (it overflows near 710).
void random_points(const SyntheticFunction& f, const ObjectiveSpec& spec, Rng& rng, Tally& tally) {
  const Index d = spec.dim;
  const double clamp =
      spec.family == "cosh-well" ? 300.0 / spec.growth : std::numeric_limits<double>::infinity();
  for (int k = -12; k <= 8; ++k) {
    const double radius = std::pow(10.0, k / 4.0);
    for (int repeat = 0; repeat < 8; ++repeat) {
      const Vector x = random_point(rng, d, radius).cwiseMax(-clamp).cwiseMin(clamp);
      expect_certified(f, x, tally, "radius " + std::to_string(radius));
    }
  }
  boost::random::uniform_real_distribution<double> exponent(-3.0, 2.0);
  for (int repeat = 0; repeat < 40; ++repeat) {
    Vector x = gaussian_vector(rng, d);
    for (Index j = 0; j < d; ++j) x[j] *= std::pow(10.0, exponent(rng));
    expect_certified(f, x.cwiseMax(-clamp).cwiseMin(clamp), tally, "mixed scales");
  }
}

class Certificate : public testing::TestWithParam<Index> {};

TEST_P(Certificate, DoubleWell) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("double-well", d));
  const auto f = make_function(spec);
  const double c = spec.scale;
  const double w_max = d == 1 ? 1.0 : spec.condition;
  EXPECT_DOUBLE_EQ(f->l0(), 2.0 * c * w_max);
  EXPECT_EQ(f->l1(), 3.0);
  Rng rng = make_stream(21, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);

  // Adversarial: stationary points (0, the inflection-free local max of each
  // coordinate; +-1/sqrt(3), where h'' = 0), and the worst-case coordinate
  // t = +-1 on the heaviest weight while the others are large.
  expect_certified(*f, Vector::Zero(d), tally, "origin");
  expect_certified(*f, Vector::Constant(d, 1.0 / std::sqrt(3.0)), tally, "inflection");
  boost::random::uniform_int_distribution<int> coin(0, 1);
  for (const double others : {0.0, 0.5, 1.0, 3.0, 40.0}) {
    Vector x = Vector::Constant(d, others);
    for (Index j = 0; j < d; ++j) x[j] *= coin(rng) ? 1.0 : -1.0;
    x[d - 1] = coin(rng) ? 1.0 : -1.0;
    expect_certified(*f, x, tally, "t = +-1 on the heaviest coordinate");
  }

  // Tight: at a minimiser (x_j = +-1, gradient 0) ||H|| = 2 c w_max = L0,
  // so 0.99 L0 fails there.
  Vector minimiser(d);
  for (Index j = 0; j < d; ++j) minimiser[j] = coin(rng) ? 1.0 : -1.0;
  const CertificateCheck at_min = check_certificate(*f, minimiser);
  EXPECT_EQ(at_min.gradient_norm, 0.0);
  EXPECT_NEAR(at_min.hessian_norm, f->l0(), kSlack * f->l0());
  EXPECT_GT(at_min.hessian_norm, 0.99 * f->l0());

  // L1 = 3 is the least L1 that works with L0 = 2 c w_max: just past t = 1,
  // (|h''| - 2) / |h'| = 3 / t -> 3, so L1 = 2.99 fails at t = 1 + 1e-3.
  Vector near_one = minimiser;
  near_one[d - 1] = 1.0 + 1e-3;
  const CertificateCheck lower_l1 = check_certificate(*f, near_one, f->l0(), 2.99);
  EXPECT_GT(lower_l1.hessian_norm, lower_l1.bound);
  report("double-well d=" + std::to_string(d), tally);
}

TEST_P(Certificate, Quartic) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("quartic", d));
  const auto f = make_function(spec);
  const double q_max = d == 1 ? 1.0 : spec.condition;
  EXPECT_DOUBLE_EQ(f->l0(), 12.0 * spec.scale);
  EXPECT_DOUBLE_EQ(f->l1(), 3.0 * std::pow(q_max, 1.5));
  Rng rng = make_stream(22, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);
  // The split point s = 1/q_max of the derivation, along the lightest and
  // the heaviest coordinate, and the origin (H = 0).
  expect_certified(*f, Vector::Zero(d), tally, "origin");
  for (const double factor : {0.5, 1.0, 2.0}) {
    Vector x = Vector::Zero(d);
    x[0] = std::sqrt(factor / q_max);  // q_0 = 1: s = factor / q_max
    expect_certified(*f, x, tally, "lightest axis");
    x.setZero();
    x[d - 1] = std::sqrt(factor) / q_max;  // q_{d-1} = q_max
    expect_certified(*f, x, tally, "heaviest axis");
  }
  // Not L-smooth: with L1 = 0 the bound fails far out.
  const CertificateCheck far = check_certificate(*f, Vector::Constant(d, 10.0), f->l0(), 0.0);
  EXPECT_GT(far.hessian_norm, far.bound);
  report("quartic d=" + std::to_string(d), tally);
}

// The paper's example: x^4 is (12, 3)-smooth. At x = 1, ||H|| = 12 <= 24; the
// largest ratio 12 x^2 / (12 + 12 |x|^3) is 2^(2/3) / 3 = 0.529 at
// x = 2^(1/3), so (12, 3) holds with room (with L1 = 3, L0 = 16/9 suffices).
TEST(CertificateExamples, PaperQuartic) {
  ObjectiveSpec spec;
  spec.family = "quartic";
  spec.dim = 1;
  const auto f = make_function(spec);
  EXPECT_EQ(f->l0(), 12.0);
  EXPECT_EQ(f->l1(), 3.0);
  const CertificateCheck at_one = check_certificate(*f, Vector::Constant(1, 1.0));
  EXPECT_EQ(at_one.hessian_norm, 12.0);
  EXPECT_EQ(at_one.bound, 24.0);
  double worst = 0.0;
  for (double x = -5.0; x <= 5.0; x += 1e-4) {
    worst = std::max(worst, check_certificate(*f, Vector::Constant(1, x)).ratio());
  }
  // The grid step 1e-4 near the smooth maximum loses O(1e-8) of the ratio.
  EXPECT_NEAR(worst, std::pow(2.0, 2.0 / 3.0) / 3.0, 1e-7);
}

TEST_P(Certificate, CoshWell) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("cosh-well", d));
  const auto f = make_function(spec);
  const double a = spec.ripple, b = spec.growth, c = spec.scale;
  const double w_max = d == 1 ? 1.0 : spec.condition;
  EXPECT_DOUBLE_EQ(f->l0(), c * w_max * b * b * (1.0 + std::sqrt(2.0) * a));
  EXPECT_EQ(f->l1(), b);
  Rng rng = make_stream(23, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);

  // Stationary points: u = 0 (a local maximum per coordinate, a = 2 > 1) and
  // the minimisers u = +-u*; then one coordinate far out (u = 300) while the
  // others sit at those stationary points.
  const auto profile = [&](double u) { return std::cosh(u) + a * std::cos(u); };
  const double u_star = boost::math::tools::brent_find_minima(profile, 0.0, std::numbers::pi,
                                                              std::numeric_limits<double>::digits)
                            .first;
  for (const double others : {0.0, u_star}) {
    Vector x = Vector::Constant(d, others / b);
    expect_certified(*f, x, tally, "stationary");
    for (const double far : {5.0, 30.0, 300.0}) {
      x[d - 1] = far / b;
      expect_certified(*f, x, tally, "one coordinate far out");
    }
  }

  // L1 = b cannot be lowered: |phi''| / |phi'| -> b as u grows, so with
  // L1 = 0.99 b the bound fails at u = 30 even with a million times L0.
  Vector x = Vector::Zero(d);
  x[d - 1] = 30.0 / b;
  const CertificateCheck lower_l1 = check_certificate(*f, x, 1e6 * f->l0(), 0.99 * b);
  EXPECT_GT(lower_l1.hessian_norm, lower_l1.bound);

  // With L1 = b, L0 >= c w_max b^2 sqrt(2) a is needed: at u = 3 pi / 4 + 2 pi k
  // (the other coordinates at 0, where their gradient vanishes) the excess
  // ||H|| - b ||g|| = c w_max b^2 (e^-u + sqrt(2) a) exactly. The certificate's
  // 1 + sqrt(2) a is within (1 + sqrt(2) a) / (sqrt(2) a) = 1.35 of it (a = 2),
  // and tends to it as u grows, so it cannot be lowered by more. The excess
  // is a difference of two numbers of size ||H||, so it is known to a few
  // ulps of ||H||: tolerance 64 eps ||H||.
  for (const double k : {1.0, 2.0}) {
    const double u = 0.75 * std::numbers::pi + 2.0 * k * std::numbers::pi;
    x[d - 1] = u / b;
    const CertificateCheck check = check_certificate(*f, x);
    const double excess = check.hessian_norm - b * check.gradient_norm;
    EXPECT_NEAR(excess, c * w_max * b * b * (std::exp(-u) + std::sqrt(2.0) * a),
                64.0 * std::numeric_limits<double>::epsilon() * check.hessian_norm);
  }
  report("cosh-well d=" + std::to_string(d), tally);
}

TEST_P(Certificate, RippledQuadratic) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("rippled-quadratic", d));
  const auto f = make_function(spec);
  const double w_max = d == 1 ? 1.0 : spec.condition;
  EXPECT_DOUBLE_EQ(f->l0(), spec.scale * w_max * (1.0 + spec.ripple));
  EXPECT_EQ(f->l1(), 0.0);
  Rng rng = make_stream(24, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);
  for (const double others : {std::numbers::pi, 2.0 * std::numbers::pi, 100.0}) {
    Vector x = Vector::Constant(d, others);
    x[d - 1] = 0.0;
    expect_certified(*f, x, tally, "heaviest coordinate at 0");
  }
  // Tight at the minimiser 0: ||H(0)|| = c w_max (1 + a) = L0 exactly.
  const CertificateCheck at_zero = check_certificate(*f, Vector::Zero(d));
  EXPECT_EQ(at_zero.gradient_norm, 0.0);
  EXPECT_NEAR(at_zero.hessian_norm, f->l0(), kSlack * f->l0());
  EXPECT_GT(at_zero.hessian_norm, 0.99 * f->l0());
  report("rippled-quadratic d=" + std::to_string(d), tally);
}

// Many points of every kind: the certificate holds; the largest ratio seen
// measures how loose it is (docs/objectives.md quotes it).
TEST_P(Certificate, PhaseRetrieval) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("phase-retrieval", d));
  const auto f = make_function(spec);
  const PlantedData data = regenerate_phase_retrieval(spec.data_seed, d, *spec.samples);
  const double n = static_cast<double>(*spec.samples);

  // The constants are the documented formulas of the regenerated data; the
  // safety margin on lambda_min is at most 1e-9 lambda_max (relative error
  // of lambda_- below 1e-6 for this well-conditioned data).
  const Matrix sigma = data.data * data.data.transpose() / n;
  const Eigen::SelfAdjointEigenSolver<Matrix> eigen(sigma);
  const double lambda_min = eigen.eigenvalues()[0];
  const double m = data.data.colwise().squaredNorm().maxCoeff();
  const double y_max = data.labels.maxCoeff();
  EXPECT_NEAR(f->l0(), 3.0 * spec.scale * m * y_max, 1e-12 * f->l0());
  EXPECT_NEAR(f->l1(), 3.0 * m / std::sqrt(lambda_min * y_max), 1e-6 * f->l1());
  EXPECT_GE(f->l1(), 3.0 * m / std::sqrt(lambda_min * y_max));

  Rng rng = make_stream(25, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);
  expect_certified(*f, Vector::Zero(d), tally, "origin");
  for (double t = -5.0; t <= 5.0; t += 0.05) {
    expect_certified(*f, t * data.planted, tally, "multiple of x*");
  }
  for (const double offset : {1e-6, 1e-3, 1e-1}) {
    for (int repeat = 0; repeat < 10; ++repeat) {
      expect_certified(*f, data.planted + random_point(rng, d, offset), tally, "near x*");
      expect_certified(*f, -data.planted + random_point(rng, d, offset), tally, "near -x*");
    }
  }
  // The derivation's extremal configuration: q = x^T Sigma x = y_max along
  // the eigenvector of lambda_min, and multiples of it.
  const Vector v_min = eigen.eigenvectors().col(0);
  for (const double factor : {0.5, 1.0, 1.5, 3.0, 10.0}) {
    expect_certified(*f, factor * std::sqrt(y_max / lambda_min) * v_min, tally, "q = y_max");
  }
  for (const double radius : {1e2, 1e3}) {
    for (int repeat = 0; repeat < 10; ++repeat) {
      expect_certified(*f, random_point(rng, d, radius), tally, "far out");
    }
  }
  report("phase-retrieval d=" + std::to_string(d) + " n=" + std::to_string(*spec.samples), tally);
}

TEST_P(Certificate, ZeroChain) {
  const Index d = GetParam();
  const ObjectiveSpec spec = resolve(family_spec("zero-chain", d));
  const auto f = make_function(spec);
  EXPECT_DOUBLE_EQ(f->l0(), 152.0 * spec.scale / spec.width);
  EXPECT_EQ(f->l1(), 0.0);
  Rng rng = make_stream(26, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Tally tally;
  random_points(*f, spec, rng, tally);
  // Where the derivation's bound is nearest: u_j at the maximiser 0.7605 of
  // |Psi''|, u_{j+1} far out (Phi near its supremum), the neighbours at the
  // maximiser 0.908 of |Psi'|, on every link in turn; and along the chain's
  // path, every coordinate at t (x = t lambda).
  const double lambda = spec.width;
  for (Index j = 0; j < d; ++j) {
    for (const double far : {3.0, 10.0}) {
      Vector x = Vector::Constant(d, 0.908 * lambda);
      x[j] = 0.7605 * lambda;
      if (j + 1 < d) x[j + 1] = far * lambda;
      expect_certified(*f, x, tally, "a link at the largest |Psi''|");
    }
  }
  for (double t = -3.0; t <= 3.0; t += 0.01) {
    expect_certified(*f, Vector::Constant(d, t * lambda), tally, "every coordinate at t");
  }
  report("zero-chain d=" + std::to_string(d), tally);
}

INSTANTIATE_TEST_SUITE_P(Dimensions, Certificate, testing::Values<Index>(1, 2, 7, 50),
                         [](const testing::TestParamInfo<Index>& info) {
                           // Appended, not "d" + ...: GCC 12 warns falsely (-Wrestrict).
                           std::string name = "d";
                           name += std::to_string(info.param);
                           return name;
                         });

}  // namespace
}  // namespace distclip::test
