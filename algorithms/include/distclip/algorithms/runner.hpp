// The one loop every algorithm runs: N workers, each with its own iterate
// and random stream, stepping on oneTBB threads and meeting in the
// communicator when the algorithm averages. Options in, a summary out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/observer.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/core/network.hpp"
#include "distclip/core/oracle.hpp"
#include "distclip/core/record.hpp"

namespace distclip {

struct RunOptions {
  static constexpr int kMaxThreads = 1024;

  int num_workers = 1;             // N
  int sync_interval = 1;           // I: models averaged before step t when t % I == 0
  double step_size = 0.01;         // eta
  double clip_threshold = 1.0;     // gamma: a clipped step moves at most gamma
  ClipOption clip_option = ClipOption::kLocal;
  // The momentum methods (Correction::kMomentum): m <- beta m + (1 - beta) g,
  // and the step mixes the clipped momentum and the clipped gradient as
  // nu : (1 - nu). nu = 0 is clipped SGD; beta = 0 too.
  double momentum = 0.9;           // beta in [0, 1)
  double nu = 0.7;                 // in [0, 1]
  std::int64_t max_steps = 1000;   // T
  std::uint64_t seed = 1;          // worker i draws from worker_stream(seed, i)
  // xbar_t is measured when t % eval_every == 0, and at the last step.
  std::int64_t eval_every = 1;
  // eps: stop at the first evaluation where `criterion` <= eps.
  std::optional<double> target;
  StopCriterion criterion = StopCriterion::kErgodic;
  // A gradient norm above this (or a NaN or Inf anywhere) is divergence.
  double divergence_bound = 1e30;
  // oneTBB threads that run the workers; never changes a result.
  int threads = 1;
  // Turns the averages into bytes and projected seconds on a cluster of N
  // nodes; never changes the trajectory. Default: the infiniband-100g preset.
  NetworkModel network{1.0e-6, 12.5e9, AllreduceAlgorithm::kRing};

  // Checks every field for `algorithm`; on failure sets *error to one line
  // naming the field as the CLI spells it, its value and the accepted range.
  bool IsValid(const Algorithm& algorithm, std::string* error) const;
};

// Saving a run part-way, so that a killed run can resume (docs/
// reliability.md). Checkpoints never change a result.
struct Checkpointing {
  // A checkpoint after every evaluation whose step is a positive multiple
  // of this, unless the run stops there; 0: none. A multiple of eval_every,
  // or checkpoints fall only where both divide the step.
  std::int64_t every = 0;
  // Gets, on every rank, the step and this rank's state (Runner::resume
  // takes it back). It may throw; the run stops with its exception.
  std::function<void(std::int64_t step, std::string state)> save;
};

// Runs `algorithm` on `oracle` with this rank's block of the communicator's
// workers. Construction allocates everything; stepping allocates nothing
// beyond what the oracle and oneTBB do.
class Runner {
 public:
  // Throws std::invalid_argument (IsValid's message) for invalid options,
  // and when options.num_workers differs from the communicator's.
  Runner(const Algorithm& algorithm, Oracle& oracle, Communicator& communicator,
         const RunOptions& options);

  // The full run: evaluations every eval_every steps, stop rules, observers,
  // and checkpoints when asked for.
  RunSummary run(std::span<Observer* const> observers = {},
                 const Checkpointing& checkpointing = {});

  // Puts this runner and `observers` (the saving run's, in the same order)
  // back in the state a checkpoint saved: the next run() goes on from the
  // checkpoint's step to the bits of a run never interrupted. The runner
  // must be new, built with the saving run's algorithm, oracle, options
  // (threads aside) and rank layout. Throws StateError when `state` does not
  // fit it.
  void resume(std::string_view state, std::span<Observer* const> observers);

