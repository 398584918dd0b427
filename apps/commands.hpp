// The subcommands of the distclip program. Each registers its options on a
// CLI11 app and returns the function that carries it out after parsing.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace distclip::app {

// A command's action: returns the exit status; throws ConfigError for bad
// input (status 2) and other exceptions for failures (status 1).
using Action = std::function<int()>;

Action add_run_command(CLI::App& app);
Action add_list_command(CLI::App& app);
Action add_sweep_command(CLI::App& app);
Action add_analyze_command(CLI::App& app);
Action add_plot_command(CLI::App& app);

// Parses `argv` and runs the chosen command, printing errors as one line
// on stderr: the whole program, callable from tests.
int main_program(int argc, const char* const* argv);

}  // namespace distclip::app
