// What a night of sweeps must survive, through the real program in child
// processes: a run killed with SIGKILL resumes from its checkpoint to the
// bits of a run never interrupted; a corrupted, foreign or missing
// checkpoint is refused with one line; a sweep killed after any number of
// cells or in the middle of one loses nothing, duplicates nothing and ends
// with the uninterrupted sweep's tables; a full disk is an error, never a
// half-written result.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace distclip {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Exit {
  int status = -1;  // the exit status, or 128 + the signal that ended it
  std::string out;
  std::string err;
};

class Reliability : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("distclip-reliability-{}-{}", info->name(), ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts `distclip args...` in the test's folder, its output in out.txt
  // and err.txt; a file size limit (bytes) makes writes past it fail as on
  // a full disk (EFBIG instead of ENOSPC, through the same code).
  pid_t start(const std::vector<std::string>& args, rlim_t file_size_limit = RLIM_INFINITY) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::chdir(dir_.c_str()) != 0) ::_exit(126);
      std::freopen("out.txt", "w", stdout);
      std::freopen("err.txt", "w", stderr);
      if (file_size_limit != RLIM_INFINITY) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
      }
      std::vector<char*> argv{const_cast<char*>(DISTCLIP_PROGRAM)};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(DISTCLIP_PROGRAM, argv.data());
      ::_exit(127);
    }
    return pid;
  }

  Exit finish(pid_t pid) {
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    Exit exit;
    exit.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    exit.out = slurp(dir_ / "out.txt");
    exit.err = slurp(dir_ / "err.txt");
    return exit;
  }

  Exit program(const std::vector<std::string>& args, rlim_t file_size_limit = RLIM_INFINITY) {
    return finish(start(args, file_size_limit));
  }

  // Polls every millisecond until `ready()` or the child has exited; kills
  // it with SIGKILL if it is still running. False if it exited first.
  template <class Ready>
  bool kill_when(pid_t pid, Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int raw = 0;
      if (::waitpid(pid, &raw, WNOHANG) == pid) return false;
      if (ready()) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &raw, 0);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
  }

  fs::path dir_;
};

// A trace line and a summary without the times, which differ from run to
// run; everything else is compared bit for bit (as printed: %.17g).
Json without_times(Json json) {
  if (json.is_object()) {
    for (const char* key : {"wall_time_s", "compute_time_s", "communication_time_s",
                            "projected_time_s", "time", "communication", "execution"}) {
      json.erase(key);
    }
    for (auto& [key, value] : json.items()) value = without_times(value);
  }
  return json;
}

std::vector<Json> trace_of(const fs::path& file) {
  std::vector<Json> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(without_times(Json::parse(line)));
  return lines;
}

// The columns of communication.csv that are not measured times.
std::string communication_without_seconds(const fs::path& file) {
  std::ifstream in(file);
  std::string kept;
  for (std::string line; std::getline(in, line);) kept += line.substr(0, line.rfind(',')) + '\n';
  return kept;
}

void expect_same_run(const fs::path& a, const fs::path& b) {
  const std::vector<Json> trace_a = trace_of(a / "trace.jsonl");
  const std::vector<Json> trace_b = trace_of(b / "trace.jsonl");
  ASSERT_EQ(trace_a.size(), trace_b.size());
  for (std::size_t k = 0; k < trace_a.size(); ++k) EXPECT_EQ(trace_a[k], trace_b[k]) << "line " << k;
  const Json summary_a = Json::parse(slurp(a / "summary.json"));
  const Json summary_b = Json::parse(slurp(b / "summary.json"));
  EXPECT_EQ(summary_a["final_iterate_sha256"], summary_b["final_iterate_sha256"]);
  EXPECT_EQ(without_times(summary_a), without_times(summary_b));
  EXPECT_EQ(communication_without_seconds(a / "communication.csv"),
            communication_without_seconds(b / "communication.csv"));
}

// The step `latest` names, or -1.
std::int64_t latest_checkpoint(const fs::path& folder) {
  std::string name = slurp(folder / "latest");
  if (!name.starts_with("step-")) return -1;
  return std::stoll(name.substr(5));
}

// CELGC, N = 4, I = 4, on d = 2000: about a second, checkpoints every 1000
// steps of 20000.
const std::vector<std::string> kLongRun = {
    "run", "--dim", "2000", "--noise", "ball", "--workers", "4", "--sync-interval", "4",
    "--step-size", "0.01", "--clip-threshold", "0.5", "--steps", "20000", "--eval-every", "100",
    "--trace-every", "500", "--threads", "1"};

