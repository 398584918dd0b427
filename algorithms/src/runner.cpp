#include "distclip/algorithms/runner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>

namespace distclip {

namespace {

// Entries the communication log holds before it first grows: enough for
// most runs, small enough not to matter for the others.
constexpr std::int64_t kLogReserve = std::int64_t{1} << 14;

std::string worker_gradient_norm(int worker) {
  return fmt::format("stochastic gradient norm of worker {}", worker);
}

std::string worker_resampled_norm(int worker) {
  return fmt::format("resampled gradient norm of worker {}", worker);
}

}  // namespace

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
  if (algorithm.uses_momentum()) {
    if (!(momentum >= 0.0 && momentum < 1.0)) {
      return fail(fmt::format("momentum = {}, must be in [0, 1)", momentum));
    }
    if (!(nu >= 0.0 && nu <= 1.0)) return fail(fmt::format("nu = {}, must be in [0, 1]", nu));
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
  std::string network_error;
  if (!network.IsValid(&network_error)) return fail(network_error);
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
  // The workers of this rank run `parallel` at a time, so a phase's wall
  // time, times parallel / local workers, is one worker's share of it.
  const int parallel = std::min({options.threads, tbb::info::default_concurrency(),
                                 communicator.local_workers().size()});
  compute_share_ = static_cast<double>(parallel) / communicator.local_workers().size();
  if (options.threads > tbb::info::default_concurrency()) {
    parallelism_.emplace(tbb::global_control::max_allowed_parallelism,
                         static_cast<std::size_t>(options.threads));
  }
  local_ = communicator.local_workers();
  const Index d = oracle.dimension();
  dimension_ = d;
  oracle_.reserve_workers(options.num_workers);

  Vector x0(d);
  oracle.initial_point(x0);
  models_.assign(static_cast<std::size_t>(local_.size()), x0);
  gradients_.assign(static_cast<std::size_t>(local_.size()), Vector::Zero(d));
  norms_.assign(static_cast<std::size_t>(local_.size()), 0.0);
  spreads_.assign(norms_.size(), 0.0);
  model_norms_.assign(norms_.size(), 0.0);
  deviation_norms_.assign(norms_.size(), 0.0);
  deviations_.assign(norms_.size(), Vector::Zero(1));
  mean_deviation_ = Vector::Zero(1);
  workers_.reserve(static_cast<std::size_t>(local_.size()));
  for (int i = local_.begin; i < local_.end; ++i) {
    WorkerState& worker = workers_.emplace_back();
    worker.index = i;
    worker.rng = worker_stream(options.seed, i);
  }
  const bool corrected = algorithm.correction == Correction::kResampled ||
                         algorithm.correction == Correction::kControlVariates;
  if (corrected) {
    corrections_.assign(norms_.size(), Vector::Zero(d));
    directions_.assign(norms_.size(), Vector::Zero(d));
    global_correction_ = Vector::Zero(d);
  }
  if (algorithm.uses_momentum()) {
    momenta_.assign(norms_.size(), Vector::Zero(d));
    momentum_mean_ = Vector::Zero(d);
  }
  if (oracle.constants().kappa != Constant::known(0.0)) {
    local_gradients_.assign(norms_.size(), Vector::Zero(d));
  }
  xbar_ = x0;
  model_mean_ = x0;
  gbar_ = Vector::Zero(d);
  full_gradient_ = Vector::Zero(d);
  vector_bytes_ = static_cast<std::int64_t>(d) * static_cast<std::int64_t>(sizeof(double));
  bytes_per_collective_ =
      options.num_workers == 1
          ? 0
          : NetworkModel::allreduce_total_bytes(options.network.algorithm, options.num_workers,
                                                vector_bytes_);
  const std::int64_t rounds = options.max_steps / options.sync_interval + 1;
  const std::int64_t expected = algorithm.averaging == Averaging::kGradientsEveryStep
                                   ? options.max_steps
                                   : 2 * rounds * algorithm.vectors_per_round();
  log_.reserve(static_cast<std::size_t>(std::min(expected, kLogReserve)));
  log_costs_.reserve(log_.capacity());
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
      t, worker_gradient_norm(worker.index), norms_[w]};
  return false;
}

