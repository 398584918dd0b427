// The additive noise models: zero mean, the stated bound and second moment,
// reproducibility from the rng, and the chi-square identity behind the
// truncated Gaussian's noise_std.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <gtest/gtest.h>

#include "distclip/objectives/noise.hpp"
#include "objectives/objective_checks.hpp"

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

}  // namespace
}  // namespace distclip::test
