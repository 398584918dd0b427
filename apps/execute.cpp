#include "execute.hpp"

#include <optional>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"
#include "output.hpp"

namespace distclip::app {

RunOutcome execute(const RunConfig& config, const std::filesystem::path* folder) {
  RunOutcome outcome;
  outcome.config = config;
  const std::unique_ptr<SyntheticOracle> oracle = make_oracle(config.objective);
  outcome.constants = oracle->constants();
  outcome.description = oracle->describe();
  Vector x0(oracle->dimension());
  oracle->initial_point(x0);
  outcome.f_x0 = oracle->value(x0);

  const Algorithm& algorithm = *find_algorithm(config.algorithm);
  InProcessCommunicator communicator(config.options.num_workers);
  Runner runner(algorithm, *oracle, communicator, config.options);
  std::optional<TraceWriter> trace;
  std::vector<Observer*> observers;
  if (folder != nullptr) observers.push_back(&trace.emplace(*folder / "trace.jsonl"));
  outcome.summary = runner.run(observers);
  if (folder != nullptr) {
    trace->close();
    write_json(*folder / "summary.json",
               summary_to_json(config, outcome.constants, outcome.f_x0, outcome.summary));
  }
  return outcome;
}

namespace {
std::string human_bytes(std::int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1e9) return fmt::format("{:.3g} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.3g} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.3g} kB", b / 1e3);
  return fmt::format("{} B", bytes);
}
}  // namespace

void print_outcome(std::ostream& out, const RunOutcome& o) {
  const RunOptions& opt = o.config.options;
  const RunSummary& s = o.summary;
  fmt::print(out, "{} on {}\n", o.config.algorithm, o.description);
  fmt::print(out, "  N = {}, I = {}, eta = {}, gamma = {}, T = {}, seed = {}, threads = {}\n",
             opt.num_workers, opt.sync_interval, opt.step_size, opt.clip_threshold, opt.max_steps,
             opt.seed, opt.threads);
  std::string status(to_string(s.termination));
  if (s.termination == Termination::kTargetReached) {
    status += fmt::format(" ({} ||grad f(xbar)|| <= {})", to_string(opt.criterion), *opt.target);
  } else if (s.divergence) {
    status += fmt::format(" at step {}: {} = {}", s.divergence->step, s.divergence->quantity,
                          s.divergence->value);
  }
  fmt::print(out, "  status: {}\n", status);
  fmt::print(out, "  steps {}, rounds {}, bytes {}, stochastic gradients {}, time {:.3g} s\n",
             s.steps, s.rounds, human_bytes(s.bytes), s.oracle_calls.stochastic_gradients,
             s.wall_time_s);
  if (s.final_record) {
    const EvalRecord& r = *s.final_record;
    fmt::print(out,
               "  final: f(xbar) = {:.6g}, ||grad f(xbar)|| = {:.4g}, ergodic = {:.4g}, "
               "min = {:.4g}, mean clip fraction = {:.3f}\n",
               r.value, r.grad_norm, r.ergodic_grad_norm, r.min_grad_norm, s.mean_clip_fraction);
  }
}

}  // namespace distclip::app
