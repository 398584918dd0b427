#include "sweep.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <oneapi/tbb/info.h>

#include "analyze.hpp"
#include "distclip/objectives/language_model.hpp"
#include "distclip/core/communicator.hpp"
#include "execute.hpp"
#include "link.hpp"
#include "output.hpp"
#include "version.hpp"

namespace distclip::app {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// Cells, and tuning candidates over all cells: each is resolved and
// checked before the first run, which takes about a second per 10^4.
constexpr std::size_t kMaxCells = 10000;

// One alternative of a key in an [[arm]] or [grid]: a literal setting or a
// link.
struct Choice {
  Setting setting;
  std::optional<Link> link;
  const std::string& key() const { return setting.key; }
};

// For each key of a table, its alternatives: a list gives several, a
// single value one.
using Choices = std::vector<std::vector<Choice>>;

Choice choice_from_node(std::string_view key, const toml::node& node, const std::string& origin) {
  std::string expression;
  if (const auto text = node.value<std::string>(); text && is_link(*text, &expression)) {
    const Parameter* parameter = find_parameter(key);
    if (parameter == nullptr) {
      // The schema's message for an unknown key, with its suggestion.
      return {setting_from_node(key, node, origin), std::nullopt};
    }
    if (parameter->type == ValueType::kText) {
      throw ConfigError(fmt::format("{}: {} = \"{}\": a link computes a number, and {} is {}",
                                    origin, key, *text, key, parameter->accepted));
    }
    return {Setting{std::string(key), Value(), origin},
            Link{std::string(key), expression, origin}};
  }
  return {setting_from_node(key, node, origin), std::nullopt};
}

Choices choices_of(const toml::table& table, std::string_view file) {
  Choices choices;
  for (const auto& [key, node] : table) {
    std::vector<Choice> alternatives;
    if (const toml::array* list = node.as_array()) {
      if (list->empty()) {
        throw ConfigError(fmt::format("{}: {} = [], must list at least one value",
                                      origin_of(node, file), key.str()));
      }
      for (const toml::node& element : *list) {
        alternatives.push_back(choice_from_node(key.str(), element, origin_of(node, file)));
      }
    } else {
      alternatives.push_back(choice_from_node(key.str(), node, origin_of(node, file)));
    }
    choices.push_back(std::move(alternatives));
  }
  return choices;
}

// The cartesian product of the choices, first key slowest.
std::vector<std::vector<Choice>> product(const Choices& choices) {
  std::vector<std::vector<Choice>> combos{{}};
  for (const auto& alternatives : choices) {
    // Checked before the product is built: one long list after a large
    // product would otherwise allocate its cells first.
    if (combos.size() * alternatives.size() > kMaxCells) {
      throw ConfigError(fmt::format("{}: {} = [...] makes more than {} cells",
                                    alternatives.front().setting.origin,
                                    alternatives.front().key(), kMaxCells));
    }
    std::vector<std::vector<Choice>> next;
    for (const auto& combo : combos) {
      for (const Choice& choice : alternatives) {
        next.push_back(combo);
        next.back().push_back(choice);
      }
    }
    combos = std::move(next);
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

bool contains(std::span<const std::string> keys, std::string_view key) {
  return std::ranges::find(keys, key) != keys.end();
}

std::string label_of(const RunConfig& config, std::span<const std::string> keys) {
  std::string label;
  for (const std::string& key : keys) {
    const Parameter& parameter = *find_parameter(key);
    if (!parameter.used(config)) continue;
    if (!label.empty()) label += ", ";
    label += fmt::format("{} = {}", key, value_to_text(parameter.get(config)));
  }
  return label.empty() ? std::string("all") : label;
}

// `settings`, then each link evaluated on everything before it, resolved.
RunConfig resolve_cell(std::vector<Setting> settings, std::span<const Link> links) {
  for (const Link& link : links) {
    const RunConfig before = resolve(settings);
    const std::string what = fmt::format("{}: {}", link.origin, link.key);
    const double value = evaluate_link(link.expression, link_variables(before), what);
    const Parameter& parameter = *find_parameter(link.key);
    if (parameter.type == ValueType::kInteger) {
      if (value != std::round(value) || std::abs(value) > 9.0e15) {
        throw ConfigError(fmt::format(
            "{} = \"={}\" gives {}, must be {} (round it with ceil, floor or rint)", what,
            link.expression, value, parameter.accepted));
      }
      settings.push_back({link.key, static_cast<std::int64_t>(value), link.origin});
    } else {
      settings.push_back({link.key, value, link.origin});
    }
  }
  return resolve(settings);
}

TuneSpec tune_of(const toml::table& table, std::string_view file) {
  TuneSpec tune;
  Choices choices;
  for (const auto& [key, node] : table) {
    const std::string origin = origin_of(node, file);
    const toml::array* list = node.as_array();
    if (list == nullptr || list->empty()) {
      throw ConfigError(fmt::format("{}: tune.{} must be a non-empty list", origin, key.str()));
    }
    if (key.str() == "seeds") {
      for (const toml::node& element : *list) {
        // An integer first: toml++'s value<std::int64_t>() of a float
        // such as 1e308 converts it without a range check (undefined).
        const toml::value<std::int64_t>* seed = element.as_integer();
        if (seed == nullptr || seed->get() < 0) {
          throw ConfigError(
              fmt::format("{}: tune.seeds must list integers >= 0", origin_of(element, file)));
        }
        tune.seeds.push_back(seed->get());
      }
      continue;
    }
    const Parameter* parameter = find_parameter(key.str());
    if (parameter != nullptr && parameter->group == "Execution") {
      throw ConfigError(fmt::format("{}: tune.{} never changes a result; tune step sizes",
                                    origin, key.str()));
    }
    std::vector<Choice> alternatives;
    for (const toml::node& element : *list) {
      alternatives.push_back({setting_from_node(key.str(), element, origin), std::nullopt});
    }
    tune.keys.emplace_back(key.str());
    choices.push_back(std::move(alternatives));
  }
  if (tune.keys.empty()) {
    throw ConfigError(fmt::format("{}: [tune] lists no parameter to tune (e.g. step-size = [...])",
                                  file));
  }
  if (tune.seeds.empty()) {
    throw ConfigError(fmt::format(
        "{}: [tune] needs seeds = [...], the tuning seeds (distinct from the cells' seeds)", file));
  }
  for (const auto& combo : product(choices)) {
    std::vector<Setting> candidate;
    for (const Choice& choice : combo) candidate.push_back(choice.setting);
    tune.candidates.push_back(std::move(candidate));
  }
  return tune;
}

AnalysisSpec analysis_of(const toml::table& table, std::string_view file) {
  AnalysisSpec analysis;
  for (const auto& [key, node] : table) {
    const std::string origin = origin_of(node, file);
    if (key.str() == "targets") {
      const toml::array* list = node.as_array();
      if (list == nullptr || list->empty()) {
        throw ConfigError(fmt::format("{}: analysis.targets must be a non-empty list of eps > 0",
                                      origin));
      }
      for (const toml::node& element : *list) {
        const std::optional<double> eps = number_of(element);
        if (!eps || !(*eps > 0.0) || !std::isfinite(*eps)) {
          throw ConfigError(fmt::format("{}: analysis.targets must list numbers > 0", origin));
        }
        analysis.targets.push_back(*eps);
      }
    } else if (key.str() == "efficiency-threshold") {
      const std::optional<double> threshold = number_of(node);
      if (!threshold || !(*threshold > 0.0 && *threshold <= 1.0)) {
        throw ConfigError(fmt::format(
            "{}: analysis.efficiency-threshold must be a number in (0, 1]", origin));
      }
      analysis.efficiency_threshold = *threshold;
    } else {
      throw ConfigError(fmt::format(
          "{}: unknown key 'analysis.{}' (analysis has targets and efficiency-threshold)", origin,
          key.str()));
    }
  }
  return analysis;
}

std::string identity_of(const toml::table& root) {
  std::ostringstream text;
  text << toml::json_formatter{root};
  return sha256_hex(fmt::format("distclip {}\n{}", kVersion, text.str()));
}

}  // namespace

std::string run_hash(const RunConfig& config) {
  std::string text = fmt::format("distclip {}\n{}", kVersion, config_to_json(config).dump());
  // A language model's result depends on its text, which the configuration
  // names only by path: the files' contents are part of the identity.
  if (config.objective.family == kLanguageModelFamily) {
    const CorpusSpec corpus = corpus_spec_of(config.objective);
    text += "\ntrain " + sha256_of_file(corpus.train);
    if (corpus.heldout) text += "\nheldout " + sha256_of_file(*corpus.heldout);
  }
  return sha256_hex(text);
}

SweepPlan load_sweep(const fs::path& path, std::span<const Setting> overrides) {
  return plan_sweep(parse_toml_file(path), path, overrides);
}

SweepPlan plan_sweep(const toml::table& root, const fs::path& path,
                     std::span<const Setting> overrides) {
  const std::string file = path.string();
  SweepPlan plan;
  plan.name = path.stem().string();
  plan.identity = identity_of(root);
  Choices base;
  std::vector<Choices> arms;
  std::vector<std::string> arm_names;
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
      base = choices_of(expect_table(node, name, file), file);
    } else if (name == "arm") {
      const toml::array* list = node.as_array();
      if (list == nullptr || !list->is_array_of_tables()) {
        throw ConfigError(fmt::format("{}: arm must be an array of tables ([[arm]])",
                                      origin_of(node, file)));
      }
      for (const toml::node& arm : *list) {
        toml::table table = *arm.as_table();
        std::string arm_name;
        if (const toml::node* name_node = table.get("name")) {
          if (!name_node->is_string() || name_node->value<std::string>()->empty()) {
            throw ConfigError(fmt::format("{}: arm.name must be a non-empty string",
                                          origin_of(*name_node, file)));
          }
          arm_name = *name_node->value<std::string>();
          table.erase("name");
        }
        arm_names.push_back(arm_name);
        arms.push_back(choices_of(table, file));
      }
    } else if (name == "grid") {
      grid = choices_of(expect_table(node, name, file), file);
    } else if (name == "tune") {
      plan.tune = tune_of(expect_table(node, name, file), file);
    } else if (name == "analysis") {
      plan.analysis = analysis_of(expect_table(node, name, file), file);
    } else {
      throw ConfigError(fmt::format(
          "{}: unknown key '{}' (a sweep has name, description, [base], [[arm]], [grid], [tune] "
          "and [analysis])",
          origin_of(node, file), name));
    }
  }
  if (arms.empty()) {
    arms.emplace_back();
    arm_names.emplace_back();
  }
  const bool named_arms = std::ranges::any_of(arm_names, [](const auto& n) { return !n.empty(); });
  if (named_arms) {
    for (std::size_t a = 0; a < arm_names.size(); ++a) {
      if (arm_names[a].empty()) {
        throw ConfigError(fmt::format("{}: arm {} has no name; name every arm or none", file, a + 1));
      }
      if (std::count(arm_names.begin(), arm_names.end(), arm_names[a]) > 1) {
        throw ConfigError(fmt::format("{}: two arms are named '{}'", file, arm_names[a]));
      }
    }
  }