void Runner::take_step(int w, const Vector& direction, double norm) {
  const StepRule rule = algorithm_.step_rule;
  const double eta = options_.step_size;
  const double gamma = options_.clip_threshold;
  WorkerState& worker = workers_[w];
  worker.clipped_last = is_clipped(rule, eta, gamma, norm, round_clips_);
  worker.clipped_steps += worker.clipped_last ? 1 : 0;
  models_[w].noalias() -= step_length(rule, eta, gamma, norm, round_clips_) * direction;
}

void Runner::step_along_gradient(int w) {
  switch (algorithm_.correction) {
    case Correction::kNone:
      take_step(w, gradients_[w], clip_norm(norms_[w]));
      return;
    case Correction::kResampled:
    case Correction::kControlVariates:
      // EPISODE's g_i - G_i + G, SCAFFOLD's g_i - c_i + c.
      directions_[w] = gradients_[w] - corrections_[w] + global_correction_;
      take_step(w, directions_[w], directions_[w].norm());
      return;
    case Correction::kMomentum:
      momentum_step(w);
      return;
  }
}

void Runner::momentum_step(int w) {
  const double eta = options_.step_size;
  const double gamma = options_.clip_threshold;
  const double nu = options_.nu;
  Vector& m = momenta_[w];
  m = options_.momentum * m + (1.0 - options_.momentum) * gradients_[w];
  const double m_norm = m.norm();
  const double g_norm = norms_[w];
  // Zhang et al. 2020, Algorithm 1: each part is clipped on its own, so the
  // step moves at most nu gamma + (1 - nu) gamma = gamma.
  models_[w].noalias() -= (nu * step_length(StepRule::kClipped, eta, gamma, m_norm)) * m +
                          ((1.0 - nu) * step_length(StepRule::kClipped, eta, gamma, g_norm)) *
                              gradients_[w];
  WorkerState& worker = workers_[w];
  worker.clipped_last = (nu > 0.0 && is_clipped(StepRule::kClipped, eta, gamma, m_norm)) ||
                        (nu < 1.0 && is_clipped(StepRule::kClipped, eta, gamma, g_norm));
  worker.clipped_steps += worker.clipped_last ? 1 : 0;
}

void Runner::local_steps(int w, std::int64_t t_begin, std::int64_t t_end) {
  for (std::int64_t t = t_begin; t < t_end; ++t) {
    if (!draw_gradient(w, t)) return;
    step_along_gradient(w);
  }
}

void Runner::average_models() {
  communicator_.average(models_, model_mean_, Traffic::kAlgorithm);
  log_collective(Exchange::kModels, rounds_ + 1);
  for_each_worker(dimension_, [&](int w) { models_[w] = model_mean_; });
}

void Runner::update_control_variates() {
  // model_mean_ is the round's starting point xbar_prev; every worker took
  // exactly I steps since (rounds start at multiples of I).
  const double scale = 1.0 / (static_cast<double>(options_.sync_interval) * options_.step_size);
  compute_phase([&] {
    for_each_worker(dimension_, [&](int w) {
      corrections_[w] += scale * (model_mean_ - models_[w]) - global_correction_;
    });
  });
}

bool Runner::resample_corrections() {
  compute_phase([&] {
    for_each_worker(dimension_, [&](int w) {
      WorkerState& worker = workers_[w];
      oracle_.stochastic_gradient(models_[w], worker.index, worker.rng, corrections_[w]);
      ++worker.gradient_calls;
      ++worker.resampled;
      const double norm = corrections_[w].norm();
      if (!healthy(norm)) {
        worker.divergence = Divergence{step_, worker_resampled_norm(worker.index), norm};
      }
    });
  });
  return !collect_divergence();
}

void Runner::start_round() {
  const bool several = options_.num_workers > 1;
  const Correction correction = algorithm_.correction;
  if (correction == Correction::kControlVariates && step_ > 0) update_control_variates();
  if (several) {
    average_models();
    ++rounds_;
  } else if (correction == Correction::kControlVariates) {
    model_mean_ = models_[0];  // the next round's xbar_prev
  }
  switch (correction) {
    case Correction::kNone:
      return;
    case Correction::kResampled:
      if (!resample_corrections()) return;
      if (several) {
        communicator_.average(corrections_, global_correction_, Traffic::kAlgorithm);
        log_collective(Exchange::kGradients, rounds_);
      } else {
        global_correction_ = corrections_[0];
      }
      round_clips_ =
          episode_clips(options_.step_size, options_.clip_threshold, global_correction_.norm());
      return;
    case Correction::kControlVariates:
      // The first round's control variates are 0 everywhere: nothing to send.
      if (step_ == 0) return;
      if (several) {
        communicator_.average(corrections_, global_correction_, Traffic::kAlgorithm);
        log_collective(Exchange::kControlVariates, rounds_);
      } else {
        global_correction_ = corrections_[0];
      }
      return;
    case Correction::kMomentum:
      if (!several) return;
      communicator_.average(momenta_, momentum_mean_, Traffic::kAlgorithm);
      log_collective(Exchange::kMomenta, rounds_);
      for_each_worker(dimension_, [&](int w) { momenta_[w] = momentum_mean_; });
      return;
  }
}

