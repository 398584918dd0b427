#include "sweep.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "distclip/analysis/aggregate.hpp"
#include "distclip/analysis/table.hpp"
#include "distclip/core/communicator.hpp"
#include "execute.hpp"
#include "output.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxCells = 100000;

// For each key of an [[arm]] or [grid] table, its alternatives: a list
// gives several, a single value one.
using Choices = std::vector<std::vector<Setting>>;

Choices choices_of(const toml::table& table, std::string_view file) {
  Choices choices;
  for (const auto& [key, node] : table) {
    std::vector<Setting> alternatives;
    if (const toml::array* list = node.as_array()) {
      if (list->empty()) {
        throw ConfigError(fmt::format("{}: {} = [], must list at least one value",
                                      origin_of(node, file), key.str()));
      }
      for (const toml::node& element : *list) {
        alternatives.push_back(setting_from_node(key.str(), element, origin_of(node, file)));
      }
    } else {
      alternatives.push_back(setting_from_node(key.str(), node, origin_of(node, file)));
    }
    choices.push_back(std::move(alternatives));
  }
  return choices;
}

// The cartesian product of the choices, first key slowest.
std::vector<std::vector<Setting>> product(const Choices& choices) {
  std::vector<std::vector<Setting>> combos{{}};
  for (const auto& alternatives : choices) {
    std::vector<std::vector<Setting>> next;
    for (const auto& combo : combos) {
      for (const Setting& setting : alternatives) {
        next.push_back(combo);
        next.back().push_back(setting);
      }
    }
    combos = std::move(next);
    if (combos.size() > kMaxCells) {
      throw ConfigError(fmt::format("the sweep has more than {} cells", kMaxCells));
    }
  }
  return combos;
}

const toml::table& expect_table(const toml::node& node, std::string_view key, std::string_view file) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError(fmt::format("{}: {} must be a table", origin_of(node, file), key));
  }
  return *table;
}

void note_key(std::vector<std::string>& keys, const std::string& key) {
  if (std::ranges::find(keys, key) == keys.end()) keys.push_back(key);
}

std::string label_of(const SweepCell& cell, std::span<const std::string> keys) {
  std::string label;
  for (const std::string& key : keys) {
    const Parameter& parameter = *find_parameter(key);
    if (!parameter.used(cell.config)) continue;
    if (!label.empty()) label += ", ";
    label += fmt::format("{} = {}", key, value_to_text(parameter.get(cell.config)));
  }
  return label;
}

}  // namespace

SweepPlan load_sweep(const fs::path& path, std::span<const Setting> overrides) {
  const toml::table root = parse_toml_file(path);
  const std::string file = path.string();
  SweepPlan plan;
  plan.name = path.stem().string();
  std::vector<Setting> base;
  std::vector<Choices> arms;
  Choices grid;
  for (const auto& [key, node] : root) {
    const std::string_view name = key.str();
    if (name == "name" || name == "description") {
      if (!node.is_string()) {
        throw ConfigError(fmt::format("{}: {} must be a string", origin_of(node, file), name));
      }
      (name == "name" ? plan.name : plan.description) = node.value<std::string>().value();
    } else if (name == "base") {
      for (const auto& [base_key, base_node] : expect_table(node, name, file)) {
        if (base_node.is_array()) {
          throw ConfigError(fmt::format("{}: base.{} is a list; lists belong in [grid] or an [[arm]]",
                                        origin_of(base_node, file), base_key.str()));
        }
      }
      base = settings_from_table(expect_table(node, name, file), file);
    } else if (name == "arm") {
      const toml::array* list = node.as_array();
      if (list == nullptr || !list->is_array_of_tables()) {
        throw ConfigError(fmt::format("{}: arm must be an array of tables ([[arm]])",
                                      origin_of(node, file)));
      }
      for (const toml::node& arm : *list) arms.push_back(choices_of(*arm.as_table(), file));
    } else if (name == "grid") {
      grid = choices_of(expect_table(node, name, file), file);
    } else {
      throw ConfigError(fmt::format(
          "{}: unknown key '{}' (a sweep has name, description, [base], [[arm]] and [grid])",
          origin_of(node, file), name));
    }
  }
  if (arms.empty()) arms.emplace_back();

  for (const Choices& arm : arms) {
    for (const auto& alternatives : arm) note_key(plan.varying_keys, alternatives.front().key);
  }
  for (const auto& alternatives : grid) {
    const std::string& key = alternatives.front().key;
    if (std::ranges::find(plan.varying_keys, key) != plan.varying_keys.end()) {
      throw ConfigError(fmt::format("{}: {} is set both in an [[arm]] and in [grid]",
                                    alternatives.front().origin, key));
    }
    note_key(plan.varying_keys, key);
  }

  const auto grid_combos = product(grid);
  for (const Choices& arm : arms) {
    for (const auto& arm_combo : product(arm)) {
      for (const auto& grid_combo : grid_combos) {
        SweepCell cell;
        cell.settings = base;
        cell.settings.insert(cell.settings.end(), arm_combo.begin(), arm_combo.end());
        cell.settings.insert(cell.settings.end(), grid_combo.begin(), grid_combo.end());
        cell.settings.insert(cell.settings.end(), overrides.begin(), overrides.end());
        try {
          cell.config = resolve(cell.settings);
        } catch (const ConfigError& e) {
          throw ConfigError(fmt::format("{}: cell {}: {}", file, plan.cells.size(), e.what()));
        }
        if (cell.config.execution.backend == Backend::kMpi || launched_by_mpi()) {
          throw ConfigError(fmt::format(
              "{}: backend = mpi, must be threads: a sweep runs its cells on threads; run one "
              "cell on MPI ranks with mpirun -np R distclip run",
              file));
        }
        plan.cells.push_back(std::move(cell));
        if (plan.cells.size() > kMaxCells) {
          throw ConfigError(fmt::format("the sweep has more than {} cells", kMaxCells));
        }
      }
    }
  }
  return plan;
}

