// The fuzz targets' checks: each feeds one input to an entry point of the
// config path (a run's TOML, a sweep's TOML, the command line) and aborts
// unless the input is accepted or rejected by one ConfigError line that
// names the field. Nothing runs and nothing is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace distclip::fuzz {

// The input as a run's TOML file (distclip run --config): parsed, resolved,
// and turned into the resolved configuration a run records.
void check_run_toml(std::span<const std::uint8_t> input);

// The input as a sweep's TOML file: parsed, and every cell, link and tuning
// candidate resolved, as `distclip sweep` does before its first run.
void check_sweep_toml(std::span<const std::uint8_t> input);

// The input as a command line, one argument a line (or NUL-separated),
// without the program name: parsed by the program's subcommands; a `run`
// line's parameters are also resolved.
void check_command_line(std::span<const std::uint8_t> input);

}  // namespace distclip::fuzz
