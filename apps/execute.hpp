// One run of the program, from a resolved configuration to its records:
// build the oracle, run the algorithm on threads, write the trace and the
// summary into a folder when one is given.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "config.hpp"
#include "distclip/core/constants.hpp"
#include "distclip/core/record.hpp"

namespace distclip::app {

struct RunOutcome {
  RunConfig config;
  OracleConstants constants;
  double f_x0 = 0.0;
  std::string description;  // the oracle's one-line description
  RunSummary summary;
};

// Runs `config`. With a `folder`, writes folder/trace.jsonl and
// folder/summary.json (the folder must exist).
RunOutcome execute(const RunConfig& config, const std::filesystem::path* folder);

// A few lines for a person: what ran, how it ended, counts and final values.
void print_outcome(std::ostream& out, const RunOutcome& outcome);

}  // namespace distclip::app
