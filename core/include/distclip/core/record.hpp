// Run records: what is measured at an evaluation point, the stationarity
// metrics of Theorem 1, and the summary of how a run ended.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distclip/core/state_io.hpp"
#include "distclip/core/types.hpp"

namespace distclip {

// Measurements at the averaged iterate xbar_t = (1/N) sum_i x_i^t after t
// steps. Forming xbar_t is measurement, not communication.
struct EvalRecord {
  std::int64_t step = 0;            // t, steps taken by every worker
  std::int64_t rounds = 0;          // communication rounds so far
  std::int64_t bytes = 0;           // bytes sent so far, summed over workers (network model)
  double value = std::numeric_limits<double>::quiet_NaN();      // f(xbar_t)
  double grad_norm = std::numeric_limits<double>::quiet_NaN();  // ||grad f(xbar_t)||
  // (1/k) sum of ||grad f(xbar_s)|| over the evaluated steps s = 1..t
  // (Theorem 1's metric; exact when every step is evaluated). NaN at t = 0.
  double ergodic_grad_norm = std::numeric_limits<double>::quiet_NaN();
  double min_grad_norm = std::numeric_limits<double>::quiet_NaN();  // over s = 1..t
  double clip_fraction = 0.0;       // fraction of workers whose step t-1 was clipped
  double consensus_distance = 0.0;  // max_i ||x_i^t - xbar_t|| (Lemma 1's quantity)
  // The heterogeneity at xbar_t: (1/N) sum_i ||grad f_i(xbar_t) - grad f(xbar_t)||,
  // measured when the oracle is not homogeneous by construction; NaN otherwise.
  double kappa = std::numeric_limits<double>::quiet_NaN();
  // Oracle::heldout_loss(xbar_t): a language model's loss on held-out text;
  // NaN for objectives without held-out data.
  double heldout_loss = std::numeric_limits<double>::quiet_NaN();
  // Times, which unlike everything above differ from run to run.
  double wall_time_s = 0.0;           // seconds since the run started
  double compute_time_s = 0.0;        // mean over workers of their CPU time computing steps
  double communication_time_s = 0.0;  // max over ranks of measured time in algorithm averages
  // compute_time_s plus the network model's cost of every algorithm average
  // so far: the wall time on a cluster of N nodes (docs/network-model.md).
  double projected_time_s = 0.0;
};

// The quantities of the paper's almost-sure lemmas at step t, measured
// before the step's update when an observer asks for them (Observer::
// wants_steps): xbar_t, grad f(xbar_t) and the stochastic gradients
// g_i^t = grad F_i(x_i^t; xi_i^t) that step t uses. Ties between workers go
// to the lowest index, so every backend reports the same worker.
struct StepRecord {
  std::int64_t step = 0;  // t
  double grad_norm = 0.0;  // ||grad f(xbar_t)||
  // Lemma 1's quantity: max_i ||x_i^t - xbar_t||, and the worker i.
  double consensus_distance = 0.0;
  int consensus_worker = 0;
  // Lemma 3's quantity: (1/N) sum_i ||g_i^t - grad f(xbar_t)||, summed in
  // worker order; and the largest term with its worker.
  double mean_gradient_deviation = 0.0;
  double max_gradient_deviation = 0.0;
  int deviation_worker = 0;
  // Scales for the rounding tolerance of a check: max_i ||x_i^t||, and the
  // largest of ||grad f(xbar_t)|| and the ||g_i^t||.
  double model_norm = 0.0;
  double gradient_scale = 0.0;
};

// Which gradient-norm statistic decides that eps is reached.
enum class StopCriterion {
  kErgodic,  // (1/t) sum_{s<=t} ||grad f(xbar_s)|| <= eps, Theorem 1's metric
  kMinimum,  // min_{s<=t} ||grad f(xbar_s)|| <= eps
  kLast,     // ||grad f(xbar_t)|| <= eps
};

std::string_view to_string(StopCriterion criterion);
std::optional<StopCriterion> parse_stop_criterion(std::string_view name);

// Running ergodic average, minimum and last value of ||grad f(xbar_s)||.
class StationarityTracker {
 public:
  void add(double grad_norm);
  std::int64_t count() const { return count_; }
  double ergodic() const;
  double minimum() const;
  double last() const;
  double metric(StopCriterion criterion) const;