  // A key is varying when an arm or the grid gives it literal values;
  // linked keys are derived from the others.
  const auto note = [&](const std::vector<Choice>& alternatives) {
    const bool linked = std::ranges::all_of(alternatives, [](const Choice& c) { return c.link.has_value(); });
    note_key(linked ? plan.linked_keys : plan.varying_keys, alternatives.front().key());
  };
  for (const auto& alternatives : base) {
    if (alternatives.front().link) note_key(plan.linked_keys, alternatives.front().key());
  }
  for (const Choices& arm : arms) {
    for (const auto& alternatives : arm) note(alternatives);
  }
  for (const auto& alternatives : grid) {
    const std::string& key = alternatives.front().key();
    for (const Choices& arm : arms) {
      for (const auto& arm_alternatives : arm) {
        if (arm_alternatives.front().key() == key) {
          throw ConfigError(fmt::format("{}: {} is set both in an [[arm]] and in [grid]",
                                        alternatives.front().setting.origin, key));
        }
      }
    }
    note(alternatives);
  }
  // With named arms, a key that some arm links is derived everywhere: the
  // arm's name tells the series apart. Otherwise a key given literal values
  // anywhere is varying.
  if (named_arms) {
    std::erase_if(plan.varying_keys, [&](const std::string& key) { return contains(plan.linked_keys, key); });
    plan.varying_keys.insert(plan.varying_keys.begin(), "arm");
  } else {
    std::erase_if(plan.linked_keys, [&](const std::string& key) { return contains(plan.varying_keys, key); });
  }
  if (plan.tune) {
    for (const std::string& key : plan.tune->keys) {
      if (contains(plan.varying_keys, key) || contains(plan.linked_keys, key)) {
        throw ConfigError(fmt::format("{}: tune.{} is also set by an [[arm]], [grid] or a link; "
                                      "a tuned parameter takes its value from [tune] alone",
                                      file, key));
      }
    }
  }
  std::vector<std::string> series_keys;
  for (const std::string& key : plan.varying_keys) {
    if (key != "seed" && key != "arm") series_keys.push_back(key);
  }

