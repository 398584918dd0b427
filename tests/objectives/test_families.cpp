// The six families against finite differences (gradient and Hessian), their
// lower bounds f_low, their minimisers and their initial points.
#include <algorithm>
#include <cmath>
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

constexpr double kEps = std::numeric_limits<double>::epsilon();
// Finite-difference step relative to max(1, |x_j|). The five-point stencil
// D(h) = [8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))] / (12 h) has truncation
// error h^4 max|f^(5)| / 30 and rounding error <= 1.5 delta / h, where delta
// bounds the error of one evaluation of f; h = 1e-3 keeps both far below a
// real bug (an O(1) relative error) for every family here.
constexpr double kStep = 1e-3;

// sup |Psi^(a)| and sup |Phi^(b)|, a, b = 0..6, of zero-chain's factors
// (docs/objectives.md, section 6), each the maximum over a grid of step
// 2.5e-4 (Psi: t in (1/2, 10.5]; Phi: [-10, 10]) rounded up; the bound
// below doubles them against what the grid and its range miss.
constexpr double kPsiBound[] = {2.72, 4.46, 32.4, 458, 1.04e4, 4.57e5, 2.47e7};
constexpr double kPhiBound[] = {4.14, 1.65, 1.0, 1.65, 2.28, 4.95, 9.54};

// Bound on |d^k f / dx_j^k| (and on the mixed k-th derivatives the Hessian
// check differentiates) over |x_j| <= radius, every j, for k >= 5: zero for
// the families of degree 4, from |cosh^(k)|, |cos^(k)| <= cosh, 1 for the
// separable others (weights <= condition); for zero-chain, c lambda^(1-k)
// times two terms Psi^(a) Phi^(b) with a + b = k.
double high_derivative_bound(const ObjectiveSpec& spec, int order, double radius) {
  if (spec.family == "cosh-well") {
    return spec.scale * spec.condition * std::pow(spec.growth, order) *
           (std::cosh(spec.growth * radius) + spec.ripple);
  }
  if (spec.family == "rippled-quadratic") return spec.scale * spec.condition * spec.ripple;
  if (spec.family == "zero-chain") {
    double largest = 0.0;
    for (int a = 0; a <= order; ++a) largest = std::max(largest, kPsiBound[a] * kPhiBound[order - a]);
    return 2.0 * 2.0 * largest * spec.scale * std::pow(spec.width, 1 - order);
  }
  return 0.0;
}

// Evaluations of f sum d terms (phase-retrieval: n terms, each a dot
// product of length d), each with relative error a few eps; the sum of the
// terms' magnitudes is at most |f| + 2 |f_low| because each term is at
// least its own minimum and f_low is the sum of those minima. `extra` adds
// magnitudes that cancel inside a term (see worst_gradient_error).
double evaluation_error(const SyntheticFunction& f, const ObjectiveSpec& spec, double value,
                        double extra = 0.0) {
  const double terms = static_cast<double>(spec.dim) + 10.0 +
                       (spec.samples ? 2.0 * static_cast<double>(*spec.samples) : 0.0);
  return 8.0 * terms * kEps * (std::abs(value) + 2.0 * std::abs(f.f_low()) + extra);
}

// max over j of |D_j - g_j| / tolerance_j.
double worst_gradient_error(const SyntheticFunction& f, const ObjectiveSpec& spec,
                            const Vector& x) {
  const Index d = x.size();
  Vector g(d);
  Matrix hessian(d, d);
  f.gradient(x, g);
  f.hessian(x, hessian);
  const double fx = f.value(x);
  // A term may vanish while its parts do not (a phase-retrieval residual
  // s_j^2 - y_j near x*): then its rounding, eps times the parts, is
  // multiplied by the residual's change over the stencil, at most
  // 2h (||x|| + 2h) times the curvature, which ||H|| + L0 bounds.
  const double curvature = spectral_norm(hessian) + f.l0();
  double worst = 0.0;
  for (Index j = 0; j < d; ++j) {
    const double h = kStep * std::max(1.0, std::abs(x[j]));
    Vector shifted = x;
    const auto at = [&](double offset) {
      shifted[j] = x[j] + offset;
      return f.value(shifted);
    };
    const double fd = (8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h);
    const double delta = evaluation_error(f, spec, std::abs(fx) + 2.0 * h * std::abs(g[j]),
                                          2.0 * h * (x.norm() + 2.0 * h) * curvature);
    const double truncation =
        std::pow(h, 4) / 30.0 * high_derivative_bound(spec, 5, std::abs(x[j]) + 2 * h);
    const double tolerance = 1.5 * delta / h + truncation + 16.0 * kEps * std::abs(g[j]);
    worst = std::max(worst, std::abs(fd - g[j]) / tolerance);
  }
  return worst;
}

