#include "commands.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <optional>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "config.hpp"
#include "distclip/algorithms/algorithm.hpp"
#include "distclip/objectives/catalog.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/core/network.hpp"
#include "analyze.hpp"
#include "execute.hpp"
#ifdef DISTCLIP_WITH_MPI
#include "mpi_run.hpp"
#endif
#include "output.hpp"
#include "plot.hpp"
#include "smoothness.hpp"
#include "sweep.hpp"
#include "theory.hpp"
#include "version.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

std::string_view type_label(ValueType type) {
  switch (type) {
    case ValueType::kInteger:
      return "INT";
    case ValueType::kNumber:
      return "NUMBER";
    case ValueType::kText:
      return "TEXT";
  }
  return "VALUE";
}

void warn_unused(const RunConfig& config, std::span<const Setting> settings) {
  for (const std::string& key : unused_keys(config, settings)) {
    fmt::print(std::cerr, "note: {} is not read by algorithm {} with objective {} and noise {}\n",
               key, config.algorithm, config.objective.family, config.objective.noise.model);
  }
}

// Whether `backend` means MPI here; throws ConfigError for a choice this
// build or this launch cannot honour.
bool use_mpi(Backend backend) {
  const bool launched = launched_by_mpi();
  if (backend == Backend::kThreads && launched) {
    throw ConfigError(
        "backend = threads under an MPI launcher: every rank would run the whole experiment; use "
        "backend = mpi (or auto), or run without mpirun");
  }
  const bool mpi = backend == Backend::kMpi || (backend == Backend::kAuto && launched);
#ifndef DISTCLIP_WITH_MPI
  if (mpi) {
    throw ConfigError(fmt::format(
        "backend = {}{}, must be threads: this distclip was built without MPI (DISTCLIP_WITH_MPI "
        "= OFF)",
        to_string(backend), backend == Backend::kAuto ? " under an MPI launcher" : ""));
  }
#endif
  return mpi;
}

std::string parameter_keys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (std::string_view key : keys) out += (out.empty() ? "" : ", ") + std::string(key);
  return out;
}

}  // namespace

RunParameterOptions add_run_parameters(CLI::App* command) {
  auto state = std::make_shared<RunParameterOptions::State>();
  command
      ->add_option("--config", state->config,
                   "TOML file of run parameters, keys spelled as these options (configs/); "
                   "options given on the command line override it")
      ->check(CLI::ExistingFile);
  for (const Parameter& parameter : parameters()) {
    const std::string key(parameter.key);
    const std::string description = fmt::format("{}; {}; default: {}", parameter.help,
                                                parameter.accepted, parameter.fallback);
    state->options[key] = command->add_option("--" + key, state->texts[key], description)
                              ->type_name(std::string(type_label(parameter.type)))
                              ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
                              ->group(std::string(parameter.group));
  }
  return RunParameterOptions(std::move(state));
}

std::vector<Setting> RunParameterOptions::settings() const {
  std::vector<Setting> settings;
  if (!state_->config.empty()) {
    settings = settings_from_table(parse_toml_file(state_->config), state_->config);
  }
  for (const Parameter& parameter : parameters()) {
    const std::string key(parameter.key);
    if (state_->options.at(key)->count() > 0) {
      settings.push_back({key, parse_text(parameter, state_->texts.at(key)), "--" + key});
    }
  }
  return settings;
}

RunConfig RunParameterOptions::resolve_config() const {
  const std::vector<Setting> given = settings();
  RunConfig config = resolve(given);
  if (launcher_rank() == 0) warn_unused(config, given);
  return config;
}

