// SyntheticOracle: a SyntheticFunction's gradient sample plus additive noise,
// and the rules that combine their constants.
#include "distclip/objectives/synthetic.hpp"

#include "internal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace distclip {

namespace {

// Bound on ||e + n|| from bounds on ||e|| and ||n||: the triangle inequality.
Constant combine_sigma(const Constant& sampling, const Constant& noise) {
  if (sampling.is_known() && noise.is_known()) {
    return Constant::known(sampling.value() + noise.value());
  }
  if (sampling.kind() == Constant::Kind::kUnbounded || noise.kind() == Constant::Kind::kUnbounded) {
    return Constant::unbounded();
  }
  return Constant::unknown();
}

// sqrt(E ||e + n||^2) for independent zero-mean e and n: the cross term
// E <e, n> vanishes, so the second moments add.
Constant combine_std(const Constant& sampling, const Constant& noise) {
  if (sampling.is_known() && noise.is_known()) {
    return Constant::known(std::hypot(sampling.value(), noise.value()));
  }
  if (sampling.kind() == Constant::Kind::kUnbounded || noise.kind() == Constant::Kind::kUnbounded) {
    return Constant::unbounded();
  }
  return Constant::unknown();
}

}  // namespace

void SyntheticFunction::sample_gradient(ConstVectorRef x, Rng& /*rng*/, VectorRef out) const {
  gradient(x, out);
}

Constant SyntheticFunction::sampling_sigma() const { return Constant::known(0.0); }

Constant SyntheticFunction::sampling_noise_std() const {
  return sampling_sigma() == Constant::known(0.0) ? Constant::known(0.0) : Constant::unknown();
}

SyntheticOracle::SyntheticOracle(std::unique_ptr<SyntheticFunction> function,
                                 std::unique_ptr<NoiseModel> noise)
    : SyntheticOracle(std::move(function), std::move(noise), {}) {}

SyntheticOracle::SyntheticOracle(std::unique_ptr<SyntheticFunction> function,
                                 std::unique_ptr<NoiseModel> noise, std::vector<Vector> tilts)
    : function_(std::move(function)), noise_(std::move(noise)), tilts_(std::move(tilts)) {
  if (!function_ || !noise_) {
    throw std::invalid_argument("SyntheticOracle: function and noise must not be null");
  }
  if (tilts_.empty()) return;
  const Index d = function_->dimension();
  Vector sum = Vector::Zero(d);
  double scale = 0.0;
  for (const Vector& b : tilts_) {
    if (b.size() != d) {
      throw std::invalid_argument("SyntheticOracle: a tilt has " + std::to_string(b.size()) +
                                  " entries, the function " + std::to_string(d));
    }
    sum += b;
    const double norm = b.norm();
    scale += norm;
    largest_tilt_ = std::max(largest_tilt_, norm);
  }
  mean_tilt_ = scale / static_cast<double>(tilts_.size());
  // Rounding of a sum of N vectors of norm <= largest: N eps largest per
  // entry, sqrt(d) of them; 64 x that is rounding, anything larger is not.
  const double tolerance = 64.0 * static_cast<double>(tilts_.size()) *
                           std::sqrt(static_cast<double>(d)) *
                           std::numeric_limits<double>::epsilon() * largest_tilt_;
  if (!(sum.norm() <= tolerance)) {
    throw std::invalid_argument("SyntheticOracle: the tilts must sum to 0 so that f is unchanged");
  }
}

const Vector& SyntheticOracle::tilt_of(int worker) const {
  if (worker < 0 || static_cast<std::size_t>(worker) >= tilts_.size()) {
    throw std::invalid_argument("worker " + std::to_string(worker) +
                                " of a heterogeneous objective with " +
                                std::to_string(tilts_.size()) + " workers");
  }
  return tilts_[static_cast<std::size_t>(worker)];
}

Index SyntheticOracle::dimension() const { return function_->dimension(); }

void SyntheticOracle::initial_point(VectorRef x0) const { function_->initial_point(x0); }

double SyntheticOracle::value(ConstVectorRef x) const { return function_->value(x); }

void SyntheticOracle::gradient(ConstVectorRef x, VectorRef out) const {
  function_->gradient(x, out);
}

double SyntheticOracle::local_value(int worker, ConstVectorRef x) const {
  if (tilts_.empty()) return value(x);
  return function_->value(x) + tilt_of(worker).dot(x);
}

void SyntheticOracle::local_gradient(int worker, ConstVectorRef x, VectorRef out) const {
  function_->gradient(x, out);
  if (!tilts_.empty()) out += tilt_of(worker);
}

void SyntheticOracle::stochastic_gradient(ConstVectorRef x, int worker, Rng& rng,
                                          VectorRef out) const {
  // The sample is drawn before the noise, always in this order, so that one
  // rng state gives one result.
  function_->sample_gradient(x, rng, out);
  if (!tilts_.empty()) out += tilt_of(worker);
  if (!noise_->needs_scratch()) {
    // The model never reads its scratch; out is a buffer of the right size.
    noise_->add(rng, out, out);
    return;
  }
  if (worker >= 0 && static_cast<std::size_t>(worker) < scratch_.size()) {
    noise_->add(rng, out, scratch_[static_cast<std::size_t>(worker)]);
    return;
  }
  // A worker reserve_workers() did not announce: correct, at the price of
  // one allocation.
  Vector scratch(out.size());
  noise_->add(rng, out, scratch);
}

OracleConstants SyntheticOracle::constants() const {
  OracleConstants constants;
  // ||Hess f_i|| = ||Hess f|| <= L0 + L1 ||grad f_i - b_i|| <= (L0 + L1 ||b_i||) + L1 ||grad f_i||.
  constants.l0 = Constant::known(function_->l0() + function_->l1() * largest_tilt_);
  constants.l1 = Constant::known(function_->l1());
  constants.f_low = Constant::known(function_->f_low());  // of f: the tilts cancel
  // grad f_i - grad f = b_i at every x.
  constants.kappa = Constant::known(mean_tilt_);
  constants.sigma = combine_sigma(function_->sampling_sigma(), noise_->sigma());
  constants.noise_std = combine_std(function_->sampling_noise_std(), noise_->noise_std());
  return constants;
}

std::string SyntheticOracle::describe() const {
  std::string text = function_->describe() + " + noise " + noise_->describe();
  if (!tilts_.empty()) {
    text += " + heterogeneity " + detail::format_number(mean_tilt_) + " over " +
            std::to_string(tilts_.size()) + " workers";
  }
  return text;
}

void SyntheticOracle::reserve_workers(int num_workers) {
  if (!tilts_.empty() && static_cast<std::size_t>(num_workers) != tilts_.size()) {
    throw std::invalid_argument("a heterogeneous objective made for " +
                                std::to_string(tilts_.size()) + " workers cannot serve " +
                                std::to_string(num_workers));
  }
  scratch_.clear();
  if (!noise_->needs_scratch() || num_workers <= 0) return;
  scratch_.assign(static_cast<std::size_t>(num_workers), Vector(function_->dimension()));
}

}  // namespace distclip
