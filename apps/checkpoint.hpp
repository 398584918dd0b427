// A run's checkpoints on disk (docs/reliability.md, "Checkpoints"). Every
// rank writes its own state; a checkpoint counts once every rank's file is
// in place and `latest` names it:
//
//   <out>.checkpoint/latest            "step-<t>", replaced atomically
//   <out>.checkpoint/step-<t>/rank-<r>.ckpt
//
// A file is a first line "distclip checkpoint 1", a line of JSON (the
// configuration's identity, step, rank, rank count, the state's length and
// SHA-256) and the runner's state (Runner::resume). A file that is cut
// short, altered or written for another configuration or rank count is
// refused, never resumed from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "distclip/core/communicator.hpp"

namespace distclip::app {

// SHA-256 of what decides the trajectory: every parameter but the
// execution ones (threads, backend, checkpoint-every, ...), the reduction,
// which decides the bits of an MPI run, and the bytes of a language
// model's corpus files (their names are parameters; their folder is not).
std::string checkpoint_identity(const RunConfig& config);

// The checkpoint folder of a run whose results go to `out`.
std::filesystem::path checkpoint_folder(const std::filesystem::path& out);

class CheckpointStore {
 public:
  CheckpointStore(std::filesystem::path folder, std::string identity, Communicator& communicator);

  const std::filesystem::path& folder() const { return folder_; }

  // Every rank, at the same step: writes this rank's file; once every rank
  // has, rank 0 points `latest` at the step and removes older ones. A kill
  // at any moment leaves `latest` naming a complete checkpoint.
  void save(std::int64_t step, std::string_view state);

  // Rank 0 (which checks every rank's file; they share a file system):
  // why the latest checkpoint cannot be resumed from, one line naming the
  // file, or "" when it can. Other ranks get "".
  std::string check() const;

  // This rank's state of the latest checkpoint (after check() passed).
  std::string load() const;
  // The step of the latest checkpoint (after check() passed).
  std::int64_t latest_step() const;

  // Removes the folder: the run's results are committed (rank 0 only).
  void remove() const;

 private:
  std::filesystem::path file_of(const std::filesystem::path& step_folder, int rank) const;
  // Why `file` cannot serve rank `rank`, or "".
  std::string check_file(const std::filesystem::path& file, int rank, std::int64_t step) const;

  std::filesystem::path folder_;
  std::string identity_;
  Communicator& communicator_;
};

// The store of a `distclip run --out out` with these settings, or none
// when it neither checkpoints nor resumes. Throws ConfigError when the two
// need an --out that is not given, and when an earlier run's checkpoint is
// in the way of a fresh one (--overwrite removes it, on rank 0). Whether a
// resume can go on is check()'s to say.
std::optional<CheckpointStore> checkpoint_store_for(const RunConfig& config,
                                                    const std::string& out, bool overwrite,
                                                    bool resume, Communicator& communicator);

}  // namespace distclip::app