// max over (i, j) of |D_ij - H_ij| / tolerance, with D the five-point
// stencil applied to the gradient. Each gradient entry is a sum of terms of
// magnitude at most ||grad|| + ||x|| (||H|| + L0) (for these families a
// term of g_i is at most |x| times a curvature term), so its rounding error
// is delta_g = 8 (d + 10 + 2n) eps times that.
double worst_hessian_error(const SyntheticFunction& f, const ObjectiveSpec& spec, const Vector& x) {
  const Index d = x.size();
  Vector g(d), plus(d), minus(d), plus2(d), minus2(d);
  Matrix h_exact(d, d);
  f.gradient(x, g);
  f.hessian(x, h_exact);
  // Symmetric up to the summation order of a matrix product (phase-retrieval).
  EXPECT_LE((h_exact - h_exact.transpose()).norm(), 1e-13 * h_exact.norm()) << "not symmetric";
  const double terms = static_cast<double>(d) + 10.0 +
                       (spec.samples ? 2.0 * static_cast<double>(*spec.samples) : 0.0);
  const double hessian_norm = spectral_norm(h_exact);
  const double magnitude = g.cwiseAbs().maxCoeff() + (x.norm() + 1.0) * (hessian_norm + f.l0());
  double worst = 0.0;
  for (Index j = 0; j < d; ++j) {
    const double h = kStep * std::max(1.0, std::abs(x[j]));
    Vector shifted = x;
    const auto gradient_at = [&](double offset, Vector& out) {
      shifted[j] = x[j] + offset;
      f.gradient(shifted, out);
    };
    gradient_at(h, plus);
    gradient_at(-h, minus);
    gradient_at(2 * h, plus2);
    gradient_at(-2 * h, minus2);
    const Vector fd = (8.0 * (plus - minus) - (plus2 - minus2)) / (12.0 * h);
    const double delta = 8.0 * terms * kEps * magnitude;
    const double truncation =
        std::pow(h, 4) / 30.0 * high_derivative_bound(spec, 6, x.cwiseAbs().maxCoeff() + 2 * h);
    for (Index i = 0; i < d; ++i) {
      const double tolerance =
          1.5 * delta / h + truncation + 16.0 * terms * kEps * std::abs(h_exact(i, j));
      worst = std::max(worst, std::abs(fd[i] - h_exact(i, j)) / tolerance);
    }
  }
  return worst;
}

struct DerivativeCase {
  std::string family;
  Index dim;
};

void PrintTo(const DerivativeCase& c, std::ostream* os) { *os << c.family << " d=" << c.dim; }