  void save_state(StateWriter& out) const;
  void restore_state(StateReader& in);

 private:
  std::int64_t count_ = 0;
  double sum_ = 0.0;
  double min_ = std::numeric_limits<double>::infinity();
  double last_ = std::numeric_limits<double>::quiet_NaN();
};

enum class Termination {
  kNotRun,            // the run has not started (or its options were rejected)
  kTargetReached,     // the stop criterion met eps
  kBudgetExhausted,   // max_steps taken without reaching eps
  kDiverged,          // a NaN, Inf or a norm above the divergence bound
  kStoppedByObserver, // an observer asked to stop
};

std::string_view to_string(Termination termination);

// Where and how a run diverged.
struct Divergence {
  std::int64_t step = 0;  // the step whose computation produced the value
  std::string quantity;   // e.g. "stochastic gradient norm of worker 3"
  double value = 0.0;     // NaN, +-Inf or the norm above the bound
};

struct OracleCalls {
  std::int64_t stochastic_gradients = 0;
  std::int64_t gradients = 0;  // full gradients, at evaluation points
  std::int64_t values = 0;     // function values, at evaluation points
};

// What an algorithm average exchanged.
enum class Exchange {
  kModels,
  kGradients,        // stochastic gradients (minibatch methods, clip references,
                     // EPISODE's resampled gradients)
  kControlVariates,  // SCAFFOLD's c_i
  kMomenta,          // a local momentum method's m_i
};

std::string_view to_string(Exchange exchange);

// One algorithm average: when it happened and what it exchanged.
struct CollectiveRecord {
  std::int64_t step = 0;   // it happened before step `step`
  std::int64_t round = 0;  // the communication round it belongs to, from 1
  Exchange exchange = Exchange::kModels;
};

// What one rank's transport did for one algorithm average, or in total.
// Bytes are those the process handed to or took from the transport (zero
// with every worker in one process); seconds are wall time inside the
// average, local summation included.
struct TransportCost {
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_received = 0;
  double seconds = 0.0;
};

// The communication of a run, modelled and measured.
struct CommunicationSummary {
  std::int64_t collectives = 0;   // algorithm averages
  std::int64_t vector_bytes = 0;  // 8 d, the size of one averaged vector
  // Bytes sent (equally, received) per average on a cluster of N nodes by
  // the network model's all-reduce algorithm: summed over workers, and their
  // mean per worker.
  std::int64_t bytes_per_collective = 0;
  double bytes_per_worker_per_collective = 0.0;
  double modelled_seconds_per_collective = 0.0;
  double compute_seconds = 0.0;   // mean over workers of CPU time computing steps
  double modelled_seconds = 0.0;  // collectives * modelled_seconds_per_collective
  double projected_seconds = 0.0; // compute_seconds + modelled_seconds
  // Measured, per rank (index = rank), and per collective and rank
  // (index = collective * ranks + rank). On rank 0 only; other ranks hold
  // only their own entries.
  std::vector<TransportCost> per_rank;
  std::vector<CollectiveRecord> log;
  std::vector<TransportCost> log_per_rank;
};

// How a run ended, with its counts. Starts as "not run".
struct RunSummary {
  Termination termination = Termination::kNotRun;
  std::int64_t steps = 0;
  std::int64_t rounds = 0;
  std::int64_t bytes = 0;  // modelled bytes sent, summed over workers
  OracleCalls oracle_calls;
  CommunicationSummary communication;
  double wall_time_s = 0.0;
  // Clipped worker-steps divided by all worker-steps; 0 for unclipped methods.
  double mean_clip_fraction = 0.0;
  std::optional<Divergence> divergence;
  // The last evaluation, and xbar at the end; absent after divergence.
  std::optional<EvalRecord> final_record;
  Vector final_iterate;
};

}  // namespace distclip