Action add_run_command(CLI::App& app) {
  CLI::App* run = app.add_subcommand(
      "run",
      "One run: N workers on threads run an algorithm on an objective. Writes trace.jsonl (one "
      "JSON line per evaluation) and summary.json into --out, and prints a short summary.");
  struct State {
    std::string out;
    bool overwrite = false;
    bool resume = false;
  };
  auto state = std::make_shared<State>();
  const RunParameterOptions run_parameters = add_run_parameters(run);
  run->add_option("--out", state->out,
                  "folder for trace.jsonl and summary.json; it appears only when the run is "
                  "complete. Without --out nothing is written");
  run->add_flag("--overwrite", state->overwrite,
                "replace the --out folder, and an earlier run's checkpoint, if they exist");
  run->add_flag("--resume", state->resume,
                "go on from the latest checkpoint in <out>.checkpoint (written with "
                "--checkpoint-every) to the bits of an uninterrupted run");
  return [state, run_parameters]() {
    const RunConfig config = run_parameters.resolve_config();
    if (use_mpi(config.execution.backend)) {
#ifdef DISTCLIP_WITH_MPI
      return run_on_mpi(config, state->out, state->overwrite, state->resume);
#endif
    }
    check_inputs(config);
    InProcessCommunicator communicator(config.options.num_workers);
    std::optional<CheckpointStore> checkpoints =
        checkpoint_store_for(config, state->out, state->overwrite, state->resume, communicator);
    if (state->resume) {
      if (const std::string why = checkpoints->check(); !why.empty()) throw ConfigError(why);
    }
    std::optional<OutputFolder> folder;
    if (!state->out.empty()) folder.emplace(state->out, state->overwrite);
    const fs::path* staging = folder ? &folder->staging() : nullptr;
    const CheckpointPlan plan{checkpoints ? &*checkpoints : nullptr, state->resume};
    if (state->resume) {
      fmt::print(std::cout, "resuming from step {} ({})\n", checkpoints->latest_step(),
                 checkpoints->folder().string());
    }
    const RunOutcome outcome = execute_into(config, communicator, staging, plan);
    if (folder) folder->commit();
    if (checkpoints) checkpoints->remove();
    print_outcome(std::cout, outcome);
    if (folder) {
      fmt::print(std::cout, "wrote {0}/trace.jsonl, {0}/communication.csv and {0}/summary.json\n",
                 folder->path().string());
    }
    return exit_status(outcome);
  };
}

Action add_list_command(CLI::App& app) {
  app.add_subcommand(
      "list",
      "Every objective, noise model and algorithm, with its parameters and, for objectives, "
      "the certified (L0, L1) and f_low (derivations: docs/objectives.md)");
  return [] {
    fmt::print(std::cout, "Algorithms (docs/algorithms.md)\n");
    for (const Algorithm& a : algorithms()) {
      // The schema's own rule for what the algorithm reads (a single
      // machine's workers = 1 is not a choice).
      RunConfig config;
      config.algorithm = std::string(a.name);
      std::vector<std::string_view> keys;
      for (const Parameter& p : parameters()) {
        const bool choice = p.key != "algorithm" && !(p.key == "workers" && a.single_machine());
        if (p.group == "Algorithm" && choice && p.used(config)) keys.push_back(p.key);
      }
      fmt::print(std::cout, "  {:<22} {}\n  {:<22} parameters: {}\n", a.name, a.description, "",
                 parameter_keys(keys));
    }
    fmt::print(std::cout, "\nObjectives (docs/objectives.md)\n");
    for (const FamilyInfo& family : objective_families()) {
      ObjectiveSpec spec;
      spec.family = std::string(family.name);
      const auto function = make_function(spec);
      fmt::print(std::cout, "  {:<20} {}\n", family.name, family.formula);
      fmt::print(std::cout, "  {:<20} certificate: {}\n", "", family.certificate);
      fmt::print(std::cout, "  {:<20} initial point: {}\n", "", family.initial_point);
      fmt::print(std::cout, "  {:<20} parameters: {}\n", "", parameter_keys(family.parameters));
      fmt::print(std::cout, "  {:<20} at the defaults (dim = {}): L0 = {:.6g}, L1 = {:.6g}, f_low = {:.6g}\n",
                 "", spec.dim, function->l0(), function->l1(), function->f_low());
    }
    fmt::print(std::cout, "  {:<20} {}\n", kLanguageModelFamily,
               "an LSTM language model on a text corpus: f(x) = mean token cross-entropy of a "
               "window of S tokens, from a zero state (docs/lstm.md)");
    fmt::print(std::cout, "  {:<20} certificate: none; f_low = 0, kappa = 0 when homogeneous\n",
               "");
    fmt::print(std::cout, "  {:<20} initial point: PyTorch's initialisation, drawn from data-seed\n",
               "");
    fmt::print(std::cout, "  {:<20} parameters: {}\n", "",
               "level, train-file, heldout-file, heldout-fraction, max-vocabulary, embedding, "
               "hidden, layers, tie-weights, window, batch-size, eval-windows, sharding, "
               "data-seed; data (the folder)");
    fmt::print(std::cout, "\nNoise models (sigma is on the scale of the noise vector's norm)\n");
    for (const NoiseInfo& noise : noise_models()) {
      fmt::print(std::cout, "  {:<20} {}\n", noise.name, noise.description);
      fmt::print(std::cout, "  {:<20} bounded: {}, symmetric and unimodal: {}, parameters: {}\n", "",
                 noise.bounded ? "yes" : "no", noise.symmetric_unimodal ? "yes" : "no",
                 noise.parameters.empty() ? std::string("none") : parameter_keys(noise.parameters));
    }
    fmt::print(std::cout,
               "\nNetworks, for the projected time (docs/network-model.md; --network custom with "
               "--network-latency and --network-bandwidth for others)\n");
    for (const NetworkPreset& network : network_presets()) {
      fmt::print(std::cout, "  {:<20} latency {:g} s, bandwidth {:g} B/s: {}\n", network.name,
                 network.latency_s, network.bandwidth_bytes_per_s, network.description);
      fmt::print(std::cout, "  {:<20} source: {}\n", "", network.source);
    }
    return 0;
  };
}