std::string case_name(const testing::TestParamInfo<DerivativeCase>& info) {
  std::string name = info.param.family + "_d" + std::to_string(info.param.dim);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

class Derivatives : public testing::TestWithParam<DerivativeCase> {};

// Random points of several radii, and points whose coordinates have wildly
// different magnitudes. cosh-well stays within |b x_j| <= 7, where cosh is
// still moderate, so that its truncation term stays small.
std::vector<Vector> derivative_points(const ObjectiveSpec& spec, Rng& rng) {
  std::vector<Vector> points;
  const bool cosh = spec.family == "cosh-well";
  for (const double radius : {0.1, 1.0, 3.0, cosh ? 10.0 : 30.0}) {
    for (int k = 0; k < 2; ++k) points.push_back(random_point(rng, spec.dim, radius));
  }
  boost::random::uniform_real_distribution<double> exponent(-2.0, cosh ? 0.8 : 1.2);
  for (int k = 0; k < 2; ++k) {
    Vector x = gaussian_vector(rng, spec.dim);
    for (Index j = 0; j < spec.dim; ++j) x[j] *= std::pow(10.0, exponent(rng));
    if (cosh) x = x.cwiseMax(-10.0).cwiseMin(10.0);
    points.push_back(x);
  }
  return points;
}

TEST_P(Derivatives, GradientMatchesFiniteDifferences) {
  const ObjectiveSpec spec = resolve(family_spec(GetParam().family, GetParam().dim));
  const auto f = make_function(spec);
  Rng rng = make_stream(11, StreamPurpose::kTest, static_cast<std::uint64_t>(spec.dim));
  double worst = 0.0;
  for (const Vector& x : derivative_points(spec, rng)) {
    worst = std::max(worst, worst_gradient_error(*f, spec, x));
  }
  EXPECT_LE(worst, 1.0) << f->describe();
  RecordProperty("worst_error_over_tolerance", std::to_string(worst));
}

TEST_P(Derivatives, HessianMatchesFiniteDifferencesOfGradient) {
  const ObjectiveSpec spec = resolve(family_spec(GetParam().family, GetParam().dim));
  const auto f = make_function(spec);
  Rng rng = make_stream(12, StreamPurpose::kTest, static_cast<std::uint64_t>(spec.dim));
  double worst = 0.0;
  for (const Vector& x : derivative_points(spec, rng)) {
    worst = std::max(worst, worst_hessian_error(*f, spec, x));
  }
  EXPECT_LE(worst, 1.0) << f->describe();
  RecordProperty("worst_error_over_tolerance", std::to_string(worst));
}

std::vector<DerivativeCase> derivative_cases() {
  std::vector<DerivativeCase> cases;
  for (const auto& family : family_names()) {
    for (const Index dim : {1, 2, 7, 50}) cases.push_back({family, dim});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, Derivatives, testing::ValuesIn(derivative_cases()),
                         case_name);

// The finite-difference check is able to fail: a gradient off by 1e-6
// relative in one coordinate is caught.
TEST(DerivativesCheck, DetectsASmallGradientError) {
  class Perturbed final : public SyntheticFunction {
   public:
    explicit Perturbed(std::unique_ptr<SyntheticFunction> inner) : inner_(std::move(inner)) {}
    Index dimension() const override { return inner_->dimension(); }
    void initial_point(VectorRef x0) const override { inner_->initial_point(x0); }
    double value(ConstVectorRef x) const override { return inner_->value(x); }
    void gradient(ConstVectorRef x, VectorRef out) const override {
      inner_->gradient(x, out);
      out[0] *= 1.0 + 1e-6;
    }
    void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const override {
      inner_->hessian(x, out);
    }
    double l0() const override { return inner_->l0(); }
    double l1() const override { return inner_->l1(); }
    double f_low() const override { return inner_->f_low(); }
    std::string describe() const override { return "perturbed"; }

   private:
    std::unique_ptr<SyntheticFunction> inner_;
  };
  const ObjectiveSpec spec = resolve(family_spec("double-well", 7));
  const Perturbed f(make_function(spec));
  Vector x = Vector::Constant(7, 0.7);
  EXPECT_GT(worst_gradient_error(f, spec, x), 1.0);
}

// f(x) >= f_low at random points of radius 1e-3 .. 1e2 (cosh-well: |b x_j|
// <= 300, where cosh is finite), allowing the rounding of f: 8 (d + 10) eps
// (|f| + 2 |f_low|), as for the finite differences.
TEST(LowerBound, HoldsAtRandomPoints) {
  Rng rng = make_stream(13, StreamPurpose::kTest, 0);
  for (const auto& family : family_names()) {
    for (const Index dim : {1, 7, 50}) {
      const ObjectiveSpec spec = resolve(family_spec(family, dim));
      const auto f = make_function(spec);
      for (double radius = 1e-3; radius <= 1e2; radius *= std::sqrt(10.0)) {
        for (int k = 0; k < 10; ++k) {
          Vector x = random_point(rng, dim, radius);
          if (family == "cosh-well") {
            x = x.cwiseMax(-300.0 / spec.growth).cwiseMin(300.0 / spec.growth);
          }
          const double value = f->value(x);
          EXPECT_GE(value, f->f_low() - evaluation_error(*f, spec, value))
              << f->describe() << " at radius " << radius;
        }
      }
    }
  }
}

// Equality at the known minimisers, to the rounding of two sums of d terms:
// 4 d eps |f_low|.
TEST(LowerBound, AttainedAtMinimisers) {
  Rng rng = make_stream(14, StreamPurpose::kTest, 0);
  boost::random::uniform_int_distribution<int> coin(0, 1);
  for (const Index dim : {1, 2, 7, 50}) {
    const double tolerance_per_term = 4.0 * static_cast<double>(dim) * kEps;
    {  // double-well: every x_j = +-1.
      const auto f = make_function(family_spec("double-well", dim));
      Vector x(dim);
      for (Index j = 0; j < dim; ++j) x[j] = coin(rng) ? 1.0 : -1.0;
      EXPECT_NEAR(f->value(x), f->f_low(), tolerance_per_term * std::abs(f->f_low()));
      double weight_sum = 0.0;
      for (Index j = 0; j < dim; ++j) {
        weight_sum += dim == 1 ? 1.0 : std::pow(10.0, static_cast<double>(j) / (dim - 1.0));
      }
      // f_low = -c (sum_j w_j) / 4 with c = 1.5.
      EXPECT_NEAR(f->f_low(), -1.5 * weight_sum / 4.0, tolerance_per_term * weight_sum);
    }
    for (const char* family : {"quartic", "rippled-quadratic"}) {  // x = 0, f_low = 0
      const auto f = make_function(family_spec(family, dim));
      EXPECT_EQ(f->f_low(), 0.0);
      EXPECT_EQ(f->value(Vector::Zero(dim)), 0.0);
    }
    {  // cosh-well, a = 2 > 1: x_j = +-u*/b with u* the minimiser found by Brent.
      const ObjectiveSpec spec = family_spec("cosh-well", dim);
      const auto f = make_function(spec);
      const auto profile = [&](double u) { return std::cosh(u) + spec.ripple * std::cos(u); };
      const auto brent = boost::math::tools::brent_find_minima(profile, 0.0, std::numbers::pi,
                                                               std::numeric_limits<double>::digits);
      Vector x(dim);
      for (Index j = 0; j < dim; ++j) x[j] = (coin(rng) ? 1.0 : -1.0) * brent.first / spec.growth;
      EXPECT_NEAR(f->value(x), f->f_low(), tolerance_per_term * std::abs(f->f_low()) * 4.0);
    }
    {  // cosh-well, a = 0.5 <= 1: minimiser 0, f_low = c (1 + a) sum_j w_j.
      ObjectiveSpec spec = family_spec("cosh-well", dim);
      spec.ripple = 0.5;
      const auto f = make_function(spec);
      EXPECT_NEAR(f->value(Vector::Zero(dim)), f->f_low(),
                  tolerance_per_term * std::abs(f->f_low()));
    }
  }
}

// m(a) = min_u cosh u + a cos u, read as f_low of the d = 1, c = 1 cosh-well,
// against Boost's Brent minimiser on [0, pi] (where the minimum lies, see
// docs/objectives.md). Both are accurate to the rounding of one evaluation,
// 4 eps (cosh u + a): an error delta in the minimiser changes the value by
// only O(delta^2).
TEST(LowerBound, CoshWellMinimumMatchesBrent) {
  for (const double ripple : {0.0, 0.5, 1.0, 1.0001, 1.1, 1.5, 2.0, 5.0, 10.0, 1e3, 1e6}) {
    ObjectiveSpec spec;
    spec.family = "cosh-well";
    spec.dim = 1;
    spec.ripple = ripple;
    const double minimum = make_function(spec)->f_low();
    const auto profile = [&](double u) { return std::cosh(u) + ripple * std::cos(u); };
    const auto brent = boost::math::tools::brent_find_minima(profile, 0.0, std::numbers::pi,
                                                             std::numeric_limits<double>::digits);
    const double rounding = 4.0 * kEps * (std::cosh(brent.first) + ripple);
    EXPECT_NEAR(minimum, brent.second, rounding) << "ripple " << ripple;
    EXPECT_LE(minimum, brent.second + rounding) << "ripple " << ripple;
    for (double u = -20.0; u <= 20.0; u += 1e-3) {
      ASSERT_GE(profile(u), minimum - rounding) << "ripple " << ripple << " u " << u;
    }
    if (ripple <= 1.0) {
      EXPECT_EQ(minimum, 1.0 + ripple);
    }
  }
}

TEST(InitialPoint, FamilyDefaultsAndOverride) {
  const struct {
    const char* family;
    double expected;
  } defaults[] = {{"double-well", 2.0},
                  {"quartic", 1.0},
                  {"cosh-well", 4.0 / 0.7},
                  {"phase-retrieval", 1.0 / std::sqrt(7.0)},
                  {"rippled-quadratic", 3.0},
                  {"zero-chain", 0.0}};
  for (const auto& entry : defaults) {
    const ObjectiveSpec spec = family_spec(entry.family, 7);
    EXPECT_EQ(resolve(spec).x0, entry.expected) << entry.family;
    const auto f = make_function(spec);
    Vector x0(7);
    f->initial_point(x0);
    EXPECT_TRUE(x0.isApprox(Vector::Constant(7, entry.expected), 0.0)) << entry.family;

    ObjectiveSpec moved = spec;
    moved.x0 = -0.25;
    make_function(moved)->initial_point(x0);
    EXPECT_TRUE((x0.array() == -0.25).all()) << entry.family;
  }
  // phase-retrieval's default start has the planted solution's norm, 1.
  Vector x0(7);
  make_function(family_spec("phase-retrieval", 7))->initial_point(x0);
  EXPECT_NEAR(x0.norm(), 1.0, 4 * kEps);
}

// f(x0) is finite and above f_low at every default start: the starts are
// usable without tuning.
TEST(InitialPoint, DefaultStartIsFiniteAndNotOptimal) {
  for (const auto& family : family_names()) {
    const auto f = make_function(family_spec(family, 20));
    Vector x0(20), g(20);
    f->initial_point(x0);
    f->gradient(x0, g);
    EXPECT_TRUE(std::isfinite(f->value(x0))) << family;
    EXPECT_GT(f->value(x0), f->f_low()) << family;
    EXPECT_GT(g.norm(), 0.0) << family;
  }
}

}  // namespace
}  // namespace distclip::test