  const auto base_combo = product(base).front();
  const auto grid_combos = product(grid);
  // Every cell, and with [tune] every candidate of every cell, is resolved
  // below; their number is bounded before the first one.
  std::size_t num_cells = 0;
  for (const Choices& arm : arms) {
    std::size_t arm_cells = grid_combos.size();
    for (const auto& alternatives : arm) {
      arm_cells = std::min(arm_cells * alternatives.size(), kMaxCells + 1);
    }
    num_cells += arm_cells;
  }
  if (num_cells > kMaxCells) {
    throw ConfigError(fmt::format("{}: the [[arm]] tables and [grid] make more than {} cells",
                                  file, kMaxCells));
  }
  if (plan.tune && num_cells * plan.tune->candidates.size() > kMaxCells) {
    throw ConfigError(fmt::format(
        "{}: [tune] has {} candidates for each of {} cells, more than {} in all", file,
        plan.tune->candidates.size(), num_cells, kMaxCells));
  }
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const Choices& arm = arms[a];
    for (const auto& arm_combo : product(arm)) {
      for (const auto& grid_combo : grid_combos) {
        SweepCell cell;
        for (const auto* combo : {&base_combo, &arm_combo, &grid_combo}) {
          for (const Choice& choice : *combo) {
            if (choice.link) {
              cell.links.push_back(*choice.link);
            } else {
              cell.settings.push_back(choice.setting);
            }
          }
        }
        cell.settings.insert(cell.settings.end(), overrides.begin(), overrides.end());
        const std::size_t index = plan.cells.size();
        const auto in_cell = [&](const std::string& message) {
          return ConfigError(fmt::format("{}: cell {}: {}", file, index, message));
        };
        try {
          cell.config = resolve_cell(cell.settings, cell.links);
          if (plan.tune) {
            if (!cell.config.options.target) {
              throw ConfigError("[tune] picks the step sizes that reach eps fastest; set target");
            }
            for (const std::int64_t seed : plan.tune->seeds) {
              if (static_cast<std::int64_t>(cell.config.options.seed) == seed) {
                throw ConfigError(fmt::format(
                    "seed = {} is also a tuning seed; tune.seeds must differ from the cells' seeds",
                    seed));
              }
            }
            for (const auto& candidate : plan.tune->candidates) {
              std::vector<Setting> settings = cell.settings;
              settings.insert(settings.end(), candidate.begin(), candidate.end());
              resolve_cell(settings, cell.links);
            }
          }
        } catch (const ConfigError& e) {
          throw in_cell(e.what());
        }
        if (cell.config.execution.checkpoint_every > 0) {
          throw ConfigError(fmt::format(
              "{}: checkpoint-every = {}, must be 0 in a sweep: a sweep resumes cell by cell; "
              "checkpoint one long cell with distclip run --checkpoint-every",
              file, cell.config.execution.checkpoint_every));
        }
        if (cell.config.execution.backend == Backend::kMpi || launched_by_mpi()) {
          throw ConfigError(fmt::format(
              "{}: backend = mpi, must be threads: a sweep runs its cells on threads; run one "
              "cell on MPI ranks with mpirun -np R distclip run",
              file));
        }
        cell.arm = arm_names[a];
        cell.series = label_of(cell.config, series_keys);
        if (!cell.arm.empty()) {
          cell.series = cell.series == "all" ? fmt::format("arm = {}", cell.arm)
                                             : fmt::format("arm = {}, {}", cell.arm, cell.series);
        }
        plan.cells.push_back(std::move(cell));
      }
    }
  }
  for (const double eps : plan.analysis.targets) {
    for (const SweepCell& cell : plan.cells) {
      if (cell.config.options.target && *cell.config.options.target > eps) {
        throw ConfigError(fmt::format(
            "{}: analysis.targets has eps = {}, below cell {}'s target = {}: that run stops at its "
            "target and never measures {}; lower its target or leave it unset",
            file, eps, &cell - plan.cells.data(), *cell.config.options.target, eps));
      }
    }
  }
  return plan;
}

