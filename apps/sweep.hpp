// A grid of runs from one TOML file: [base] settings shared by all, then
// optional [[arm]] tables and a [grid] table whose lists multiply out into
// cells. Every cell is resolved and checked before the first one runs.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "config.hpp"

namespace distclip::app {

struct SweepCell {
  std::vector<Setting> settings;  // base, then the arm's, then the grid's
  RunConfig config;
};

struct SweepPlan {
  std::string name;
  std::string description;
  // Keys set by an arm or the grid, in order of first appearance.
  std::vector<std::string> varying_keys;
  std::vector<SweepCell> cells;
};

// Reads and resolves a sweep; `overrides` (e.g. --threads) apply to every
// cell last. Throws ConfigError naming the file, line and key.
SweepPlan load_sweep(const std::filesystem::path& file, std::span<const Setting> overrides);

// Runs every cell into out/cells/NNN/, writes out/results.csv (one row per
// run) and out/table.txt (seeds aggregated), prints the table; the folder
// appears only when complete.
int run_sweep(const SweepPlan& plan, const std::filesystem::path& file,
              const std::filesystem::path& out, bool overwrite, std::ostream& log);

}  // namespace distclip::app
