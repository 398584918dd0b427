// The five synthetic families. Certificates are derived in docs/objectives.md;
// the comments here name the result each line implements.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

#include <Eigen/Eigenvalues>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "internal.hpp"

namespace distclip::detail {

namespace {

// w_j = condition^(j / (d - 1)), j = 0..d-1, so w_min = 1 and w_max =
// condition exactly (pow(c, 1.0) == c); w = 1 when d = 1, where the condition
// therefore has no effect and the certificates use w_max = 1.
Vector coordinate_weights(Index dim, double condition) {
  Vector weights(dim);
  if (dim == 1) {
    weights[0] = 1.0;
    return weights;
  }
  for (Index j = 0; j < dim; ++j) {
    weights[j] = std::pow(condition, static_cast<double>(j) / static_cast<double>(dim - 1));
  }
  return weights;
}

// ---------------------------------------------------------------------------
// Separable families: f(x) = c sum_j w_j p(x_j) for a one-dimensional profile
// p. A profile certifies |p''(t)| <= unit_l0 + l1 |p'(t)| for every t; then
// phi_j = c w_j p satisfies |phi_j''| <= c w_j unit_l0 + l1 |phi_j'|, and as
// the Hessian is diagonal, ||H|| = max_j |phi_j''(x_j)|
// <= c condition unit_l0 + l1 max_j |phi_j'(x_j)| <= L0 + L1 ||grad f||.
// ---------------------------------------------------------------------------

// p(t) = t^4/4 - t^2/2. sup_t |p''| - 3 |p'| = 2, attained at t = +-1.
struct DoubleWellProfile {
  static constexpr const char* kName = "double-well";
  double value(double t) const { return t * t * (t * t / 4.0 - 0.5); }
  // t (t - 1)(t + 1) rather than t^3 - t: exact zeros at the minimisers.
  double slope(double t) const { return t * (t - 1.0) * (t + 1.0); }
  double curvature(double t) const { return 3.0 * t * t - 1.0; }
  double unit_l0() const { return 2.0; }
  double l1() const { return 3.0; }
  double minimum() const { return -0.25; }
  std::string parameters() const { return {}; }
};

// p(t) = cosh(bt) + a cos(bt). |p''| <= b^2 (1 + sqrt(2) a) + b |p'| by the
// reverse triangle inequality: |A| - |B| <= |A -+ B| = |e^-|u| - a (cos u -+
// sin u)| <= 1 + sqrt(2) a, with A = cosh u - a cos u, B = sinh u - a sin u.
// Past |bt| ~ 710 cosh and sinh overflow to +-inf (a range error, not UB),
// which divergence detection then reports.
struct CoshWellProfile {
  static constexpr const char* kName = "cosh-well";
  double ripple;  // a
  double growth;  // b
  double value(double t) const {
    const double u = growth * t;
    return std::cosh(u) + ripple * std::cos(u);
  }
  double slope(double t) const {
    const double u = growth * t;
    return growth * (std::sinh(u) - ripple * std::sin(u));
  }
  double curvature(double t) const {
    const double u = growth * t;
    return growth * growth * (std::cosh(u) - ripple * std::cos(u));
  }
  double unit_l0() const { return growth * growth * (1.0 + std::numbers::sqrt2 * ripple); }
  double l1() const { return growth; }
  double minimum() const { return cosh_well_profile_minimum(ripple); }
  std::string parameters() const {
    return ", ripple=" + format_number(ripple) + ", growth=" + format_number(growth);
  }
};

// p(t) = t^2/2 + a (1 - cos t). |p''| = |1 + a cos t| <= 1 + a: L-smooth.
struct RippledQuadraticProfile {
  static constexpr const char* kName = "rippled-quadratic";
  double ripple;  // a
  double value(double t) const { return 0.5 * t * t + ripple * (1.0 - std::cos(t)); }
  double slope(double t) const { return t + ripple * std::sin(t); }
  double curvature(double t) const { return 1.0 + ripple * std::cos(t); }
  double unit_l0() const { return 1.0 + ripple; }
  double l1() const { return 0.0; }
  double minimum() const { return 0.0; }
  std::string parameters() const { return ", ripple=" + format_number(ripple); }
};

template <class Profile>
class SeparableFunction final : public SyntheticFunction {
 public:
  SeparableFunction(Profile profile, const ObjectiveSpec& spec)
      : profile_(std::move(profile)),
        scale_(spec.scale),
        condition_(spec.condition),
        x0_(*spec.x0),
        scaled_weights_(spec.scale * coordinate_weights(spec.dim, spec.condition)) {
    // f_low = sum_j c w_j min p: each term is minimised independently.
    f_low_ = scaled_weights_.sum() * profile_.minimum();
  }

