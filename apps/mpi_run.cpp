#include "mpi_run.hpp"

#include <climits>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "distclip/core/mpi_communicator.hpp"
#include "execute.hpp"
#include "output.hpp"

namespace distclip::app {

namespace {

namespace fs = std::filesystem;

// Every rank compares its configuration with rank 0's, parameter by
// parameter, and all ranks agree on the first parameter that differs
// anywhere; a ConfigError naming it is thrown on every rank.
void agree_on_config(const RunConfig& config, int rank) {
  const nlohmann::ordered_json mine = agreement_json(config);
  std::string root_text = mine.dump();
  int length = static_cast<int>(root_text.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  root_text.resize(static_cast<std::size_t>(length));
  MPI_Bcast(root_text.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  const nlohmann::ordered_json root = nlohmann::ordered_json::parse(root_text);

  const auto value = [](const nlohmann::ordered_json& json, std::string_view key) {
    const auto it = json.find(std::string(key));
    return it == json.end() ? std::string("(not set)") : it->dump();
  };
  const auto all = parameters();
  int first = INT_MAX;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (value(mine, all[i].key) != value(root, all[i].key)) {
      first = static_cast<int>(i);
      break;
    }
  }
  int agreed = INT_MAX;
  MPI_Allreduce(&first, &agreed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (agreed == INT_MAX) return;
  const std::string_view key = all[static_cast<std::size_t>(agreed)].key;
  if (first == agreed) {
    throw ConfigDisagreement(fmt::format(
        "ranks disagree on the configuration: {} is {} on rank 0 but {} on rank {}; every rank "
        "must get the same arguments and files",
        key, value(root, key), value(mine, key), rank));
  }
  throw ConfigDisagreement(fmt::format(
      "ranks disagree on the configuration: {} differs from rank 0's ({}) on another rank; every "
      "rank must get the same arguments and files",
      key, value(root, key)));
}

// Whether every rank's `ok` is true; a collective.
bool all_ok(bool ok) {
  int local = ok ? 1 : 0;
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return global == 1;
}

// The run, once MPI is up; ConfigError for bad input.
int run_with(const MpiSession& session, const RunConfig& config, const std::string& out,
             bool overwrite, bool resume) {
  const int rank = session.rank();
  const bool root = rank == 0;
  agree_on_config(config, rank);

  // Checks every rank makes alike, before anything is created.
  if (config.options.num_workers % session.size() != 0) {
    throw ConfigError(fmt::format(
        "workers = {} cannot be split into equal blocks over {} MPI ranks: workers must be a "
        "multiple of the rank count",
        config.options.num_workers, session.size()));
  }
  if (config.execution.failure && config.execution.failure->rank >= session.size()) {
    throw ConfigError(fmt::format("inject-failure rank = {}, must be < {} (the rank count)",
                                  config.execution.failure->rank, session.size()));
  }
  const Reduction reduction =
      config.execution.fast_reduction ? Reduction::kFast : Reduction::kOrdered;
  MpiCommunicator communicator(MPI_COMM_WORLD, config.options.num_workers, reduction);

  check_inputs(config);  // every rank reads the same files, and rank 0 reports

  // Only rank 0 writes. It checks now that it can, so that no rank computes
  // for nothing, and creates the folder only after the run: a rank that
  // fails takes rank 0 down with it, and must leave nothing behind.
  std::string folder_error;
  if (root && !out.empty()) {
    try {
      OutputFolder check(out, overwrite);
    } catch (const std::exception& e) {
      folder_error = e.what();
    }
  }
  if (!all_ok(folder_error.empty())) {
    if (root) throw ConfigError(folder_error);
    return 2;
  }
  // Rank 0 checks every rank's checkpoint file, so that one line says what
  // is wrong, before any rank reads its own.
  std::optional<CheckpointStore> checkpoints =
      checkpoint_store_for(config, out, overwrite, resume, communicator);
  const std::string checkpoint_error = resume ? checkpoints->check() : "";
  if (!all_ok(checkpoint_error.empty())) {
    if (root) throw ConfigError(checkpoint_error);
    return 2;
  }
  if (root && resume) {
    fmt::print(std::cout, "resuming from step {} ({})\n", checkpoints->latest_step(),
               checkpoints->folder().string());
  }
  const CheckpointPlan plan{checkpoints ? &*checkpoints : nullptr, resume};

  std::optional<OutputFolder> folder;
  int status = 0;
  try {
    TraceBuffer trace(config.trace_every);
    const RunOutcome outcome = execute(config, communicator, root ? &trace : nullptr, plan);
    status = exit_status(outcome);  // every rank's checker saw the same steps
    if (root) {
      if (!out.empty()) {
        folder.emplace(out, overwrite);
        write_file(folder->staging() / "trace.jsonl", trace.finish());
        write_outcome(folder->staging(), outcome);
        folder->commit();
      }
      if (checkpoints) checkpoints->remove();
      print_outcome(std::cout, outcome);
      if (folder) {
        fmt::print(std::cout, "wrote {0}/trace.jsonl, {0}/communication.csv and {0}/summary.json\n",
                   folder->path().string());
      }
      std::cout.flush();
    }
  } catch (const std::exception& e) {
    // The other ranks may be waiting in a collective for this one: stop them.
    fmt::print(std::cerr, "error: rank {} of {} failed {}\n", rank, session.size(), e.what());
    std::cerr.flush();
    folder.reset();  // MPI_Abort runs no destructors
    MpiSession::abort(1);
  }
  return status;
}

}  // namespace

int run_on_mpi(const RunConfig& config, const std::string& out, bool overwrite, bool resume) {
  MpiSession session(nullptr, nullptr);
  try {
    return run_with(session, config, out, overwrite, resume);
  } catch (const ConfigError& e) {
    // Report before MPI_Finalize: once one rank has exited with an error,
    // the launcher may stop the others before they could say theirs.
    report(std::cerr, e);
    return 2;
  }
}

}  // namespace distclip::app
