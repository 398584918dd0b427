// Linked sweep parameters: a value written as "= <expression>" is computed
// for each cell from the cell's other parameters, so that a theory-driven
// grid is one line, e.g. Theorem 1's interval
//   sync-interval = "= max(1, floor(1 / (2 * N * eps)))"
// Expressions are evaluated by muParser (Debian's libmuparser): + - * / ^,
// parentheses, and the functions sqrt, exp, ln, log10, log2, abs, min, max,
// ceil, floor, rint.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"

namespace distclip::app {

// The names an expression may use, with their values in `config`:
//  - every numeric parameter the cell reads, with '-' spelled '_'
//    (sync_interval, step_size, clip_threshold, target, sigma, ...);
//  - the paper's symbols: N (workers), I (sync-interval), eta (step-size),
//    gamma (clip-threshold), eps (target), sigma, d (dim), T (steps);
//  - L0 and L1, the objective's certified (L0, L1) constants.
// A parameter the cell does not read (or an unset target) is not defined.
std::vector<std::pair<std::string, double>> link_variables(const RunConfig& config);

// Whether a TOML text value is a link ("= ..."); `expression` gets the rest.
bool is_link(std::string_view text, std::string* expression);

// The value of `expression` with `variables`. Throws ConfigError starting
// with `what` (e.g. "sweep.toml:12: sync-interval") that names an unknown
// name and lists the known ones, or quotes muParser's syntax message.
double evaluate_link(std::string_view expression,
                     const std::vector<std::pair<std::string, double>>& variables,
                     std::string_view what);

}  // namespace distclip::app
