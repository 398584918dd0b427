// One run of the program, from a resolved configuration to its records:
// build the oracle, run the algorithm with the given communicator's workers,
// write the trace, the communication log and the summary into a folder when
// one is given.
#pragma once

#include <filesystem>
#include <optional>
#include <iosfwd>
#include <string>

#include "checkpoint.hpp"
#include "config.hpp"
#include "distclip/algorithms/invariants.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/core/constants.hpp"
#include "distclip/core/record.hpp"
#include "output.hpp"

namespace distclip::app {

struct RunOutcome {
  RunConfig config;
  ExecutionInfo execution;
  OracleConstants constants;
  double f_x0 = 0.0;
  std::string description;  // the oracle's one-line description
  // What a data-based objective read: files with their SHA-256, token
  // counts, vocabulary; null for synthetic objectives.
  nlohmann::ordered_json data;
  // Theorem 1 at this run's constants and eps (null when the objective
  // certifies none or no target is set), with the tightness ratio.
  nlohmann::ordered_json theory;
  // check-invariants = 1: what the checker saw (null otherwise).
  nlohmann::ordered_json invariants;
  std::optional<InvariantViolation> violation;
  RunSummary summary;
};

// The program's exit status for a finished run: 3 when a lemma was
// violated (a certified constant is wrong), else 0.
int exit_status(const RunOutcome& outcome);

// Reads every input the objective needs before any work starts (a language
// model's corpus) and throws ConfigError, one line naming the file or
// field, when one cannot serve.
void check_inputs(const RunConfig& config);

// Where a run saves checkpoints (every checkpoint-every steps), and
// whether it first goes on from the latest one there.
struct CheckpointPlan {
  CheckpointStore* store = nullptr;
  bool resume = false;
};

// Runs `config` with `communicator`'s workers (every rank calls this),
// passing every evaluation to `trace` when there is one. An exception from
// the run is rethrown as std::runtime_error that says at which step.
RunOutcome execute(const RunConfig& config, Communicator& communicator, Observer* trace,
                   const CheckpointPlan& checkpoints = {});

// Writes folder/communication.csv and folder/summary.json.
void write_outcome(const std::filesystem::path& folder, const RunOutcome& outcome);

// execute() that streams folder/trace.jsonl and then writes the outcome
// (the folder must exist); without a folder, writes nothing.
RunOutcome execute_into(const RunConfig& config, Communicator& communicator,
                        const std::filesystem::path* folder,
                        const CheckpointPlan& checkpoints = {});

// A few lines for a person: what ran, how it ended, counts, times and final
// values.
void print_outcome(std::ostream& out, const RunOutcome& outcome);

}  // namespace distclip::app
