#include "distclip/algorithms/runner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>

namespace distclip {

bool RunOptions::IsValid(const Algorithm& algorithm, std::string* error) const {
  const auto fail = [error](std::string message) {
    if (error != nullptr) *error = std::move(message);
    return false;
  };
  const auto positive = [](double v) { return std::isfinite(v) && v > 0.0; };
  if (num_workers < 1) return fail(fmt::format("workers = {}, must be >= 1", num_workers));
  if (algorithm.single_machine() && num_workers != 1) {
    return fail(fmt::format("workers = {}, must be 1 for algorithm {} (a single-machine method)",
                            num_workers, algorithm.name));
  }
  if (sync_interval < 1) return fail(fmt::format("sync-interval = {}, must be >= 1", sync_interval));
  if (!positive(step_size)) return fail(fmt::format("step-size = {}, must be > 0", step_size));
  if (!positive(clip_threshold)) {
    return fail(fmt::format("clip-threshold = {}, must be > 0", clip_threshold));
  }
  if (max_steps < 1) return fail(fmt::format("steps = {}, must be >= 1", max_steps));
  if (eval_every < 1) return fail(fmt::format("eval-every = {}, must be >= 1", eval_every));
  if (target && !positive(*target)) return fail(fmt::format("target = {}, must be > 0", *target));
  if (!positive(divergence_bound)) {
    return fail(fmt::format("divergence-bound = {}, must be > 0", divergence_bound));
  }
  if (threads < 1 || threads > kMaxThreads) {
    return fail(fmt::format("threads = {}, must be in [1, {}]", threads, kMaxThreads));
  }
  return true;
}

Runner::Runner(const Algorithm& algorithm, Oracle& oracle, Communicator& communicator,
               const RunOptions& options)
    : algorithm_(algorithm),
      oracle_(oracle),
      communicator_(communicator),
      options_(options),
      arena_(std::max(1, options.threads)) {
  std::string error;
  if (!options.IsValid(algorithm, &error)) throw std::invalid_argument(error);
  if (communicator.num_workers() != options.num_workers) {
    throw std::invalid_argument(fmt::format("workers = {}, but the communicator has {} workers",
                                            options.num_workers, communicator.num_workers()));
  }
  if (options.threads > tbb::info::default_concurrency()) {
    parallelism_.emplace(tbb::global_control::max_allowed_parallelism,
                         static_cast<std::size_t>(options.threads));
  }
  local_ = communicator.local_workers();
  const Index d = oracle.dimension();
  oracle_.reserve_workers(options.num_workers);

  Vector x0(d);
  oracle.initial_point(x0);
  models_.assign(static_cast<std::size_t>(local_.size()), x0);
  gradients_.assign(static_cast<std::size_t>(local_.size()), Vector::Zero(d));
  norms_.assign(static_cast<std::size_t>(local_.size()), 0.0);
  workers_.reserve(static_cast<std::size_t>(local_.size()));
  for (int i = local_.begin; i < local_.end; ++i) {
    WorkerState& worker = workers_.emplace_back();
    worker.index = i;
    worker.rng = worker_stream(options.seed, i);
  }
  xbar_ = x0;
  model_mean_ = x0;
  gbar_ = Vector::Zero(d);
  full_gradient_ = Vector::Zero(d);
  start_ = std::chrono::steady_clock::now();
}

bool Runner::healthy(double norm) const {
  return std::isfinite(norm) && norm <= options_.divergence_bound;
}

double Runner::clip_norm(double own_norm) const {
  if (!algorithm_.uses_clip_option()) return own_norm;
  switch (options_.clip_option) {
    case ClipOption::kLocal:
      return own_norm;
    case ClipOption::kGlobalAverage:
      return reference_norm_;
    case ClipOption::kMax:
      return std::max(own_norm, reference_norm_);
  }
  return own_norm;
}

bool Runner::draw_gradient(int w, std::int64_t t) {
  WorkerState& worker = workers_[w];
  oracle_.stochastic_gradient(models_[w], worker.index, worker.rng, gradients_[w]);
  ++worker.gradient_calls;
  norms_[w] = gradients_[w].norm();
  if (healthy(norms_[w])) return true;
  worker.divergence = Divergence{
      t, fmt::format("stochastic gradient norm of worker {}", worker.index), norms_[w]};
  return false;
}

void Runner::take_step(int w, const Vector& direction, double norm) {
  const StepRule rule = algorithm_.step_rule;
  const double eta = options_.step_size;
  const double gamma = options_.clip_threshold;
  WorkerState& worker = workers_[w];
  worker.clipped_last = is_clipped(rule, eta, gamma, norm);
  worker.clipped_steps += worker.clipped_last ? 1 : 0;
  models_[w].noalias() -= step_length(rule, eta, gamma, norm) * direction;
}

void Runner::local_steps(int w, std::int64_t t_begin, std::int64_t t_end) {
  for (std::int64_t t = t_begin; t < t_end; ++t) {
    if (!draw_gradient(w, t)) return;
    take_step(w, gradients_[w], clip_norm(norms_[w]));
  }
}

void Runner::average_models() {
  communicator_.average(models_, model_mean_, Traffic::kAlgorithm);
  tbb::parallel_for(0, local_.size(), [&](int w) { models_[w] = model_mean_; });
}

void Runner::collective_step() {
  tbb::parallel_for(0, local_.size(), [&](int w) { draw_gradient(w, step_); });
  if (collect_divergence()) return;
  communicator_.average(gradients_, gbar_, Traffic::kAlgorithm);
  // A minibatch step is a round of its own; CELGC's reference gradient
  // belongs to the round its model average opened.
  if (algorithm_.averaging == Averaging::kGradientsEveryStep && options_.num_workers > 1) {
    ++rounds_;
  }
  const double mean_norm = gbar_.norm();
  if (!healthy(mean_norm)) {
    divergence_ = Divergence{step_, "norm of the averaged gradient", mean_norm};
    return;
  }
  if (algorithm_.averaging == Averaging::kGradientsEveryStep) {
    // Every worker takes the same step along gbar, so the models stay equal.
    tbb::parallel_for(0, local_.size(), [&](int w) { take_step(w, gbar_, mean_norm); });
  } else {
    // The first step of a round fixes ||gbar|| as the clip reference.
    reference_norm_ = mean_norm;
    tbb::parallel_for(0, local_.size(),
                      [&](int w) { take_step(w, gradients_[w], clip_norm(norms_[w])); });
  }
}

bool Runner::collect_divergence() {
  // The earliest divergence, ties to the lowest worker index: the same answer
  // whichever thread ran which worker. This looks at this rank's workers
  // only; a backend with several ranks must make all ranks agree before the
  // next collective, or the ranks that go on will wait for the one that
  // stopped.
  for (const WorkerState& worker : workers_) {
    if (worker.divergence && (!divergence_ || worker.divergence->step < divergence_->step)) {
      divergence_ = worker.divergence;
    }
  }
  if (divergence_) step_ = divergence_->step;
  return divergence_.has_value();
}

bool Runner::advance_to(std::int64_t t_end) {
  const int interval = options_.sync_interval;
  const bool several = options_.num_workers > 1;
  arena_.execute([&] {
    while (step_ < t_end && !divergence_) {
      const bool round_start = algorithm_.uses_sync_interval() && step_ % interval == 0;
      if (round_start && several) {
        average_models();
        ++rounds_;
      }
      const bool needs_reference = round_start && algorithm_.uses_clip_option() &&
                                   options_.clip_option != ClipOption::kLocal;
      if (algorithm_.averaging == Averaging::kGradientsEveryStep || needs_reference) {
        collective_step();
        if (!divergence_) ++step_;
        continue;
      }
      // Between rounds every worker runs on alone, up to the next round.
      std::int64_t segment_end = t_end;
      if (algorithm_.uses_sync_interval()) {
        segment_end = std::min(t_end, (step_ / interval + 1) * interval);
      }
      const std::int64_t segment_begin = step_;
      tbb::parallel_for(0, local_.size(),
                        [&](int w) { local_steps(w, segment_begin, segment_end); });
      step_ = segment_end;
      collect_divergence();
    }
  });
  return !divergence_;
}

EvalRecord Runner::evaluate() {
  EvalRecord record;
  arena_.execute([&] {
    communicator_.average(models_, xbar_, Traffic::kMeasurement);
    tbb::parallel_for(0, local_.size(), [&](int w) { norms_[w] = (models_[w] - xbar_).norm(); });
    record.value = oracle_.value(xbar_);
    oracle_.gradient(xbar_, full_gradient_);
  });
  ++value_evaluations_;
  ++gradient_evaluations_;
  const double local_spread = norms_.empty() ? 0.0 : *std::max_element(norms_.begin(), norms_.end());
  std::int64_t clipped = 0;
  for (const WorkerState& worker : workers_) clipped += worker.clipped_last ? 1 : 0;

  record.step = step_;
  record.rounds = rounds_;
  record.bytes = communicator_.stats().bytes;
  record.grad_norm = full_gradient_.norm();
  record.consensus_distance = communicator_.max(local_spread);
  record.clip_fraction = step_ == 0 ? 0.0
                                    : static_cast<double>(communicator_.sum(clipped)) /
                                          static_cast<double>(options_.num_workers);
  if (!std::isfinite(record.value)) {
    divergence_ = Divergence{step_, "f(xbar)", record.value};
  } else if (!healthy(record.grad_norm)) {
    divergence_ = Divergence{step_, "norm of grad f(xbar)", record.grad_norm};
  } else if (step_ > 0) {
    tracker_.add(record.grad_norm);
  }
  record.ergodic_grad_norm = tracker_.ergodic();
  record.min_grad_norm = tracker_.minimum();
  record.wall_time_s = seconds_since_start();
  return record;
}

double Runner::seconds_since_start() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

RunSummary Runner::run(std::span<Observer* const> observers) {
  start_ = std::chrono::steady_clock::now();
  const auto notify = [&](const EvalRecord& record) {
    bool stop = false;
    for (Observer* observer : observers) {
      stop = (observer->on_evaluation(record) == ObserverDecision::kStop) || stop;
    }
    return stop;
  };
  const auto reached = [&] {
    return options_.target && tracker_.count() > 0 &&
           tracker_.metric(options_.criterion) <= *options_.target;
  };

  EvalRecord record = evaluate();
  bool stop_requested = !divergence_ && notify(record);
  while (!divergence_ && !stop_requested && !reached() && step_ < options_.max_steps) {
    const std::int64_t next_eval =
        std::min(options_.max_steps, (step_ / options_.eval_every + 1) * options_.eval_every);
    if (!advance_to(next_eval)) break;
    record = evaluate();
    if (divergence_) break;
    stop_requested = notify(record);
  }

  RunSummary summary;
  if (divergence_) {
    summary.termination = Termination::kDiverged;
    summary.divergence = divergence_;
  } else {
    summary.termination = reached()         ? Termination::kTargetReached
                          : stop_requested  ? Termination::kStoppedByObserver
                                            : Termination::kBudgetExhausted;
    summary.final_record = record;
    summary.final_iterate = xbar_;
  }
  std::int64_t clipped_steps = 0;
  std::int64_t gradient_calls = 0;
  for (const WorkerState& worker : workers_) {
    clipped_steps += worker.clipped_steps;
    gradient_calls += worker.gradient_calls;
  }
  clipped_steps = communicator_.sum(clipped_steps);
  gradient_calls = communicator_.sum(gradient_calls);
  summary.steps = step_;
  summary.rounds = rounds_;
  summary.bytes = communicator_.stats().bytes;
  summary.oracle_calls = {gradient_calls, gradient_evaluations_, value_evaluations_};
  summary.mean_clip_fraction =
      gradient_calls == 0 ? 0.0
                          : static_cast<double>(clipped_steps) / static_cast<double>(gradient_calls);
  summary.wall_time_s = seconds_since_start();
  return summary;
}

}  // namespace distclip