namespace {

// A run to carry out (or find already done) in the cell store.
struct Job {
  RunConfig config;
  std::string hash;
  std::string label;  // for the progress line
};

// How a job ended, read back from its summary (it may have run earlier).
struct JobResult {
  bool failed = false;
  bool cached = false;
  std::string error;
  std::string status;        // the summary's status: target_reached, diverged, ...
  std::int64_t steps = 0;
  std::int64_t budget = 0;
};

fs::path cell_folder(const fs::path& out, const std::string& hash) {
  return out / "cells" / hash.substr(0, 16);
}

JobResult read_result(const fs::path& folder) {
  std::ifstream stream(folder / "summary.json");
  const Json summary = Json::parse(stream, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded() || !summary.contains("status")) {
    throw std::runtime_error(
        fmt::format("{} is unreadable; delete that folder to rerun the cell",
                    (folder / "summary.json").string()));
  }
  JobResult result;
  result.status = summary["status"].get<std::string>();
  result.steps = summary["counts"]["steps"].get<std::int64_t>();
  result.budget = summary["config"]["steps"].get<std::int64_t>();
  return result;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

// Prints one line per finished cell: how it ended, and where the sweep
// stands (cells done / total, running, failed, elapsed, ETA).
class Progress {
 public:
  Progress(std::ostream& log, std::size_t total, std::size_t cached)
      : log_(log), total_(total), done_(cached), start_(std::chrono::steady_clock::now()) {}

  void started() {
    std::lock_guard lock(mutex_);
    ++running_;
  }

  void finished(const Job& job, const JobResult& result) {
    std::lock_guard lock(mutex_);
    --running_;
    ++done_;
    ++ran_;
    failed_ += result.failed ? 1 : 0;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = elapsed / static_cast<double>(ran_) * static_cast<double>(total_ - done_);
    const std::string outcome = result.failed
                                    ? fmt::format("FAILED: {}", result.error)
                                    : fmt::format("{} after {} steps", result.status, result.steps);
    fmt::print(log_, "[{}/{}] {}: {}  ({} running, {} failed, {} elapsed, ETA {})\n", done_,
               total_, job.label, outcome, running_, failed_, clock_text(elapsed),
               clock_text(eta));
    log_.flush();
  }

 private:
  std::mutex mutex_;
  std::ostream& log_;
  std::size_t total_;
  std::size_t done_;
  std::size_t ran_ = 0;
  std::size_t running_ = 0;
  std::size_t failed_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// Runs one job into a private staging folder and renames it into place:
// the cell store holds finished cells only.
JobResult run_job(const Job& job, const fs::path& out) {
  const fs::path target = cell_folder(out, job.hash);
  fs::path staging = out / "cells";
  staging /= fmt::format(".{}.partial-{}-{}", job.hash.substr(0, 16), ::getpid(),
                         std::hash<std::thread::id>{}(std::this_thread::get_id()));
  JobResult result;
  try {
    fs::remove_all(staging);
    fs::create_directories(staging);
    InProcessCommunicator communicator(job.config.options.num_workers);
    const RunOutcome outcome = execute_into(job.config, communicator, &staging);
    fs::rename(staging, target);
    result.status = std::string(to_string(outcome.summary.termination));
    result.steps = outcome.summary.steps;
    result.budget = job.config.options.max_steps;
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    result.failed = true;
    result.error = e.what();
  }
  return result;
}

// Runs the jobs not yet in the store, `jobs` at a time.
std::vector<JobResult> run_jobs(const std::vector<Job>& batch, const fs::path& out, int jobs,
                                std::ostream& log, std::string_view what) {
  std::vector<JobResult> results(batch.size());
  std::vector<std::size_t> pending;
  // Cells with the same resolved configuration (e.g. two arms that agree at
  // N = 1) are one run: it runs once and both read it.
  std::map<std::string, std::size_t> first_with_hash;
  std::vector<std::pair<std::size_t, std::size_t>> repeats;
  for (std::size_t k = 0; k < batch.size(); ++k) {
    const auto [first, inserted] = first_with_hash.emplace(batch[k].hash, k);
    if (!inserted) {
      repeats.emplace_back(k, first->second);
      continue;
    }
    const fs::path folder = cell_folder(out, batch[k].hash);
    if (fs::exists(folder)) {
      results[k] = read_result(folder);
      results[k].cached = true;
    } else {
      pending.push_back(k);
    }
  }
  if (pending.size() < batch.size()) {
    fmt::print(log, "{}: {} of {} runs already done in {}; running the other {}\n", what,
               batch.size() - pending.size(), batch.size(), out.string(), pending.size());
  }
  Progress progress(log, pending.size() + (batch.size() - pending.size() - repeats.size()),
                    batch.size() - pending.size() - repeats.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t k = next++; k < pending.size(); k = next++) {
      const Job& job = batch[pending[k]];
      progress.started();
      results[pending[k]] = run_job(job, out);
      progress.finished(job, results[pending[k]]);
    }
  };
  std::vector<std::jthread> workers;
  const int helpers = std::min<int>(jobs, static_cast<int>(pending.size())) - 1;
  for (int w = 0; w < helpers; ++w) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  for (const auto& [k, first] : repeats) results[k] = results[first];
  return results;
}

// Creates `out`, or checks that it holds this sweep (to resume it).
void prepare_folder(const fs::path& out, const SweepPlan& plan, const SweepOptions& options) {
  if (out.empty()) throw ConfigError("out = '', must be a folder path");
  const fs::path manifest = out / "sweep.json";
  if (fs::exists(out)) {
    if (!fs::is_directory(out)) {
      throw ConfigError(fmt::format("out = {} exists and is not a folder", out.string()));
    }
    if (!fs::exists(manifest)) {
      if (!fs::is_empty(out)) {
        throw ConfigError(fmt::format(
            "out = {} exists and is not a sweep's results folder (no sweep.json); choose another "
            "--out",
            out.string()));
      }
    } else {
      std::ifstream stream(manifest);
      const Json json = Json::parse(stream, nullptr, false);
      const bool same = !json.is_discarded() && json.value("identity", "") == plan.identity;
      if (options.force) {
        fs::remove_all(out);
      } else if (!same) {
        throw ConfigError(fmt::format(
            "out = {} holds the results of another sweep ('{}': a different file or distclip "
            "version); pass --force to replace them, or choose another --out",
            out.string(), json.is_discarded() ? "unreadable" : json.value("name", "?")));
      }
    }
  }
  std::error_code error;
  fs::create_directories(out / "cells", error);
  if (error) {
    throw std::runtime_error(
        fmt::format("cannot create {}: {}", (out / "cells").string(), error.message()));
  }
  // Staging folders of runs that a killed sweep left behind.
  for (const auto& entry : fs::directory_iterator(out / "cells")) {
    if (entry.path().filename().string().starts_with('.')) fs::remove_all(entry.path());
  }
}

Json settings_json(const SweepCell& cell, const RunConfig& config,
                   std::span<const std::string> keys) {
  Json json = Json::object();
  for (const std::string& key : keys) {
    if (key == "arm") {
      json[key] = cell.arm;
      continue;
    }
    const Parameter& parameter = *find_parameter(key);
    if (!parameter.used(config)) continue;
    std::visit(
        [&](const auto& v) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
            json[key] = nullptr;
          } else {
            json[key] = v;
          }
        },
        parameter.get(config));
  }
  return json;
}

