// Sweeps end to end: linked parameters, resuming an interrupted sweep,
// parallel cells, censoring in the analysis, step-size tuning, and the
// folder rules.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyze.hpp"
#include "plot.hpp"
#include "program_fixture.hpp"
#include "sweep.hpp"

namespace distclip::app {
namespace {

namespace fs = std::filesystem;
using cli_test::Program;
using cli_test::read_json;
using cli_test::Result;
using cli_test::run_program;

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Final-iterate hashes by cell folder: what a sweep computed, bit for bit.
std::map<std::string, std::string> hashes_of(const fs::path& out) {
  std::map<std::string, std::string> hashes;
  const nlohmann::json manifest = read_json(out / "sweep.json");
  for (const auto& cell : manifest["cells"]) {
    const std::string folder = cell["folder"].get<std::string>();
    hashes[folder] = read_json(out / folder / "summary.json")["final_iterate_sha256"];
  }
  return hashes;
}

// A quick problem: CELGC on 2 workers, d = 5, bounded noise.
const std::string kQuick = R"toml(
dim = 5
noise = "ball"
sigma = 0.5
workers = 2
clip-threshold = 0.5
)toml";

// Six quick cells: CELGC at three intervals, two seeds.
const std::string kSmall = "name = \"small\"\n[base]\n" + kQuick + R"toml(
step-size = 0.05
steps = 300
target = 0.5
[grid]
sync-interval = [1, 2, 4]
seed = [1, 2]
)toml";

class Sweep : public Program {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path file = dir_ / name;
    std::ofstream(file) << text;
    return file;
  }
};

TEST_F(Sweep, LinksComputeParametersPerCell) {
  const fs::path file = write("linked.toml", R"toml(
[base]
dim = 5
noise = "ball"
sigma = 2.0
workers = 4
target = 0.1
clip-threshold = "= N * eps^2 / (sigma * L0)"
step-size = "= gamma / (5 * sigma)"
sync-interval = "= max(1, floor(1 / (2 * N * eps)))"
[grid]
workers = [1, 2, 4]
)toml");
  const SweepPlan plan = load_sweep(file, {});
  ASSERT_EQ(plan.cells.size(), 3u);
  EXPECT_EQ(plan.varying_keys, (std::vector<std::string>{"workers"}));
  EXPECT_EQ(plan.linked_keys,
            (std::vector<std::string>{"clip-threshold", "step-size", "sync-interval"}));
  for (const SweepCell& cell : plan.cells) {
    const RunOptions& o = cell.config.options;
    const double n = o.num_workers;
    // The double well's certified L0 is 2.
    EXPECT_DOUBLE_EQ(o.clip_threshold, n * 0.01 / (2.0 * 2.0));
    EXPECT_DOUBLE_EQ(o.step_size, o.clip_threshold / 10.0);
    EXPECT_EQ(o.sync_interval, static_cast<int>(std::floor(1.0 / (0.2 * n))));
  }
}

