#include "fuzz_targets.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "config.hpp"
#include "smoothness.hpp"
#include "sweep.hpp"
#include "theory.hpp"

namespace distclip::fuzz {

namespace {

// The name the inputs go by in messages ("fuzz.toml:3: ...").
constexpr std::string_view kFile = "fuzz.toml";

std::string_view text_of(std::span<const std::uint8_t> input) {
  return {reinterpret_cast<const char*>(input.data()), input.size()};
}

// A broken contract: libFuzzer saves the input and reports the abort.
[[noreturn]] void finding(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\nfuzz finding: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Whether a rejection names what was wrong: a "key = value" (or "key =
// custom needs ..."), or the file's "fuzz.toml:LINE: key ..." origin, or a
// quoted unknown key.
bool names_a_field(std::string_view message) {
  if (message.find(" = ") != std::string_view::npos) return true;
  if (message.starts_with(kFile)) return true;
  return message.find("key '") != std::string_view::npos ||
         message.find("parameter '") != std::string_view::npos;
}

// The contract of ConfigError (config.hpp): one line naming the field.
void check_rejection(const app::ConfigError& error) {
  const std::string_view message = error.what();
  if (message.empty()) finding("an empty ConfigError", "");
  if (message.find_first_of("\n\r") != std::string_view::npos) {
    finding("a ConfigError of more than one line", message);
  }
  if (!names_a_field(message)) finding("a ConfigError that names no field", message);
}

// What the program does with a resolved configuration before a run: warn
// about unread keys and record it (summary.json, the cell's hash).
void use(const app::RunConfig& config, std::span<const app::Setting> settings) {
  static_cast<void>(app::unused_keys(config, settings));
  static_cast<void>(app::config_to_json(config).dump());
  static_cast<void>(app::agreement_json(config).dump());
}

// Runs `check`; anything but success or a well-formed ConfigError is a
// finding.
template <class Check>
void expect_accepted_or_rejected(Check check) {
  try {
    check();
  } catch (const app::ConfigError& error) {
    check_rejection(error);
  } catch (const std::exception& error) {
    finding(std::string("an exception other than ConfigError: ") + typeid(error).name(),
            error.what());
  } catch (...) {
    finding("an exception that is not a std::exception", "");
  }
}

}  // namespace

void check_run_toml(std::span<const std::uint8_t> input) {
  expect_accepted_or_rejected([&] {
    const toml::table table = app::parse_toml_text(text_of(input), kFile);
    const std::vector<app::Setting> settings = app::settings_from_table(table, kFile);
    use(app::resolve(settings), settings);
  });
}

void check_sweep_toml(std::span<const std::uint8_t> input) {
  expect_accepted_or_rejected([&] {
    const app::SweepPlan plan = app::plan_sweep(app::parse_toml_text(text_of(input), kFile),
                                                std::string(kFile), {});
    // The first and the last cell: a sweep records every cell only when it
    // runs, and up to 10^4 records would cost more than the whole load.
    if (!plan.cells.empty()) {
      use(plan.cells.front().config, plan.cells.front().settings);
      use(plan.cells.back().config, plan.cells.back().settings);
    }
  });
}

void check_command_line(std::span<const std::uint8_t> input) {
  // One argument a line; an empty input is the bare program name.
  std::vector<std::string> arguments{"distclip"};
  if (!input.empty()) {
    std::string current;
    for (const char c : text_of(input)) {
      if (c == '\n' || c == '\0') {
        arguments.push_back(std::move(current));
        current.clear();
      } else {
        current += c;
      }
    }
    arguments.push_back(std::move(current));
  }
  std::vector<const char*> argv;
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());

  // The program's commands as main_program() registers them, their actions
  // never called; `run` is rebuilt from the same add_run_parameters() with
  // add_run_command()'s two output options, so that its parameters can be
  // resolved without running.
  CLI::App app("distclip", "distclip");
  app.set_version_flag("--version", std::string("fuzz"));
  app.require_subcommand(1);
  app.fallthrough(false);
  CLI::App* run = app.add_subcommand("run", "one run");
  const app::RunParameterOptions run_parameters = app::add_run_parameters(run);
  std::string out;
  bool overwrite = false;
  run->add_option("--out", out, "folder");
  run->add_flag("--overwrite", overwrite, "replace the folder");
  // The actions own the options' variables: they live as long as `app`.
  const std::vector<app::Action> actions = {
      app::add_list_command(app),   app::add_sweep_command(app),  app::add_analyze_command(app),
      app::add_plot_command(app),   app::add_theory_command(app), app::add_smoothness_command(app)};

  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success&) {
    return;  // --help, --version
  } catch (const CLI::ParseError& error) {
    // main_program() prints CLI11's message on one line (newlines become
    // spaces); CLI11 names the option itself.
    if (std::string_view(error.what()).empty()) finding("an empty CLI11 error", "");
    return;
  } catch (const std::exception& error) {
    finding(std::string("an exception other than CLI::ParseError from parsing: ") +
                typeid(error).name(),
            error.what());
  }
  if (run->parsed()) {
    expect_accepted_or_rejected([&] {
      const std::vector<app::Setting> settings = run_parameters.settings();
      use(app::resolve(settings), settings);
    });
  }
}

}  // namespace distclip::fuzz
