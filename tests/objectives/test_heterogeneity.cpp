// Heterogeneous synthetic objectives: worker i's f_i = f + <b_i, x> with
// tilts that sum to 0. The global f is unchanged, kappa is the tilts' mean
// norm, and each f_i is (L0 + L1 max_i ||b_i||, L1)-smooth.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

ObjectiveSpec tilted(const std::string& family, Index dim, double zeta) {
  ObjectiveSpec spec = family_spec(family, dim);
  spec.heterogeneity = zeta;
  spec.noise.model = "ball";
  spec.noise.sigma = 0.5;
  return resolve(spec);
}

// The tilts sum to 0 and have mean norm zeta (to rounding: N terms of norm
// ~zeta, N eps zeta per entry); f and grad f are the homogeneous ones bit
// for bit; the local gradients differ from grad f by exactly the tilts; the
// constants are as stated.
TEST(Heterogeneity, TiltsCancelAndKappaIsTheirMeanNorm) {
  for (const std::string family : {"double-well", "quartic", "cosh-well", "phase-retrieval",
                                    "rippled-quadratic"}) {
    for (const int workers : {2, 3, 8}) {
      SCOPED_TRACE(family + " N = " + std::to_string(workers));
      const Index d = 6;
      const ObjectiveSpec spec = tilted(family, d, 0.75);
      const auto oracle = make_oracle(spec, workers);
      const auto plain = make_oracle(family_spec(family, d));
      const std::vector<Vector>& tilts = oracle->tilts();
      ASSERT_EQ(tilts.size(), static_cast<std::size_t>(workers));
      Vector sum = Vector::Zero(d);
      double norms = 0.0, largest = 0.0;
      for (const Vector& b : tilts) {
        sum += b;
        norms += b.norm();
        largest = std::max(largest, b.norm());
      }
      EXPECT_LE(sum.norm(), 8.0 * workers * kEps * largest);
      EXPECT_NEAR(norms / workers, 0.75, 8.0 * workers * kEps);
      const OracleConstants c = oracle->constants();
      EXPECT_NEAR(c.kappa.value(), 0.75, 8.0 * workers * kEps);
      EXPECT_EQ(c.l0.value(), plain->function().l0() + plain->function().l1() * largest);
      EXPECT_EQ(c.l1.value(), plain->function().l1());
      EXPECT_EQ(c.f_low.value(), plain->function().f_low());

      Rng rng = make_stream(81, StreamPurpose::kTest, static_cast<std::uint64_t>(workers));
      const Vector x = random_point(rng, d, 1.3);
      Vector g(d), g_plain(d), local(d), mean = Vector::Zero(d);
      oracle->gradient(x, g);
      plain->gradient(x, g_plain);
      EXPECT_EQ(oracle->value(x), plain->value(x));
      EXPECT_TRUE((g.array() == g_plain.array()).all());
      for (int i = 0; i < workers; ++i) {
        oracle->local_gradient(i, x, local);
        EXPECT_TRUE(local.isApprox(g + tilts[i], 0.0)) << i;
        EXPECT_EQ(oracle->local_value(i, x), oracle->value(x) + tilts[i].dot(x));
        mean += local;
      }
      mean /= workers;
      EXPECT_LE((mean - g).norm(), 8.0 * workers * kEps * (g.norm() + largest));
    }
  }
}

// Each f_i satisfies the stated certificate: ||Hess f_i|| = ||Hess f|| <=
// L0 + L1 max_i ||b_i|| + L1 ||grad f_i|| at random points of radii 0.1 to 10.
TEST(Heterogeneity, EveryLocalObjectiveSatisfiesTheStatedCertificate) {
  for (const std::string family : {"double-well", "quartic", "cosh-well", "rippled-quadratic"}) {
    SCOPED_TRACE(family);
    const Index d = 5;
    const int workers = 4;
    const auto oracle = make_oracle(tilted(family, d, 2.0), workers);
    const SyntheticFunction& f = oracle->function();
    const double l0 = oracle->constants().l0.value(), l1 = oracle->constants().l1.value();
    Rng rng = make_stream(82, StreamPurpose::kTest, 0);
    Vector g(d);
    Matrix h(d, d);
    for (int k = 0; k < 400; ++k) {
      const Vector x = random_point(rng, d, std::pow(10.0, (k % 9 - 4) / 4.0));
      f.hessian(x, h);
      const double hessian_norm = spectral_norm(h);
      for (int i = 0; i < workers; ++i) {
        oracle->local_gradient(i, x, g);
        // Rounding: the Hessian's norm and the gradient to 1e-12 relative.
        EXPECT_LE(hessian_norm, (l0 + l1 * g.norm()) * (1.0 + 1e-12)) << "worker " << i;
      }
    }
  }
}

// The tilts depend on the data seed, the number of workers and zeta only:
// the same for any run seed, other for another data seed.
TEST(Heterogeneity, TiltsComeFromTheDataSeed) {
  const ObjectiveSpec spec = tilted("double-well", 4, 0.5);
  const auto a = make_oracle(spec, 3);
  const auto b = make_oracle(spec, 3);
  ObjectiveSpec other = spec;
  other.data_seed = 2;
  const auto c = make_oracle(other, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE((a->tilts()[i].array() == b->tilts()[i].array()).all());
    EXPECT_FALSE(a->tilts()[i].isApprox(c->tilts()[i]));
  }
}

TEST(Heterogeneity, RejectedWhereItCannotHold) {
  EXPECT_THROW(make_oracle(tilted("double-well", 4, 0.5), 1), std::invalid_argument);
  ObjectiveSpec chain = family_spec("zero-chain", 4);
  chain.heterogeneity = 0.5;
  std::string error;
  EXPECT_FALSE(is_valid(chain, &error));
  EXPECT_EQ(error, "heterogeneity = 0.5, must be 0 for zero-chain (the lower-bound instance is "
                   "homogeneous)");
  ObjectiveSpec negative = family_spec("quartic", 4);
  negative.heterogeneity = -1.0;
  EXPECT_FALSE(is_valid(negative, &error));
  EXPECT_EQ(error, "heterogeneity = -1, must be >= 0");
  // An oracle made for 3 workers serves only 3.
  const auto oracle = make_oracle(tilted("double-well", 4, 0.5), 3);
  EXPECT_THROW(oracle->reserve_workers(4), std::invalid_argument);
  Rng rng = make_stream(83, StreamPurpose::kTest, 0);
  Vector out(4);
  EXPECT_THROW(oracle->stochastic_gradient(Vector::Zero(4), 3, rng, out), std::invalid_argument);
}

}  // namespace
}  // namespace distclip::test