void Runner::log_collective(Exchange exchange, std::int64_t round) {
  log_.push_back({step_, round, exchange});
  log_costs_.push_back(communicator_.last_cost());
}

void Runner::collective_step() {
  if (draw_all()) collective_update();
}

bool Runner::draw_all() {
  compute_phase(
      [&] { for_each_worker(dimension_, [&](int w) { draw_gradient(w, step_); }); });
  return !collect_divergence();
}

void Runner::collective_update() {
  communicator_.average(gradients_, gbar_, Traffic::kAlgorithm);
  // A minibatch step is a round of its own; CELGC's reference gradient
  // belongs to the round its model average opened.
  const bool own_round = algorithm_.averaging == Averaging::kGradientsEveryStep;
  if (options_.num_workers > 1) {
    log_collective(Exchange::kGradients, own_round ? rounds_ + 1 : rounds_);
  }
  if (own_round && options_.num_workers > 1) ++rounds_;
  const double mean_norm = gbar_.norm();
  if (!healthy(mean_norm)) {
    divergence_ = Divergence{step_, "norm of the averaged gradient", mean_norm};
    return;
  }
  if (algorithm_.averaging == Averaging::kGradientsEveryStep) {
    // Every worker takes the same step along gbar, so the models stay equal.
    compute_phase([&] {
      for_each_worker(dimension_, [&](int w) { take_step(w, gbar_, mean_norm); });
    });
  } else {
    // The first step of a round fixes ||gbar|| as the clip reference.
    reference_norm_ = mean_norm;
    local_update();
  }
}

void Runner::local_update() {
  compute_phase([&] { for_each_worker(dimension_, [&](int w) { step_along_gradient(w); }); });
}

void Runner::set_step_observers(std::span<Observer* const> observers) {
  step_observers_.clear();
  for (Observer* observer : observers) {
    if (observer->wants_steps()) step_observers_.push_back(observer);
  }
}

void Runner::checked_step(bool collective) {
  if (!draw_all()) return;
  const StepRecord record = measure_step();
  for (Observer* observer : step_observers_) {
    step_stop_ = (observer->on_step(record) == ObserverDecision::kStop) || step_stop_;
  }
  if (step_stop_) return;
  if (collective) {
    collective_update();
  } else {
    local_update();
  }
}

StepRecord Runner::measure_step() {
  communicator_.average(models_, xbar_, Traffic::kMeasurement);
  oracle_.gradient(xbar_, full_gradient_);
  ++gradient_evaluations_;
  for_each_worker(dimension_, [&](int w) {
    spreads_[w] = (models_[w] - xbar_).norm();
    model_norms_[w] = models_[w].norm();
    deviation_norms_[w] = (gradients_[w] - full_gradient_).norm();
    deviations_[w][0] = deviation_norms_[w];
  });
  communicator_.average(deviations_, mean_deviation_, Traffic::kMeasurement);
  const auto local_max = [](std::span<const double> values) {
    return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
  };
  StepRecord record;
  record.step = step_;
  record.grad_norm = full_gradient_.norm();
  record.consensus_distance = communicator_.max(local_max(spreads_));
  record.consensus_worker = lowest_worker_with(spreads_, record.consensus_distance);
  record.mean_gradient_deviation = mean_deviation_[0];
  record.max_gradient_deviation = communicator_.max(local_max(deviation_norms_));
  record.deviation_worker = lowest_worker_with(deviation_norms_, record.max_gradient_deviation);
  record.model_norm = communicator_.max(local_max(model_norms_));
  record.gradient_scale = communicator_.max(std::max(record.grad_norm, local_max(norms_)));
  return record;
}

