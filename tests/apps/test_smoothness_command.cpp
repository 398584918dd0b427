// `distclip smoothness`, driven through its CLI11 registration: the files it
// writes and what they hold, how it thins the run's evaluation points, bad
// input, the LSTM without a certificate, and a figure gnuplot cannot draw.
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "program_fixture.hpp"

namespace distclip::app::cli_test {
namespace {

Result run_smoothness(std::vector<std::string> args) {
  args.insert(args.begin(), "smoothness");
  return run_program(args);
}

// Double-well (L0, L1) = (8, 3) at d = 5, condition 4, run to its minimiser.
std::vector<std::string> double_well(const fs::path& out, std::vector<std::string> more) {
  std::vector<std::string> args = {"--objective",      "double-well", "--dim",       "5",
                                   "--condition",      "4",           "--workers",   "2",
                                   "--sync-interval",  "4",           "--step-size", "0.05",
                                   "--clip-threshold", "0.1",         "--steps",     "200",
                                   "--threads",        "1",           "--out",       out.string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(Program, SmoothnessWritesSamplesFrontierFitAndFigure) {
  const fs::path out = dir_ / "dw";
  const Result r = run_smoothness(double_well(out, {"--method", "both", "--probes", "21"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("certified: L0 = 8, L1 = 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("largest L / certified envelope"), std::string::npos) << r.out;
  for (const char* file : {"smoothness.csv", "frontier.csv", "fit.json", "smoothness.gp",
                           "smoothness.dat", "smoothness.png", "smoothness.svg"}) {
    EXPECT_TRUE(fs::is_regular_file(out / file)) << file;
  }
  EXPECT_FALSE(fs::exists(out / "gnuplot-errors.txt"));

  const nlohmann::json fit = read_json(out / "fit.json");
  EXPECT_EQ(fit.at("certified").at("l0"), 8.0);
  EXPECT_EQ(fit.at("certified").at("l1"), 3.0);
  EXPECT_EQ(fit.at("trajectory").at("evaluations"), 201);
  EXPECT_EQ(fit.at("trajectory").at("probed"), 21);
  const std::size_t segments = fit.at("segment").at("samples");
  const std::size_t hvps = fit.at("hvp").at("samples");
  EXPECT_EQ(hvps, 21u);
  EXPECT_GE(segments, 1u);  // pairs whose xbar did not move give none
  EXPECT_LE(segments, 20u);
  // The Hessian at the minimiser is diag(2 w_j), ||.|| = L0: the ratio is 1
  // up to finite differences (2e-10 measured; rounding bound as in
  // tests/analysis/test_smoothness.cpp).
  const double hvp_ratio = fit.at("hvp").at("max_ratio_to_certified").at("ratio");
  EXPECT_NEAR(hvp_ratio, 1.0, 1e-6);
  EXPECT_LE(fit.at("segment").at("max_ratio_to_certified").at("ratio").get<double>(), 1.0 + 1e-6);
  EXPECT_TRUE(fit.at("hvp").at("least_squares").at("l1").is_number());

  const std::vector<std::string> csv = read_text_lines(out / "smoothness.csv");
  ASSERT_EQ(csv.size(), 1 + segments + hvps);
  EXPECT_EQ(csv[0], "method,point,step,grad_norm,smoothness,step_length,envelope,ratio");
  EXPECT_EQ(csv[1].rfind("segment,0,0,", 0), 0u) << csv[1];
  EXPECT_EQ(csv.back().rfind("hvp,20,200,", 0), 0u) << csv.back();
  const std::vector<std::string> frontier = read_text_lines(out / "frontier.csv");
  ASSERT_GE(frontier.size(), 3u);
  EXPECT_EQ(frontier[0], "method,vertex,l1,l0");
  EXPECT_EQ(frontier[1].rfind("segment,0,0,", 0), 0u) << frontier[1];
}

TEST_F(Program, SmoothnessProbesEvenlySpacedEvaluationPoints) {
  // eval-every 3 over 100 steps: 0, 3, ..., 99 and 100, 35 points; 6 probes
  // take indices round(k * 34 / 5) = 0, 7, 14, 20, 27, 34.
  const fs::path out = dir_ / "thin";
  const Result r = run_smoothness(double_well(
      out, {"--steps", "100", "--eval-every", "3", "--probes", "6", "--method", "hvp"}));
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json fit = read_json(out / "fit.json");
  EXPECT_EQ(fit.at("trajectory").at("evaluations"), 35);
  EXPECT_EQ(fit.at("trajectory").at("steps"), (std::vector<int>{0, 21, 42, 60, 81, 100}));
  EXPECT_FALSE(fit.contains("segment"));
}

TEST_F(Program, SmoothnessBadInputIsOneLineExitTwoAndNoFolder) {
  const auto expect_bad = [&](std::vector<std::string> more, const std::string& expected) {
    const Result r = run_smoothness(double_well(dir_ / "bad", std::move(more)));
    EXPECT_EQ(r.status, 2) << expected;
    EXPECT_EQ(r.err, "error: " + expected + "\n");
    EXPECT_FALSE(fs::exists(dir_ / "bad"));
  };
  expect_bad({"--method", "newton"}, "method = newton, must be segment, hvp or both");
  expect_bad({"--probes", "1"}, "probes = 1, must be >= 2");
  expect_bad({"--points", "0"}, "points = 0, must be >= 1");
  expect_bad({"--hvp-iterations", "0"}, "hvp-iterations = 0, must be >= 1");
  expect_bad({"--hvp-step", "0"}, "hvp-step = 0, must be finite and > 0");
  expect_bad(
      {"--backend", "mpi"},
      "backend = mpi, must be threads: distclip smoothness runs every worker in one process");
  expect_bad({"--dim", "0"}, "dim = 0, must be >= 1");
  // An existing folder is kept unless --overwrite.
  fs::create_directories(dir_ / "kept");
  const Result r = run_smoothness(double_well(dir_ / "kept", {}));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(fs::is_empty(dir_ / "kept"));
}

TEST_F(Program, SmoothnessLanguageModelHasNoCertificate) {
  const char* data = std::getenv("DISTCLIP_DATA");
  if (data == nullptr || !fs::exists(fs::path(data) / "tinyshakespeare/input.txt")) {
    GTEST_SKIP() << "DISTCLIP_DATA does not hold tinyshakespeare/input.txt";
  }
  const fs::path out = dir_ / "lstm";
  const Result r =
      run_smoothness({"--objective",      "lstm", "--data",         data,
                      "--level",          "char", "--train-file",   "tinyshakespeare/input.txt",
                      "--embedding",      "4",    "--hidden",       "8",
                      "--window",         "8",    "--eval-windows", "4",
                      "--workers",        "2",    "--steps",        "20",
                      "--threads",        "1",    "--probes",       "5",
                      "--method",         "both", "--points",       "2",
                      "--hvp-iterations", "3",    "--out",          out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("certified: none"), std::string::npos) << r.out;
  const nlohmann::json fit = read_json(out / "fit.json");
  EXPECT_TRUE(fit.at("certified").is_null());
  EXPECT_TRUE(fit.at("segment").at("max_ratio_to_certified").is_null());
  EXPECT_EQ(fit.at("hvp").at("options").at("relative_step"), 3e-4);  // the float32 default
  const std::vector<std::string> csv = read_text_lines(out / "smoothness.csv");
  ASSERT_GE(csv.size(), 2u);
  EXPECT_EQ(csv[1].back(), ',');  // no envelope, no ratio
}

TEST_F(Program, SmoothnessKeepsTheDataWhenGnuplotCannotDraw) {
  // A stand-in gnuplot that fails as the real one does.
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  {
    std::ofstream fake(bin / "gnuplot");
    fake << "#!/bin/sh\n"
            "echo 'gnuplot> plot foo' >&2\n"
            "echo '\"smoothness.gp\" line 14: undefined variable: foo' >&2\n"
            "exit 1\n";
  }
  ::chmod((bin / "gnuplot").c_str(), 0755);
  const fs::path failing = dir_ / "failing";
  const fs::path missing = dir_ / "missing";
  Result with_fake, without;
  {
    PathGuard path(bin.string());
    with_fake = run_smoothness(double_well(failing, {"--probes", "3"}));
  }
  {
    PathGuard path((dir_ / "no programs").string());
    without = run_smoothness(double_well(missing, {"--probes", "3"}));
  }
  ASSERT_EQ(with_fake.status, 0) << with_fake.err;
  EXPECT_EQ(with_fake.err,
            "note: no figure: gnuplot failed (exit status 1): \"smoothness.gp\" line 14: "
            "undefined variable: foo; the script is " +
                failing.string() + "/smoothness.gp\n");
  ASSERT_EQ(without.status, 0) << without.err;
  EXPECT_NE(without.err.find("gnuplot not found on PATH"), std::string::npos) << without.err;
  for (const fs::path& out : {failing, missing}) {
    EXPECT_TRUE(fs::is_regular_file(out / "fit.json"));
    EXPECT_TRUE(fs::is_regular_file(out / "smoothness.gp"));
    EXPECT_FALSE(fs::exists(out / "smoothness.png"));
    EXPECT_FALSE(fs::exists(out / "gnuplot-errors.txt"));
  }
}

}  // namespace
}  // namespace distclip::app::cli_test
