// zero-chain: the hard instance of the eps^-4 lower bound (Carmon, Duchi,
// Hinder, Sidford 2019, "Lower bounds for finding stationary points I";
// Arjevani, Carmon, Duchi, Foster, Srebro, Woodworth 2019, "Lower bounds for
// non-convex stochastic optimization"), with their probability-p oracle.
// Every constant below is derived in docs/objectives.md, section 6.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include <boost/random/bernoulli_distribution.hpp>

#include "internal.hpp"

namespace distclip::detail {

namespace {

// sup Phi = sqrt(2 pi e), and the bounds on |Psi^(k)| and |Phi^(k)| that the
// certificate and the oracle's noise bound combine (docs/objectives.md):
// sup Psi = e, sup |Psi'| < 4.458, sup |Psi''| < 32.39, sup |Phi'| = sqrt(e),
// sup |Phi''| = 1.
const double kPhiMax = std::sqrt(2.0 * std::numbers::pi * std::numbers::e);
// ||Hess f_bar|| <= sup|Psi''| sup Phi + sup Psi sup|Phi''| + 2 sup|Psi'| sup|Phi'|
// = 151.3: Carmon et al.'s Lemma 3 constant, 152.
constexpr double kUnitSmoothness = 152.0;
// |d f_bar / du_j| <= sup Psi sup|Phi'| + sup|Psi'| sup Phi = 22.9: their 23.
constexpr double kUnitGradientBound = 23.0;
// prog_{1/4}: the oracle hides the coordinates past the last with |u_i| > 1/4.
constexpr double kProgressThreshold = 0.25;

// Psi(t) = exp(1 - 1/(2t - 1)^2) for t > 1/2, else 0, and its first two
// derivatives. Near t = 1/2 Psi underflows to 0 before 1/(2t - 1)^3
// overflows; the derivatives are taken as 0 wherever Psi is, which is their
// limit (Psi vanishes faster than any power of 2t - 1).
struct PsiValues {
  double value = 0.0;
  double first = 0.0;
  double second = 0.0;
};

PsiValues psi(double t) {
  if (!(t > 0.5)) return {};
  const double s = 2.0 * t - 1.0;
  const double value = std::exp(1.0 - 1.0 / (s * s));
  if (value == 0.0) return {};
  const double s3 = s * s * s;
  return {value, value * 4.0 / s3, value * (16.0 / (s3 * s3) - 24.0 / (s3 * s))};
}

// Phi(t) = sqrt(e) int_{-inf}^t e^{-s^2/2} ds = sqrt(2 pi e) N(t).
double phi(double t) { return 0.5 * kPhiMax * std::erfc(-t / std::numbers::sqrt2); }
double phi_first(double t) { return std::sqrt(std::numbers::e) * std::exp(-0.5 * t * t); }
double phi_second(double t) { return -t * phi_first(t); }

// F(x) = c lambda f_bar(x / lambda), with
// f_bar(u) = sum_{i=1..T} [Psi(-u_{i-1}) Phi(-u_i) - Psi(u_{i-1}) Phi(u_i)]
// and u_0 = 1 (so the first term is -Psi(1) Phi(u_1)): grad F = c grad f_bar,
// Hess F = (c / lambda) Hess f_bar.
class ZeroChainFunction final : public SyntheticFunction {
 public:
  explicit ZeroChainFunction(const ObjectiveSpec& spec)
      : dim_(spec.dim),
        scale_(spec.scale),
        width_(spec.width),
        reveal_(spec.reveal_probability),
        x0_(*spec.x0) {}

  Index dimension() const override { return dim_; }
  void initial_point(VectorRef x0) const override { x0.setConstant(x0_); }

  double value(ConstVectorRef x) const override {
    double sum = 0.0;
    double previous = 1.0;  // u_0
    for (Index i = 0; i < dim_; ++i) {
      const double u = x[i] / width_;
      // Psi(-u_{i-1}) and Psi(u_{i-1}) are never both non-zero.
      if (const double left = psi(-previous).value; left != 0.0) sum += left * phi(-u);
      if (const double right = psi(previous).value; right != 0.0) sum -= right * phi(u);
      previous = u;
    }
    return scale_ * width_ * sum;
  }

  // d f_bar / du_j = -Psi(-u_{j-1}) Phi'(-u_j) - Psi(u_{j-1}) Phi'(u_j)
  //                  - Psi'(-u_j) Phi(-u_{j+1}) - Psi'(u_j) Phi(u_{j+1}),
  // the last two absent for j = T.
  void gradient(ConstVectorRef x, VectorRef out) const override {
    // Psi and Psi' vanish on [-1/2, 1/2], so every partial derivative past
    // coordinate prog_{1/2}(u) + 1 is 0: the chain's zero-chain property,
    // which also keeps a gradient's cost to the part already travelled.
    const Index end = std::min(dim_, progress(x, 0.5) + 1);
    out.tail(dim_ - end).setZero();
    PsiValues left = psi(-1.0), right = psi(1.0);  // at u_0
    for (Index j = 0; j < end; ++j) {
      const double u = x[j] / width_;
      double g = 0.0;
      if (left.value != 0.0) g -= left.value * phi_first(-u);
      if (right.value != 0.0) g -= right.value * phi_first(u);
      left = psi(-u);
      right = psi(u);
      if (j + 1 < dim_) {
        const double next = x[j + 1] / width_;
        if (left.first != 0.0) g -= left.first * phi(-next);
        if (right.first != 0.0) g -= right.first * phi(next);
      }
      out[j] = scale_ * g;
    }
  }