int Runner::lowest_worker_with(std::span<const double> values, double target) {
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (int w = 0; w < local_.size(); ++w) {
    if (values[w] == target) {
      lowest = local_.begin + w;
      break;
    }
  }
  return static_cast<int>(communicator_.min(lowest));
}

bool Runner::collect_divergence() {
  // The earliest divergence, ties to the lowest worker index: the same answer
  // whichever thread or rank ran which worker. Workers diverge only in
  // draw_gradient, so the step and the worker say everything but the value,
  // which the worker's rank broadcasts.
  const std::int64_t n = options_.num_workers;
  const std::int64_t none = std::numeric_limits<std::int64_t>::max();
  std::int64_t earliest = none;
  for (const WorkerState& worker : workers_) {
    if (worker.divergence) {
      earliest = std::min(earliest, worker.divergence->step * n + worker.index);
    }
  }
  if (communicator_.size() > 1) earliest = communicator_.min(earliest);
  if (earliest == none) return false;
  const int worker = static_cast<int>(earliest % n);
  double value = 0.0;
  if (local_.contains(worker)) value = workers_[worker - local_.begin].divergence->value;
  if (communicator_.size() > 1) {
    value = communicator_.broadcast(value, communicator_.rank_of(worker));
  }
  divergence_ = Divergence{earliest / n, worker_gradient_norm(worker), value};
  step_ = divergence_->step;
  return true;
}