int run_sweep(const SweepPlan& plan, const fs::path& file, const fs::path& out, bool overwrite,
              std::ostream& log) {
  OutputFolder folder(out, overwrite);
  fs::copy_file(file, folder.staging() / "sweep.toml");

  // Columns: every parameter some cell reads, then the measurements.
  std::vector<const Parameter*> columns;
  for (const Parameter& parameter : parameters()) {
    const bool read = std::ranges::any_of(
        plan.cells, [&](const SweepCell& cell) { return parameter.used(cell.config); });
    if (read && parameter.group != "Execution") columns.push_back(&parameter);
  }
  std::vector<std::string> header{"cell"};
  for (const Parameter* parameter : columns) header.emplace_back(parameter->key);
  for (const char* measurement :
       {"status", "steps", "rounds", "bytes", "stochastic_gradients", "final_value",
        "final_grad_norm", "final_ergodic_grad_norm", "final_min_grad_norm", "mean_clip_fraction",
        "wall_time_s", "projected_time_s", "steps_to_target", "rounds_to_target", "diverged_at_step",
        "final_iterate_sha256", "trace"}) {
    header.emplace_back(measurement);
  }
  Table results(header);

  std::vector<std::string> group_keys;
  for (const std::string& key : plan.varying_keys) {
    if (key != "seed") group_keys.push_back(key);
  }
  std::vector<std::string> group_order;
  std::map<std::string, std::vector<RunOutcome>> groups;

  const int width = static_cast<int>(std::to_string(plan.cells.size() - 1).size());
  for (std::size_t k = 0; k < plan.cells.size(); ++k) {
    const SweepCell& cell = plan.cells[k];
    const std::string id = fmt::format("{:0{}}", k, width);
    const fs::path relative = fs::path("cells") / id;
    const fs::path dir = folder.staging() / relative;
    fs::create_directories(dir);
    InProcessCommunicator communicator(cell.config.options.num_workers);
    const RunOutcome outcome = execute_into(cell.config, communicator, &dir);
    const RunSummary& s = outcome.summary;
    fmt::print(log, "[{}/{}] {}: {} after {} steps, {:.2f} s\n", k + 1, plan.cells.size(),
               label_of(cell, plan.varying_keys), to_string(s.termination), s.steps,
               s.wall_time_s);

    std::vector<std::string> row{id};
    for (const Parameter* parameter : columns) {
      row.push_back(parameter->used(cell.config) ? value_to_text(parameter->get(cell.config)) : "");
    }
    const bool reached = s.termination == Termination::kTargetReached;
    const auto final_value = [&](double EvalRecord::*field) {
      return s.final_record ? fmt::format("{}", (*s.final_record).*field) : std::string();
    };
    row.insert(row.end(),
               {std::string(to_string(s.termination)), std::to_string(s.steps),
                std::to_string(s.rounds), std::to_string(s.bytes),
                std::to_string(s.oracle_calls.stochastic_gradients), final_value(&EvalRecord::value),
                final_value(&EvalRecord::grad_norm), final_value(&EvalRecord::ergodic_grad_norm),
                final_value(&EvalRecord::min_grad_norm), fmt::format("{}", s.mean_clip_fraction),
                fmt::format("{}", s.wall_time_s),
                fmt::format("{}", s.communication.projected_seconds),
                reached ? std::to_string(s.steps) : "",
                reached ? std::to_string(s.rounds) : "",
                s.divergence ? std::to_string(s.divergence->step) : "",
                s.final_record ? sha256_hex(s.final_iterate) : "",
                (relative / "trace.jsonl").string()});
    results.add_row(std::move(row));

    const std::string group = label_of(cell, group_keys);
    if (!groups.contains(group)) group_order.push_back(group);
    groups[group].push_back(outcome);
  }

  // Seeds aggregated: one row per setting of the other varying keys.
  std::vector<std::string> summary_header = group_keys;
  for (const char* column : {"runs", "reached", "steps to eps", "rounds to eps",
                             "final ||grad f||", "clip fraction", "time (s)",
                             "projected (s)"}) {
    summary_header.emplace_back(column);
  }
  Table table(summary_header);
  for (const std::string& group : group_order) {
    const std::vector<RunOutcome>& outcomes = groups[group];
    const RunConfig& config = outcomes.front().config;
    std::vector<std::string> row;
    for (const std::string& key : group_keys) {
      const Parameter& parameter = *find_parameter(key);
      row.push_back(parameter.used(config) ? value_to_text(parameter.get(config)) : "-");
    }
    std::vector<std::optional<double>> steps, rounds;
    std::vector<double> final_norms, clip, seconds, projected;
    int reached = 0, diverged = 0;
    std::int64_t budget = 0, rounds_budget = 0;
    for (const RunOutcome& o : outcomes) {
      const RunSummary& s = o.summary;
      const bool hit = s.termination == Termination::kTargetReached;
      reached += hit ? 1 : 0;
      diverged += s.termination == Termination::kDiverged ? 1 : 0;
      budget = std::max(budget, o.config.options.max_steps);
      rounds_budget = std::max(rounds_budget, s.rounds);
      steps.push_back(hit ? std::optional<double>(static_cast<double>(s.steps)) : std::nullopt);
      rounds.push_back(hit ? std::optional<double>(static_cast<double>(s.rounds)) : std::nullopt);
      if (s.final_record) final_norms.push_back(s.final_record->grad_norm);
      clip.push_back(s.mean_clip_fraction);
      seconds.push_back(s.wall_time_s);
      projected.push_back(s.communication.projected_seconds);
    }
    const bool has_target = config.options.target.has_value();
    const auto censored = [&](const std::vector<std::optional<double>>& times,
                              std::int64_t limit) {
      if (!has_target) return std::string("n/a");
      const auto m = censored_median(times);
      return m ? fmt::format("{:.0f}", *m) : fmt::format("> {}", limit);
    };
    row.push_back(std::to_string(outcomes.size()));
    row.push_back(fmt::format("{}/{}{}", reached, outcomes.size(),
                              diverged > 0 ? fmt::format(" ({} diverged)", diverged) : ""));
    row.push_back(censored(steps, budget));
    row.push_back(censored(rounds, rounds_budget));
    row.push_back(final_norms.empty() ? std::string("diverged") : fmt::format("{:.4g}", median(final_norms)));
    row.push_back(fmt::format("{:.3f}", mean(clip)));
    row.push_back(fmt::format("{:.3f}", median(seconds)));
    row.push_back(fmt::format("{:.3g}", median(projected)));
    table.add_row(std::move(row));
  }

  std::string text;
  if (!plan.description.empty()) text += plan.description + "\n\n";
  text += table.to_text();
  text +=
      "\nsteps / rounds to eps: median over seeds, the step by which half of them reached eps\n"
      "  (\"> T\": fewer than half did within the budget of T steps).\n"
      "final ||grad f||: median at the last step. clip fraction: mean fraction of clipped\n"
      "  worker-steps. time: median wall time of a run. projected: median time the run would\n"
      "  take on N nodes of its network (compute + modelled averages; docs/network-model.md).\n";
  write_file(folder.staging() / "results.csv", results.to_csv());
  write_file(folder.staging() / "table.txt", text);
  folder.commit();
  fmt::print(log, "\n{}\nresults: {}\n", text, fs::absolute(out).lexically_normal().string());
  return 0;
}

}  // namespace distclip::app
