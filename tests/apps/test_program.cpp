// The distclip program end to end, through main_program: outputs on disk,
// bitwise reproducibility, bad input, divergence, help, sweeps, and the
// configurations shipped in configs/.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "config.hpp"
#include "distclip/algorithms/algorithm.hpp"
#include "distclip/objectives/catalog.hpp"
#include "program_fixture.hpp"
#include "sweep.hpp"

namespace distclip::app {
namespace {

namespace fs = std::filesystem;
using cli_test::expect_bad_input;
using cli_test::Program;
using cli_test::read_json;
using cli_test::read_lines;
using cli_test::Result;
using cli_test::run_program;

const std::vector<std::string> kSketch = {
    "run",           "--objective", "double-well", "--dim",          "100",
    "--noise",       "ball",        "--sigma",     "1",              "--algorithm",
    "celgc",         "--clip-option", "local",     "--workers",      "8",
    "--sync-interval", "8",         "--step-size", "0.05",           "--clip-threshold",
    "0.5",           "--steps",     "200",         "--seed",         "1"};

std::vector<std::string> with(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

TEST_F(Program, RunWritesATraceAndASummary) {
  const Result r = run_program(with(kSketch, {"--threads", "2", "--out", (dir_ / "a").string()}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("budget_exhausted"), std::string::npos) << r.out;
  const auto summary = read_json(dir_ / "a" / "summary.json");
  EXPECT_EQ(summary.at("status"), "budget_exhausted");
  EXPECT_EQ(summary.at("config").at("workers"), 8);
  EXPECT_EQ(summary.at("config").at("sync-interval"), 8);
  EXPECT_EQ(summary.at("counts").at("steps"), 200);
  EXPECT_EQ(summary.at("counts").at("rounds"), 25);
  EXPECT_EQ(summary.at("counts").at("stochastic_gradients"), 1600);
  EXPECT_EQ(summary.at("constants").at("L1"), 3.0);
  EXPECT_EQ(summary.at("final_iterate_sha256").get<std::string>().size(), 64u);
  // 25 ring all-reduces of 100 doubles among 8 workers on the default network.
  const auto& communication = summary.at("communication");
  EXPECT_EQ(communication.at("collectives"), 25);
  EXPECT_EQ(communication.at("modelled").at("network"), "infiniband-100g");
  EXPECT_EQ(communication.at("modelled").at("bytes_per_collective"), 2 * 7 * 100 * 8);
  EXPECT_EQ(summary.at("counts").at("bytes"), 25 * 2 * 7 * 100 * 8);
  const auto& time = summary.at("time");
  EXPECT_DOUBLE_EQ(time.at("projected_s").get<double>(),
                   time.at("compute_s").get<double>() +
                       time.at("communication_modelled_s").get<double>());
  EXPECT_EQ(summary.at("execution").at("backend"), "threads");
  EXPECT_EQ(summary.at("execution").at("bitwise_reproducible"), true);
  // communication.csv: a header and one row per average (one rank).
  std::ifstream csv(dir_ / "a" / "communication.csv");
  std::vector<std::string> rows;
  for (std::string line; std::getline(csv, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 26u);
  EXPECT_EQ(rows[0], "collective,step,round,exchange,rank,bytes_sent,bytes_received,seconds");
  EXPECT_EQ(rows[2].rfind("2,8,2,models,0,0,0,", 0), 0u) << rows[2];
  const auto trace = read_lines(dir_ / "a" / "trace.jsonl");
  ASSERT_EQ(trace.size(), 201u);  // every step 0..T is evaluated by default
  EXPECT_EQ(trace.front().at("step"), 0);
  EXPECT_EQ(trace.back(), summary.at("final"));
  // Nothing left behind but the result.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(Program, SameSeedGivesTheSameBitsForAnyThreadCount) {
  std::vector<std::string> hashes;
  for (const char* threads : {"1", "2", "4"}) {
    const fs::path out = dir_ / threads;
    ASSERT_EQ(run_program(with(kSketch, {"--threads", threads, "--out", out.string()})).status, 0);
    hashes.push_back(read_json(out / "summary.json").at("final_iterate_sha256"));
  }
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
  const fs::path other = dir_ / "seed2";
  ASSERT_EQ(run_program(with(kSketch, {"--seed", "2", "--out", other.string()})).status, 0);
  EXPECT_NE(read_json(other / "summary.json").at("final_iterate_sha256"), hashes[0]);
}

TEST_F(Program, CommandLineOverridesTheConfigFile) {
  const fs::path out = dir_ / "run";
  const Result r = run_program({"run", "--config", DISTCLIP_SOURCE_DIR "/configs/example-run.toml",
                                "--steps", "30", "--sync-interval", "16", "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto config = read_json(out / "summary.json").at("config");
  EXPECT_EQ(config.at("steps"), 30);
  EXPECT_EQ(config.at("sync-interval"), 16);
  EXPECT_EQ(config.at("clip-threshold"), 0.5);  // from the file
}

TEST_F(Program, BadInputIsOneLineExitTwoAndNoFolder) {
  const fs::path bad_toml = dir_ / "bad.toml";
  std::ofstream(bad_toml) << "workers = 8\nstep_size = 0.1\n";
  const fs::path wrong_type = dir_ / "type.toml";
  std::ofstream(wrong_type) << "steps = \"many\"\n";
  const fs::path broken = dir_ / "broken.toml";
  std::ofstream(broken) << "steps = = 3\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--objective", "sphere"}, "objective = 'sphere'"},
      {{"--algorithm", "adam"}, "algorithm = 'adam'"},
      {{"--clip-option", "median"}, "clip-option = 'median'"},
      {{"--no-such-option", "1"}, "--no-such-option"},
      {{"--step-size", "0"}, "step-size = 0"},
      {{"--clip-threshold", "-1"}, "clip-threshold = -1"},
      {{"--noise", "ball", "--sigma", "0"}, "sigma = 0"},
      {{"--workers", "0"}, "workers = 0"},
      {{"--sync-interval", "0"}, "sync-interval = 0"},
      {{"--dim", "0"}, "dim = 0"},
      {{"--steps", "0"}, "steps = 0"},
      {{"--steps", "ten"}, "steps = ten"},
      {{"--config", bad_toml.string()}, "unknown key 'step_size'"},
      {{"--config", wrong_type.string()}, "steps = 'many' (a string)"},
      {{"--config", broken.string()}, "broken.toml:1"},
      {{"--config", (dir_ / "missing.toml").string()}, "missing.toml"},
      {{"--checkpoint-every", "-1"}, "checkpoint-every = -1, must be an integer >= 0"},
      {{"--checkpoint-every", "15", "--eval-every", "10"},
       "checkpoint-every = 15, must be a multiple of eval-every (10)"},
      {{"--resume"}, "resume: no checkpoint in"},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> argv{"run"};
    argv.insert(argv.end(), args.begin(), args.end());
    expect_bad_input(argv, dir_, expected);
    for (const auto& entry : fs::directory_iterator(dir_)) {
      EXPECT_EQ(entry.path().filename().string().find("out"), std::string::npos)
          << "left " << entry.path() << " after: " << expected;
    }
  }
}

// The language model's data is read before any work: a file that cannot
// serve is one line naming it, exit 2, no folder.
TEST_F(Program, BadDataFilesAreOneLineExitTwoAndNoFolder) {
  const fs::path binary = dir_ / "binary.txt", empty = dir_ / "empty.txt", tiny = dir_ / "tiny.txt";
  std::ofstream(binary) << std::string("text\0more", 9);
  std::ofstream(empty) << "";
  std::ofstream(tiny) << "a b c\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--train-file", (dir_ / "missing.txt").string()}, "missing.txt"},
      {{"--train-file", binary.string()}, "binary.txt' is not UTF-8 text: NUL byte at offset 4"},
      {{"--train-file", empty.string()}, "empty.txt"},
      {{"--train-file", tiny.string(), "--heldout-file", tiny.string(), "--level", "word"},
       "tiny.txt' has 4 tokens, fewer than window + 1 = 36"},
      {{"--train-file", tiny.string(), "--heldout-file", tiny.string(), "--max-vocabulary", "3",
        "--level", "word"},
       "above max-vocabulary = 3"},
      {{"--train-file", tiny.string(), "--noise", "ball"}, "noise = 'ball', must be none"},
      {{}, "train-file is required"},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> argv{"run", "--objective", "lstm", "--hidden", "4", "--embedding",
                                  "4"};
    argv.insert(argv.end(), args.begin(), args.end());
    expect_bad_input(argv, dir_, expected);
    EXPECT_FALSE(fs::exists(dir_ / "out")) << expected;
  }
}

// A language-model run records the held-out loss at every evaluation and
// names its data, with the file's SHA-256, in the summary.
TEST_F(Program, LanguageModelRunRecordsHeldOutLossAndItsData) {
  const fs::path text = dir_ / "text.txt";
  {
    std::ofstream out(text);
    for (int line = 0; line < 200; ++line) out << "the cat sat on the mat " << line % 7 << "\n";
  }
  const Result r = run_program({"run", "--objective", "lstm", "--level", "word", "--train-file",
                                text.string(), "--embedding", "8", "--hidden", "8", "--window",
                                "10", "--batch-size", "4", "--workers", "2", "--steps", "20",
                                "--eval-every", "10", "--step-size", "1", "--out",
                                (dir_ / "a").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("held out: loss = "), std::string::npos) << r.out;
  const auto trace = read_lines(dir_ / "a" / "trace.jsonl");
  ASSERT_EQ(trace.size(), 3u);
  for (const auto& record : trace) {
    EXPECT_NEAR(record.at("heldout_perplexity").get<double>(),
                std::exp(record.at("heldout_loss").get<double>()), 1e-9);
  }
  const auto summary = read_json(dir_ / "a" / "summary.json");
  const auto& data = summary.at("data");
  EXPECT_EQ(data.at("level"), "word");
  EXPECT_EQ(data.at("vocabulary"), 13);  // the cat sat on mat, 0 to 6, and <eos>
  EXPECT_EQ(data.at("train").at("tokens"), 180 * 8);  // 90% of 200 lines of 7 words + <eos>
  EXPECT_EQ(data.at("heldout").at("tokens"), 20 * 8);
  EXPECT_EQ(data.at("train").at("sha256").get<std::string>().size(), 64u);
  EXPECT_EQ(summary.at("config").at("objective"), "lstm");
  EXPECT_FALSE(summary.at("config").contains("dim"));
}

TEST_F(Program, DivergenceIsAResultNotACrash) {
  // Plain SGD with a large step on the exponential-growth objective: from
  // x0 = 4 one step throws the iterate to about -25, where cosh overflows.
  const fs::path out = dir_ / "diverged";
  const Result r =
      run_program({"run", "--objective", "cosh-well", "--dim", "10", "--algorithm", "sgd",
                   "--step-size", "1", "--steps", "100", "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("diverged at step"), std::string::npos) << r.out;
  const auto summary = read_json(out / "summary.json");
  EXPECT_EQ(summary.at("status"), "diverged");
  EXPECT_GT(summary.at("divergence").at("step").get<int>(), 0);
  EXPECT_LT(summary.at("divergence").at("step").get<int>(), 100);
  EXPECT_TRUE(summary.at("final").is_null());
  EXPECT_TRUE(summary.at("final_iterate_sha256").is_null());
  EXPECT_FALSE(read_lines(out / "trace.jsonl").empty());
}

TEST_F(Program, AnExistingFolderIsReplacedOnlyWhenAsked) {
  const fs::path out = dir_ / "a";
  const auto args = with(kSketch, {"--steps", "10", "--out", out.string()});
  ASSERT_EQ(run_program(args).status, 0);
  const Result again = run_program(args);
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(run_program(with(args, {"--overwrite"})).status, 0);
  EXPECT_TRUE(fs::exists(out / "summary.json"));
}

TEST_F(Program, HelpAndListDescribeEverything) {
  const Result help = run_program({"--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* command : {"run", "list", "sweep"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  }
  const Result run_help = run_program({"run", "--help"});
  EXPECT_EQ(run_help.status, 0);
  for (const Parameter& p : parameters()) {
    EXPECT_NE(run_help.out.find("--" + std::string(p.key)), std::string::npos) << p.key;
    EXPECT_NE(run_help.out.find(std::string(p.accepted)), std::string::npos) << p.key;
  }
  const Result list = run_program({"list"});
  EXPECT_EQ(list.status, 0);
  for (const auto& family : objective_families()) {
    EXPECT_NE(list.out.find(std::string(family.name)), std::string::npos) << family.name;
  }
  for (const auto& noise : noise_models()) {
    EXPECT_NE(list.out.find(std::string(noise.name)), std::string::npos) << noise.name;
  }
  for (const Algorithm& a : algorithms()) {
    EXPECT_NE(list.out.find(std::string(a.name)), std::string::npos) << a.name;
  }
  EXPECT_EQ(run_program({"--version"}).out, "0.1.0\n");
  EXPECT_EQ(run_program({}).status, 2);
}

TEST_F(Program, SweepRunsEveryCellAndWritesTheTables) {
  const fs::path file = dir_ / "small.toml";
  std::ofstream(file) << R"(
[base]
dim = 5
noise = "ball"
workers = 2
steps = 40
target = 100.0
[[arm]]
algorithm = "naive-parallel-clip"
[[arm]]
algorithm = "celgc"
sync-interval = [2, 4]
[grid]
seed = [1, 2]
)";
  const fs::path out = dir_ / "sweep";
  const Result r = run_program({"sweep", file.string(), "--out", out.string(), "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream csv(out / "results.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u + 6u);  // header, (1 + 2 arms) x 2 seeds
  EXPECT_EQ(lines[0].rfind("cell,series,objective,dim,", 0), 0u) << lines[0];
  const nlohmann::json manifest = read_json(out / "sweep.json");
  ASSERT_EQ(manifest["cells"].size(), 6u);
  for (const auto& cell : manifest["cells"]) {
    EXPECT_TRUE(fs::exists(out / cell["folder"].get<std::string>() / "summary.json"));
  }
  EXPECT_EQ(manifest["state"], "complete");
  EXPECT_TRUE(fs::exists(out / "table.txt"));
  EXPECT_TRUE(fs::exists(out / "sweep.toml"));
  EXPECT_TRUE(fs::exists(out / "analysis" / "complexity.csv"));
  // Seeds are aggregated: one row per series (eps = 100, N = 2, 2 runs, both
  // reached).
  std::ifstream complexity(out / "analysis" / "complexity.csv");
  const std::string text(std::istreambuf_iterator<char>(complexity), {});
  EXPECT_NE(text.find("\"algorithm = celgc, sync-interval = 4\",100,2,2,2,0,40,"), std::string::npos)
      << text;
}

TEST_F(Program, ABadSweepIsRejectedBeforeAnythingRuns) {
  const fs::path file = dir_ / "bad.toml";
  std::ofstream(file) << "[base]\nsteps = 10\n[grid]\nsync-interval = [1, 0]\n";
  const Result r = run_program({"sweep", file.string(), "--out", (dir_ / "out").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("sync-interval = 0"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST(ShippedConfigs, ResolveAndHaveTheExpectedShape) {
  const SweepPlan plan = load_sweep(DISTCLIP_SOURCE_DIR "/configs/paper-synthetic.toml", {});
  EXPECT_EQ(plan.cells.size(), 18u);  // (1 naive + 5 intervals) x 3 seeds
  EXPECT_EQ(plan.varying_keys,
            (std::vector<std::string>{"algorithm", "sync-interval", "seed"}));
  for (const SweepCell& cell : plan.cells) {
    EXPECT_EQ(cell.config.options.num_workers, 8);
    EXPECT_TRUE(cell.config.options.target.has_value());
  }
  // The eps sweep: Theorem 1's rules, linked to eps.
  const SweepPlan eps = load_sweep(DISTCLIP_SOURCE_DIR "/configs/eps-sweep.toml", {});
  EXPECT_EQ(eps.cells.size(), 35u);  // 7 eps x 5 seeds
  EXPECT_EQ(eps.varying_keys, (std::vector<std::string>{"seed", "target"}));  // toml++ sorts keys
  for (const SweepCell& cell : eps.cells) {
    const RunOptions& o = cell.config.options;
    const double target = *o.target;
    // gamma = 2 N eps^2 / (sigma L0) with L0 = 2 on the double well.
    EXPECT_DOUBLE_EQ(o.clip_threshold, 2.0 * 4 * target * target / 2.0);
    EXPECT_DOUBLE_EQ(o.step_size, o.clip_threshold / 5.0);
    EXPECT_EQ(o.sync_interval, std::max(1, static_cast<int>(std::floor(1.0 / (8.0 * target)))));
  }
  // The speedup sweep: two named arms over N.
  const SweepPlan speedup = load_sweep(DISTCLIP_SOURCE_DIR "/configs/speedup.toml", {});
  EXPECT_EQ(speedup.cells.size(), 60u);  // 2 arms x 6 N x 5 seeds
  EXPECT_EQ(speedup.varying_keys, (std::vector<std::string>{"arm", "seed", "workers"}));
  EXPECT_EQ(speedup.cells.front().series, "arm = theory, workers = 1");
  const RunConfig example = resolve(settings_from_table(
      parse_toml_file(DISTCLIP_SOURCE_DIR "/configs/example-run.toml"), "example-run.toml"));
  EXPECT_EQ(example.algorithm, "celgc");
}

}  // namespace
}  // namespace distclip::app