  // Tridiagonal: H_jj = Psi(-u_{j-1}) Phi''(-u_j) - Psi(u_{j-1}) Phi''(u_j)
  //                     + Psi''(-u_j) Phi(-u_{j+1}) - Psi''(u_j) Phi(u_{j+1}),
  // H_{j,j+1} = Psi'(-u_j) Phi'(-u_{j+1}) - Psi'(u_j) Phi'(u_{j+1}).
  void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const override {
    out.setZero();
    const double factor = scale_ / width_;
    PsiValues left = psi(-1.0), right = psi(1.0);
    for (Index j = 0; j < dim_; ++j) {
      const double u = x[j] / width_;
      double diagonal = left.value * phi_second(-u) - right.value * phi_second(u);
      left = psi(-u);
      right = psi(u);
      if (j + 1 < dim_) {
        const double next = x[j + 1] / width_;
        diagonal += left.second * phi(-next) - right.second * phi(next);
        const double off = left.first * phi_first(-next) - right.first * phi_first(next);
        out(j, j + 1) = factor * off;
        out(j + 1, j) = factor * off;
      }
      out(j, j) = factor * diagonal;
    }
  }

  // Arjevani et al.'s oracle: the coordinates past prog_{1/4}(u) are scaled
  // by xi / p, xi ~ Bernoulli(p), one xi per sample. Only coordinate
  // prog + 1 of them can be non-zero (the zero-chain property), so a worker
  // learns of the next link of the chain only in a fraction p of its draws.
  // One uniform is drawn per sample, whatever x, so that the stream's use
  // does not depend on the trajectory.
  void sample_gradient(ConstVectorRef x, Rng& rng, VectorRef out) const override {
    gradient(x, out);
    const bool revealed = boost::random::bernoulli_distribution<double>(reveal_)(rng);
    const Index next = progress(x, kProgressThreshold);  // 0-based: coordinate prog + 1
    if (next < dim_) out[next] *= revealed ? 1.0 / reveal_ : 0.0;
  }

  // ||g - grad F|| = |d F / dx_j| |xi / p - 1| <= 23 c max(1, (1 - p) / p),
  // and 0 when p = 1.
  Constant sampling_sigma() const override {
    if (reveal_ == 1.0) return Constant::known(0.0);
    return Constant::known(kUnitGradientBound * scale_ * std::max(1.0, (1.0 - reveal_) / reveal_));
  }
  // E (xi / p - 1)^2 = (1 - p) / p: sqrt(E ||g - grad F||^2) <= 23 c sqrt((1 - p) / p).
  Constant sampling_noise_std() const override {
    return Constant::known(kUnitGradientBound * scale_ * std::sqrt((1.0 - reveal_) / reveal_));
  }

  // L-smooth: (L0, L1) = (152 c / lambda, 0).
  double l0() const override { return kUnitSmoothness * scale_ / width_; }
  double l1() const override { return 0.0; }
  // inf f_bar = -Phi_max (1 + e (T - 1)): every term is >= -Psi Phi >=
  // -e sqrt(2 pi e) (the first >= -sqrt(2 pi e)), approached as u -> +inf.
  double f_low() const override {
    return -scale_ * width_ * kPhiMax *
           (1.0 + std::numbers::e * static_cast<double>(dim_ - 1));
  }

  std::string describe() const override {
    return "zero-chain(dim=" + std::to_string(dim_) + ", scale=" + format_number(scale_) +
           ", width=" + format_number(width_) +
           ", reveal-probability=" + format_number(reveal_) + ", x0=" + format_number(x0_) +
           ")";
  }

 private:
  // prog_alpha(u) = max{i : |u_i| > alpha} (0 if none), 1-based, which is
  // also the 0-based index of the coordinate after it.
  Index progress(ConstVectorRef x, double alpha) const {
    for (Index i = dim_; i > 0; --i) {
      if (std::abs(x[i - 1] / width_) > alpha) return i;
    }
    return 0;
  }

  Index dim_;
  double scale_;    // c
  double width_;    // lambda
  double reveal_;   // p
  double x0_;
};

}  // namespace

std::unique_ptr<SyntheticFunction> make_zero_chain(const ObjectiveSpec& spec) {
  return std::make_unique<ZeroChainFunction>(spec);
}

}  // namespace distclip::detail
