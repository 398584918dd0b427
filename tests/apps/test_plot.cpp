// The figures of `distclip plot`: which files a hand-made analysis yields,
// that they are real PNG and SVG naming what they show, and the edge cases
// (nothing to draw, censored points, gnuplot missing or failing).
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gnuplot.hpp"
#include "plot.hpp"
#include "program_fixture.hpp"

namespace distclip::app {
namespace {

namespace fs = std::filesystem;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Names gnuplot's enhanced text mode would mangle ('_' subscripts, quotes).
const std::string kCelgc = "celgc_local, sync-interval = 8";
const std::string kNaive = "naive \"parallel\"_clip";

Curve make_curve(const std::string& series, int sync_interval, double scale) {
  Curve curve{series, sync_interval, {}};
  for (int i = 0; i <= 60; ++i) {
    const double step = 10.0 * i;
    const double g = scale / std::sqrt(1.0 + step);
    CurvePoint p;
    p.step = step;
    p.rounds = std::floor(step / sync_interval);
    p.wall_time_s = 0.002 * step;
    p.projected_time_s = 0.003 * step + 1e-4 * p.rounds;
    p.grad_norm = {g, 0.8 * g, 1.25 * g};
    p.value = {g * g, 0.5 * g * g, 1.5 * g * g};
    const double c = 0.5 + 0.4 * std::sin(0.3 * i);
    p.clip_fraction = {c, c - 0.05, c + 0.05};
    p.seeds = 3;
    curve.points.push_back(p);
  }
  // A diverged seed leaves a non-finite mean: the point must be skipped.
  curve.points[30].grad_norm = {kInf, kInf, kInf};
  curve.points[31].value = {kNaN, kNaN, kNaN};
  return curve;
}

// T(eps) = C eps^-4 at eps = 0.2, 0.1, 0.05, 0.025 on N = 8 workers.
void add_complexity(SweepAnalysis& analysis, const std::string& series, double c,
                    bool censor_last) {
  const std::vector<double> eps = {0.2, 0.1, 0.05, 0.025};
  for (std::size_t k = 0; k < eps.size(); ++k) {
    ComplexityPoint p;
    p.series = series;
    p.eps = eps[k];
    p.workers = 8;
    p.runs = 3;
    p.reached = 3;
    p.budget = 1000000;
    const double t = c * std::pow(eps[k], -4.0);
    p.iterations = {t, 0.9 * t, 1.1 * t};
    p.rounds = {t / 8, 0.9 * t / 8, 1.1 * t / 8};
    if (k == 2) p.iterations.high = kInf;  // one seed censored: interval open above
    if (censor_last && k + 1 == eps.size()) {
      p.reached = 1;
      p.iterations = {kInf, 0.9 * t, kInf};
      p.rounds = {kInf, 0.9 * t / 8, kInf};
    }
    analysis.complexity.push_back(p);
  }
  for (const char* quantity : {"iterations", "rounds"}) {
    ComplexityFit f;
    f.series = series;
    f.quantity = quantity;
    f.axis = "1/eps";
    f.fixed = 8;
    const bool rounds = std::string(quantity) == "rounds";
    f.fit.slope = 3.97;
    f.fit.intercept = std::log(rounds ? c / 8 : c);
    f.fit.r_squared = 0.99;
    f.fit.points = censor_last ? 3 : 4;
    f.fit.seed_low = 3.8;
    f.fit.seed_high = 4.1;
    f.fit.fit_low = kNaN;
    f.fit.fit_high = kNaN;
    f.theory_slope = rounds ? (series == kCelgc ? 3.0 : kNaN) : 4.0;
    analysis.fits.push_back(f);
  }
}

SweepAnalysis make_analysis() {
  SweepAnalysis analysis;
  analysis.name = "toy_sweep";
  analysis.criterion = "ergodic";
  analysis.curves = {make_curve(kCelgc, 8, 2.0), make_curve(kNaive, 1, 1.5)};
  add_complexity(analysis, kCelgc, 0.02, false);
  add_complexity(analysis, kNaive, 0.05, true);
  for (int n : {1, 2, 4, 8}) {
    SpeedupPoint s;
    s.series = kCelgc;
    s.eps = 0.1;
    s.workers = n;
    s.iterations = {0.9 * n, 0.8 * n, n == 8 ? kInf : 1.0 * n};
    s.efficiency = s.iterations.value / n;
    analysis.speedup.push_back(s);
  }
  return analysis;
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// SVG text as a reader sees it.
std::string unescape_xml(std::string text) {
  for (const auto& [entity, c] : {std::pair{"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"},
                                  {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (std::size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at)) {
      text.replace(at, std::string(entity).size(), c);
      at += std::string(c).size();
    }
  }
  return text;
}

using cli_test::PathGuard;

// A fresh folder per test, with a space in its name, removed afterwards.
class Plot : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("distclip plot-") + info->name() + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

const std::vector<std::string> kExpected = {
    "grad-norm-vs-iterations", "grad-norm-vs-rounds",    "grad-norm-vs-time",
    "grad-norm-vs-projected-time", "loss-vs-iterations", "clip-fraction",
    "iterations-vs-inverse-eps",   "rounds-vs-inverse-eps", "speedup"};

TEST_F(Plot, DrawsEveryFigureTheAnalysisSupports) {
  const fs::path folder = dir_ / "figures";
  const std::vector<fs::path> written = render_figures(make_analysis(), folder);

  std::vector<fs::path> expected;
  for (const std::string& name : kExpected) {
    expected.push_back(folder / (name + ".png"));
    expected.push_back(folder / (name + ".svg"));
  }
  EXPECT_EQ(written, expected);

  for (const std::string& name : kExpected) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(fs::is_regular_file(folder / (name + ".gp")));
    const std::string data = read_all(folder / (name + ".dat"));
    EXPECT_EQ(data.rfind("# distclip plot data", 0), 0u);
    EXPECT_EQ(data.find("inf"), std::string::npos) << "infinities must be written as NaN";

    const std::string png = read_all(folder / (name + ".png"));
    ASSERT_GE(png.size(), 8u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    // An empty 1000x650 frame compresses to about 3 kB; axes, text and lines
    // take it well above 10 kB.
    EXPECT_GT(png.size(), 10000u);

    const std::string svg = unescape_xml(read_all(folder / (name + ".svg")));
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("toy_sweep: "), std::string::npos) << "title";
    EXPECT_NE(svg.find(kCelgc), std::string::npos);
    if (name != "speedup") {
      EXPECT_NE(svg.find(kNaive), std::string::npos);
    }
  }

  const std::string curves = unescape_xml(read_all(folder / "grad-norm-vs-iterations.svg"));
  EXPECT_NE(curves.find("95% CI over seeds"), std::string::npos);
  EXPECT_NE(curves.find("||grad f(xbar_t)||"), std::string::npos);
  EXPECT_NE(read_all(folder / "grad-norm-vs-iterations.dat").find("NaN"), std::string::npos);

  // The censored median of the naive series at eps = 0.025 is left out and
  // said so; the fit and the theory guide are in the key.
  const std::string complexity = unescape_xml(read_all(folder / "iterations-vs-inverse-eps.svg"));
  EXPECT_NE(complexity.find("1 censored"), std::string::npos);
  EXPECT_NE(complexity.find(kCelgc + ": fitted slope 3.97 [3.80, 4.10]"), std::string::npos);
  EXPECT_NE(complexity.find("theory slope 4"), std::string::npos);
  EXPECT_NE(complexity.find("interval open above"), std::string::npos);

  const std::string speedup = unescape_xml(read_all(folder / "speedup.svg"));
  EXPECT_NE(speedup.find("ideal S = N"), std::string::npos);
}

// Diverged runs are named in the complexity figure even when their series,
// every run of it diverged, has no median and no line to draw.
TEST_F(Plot, TheComplexityFigureSaysHowManyRunsDiverged) {
  SweepAnalysis analysis = make_analysis();
  ComplexityPoint blown;
  blown.series = "sgd";
  blown.eps = 0.2;
  blown.workers = 8;
  blown.runs = 3;
  blown.diverged = 3;
  blown.budget = 1000000;
  blown.iterations = {kInf, kInf, kInf};
  blown.rounds = {kInf, kInf, kInf};
  analysis.complexity.push_back(blown);
  render_figures(analysis, dir_);
  const std::string complexity = unescape_xml(read_all(dir_ / "iterations-vs-inverse-eps.svg"));
  EXPECT_NE(complexity.find("3 of the sweep's 27 runs DIVERGED"), std::string::npos);
  // Without divergence, no such line.
  render_figures(make_analysis(), dir_ / "calm");
  EXPECT_EQ(read_all(dir_ / "calm" / "iterations-vs-inverse-eps.svg").find("DIVERGED"),
            std::string::npos);
}

TEST_F(Plot, SkipsTimeAxesThatWereNeverMeasured) {
  SweepAnalysis analysis;
  analysis.curves = {make_curve(kCelgc, 8, 2.0)};
  for (CurvePoint& p : analysis.curves[0].points) {
    p.projected_time_s = 0.0;
    p.wall_time_s = kNaN;
    p.value.value -= 1.0;  // a loss below zero cannot be drawn on a log axis
  }
  const std::vector<fs::path> written = render_figures(analysis, dir_);
  std::vector<std::string> names;
  for (const fs::path& f : written) {
    if (f.extension() == ".png") names.push_back(f.stem().string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"grad-norm-vs-iterations", "grad-norm-vs-rounds",
                                             "loss-vs-iterations", "clip-fraction"}));
  EXPECT_EQ(read_all(dir_ / "loss-vs-iterations.gp").find("logscale y"), std::string::npos);
  EXPECT_NE(read_all(dir_ / "grad-norm-vs-iterations.gp").find("logscale y"), std::string::npos);
}

TEST_F(Plot, AnEmptyAnalysisDrawsNothing) {
  // Not even gnuplot is needed.
  PathGuard path(dir_.string());
  EXPECT_TRUE(render_figures(SweepAnalysis{}, dir_ / "empty").empty());
  EXPECT_TRUE(fs::is_empty(dir_ / "empty"));
}

TEST_F(Plot, NamesTheMissingGnuplot) {
  const fs::path empty = dir_ / "no programs";
  fs::create_directories(empty);
  PathGuard path(empty.string());
  try {
    render_figures(make_analysis(), dir_ / "figures");
    FAIL() << "expected an error";
  } catch (const GnuplotError& e) {
    EXPECT_STREQ(e.what(),
                 "gnuplot not found on PATH; install it: apt-get install -y gnuplot-nox");
  }
}

TEST_F(Plot, QuotesGnuplotsFirstErrorAndLeavesNoPicture) {
  // A stand-in gnuplot that fails as the real one does: the command, a caret,
  // then the located message; it drew one figure before failing.
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  const fs::path fake = bin / "gnuplot";
  {
    std::ofstream out(fake);
    out << "#!/bin/sh\n"
           "echo drawn > grad-norm-vs-iterations.png\n"
           "echo 'gnuplot> plot foo' >&2\n"
           "echo '              ^' >&2\n"
           "echo '\"speedup.gp\" line 3: warning: something mild' >&2\n"
           "echo '\"speedup.gp\" line 14: undefined variable: foo' >&2\n"
           "exit 1\n";
  }
  ::chmod(fake.c_str(), 0755);
  PathGuard path(bin.string());
  try {
    render_figures(make_analysis(), dir_ / "figures");
    FAIL() << "expected an error";
  } catch (const GnuplotError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("\"speedup.gp\" line 14: undefined variable: foo"), std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // The scripts and data stay, to be rerun; no picture passes for a result.
  EXPECT_TRUE(fs::is_regular_file(dir_ / "figures" / "grad-norm-vs-iterations.gp"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "figures" / "grad-norm-vs-iterations.dat"));
  EXPECT_FALSE(fs::exists(dir_ / "figures" / "grad-norm-vs-iterations.png"));
}

}  // namespace
}  // namespace distclip::app