bool Runner::advance_to(std::int64_t t_end) {
  const int interval = options_.sync_interval;
  arena_.execute([&] {
    while (step_ < t_end && !divergence_ && !step_stop_) {
      const bool round_start = algorithm_.uses_sync_interval() && step_ % interval == 0;
      if (round_start) {
        start_round();
        if (divergence_) break;
      }
      const bool needs_reference = round_start && algorithm_.uses_clip_option() &&
                                   options_.clip_option != ClipOption::kLocal;
      const bool collective =
          algorithm_.averaging == Averaging::kGradientsEveryStep || needs_reference;
      if (!step_observers_.empty()) {
        checked_step(collective);
        if (!divergence_ && !step_stop_) ++step_;
        continue;
      }
      if (collective) {
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
      compute_phase([&] {
        for_each_worker(dimension_ * (segment_end - segment_begin),
                        [&](int w) { local_steps(w, segment_begin, segment_end); });
      });
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
    for_each_worker(dimension_, [&](int w) { norms_[w] = (models_[w] - xbar_).norm(); });
    record.value = oracle_.value(xbar_);
    oracle_.gradient(xbar_, full_gradient_);
    record.heldout_loss = oracle_.heldout_loss(xbar_);
    if (!local_gradients_.empty()) {
      // One worker at a time: the oracle's local gradients share its
      // scratch. The mean is the ordered average of one-entry vectors, the
      // same bits on every backend.
      for (int w = 0; w < local_.size(); ++w) {
        oracle_.local_gradient(workers_[w].index, xbar_, local_gradients_[w]);
        deviations_[w][0] = (local_gradients_[w] - full_gradient_).norm();
      }
      gradient_evaluations_ += options_.num_workers;
      communicator_.average(deviations_, mean_deviation_, Traffic::kMeasurement);
      record.kappa = mean_deviation_[0];
    }
  });
  ++value_evaluations_;
  ++gradient_evaluations_;
  const double local_spread = norms_.empty() ? 0.0 : *std::max_element(norms_.begin(), norms_.end());
  std::int64_t clipped = 0;
  for (const WorkerState& worker : workers_) clipped += worker.clipped_last ? 1 : 0;

  record.step = step_;
  record.rounds = rounds_;
  record.bytes = communicator_.stats().collectives * bytes_per_collective_;
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
  record.compute_time_s = mean_compute_seconds();
  record.communication_time_s = communicator_.max(communicator_.stats().total.seconds);
  record.projected_time_s =
      record.compute_time_s +
      static_cast<double>(communicator_.stats().collectives) *
          options_.network.allreduce_seconds(options_.num_workers, vector_bytes_);
  return record;
}

double Runner::mean_compute_seconds() {
  return communicator_.sum(compute_seconds_) / static_cast<double>(communicator_.size());
}

CommunicationSummary Runner::summarize_communication() {
  CommunicationSummary c;
  const int n = options_.num_workers;
  c.collectives = communicator_.stats().collectives;
  c.vector_bytes = vector_bytes_;
  c.bytes_per_collective = bytes_per_collective_;
  c.bytes_per_worker_per_collective = static_cast<double>(c.bytes_per_collective) / n;
  c.modelled_seconds_per_collective = options_.network.allreduce_seconds(n, vector_bytes_);
  c.compute_seconds = mean_compute_seconds();
  c.modelled_seconds = static_cast<double>(c.collectives) * c.modelled_seconds_per_collective;
  c.projected_seconds = c.compute_seconds + c.modelled_seconds;
  c.log = log_;

  // Every rank logged the same collectives; rank 0 gathers their costs as
  // (sent, received, seconds) triples. Byte counts are exact as doubles up to 2^53.
  const auto flatten = [](std::span<const TransportCost> costs) {
    std::vector<double> flat;
    flat.reserve(3 * costs.size());
    for (const TransportCost& cost : costs) {
      flat.insert(flat.end(), {static_cast<double>(cost.bytes_sent),
                               static_cast<double>(cost.bytes_received), cost.seconds});
    }
    return flat;
  };
  const auto unflatten = [](std::span<const double> flat) {
    std::vector<TransportCost> costs(flat.size() / 3);
    for (std::size_t i = 0; i < costs.size(); ++i) {
      costs[i] = {static_cast<std::int64_t>(flat[3 * i]),
                  static_cast<std::int64_t>(flat[3 * i + 1]), flat[3 * i + 2]};
    }
    return costs;
  };
  const int ranks = communicator_.size();
  const bool root = communicator_.rank() == 0;
  const TransportCost total = communicator_.stats().total;
  const std::vector<double> own_total = flatten(std::span(&total, 1));
  std::vector<double> all(root ? own_total.size() * ranks : 0);
  communicator_.gather(own_total, all);
  c.per_rank = root ? unflatten(all) : std::vector<TransportCost>{total};

  const std::vector<double> own_log = flatten(log_costs_);
  all.assign(root ? own_log.size() * ranks : 0, 0.0);
  communicator_.gather(own_log, all);
  if (!root) {
    c.log_per_rank = log_costs_;
    return c;
  }
  // Gathered rank-major; the summary is collective-major.
  const std::vector<TransportCost> by_rank = unflatten(all);
  c.log_per_rank.resize(by_rank.size());
  for (int r = 0; r < ranks; ++r) {
    for (std::size_t k = 0; k < log_.size(); ++k) {
      c.log_per_rank[k * ranks + r] = by_rank[r * log_.size() + k];
    }
  }
  return c;
}

namespace {

// The first entry of every saved state, and the version of its layout.
constexpr std::uint64_t kStateTag = 0x31'74'61'74'73'72'6e'72;  // "rnrstat1"

}  // namespace

std::string Runner::save_state(std::span<Observer* const> observers,
                               const EvalRecord& last) const {
  StateWriter out;
  out.write(kStateTag);
  // What the state must fit: the dimension and this rank's workers.
  out.write(static_cast<std::int64_t>(dimension_));
  out.write(local_);
  out.write(step_);
  out.write(rounds_);
  out.write(gradient_evaluations_);
  out.write(value_evaluations_);
  tracker_.save_state(out);
  out.write(log_);
  out.write(log_costs_);
  out.write(communicator_.stats());
  out.write(compute_seconds_);
  out.write(seconds_since_start());
  out.write(last);
  out.write(round_clips_);
  out.write(reference_norm_);
  out.write(xbar_);
  out.write(model_mean_);
  if (global_correction_.size() > 0) out.write(global_correction_);
  if (momentum_mean_.size() > 0) out.write(momentum_mean_);
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    const WorkerState& worker = workers_[w];
    out.write(worker.rng);
    out.write(worker.clipped_steps);
    out.write(worker.gradient_calls);
    out.write(worker.resampled);
    out.write(worker.clipped_last);
    out.write(models_[w]);
    if (!corrections_.empty()) out.write(corrections_[w]);
    if (!momenta_.empty()) out.write(momenta_[w]);
  }
  out.write(static_cast<std::uint64_t>(observers.size()));
  for (const Observer* observer : observers) {
    StateWriter part;
    observer->save_state(part);
    out.write(std::string_view(part.bytes()));
  }
  return out.take();
}

void Runner::resume(std::string_view state, std::span<Observer* const> observers) {
  if (step_ != 0 || resumed_record_) {
    throw std::logic_error("Runner::resume: the runner has already run");
  }
  StateReader in(state);
  if (in.read<std::uint64_t>() != kStateTag) {
    throw StateError("checkpoint state: not a runner's state, or another version's");
  }
  if (in.read<std::int64_t>() != dimension_) {
    throw StateError("checkpoint state: saved for another dimension");
  }
  const auto saved_workers = in.read<WorkerRange>();
  if (saved_workers.begin != local_.begin || saved_workers.end != local_.end) {
    throw StateError(fmt::format("checkpoint state: saved for workers [{}, {}), this rank has [{}, {})",
                                 saved_workers.begin, saved_workers.end, local_.begin, local_.end));
  }
  in.read(step_);
  in.read(rounds_);
  in.read(gradient_evaluations_);
  in.read(value_evaluations_);
  tracker_.restore_state(in);
  in.read(log_);
  in.read(log_costs_);
  communicator_.restore_stats(in.read<CommunicationStats>());
  in.read(compute_seconds_);
  in.read(resumed_seconds_);
  resumed_record_ = in.read<EvalRecord>();
  in.read(round_clips_);
  in.read(reference_norm_);
  in.read(xbar_);
  in.read(model_mean_);
  if (global_correction_.size() > 0) in.read(global_correction_);
  if (momentum_mean_.size() > 0) in.read(momentum_mean_);
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    WorkerState& worker = workers_[w];
    in.read(worker.rng);
    in.read(worker.clipped_steps);
    in.read(worker.gradient_calls);
    in.read(worker.resampled);
    in.read(worker.clipped_last);
    in.read(models_[w]);
    if (!corrections_.empty()) in.read(corrections_[w]);
    if (!momenta_.empty()) in.read(momenta_[w]);
  }
  if (in.read<std::uint64_t>() != observers.size()) {
    throw StateError("checkpoint state: saved with another set of observers");
  }
  for (Observer* observer : observers) {
    std::string part;
    in.read(part);
    StateReader observer_in(part);
    observer->restore_state(observer_in);
    observer_in.expect_end();
  }
  in.expect_end();
}

