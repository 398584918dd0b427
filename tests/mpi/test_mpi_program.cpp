// `mpirun -np R distclip run` against the threaded run, through the real
// program in child processes: the same trace and final iterate, bit for bit,
// for every algorithm and clipping option and R in {1, 2, 4}; and the ways an
// MPI run must fail (a failing or killed rank, ranks that disagree, a worker
// count the ranks do not divide), each quickly, with a message saying where.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace distclip {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
  double seconds = 0.0;
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class MpiProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("distclip-mpi-{}-{}", info->name(), ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs a shell command in the test's folder; the launch environment lets
  // Open MPI run as root and oversubscribe the 2 cores of CI.
  Result shell(const std::string& command) const {
    const std::string line = fmt::format(
        "cd '{}' && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "OMPI_MCA_rmaps_base_oversubscribe=1 {} > out.txt 2> err.txt",
        dir_.string(), command);
    const auto start = std::chrono::steady_clock::now();
    const int raw = std::system(line.c_str());
    Result result;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    result.out = slurp(dir_ / "out.txt");
    result.err = slurp(dir_ / "err.txt");
    return result;
  }

  Result threads(const std::string& args) const {
    return shell(fmt::format("'{}' run {}", DISTCLIP_PROGRAM, args));
  }
  Result mpi(int ranks, const std::string& args) const {
    return shell(fmt::format("'{}' -np {} '{}' run {}", DISTCLIP_MPIEXEC, ranks, DISTCLIP_PROGRAM,
                             args));
  }

  fs::path dir_;
};

// The trace without its times, which differ from run to run.
std::vector<Json> trace_without_times(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Json> lines;
  for (std::string line; std::getline(in, line);) {
    Json record = Json::parse(line);
    for (const char* key :
         {"wall_time_s", "compute_time_s", "communication_time_s", "projected_time_s"}) {
      EXPECT_TRUE(record.contains(key)) << key;
      record.erase(key);
    }
    lines.push_back(std::move(record));
  }
  return lines;
}

// What a summary says about the trajectory: everything but where and how
// long it ran.
Json result_of(const fs::path& file) {
  std::ifstream in(file);
  Json summary = Json::parse(in);
  summary.erase("execution");
  summary.erase("time");
  summary["counts"].erase("wall_time_s");
  summary["communication"].erase("measured_per_rank");
  for (const char* key :
       {"wall_time_s", "compute_time_s", "communication_time_s", "projected_time_s"}) {
    if (summary["final"].is_object()) summary["final"].erase(key);
  }
  return summary;
}

// The communication log's columns that describe the algorithm, rank 0's
// rows: collective, step, round, exchange.
std::vector<std::string> schedule_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream row(line);
    for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
    if (fields.size() == 8 && fields[4] == "0") {
      rows.push_back(fields[0] + "," + fields[1] + "," + fields[2] + "," + fields[3]);
    }
  }
  return rows;
}

struct Case {
  std::string label;
  std::string args;
  std::vector<int> ranks;
};

std::vector<Case> equality_cases() {
  const std::string common =
      "--objective double-well --dim 50 --noise ball --sigma 2 --step-size 0.05 "
      "--clip-threshold 0.3 --steps 60 --seed 5";
  const std::string several = common + " --workers 8 --sync-interval 4";
  std::vector<Case> cases;
  for (const char* option : {"local", "global-average", "max"}) {
    cases.push_back({fmt::format("celgc {}", option),
                     fmt::format("{} --algorithm celgc --clip-option {}", several, option),
                     {1, 2, 4}});
  }
  for (const char* algorithm : {"naive-parallel-clip", "local-sgd", "minibatch-sgd"}) {
    cases.push_back({algorithm, fmt::format("{} --algorithm {}", several, algorithm), {1, 2, 4}});
  }
  // The corrected methods' second vector, and the measured kappa of a
  // heterogeneous objective, are collectives too.
  for (const char* algorithm : {"episode", "scaffold", "local-clipped-momentum"}) {
    cases.push_back({fmt::format("{} heterogeneous", algorithm),
                     fmt::format("{} --algorithm {} --heterogeneity 0.5", several, algorithm),
                     {2, 4}});
  }
  for (const char* algorithm : {"clipped-sgd", "sgd", "normalized-sgd", "clipped-momentum"}) {
    cases.push_back({algorithm, fmt::format("{} --algorithm {} --workers 1", common, algorithm),
                     {1}});
  }
  // The language model, where the data is at hand (DISTCLIP_DATA).
  const char* data = std::getenv("DISTCLIP_DATA");
  if (data != nullptr && fs::exists(fs::path(data) / "tinyshakespeare/input.txt")) {
    cases.push_back({"celgc on the lstm objective",
                     "--objective lstm --train-file tinyshakespeare/input.txt --level char "
                     "--embedding 8 --hidden 16 --window 12 --batch-size 4 --eval-windows 8 "
                     "--workers 4 --sync-interval 4 --step-size 2 --clip-threshold 0.3 "
                     "--steps 24 --eval-every 8 --seed 2",
                     {1, 2}});
  }
  // Worker 5 (rank 1 of 2, rank 2 of 4) is the first to exceed the bound:
  // the ranks must agree on who diverged, when, and at what value.
  cases.push_back({"divergence on a worker of another rank",
                   "--objective cosh-well --dim 50 --noise student-t --sigma 3 --algorithm "
                   "local-sgd --workers 8 --sync-interval 4 --step-size 0.05 --steps 60 "
                   "--eval-every 100 --seed 3 --divergence-bound 204",
                   {1, 2, 4}});
  return cases;
}