std::vector<std::string> with(std::vector<std::string> args,
                              const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(Reliability, ARunKilledAtAnyMomentResumesToTheUninterruptedBits) {
  ASSERT_EQ(program(with(kLongRun, {"--out", "whole"})).status, 0);
  // Killed after the first, second and fourth checkpoints appeared, each a
  // moment no code chose; resumed on 2 threads.
  for (const std::int64_t after : {1000, 2000, 4000}) {
    SCOPED_TRACE(fmt::format("killed once step {} was saved", after));
    fs::remove_all(dir_ / "r");
    fs::remove_all(dir_ / "r.checkpoint");
    const pid_t pid = start(with(kLongRun, {"--checkpoint-every", "1000", "--out", "r"}));
    ASSERT_TRUE(kill_when(pid, [&] { return latest_checkpoint(dir_ / "r.checkpoint") >= after; }))
        << "the run ended before it could be killed";
    EXPECT_FALSE(fs::exists(dir_ / "r"));  // no result from a killed run
    const Exit resumed = program(with(kLongRun, {"--checkpoint-every", "1000", "--out", "r",
                                                 "--resume", "--threads", "2"}));
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resuming from step"), std::string::npos);
    expect_same_run(dir_ / "whole", dir_ / "r");
    EXPECT_FALSE(fs::exists(dir_ / "r.checkpoint"));  // done with once the result is in place
    for (const auto& entry : fs::directory_iterator(dir_)) {
      EXPECT_EQ(entry.path().filename().string().find(".partial-"), std::string::npos)
          << "left behind: " << entry.path();
    }
  }
}

// Killed at a fixed collective (the failure injection), so that the
// checkpoint is known: the 1500th average comes before step 6000, after the
// checkpoints at 2000 and 4000.
TEST_F(Reliability, ACorruptedForeignOrMissingCheckpointIsRefused) {
  const auto killed = with(kLongRun, {"--checkpoint-every", "2000", "--out", "r",
                                      "--inject-failure", "0:1500:kill"});
  ASSERT_EQ(program(killed).status, 128 + SIGKILL);
  ASSERT_EQ(latest_checkpoint(dir_ / "r.checkpoint"), 4000);
  const fs::path file = dir_ / "r.checkpoint" / "step-4000" / "rank-0.ckpt";
  const std::string good = slurp(file);
  const auto resume = [&](std::vector<std::string> more) {
    return program(with(with(kLongRun, {"--out", "r", "--resume"}), more));
  };
  const auto expect_refused = [&](const Exit& exit, const std::string& expected) {
    EXPECT_EQ(exit.status, 2) << exit.err;
    EXPECT_EQ(exit.err.rfind("error: ", 0), 0u) << exit.err;
    EXPECT_NE(exit.err.find(expected), std::string::npos) << exit.err;
    EXPECT_EQ(std::count(exit.err.begin(), exit.err.end(), '\n'), 1) << exit.err;
    EXPECT_FALSE(fs::exists(dir_ / "r"));
  };

  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 0x10;  // one bit of the state
  std::ofstream(file, std::ios::binary) << flipped;
  expect_refused(resume({}), "rank-0.ckpt is corrupted (its checksum does not match)");

  std::ofstream(file, std::ios::binary) << good.substr(0, good.size() / 2);
  expect_refused(resume({}), "rank-0.ckpt is corrupted (its checksum does not match)");

  std::ofstream(file, std::ios::binary) << "not a checkpoint\n";
  expect_refused(resume({}), "rank-0.ckpt is not a distclip checkpoint");

  std::ofstream(file, std::ios::binary) << good;
  expect_refused(resume({"--seed", "2"}), "was written by another configuration");
  expect_refused(resume({"--step-size", "0.02"}), "was written by another configuration");

  // The thread count and checkpoint interval are not the configuration.
  const Exit fine = resume({"--threads", "2", "--checkpoint-every", "500"});
  EXPECT_EQ(fine.status, 0) << fine.err;
  fs::remove_all(dir_ / "r");
  expect_refused(resume({}), "resume: no checkpoint in r.checkpoint");  // used up
}

// A language model's checkpoint names its corpus by the bytes: an edited
// file is another configuration, the same bytes in another data folder are
// not, and the resumed run is the uninterrupted one.
TEST_F(Reliability, ALanguageModelCheckpointKnowsItsCorpusByItsBytes) {
  const auto write_corpus = [&](const fs::path& folder, const std::string& last_word) {
    fs::create_directories(folder);
    std::ofstream out(folder / "text.txt");
    for (int line = 0; line < 200; ++line) out << "the cat sat on the mat " << line % 7 << "\n";
    out << last_word << "\n";
  };
  write_corpus(dir_ / "a", "end");
  write_corpus(dir_ / "b", "end");
  // 2 workers averaging every 2 steps: 30 averages in 60 steps, a
  // checkpoint every 20 steps; the kill comes before the 25th average.
  const std::vector<std::string> lstm = {
      "run",          "--objective", "lstm", "--level", "word", "--train-file", "text.txt",
      "--embedding",  "4",           "--hidden", "4", "--window", "8", "--batch-size", "2",
      "--workers",    "2",           "--sync-interval", "2", "--steps", "60",
      "--eval-every", "10",          "--step-size", "0.5", "--threads", "1"};
  // The summary names the files: the uninterrupted run reads b, where the
  // resumed one ends.
  const Exit whole = program(with(lstm, {"--data", "b", "--out", "whole"}));
  ASSERT_EQ(whole.status, 0) << whole.err;
  const Exit killed = program(with(lstm, {"--data", "a", "--out", "r", "--checkpoint-every", "20",
                                          "--inject-failure", "0:25:kill"}));
  ASSERT_EQ(killed.status, 128 + SIGKILL) << killed.err;
  ASSERT_EQ(latest_checkpoint(dir_ / "r.checkpoint"), 40);

  write_corpus(dir_ / "a", "END");  // one word of the training text changed
  const Exit edited = program(with(lstm, {"--data", "a", "--out", "r", "--resume"}));
  EXPECT_EQ(edited.status, 2) << edited.err;
  EXPECT_NE(edited.err.find("was written by another configuration"), std::string::npos)
      << edited.err;
  EXPECT_FALSE(fs::exists(dir_ / "r"));

  const Exit moved = program(with(lstm, {"--data", "b", "--out", "r", "--resume"}));
  ASSERT_EQ(moved.status, 0) << moved.err;
  expect_same_run(dir_ / "whole", dir_ / "r");
}

TEST_F(Reliability, AnEarlierRunsCheckpointIsNeitherMixedInNorLost) {
  const auto killed = with(kLongRun, {"--checkpoint-every", "2000", "--out", "r",
                                      "--inject-failure", "0:1500:kill"});
  ASSERT_EQ(program(killed).status, 128 + SIGKILL);
  const Exit fresh = program(with(kLongRun, {"--checkpoint-every", "2000", "--out", "r"}));
  EXPECT_EQ(fresh.status, 2);
  EXPECT_NE(fresh.err.find("r.checkpoint holds the checkpoint of an earlier run: pass --resume "
                           "to go on from it, or --overwrite to start over"),
            std::string::npos)
      << fresh.err;
  EXPECT_EQ(latest_checkpoint(dir_ / "r.checkpoint"), 4000);
  const Exit over =
      program(with(kLongRun, {"--checkpoint-every", "2000", "--out", "r", "--overwrite"}));
  EXPECT_EQ(over.status, 0) << over.err;
  EXPECT_TRUE(fs::exists(dir_ / "r" / "summary.json"));
}

TEST_F(Reliability, AFullDiskIsAnErrorAndLeavesNoResult) {
  // 64 kB of file: enough for the config, not for the trace of 200
  // evaluations (about 60 kB) plus the communication log.
  const std::vector<std::string> run = {"run", "--dim", "10", "--workers", "2", "--steps",
                                        "2000", "--eval-every", "10", "--threads", "1",
                                        "--out", "r"};
  const Exit full = program(run, 16 * 1024);
  EXPECT_EQ(full.status, 1) << full.err;
  EXPECT_EQ(full.err.rfind("error: ", 0), 0u) << full.err;
  EXPECT_NE(full.err.find("cannot write r.partial-"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("File too large"), std::string::npos) << full.err;
  EXPECT_EQ(std::count(full.err.begin(), full.err.end(), '\n'), 1) << full.err;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("r"))
        << "left behind: " << entry.path();
  }
}

