#include "distclip/algorithms/invariants.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace distclip {

namespace {

// lhs / rhs, with 0 / 0 = 0.
double ratio(double lhs, double rhs) {
  if (rhs > 0.0) return lhs / rhs;
  return lhs > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

}  // namespace

LemmaBounds LemmaBounds::of(const Algorithm& algorithm, const RunOptions& options,
                            const OracleConstants& constants) {
  LemmaBounds bounds;
  if (algorithm.averaging != Averaging::kModelsEveryInterval || options.num_workers == 1) {
    bounds.consensus_radius = 0.0;
  } else if (algorithm.step_rule == StepRule::kEpisodic) {
    bounds.consensus_reason =
        "EPISODE's unclipped rounds step eta ||g_i - G_i + G||, which no radius bounds";
  } else if (algorithm.step_rule != StepRule::kClipped) {
    bounds.consensus_reason = "its steps are not clipped, so no radius bounds the workers' spread";
  } else if (algorithm.uses_clip_option() && options.clip_option == ClipOption::kGlobalAverage) {
    bounds.consensus_reason =
        "clip-option = global-average steps min(eta, gamma / ||gbar||) ||g_i||, which exceeds "
        "gamma when ||g_i|| > ||gbar||";
  } else {
    bounds.consensus_radius = 2.0 * options.clip_threshold * options.sync_interval;
  }

  const auto missing = [&]() -> std::string {
    if (!constants.l0.is_known()) return "L0 is " + constants.l0.to_string();
    if (!constants.l1.is_known()) return "L1 is " + constants.l1.to_string();
    if (!constants.sigma.is_known()) return "sigma is " + constants.sigma.to_string();
    if (!constants.kappa.is_known()) return "kappa is " + constants.kappa.to_string();
    return "";
  }();
  bounds.deviation_checked = missing.empty();
  if (!missing.empty()) {
    bounds.deviation_reason = "the oracle's " + missing;
    return bounds;
  }
  bounds.l0 = constants.l0.value();
  bounds.l1 = constants.l1.value();
  bounds.sigma = constants.sigma.value();
  bounds.kappa = constants.kappa.value();
  return bounds;
}

double LemmaBounds::deviation_bound(double radius, double grad_norm) const {
  // Per worker, ||g_i - grad f(xbar)|| <= ||g_i - grad f_i(x_i)|| (<= sigma)
  // + ||grad f_i(x_i) - grad f_i(xbar)|| (first-order form at xbar, radius
  // r, c = L1 r) + ||grad f_i(xbar) - grad f(xbar)||, whose mean is <= kappa;
  // and ||grad f_i(xbar)|| <= ||grad f(xbar)|| + that last term. The
  // published statement omits the r B L1 kappa this adds; with kappa = 0
  // the two agree (docs/theory.md).
  const FirstOrderConstants ab = first_order_constants(l1 * radius);
  return sigma + kappa + radius * (ab.a * l0 + ab.b * l1 * (grad_norm + kappa));
}

std::string InvariantViolation::describe() const {
  return fmt::format("{} violated at step {} (worker {}): {:.17g} > {:.17g}", lemma, step, worker,
                     lhs, rhs);
}

ObserverDecision InvariantChecker::on_step(const StepRecord& record) {
  ++steps_checked_;
  // The sides are computed in floating point: xbar is a mean of N vectors
  // (error about N u max ||x_i|| per coordinate) and each norm of a
  // difference carries about sqrt(d) u times its operands' size, u = 1.1e-16.
  // kRoundingTolerance times that size stays far above both for d <= 1e6 and
  // N <= 1e3 (1e3 * 1e3 * 1.1e-16 = 1.1e-10) while far below any slack a
  // wrong constant opens.
  const auto exceeds = [](double lhs, double rhs, double scale) {
    return !(lhs <= rhs + kRoundingTolerance * (rhs + scale));
  };
  if (bounds_.consensus_radius) {
    const double rhs = *bounds_.consensus_radius;
    consensus_ratio_ = std::max(consensus_ratio_, ratio(record.consensus_distance, rhs));
    if (exceeds(record.consensus_distance, rhs, record.model_norm)) {
      violation_ = InvariantViolation{"Lemma 1", record.step, record.consensus_worker,
                                      record.consensus_distance, rhs};
      return ObserverDecision::kStop;
    }
  }
  if (bounds_.deviation_checked) {
    // The measured radius: ||x_i - xbar|| <= consensus_distance <= 2 gamma I,
    // and the bound grows with r, so this form implies the published one
    // and is sharper.
    const double rhs = bounds_.deviation_bound(record.consensus_distance, record.grad_norm);
    deviation_ratio_ = std::max(deviation_ratio_, ratio(record.mean_gradient_deviation, rhs));
    if (exceeds(record.mean_gradient_deviation, rhs, record.gradient_scale)) {
      violation_ = InvariantViolation{"Lemma 3", record.step, record.deviation_worker,
                                      record.mean_gradient_deviation, rhs};
      return ObserverDecision::kStop;
    }
  }
  return ObserverDecision::kContinue;
}

void InvariantChecker::save_state(StateWriter& out) const {
  out.write(steps_checked_);
  out.write(consensus_ratio_);
  out.write(deviation_ratio_);
}

void InvariantChecker::restore_state(StateReader& in) {
  in.read(steps_checked_);
  in.read(consensus_ratio_);
  in.read(deviation_ratio_);
}

}  // namespace distclip
