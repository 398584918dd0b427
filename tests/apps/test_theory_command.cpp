// `distclip theory`, `run --theory-params` and `run --check-invariants`.
#include <gtest/gtest.h>

#include "distclip/analysis/theory.hpp"
#include "program_fixture.hpp"

namespace distclip::app::cli_test {
namespace {

const std::vector<std::string> kDoubleWell = {"--objective", "double-well", "--dim", "1",
                                              "--noise",     "ball",        "--sigma", "0.5",
                                              "--target",    "0.1",         "--workers", "4"};

std::vector<std::string> command(std::string name, std::vector<std::string> more) {
  std::vector<std::string> args{std::move(name)};
  args.insert(args.end(), kDoubleWell.begin(), kDoubleWell.end());
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(Program, TheoryPrintsTheParametersAndEveryCondition) {
  const Result r = run_program(command("theory", {}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("L0 = 2 (certified by double-well), L1 = 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Delta = 2.25"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("scaling only"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '['), 5) << r.out;  // five conditions
  EXPECT_NE(r.out.find("every condition holds"), std::string::npos) << r.out;

  const Result failing = run_program(command("theory", {"--workers", "10"}));
  ASSERT_EQ(failing.status, 0) << failing.err;
  EXPECT_NE(failing.out.find("[FAIL] 1 <= I <= 1 / (2 N eps)"), std::string::npos) << failing.out;
}

TEST_F(Program, TheoryJsonMatchesTheLibraryAndTakesOverrides) {
  const Result r = run_program(command("theory", {"--json", "--l1", "0", "--delta", "1"}));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  TheoryInputs in;
  in.l0 = 2.0;
  in.l1 = 0.0;
  in.sigma = 0.5;
  in.delta = 1.0;
  in.eps = 0.1;
  in.num_workers = 4;
  const TheoryParameters expected = theorem1(in);
  EXPECT_EQ(json.at("inputs").at("L1"), 0.0);
  EXPECT_EQ(json.at("clip_threshold").get<double>(), expected.clip_threshold);
  EXPECT_EQ(json.at("steps").get<std::int64_t>(), expected.steps);
  EXPECT_EQ(json.at("all_conditions_hold"), true);
}

TEST_F(Program, TheoryRejectsWhatTheTheoremCannotTake) {
  const auto rejected = [](std::vector<std::string> args, const std::string& expected) {
    const Result r = run_program(args);
    EXPECT_EQ(r.status, 2) << expected;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << "got: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  rejected({"theory", "--target", "0.1", "--noise", "gaussian"},
           "sigma (an almost-sure noise bound) is unbounded");
  rejected({"theory", "--noise", "ball"}, "target is not set");
  rejected({"theory", "--target", "0.1"}, "sigma + kappa = 0, must be > 0");
  rejected({"theory", "--objective", "lstm", "--train-file", "x.txt", "--target", "0.1"},
           "objective = lstm has no certified constants");
  expect_bad_input({"run", "--theory-params", "2"}, dir_, "theory-params = 2, must be 0 or 1");
  expect_bad_input({"run", "--theory-params", "1", "--noise", "ball"}, dir_,
                   "theory-params = 1: target is not set");
}

TEST_F(Program, TheoryParamsRunWithTheTheoremsChoicesAndReportTheTightnessRatio) {
  const fs::path out = dir_ / "run";
  const Result r = run_program(command(
      "run", {"--theory-params", "1", "--steps", "1000000", "--threads", "1", "--out", out.string()}));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto summary = read_json(out / "summary.json");
  const auto& theory = summary.at("theory");
  // The resolved configuration holds the theorem's values, not the defaults.
  EXPECT_EQ(summary.at("config").at("step-size"), theory.at("step_size"));
  EXPECT_EQ(summary.at("config").at("clip-threshold"), theory.at("clip_threshold"));
  EXPECT_EQ(summary.at("config").at("sync-interval"), theory.at("sync_interval"));
  EXPECT_EQ(summary.at("config").at("steps"), 1000000);  // given, so kept
  ASSERT_EQ(summary.at("status"), "target_reached");
  const double ratio = theory.at("tightness_ratio").get<double>();
  EXPECT_DOUBLE_EQ(ratio, summary.at("counts").at("steps").get<double>() /
                              theory.at("t_scale").get<double>());
  EXPECT_NE(r.out.find("tightness ratio"), std::string::npos) << r.out;

  // Without steps, T is the theorem's (scaling only, t-constant times t_scale).
  const fs::path own = dir_ / "own";
  ASSERT_EQ(run_program(command("run", {"--theory-params", "1", "--theory-t-constant", "0.5",
                                        "--out", own.string()}))
                .status,
            0);
  const auto own_summary = read_json(own / "summary.json");
  EXPECT_EQ(own_summary.at("config").at("steps"), own_summary.at("theory").at("steps"));
  EXPECT_EQ(own_summary.at("theory").at("inputs").at("t_constant"), 0.5);
}

TEST_F(Program, CheckInvariantsRecordsBothLemmasAndNoViolation) {
  const fs::path out = dir_ / "checked";
  const Result r = run_program(command("run", {"--check-invariants", "1", "--sync-interval", "4",
                                               "--step-size", "0.05", "--clip-threshold", "0.05",
                                               "--steps", "300", "--out", out.string()}));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto invariants = read_json(out / "summary.json").at("invariants");
  EXPECT_EQ(invariants.at("steps_checked"), 300);
  EXPECT_EQ(invariants.at("lemma1").at("radius"), 2 * 0.05 * 4);
  EXPECT_GT(invariants.at("lemma1").at("max_ratio").get<double>(), 0.0);
  EXPECT_LE(invariants.at("lemma1").at("max_ratio").get<double>(), 1.0);
  EXPECT_LE(invariants.at("lemma3").at("max_ratio").get<double>(), 1.0);
  EXPECT_TRUE(invariants.at("violation").is_null());
  EXPECT_NE(r.out.find("invariants over 300 steps"), std::string::npos) << r.out;

  const fs::path local = dir_ / "local";
  ASSERT_EQ(run_program(command("run", {"--check-invariants", "1", "--algorithm", "local-sgd",
                                        "--steps", "20", "--out", local.string()}))
                .status,
            0);
  EXPECT_EQ(read_json(local / "summary.json").at("invariants").at("lemma1").at("checked"), false);
}

}  // namespace
}  // namespace distclip::app::cli_test