TEST_F(Reliability, AnOutputFolderThatCannotBeMadeIsOneLineAndNoWork) {
  std::ofstream(dir_ / "a-file") << "not a folder\n";
  std::ofstream(dir_ / "night.toml") << "name = \"n\"\n[base]\nsteps = 10\n";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--steps", "10", "--out", "a-file/r"},
           {"run", "--steps", "10", "--eval-every", "5", "--checkpoint-every", "5", "--out",
            "a-file/r"},
           {"sweep", "night.toml", "--out", "a-file/s"}}) {
    const Exit exit = program(args);
    EXPECT_EQ(exit.status, 1) << exit.err;
    EXPECT_EQ(exit.err.rfind("error: cannot create a-file/", 0), 0u) << exit.err;
    EXPECT_NE(exit.err.find("Not a directory"), std::string::npos) << exit.err;
    EXPECT_EQ(std::count(exit.err.begin(), exit.err.end(), '\n'), 1) << exit.err;
    EXPECT_TRUE(exit.out.empty()) << exit.out;  // nothing ran
  }
}

// A dimension valid in itself whose vectors cannot exist (8 d bytes
// overflow: refused by the allocator whatever the machine's overcommit
// policy) is one line, not a crash.
TEST_F(Reliability, VectorsThatDoNotFitAreAnErrorNotACrash) {
  const Exit exit = program({"run", "--dim", "4000000000000000000", "--steps", "1", "--out", "r"});
  EXPECT_EQ(exit.status, 1) << exit.err;
  EXPECT_EQ(exit.err,
            "error: out of memory: the run's vectors do not fit in this machine's memory; lower "
            "dim, workers or samples\n");
  EXPECT_FALSE(fs::exists(dir_ / "r"));
}