Json manifest_of(const SweepPlan& plan, std::string_view state) {
  Json json;
  json["name"] = plan.name;
  json["description"] = plan.description;
  json["identity"] = plan.identity;
  json["distclip_version"] = kVersion;
  json["state"] = state;
  json["varying_keys"] = plan.varying_keys;
  json["linked_keys"] = plan.linked_keys;
  json["tuned_keys"] = plan.tune ? plan.tune->keys : std::vector<std::string>{};
  json["analysis"] = {{"targets", plan.analysis.targets},
                      {"efficiency_threshold", plan.analysis.efficiency_threshold}};
  json["cells"] = Json::array();
  return json;
}

// The chosen candidate per series, by the rule stated on TuneSpec; writes
// tuning.csv.
std::map<std::string, std::size_t> choose_step_sizes(const SweepPlan& plan,
                                                     const std::vector<std::string>& series,
                                                     const std::vector<JobResult>& results,
                                                     const fs::path& out, Json& manifest,
                                                     std::ostream& log) {
  const TuneSpec& tune = *plan.tune;
  const std::size_t per_series = tune.candidates.size() * tune.seeds.size();
  std::map<std::string, std::size_t> chosen;
  std::string csv = "series";
  for (const std::string& key : tune.keys) fmt::format_to(std::back_inserter(csv), ",{}", key);
  csv += ",seed,status,steps,reached,chosen\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    std::size_t best = 0;
    std::pair<int, double> best_score{-1, 0.0};
    for (std::size_t c = 0; c < tune.candidates.size(); ++c) {
      int reached = 0;
      double steps = 0.0;
      for (std::size_t k = 0; k < tune.seeds.size(); ++k) {
        const JobResult& r = results[s * per_series + c * tune.seeds.size() + k];
        const bool hit = !r.failed && r.status == "target_reached";
        reached += hit ? 1 : 0;
        steps += static_cast<double>(hit ? r.steps : r.budget);
      }
      steps /= static_cast<double>(tune.seeds.size());
      if (reached > best_score.first || (reached == best_score.first && steps < best_score.second)) {
        best = c;
        best_score = {reached, steps};
      }
    }
    chosen[series[s]] = best;
    std::string values;
    for (const Setting& setting : tune.candidates[best]) {
      values += fmt::format("{}{} = {}", values.empty() ? "" : ", ", setting.key,
                            value_to_text(setting.value));
    }
    fmt::print(log, "tuned {}: {} ({}/{} tuning runs reached eps, mean {:.0f} steps)\n",
               series[s], values, best_score.first, tune.seeds.size(), best_score.second);
    Json entry = {{"series", series[s]}, {"reached", best_score.first},
                  {"mean_steps", best_score.second}};
    for (const Setting& setting : tune.candidates[best]) {
      entry[setting.key] = value_to_text(setting.value);
    }
    manifest["tuning"].push_back(entry);
    for (std::size_t c = 0; c < tune.candidates.size(); ++c) {
      for (std::size_t k = 0; k < tune.seeds.size(); ++k) {
        const JobResult& r = results[s * per_series + c * tune.seeds.size() + k];
        fmt::format_to(std::back_inserter(csv), "\"{}\"", series[s]);
        for (const Setting& setting : tune.candidates[c]) {
          fmt::format_to(std::back_inserter(csv), ",{}", value_to_text(setting.value));
        }
        csv += fmt::format(",{},{},{},{},{}\n", tune.seeds[k], r.failed ? "failed" : r.status,
                           r.steps, r.status == "target_reached" ? 1 : 0, c == best ? 1 : 0);
      }
    }
  }
  write_file_atomically(out / "tuning.csv", csv);
  return chosen;
}

}  // namespace