double Runner::seconds_since_start() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

RunSummary Runner::run(std::span<Observer* const> observers,
                       const Checkpointing& checkpointing) {
  start_ = std::chrono::steady_clock::now() -
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::duration<double>(resumed_seconds_));
  set_step_observers(observers);
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

  const auto goes_on = [&](bool stop_requested) {
    return !divergence_ && !stop_requested && !reached() && step_ < options_.max_steps;
  };

  EvalRecord record;
  bool stop_requested = false;
  if (resumed_record_) {
    record = *resumed_record_;  // the observers saw it before the checkpoint
    resumed_record_.reset();
  } else {
    record = evaluate();
    stop_requested = !divergence_ && notify(record);
  }
  while (goes_on(stop_requested)) {
    const std::int64_t next_eval =
        std::min(options_.max_steps, (step_ / options_.eval_every + 1) * options_.eval_every);
    if (!advance_to(next_eval)) break;
    record = evaluate();
    if (divergence_) break;
    stop_requested = notify(record) || step_stop_;
    if (checkpointing.every > 0 && step_ % checkpointing.every == 0 && goes_on(stop_requested)) {
      checkpointing.save(step_, save_state(observers, record));
    }
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
  std::int64_t resampled = 0;
  for (const WorkerState& worker : workers_) {
    clipped_steps += worker.clipped_steps;
    gradient_calls += worker.gradient_calls;
    resampled += worker.resampled;
  }
  clipped_steps = communicator_.sum(clipped_steps);
  gradient_calls = communicator_.sum(gradient_calls);
  resampled = communicator_.sum(resampled);
  const std::int64_t worker_steps = gradient_calls - resampled;
  summary.steps = step_;
  summary.rounds = rounds_;
  summary.communication = summarize_communication();
  summary.bytes = summary.communication.collectives * summary.communication.bytes_per_collective;
  summary.oracle_calls = {gradient_calls, gradient_evaluations_, value_evaluations_};
  summary.mean_clip_fraction =
      worker_steps == 0 ? 0.0
                        : static_cast<double>(clipped_steps) / static_cast<double>(worker_steps);
  summary.wall_time_s = seconds_since_start();
  return summary;
}

}  // namespace distclip