// Six cells of about a third of a second each: CELGC at three intervals,
// two seeds.
const std::string kSweep = R"toml(name = "night"
[base]
dim = 2000
noise = "ball"
sigma = 0.5
workers = 4
clip-threshold = 0.5
step-size = 0.02
steps = 5000
eval-every = 50
trace-every = 1000
threads = 1
target = 0.5
[grid]
sync-interval = [1, 2, 4]
seed = [1, 2]
)toml";

std::vector<std::string> finished_cells(const fs::path& out) {
  std::vector<std::string> cells;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(out / "cells", error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with('.')) cells.push_back(name);
  }
  std::sort(cells.begin(), cells.end());
  return cells;
}

bool a_cell_is_running(const fs::path& out) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(out / "cells", error)) {
    if (entry.path().filename().string().starts_with('.')) return true;
  }
  return false;
}

// What a sweep computed: each cell's summary without times, and the
// analysis tables.
std::map<std::string, std::string> results_of(const fs::path& out) {
  std::map<std::string, std::string> results;
  for (const std::string& cell : finished_cells(out)) {
    results[cell] = without_times(Json::parse(slurp(out / "cells" / cell / "summary.json"))).dump();
  }
  for (const char* table : {"complexity.csv", "fits.csv", "speedup.csv"}) {
    results[table] = slurp(out / "analysis" / table);
  }
  return results;
}

TEST_F(Reliability, ASweepKilledAnywhereLosesNothingAndDuplicatesNothing) {
  std::ofstream(dir_ / "night.toml") << kSweep;
  const std::vector<std::string> sweep = {"sweep", "night.toml", "--out", "night", "--jobs", "1"};
  ASSERT_EQ(program({"sweep", "night.toml", "--out", "whole", "--jobs", "1"}).status, 0);
  const auto uninterrupted = results_of(dir_ / "whole");
  ASSERT_EQ(finished_cells(dir_ / "whole").size(), 6u);

  // Kills after a random number of finished cells (seeded: the same trials
  // every time), and in the middle of a cell.
  std::mt19937 draw(2026);
  struct Trial {
    std::string name;
    std::size_t cells;  // kill once this many are done...
    bool mid_cell;      // ...and, if set, once the next one has started
  };
  std::vector<Trial> trials;
  for (int k = 0; k < 2; ++k) {
    const std::size_t cells = std::uniform_int_distribution<std::size_t>(1, 5)(draw);
    trials.push_back({fmt::format("after {} cells", cells), cells, false});
  }
  trials.push_back({"in the middle of the third cell", 2, true});
  for (const Trial& trial : trials) {
    SCOPED_TRACE(trial.name);
    fs::remove_all(dir_ / "night");
    const pid_t pid = start(sweep);
    ASSERT_TRUE(kill_when(pid, [&] {
      const std::size_t done = finished_cells(dir_ / "night").size();
      return done >= trial.cells && (!trial.mid_cell || a_cell_is_running(dir_ / "night"));
    })) << "the sweep ended before it could be killed";
    std::map<std::string, std::string> kept;
    for (const std::string& cell : finished_cells(dir_ / "night")) {
      kept[cell] = slurp(dir_ / "night" / "cells" / cell / "summary.json");
    }
    EXPECT_GE(kept.size(), trial.cells);
    EXPECT_LT(kept.size(), 6u);

    const Exit again = program(sweep);
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.out.find(fmt::format("{} of 6 runs already done", kept.size())),
              std::string::npos)
        << again.out;
    for (const auto& [cell, summary] : kept) {
      EXPECT_EQ(slurp(dir_ / "night" / "cells" / cell / "summary.json"), summary)
          << cell << " changed";
    }
    EXPECT_EQ(finished_cells(dir_ / "night").size(), 6u);  // none lost, none twice
    EXPECT_FALSE(a_cell_is_running(dir_ / "night"));       // no staging folder left
    EXPECT_EQ(results_of(dir_ / "night"), uninterrupted);
  }
}

}  // namespace
}  // namespace distclip
