// Theorem 1 for the program: its inputs from an objective's certified
// constants, the run parameters it prescribes (theory-params = 1), the
// `theory` command and the records a run keeps of it (docs/theory.md).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "config.hpp"
#include "distclip/analysis/theory.hpp"
#include "distclip/core/constants.hpp"

namespace distclip::app {

// Where each input came from, for people: "certified by double-well", ...
struct TheorySources {
  std::string l0, l1, sigma, kappa, delta;
};

// The inputs for `config` (eps = target, N = workers, c, t-constant) and an
// oracle's constants with f(x_0). On a missing piece returns nullopt and
// sets *why to one line naming it.
std::optional<TheoryInputs> theory_inputs(const RunConfig& config,
                                          const OracleConstants& constants, double f_x0,
                                          std::string* why);

// Builds the objective, and sets step-size, clip-threshold and
// sync-interval to Theorem 1's (steps to its T unless `steps_given`).
// Throws ConfigError naming what is missing (no target, an objective
// without certified constants, unbounded noise).
void apply_theorem1(RunConfig& config, bool steps_given);

// The inputs, the parameters and every condition, as summary.json keeps
// them; with the run's tightness ratio when it reached its target.
nlohmann::ordered_json theory_to_json(const TheoryInputs& inputs,
                                      const TheoryParameters& parameters,
                                      std::optional<std::int64_t> measured_steps);

// The table `distclip theory` prints.
void print_theory(std::ostream& out, const TheoryInputs& inputs,
                  const TheoryParameters& parameters, const TheorySources& sources);

Action add_theory_command(CLI::App& app);

}  // namespace distclip::app
