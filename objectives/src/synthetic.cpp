// SyntheticOracle: a SyntheticFunction's gradient sample plus additive noise,
// and the rules that combine their constants.
#include "distclip/objectives/synthetic.hpp"

#include <cmath>
#include <stdexcept>
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
    : function_(std::move(function)), noise_(std::move(noise)) {
  if (!function_ || !noise_) {
    throw std::invalid_argument("SyntheticOracle: function and noise must not be null");
  }
}

Index SyntheticOracle::dimension() const { return function_->dimension(); }

void SyntheticOracle::initial_point(VectorRef x0) const { function_->initial_point(x0); }

double SyntheticOracle::value(ConstVectorRef x) const { return function_->value(x); }

void SyntheticOracle::gradient(ConstVectorRef x, VectorRef out) const {
  function_->gradient(x, out);
}

void SyntheticOracle::stochastic_gradient(ConstVectorRef x, int worker, Rng& rng,
                                          VectorRef out) const {
  // The sample is drawn before the noise, always in this order, so that one
  // rng state gives one result.
  function_->sample_gradient(x, rng, out);
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
  constants.l0 = Constant::known(function_->l0());
  constants.l1 = Constant::known(function_->l1());
  constants.f_low = Constant::known(function_->f_low());
  constants.kappa = Constant::known(0.0);  // homogeneous: every f_i is f
  constants.sigma = combine_sigma(function_->sampling_sigma(), noise_->sigma());
  constants.noise_std = combine_std(function_->sampling_noise_std(), noise_->noise_std());
  return constants;
}

std::string SyntheticOracle::describe() const {
  return function_->describe() + " + noise " + noise_->describe();
}

void SyntheticOracle::reserve_workers(int num_workers) {
  scratch_.clear();
  if (!noise_->needs_scratch() || num_workers <= 0) return;
  scratch_.assign(static_cast<std::size_t>(num_workers), Vector(function_->dimension()));
}

}  // namespace distclip