  // Lower-level stepping, for benchmarks and tests.
  // t, the steps every worker has taken.
  std::int64_t step() const { return step_; }
  // Steps until step() == t_end; false if a worker diverged on the way
  // (divergence() says where; other workers may have gone on to the end of
  // their segment). With step observers (set_step_observers) it goes one
  // step at a time and stops early, returning true, when one asks to stop
  // (stopped_by_step_observer()).
  bool advance_to(std::int64_t t_end);
  // The observers that want on_step(); run() sets them from its observers.
  void set_step_observers(std::span<Observer* const> observers);
  bool stopped_by_step_observer() const { return step_stop_; }
  // Measures xbar_t (not counted as communication).
  EvalRecord evaluate();
  const std::optional<Divergence>& divergence() const { return divergence_; }
  // x_i for this rank's workers, in worker order; and xbar at the last
  // evaluate().
  std::span<const Vector> models() const { return models_; }
  const Vector& averaged_iterate() const { return xbar_; }

 private:
  struct WorkerState {
    int index = 0;  // the global worker index i
    Rng rng;
    std::int64_t clipped_steps = 0;
    std::int64_t gradient_calls = 0;
    std::int64_t resampled = 0;  // EPISODE's draws at round starts, not steps
    bool clipped_last = false;
    std::optional<Divergence> divergence;
  };

