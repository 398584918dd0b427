#include "execute.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"
#include "distclip/objectives/language_model.hpp"
#include "output.hpp"
#include "theory.hpp"

namespace distclip::app {

namespace {

// The corpus a language model read, so that a result names its data.
nlohmann::ordered_json data_of(const Oracle& oracle) {
  const auto* model = dynamic_cast<const LanguageModelOracle*>(&oracle);
  if (model == nullptr) return nullptr;
  const CorpusSpec& spec = model->corpus_spec();
  const Corpus& corpus = model->corpus();
  nlohmann::ordered_json data;
  data["level"] = to_string(spec.level);
  data["vocabulary"] = corpus.vocabulary_size();
  data["parameters"] = model->dimension();
  data["train"] = {{"text", corpus.train_name},
                   {"file", spec.train.string()},
                   {"sha256", sha256_of_file(spec.train)},
                   {"tokens", corpus.train.size()}};
  const std::filesystem::path heldout = spec.heldout ? *spec.heldout : spec.train;
  data["heldout"] = {{"text", corpus.heldout_name},
                     {"file", heldout.string()},
                     {"sha256", sha256_of_file(heldout)},
                     {"tokens", corpus.heldout.size()}};
  return data;
}

nlohmann::ordered_json invariants_to_json(const InvariantChecker& checker) {
  using Json = nlohmann::ordered_json;
  const LemmaBounds& bounds = checker.bounds();
  Json lemma1 = {{"checked", bounds.consensus_radius.has_value()}};
  if (bounds.consensus_radius) {
    lemma1["radius"] = *bounds.consensus_radius;
    lemma1["max_ratio"] = checker.consensus_slack();
  } else {
    lemma1["reason"] = bounds.consensus_reason;
  }
  Json lemma3 = {{"checked", bounds.deviation_checked}};
  if (bounds.deviation_checked) {
    lemma3["radius"] = "measured max_i ||x_i - xbar|| (implies the published 2 gamma I)";
    lemma3["max_ratio"] = checker.deviation_slack();
  } else {
    lemma3["reason"] = bounds.deviation_reason;
  }
  Json json = {{"steps_checked", checker.steps_checked()},
               {"lemma1", std::move(lemma1)},
               {"lemma3", std::move(lemma3)},
               {"violation", nullptr}};
  if (const auto& v = checker.violation()) {
    json["violation"] = {{"lemma", v->lemma}, {"step", v->step}, {"worker", v->worker},
                         {"lhs", v->lhs},     {"rhs", v->rhs}};
  }
  return json;
}

}  // namespace

int exit_status(const RunOutcome& outcome) { return outcome.violation ? 3 : 0; }

void check_inputs(const RunConfig& config) {
  if (config.objective.family != kLanguageModelFamily) return;
  try {
    const LanguageModelOracle oracle(config.objective, config.options.num_workers);
  } catch (const DataError& e) {
    throw ConfigError(e.what());
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
}

RunOutcome execute(const RunConfig& config, Communicator& communicator, Observer* trace,
                   const CheckpointPlan& checkpoints) {
  RunOutcome outcome;
  outcome.config = config;
  outcome.execution = {communicator.name() == "in-process" ? "threads" : "mpi",
                       std::string(communicator.name()), communicator.size(),
                       communicator.bitwise_reproducible()};
  const std::unique_ptr<Oracle> oracle =
      make_objective(config.objective, config.options.num_workers);
  outcome.constants = oracle->constants();
  outcome.description = oracle->describe();
  outcome.data = data_of(*oracle);
  Vector x0(oracle->dimension());
  oracle->initial_point(x0);
  outcome.f_x0 = oracle->value(x0);

  const Algorithm& algorithm = *find_algorithm(config.algorithm);
  if (config.execution.failure) communicator.inject_failure(*config.execution.failure);
  Runner runner(algorithm, *oracle, communicator, config.options);
  std::vector<Observer*> observers;
  if (trace != nullptr) observers.push_back(trace);
  std::optional<InvariantChecker> checker;
  if (config.check_invariants) {
    checker.emplace(LemmaBounds::of(algorithm, config.options, outcome.constants));
    observers.push_back(&*checker);
  }
  Checkpointing checkpointing;
  if (checkpoints.store != nullptr) {
    CheckpointStore& store = *checkpoints.store;
    if (checkpoints.resume) {
      try {
        runner.resume(store.load(), observers);
      } catch (const StateError& e) {
        throw ConfigError(fmt::format("checkpoint in {} does not fit this run ({}); remove it to "
                                      "start over",
                                      store.folder().string(), e.what()));
      }
    }
    checkpointing.every = config.execution.checkpoint_every;
    checkpointing.save = [&store](std::int64_t step, std::string state) {
      store.save(step, state);
    };
  }
  try {
    outcome.summary = runner.run(observers, checkpointing);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("at step {}: {}", runner.step(), e.what()));
  }
  if (checker) {
    outcome.invariants = invariants_to_json(*checker);
    outcome.violation = checker->violation();
  }
  std::string why;
  const auto inputs = theory_inputs(config, outcome.constants, outcome.f_x0, &why);
  if (inputs && inputs->IsValid(nullptr)) {
    std::optional<std::int64_t> measured;
    if (outcome.summary.termination == Termination::kTargetReached) {
      measured = outcome.summary.steps;
    }
    outcome.theory = theory_to_json(*inputs, theorem1(*inputs), measured);
  }
  return outcome;
}

void write_outcome(const std::filesystem::path& folder, const RunOutcome& outcome) {
  write_file(folder / "communication.csv",
             communication_csv(outcome.summary.communication, outcome.execution.ranks));
  nlohmann::ordered_json summary = summary_to_json(outcome.config, outcome.execution,
                                                   outcome.constants, outcome.f_x0,
                                                   outcome.summary);
  if (!outcome.data.is_null()) summary["data"] = outcome.data;
  summary["theory"] = outcome.theory;
  summary["invariants"] = outcome.invariants;
  write_json(folder / "summary.json", summary);
}

RunOutcome execute_into(const RunConfig& config, Communicator& communicator,
                        const std::filesystem::path* folder, const CheckpointPlan& checkpoints) {
  if (folder == nullptr) return execute(config, communicator, nullptr, checkpoints);
  TraceWriter trace(*folder / "trace.jsonl", config.trace_every);
  RunOutcome outcome = execute(config, communicator, &trace, checkpoints);
  trace.close();
  write_outcome(*folder, outcome);
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
  fmt::print(out, "  N = {}, I = {}, eta = {}, gamma = {}, T = {}, seed = {}\n", opt.num_workers,
             opt.sync_interval, opt.step_size, opt.clip_threshold, opt.max_steps, opt.seed);
  fmt::print(out, "  backend: {} ({}), {} rank{} x {} thread{}{}\n", o.execution.backend,
             o.execution.communicator, o.execution.ranks, o.execution.ranks == 1 ? "" : "s",
             opt.threads, opt.threads == 1 ? "" : "s",
             o.execution.bitwise_reproducible ? "" : "; NOT bitwise reproducible");
  std::string status(to_string(s.termination));
  if (s.termination == Termination::kTargetReached) {
    status += fmt::format(" ({} ||grad f(xbar)|| <= {})", to_string(opt.criterion), *opt.target);
  } else if (s.divergence) {
    status += fmt::format(" at step {}: {} = {}", s.divergence->step, s.divergence->quantity,
                          s.divergence->value);
  }
  fmt::print(out, "  status: {}\n", status);
  fmt::print(out, "  steps {}, rounds {}, bytes {}, stochastic gradients {}\n", s.steps, s.rounds,
             human_bytes(s.bytes), s.oracle_calls.stochastic_gradients);
  const CommunicationSummary& c = s.communication;
  double measured = 0.0;
  for (const TransportCost& cost : c.per_rank) measured = std::max(measured, cost.seconds);
  fmt::print(out,
             "  time: wall {:.3g} s (compute {:.3g} s per worker, communication {:.3g} s); "
             "projected on {} ({}): {:.3g} s\n",
             s.wall_time_s, c.compute_seconds, measured, o.config.network,
             to_string(opt.network.algorithm), c.projected_seconds);
  if (s.final_record) {
    const EvalRecord& r = *s.final_record;
    fmt::print(out,
               "  final: f(xbar) = {:.6g}, ||grad f(xbar)|| = {:.4g}, ergodic = {:.4g}, "
               "min = {:.4g}, mean clip fraction = {:.3f}\n",
               r.value, r.grad_norm, r.ergodic_grad_norm, r.min_grad_norm, s.mean_clip_fraction);
    if (!std::isnan(r.heldout_loss)) {
      fmt::print(out, "  held out: loss = {:.6g}, perplexity = {:.4g}\n", r.heldout_loss,
                 std::exp(r.heldout_loss));
    }
  }
  if (!o.theory.is_null() && !o.theory["tightness_ratio"].is_null()) {
    fmt::print(out,
               "  tightness ratio: T / (Delta A L0 (sigma + kappa)^2 / (N eps^4)) = {} / {:.6g} "
               "= {:.4g}\n",
               s.steps, o.theory["t_scale"].get<double>(),
               o.theory["tightness_ratio"].get<double>());
  }
  if (!o.invariants.is_null()) {
    const auto& lemma = [&](const char* key) {
      const auto& l = o.invariants[key];
      return l["checked"].get<bool>()
                 ? fmt::format("max lhs/rhs {:.4g}", l["max_ratio"].get<double>())
                 : fmt::format("not checked: {}", l["reason"].get<std::string>());
    };
    fmt::print(out, "  invariants over {} steps: Lemma 1 {}; Lemma 3 {}\n",
               o.invariants["steps_checked"].get<std::int64_t>(), lemma("lemma1"),
               lemma("lemma3"));
    if (o.violation) fmt::print(out, "  INVARIANT VIOLATED: {}\n", o.violation->describe());
  }
}

}  // namespace distclip::app
