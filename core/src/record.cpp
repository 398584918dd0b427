#include "distclip/core/record.hpp"

#include <algorithm>

namespace distclip {

std::string_view to_string(StopCriterion criterion) {
  switch (criterion) {
    case StopCriterion::kErgodic:
      return "ergodic";
    case StopCriterion::kMinimum:
      return "min";
    case StopCriterion::kLast:
      return "last";
  }
  return "ergodic";
}

std::optional<StopCriterion> parse_stop_criterion(std::string_view name) {
  for (auto criterion : {StopCriterion::kErgodic, StopCriterion::kMinimum, StopCriterion::kLast}) {
    if (to_string(criterion) == name) return criterion;
  }
  return std::nullopt;
}

void StationarityTracker::add(double grad_norm) {
  ++count_;
  sum_ += grad_norm;
  min_ = std::min(min_, grad_norm);
  last_ = grad_norm;
}

void StationarityTracker::save_state(StateWriter& out) const {
  out.write(count_);
  out.write(sum_);
  out.write(min_);
  out.write(last_);
}

void StationarityTracker::restore_state(StateReader& in) {
  in.read(count_);
  in.read(sum_);
  in.read(min_);
  in.read(last_);
}

double StationarityTracker::ergodic() const {
  return count_ == 0 ? std::numeric_limits<double>::quiet_NaN()
                     : sum_ / static_cast<double>(count_);
}

double StationarityTracker::minimum() const {
  return count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : min_;
}

double StationarityTracker::last() const { return last_; }

double StationarityTracker::metric(StopCriterion criterion) const {
  switch (criterion) {
    case StopCriterion::kErgodic:
      return ergodic();
    case StopCriterion::kMinimum:
      return minimum();
    case StopCriterion::kLast:
      return last();
  }
  return ergodic();
}

std::string_view to_string(Exchange exchange) {
  switch (exchange) {
    case Exchange::kModels:
      return "models";
    case Exchange::kGradients:
      return "gradients";
    case Exchange::kControlVariates:
      return "control-variates";
    case Exchange::kMomenta:
      return "momenta";
  }
  return "models";
}

std::string_view to_string(Termination termination) {
  switch (termination) {
    case Termination::kNotRun:
      return "not_run";
    case Termination::kTargetReached:
      return "target_reached";
    case Termination::kBudgetExhausted:
      return "budget_exhausted";
    case Termination::kDiverged:
      return "diverged";
    case Termination::kStoppedByObserver:
      return "stopped_by_observer";
  }
  return "not_run";
}

}  // namespace distclip
