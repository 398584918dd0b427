// The subcommands of the distclip program. Each registers its options on a
// CLI11 app and returns the function that carries it out after parsing.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config.hpp"

namespace distclip::app {

// A command's action: returns the exit status; throws ConfigError for bad
// input (status 2) and other exceptions for failures (status 1).
using Action = std::function<int()>;

// The run parameters as options of a command: --config FILE and one
// --key per parameter (config.hpp), read back after parsing.
class RunParameterOptions {
 public:
  struct State {
    std::map<std::string, std::string, std::less<>> texts;
    std::map<std::string, CLI::Option*, std::less<>> options;
    std::string config;
  };
  explicit RunParameterOptions(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // The file's settings, then the command line's, in that order.
  std::vector<Setting> settings() const;
  // resolve(settings()), with a note on stderr for each key the
  // configuration does not read. Throws ConfigError.
  RunConfig resolve_config() const;

 private:
  std::shared_ptr<State> state_;
};

RunParameterOptions add_run_parameters(CLI::App* command);

Action add_run_command(CLI::App& app);
Action add_list_command(CLI::App& app);
Action add_sweep_command(CLI::App& app);
Action add_analyze_command(CLI::App& app);
Action add_plot_command(CLI::App& app);

// Parses `argv` and runs the chosen command, printing errors as one line
// on stderr: the whole program, callable from tests.
int main_program(int argc, const char* const* argv);

}  // namespace distclip::app
