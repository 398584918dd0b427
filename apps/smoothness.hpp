// `distclip smoothness`: (L0, L1) measured along a run of any configured
// objective and algorithm (Zhang et al., ICLR 2020): local smoothness against
// gradient norm at the averaged iterates, the frontier of (L0, L1) pairs they
// support, the least-squares line, and the oracle's certificate beside them.
#pragma once

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace distclip::app {

// Registers the command on `app`. Its action runs the configured algorithm
// in this process, probes xbar_t at up to --probes evaluation points, and
// writes smoothness.csv, frontier.csv, fit.json and the figure smoothness.png
// / .svg (with smoothness.gp and smoothness.dat) into --out.
Action add_smoothness_command(CLI::App& app);

}  // namespace distclip::app