TEST_F(MpiProgram, EveryAlgorithmIsBitwiseTheThreadedRunOnAnyRankCount) {
  for (const Case& c : equality_cases()) {
    SCOPED_TRACE(c.label);
    const Result reference = threads(c.args + " --threads 2 --out threads --overwrite");
    ASSERT_EQ(reference.status, 0) << reference.err;
    const auto expected_trace = trace_without_times(dir_ / "threads" / "trace.jsonl");
    const Json expected = result_of(dir_ / "threads" / "summary.json");
    const auto expected_schedule = schedule_of(dir_ / "threads" / "communication.csv");
    ASSERT_FALSE(expected_trace.empty());
    for (const int ranks : c.ranks) {
      SCOPED_TRACE(fmt::format("{} ranks", ranks));
      const std::string out = fmt::format("mpi{}", ranks);
      // Thread counts vary too: they must not matter either.
      const Result run = mpi(ranks, fmt::format("{} --threads {} --out {} --overwrite", c.args,
                                                ranks == 2 ? 2 : 1, out));
      ASSERT_EQ(run.status, 0) << run.err;
      EXPECT_EQ(trace_without_times(dir_ / out / "trace.jsonl"), expected_trace);
      const Json summary = result_of(dir_ / out / "summary.json");
      EXPECT_EQ(summary, expected) << summary.dump(1) << "\nexpected\n" << expected.dump(1);
      EXPECT_EQ(schedule_of(dir_ / out / "communication.csv"), expected_schedule);
      const Json raw = Json::parse(slurp(dir_ / out / "summary.json"));
      EXPECT_EQ(raw["execution"]["backend"], "mpi");
      EXPECT_EQ(raw["execution"]["ranks"], ranks);
      EXPECT_EQ(raw["communication"]["measured_per_rank"].size(), static_cast<std::size_t>(ranks));
    }
  }
}

TEST_F(MpiProgram, TheDivergenceCaseReallyDivergesOnWorkerFive) {
  // Guards the case above (the last): it must exercise agreement on another
  // rank's worker.
  const Case c = equality_cases().back();
  ASSERT_EQ(threads(c.args + " --out d").status, 0);
  const Json summary = Json::parse(slurp(dir_ / "d" / "summary.json"));
  EXPECT_EQ(summary["status"], "diverged");
  EXPECT_EQ(summary["divergence"]["quantity"], "stochastic gradient norm of worker 5");
}

const std::string kLongRun =
    "--dim 1000 --noise ball --workers 8 --sync-interval 4 --steps 100000000 --eval-every 1000 "
    "--threads 1 --out result";

TEST_F(MpiProgram, ARankThatThrowsStopsEveryRankAndSaysWhere) {
  const Result run = mpi(2, kLongRun + " --inject-failure 1:5");
  EXPECT_NE(run.status, 0);
  EXPECT_LT(run.seconds, 10.0);
  // Averages 1..4 open rounds at steps 0, 4, 8, 12; the fifth comes at step 16.
  EXPECT_NE(run.err.find("error: rank 1 of 2 failed at step 16: injected failure before "
                         "algorithm collective 5"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(fs::exists(dir_ / "result"));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find("result"), std::string::npos)
        << "left behind: " << entry.path();
  }
}

