// The distclip program's run configuration and its one schema of
// parameters, shared by the command line, TOML files, --help, `list` and the
// resolved configuration recorded with every run: one spelling everywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/objectives/spec.hpp"

namespace distclip::app {

// Bad input: one line naming the field, its value and the accepted range.
// The program prints it and exits with status 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Everything one run needs.
struct RunConfig {
  ObjectiveSpec objective;
  std::string algorithm = "celgc";
  RunOptions options;
  RunConfig();  // options.threads defaults to every core
};

// A parameter's value: unset (optional parameters), an integer, a number or
// a text.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

enum class ValueType { kInteger, kNumber, kText };

struct Parameter {
  std::string_view key;       // --key on the command line, key in TOML
  std::string_view group;     // Objective, Noise, Algorithm, Run, Execution
  ValueType type;
  std::string_view accepted;  // the accepted values, in words: "an integer >= 1"
  std::string_view help;      // what it controls, in the paper's terms
  std::string_view fallback;  // the default, in words, for --help
  void (*set)(RunConfig&, const Value&);
  Value (*get)(const RunConfig&);
  // Whether the configured objective, noise model and algorithm read it.
  bool (*used)(const RunConfig&);
};

std::span<const Parameter> parameters();
const Parameter* find_parameter(std::string_view key);

// One key = value, from the command line or a file; `origin` says where,
// for messages ("--workers", "configs/a.toml:3").
struct Setting {
  std::string key;
  Value value;
  std::string origin;
};

// Converts command-line text to the parameter's type, or throws
// ConfigError ("workers = abc, must be an integer >= 1").
Value parse_text(const Parameter& parameter, std::string_view text);

// One TOML value as a setting of parameter `key`; an unknown key or a value
// of the wrong type throws ConfigError starting with `origin`.
Setting setting_from_node(std::string_view key, const toml::node& node, std::string origin);

// The settings of a flat TOML table of run parameters, each with its line.
std::vector<Setting> settings_from_table(const toml::table& table, std::string_view file);

// "file:line" of a TOML node, for messages.
std::string origin_of(const toml::node& node, std::string_view file);

// Parses a TOML file; a syntax error throws ConfigError with its location.
toml::table parse_toml_file(const std::filesystem::path& path);

// Defaults, then `settings` in order (later ones win), then every check of
// the library (RunOptions::IsValid, is_valid). Throws ConfigError.
RunConfig resolve(std::span<const Setting> settings);

// The keys of `settings` that the resolved configuration does not read,
// each once: the program warns about them.
std::vector<std::string> unused_keys(const RunConfig& config, std::span<const Setting> settings);

// The resolved configuration: every parameter the run reads (execution
// settings excluded), with family defaults filled in.
nlohmann::ordered_json config_to_json(const RunConfig& config);

// The value's text as the command line would take it.
std::string value_to_text(const Value& value);

}  // namespace distclip::app
