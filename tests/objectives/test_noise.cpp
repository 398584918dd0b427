// The additive noise models: zero mean, the stated bound and second moment,
// reproducibility from the rng, and the chi-square identity behind the
// truncated Gaussian's noise_std; and the keyed normal generator under the
// normal models: its kernels' equal bits and its law.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <gtest/gtest.h>

#include "distclip/objectives/noise.hpp"
#include "objectives/objective_checks.hpp"
#include "normal_fill.hpp"  // objectives/src: the module's internals

namespace distclip::test {
namespace {

NoiseSpec noise(const std::string& model, double sigma = 0.5, double dof = 3.0) {
  NoiseSpec spec;
  spec.model = model;
  spec.sigma = sigma;
  spec.dof = dof;
  return spec;
}

// K draws of the noise alone (added to g = 0).
Matrix draw(const NoiseModel& model, Index d, int draws, std::uint64_t seed) {
  Rng rng = make_stream(seed, StreamPurpose::kTest, static_cast<std::uint64_t>(d));
  Matrix samples(d, draws);
  Vector g(d), scratch(d);
  for (int k = 0; k < draws; ++k) {
    g.setZero();
    model.add(rng, g, scratch);
    samples.col(k) = g;
  }
  return samples;
}

struct MomentCase {
  std::string model;
  Index dim;
  int draws;
  double dof = 3.0;
};

// How GoogleTest (and so ctest) names a case, instead of its raw bytes.
void PrintTo(const MomentCase& c, std::ostream* os) {
  *os << c.model << " d=" << c.dim << " draws=" << c.draws << " dof=" << c.dof;
}

class Moments : public testing::TestWithParam<MomentCase> {};
class SecondMoment : public testing::TestWithParam<MomentCase> {};
class BoundedModels : public testing::TestWithParam<MomentCase> {};

// Zero mean: the models are isotropic, so each coordinate of the mean of K
// draws has variance noise_std^2 / (d K), and by the central limit theorem
// T = (d K / noise_std^2) ||mean||^2 is close to chi2_d. The test fails when
// T exceeds the chi2_d quantile of 1 - 1e-6: false-failure probability about
// 1e-6 per case.
TEST_P(Moments, MeanIsZero) {
  const auto& param = GetParam();
  const auto model = make_noise(noise(param.model, 0.5, param.dof), param.dim);
  const Matrix samples = draw(*model, param.dim, param.draws, 31);
  const double d = static_cast<double>(param.dim), k = static_cast<double>(param.draws);
  const double std = model->noise_std().value();
  const Vector mean = samples.rowwise().mean();
  const double statistic = d * k * mean.squaredNorm() / (std * std);
  const double limit = boost::math::quantile(
      boost::math::complement(boost::math::chi_squared_distribution<double>(d), 1e-6));
  EXPECT_LE(statistic, limit) << model->describe();
}

// E ||n||^2 = noise_std^2: the sample mean of ||n||^2 over K draws is within
// 6 estimated standard errors (CLT; false failure ~ 2e-9). Needs a finite
// fourth moment: for student-t, dof > 4 (so dof = 10 here).
TEST_P(SecondMoment, MatchesNoiseStd) {
  const auto& param = GetParam();
  const auto model = make_noise(noise(param.model, 0.5, param.dof), param.dim);
  const Matrix samples = draw(*model, param.dim, param.draws, 32);
  const Eigen::ArrayXd squared = samples.colwise().squaredNorm().transpose().array();
  const double mean = squared.mean();
  const double variance = (squared - mean).square().sum() / (squared.size() - 1.0);
  const double standard_error = std::sqrt(variance / squared.size());
  const double expected = std::pow(model->noise_std().value(), 2);
  EXPECT_NEAR(mean, expected, 6.0 * standard_error) << model->describe();
  // And the test has power: standard errors are well below the 10% that a
  // wrong scaling (e.g. forgetting sqrt((nu-2)/nu) or d/(d+2)) would cause.
  EXPECT_LT(6.0 * standard_error, 0.1 * expected) << model->describe();
}

// Bounded models never exceed sigma: checked on every draw, with a relative
// slack of 1e-12 for the rounding of the norm (d <= 1000 terms: <= 1000 eps
// = 2.2e-13).
TEST_P(BoundedModels, StayInTheBall) {
  const auto& param = GetParam();
  const auto model = make_noise(noise(param.model, 0.5, param.dof), param.dim);
  ASSERT_TRUE(model->sigma().is_known());
  const Matrix samples = draw(*model, param.dim, param.draws, 33);
  const double largest = samples.colwise().norm().maxCoeff();
  EXPECT_LE(largest, model->sigma().value() * (1.0 + 1e-12)) << model->describe();
}

std::vector<MomentCase> moment_cases(bool bounded_only, bool finite_fourth_moment) {
  std::vector<MomentCase> cases;
  for (const std::string model : {"ball", "truncated-gaussian", "gaussian", "student-t"}) {
    const bool bounded = model == "ball" || model == "truncated-gaussian";
    if (bounded_only && !bounded) continue;
    // student-t: dof = 3 (finite variance only) and dof = 10 (finite 4th moment).
    for (const double dof :
         model == "student-t" ? std::vector<double>{3.0, 10.0} : std::vector<double>{3.0}) {
      if (finite_fourth_moment && model == "student-t" && dof <= 4.0) continue;
      cases.push_back({model, 1, 20000, dof});
      cases.push_back({model, 5, 20000, dof});
      cases.push_back({model, 1000, 2000, dof});
    }
  }
  return cases;
}

std::string moment_case_name(const testing::TestParamInfo<MomentCase>& info) {
  std::string name = info.param.model;
  for (char& ch : name) ch = ch == '-' ? '_' : ch;
  name += "_d";
  name += std::to_string(info.param.dim);
  if (info.param.model == "student-t") {
    name += "_dof";
    name += std::to_string(static_cast<int>(info.param.dof));
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllModels, Moments, testing::ValuesIn(moment_cases(false, false)),
                         moment_case_name);
INSTANTIATE_TEST_SUITE_P(FiniteFourthMoment, SecondMoment,
                         testing::ValuesIn(moment_cases(false, true)), moment_case_name);
INSTANTIATE_TEST_SUITE_P(Bounded, BoundedModels, testing::ValuesIn(moment_cases(true, false)),
                         moment_case_name);

// The radius of the ball model has P(||n|| <= sigma r) = r^d: at r = 1/2 and
// d = 5, 1/32. Among K = 20000 draws the count is binomial; 6 standard
// deviations (sqrt(K p (1 - p)) = 24.6) bound it.
TEST(BallNoise, RadiusHasTheBallLaw) {
  const auto model = make_noise(noise("ball", 2.0), 5);
  const Matrix samples = draw(*model, 5, 20000, 34);
  const double p = 1.0 / 32.0, k = 20000.0;
  const double inside = (samples.colwise().norm().array() <= 1.0).cast<double>().sum();
  EXPECT_NEAR(inside, k * p, 6.0 * std::sqrt(k * p * (1.0 - p)));
}

TEST(NoiseModels, ConstantsAndFlags) {
  const Index d = 10;
  const auto none = make_noise(noise("none"), d);
  EXPECT_EQ(none->sigma(), Constant::known(0.0));
  EXPECT_EQ(none->noise_std(), Constant::known(0.0));
  const auto ball = make_noise(noise("ball", 2.0), d);
  EXPECT_EQ(ball->sigma(), Constant::known(2.0));
  EXPECT_DOUBLE_EQ(ball->noise_std().value(), 2.0 * std::sqrt(10.0 / 12.0));
  EXPECT_TRUE(ball->needs_scratch());
  const auto truncated = make_noise(noise("truncated-gaussian", 2.0), d);
  EXPECT_EQ(truncated->sigma(), Constant::known(2.0));
  EXPECT_TRUE(truncated->needs_scratch());
  // Truncation lowers the second moment below the untruncated s^2 d = sigma^2/4.
  EXPECT_LT(truncated->noise_std().value(), 2.0 / 2.0);
  EXPECT_GT(truncated->noise_std().value(), 0.9 * 2.0 / 2.0);
  for (const std::string model : {"gaussian", "student-t"}) {
    const auto unbounded = make_noise(noise(model, 2.0), d);
    EXPECT_EQ(unbounded->sigma(), Constant::unbounded()) << model;
    EXPECT_EQ(unbounded->noise_std(), Constant::known(2.0)) << model;
    EXPECT_FALSE(unbounded->needs_scratch()) << model;
  }
  for (const std::string model : {"none", "ball", "truncated-gaussian", "gaussian", "student-t"}) {
    const auto instance = make_noise(noise(model), d);
    EXPECT_TRUE(instance->symmetric_unimodal()) << model;
    const NoiseInfo* info = find_noise_model(model);
    ASSERT_NE(info, nullptr) << model;
    EXPECT_EQ(info->bounded, instance->sigma().is_known()) << model;
    EXPECT_EQ(instance->describe().rfind(model, 0), 0u) << instance->describe();
  }
}

// E[X 1{X <= c}] = d P(chi2_{d+2} <= c) for X ~ chi2_d, checked by
// adaptive Gauss-Kronrod quadrature of x f_d(x) on [0, c], asked for 1e-14
// relative error (x f_d(x) is smooth on (0, c]; at d = 1 it behaves like
// sqrt(x) at 0, which adaptive bisection resolves); tolerance 1e-12.
TEST(TruncatedGaussianNoise, ChiSquareIdentity) {
  for (const double d : {1.0, 2.0, 5.0, 50.0, 1000.0}) {
    const boost::math::chi_squared_distribution<double> chi2(d);
    const double c = 4.0 * d;
    const auto integrand = [&](double x) { return x * boost::math::pdf(chi2, x); };
    const double integral =
        boost::math::quadrature::gauss_kronrod<double, 61>::integrate(integrand, 0.0, c, 15, 1e-14);
    const double identity = d * boost::math::gamma_p(d / 2.0 + 1.0, c / 2.0);
    EXPECT_NEAR(integral, identity, 1e-12 * identity) << "d = " << d;
  }
}

// The rejection sampler accepts with probability P(chi2_d <= 4d) >= 0.9545
// (d = 1 is the worst case), so it never loops long.
TEST(TruncatedGaussianNoise, AcceptanceIsHighInEveryDimension) {
  for (int d = 1; d <= 2000; ++d) {
    ASSERT_GE(boost::math::gamma_p(d / 2.0, 2.0 * d), 0.9544) << "d = " << d;
  }
}

TEST(NoiseModels, SameSeedSameBitsOtherSeedOtherDraws) {
  for (const std::string model : {"ball", "truncated-gaussian", "gaussian", "student-t"}) {
    const auto instance = make_noise(noise(model), 50);
    const Matrix first = draw(*instance, 50, 20, 35);
    const Matrix again = draw(*instance, 50, 20, 35);
    const Matrix other = draw(*instance, 50, 20, 36);
    EXPECT_TRUE((first.array() == again.array()).all()) << model;
    EXPECT_TRUE((first.array() != other.array()).all()) << model;
    // Consecutive draws of one stream differ too.
    EXPECT_TRUE((first.col(0).array() != first.col(1).array()).all()) << model;
  }
}

// add() adds: on g = 1 the result is 1 + the noise drawn on g = 0 from the
// same rng state, to the rounding of one addition (|n| + 1) eps.
TEST(NoiseModels, AddsToTheGradient) {
  for (const std::string model : {"none", "ball", "truncated-gaussian", "gaussian", "student-t"}) {
    const auto instance = make_noise(noise(model), 8);
    Rng first = make_stream(37, StreamPurpose::kTest, 0);
    Rng second = first;
    Vector zero = Vector::Zero(8), one = Vector::Ones(8), scratch(8);
    instance->add(first, zero, scratch);
    instance->add(second, one, scratch);
    const Vector expected = zero.array() + 1.0;
    EXPECT_TRUE(one.isApprox(expected, 4 * std::numeric_limits<double>::epsilon())) << model;
    if (model == "none") {
      EXPECT_TRUE((one.array() == 1.0).all());
    }
  }
}

TEST(NoiseModels, RejectsInvalidSpecs) {
  const auto message = [](const NoiseSpec& spec) {
    try {
      make_noise(spec, 3);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no exception");
  };
  EXPECT_EQ(message(noise("ball", -1.0)), "sigma = -1, must be > 0");
  EXPECT_EQ(message(noise("gaussian", 0.0)), "sigma = 0, must be > 0");
  EXPECT_EQ(message(noise("ball", std::nan(""))), "sigma = nan, must be finite and > 0");
  EXPECT_EQ(message(noise("student-t", 1.0, 2.0)), "dof = 2, must be > 2");
  EXPECT_EQ(message(noise("foo")),
            "noise = 'foo' is not one of: none, ball, truncated-gaussian, gaussian, student-t");
  // "none" ignores sigma; student-t's dof matters only to student-t.
  EXPECT_EQ(message(noise("none", -1.0)), "no exception");
  EXPECT_EQ(message(noise("ball", 1.0, 1.0)), "no exception");
  EXPECT_THROW(make_noise(noise("ball"), 0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// The keyed normals (objectives/src/normal_fill.hpp).

using detail::NormalKernel;

std::vector<double> normals(std::uint64_t key, Index n, NormalKernel kernel) {
  std::vector<double> z(static_cast<std::size_t>(n));
  detail::standard_normals(key, z.data(), n, kernel);
  return z;
}

// The vector kernels compute every lane as the scalar loop does, so their
// results are the same bits, at every length (whole blocks, partial tails)
// and on the 1-3% of lanes the fast path rejects; the add variant adds
// exactly scale z_j. Kernels this processor lacks are skipped.
TEST(KeyedNormals, EveryKernelGivesTheScalarBits) {
  for (const NormalKernel kernel : {NormalKernel::kAvx2, NormalKernel::kAvx512}) {
    if (!detail::normal_kernel_supported(kernel)) continue;
    for (const std::uint64_t key : {0ULL, 1ULL, 0x123456789abcdefULL, ~0ULL}) {
      for (const Index n : {1, 3, 4, 7, 8, 9, 17, 1000, 100003}) {
        const auto expected = normals(key, n, NormalKernel::kScalar);
        const auto got = normals(key, n, kernel);
        ASSERT_EQ(std::memcmp(expected.data(), got.data(), sizeof(double) * expected.size()), 0)
            << "kernel " << static_cast<int>(kernel) << " key " << key << " n " << n;
        std::vector<double> g(expected.size(), 1.5), g_scalar(expected.size(), 1.5);
        detail::add_scaled_standard_normals(key, 0.3, g.data(), n, kernel);
        detail::add_scaled_standard_normals(key, 0.3, g_scalar.data(), n, NormalKernel::kScalar);
        ASSERT_EQ(std::memcmp(g.data(), g_scalar.data(), sizeof(double) * g.size()), 0);
        for (std::size_t j = 0; j < g.size(); ++j) ASSERT_EQ(g[j], 1.5 + 0.3 * expected[j]);
      }
    }
  }
}

// z_j depends on (key, j) only: a prefix of a longer vector is the shorter
// vector, and another key gives other values.
TEST(KeyedNormals, ElementsDependOnTheKeyAndTheirIndexOnly) {
  const auto long_vector = normals(7, 1000, NormalKernel::kAuto);
  const auto short_vector = normals(7, 333, NormalKernel::kAuto);
  EXPECT_TRUE(std::equal(short_vector.begin(), short_vector.end(), long_vector.begin()));
  const auto other = normals(8, 333, NormalKernel::kAuto);
  int equal = 0;
  for (std::size_t j = 0; j < other.size(); ++j) equal += other[j] == short_vector[j] ? 1 : 0;
  EXPECT_EQ(equal, 0);
}

// The law: 4,000,000 draws (400 keys x 10,000) against N(0, 1).
// - Pearson's chi-square over 200 equiprobable bins (expected 20,000 each):
//   chi2_199 has mean 199 and sd 19.9; the bound 199 + 6 x 19.9 = 318.4 is
//   exceeded by chance with probability below 1e-6. The wedge regions,
//   which the slow path samples, hold 1-2% of the mass in thin strips
//   spread over [0, 3.44]; a slow path that returned its candidate
//   unchecked shifts ~1% of that mass and fails this test.
// - The tail beyond 3.4426 (Marsaglia's method, the base layer's slow path):
//   P = 2 (1 - Phi(3.4426)) = 5.76e-4, 2304 expected, within 6 binomial sds.
// - Moments: mean within 6 / sqrt(n), E z^2 within 6 sqrt(2 / n), E z^4
//   within 6 sqrt(96 / n) of 3 (Var z^4 = 105 - 9).
TEST(KeyedNormals, DrawsFollowTheStandardNormalLaw) {
  const boost::math::normal_distribution<double> law;
  constexpr int kBins = 200;
  std::vector<double> edges(kBins - 1);
  for (int b = 1; b < kBins; ++b) edges[b - 1] = boost::math::quantile(law, b / double(kBins));
  std::vector<double> counts(kBins, 0.0);
  double sum = 0.0, squares = 0.0, fourth = 0.0, tail = 0.0;
  const Index per_key = 10000;
  const int keys = 400;
  const double tail_start = 3.4426198558966521214;
  for (int k = 0; k < keys; ++k) {
    for (const double z : normals(1000 + k, per_key, NormalKernel::kAuto)) {
      counts[std::upper_bound(edges.begin(), edges.end(), z) - edges.begin()] += 1.0;
      sum += z;
      squares += z * z;
      fourth += z * z * z * z;
      tail += std::abs(z) > tail_start ? 1.0 : 0.0;
    }
  }
  const double n = static_cast<double>(per_key) * keys;
  const double expected = n / kBins;
  double chi2 = 0.0;
  for (const double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 199.0 + 6.0 * std::sqrt(2.0 * 199.0)) << "chi-square over " << kBins << " bins";
  const double p_tail = 2.0 * boost::math::cdf(boost::math::complement(law, tail_start));
  EXPECT_NEAR(tail, n * p_tail, 6.0 * std::sqrt(n * p_tail * (1.0 - p_tail)));
  EXPECT_NEAR(sum / n, 0.0, 6.0 / std::sqrt(n));
  EXPECT_NEAR(squares / n, 1.0, 6.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(fourth / n, 3.0, 6.0 * std::sqrt(96.0 / n));
  std::cout << "[ normals ] chi2_199 = " << chi2 << ", tail " << tail << " (expected "
            << n * p_tail << "), mean " << sum / n << ", E z^2 " << squares / n << ", E z^4 "
            << fourth / n << "\n";
}

}  // namespace
}  // namespace distclip::test
