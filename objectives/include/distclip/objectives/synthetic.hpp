// Synthetic objectives: a deterministic function with certified (L0, L1)
// constants, plus an additive noise model, together answering the Oracle
// contract. Derivations of every certificate: docs/objectives.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "distclip/core/oracle.hpp"
#include "distclip/objectives/noise.hpp"

namespace distclip {

// The deterministic part of a synthetic oracle.
class SyntheticFunction {
 public:
  virtual ~SyntheticFunction() = default;

  virtual Index dimension() const = 0;
  virtual void initial_point(VectorRef x0) const = 0;
  virtual double value(ConstVectorRef x) const = 0;
  virtual void gradient(ConstVectorRef x, VectorRef out) const = 0;
  // The dense d x d Hessian, for tests and certificate checks at small d.
  virtual void hessian(ConstVectorRef x, Eigen::Ref<Matrix> out) const = 0;

  // A gradient sample before additive noise: the exact gradient by default;
  // data-based families draw a minibatch from `rng`.
  virtual void sample_gradient(ConstVectorRef x, Rng& rng, VectorRef out) const;
  // Almost-sure bound on ||sample_gradient - gradient||: 0 by default.
  virtual Constant sampling_sigma() const;
  // sqrt(E ||sample_gradient - gradient||^2), uniform in x: 0 when
  // sampling_sigma() is 0, "unknown" otherwise unless a family says more.
  virtual Constant sampling_noise_std() const;

  // Certified: ||hessian(x)|| <= l0() + l1() ||gradient(x)|| for every x.
  virtual double l0() const = 0;
  virtual double l1() const = 0;
  // f(x) >= f_low() for every x.
  virtual double f_low() const = 0;

  virtual std::string describe() const = 0;
};

// f with gradients sampled by the function and noise added by the model.
// Homogeneous (every worker's f_i is f, kappa = 0), or heterogeneous with
// linear tilts: f_i(x) = f(x) + <b_i, x>, sum_i b_i = 0, so that f is
// unchanged, every Hessian is f's, and kappa = (1/N) sum_i ||b_i||.
class SyntheticOracle final : public Oracle {
 public:
  SyntheticOracle(std::unique_ptr<SyntheticFunction> function, std::unique_ptr<NoiseModel> noise);
  // Heterogeneous: worker i's tilt is tilts[i]; they must sum to 0 (checked
  // to rounding) and have the function's dimension.
  SyntheticOracle(std::unique_ptr<SyntheticFunction> function, std::unique_ptr<NoiseModel> noise,
                  std::vector<Vector> tilts);

  Index dimension() const override;
  void initial_point(VectorRef x0) const override;
  double value(ConstVectorRef x) const override;
  void gradient(ConstVectorRef x, VectorRef out) const override;
  double local_value(int worker, ConstVectorRef x) const override;
  void local_gradient(int worker, ConstVectorRef x, VectorRef out) const override;
  // Heterogeneous: `worker` must be in [0, N).
  void stochastic_gradient(ConstVectorRef x, int worker, Rng& rng, VectorRef out) const override;
  OracleConstants constants() const override;
  std::string describe() const override;
  void reserve_workers(int num_workers) override;

  const SyntheticFunction& function() const { return *function_; }
  const NoiseModel& noise() const { return *noise_; }
  // The tilts b_i; empty when homogeneous.
  const std::vector<Vector>& tilts() const { return tilts_; }

 private:
  const Vector& tilt_of(int worker) const;

  std::unique_ptr<SyntheticFunction> function_;
  std::unique_ptr<NoiseModel> noise_;
  std::vector<Vector> tilts_;
  double largest_tilt_ = 0.0;  // max_i ||b_i||
  double mean_tilt_ = 0.0;     // (1/N) sum_i ||b_i||, kappa
  // Per-worker scratch for noise models that need one (reserve_workers).
  mutable std::vector<Vector> scratch_;
};

}  // namespace distclip
