// What a run leaves on disk: a results folder that appears only when
// complete, the JSON-lines trace of its evaluations, and its summary.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "distclip/algorithms/observer.hpp"
#include "distclip/core/constants.hpp"
#include "distclip/core/record.hpp"

namespace distclip::app {

// A results folder written under "<path>.partial-<pid>" and renamed to
// <path> by commit(), so that a reader never mistakes a half-written folder
// for a result. Dropped without commit(), the partial folder is removed.
class OutputFolder {
 public:
  // Throws ConfigError if <path> exists and `overwrite` is false, before
  // creating anything.
  OutputFolder(std::filesystem::path path, bool overwrite);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // Where to write until commit().
  const std::filesystem::path& staging() const { return staging_; }
  const std::filesystem::path& path() const { return path_; }
  // Moves the finished folder into place, replacing an old one when
  // overwriting is allowed.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
};

// Fails with the file and the system's reason if the folder cannot be used.
void check_writable(const std::filesystem::path& file, std::ostream& stream);

// An EvalRecord as one JSON object (NaN becomes null).
nlohmann::ordered_json record_to_json(const EvalRecord& record);

// The evaluations a trace keeps: those at steps that are multiples of
// `every` (the trace-every parameter), and the last one, whatever its step.
class TraceObserver : public Observer {
 public:
  explicit TraceObserver(std::int64_t every) : every_(every) {}
  ObserverDecision on_evaluation(const EvalRecord& record) final;
  // The trace so far, and the evaluation it may still have to keep.
  void save_state(StateWriter& out) const final;
  void restore_state(StateReader& in) final;

 protected:
  // Records the last evaluation if it was skipped; call once, at the end.
  void keep_last();
  virtual void keep(const EvalRecord& record) = 0;
  // The lines kept so far, and (restoring) the lines to start from.
  virtual std::string kept() const = 0;
  virtual void restore_kept(std::string_view lines) = 0;

 private:
  std::int64_t every_;
  std::optional<EvalRecord> skipped_;
};

// Writes the kept evaluations as lines of JSON.
class TraceWriter final : public TraceObserver {
 public:
  TraceWriter(const std::filesystem::path& file, std::int64_t every);
  // Writes the last evaluation, flushes and checks that everything reached
  // the file.
  void close();

 private:
  void keep(const EvalRecord& record) override;
  std::string kept() const override;
  void restore_kept(std::string_view lines) override;
  std::filesystem::path file_;
  mutable std::ofstream stream_;
};

// Keeps the evaluations as lines of JSON, to be written once the run is
// over: an MPI run creates its folder only then, so that a rank that fails
// and takes rank 0 down with it leaves nothing behind.
class TraceBuffer final : public TraceObserver {
 public:
  explicit TraceBuffer(std::int64_t every) : TraceObserver(every) {}
  // The whole trace, the last evaluation included; call after the run.
  const std::string& finish();

 private:
  void keep(const EvalRecord& record) override;
  std::string kept() const override { return text_; }
  void restore_kept(std::string_view lines) override { text_ = lines; }
  std::string text_;
};

// Hex SHA-256 of `bytes`, and of the bytes of `x` (little-endian IEEE
// doubles).
std::string sha256_hex(std::string_view bytes);
std::string sha256_hex(const Vector& x);
// SHA-256 of a file's bytes; "unreadable" when it cannot be read.
std::string sha256_of_file(const std::filesystem::path& file);

nlohmann::ordered_json constants_to_json(const OracleConstants& constants, double f_x0);

// Where a run ran, for its summary.
struct ExecutionInfo {
  std::string backend = "threads";  // threads or mpi
  std::string communicator = "in-process";
  int ranks = 1;
  bool bitwise_reproducible = true;
};

// The summary of one run: the resolved configuration, where it ran, the
// oracle's constants, how it ended, its counts, communication (modelled and
// measured), times (measured and projected) and final measurements.
nlohmann::ordered_json summary_to_json(const RunConfig& config, const ExecutionInfo& execution,
                                       const OracleConstants& constants, double f_x0,
                                       const RunSummary& summary);

// One CSV row per algorithm average and rank: when it happened, what it
// exchanged, and the rank's measured bytes and seconds.
std::string communication_csv(const CommunicationSummary& communication, int ranks);

// Writes `content` to `file`, failing with the file and the system's reason.
void write_file(const std::filesystem::path& file, const std::string& content);

// Writes `json` to `file`, pretty-printed, checking for errors.
void write_json(const std::filesystem::path& file, const nlohmann::ordered_json& json);

// Writes `content` to a temporary file beside `file`, flushes it to disk
// and renames it over `file`: a reader sees the old file or the whole new
// one, never a part, even if the process is killed.
void write_file_atomically(const std::filesystem::path& file, std::string_view content);

}  // namespace distclip::app