int run_sweep(const SweepPlan& plan, const fs::path& file, const fs::path& out,
              const SweepOptions& options, std::ostream& log) {
  prepare_folder(out, plan, options);
  Json manifest = manifest_of(plan, "running");
  write_file_atomically(out / "sweep.json", manifest.dump(2) + '\n');
  {
    std::ifstream source(file, std::ios::binary);
    write_file_atomically(out / "sweep.toml",
                          std::string(std::istreambuf_iterator<char>(source), {}));
  }
  // Cells share the cores: each gets cores / jobs threads unless told.
  const int jobs = std::max(1, options.jobs);
  const int threads_each = std::max(1, static_cast<int>(tbb::info::default_concurrency()) / jobs);
  const auto make_job = [&](RunConfig config, const std::vector<Setting>& settings,
                            std::string label) {
    const bool threads_set = std::ranges::any_of(
        settings, [](const Setting& s) { return s.key == "threads"; });
    if (jobs > 1 && !threads_set) config.options.threads = threads_each;
    Job job{std::move(config), {}, std::move(label)};
    job.hash = run_hash(job.config);
    return job;
  };
  const std::vector<std::string> seed_key{"seed"};

  // Tuning: every series' candidates, each with every tuning seed.
  std::map<std::string, std::size_t> chosen;
  if (plan.tune) {
    std::vector<std::string> series;
    std::vector<Job> batch;
    for (const SweepCell& cell : plan.cells) {
      if (std::ranges::find(series, cell.series) != series.end()) continue;
      series.push_back(cell.series);
      for (const auto& candidate : plan.tune->candidates) {
        for (const std::int64_t seed : plan.tune->seeds) {
          std::vector<Setting> settings = cell.settings;
          settings.insert(settings.end(), candidate.begin(), candidate.end());
          settings.push_back({"seed", seed, "tune.seeds"});
          RunConfig config = resolve_cell(settings, cell.links);
          std::string label = fmt::format("tuning {}, {}", cell.series,
                                          label_of(config, plan.tune->keys));
          label += fmt::format(", seed = {}", seed);
          batch.push_back(make_job(std::move(config), settings, std::move(label)));
        }
      }
    }
    const auto results = run_jobs(batch, out, jobs, log, "tuning");
    manifest["tuning"] = Json::array();
    chosen = choose_step_sizes(plan, series, results, out, manifest, log);
  }

  // The measured cells.
  std::vector<Job> batch;
  for (const SweepCell& cell : plan.cells) {
    std::vector<Setting> settings = cell.settings;
    if (plan.tune) {
      const auto& candidate = plan.tune->candidates[chosen.at(cell.series)];
      settings.insert(settings.end(), candidate.begin(), candidate.end());
    }
    RunConfig config = plan.tune ? resolve_cell(settings, cell.links) : cell.config;
    const std::string seed = label_of(config, seed_key);
    std::string label = cell.series == "all" ? seed : fmt::format("{}, {}", cell.series, seed);
    batch.push_back(make_job(std::move(config), settings, std::move(label)));
  }
  const auto results = run_jobs(batch, out, jobs, log, "cells");

  std::vector<std::string> recorded = plan.varying_keys;
  recorded.insert(recorded.end(), plan.linked_keys.begin(), plan.linked_keys.end());
  if (plan.tune) recorded.insert(recorded.end(), plan.tune->keys.begin(), plan.tune->keys.end());
  int failed = 0;
  for (std::size_t k = 0; k < batch.size(); ++k) {
    Json cell = {{"index", k},
                 {"series", plan.cells[k].series},
                 {"hash", batch[k].hash},
                 {"folder", (fs::path("cells") / batch[k].hash.substr(0, 16)).string()},
                 {"values", settings_json(plan.cells[k], batch[k].config, recorded)},
                 {"status", results[k].failed ? "failed" : results[k].status},
                 {"config", config_to_json(batch[k].config)}};
    if (results[k].failed) {
      cell["error"] = results[k].error;
      ++failed;
    }
    manifest["cells"].push_back(std::move(cell));
  }
  manifest["state"] = "complete";
  write_file_atomically(out / "sweep.json", manifest.dump(2) + '\n');

  const SweepResults finished = load_results(out);
  write_analysis(finished, analyze(finished), log);
  if (failed > 0) {
    fmt::print(log, "{} of {} cells FAILED (see results.csv); rerun the sweep to retry them\n",
               failed, batch.size());
    return 1;
  }
  return 0;
}

}  // namespace distclip::app