  bool healthy(double norm) const;
  // The norm the step rule divides by: the worker's own, or the clip
  // option's reference ||gbar||.
  double clip_norm(double own_norm) const;
  // Worker w draws g_w at x_w for step t; false (and the worker's divergence
  // set) if its norm is not finite or above the bound.
  bool draw_gradient(int w, std::int64_t t);
  // x_w <- x_w - step_length(norm) * direction, counting a clip.
  void take_step(int w, const Vector& direction, double norm);
  // Worker w's step after drawing g_w: along g_w, or along the direction its
  // algorithm's correction forms from g_w.
  void step_along_gradient(int w);
  // The momentum framework's step (Correction::kMomentum).
  void momentum_step(int w);
  // What a round does before its first step: SCAFFOLD's new control
  // variates, the model average, and the second vector a corrected method
  // averages (EPISODE's resampled gradients, the control variates, the
  // momenta). Every rank calls it at the same steps.
  void start_round();
  // EPISODE: every worker draws G_i at its (averaged) model; G is their
  // mean. False if a draw diverged.
  bool resample_corrections();
  // c_i <- c_i - c + (xbar_prev - x_i) / (I eta), before the models meet.
  void update_control_variates();
  void local_steps(int w, std::int64_t t_begin, std::int64_t t_end);
  void average_models();
  // Appends the last algorithm average to the communication log.
  void log_collective(Exchange exchange, std::int64_t round);
  // The fields of the summary's communication record; gathers every rank's
  // measurements on rank 0.
  CommunicationSummary summarize_communication();
  // One step with a gradient all-reduce: every step of the minibatch
  // methods, and the first step of a round for the global-average and max
  // clip options. It is draw_all() then collective_update().
  void collective_step();
  // Every worker draws g_i for step_; false if one diverged.
  bool draw_all();
  // After draw_all(): the gradient all-reduce and the step it decides.
  void collective_update();
  // After draw_all(): every worker's step along its own gradient.
  void local_update();
  // One step with the lemma quantities measured between the draw and the
  // update and handed to the step observers.
  void checked_step(bool collective);
  StepRecord measure_step();
  // The lowest global index of a worker whose entry of `values` (this
  // rank's workers) equals `target`, over all ranks; a collective.
  int lowest_worker_with(std::span<const double> values, double target);
  // Moves the earliest worker divergence, over all ranks, into divergence_.
  // A collective: every rank calls it after every segment of steps.
  bool collect_divergence();
  // The mean over ranks of compute_seconds_; a collective.
  double mean_compute_seconds();
  // body(w) for every local worker w, each of about `coordinates` of work:
  // on the arena's threads when that pays for the tasks, else in this
  // thread (small d, one thread): the same bits either way, since a
  // worker's computation touches only its own state.
  template <class Body>
  void for_each_worker(std::int64_t coordinates, Body&& body) {
    const int n = local_.size();
    if (options_.threads == 1 || n == 1 || coordinates * n < kParallelWork) {
      for (int w = 0; w < n; ++w) body(w);
      return;
    }
    tbb::parallel_for(0, n, body);
  }
  // Below this much work (worker count x coordinates) a parallel loop costs
  // more in oneTBB's scheduling than it saves (measured on 2 cores: 2
  // threads lose to 1 below about d = 1000 at N = 8; bench/README.md).
  static constexpr std::int64_t kParallelWork = 1 << 14;
  // Runs `phase`, the workers' computing between two collectives, and adds
  // one worker's share of its wall time to compute_seconds_.
  template <class Phase>
  void compute_phase(Phase&& phase) {
    const auto start = std::chrono::steady_clock::now();
    phase();
    compute_seconds_ +=
        compute_share_ *
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  double seconds_since_start() const;
  // This rank's state after the evaluation `last`, the observers' included.
  std::string save_state(std::span<Observer* const> observers, const EvalRecord& last) const;

  const Algorithm& algorithm_;
  Oracle& oracle_;
  Communicator& communicator_;
  RunOptions options_;
  // Raises oneTBB's thread limit when more threads than cores are asked for,
  // so that `threads` is what runs (tests oversubscribe on purpose).
  std::optional<tbb::global_control> parallelism_;
  tbb::task_arena arena_;
  WorkerRange local_;
  std::int64_t dimension_ = 0;  // d

  std::vector<Vector> models_;     // x_i
  std::vector<Vector> gradients_;  // the last g_i
  std::vector<double> norms_;      // ||g_i||, or ||x_i - xbar|| while evaluating
  std::vector<WorkerState> workers_;
  // Step-observer scratch, per local worker: ||x_i - xbar||, ||x_i||, and
  // ||g_i - grad f(xbar)|| as one-coordinate vectors for the ordered mean.
  std::vector<double> spreads_;
  std::vector<double> model_norms_;
  std::vector<Vector> deviations_;
  std::vector<double> deviation_norms_;
  Vector mean_deviation_;
  std::vector<Observer*> step_observers_;
  bool step_stop_ = false;
  // The corrected methods' state, per local worker: EPISODE's G_i or
  // SCAFFOLD's c_i, the momenta m_i, and the direction scratch; and G or c.
  std::vector<Vector> corrections_;
  std::vector<Vector> momenta_;
  std::vector<Vector> directions_;
  // Heterogeneous oracles: grad f_i(xbar) of each local worker, for the
  // measured kappa of an evaluation.
  std::vector<Vector> local_gradients_;
  Vector global_correction_;
  Vector momentum_mean_;
  bool round_clips_ = false;  // EPISODE: ||G|| > gamma / eta for this round
  Vector xbar_;           // the averaged iterate at the last evaluation
  Vector model_mean_;     // the average formed at the last round
  Vector gbar_;           // the last averaged gradient
  Vector full_gradient_;  // grad f(xbar)
  double reference_norm_ = 0.0;  // ||gbar|| for the global-average and max options

  std::int64_t step_ = 0;
  std::int64_t rounds_ = 0;
  std::int64_t gradient_evaluations_ = 0;
  std::int64_t value_evaluations_ = 0;
  StationarityTracker tracker_;
  std::optional<Divergence> divergence_;
  std::vector<CollectiveRecord> log_;
  std::vector<TransportCost> log_costs_;  // this rank's cost of each entry of log_
  // The compute time of one of this rank's workers: the wall time of the
  // compute phases times compute_share_ (parallel workers / local workers).
  double compute_seconds_ = 0.0;
  double compute_share_ = 1.0;
  std::int64_t vector_bytes_ = 0;         // 8 d
  std::int64_t bytes_per_collective_ = 0;  // the network model's, summed over workers
  std::chrono::steady_clock::time_point start_;
  // Set by resume(): the checkpoint's last evaluation and wall time, which
  // run() starts from instead of evaluating x_0.
  std::optional<EvalRecord> resumed_record_;
  double resumed_seconds_ = 0.0;
};

}  // namespace distclip
