// What a finished sweep measured: trajectories averaged over seeds,
// iteration and communication complexity to eps with intervals, power-law
// fits beside the theory's exponents, and speedup against N. `distclip
// analyze` prints and writes these; `distclip plot` draws them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <optional>

#include <nlohmann/json.hpp>

#include "distclip/analysis/fit.hpp"
#include "distclip/analysis/statistics.hpp"
#include "distclip/core/record.hpp"

namespace distclip::app {

// One evaluation step of a series, averaged over its seeds: mean with a 95%
// Student-t interval (low = high = mean with one seed).
struct CurvePoint {
  double step = 0.0;
  double rounds = 0.0;             // mean over seeds
  double wall_time_s = 0.0;        // mean over seeds
  double projected_time_s = 0.0;   // mean over seeds
  Estimate grad_norm{};            // ||grad f(xbar_t)||
  Estimate value{};                // f(xbar_t)
  Estimate clip_fraction{};        // fraction of workers whose step was clipped
  int seeds = 0;                   // runs still going at this step
};

// The runs that differ only in their seed, e.g. "celgc, sync-interval = 8".
struct Curve {
  std::string series;
  int sync_interval = 1;  // I of the series (1 for methods that average every step)
  std::vector<CurvePoint> points;  // ascending step, at most ~500 points
};

// T(eps), R(eps) of one series at one eps and N, over its seeds. Censored
// medians are +infinity.
struct ComplexityPoint {
  std::string series;  // the varying keys except seed, target and workers
  // The series without its heterogeneity: the points a fit along
  // sigma + kappa joins.
  std::string line;
  // sigma + kappa of the runs' oracle (their summary's constants), NaN
  // when either is not a number.
  double noise_level = 0.0;
  double eps = 0.0;
  int workers = 1;
  int runs = 0;
  int reached = 0;
  int diverged = 0;
  std::int64_t budget = 0;  // the largest step budget among the runs
  Estimate iterations{};    // median steps to eps, bootstrap interval
  Estimate rounds{};        // median rounds to eps
  double iterations_mean = 0.0;  // +inf when a run is censored
  double rounds_mean = 0.0;
  double bytes = 0.0;             // median bytes to eps (+inf if censored)
  double wall_time_s = 0.0;       // median measured time to eps
  double projected_time_s = 0.0;  // median projected time to eps
};

// A power law through a series' complexity points.
struct ComplexityFit {
  std::string series;    // along sigma + kappa: a ComplexityPoint's line
  std::string quantity;  // "iterations" or "rounds"
  std::string axis;      // "1/eps", "N" or "sigma + kappa"
  // The variable held fixed: N for the 1/eps axis, eps for N and for
  // sigma + kappa, which also holds N (fixed_workers).
  double fixed = 0.0;
  int fixed_workers = 0;
  PowerLawFit fit;
  double theory_slope = 0.0;  // NaN where the theory states none
  // "N = 8", "eps = 0.1", "eps = 0.1, N = 8".
  std::string at() const;
};

// S(N) = T(eps; 1) / T(eps; N) for a series with N = 1 among its points.
struct SpeedupPoint {
  std::string series;
  double eps = 0.0;
  int workers = 1;
  Estimate iterations{};       // in steps, bootstrap interval
  double efficiency = 0.0;     // iterations.value / workers
  double wall_time = 0.0;      // the same ratio of median measured times
  double projected_time = 0.0; // of median projected times
};

struct SweepAnalysis {
  std::string name;
  std::string description;
  std::string criterion;  // "ergodic", "min" or "last": what T(eps) measures
  std::vector<Curve> curves;
  std::vector<ComplexityPoint> complexity;
  std::vector<ComplexityFit> fits;
  std::vector<SpeedupPoint> speedup;
  // The largest N up to which efficiency >= this, per series and eps.
  double efficiency_threshold = 0.8;
};

// One evaluation of a run, as its trace.jsonl records it.
struct TracePoint {
  std::int64_t step = 0;
  std::int64_t rounds = 0;
  std::int64_t bytes = 0;
  double value = 0.0;
  double grad_norm = 0.0;
  double ergodic_grad_norm = 0.0;  // NaN at step 0
  double min_grad_norm = 0.0;      // NaN at step 0
  double clip_fraction = 0.0;
  double wall_time_s = 0.0;
  double projected_time_s = 0.0;
};

// One measured cell of a finished sweep, read back from its folder.
struct RunRecord {
  std::size_t index = 0;
  std::string series;          // the varying keys except seed
  nlohmann::ordered_json values;  // varying, linked and tuned keys of this cell
  nlohmann::ordered_json config;  // its resolved configuration
  std::string folder;          // relative to the results folder
  std::string status;          // target_reached, budget_exhausted, diverged, failed, ...
  std::string error;           // why it failed
  nlohmann::ordered_json summary;  // summary.json (null when failed)
  std::vector<TracePoint> trace;
};

// A finished sweep's results folder, read back.
struct SweepResults {
  std::filesystem::path folder;
  nlohmann::ordered_json manifest;  // sweep.json
  std::vector<RunRecord> runs;
};

// Reads out/sweep.json and every cell's summary and trace. Throws
// ConfigError when `out` is not a finished sweep's folder.
SweepResults load_results(const std::filesystem::path& out);

struct AnalyzeOptions {
  // Measure T(eps) at these eps; empty: the sweep's [analysis] targets, or
  // else each run's own target.
  std::vector<double> targets;
  // What must be <= eps; empty: each run's own criterion.
  std::optional<StopCriterion> criterion;
  std::optional<double> efficiency_threshold;  // default: the sweep's
};

SweepAnalysis analyze(const SweepResults& results, const AnalyzeOptions& options = {});

// Writes out/results.csv (one row per run), out/table.txt, and
// out/analysis/{complexity,fits,speedup,curves}.csv and
// analysis.json, each atomically; prints the report on `log`.
void write_analysis(const SweepResults& results, const SweepAnalysis& analysis,
                    std::ostream& log);

}  // namespace distclip::app