TEST_F(Sweep, ABadLinkIsOneLineNamingTheKey) {
  const auto error_of = [&](const std::string& link) {
    const fs::path file = write("bad.toml", "[base]\ntarget = 0.1\n" + link + "\n");
    try {
      load_sweep(file, {});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // An unknown name lists the names a cell defines.
  const std::string unknown = error_of("step-size = \"= gamm / 5\"");
  EXPECT_NE(unknown.find("bad.toml:3: step-size"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("unknown name 'gamm'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("gamma"), std::string::npos) << unknown;
  // An integer parameter must come out whole.
  const std::string half = error_of("sync-interval = \"= 1 / (4 * eps)\"");
  EXPECT_NE(half.find("gives 2.5, must be an integer >= 1 (round it"), std::string::npos) << half;
  // Links compute numbers only; a link to an unknown key is the schema's error.
  EXPECT_NE(error_of("algorithm = \"= 1\"").find("a link computes a number"), std::string::npos);
  EXPECT_NE(error_of("sync-intervall = \"= 2\"").find("did you mean 'sync-interval'"),
            std::string::npos);
  EXPECT_NE(error_of("step-size = \"= 1 / \"").find("step-size"), std::string::npos);
  // A link whose value the library rejects names the parameter.
  EXPECT_NE(error_of("step-size = \"= -eps\"").find("step-size = -0.1"), std::string::npos);
}

// Found by fuzz/: an integer beyond 2^53, which no double holds exactly,
// where a sweep wants a number (toml++'s value<double>() is empty for it):
// the nearest double, not "bad optional access" or an unset optional read.
TEST_F(Sweep, AnIntegerBeyondTwoToThe53IsANumberInTuneAndAnalysis) {
  const SweepPlan plan = plan_sweep(toml::parse(R"toml(
[base]
target = 0.1
[tune]
step-size = [0.001, 19400000000000001]
seeds = [101]
[analysis]
targets = [19400000000000001]
efficiency-threshold = 1
)toml"),
                                    "big.toml", {});
  ASSERT_TRUE(plan.tune.has_value());
  ASSERT_EQ(plan.tune->candidates.size(), 2u);
  EXPECT_EQ(std::get<double>(plan.tune->candidates[1][0].value), 19400000000000000.0);
  EXPECT_EQ(plan.analysis.targets, std::vector<double>{19400000000000000.0});
  EXPECT_EQ(plan.analysis.efficiency_threshold, 1.0);
}

// Found by fuzz/: a tuning seed that is a float beyond any integer, which
// toml++ converted to one without a range check (undefined behaviour), is
// refused as any non-integer seed is.
TEST_F(Sweep, ATuningSeedMustBeAnInteger) {
  for (const char* seeds : {"[1e308]", "[1.0]", "[-1]", "[\"1\"]"}) {
    try {
      plan_sweep(toml::parse(fmt::format("[base]\ntarget = 0.1\n[tune]\nstep-size = [0.01]\n"
                                         "seeds = {}\n",
                                         seeds)),
                 "seeds.toml", {});
      ADD_FAILURE() << "accepted seeds = " << seeds;
    } catch (const ConfigError& e) {
      EXPECT_STREQ(e.what(), "seeds.toml:5: tune.seeds must list integers >= 0") << seeds;
    }
  }
}

TEST_F(Sweep, AnInterruptedSweepFinishesOnlyTheRest) {
  const fs::path file = write("small.toml", kSmall);
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run_program({"sweep", file.string(), "--out", out.string(), "--threads", "1"}).status, 0);
  const auto complete = hashes_of(out);
  ASSERT_EQ(complete.size(), 6u);
  const auto measured = [&] {
    std::vector<std::pair<double, double>> steps_and_rounds;
    for (const ComplexityPoint& p : analyze(load_results(out)).complexity) {
      steps_and_rounds.emplace_back(p.iterations.value, p.rounds.value);
    }
    return steps_and_rounds;
  };
  const auto uninterrupted = measured();
  ASSERT_EQ(uninterrupted.size(), 3u);

  // As a kill after 4 cells leaves it: 2 cell folders never committed, a
  // staging folder half-written, the manifest still "running".
  const auto cells = read_json(out / "sweep.json")["cells"];
  fs::remove_all(out / cells[1]["folder"].get<std::string>());
  fs::remove_all(out / cells[4]["folder"].get<std::string>());
  fs::create_directories(out / "cells" / ".0123456789abcdef.partial-1-2");
  const fs::path kept = out / cells[0]["folder"].get<std::string>() / "summary.json";
  const auto kept_time = fs::last_write_time(kept);
  nlohmann::json manifest = read_json(out / "sweep.json");
  manifest["state"] = "running";
  std::ofstream(out / "sweep.json") << manifest.dump(2);
  EXPECT_EQ(run_program({"analyze", out.string()}).status, 2);  // not finished

  const Result again =
      run_program({"sweep", file.string(), "--out", out.string(), "--threads", "1"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("4 of 6 runs already done"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("[6/6]"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("[5/6]"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("[4/6]"), std::string::npos) << again.out;  // only two ran
  EXPECT_EQ(fs::last_write_time(kept), kept_time);  // finished cells untouched
  EXPECT_FALSE(fs::exists(out / "cells" / ".0123456789abcdef.partial-1-2"));
  EXPECT_EQ(hashes_of(out), complete);  // no cell lost, none duplicated, same bits
  EXPECT_EQ(measured(), uninterrupted);
  EXPECT_EQ(read_json(out / "sweep.json")["cells"].size(), 6u);
}

TEST_F(Sweep, ParallelCellsGiveTheSameBits) {
  const fs::path file = write("small.toml", kSmall);
  ASSERT_EQ(run_program({"sweep", file.string(), "--out", (dir_ / "one").string(), "--jobs", "1"})
                .status,
            0);
  const Result parallel =
      run_program({"sweep", file.string(), "--out", (dir_ / "three").string(), "--jobs", "3"});
  ASSERT_EQ(parallel.status, 0) << parallel.err;
  EXPECT_EQ(hashes_of(dir_ / "one"), hashes_of(dir_ / "three"));
}

TEST_F(Sweep, AFolderOfAnotherSweepIsRefusedUnlessForced) {
  const fs::path file = write("small.toml", kSmall);
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run_program({"sweep", file.string(), "--out", out.string()}).status, 0);
  const fs::path other = write("other.toml", kSmall + "[analysis]\ntargets = [0.5]\n");
  const Result refused = run_program({"sweep", other.string(), "--out", out.string()});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("holds the results of another sweep ('small'"), std::string::npos)
      << refused.err;
  EXPECT_EQ(read_json(out / "sweep.json")["name"], "small");
  const Result forced = run_program({"sweep", other.string(), "--out", out.string(), "--force"});
  EXPECT_EQ(forced.status, 0) << forced.err;
  // A folder that is no sweep's is never deleted, even with --force.
  fs::create_directories(dir_ / "mine");
  std::ofstream(dir_ / "mine" / "notes.txt") << "keep me";
  const Result foreign =
      run_program({"sweep", file.string(), "--out", (dir_ / "mine").string(), "--force"});
  EXPECT_EQ(foreign.status, 2);
  EXPECT_TRUE(fs::exists(dir_ / "mine" / "notes.txt"));
  EXPECT_NE(run_program({"analyze", (dir_ / "mine").string()}).err.find("no sweep.json"),
            std::string::npos);
}

TEST_F(Sweep, RunsThatMissEpsAreCensoredNotDropped) {
  // 60 steps reach eps = 2 for every seed, eps = 0.3 for none: the median
  // of the latter is known only to exceed the budget.
  const fs::path file = write("censored.toml", "name = \"censored\"\n[base]\n" + kQuick + R"toml(
step-size = 0.05
steps = 60
[grid]
seed = [1, 2, 3]
[analysis]
targets = [2.0, 0.3]
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const SweepAnalysis analysis = analyze(load_results(out));
  ASSERT_EQ(analysis.complexity.size(), 2u);
  const ComplexityPoint& easy = analysis.complexity[0];
  const ComplexityPoint& hard = analysis.complexity[1];
  EXPECT_EQ(easy.eps, 2.0);
  EXPECT_EQ(easy.runs, 3);
  EXPECT_EQ(easy.reached, 3);
  EXPECT_TRUE(std::isfinite(easy.iterations.value));
  EXPECT_EQ(hard.eps, 0.3);
  EXPECT_EQ(hard.runs, 3);  // kept
  EXPECT_EQ(hard.reached, 0);
  EXPECT_TRUE(std::isinf(hard.iterations.value));  // not imputed
  EXPECT_NE(r.out.find("> 60"), std::string::npos) << r.out;
  // The ergodic hit in the trace is the analysis's T: the first step whose
  // average is <= 2.
  const auto trace = load_results(out).runs.front().trace;
  const auto hit = std::ranges::find_if(
      trace, [](const TracePoint& p) { return p.step > 0 && p.ergodic_grad_norm <= 2.0; });
  ASSERT_NE(hit, trace.end());
  std::vector<double> steps;
  for (const RunRecord& run : load_results(out).runs) {
    steps.push_back(static_cast<double>(std::ranges::find_if(run.trace, [](const TracePoint& p) {
                                          return p.step > 0 && p.ergodic_grad_norm <= 2.0;
                                        })->step));
  }
  std::ranges::sort(steps);
  EXPECT_EQ(easy.iterations.value, steps[1]);
}

TEST_F(Sweep, TuningPicksTheFastestStepSizeWithSeedsOfItsOwn) {
  const fs::path file = write("tuned.toml", "name = \"tuned\"\n[base]\n" + kQuick + R"toml(
steps = 2000
target = 0.3
[grid]
seed = [1, 2]
[tune]
step-size = [0.001, 0.05, 0.02]
seeds = [101, 102]
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  // 0.001 is too slow to reach eps in the budget; the larger step is faster.
  EXPECT_NE(r.out.find("tuned all: step-size = 0.05 (2/2 tuning runs reached eps"),
            std::string::npos)
      << r.out;
  const nlohmann::json manifest = read_json(out / "sweep.json");
  for (const auto& cell : manifest["cells"]) EXPECT_EQ(cell["values"]["step-size"], 0.05);
  const std::string tuning = read_text(out / "tuning.csv");
  EXPECT_EQ(std::count(tuning.begin(), tuning.end(), '\n'), 1 + 3 * 2);
  EXPECT_NE(tuning.find(",0.001,101,budget_exhausted,2000,0,0"), std::string::npos) << tuning;

  const fs::path clash = write("clash.toml", "[base]\ntarget = 0.3\n[grid]\nseed = [1, 101]\n"
                                             "[tune]\nstep-size = [0.1]\nseeds = [101]\n");
  const Result refused = run_program({"sweep", clash.string(), "--out", (dir_ / "c").string()});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("seed = 101 is also a tuning seed"), std::string::npos) << refused.err;
}

TEST_F(Sweep, FitsAndSpeedupFollowTheSweepsAxes) {
  // Three N at one eps, with the step growing with N as Theorem 1 has it.
  const fs::path file = write("speedup.toml", R"toml(
name = "speedup"
[base]
dim = 2
noise = "ball"
sigma = 1.0
target = 0.2
clip-threshold = "= N * eps^2 / (sigma * L0)"
step-size = "= gamma / (5 * sigma)"
sync-interval = 2
steps = 200000
[grid]
workers = [1, 2, 4]
seed = [1, 2, 3]
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const SweepAnalysis analysis = analyze(load_results(out));
  ASSERT_EQ(analysis.speedup.size(), 3u);
  EXPECT_EQ(analysis.speedup[0].workers, 1);
  EXPECT_DOUBLE_EQ(analysis.speedup[0].iterations.value, 1.0);
  // Linear speedup within 25% (the step doubles with N; what is left is the
  // noise of 3 seeds and the transient).
  EXPECT_NEAR(analysis.speedup[2].iterations.value, 4.0, 1.0);
  const auto fit = std::ranges::find_if(analysis.fits, [](const ComplexityFit& f) {
    return f.quantity == "iterations" && f.axis == "N";
  });
  ASSERT_NE(fit, analysis.fits.end());
  EXPECT_EQ(fit->theory_slope, -1.0);
  EXPECT_NEAR(fit->fit.slope, -1.0, 0.2);
  // Rounds: I is fixed, so their theory exponent is T's.
  const auto rounds = std::ranges::find_if(analysis.fits, [](const ComplexityFit& f) {
    return f.quantity == "rounds" && f.axis == "N";
  });
  ASSERT_NE(rounds, analysis.fits.end());
  EXPECT_EQ(rounds->theory_slope, -1.0);
  EXPECT_NE(read_text(out / "analysis" / "speedup.csv").find("speedup,speedup_low"),
            std::string::npos);
}

TEST_F(Sweep, FitsAlongSigmaPlusKappaJoinTheHeterogeneityLevels) {
  // Local SGD drifts more as kappa grows; EPISODE's corrections cancel
  // linear tilts exactly, so its trajectories are the same bits at every
  // kappa and its slope along sigma + kappa is exactly 0.
  const fs::path file = write("kappa.toml", R"toml(
name = "kappa"
[base]
dim = 4
noise = "ball"
sigma = 0.5
workers = 4
sync-interval = 8
step-size = 0.05
clip-threshold = 0.5
target = 0.1
steps = 20000
eval-every = 10
[grid]
algorithm = ["local-sgd", "episode"]
heterogeneity = [0.0, 1.0, 2.0]
seed = [1, 2]
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const SweepAnalysis analysis = analyze(load_results(out));
  for (const ComplexityPoint& p : analysis.complexity) {
    EXPECT_EQ(p.line.find("heterogeneity"), std::string::npos) << p.line;
    EXPECT_NE(p.series.find("heterogeneity"), std::string::npos) << p.series;
  }
  const auto along = [&](const std::string& line) {
    return std::ranges::find_if(analysis.fits, [&](const ComplexityFit& f) {
      return f.quantity == "iterations" && f.axis == "sigma + kappa" && f.series == line;
    });
  };
  const auto episode = along("algorithm = episode");
  ASSERT_NE(episode, analysis.fits.end());
  EXPECT_EQ(episode->at(), "eps = 0.1, N = 4");
  EXPECT_EQ(episode->theory_slope, 2.0);
  EXPECT_EQ(episode->fit.points, 3);
  EXPECT_EQ(episode->fit.slope, 0.0);
  const auto local = along("algorithm = local-sgd");
  ASSERT_NE(local, analysis.fits.end());
  EXPECT_GT(local->fit.slope, 0.0);
  // x = sigma + kappa, from the runs' own constants.
  std::vector<double> levels;
  for (const ComplexityPoint& p : analysis.complexity) {
    if (p.line == "algorithm = episode") levels.push_back(p.noise_level);
  }
  EXPECT_EQ(levels, (std::vector<double>{0.5, 1.5, 2.5}));
  EXPECT_NE(read_text(out / "analysis" / "fits.csv").find("sigma + kappa,0.1,\"eps = 0.1, N = 4\""),
            std::string::npos)
      << read_text(out / "analysis" / "fits.csv");
  // And its figure.
  const std::vector<fs::path> figures = render_figures(analysis, out / "figures");
  EXPECT_NE(std::ranges::find(figures, out / "figures" / "iterations-vs-noise-and-heterogeneity.png"),
            figures.end());
}

TEST_F(Sweep, AFailedCellIsRecordedAndTheOthersGoOn) {
  // The second arm's run throws before its third average.
  const fs::path file = write("failing.toml", "name = \"failing\"\n[base]\n" + kQuick + R"toml(
step-size = 0.05
steps = 50
[[arm]]
seed = 1
[[arm]]
seed = 2
inject-failure = "0:3"
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("FAILED: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 2 cells FAILED"), std::string::npos) << r.out;
  const nlohmann::json manifest = read_json(out / "sweep.json");
  EXPECT_EQ(manifest["cells"][0]["status"], "budget_exhausted");
  EXPECT_EQ(manifest["cells"][1]["status"], "failed");
  EXPECT_FALSE(manifest["cells"][1]["error"].get<std::string>().empty());
  EXPECT_FALSE(fs::exists(out / manifest["cells"][1]["folder"].get<std::string>()));
  const std::string csv = read_text(out / "results.csv");
  EXPECT_NE(csv.find(",failed,"), std::string::npos) << csv;
  // A rerun keeps the finished cell and tries the failed one again.
  const Result again = run_program({"sweep", file.string(), "--out", out.string()});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.out.find("1 of 2 runs already done"), std::string::npos) << again.out;
}

// Plain SGD with step 1 on the exponential-growth objective overflows
// (from x0 = 4 one step throws the iterate to about -25), where clipped SGD
// converges: the diverged cells are results, diverged at their step, and
// the sweep goes on and says so.
TEST_F(Sweep, DivergedCellsAreResultsTheSweepGoesOnAndTheTablesSaySo) {
  const fs::path file = write("blowup.toml", R"toml(name = "blowup"
[base]
objective = "cosh-well"
dim = 10
workers = 1
step-size = 1.0
clip-threshold = 0.1
steps = 500
criterion = "last"
[grid]
algorithm = ["clipped-sgd", "sgd"]
seed = [1, 2]
target = [1.0, 0.5]
)toml");
  const fs::path out = dir_ / "out";
  const Result r = run_program({"sweep", file.string(), "--out", out.string(), "--jobs", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json manifest = read_json(out / "sweep.json");
  ASSERT_EQ(manifest["cells"].size(), 8u);
  int diverged = 0;
  for (const auto& cell : manifest["cells"]) {
    const auto summary = read_json(out / cell["folder"].get<std::string>() / "summary.json");
    const bool plain = cell["values"]["algorithm"] == "sgd";
    EXPECT_EQ(summary["status"], plain ? "diverged" : "target_reached") << cell.dump();
    if (plain) {
      ++diverged;
      EXPECT_FALSE(summary["divergence"]["quantity"].get<std::string>().empty());
      EXPECT_GE(summary["divergence"]["step"].get<int>(), 1);
    }
  }
  EXPECT_EQ(diverged, 4);
  // results.csv names the step; complexity.csv counts them per point; the
  // printed table says it beside the median.
  EXPECT_NE(read_text(out / "results.csv").find(",diverged,"), std::string::npos);
  const std::string complexity = read_text(out / "analysis" / "complexity.csv");
  EXPECT_EQ(std::count(complexity.begin(), complexity.end(), '\n'), 5) << complexity;
  EXPECT_NE(r.out.find("(2 diverged)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace distclip::app