Action add_sweep_command(CLI::App& app) {
  CLI::App* sweep = app.add_subcommand(
      "sweep",
      "A grid of runs from a TOML file ([base] settings, [[arm]] and [grid] lists, linked "
      "\"= expression\" values, [tune], [analysis]; see docs/sweeps.md and configs/). Runs "
      "the cells not already in --out, then writes results.csv (one row per run), table.txt "
      "and analysis/, and prints the tables.");
  struct State {
    std::string file;
    std::string out;
    bool force = false;
    int threads = 0;
    int jobs = 1;
  };
  auto state = std::make_shared<State>();
  sweep->add_option("config", state->file, "the sweep's TOML file")
      ->required()
      ->check(CLI::ExistingFile);
  sweep->add_option("--out", state->out,
                    "results folder; a second run of the same sweep finishes the cells not yet "
                    "there; default: runs/<config file name without .toml>");
  sweep->add_flag("--force", state->force,
                  "discard the --out folder's results and rerun every cell");
  sweep->add_option("--jobs,-j", state->jobs,
                    "cells run at once, each on cores / jobs threads unless --threads says")
      ->check(CLI::Range(1, 1024));
  CLI::Option* threads = sweep->add_option(
      "--threads", state->threads,
      "oneTBB threads of every run (never changes results); default: the file's, else all cores");
  return [state, threads]() {
    std::vector<Setting> overrides;
    if (threads->count() > 0) {
      overrides.push_back({"threads", std::int64_t{state->threads}, "--threads"});
    }
    const SweepPlan plan = load_sweep(state->file, overrides);
    const fs::path out =
        state->out.empty() ? fs::path("runs") / fs::path(state->file).stem() : fs::path(state->out);
    return run_sweep(plan, state->file, out, {.jobs = state->jobs, .force = state->force},
                     std::cout);
  };
}

