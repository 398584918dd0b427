// Additive gradient noise models, each with its sigma on one scale: that of
// the noise vector's norm. Bounded models: ||noise|| <= sigma surely.
// Unbounded models: E ||noise||^2 = sigma^2, each coordinate of standard
// deviation sigma / sqrt(d).
#pragma once

#include <memory>
#include <string>

#include "distclip/core/constants.hpp"
#include "distclip/core/random.hpp"
#include "distclip/core/types.hpp"
#include "distclip/objectives/spec.hpp"

namespace distclip {

class NoiseModel {
 public:
  virtual ~NoiseModel() = default;

  // g += a fresh noise vector drawn from `rng`. `scratch` has g's size and
  // is used only by models with needs_scratch(). Never allocates.
  virtual void add(Rng& rng, VectorRef g, VectorRef scratch) const = 0;
  virtual bool needs_scratch() const { return false; }

  // Almost-sure bound on ||noise|| ("unbounded" if none), and
  // sqrt(E ||noise||^2).
  virtual Constant sigma() const = 0;
  virtual Constant noise_std() const = 0;
  // Symmetric about 0 and unimodal: the extra condition of Assumption 1(iii).
  virtual bool symmetric_unimodal() const = 0;

  virtual std::string describe() const = 0;
};

// The models of NoiseSpec::model, for dimension d. Throws
// std::invalid_argument for an unknown model or an invalid parameter.
std::unique_ptr<NoiseModel> make_noise(const NoiseSpec& spec, Index dimension);

}  // namespace distclip