TEST_F(MpiProgram, ARankThatDiesStopsEveryRank) {
  const Result run = mpi(2, kLongRun + " --inject-failure 1:5:kill");
  EXPECT_NE(run.status, 0);
  EXPECT_LT(run.seconds, 10.0);
  EXPECT_NE(run.err.find("rank 1"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(dir_ / "result"));
}

// A rank killed mid-run; the run resumed from its checkpoint on the same
// rank count (and other thread counts) ends as the threaded run never
// interrupted does, bit for bit. A checkpoint of 2 ranks is refused on 4.
TEST_F(MpiProgram, ARunResumedFromItsCheckpointIsBitwiseTheUninterruptedOne) {
  const std::string args =
      "--objective double-well --dim 50 --noise ball --sigma 2 --step-size 0.05 "
      "--clip-threshold 0.3 --steps 2000 --eval-every 50 --workers 8 --sync-interval 4 "
      "--algorithm episode --heterogeneity 0.5 --threads 1";
  ASSERT_EQ(threads(args + " --out whole").status, 0);
  // EPISODE averages twice a round: the 600th average opens step 1196.
  const Result killed =
      mpi(2, args + " --checkpoint-every 500 --inject-failure 1:600:kill --out r");
  ASSERT_NE(killed.status, 0);
  EXPECT_EQ(slurp(dir_ / "r.checkpoint" / "latest"), "step-1000\n");
  EXPECT_FALSE(fs::exists(dir_ / "r"));

  const Result four = mpi(4, args + " --resume --out r");
  EXPECT_EQ(four.status, 2);
  EXPECT_NE(four.err.find("was written by a run on 2 rank(s), this run has 4: resume on 2"),
            std::string::npos)
      << four.err;

  const Result resumed = mpi(2, args + " --resume --threads 2 --out r");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming from step 1000"), std::string::npos) << resumed.out;
  EXPECT_EQ(trace_without_times(dir_ / "r" / "trace.jsonl"),
            trace_without_times(dir_ / "whole" / "trace.jsonl"));
  EXPECT_EQ(result_of(dir_ / "r" / "summary.json"), result_of(dir_ / "whole" / "summary.json"));
  EXPECT_EQ(schedule_of(dir_ / "r" / "communication.csv"),
            schedule_of(dir_ / "whole" / "communication.csv"));
  EXPECT_FALSE(fs::exists(dir_ / "r.checkpoint"));
}

TEST_F(MpiProgram, RanksThatDisagreeAllSayOnWhat) {
  const std::string args = "--dim 100 --workers 2 --steps 10 --threads 1";
  const Result run = shell(fmt::format("'{0}' -np 1 '{1}' run {2} --step-size 0.1 : -np 1 '{1}' "
                                       "run {2} --step-size 0.2",
                                       DISTCLIP_MPIEXEC, DISTCLIP_PROGRAM, args));
  EXPECT_EQ(run.status, 2);
  EXPECT_LT(run.seconds, 10.0);
  EXPECT_NE(run.err.find("step-size is 0.1 on rank 0 but 0.2 on rank 1"), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("step-size differs from rank 0's (0.1) on another rank"),
            std::string::npos)
      << run.err;
}

TEST_F(MpiProgram, ThreadCountsMayDifferBetweenRanks) {
  const std::string args = "--dim 100 --workers 2 --steps 10";
  const Result run = shell(fmt::format("'{0}' -np 1 '{1}' run {2} --threads 1 : -np 1 '{1}' "
                                       "run {2} --threads 2",
                                       DISTCLIP_MPIEXEC, DISTCLIP_PROGRAM, args));
  EXPECT_EQ(run.status, 0) << run.err;
}

TEST_F(MpiProgram, WorkersTheRanksDoNotDivideAreRejectedOnce) {
  const Result run = mpi(3, "--dim 100 --workers 8 --steps 10 --threads 1 --out result");
  EXPECT_EQ(run.status, 2);
  EXPECT_LT(run.seconds, 10.0);
  const std::string message =
      "error: workers = 8 cannot be split into equal blocks over 3 MPI ranks";
  const std::size_t first = run.err.find(message);
  EXPECT_NE(first, std::string::npos) << run.err;
  EXPECT_EQ(run.err.find(message, first + 1), std::string::npos) << "reported twice:\n" << run.err;
  EXPECT_FALSE(fs::exists(dir_ / "result"));
}

TEST_F(MpiProgram, FastReductionSaysItIsNotReproducible) {
  const Result run =
      mpi(2, "--dim 100 --workers 4 --steps 20 --threads 1 --reduction fast --out result");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("NOT bitwise reproducible"), std::string::npos) << run.out;
  const Json summary = Json::parse(slurp(dir_ / "result" / "summary.json"));
  EXPECT_EQ(summary["execution"]["communicator"], "mpi-fast");
  EXPECT_EQ(summary["execution"]["bitwise_reproducible"], false);
}

TEST_F(MpiProgram, ThreadsBackendUnderALauncherIsRefused) {
  const Result run = mpi(2, "--dim 100 --workers 2 --steps 10 --backend threads");
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("backend = threads under an MPI launcher"), std::string::npos) << run.err;
}

TEST_F(MpiProgram, OnlyRankZeroPrints) {
  const Result run = mpi(4, "--dim 100 --workers 4 --steps 10 --threads 1");
  ASSERT_EQ(run.status, 0) << run.err;
  const std::string line = "status: budget_exhausted";
  const std::size_t first = run.out.find(line);
  EXPECT_NE(first, std::string::npos) << run.out;
  EXPECT_EQ(run.out.find(line, first + 1), std::string::npos) << run.out;
}

}  // namespace
}  // namespace distclip
