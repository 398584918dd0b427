// The distclip program's run configuration and its one schema of
// parameters, shared by the command line, TOML files, --help, `list` and the
// resolved configuration recorded with every run: one spelling everywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
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
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/spec.hpp"

namespace distclip::app {

// Bad input: one line naming the field, its value and the accepted range.
// The program prints it and exits with status 2. The message is one line
// by construction: a value quoted in it may hold a newline (a multi-line
// TOML string, an escaped key), so control characters are written as
// escapes ("\n", "\r", "\x01").
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::string_view message);
};

// MPI ranks that resolved different configurations. Unlike other errors,
// which every rank meets alike and rank 0 alone reports, each rank reports
// its own view of this one.
class ConfigDisagreement : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

// Where the workers run: on this process's threads, or on MPI ranks
// (`auto`: MPI when started by an MPI launcher).
enum class Backend { kAuto, kThreads, kMpi };

// How the run is carried out; never changes a result, except the `fast`
// reduction, which is not bitwise reproducible.
struct ExecutionConfig {
  Backend backend = Backend::kAuto;
  bool fast_reduction = false;  // MPI_Allreduce instead of the ordered mean
  std::optional<FailureInjection> failure;
  // A checkpoint every this many steps (a multiple of eval-every); 0: none.
  std::int64_t checkpoint_every = 0;
};

// Everything one run needs.
struct RunConfig {
  ObjectiveSpec objective;
  std::string algorithm = "celgc";
  RunOptions options;
  ExecutionConfig execution;
  // The network preset, and the values that override its latency and
  // bandwidth; resolve() puts the result in options.network.
  std::string network = "infiniband-100g";
  std::optional<double> network_latency;
  std::optional<double> network_bandwidth;
  // trace.jsonl keeps the evaluations at multiples of this step, and the
  // last; the stop rule still sees every evaluation.
  std::int64_t trace_every = 1;
  // Theorem 1's parameters (theory.hpp): resolve() replaces step-size,
  // clip-threshold and sync-interval by the theorem's, and steps by its T
  // unless steps is set.
  bool theory_params = false;
  double theory_c = 1.0;           // c of the first-order smoothness form
  double theory_t_constant = 1.0;  // T = this * Delta A L0 (sigma + kappa)^2 / (N eps^4)
  // Lemmas 1 and 3 checked at every step (InvariantChecker).
  bool check_invariants = false;
  RunConfig();  // options.threads defaults to every core
};

std::string_view to_string(Backend backend);

// Prints "error: <message>" on `err`. Under an MPI launcher only rank 0
// does, since every rank meets the same bad input; but every rank reports
// a ConfigDisagreement, its own view of it.
void report(std::ostream& err, const ConfigError& error);

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

// A TOML integer or float as a double, an integer rounded to the nearest
// one (toml++'s value<double>() is empty for an integer beyond 2^53); empty
// for anything else.
std::optional<double> number_of(const toml::node& node);

// Parses a TOML file; a syntax error throws ConfigError with its location.
toml::table parse_toml_file(const std::filesystem::path& path);
// The same for TOML text; `file` names it in messages.
toml::table parse_toml_text(std::string_view text, std::string_view file);

// Defaults, then `settings` in order (later ones win), then every check of
// the library (RunOptions::IsValid, is_valid). Throws ConfigError.
RunConfig resolve(std::span<const Setting> settings);

// The keys of `settings` that the resolved configuration does not read,
// each once: the program warns about them.
std::vector<std::string> unused_keys(const RunConfig& config, std::span<const Setting> settings);

// The resolved configuration: every parameter the run reads (execution
// settings excluded), with family defaults filled in.
nlohmann::ordered_json config_to_json(const RunConfig& config);

// What every MPI rank must agree on: the resolved configuration and the
// execution settings, except `threads`, which may differ between nodes.
nlohmann::ordered_json agreement_json(const RunConfig& config);

// The value's text as the command line would take it.
std::string value_to_text(const Value& value);

}  // namespace distclip::app