  Index dimension() const override { return scaled_weights_.size(); }
  void initial_point(VectorRef x0) const override { x0.setConstant(x0_); }

  double value(ConstVectorRef x) const override {
    // A plain loop: its sum order, hence its bits, does not depend on x's
    // alignment.
    double sum = 0.0;
    for (Index j = 0; j < x.size(); ++j) sum += scaled_weights_[j] * profile_.value(x[j]);
    return sum;
  }

  void gradient(ConstVectorRef x, VectorRef out) const override {
    for (Index j = 0; j < x.size(); ++j) out[j] = scaled_weights_[j] * profile_.slope(x[j]);
  }

  void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const override {
    out.setZero();
    for (Index j = 0; j < x.size(); ++j) out(j, j) = scaled_weights_[j] * profile_.curvature(x[j]);
  }

  // c w_max unit_l0, with c w_max = c condition when d >= 2.
  double l0() const override { return scaled_weights_.maxCoeff() * profile_.unit_l0(); }
  double l1() const override { return profile_.l1(); }
  double f_low() const override { return f_low_; }

  std::string describe() const override {
    return std::string(Profile::kName) + "(dim=" + std::to_string(dimension()) +
           ", scale=" + format_number(scale_) + ", condition=" + format_number(condition_) +
           profile_.parameters() + ", x0=" + format_number(x0_) + ")";
  }

 private:
  Profile profile_;
  double scale_;
  double condition_;
  double x0_;
  Vector scaled_weights_;  // c w_j
  double f_low_ = 0.0;
};

// ---------------------------------------------------------------------------
// quartic: f(x) = c (x^T Q x)^2, Q = diag(w). With s = x^T Q x:
// grad = 4 c s Q x, Hess = 4 c (2 Q x x^T Q + s Q),
// ||Hess|| <= 12 c q_max s, ||grad|| >= 4 c sqrt(q_min) s^(3/2);
// splitting at s = 1/q_max gives (L0, L1) = (12 c, 3 condition^(3/2)).
// ---------------------------------------------------------------------------
class QuarticFunction final : public SyntheticFunction {
 public:
  explicit QuarticFunction(const ObjectiveSpec& spec)
      : scale_(spec.scale),
        condition_(spec.condition),
        x0_(*spec.x0),
        weights_(coordinate_weights(spec.dim, spec.condition)) {}

  Index dimension() const override { return weights_.size(); }
  void initial_point(VectorRef x0) const override { x0.setConstant(x0_); }

  double value(ConstVectorRef x) const override {
    const double s = quadratic_form(x);
    return scale_ * s * s;
  }

  void gradient(ConstVectorRef x, VectorRef out) const override {
    const double factor = 4.0 * scale_ * quadratic_form(x);
    for (Index j = 0; j < x.size(); ++j) out[j] = factor * weights_[j] * x[j];
  }

  void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const override {
    const double s = quadratic_form(x);
    const Vector qx = weights_.cwiseProduct(x);
    out = (8.0 * scale_) * qx * qx.transpose();
    out.diagonal() += (4.0 * scale_ * s) * weights_;
  }

  double l0() const override { return 12.0 * scale_; }
  // 3 q_max^(3/2) / q_min^(1/2) with q_min = 1; q_max = condition when d >= 2.
  double l1() const override {
    const double q_max = weights_.maxCoeff();
    return 3.0 * q_max * std::sqrt(q_max);
  }
  double f_low() const override { return 0.0; }

  std::string describe() const override {
    return "quartic(dim=" + std::to_string(dimension()) + ", scale=" + format_number(scale_) +
           ", condition=" + format_number(condition_) + ", x0=" + format_number(x0_) + ")";
  }

 private:
  double quadratic_form(ConstVectorRef x) const {
    double s = 0.0;
    for (Index j = 0; j < x.size(); ++j) s += weights_[j] * x[j] * x[j];
    return s;
  }

