// Small oracles with known answers for the engine's tests: a noisy separable
// quadratic, and a wrapper that injects a fault (NaN gradients) on demand.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <boost/random/normal_distribution.hpp>

#include "distclip/core/oracle.hpp"

namespace distclip::testing {

// f(x) = 0.5 sum_j h_j (x_j - c_j)^2, h_j = 1 + j, c_j = 1, from x0 = 0,
// with additive noise N(0, (sigma^2 / d) I) drawn from the worker's stream.
// (L0, L1) = (max_j h_j, 0), f_low = 0. Heterogeneous when `tilt` > 0:
// worker i's f_i = f + <b_i, x>, b_i = tilt (i - (N - 1) / 2) s with
// s_j = (-1)^j, so that the b_i sum to 0.
class NoisyQuadratic final : public Oracle {
 public:
  NoisyQuadratic(Index dimension, double sigma, double tilt = 0.0, int workers = 1)
      : dimension_(dimension), sigma_(sigma), tilt_(tilt), workers_(workers) {}

  Index dimension() const override { return dimension_; }
  void initial_point(VectorRef x0) const override { x0.setZero(); }
  double value(ConstVectorRef x) const override {
    double total = 0.0;
    for (Index j = 0; j < dimension_; ++j) total += 0.5 * curvature(j) * (x[j] - 1.0) * (x[j] - 1.0);
    return total;
  }
  void gradient(ConstVectorRef x, VectorRef out) const override {
    for (Index j = 0; j < dimension_; ++j) out[j] = curvature(j) * (x[j] - 1.0);
  }
  double local_value(int worker, ConstVectorRef x) const override {
    double total = value(x);
    for (Index j = 0; j < dimension_; ++j) total += tilt(worker, j) * x[j];
    return total;
  }
  void local_gradient(int worker, ConstVectorRef x, VectorRef out) const override {
    gradient(x, out);
    for (Index j = 0; j < dimension_; ++j) out[j] += tilt(worker, j);
  }
  void stochastic_gradient(ConstVectorRef x, int worker, Rng& rng,
                           VectorRef out) const override {
    local_gradient(worker, x, out);
    if (sigma_ == 0.0) return;
    boost::random::normal_distribution<double> normal(0.0, sigma_ / std::sqrt(double(dimension_)));
    for (Index j = 0; j < dimension_; ++j) out[j] += normal(rng);
  }
  OracleConstants constants() const override {
    OracleConstants c;
    c.l0 = Constant::known(curvature(dimension_ - 1));
    c.l1 = Constant::known(0.0);
    c.sigma = sigma_ == 0.0 ? Constant::known(0.0) : Constant::unbounded();
    c.noise_std = Constant::known(sigma_);
    c.f_low = Constant::known(0.0);
    c.kappa = Constant::known(kappa());
    return c;
  }
  std::string describe() const override { return "noisy quadratic"; }

  // (1/N) sum_i ||b_i||.
  double kappa() const {
    double total = 0.0;
    for (int i = 0; i < workers_; ++i) {
      total += std::abs(tilt(i, 0)) * std::sqrt(static_cast<double>(dimension_));
    }
    return total / workers_;
  }

 private:
  static double curvature(Index j) { return 1.0 + static_cast<double>(j); }
  double tilt(int worker, Index j) const {
    if (tilt_ == 0.0) return 0.0;
    return tilt_ * (worker - (workers_ - 1) / 2.0) * (j % 2 == 0 ? 1.0 : -1.0);
  }
  Index dimension_;
  double sigma_;
  double tilt_;
  int workers_;
};

// Delegates to `inner`, except that worker `faulty_worker`'s stochastic
// gradients are NaN from its `fault_at`-th call (0-based) on: the same step
// of that worker whatever the threading.
class FaultyOracle final : public Oracle {
 public:
  FaultyOracle(Oracle& inner, int faulty_worker, std::int64_t fault_at)
      : inner_(inner), faulty_worker_(faulty_worker), fault_at_(fault_at) {}

  Index dimension() const override { return inner_.dimension(); }
  void initial_point(VectorRef x0) const override { inner_.initial_point(x0); }
  double value(ConstVectorRef x) const override { return inner_.value(x); }
  void gradient(ConstVectorRef x, VectorRef out) const override { inner_.gradient(x, out); }
  void stochastic_gradient(ConstVectorRef x, int worker, Rng& rng, VectorRef out) const override {
    inner_.stochastic_gradient(x, worker, rng, out);
    if (worker == faulty_worker_ && calls_[worker]++ >= fault_at_) {
      out.setConstant(std::numeric_limits<double>::quiet_NaN());
    }
  }
  OracleConstants constants() const override { return inner_.constants(); }
  std::string describe() const override { return "faulty " + inner_.describe(); }
  void reserve_workers(int num_workers) override {
    inner_.reserve_workers(num_workers);
    calls_.assign(static_cast<std::size_t>(num_workers), 0);
  }

 private:
  Oracle& inner_;
  int faulty_worker_;
  std::int64_t fault_at_;
  mutable std::vector<std::int64_t> calls_;  // per worker: no two threads share one
};

}  // namespace distclip::testing