namespace {

// The options shared by analyze and plot: which results, and at which eps.
struct AnalyzeState {
  std::string results;
  std::vector<double> targets;
  std::string criterion;
  double efficiency = 0.0;
};

void add_analyze_options(CLI::App* command, AnalyzeState& state) {
  command->add_option("results", state.results, "a sweep's results folder (its --out)")
      ->required();
  command->add_option("--targets", state.targets,
                      "measure T(eps) at these eps (default: the sweep's [analysis] targets, "
                      "else each run's target)")
      ->check(CLI::PositiveNumber);
  command->add_option("--criterion", state.criterion,
                      "what must be <= eps: ergodic, min or last (default: each run's)")
      ->check(CLI::IsMember({"ergodic", "min", "last"}));
  command->add_option("--efficiency-threshold", state.efficiency,
                      "linear speedup holds while S(N)/N >= this (default: the sweep's, else 0.8)")
      ->check(CLI::Range(1e-9, 1.0));
}

AnalyzeOptions analyze_options(const AnalyzeState& state) {
  AnalyzeOptions options;
  options.targets = state.targets;
  if (!state.criterion.empty()) options.criterion = parse_stop_criterion(state.criterion);
  if (state.efficiency > 0.0) options.efficiency_threshold = state.efficiency;
  return options;
}

}  // namespace

Action add_analyze_command(CLI::App& app) {
  CLI::App* analyze_command = app.add_subcommand(
      "analyze",
      "Measures a finished sweep: steps and rounds to eps with 95% intervals over seeds, "
      "power-law fits against 1/eps and N beside Theorem 1's exponents, speedup against N. "
      "Prints the tables and writes them to RESULTS/table.txt and RESULTS/analysis/ (CSV, JSON).");
  auto state = std::make_shared<AnalyzeState>();
  add_analyze_options(analyze_command, *state);
  return [state]() {
    const SweepResults results = load_results(state->results);
    write_analysis(results, analyze(results, analyze_options(*state)), std::cout);
    return 0;
  };
}

Action add_plot_command(CLI::App& app) {
  CLI::App* plot = app.add_subcommand(
      "plot",
      "Draws a finished sweep with gnuplot into RESULTS/figures/ (PNG and SVG, with the "
      "gnuplot scripts): gradient norm and loss against iterations, rounds and time, clipping "
      "fraction, T(eps) and R(eps) with fitted and theory slopes, speedup against N.");
  auto state = std::make_shared<AnalyzeState>();
  add_analyze_options(plot, *state);
  return [state]() {
    const SweepResults results = load_results(state->results);
    const SweepAnalysis analysis = analyze(results, analyze_options(*state));
    const auto files = render_figures(analysis, results.folder / "figures");
    for (const fs::path& file : files) {
      fmt::print("{}\n", fs::absolute(file).lexically_normal().string());
    }
    if (files.empty()) fmt::print("nothing to draw: the sweep has no finished runs\n");
    return 0;
  };
}

int main_program(int argc, const char* const* argv) {
  CLI::App app(
      "distclip: experiments on communication-efficient distributed gradient clipping "
      "(CELGC, Liu et al., NeurIPS 2022)",
      "distclip");
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);
  app.fallthrough(false);
  const std::map<std::string, Action> actions = {{"run", add_run_command(app)},
                                                 {"list", add_list_command(app)},
                                                 {"sweep", add_sweep_command(app)},
                                                 {"analyze", add_analyze_command(app)},
                                                 {"plot", add_plot_command(app)},
                                                 {"theory", add_theory_command(app)},
                                                 {"smoothness", add_smoothness_command(app)}};
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    fmt::print(std::cerr, "error: {} (see distclip --help)\n", message);
    return 2;
  }
  try {
    return actions.at(app.get_subcommands().front()->get_name())();
  } catch (const ConfigError& e) {
    report(std::cerr, e);
    return 2;
  } catch (const std::bad_alloc&) {
    // Memory grows with dim x workers (and samples, and the language model's
    // size), all of which are valid in themselves.
    fmt::print(std::cerr,
               "error: out of memory: the run's vectors do not fit in this machine's memory; "
               "lower dim, workers or samples\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(std::cerr, "error: {}\n", e.what());
    return 1;
  }
}

}  // namespace distclip::app
