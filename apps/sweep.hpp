// A sweep: a grid of runs from one TOML file. [base] settings are shared by
// every cell; [[arm]] tables and a [grid] table hold lists that multiply out
// into cells; a value written "= <expression>" is linked, computed per cell
// from its other parameters (link.hpp); an optional [tune] table picks the
// best step sizes per cell from a grid; [analysis] says at which eps the
// complexities are measured. Every cell is resolved and checked before the
// first one runs.
//
// Running one: cells run in parallel (--jobs), each committed atomically to
// out/cells/<hash>/ the moment it finishes, where <hash> identifies the
// cell's full resolved configuration and the program's version; running the
// same sweep again skips the cells already there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config.hpp"

namespace distclip::app {

// A linked parameter: key = "= expression".
struct Link {
  std::string key;
  std::string expression;
  std::string origin;  // "file:line", for messages
};

struct SweepCell {
  std::vector<Setting> settings;  // literal: base, then the arm's, then the grid's, then overrides
  std::vector<Link> links;        // evaluated in this order, after tuned values
  RunConfig config;               // resolved (before tuning, with the literal step sizes)
  std::string arm;                // the [[arm]]'s name, if arms are named
  std::string series;             // the varying keys except seed, e.g. "algorithm = celgc, ..."
};

// Step-size tuning: every combination of the listed values is run with each
// tuning seed, per series; the winner has the most tuning runs reaching eps,
// then the fewest mean steps to eps (a run that misses counts as its budget),
// then comes first in the grid.
struct TuneSpec {
  std::vector<std::string> keys;                    // e.g. step-size, clip-threshold
  std::vector<std::vector<Setting>> candidates;     // their cartesian product
  std::vector<std::int64_t> seeds;                  // distinct from the cells' seeds
};

// Where analysis measures T(eps): at each of `targets` (from every run's
// trace), or, when empty, at each run's own target.
struct AnalysisSpec {
  std::vector<double> targets;
  double efficiency_threshold = 0.8;  // "linear speedup" means S(N) / N >= this
};

struct SweepPlan {
  std::string name;
  std::string description;
  // Keys set by an arm or the grid, in order of first appearance ("arm"
  // first when the arms have names); linked and tuned keys are derived, not
  // varying.
  std::vector<std::string> varying_keys;
  std::vector<std::string> linked_keys;
  std::vector<SweepCell> cells;
  std::optional<TuneSpec> tune;
  AnalysisSpec analysis;
  // SHA-256 of the parsed file and the program's version: a results folder
  // holds one sweep.
  std::string identity;
};

// Reads and resolves a sweep; `overrides` (e.g. --threads) apply to every
// cell last. Throws ConfigError naming the file, line and key.
SweepPlan load_sweep(const std::filesystem::path& file, std::span<const Setting> overrides);
// The same for a file already parsed; `file` names it in messages and its
// stem is the default name.
SweepPlan plan_sweep(const toml::table& root, const std::filesystem::path& file,
                     std::span<const Setting> overrides);

// The identity of one run: SHA-256 of its resolved configuration (execution
// settings excluded: they never change a result) and the program's version.
std::string run_hash(const RunConfig& config);

struct SweepOptions {
  int jobs = 1;        // cells run at once
  bool force = false;  // discard the folder's finished cells and rerun all
};

// Runs the cells not yet in `out`, then writes out/results.csv (one row per
// run), out/table.txt and out/analysis/, and prints the progress and the
// table on `log`. Returns 0, or 1 when a cell failed (the others are kept).
int run_sweep(const SweepPlan& plan, const std::filesystem::path& file,
              const std::filesystem::path& out, const SweepOptions& options, std::ostream& log);

}  // namespace distclip::app