  double scale_;
  double condition_;
  double x0_;
  Vector weights_;  // q_j = w_j
};

// ---------------------------------------------------------------------------
// phase-retrieval: f(x) = (c / 4n) sum_j ((a_j^T x)^2 - y_j)^2 with planted
// y_j = (a_j^T x*)^2. Certificate (docs/objectives.md):
// L0 = 3 c m y_max, L1 = 3 m / sqrt(lambda_- y_max), with m = max ||a_j||^2
// and lambda_- a certified lower bound on lambda_min(A A^T / n).
// ---------------------------------------------------------------------------
class PhaseRetrievalFunction final : public SyntheticFunction {
 public:
  explicit PhaseRetrievalFunction(const ObjectiveSpec& spec)
      : scale_(spec.scale),
        samples_(*spec.samples),
        batch_size_(spec.batch_size),
        data_seed_(spec.data_seed),
        x0_(*spec.x0),
        data_(spec.dim, *spec.samples),
        labels_(*spec.samples),
        residual_(*spec.samples) {
    generate_data(spec.dim);
    certify();
  }

  Index dimension() const override { return data_.rows(); }
  void initial_point(VectorRef x0) const override { x0.setConstant(x0_); }

  double value(ConstVectorRef x) const override {
    residual_.noalias() = data_.transpose() * x;
    const double sum = (residual_.array().square() - labels_.array()).square().sum();
    return scale_ / (4.0 * static_cast<double>(samples_)) * sum;
  }

  // grad = (c / n) sum_j (s_j^2 - y_j) s_j a_j with s = A^T x: two
  // matrix-vector products through the preallocated residual_.
  void gradient(ConstVectorRef x, VectorRef out) const override {
    residual_.noalias() = data_.transpose() * x;
    residual_.array() = (residual_.array().square() - labels_.array()) * residual_.array() *
                        (scale_ / static_cast<double>(samples_));
    out.noalias() = data_ * residual_;
  }

  // Hess = (c / n) sum_j (3 s_j^2 - y_j) a_j a_j^T.
  void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const override {
    const Vector s = data_.transpose() * x;
    const Vector weights = (3.0 * s.array().square() - labels_.array()).matrix() *
                           (scale_ / static_cast<double>(samples_));
    out.noalias() = data_ * weights.asDiagonal() * data_.transpose();
  }

  // (c / B) sum over B indices drawn uniformly with replacement: unbiased,
  // and touching only const data, so distinct workers may call it at once.
  void sample_gradient(ConstVectorRef x, Rng& rng, VectorRef out) const override {
    boost::random::uniform_int_distribution<Index> pick(0, samples_ - 1);
    out.setZero();
    for (Index k = 0; k < batch_size_; ++k) {
      const Index j = pick(rng);
      const auto a = data_.col(j);
      const double s = a.dot(x);
      out += ((s * s - labels_[j]) * s) * a;
    }
    out *= scale_ / static_cast<double>(batch_size_);
  }

  // The minibatch error grows like ||x||^3: no bound uniform in x.
  Constant sampling_sigma() const override { return Constant::unbounded(); }
  Constant sampling_noise_std() const override { return Constant::unbounded(); }

  double l0() const override { return 3.0 * scale_ * max_norm_sq_ * max_label_; }
  double l1() const override { return 3.0 * max_norm_sq_ / std::sqrt(lambda_lower_ * max_label_); }
  double f_low() const override { return 0.0; }

  std::string describe() const override {
    return "phase-retrieval(dim=" + std::to_string(dimension()) +
           ", scale=" + format_number(scale_) + ", samples=" + std::to_string(samples_) +
           ", batch-size=" + std::to_string(batch_size_) +
           ", data-seed=" + std::to_string(data_seed_) + ", x0=" + format_number(x0_) + ")";
  }

 private:
  // From make_stream(data_seed, kData, 0): x* = z / ||z|| with z ~ N(0, I_d)
  // (uniform on the sphere), then a_1, ..., a_n ~ N(0, I_d) in order, each
  // one column of data_, and y_j = (a_j^T x*)^2.
  void generate_data(Index dim) {
    Rng rng = make_stream(data_seed_, StreamPurpose::kData, 0);
    boost::random::normal_distribution<double> normal;
    Vector planted(dim);
    for (Index i = 0; i < dim; ++i) planted[i] = normal(rng);
    planted /= planted.norm();
    double* entries = data_.data();
    for (Index k = 0; k < data_.size(); ++k) entries[k] = normal(rng);
    labels_.noalias() = (data_.transpose() * planted).cwiseAbs2();
  }

