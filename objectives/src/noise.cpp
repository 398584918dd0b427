// The additive noise models of noise.hpp. Normal vectors come from one key
// drawn from the rng (normal_fill.hpp); every other distribution object is
// built on the stack inside add(): Boost's uniform_01 and student-t keep no
// cached draws, so the noise is a function of the rng state alone.
#include "distclip/objectives/noise.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include <boost/math/special_functions/gamma.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/student_t_distribution.hpp>
#include <boost/random/uniform_01.hpp>

#include "internal.hpp"
#include "normal_fill.hpp"

namespace distclip {

namespace {

class NoNoise final : public NoiseModel {
 public:
  void add(Rng& /*rng*/, VectorRef /*g*/, VectorRef /*scratch*/) const override {}
  Constant sigma() const override { return Constant::known(0.0); }
  Constant noise_std() const override { return Constant::known(0.0); }
  bool symmetric_unimodal() const override { return true; }
  std::string describe() const override { return "none"; }
};

// Uniform in the ball of radius sigma: a uniform direction z / ||z|| times a
// radius sigma U^(1/d), whose law P(R <= r) = (r / sigma)^d is the ball's.
// E ||n||^2 = sigma^2 E[U^(2/d)] = sigma^2 d / (d + 2).
class BallNoise final : public NoiseModel {
 public:
  BallNoise(double sigma, Index dimension) : sigma_(sigma), dimension_(dimension) {}

  void add(Rng& rng, VectorRef g, VectorRef scratch) const override {
    double norm = 0.0;
    // z = 0 has probability zero but would give no direction: draw again.
    while (!(norm > 0.0)) {
      detail::standard_normals(rng(), scratch.data(), scratch.size());
      norm = scratch.norm();
    }
    const double u = boost::random::uniform_01<double>()(rng);
    const double radius = sigma_ * std::pow(u, 1.0 / static_cast<double>(dimension_));
    g += (radius / norm) * scratch;
  }
  bool needs_scratch() const override { return true; }

  Constant sigma() const override { return Constant::known(sigma_); }
  Constant noise_std() const override {
    const double d = static_cast<double>(dimension_);
    return Constant::known(sigma_ * std::sqrt(d / (d + 2.0)));
  }
  bool symmetric_unimodal() const override { return true; }
  std::string describe() const override {
    return "ball(sigma=" + detail::format_number(sigma_) + ")";
  }

 private:
  double sigma_;
  Index dimension_;
};

// N(0, s^2 I_d), s = sigma / (2 sqrt(d)), conditioned on ||z|| <= sigma by
// rejecting whole vectors. ||z||^2 / s^2 ~ chi2_d and sigma^2 / s^2 = 4 d, so
// a draw is accepted with probability P(chi2_d <= 4 d) >= P(chi2_1 <= 4)
// = 0.9545.
class TruncatedGaussianNoise final : public NoiseModel {
 public:
  TruncatedGaussianNoise(double sigma, Index dimension)
      : sigma_(sigma),
        dimension_(dimension),
        coordinate_std_(sigma / (2.0 * std::sqrt(static_cast<double>(dimension)))) {}

  void add(Rng& rng, VectorRef g, VectorRef scratch) const override {
    // ||s z|| <= sigma is ||z||^2 <= (sigma / s)^2 = 4 d.
    const double limit = 4.0 * static_cast<double>(dimension_);
    do {
      detail::standard_normals(rng(), scratch.data(), scratch.size());
    } while (scratch.squaredNorm() > limit);
    g += coordinate_std_ * scratch;
  }
  bool needs_scratch() const override { return true; }

  Constant sigma() const override { return Constant::known(sigma_); }
  // E ||n||^2 = s^2 E[X | X <= 4d] for X ~ chi2_d, and
  // E[X 1{X <= c}] = d P(chi2_{d+2} <= c) since x f_d(x) = d f_{d+2}(x);
  // P(chi2_k <= c) = gamma_p(k / 2, c / 2).
  Constant noise_std() const override {
    const double d = static_cast<double>(dimension_);
    const double inside = boost::math::gamma_p(d / 2.0, 2.0 * d);
    const double inside_shifted = boost::math::gamma_p(d / 2.0 + 1.0, 2.0 * d);
    return Constant::known(coordinate_std_ * std::sqrt(d * inside_shifted / inside));
  }
  bool symmetric_unimodal() const override { return true; }
  std::string describe() const override {
    return "truncated-gaussian(sigma=" + detail::format_number(sigma_) + ")";
  }

