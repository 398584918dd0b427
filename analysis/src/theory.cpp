#include "distclip/analysis/theory.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "distclip/core/constants.hpp"

namespace distclip {

namespace {

bool finite_at_least(double value, double low) { return std::isfinite(value) && value >= low; }
bool finite_above(double value, double low) { return std::isfinite(value) && value > low; }

}  // namespace

bool TheoryInputs::IsValid(std::string* error) const {
  const auto fail = [error](std::string message) {
    if (error != nullptr) *error = std::move(message);
    return false;
  };
  if (!finite_at_least(l0, 0.0)) return fail(fmt::format("l0 = {}, must be >= 0", l0));
  if (!finite_at_least(l1, 0.0)) return fail(fmt::format("l1 = {}, must be >= 0", l1));
  if (!finite_at_least(sigma, 0.0)) return fail(fmt::format("sigma = {}, must be >= 0", sigma));
  if (!finite_at_least(kappa, 0.0)) return fail(fmt::format("kappa = {}, must be >= 0", kappa));
  if (!(sigma + kappa > 0.0)) {
    return fail(fmt::format(
        "sigma + kappa = {}, must be > 0: the theorem's gamma = N eps / (28 (sigma + kappa)) ... "
        "is unbounded without noise",
        sigma + kappa));
  }
  if (!finite_above(delta, 0.0)) return fail(fmt::format("delta = {}, must be > 0", delta));
  if (!finite_above(eps, 0.0)) return fail(fmt::format("eps = {}, must be > 0", eps));
  if (num_workers < 1) return fail(fmt::format("workers = {}, must be >= 1", num_workers));
  if (!finite_above(c, 0.0) || c > 700.0) {
    return fail(fmt::format("c = {}, must be in (0, 700]", c));
  }
  if (!finite_above(t_constant, 0.0)) {
    return fail(fmt::format("t-constant = {}, must be > 0", t_constant));
  }
  if (!(l0 > 0.0)) return fail("l0 = 0, must be > 0: Theorem 1's gamma divides by A L0");
  return true;
}

bool TheoryParameters::all_hold() const {
  return std::all_of(conditions.begin(), conditions.end(),
                     [](const TheoryCondition& c) { return c.holds; });
}

TheoryParameters theorem1(const TheoryInputs& in) {
  std::string error;
  if (!in.IsValid(&error)) throw std::invalid_argument(error);
  TheoryParameters p;
  const FirstOrderConstants ab = first_order_constants(in.c);
  p.a = ab.a;
  p.b = ab.b;
  const double n = in.num_workers;
  const double noise = in.sigma + in.kappa;
  const double inf = std::numeric_limits<double>::infinity();
  // A L0 / (B L1), infinite when L1 = 0 (L-smooth: no restriction).
  const double ratio = in.l1 > 0.0 ? p.a * in.l0 / (p.b * in.l1) : inf;

  const double interval_bound = 1.0 / (2.0 * n * in.eps);
  p.sync_interval = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(interval_bound)));
  const double rate = in.l1 > 0.0 ? std::min(in.eps / (p.a * in.l0), 1.0 / (p.b * in.l1))
                                  : in.eps / (p.a * in.l0);
  p.clip_threshold = n * in.eps / (28.0 * noise) * rate;
  p.step_size = p.clip_threshold / (5.0 * noise);
  p.t_scale = in.delta * p.a * in.l0 * noise * noise / (n * std::pow(in.eps, 4));
  p.steps = static_cast<std::int64_t>(std::ceil(in.t_constant * p.t_scale));
  p.rounds = (p.steps + p.sync_interval - 1) / p.sync_interval;

  const auto add = [&](std::string name, std::string source, double lhs, double rhs) {
    p.conditions.push_back({std::move(name), std::move(source), lhs, rhs, lhs <= rhs});
  };
  add("eps <= min(A L0 / (B L1), 0.1)", "Theorem 1", in.eps, std::min(ratio, 0.1));
  add("N <= min(1 / eps, 14 A L0 / (5 B L1 eps))", "Theorem 1", n,
      std::min(1.0 / in.eps, 14.0 * ratio / (5.0 * in.eps)));
  add("1 <= I <= 1 / (2 N eps)", "Theorem 1", static_cast<double>(p.sync_interval),
      interval_bound);
  // Lemma 3's radius: 2 gamma I <= c / L1 (always true when L1 = 0).
  add("2 gamma I <= c / L1", "Lemma 3", 2.0 * p.clip_threshold * p.sync_interval,
      in.l1 > 0.0 ? in.c / in.l1 : inf);
  add("A L0 eta <= 1 / 2", "Lemma 2", p.a * in.l0 * p.step_size, 0.5);
  return p;
}

double tightness_ratio(std::int64_t measured_steps, const TheoryParameters& parameters) {
  return static_cast<double>(measured_steps) / parameters.t_scale;
}

}  // namespace distclip
