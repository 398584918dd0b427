// phase-retrieval's data and minibatches: the data follow the documented
// recipe and depend only on data-seed, the planted solution is a minimiser,
// and the minibatch gradient is an unbiased, genuinely random estimate.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

ObjectiveSpec phase_retrieval(Index dim, Index batch_size = 1, std::uint64_t seed = 7) {
  ObjectiveSpec spec = family_spec("phase-retrieval", dim);
  spec.batch_size = batch_size;
  spec.data_seed = seed;
  return resolve(spec);
}

TEST(PhaseRetrieval, DataDependOnlyOnTheDataSeed) {
  const auto first = make_function(phase_retrieval(12));
  const auto again = make_function(phase_retrieval(12));
  const auto other = make_function(phase_retrieval(12, 1, 8));
  Rng rng = make_stream(41, StreamPurpose::kTest, 0);
  const Vector x = random_point(rng, 12, 1.5);
  Vector g1(12), g2(12), g3(12);
  first->gradient(x, g1);
  again->gradient(x, g2);
  other->gradient(x, g3);
  EXPECT_EQ(first->value(x), again->value(x));
  EXPECT_TRUE((g1.array() == g2.array()).all());
  EXPECT_EQ(first->l0(), again->l0());
  EXPECT_EQ(first->l1(), again->l1());
  EXPECT_NE(first->value(x), other->value(x));
  EXPECT_NE(first->l0(), other->l0());
}

// The planted x* of the documented recipe is a global minimiser, as is -x*:
// f(+-x*) = 0 and grad f(+-x*) = 0, up to the rounding of the residuals
// s_j^2 - y_j, each at most 4 (d + 2) eps y_max.
TEST(PhaseRetrieval, PlantedSolutionIsAMinimiser) {
  for (const Index dim : {1, 3, 20}) {
    const ObjectiveSpec spec = phase_retrieval(dim);
    const auto f = make_function(spec);
    const PlantedData data = regenerate_phase_retrieval(spec.data_seed, dim, *spec.samples);
    const double y_max = data.labels.maxCoeff();
    const double residual = 4.0 * (dim + 2.0) * kEps * y_max;
    const double m = data.data.colwise().squaredNorm().maxCoeff();
    Vector g(dim);
    for (const double sign : {1.0, -1.0}) {
      const Vector x = sign * data.planted;
      EXPECT_LE(f->value(x), spec.scale / 4.0 * residual * residual) << "d = " << dim;
      f->gradient(x, g);
      // |grad_i| <= c max_j |residual_j| |s_j| |a_ij| <= c residual sqrt(y_max m).
      EXPECT_LE(g.norm(), spec.scale * residual * std::sqrt(y_max * m) * std::sqrt(dim))
          << "d = " << dim;
    }
    EXPECT_EQ(f->f_low(), 0.0);
  }
}

// Unbiased: the mean of K minibatch gradients against the full gradient,
// coordinate by coordinate within 6 estimated standard errors (CLT on K iid
// draws of a bounded, discrete distribution; false failure ~ 2e-9 each).
TEST(PhaseRetrieval, MinibatchGradientIsUnbiased) {
  for (const Index batch : {1, 4}) {
    const ObjectiveSpec spec = phase_retrieval(5, batch);
    const auto f = make_function(spec);
    Rng point_rng = make_stream(42, StreamPurpose::kTest, 0);
    const Vector x = random_point(point_rng, 5, 1.3);
    Vector exact(5), sample(5);
    f->gradient(x, exact);
    const int draws = 20000;
    Vector sum = Vector::Zero(5), sum_sq = Vector::Zero(5);
    Rng rng = make_stream(43, StreamPurpose::kTest, static_cast<std::uint64_t>(batch));
    for (int k = 0; k < draws; ++k) {
      f->sample_gradient(x, rng, sample);
      sum += sample;
      sum_sq += sample.cwiseAbs2();
    }
    const Vector mean = sum / draws;
    const Vector variance = (sum_sq / draws - mean.cwiseAbs2()) * draws / (draws - 1.0);
    for (Index i = 0; i < 5; ++i) {
      const double standard_error = std::sqrt(variance[i] / draws);
      EXPECT_NEAR(mean[i], exact[i], 6.0 * standard_error) << "batch " << batch << " i " << i;
      // Power: the standard error is small against the gradient's scale.
      EXPECT_LT(6.0 * standard_error, 0.1 * exact.norm()) << "batch " << batch;
    }
  }
}

// Each single-sample gradient is c (s_j^2 - y_j) s_j a_j for one of the n
// samples (checks the 1/B scaling and the formula, not only the mean).
TEST(PhaseRetrieval, SingleSampleIsOneTermOfTheSum) {
  const ObjectiveSpec spec = phase_retrieval(4);
  const auto f = make_function(spec);
  const PlantedData data = regenerate_phase_retrieval(spec.data_seed, 4, *spec.samples);
  const Vector x = Vector::Constant(4, 0.3);
  Rng rng = make_stream(44, StreamPurpose::kTest, 0);
  Vector sample(4);
  for (int k = 0; k < 20; ++k) {
    f->sample_gradient(x, rng, sample);
    double closest = std::numeric_limits<double>::infinity();
    for (Index j = 0; j < *spec.samples; ++j) {
      const double s = data.data.col(j).dot(x);
      const Vector term = spec.scale * (s * s - data.labels[j]) * s * data.data.col(j);
      closest = std::min(closest, (term - sample).norm() / term.norm());
    }
    EXPECT_LE(closest, 1e-14);
  }
}

// batch-size = n samples with replacement: still random (two draws differ,
// and neither is the full gradient).
TEST(PhaseRetrieval, FullSizeBatchIsStillRandom) {
  const ObjectiveSpec spec = phase_retrieval(6, 48);
  ASSERT_EQ(*spec.samples, 48);
  const auto f = make_function(spec);
  const Vector x = Vector::Constant(6, 0.7);
  Vector exact(6), first(6), second(6);
  f->gradient(x, exact);
  Rng rng = make_stream(45, StreamPurpose::kTest, 0);
  f->sample_gradient(x, rng, first);
  f->sample_gradient(x, rng, second);
  EXPECT_GT((first - second).norm(), 1e-3 * exact.norm());
  EXPECT_GT((first - exact).norm(), 1e-3 * exact.norm());
}

TEST(PhaseRetrieval, SamplingNoiseIsUnbounded) {
  const auto f = make_function(phase_retrieval(5));
  EXPECT_EQ(f->sampling_sigma(), Constant::unbounded());
  EXPECT_EQ(f->sampling_noise_std(), Constant::unbounded());
  const FamilyInfo* info = find_family("phase-retrieval");
  ASSERT_NE(info, nullptr);
  EXPECT_FALSE(info->additive_noise_only);
}

}  // namespace
}  // namespace distclip::test