 private:
  double sigma_;
  Index dimension_;
  double coordinate_std_;  // s
};

// N(0, (sigma^2 / d) I_d): E ||n||^2 = sigma^2, no almost-sure bound.
class GaussianNoise final : public NoiseModel {
 public:
  GaussianNoise(double sigma, Index dimension)
      : sigma_(sigma), coordinate_std_(sigma / std::sqrt(static_cast<double>(dimension))) {}

  void add(Rng& rng, VectorRef g, VectorRef /*scratch*/) const override {
    detail::add_scaled_standard_normals(rng(), coordinate_std_, g.data(), g.size());
  }

  Constant sigma() const override { return Constant::unbounded(); }
  Constant noise_std() const override { return Constant::known(sigma_); }
  bool symmetric_unimodal() const override { return true; }
  std::string describe() const override {
    return "gaussian(sigma=" + detail::format_number(sigma_) + ")";
  }

 private:
  double sigma_;
  double coordinate_std_;
};

// Independent Student-t coordinates with nu > 2 degrees of freedom, whose
// variance nu / (nu - 2) the factor sqrt((nu - 2) / nu) removes, so each
// coordinate has variance sigma^2 / d and E ||n||^2 = sigma^2. Heavy tails:
// moments of order >= nu are infinite.
class StudentTNoise final : public NoiseModel {
 public:
  StudentTNoise(double sigma, double dof, Index dimension)
      : sigma_(sigma),
        dof_(dof),
        factor_(sigma / std::sqrt(static_cast<double>(dimension)) * std::sqrt((dof - 2.0) / dof)) {}

  void add(Rng& rng, VectorRef g, VectorRef /*scratch*/) const override {
    boost::random::student_t_distribution<double> student(dof_);
    for (Index i = 0; i < g.size(); ++i) g[i] += factor_ * student(rng);
  }

  Constant sigma() const override { return Constant::unbounded(); }
  Constant noise_std() const override { return Constant::known(sigma_); }
  bool symmetric_unimodal() const override { return true; }
  std::string describe() const override {
    return "student-t(sigma=" + detail::format_number(sigma_) +
           ", dof=" + detail::format_number(dof_) + ")";
  }

 private:
  double sigma_;
  double dof_;
  double factor_;
};

}  // namespace

namespace detail {

std::optional<std::string> noise_spec_error(const NoiseSpec& spec) {
  const std::string& model = spec.model;
  if (model != "none" && model != "ball" && model != "truncated-gaussian" && model != "gaussian" &&
      model != "student-t") {
    return "noise = '" + model +
           "' is not one of: none, ball, truncated-gaussian, gaussian, student-t";
  }
  if (model == "none") return std::nullopt;
  if (!std::isfinite(spec.sigma)) {
    return "sigma = " + format_number(spec.sigma) + ", must be finite and > 0";
  }
  if (!(spec.sigma > 0.0)) return "sigma = " + format_number(spec.sigma) + ", must be > 0";
  if (model == "student-t") {
    if (!std::isfinite(spec.dof)) {
      return "dof = " + format_number(spec.dof) + ", must be finite and > 2";
    }
    if (!(spec.dof > 2.0)) return "dof = " + format_number(spec.dof) + ", must be > 2";
  }
  return std::nullopt;
}

}  // namespace detail

std::unique_ptr<NoiseModel> make_noise(const NoiseSpec& spec, Index dimension) {
  if (dimension < 1) {
    throw std::invalid_argument("dim = " + std::to_string(dimension) + ", must be >= 1");
  }
  if (const auto error = detail::noise_spec_error(spec)) throw std::invalid_argument(*error);
  if (spec.model == "ball") return std::make_unique<BallNoise>(spec.sigma, dimension);
  if (spec.model == "truncated-gaussian") {
    return std::make_unique<TruncatedGaussianNoise>(spec.sigma, dimension);
  }
  if (spec.model == "gaussian") return std::make_unique<GaussianNoise>(spec.sigma, dimension);
  if (spec.model == "student-t") {
    return std::make_unique<StudentTNoise>(spec.sigma, spec.dof, dimension);
  }
  return std::make_unique<NoNoise>();
}

}  // namespace distclip