  void certify() {
    const Index dim = data_.rows();
    const double n = static_cast<double>(samples_);
    Matrix second_moment = Matrix::Zero(dim, dim);
    second_moment.selfadjointView<Eigen::Lower>().rankUpdate(data_, 1.0 / n);
    const Eigen::SelfAdjointEigenSolver<Matrix> eigen(second_moment, Eigen::EigenvaluesOnly);
    const double lambda_max = eigen.eigenvalues()[dim - 1];
    const double lambda_min = eigen.eigenvalues()[0];
    // Safety margin for floating point: the specified 1e-9 lambda_max, or
    // the worst-case error of forming Sigma (gamma_n trace(Sigma)) and of the
    // backward-stable eigensolver (O(d eps ||Sigma||)), whichever is larger.
    const double trace = second_moment.trace();
    const double margin =
        std::max(1e-9 * lambda_max, 2.0 * static_cast<double>(samples_ + dim) *
                                        std::numeric_limits<double>::epsilon() * trace);
    lambda_lower_ = lambda_min - margin;
    max_norm_sq_ = data_.colwise().squaredNorm().maxCoeff();
    max_label_ = labels_.maxCoeff();
    if (!(lambda_lower_ > 0.0)) {
      throw std::invalid_argument(
          "data-seed = " + std::to_string(data_seed_) +
          " gives phase-retrieval data whose Sigma = A A^T / n is numerically singular "
          "(lambda_min = " +
          format_number(lambda_min) + " <= safety margin " + format_number(margin) +
          "), so the (L0, L1) certificate cannot be formed; use more samples");
    }
    if (!(max_label_ > 0.0)) {
      throw std::invalid_argument("data-seed = " + std::to_string(data_seed_) +
                                  " gives phase-retrieval data with every y_j = 0");
    }
  }

  double scale_;
  Index samples_;
  Index batch_size_;
  std::uint64_t data_seed_;
  double x0_;
  Matrix data_;    // d x n, column j = a_j
  Vector labels_;  // y_j
  // s = A^T x and then the residual weights, for value() and gradient(),
  // which the Oracle contract calls from one thread at a time.
  mutable Vector residual_;
  double lambda_lower_ = 0.0;  // lambda_-
  double max_norm_sq_ = 0.0;   // m
  double max_label_ = 0.0;     // y_max
};

}  // namespace

double cosh_well_profile_minimum(double ripple) {
  // a <= 1: cosh u + a cos u >= (1 + u^2/2) + a (1 - u^2/2) >= 1 + a, at u = 0.
  if (ripple <= 1.0) return 1.0 + ripple;
  // a > 1: the minimum lies in [0, pi] (shifting u by a multiple of 2 pi
  // keeps cos u and lowers cosh u), at the unique root u* in (0, pi) of
  // g(u) = sinh u - a sin u, which is convex there (g'' = sinh u + a sin u
  // > 0). Newton from u = pi, where g > 0, decreases monotonically to u*
  // (tangents of a convex function lie below it), so stop as soon as a step
  // fails to decrease u: that is rounding level.
  double u = std::numbers::pi;
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double g = std::sinh(u) - ripple * std::sin(u);
    const double slope = std::cosh(u) - ripple * std::cos(u);
    const double next = u - g / slope;
    if (!(next < u) || !(next > 0.0)) break;
    u = next;
  }
  return std::cosh(u) + ripple * std::cos(u);
}

std::unique_ptr<SyntheticFunction> make_double_well(const ObjectiveSpec& spec) {
  return std::make_unique<SeparableFunction<DoubleWellProfile>>(DoubleWellProfile{}, spec);
}

std::unique_ptr<SyntheticFunction> make_quartic(const ObjectiveSpec& spec) {
  return std::make_unique<QuarticFunction>(spec);
}

std::unique_ptr<SyntheticFunction> make_cosh_well(const ObjectiveSpec& spec) {
  return std::make_unique<SeparableFunction<CoshWellProfile>>(
      CoshWellProfile{spec.ripple, spec.growth}, spec);
}

std::unique_ptr<SyntheticFunction> make_phase_retrieval(const ObjectiveSpec& spec) {
  return std::make_unique<PhaseRetrievalFunction>(spec);
}

std::unique_ptr<SyntheticFunction> make_rippled_quadratic(const ObjectiveSpec& spec) {
  return std::make_unique<SeparableFunction<RippledQuadraticProfile>>(
      RippledQuadraticProfile{spec.ripple}, spec);
}

}  // namespace distclip::detail
