#include "analyze.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <set>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "config.hpp"
#include "distclip/analysis/aggregate.hpp"
#include "distclip/analysis/table.hpp"
#include "output.hpp"

namespace distclip::app {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kCurvePoints = 500;

double number_or_nan(const Json& json, const char* key) {
  const auto it = json.find(key);
  return it == json.end() || it->is_null() ? kNaN : it->get<double>();
}

std::vector<TracePoint> read_trace(const fs::path& file) {
  std::ifstream stream(file);
  if (!stream) throw std::runtime_error(fmt::format("cannot read {}", file.string()));
  std::vector<TracePoint> trace;
  for (std::string line; std::getline(stream, line);) {
    if (line.empty()) continue;
    const Json json = Json::parse(line, nullptr, false);
    if (json.is_discarded()) {
      throw std::runtime_error(fmt::format("{}: line {} is not JSON", file.string(), trace.size() + 1));
    }
    trace.push_back({json["step"].get<std::int64_t>(), json["rounds"].get<std::int64_t>(),
                     json["bytes"].get<std::int64_t>(), number_or_nan(json, "value"),
                     number_or_nan(json, "grad_norm"), number_or_nan(json, "ergodic_grad_norm"),
                     number_or_nan(json, "min_grad_norm"), number_or_nan(json, "clip_fraction"),
                     number_or_nan(json, "wall_time_s"), number_or_nan(json, "projected_time_s")});
  }
  return trace;
}

double metric(const TracePoint& point, StopCriterion criterion) {
  switch (criterion) {
    case StopCriterion::kErgodic:
      return point.ergodic_grad_norm;
    case StopCriterion::kMinimum:
      return point.min_grad_norm;
    case StopCriterion::kLast:
      return point.grad_norm;
  }
  return kNaN;
}

// What one run says about eps: the point where it first met eps, or that it
// never did (censored), or nothing (it stopped at a larger target first).
struct Hit {
  bool measured = false;
  const TracePoint* point = nullptr;  // null: censored
};

Hit first_hit(const RunRecord& run, double eps, StopCriterion criterion) {
  for (const TracePoint& point : run.trace) {
    if (point.step > 0 && metric(point, criterion) <= eps) return {true, &point};
  }
  if (run.status == "target_reached") return {false, nullptr};
  return {true, nullptr};
}

std::string text_of(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "none";
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());
  return value.dump();
}

// "key = value, ..." over `keys` present in the run's values.
std::string label_of(const Json& values, std::span<const std::string> keys) {
  std::string label;
  for (const std::string& key : keys) {
    if (!values.contains(key)) continue;
    if (!label.empty()) label += ", ";
    label += fmt::format("{} = {}", key, text_of(values[key]));
  }
  return label.empty() ? std::string("all") : label;
}

int config_int(const RunRecord& run, const char* key, int fallback) {
  if (run.summary.is_null()) return fallback;
  const Json& config = run.summary["config"];
  return config.contains(key) ? config[key].get<int>() : fallback;
}

std::optional<double> config_target(const RunRecord& run) {
  if (run.summary.is_null() || !run.summary["config"].contains("target") ||
      run.summary["config"]["target"].is_null()) {
    return std::nullopt;
  }
  return run.summary["config"]["target"].get<double>();
}

// sigma + kappa from a run's summary, NaN unless both are numbers.
double noise_level_of(const RunRecord& run) {
  if (run.summary.is_null()) return kNaN;
  const Json& c = run.summary["constants"];
  if (!c.contains("sigma") || !c.contains("kappa") || !c["sigma"].is_number() ||
      !c["kappa"].is_number()) {
    return kNaN;
  }
  return c["sigma"].get<double>() + c["kappa"].get<double>();
}

StopCriterion config_criterion(const RunRecord& run) {
  if (!run.summary.is_null() && run.summary["config"].contains("criterion")) {
    if (const auto c = parse_stop_criterion(run.summary["config"]["criterion"].get<std::string>())) {
      return *c;
    }
  }
  return StopCriterion::kErgodic;
}

// One run's measurement at one eps.
struct Measurement {
  const RunRecord* run = nullptr;
  std::string series;  // varying keys except seed, target and workers
  std::string line;    // the same without heterogeneity
  double noise_level = kNaN;  // sigma + kappa of the run's oracle
  double eps = 0.0;
  int workers = 1;
  int sync_interval = 1;
  double steps = kInf;  // +inf: censored
  double rounds = kInf;
  double bytes = kInf;
  double wall_time_s = kInf;
  double projected_time_s = kInf;
};

std::vector<double> field(std::span<const Measurement* const> group, double Measurement::*member) {
  std::vector<double> values;
  for (const Measurement* m : group) values.push_back(m->*member);
  return values;
}

// The slope, rounded to an integer, of log I against log x over a series:
// the theory's round count is T / I, so its exponent is T's minus this.
double interval_exponent(std::span<const std::pair<double, int>> x_and_interval) {
  std::vector<double> log_x, log_interval;
  for (const auto& [x, interval] : x_and_interval) {
    log_x.push_back(std::log(x));
    log_interval.push_back(std::log(static_cast<double>(interval)));
  }
  const LeastSquares fit = least_squares(log_x, log_interval);
  return fit.x_squares > 0.0 ? std::round(fit.slope) : 0.0;
}

std::vector<Curve> curves_of(const SweepResults& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const RunRecord*>> groups;
  for (const RunRecord& run : results.runs) {
    if (run.trace.empty()) continue;
    if (!groups.contains(run.series)) order.push_back(run.series);
    groups[run.series].push_back(&run);
  }
  std::vector<Curve> curves;
  for (const std::string& series : order) {
    const auto& runs = groups[series];
    Curve curve;
    curve.series = series;
    curve.sync_interval = config_int(*runs.front(), "sync-interval", 1);
    std::int64_t last = 0;
    for (const RunRecord* run : runs) last = std::max(last, run->trace.back().step);
    const std::int64_t stride =
        std::max<std::int64_t>(1, (last + static_cast<std::int64_t>(kCurvePoints) - 1) /
                                      static_cast<std::int64_t>(kCurvePoints));
    for (std::int64_t step = 0;; step = std::min(step + stride, last)) {
      std::vector<double> norms, values, clips, rounds, walls, projected;
      for (const RunRecord* run : runs) {
        if (run->trace.back().step < step) continue;  // this run had stopped
        const auto at = std::ranges::upper_bound(run->trace, step, {}, &TracePoint::step) - 1;
        norms.push_back(at->grad_norm);
        values.push_back(at->value);
        rounds.push_back(static_cast<double>(at->rounds));
        walls.push_back(at->wall_time_s);
        projected.push_back(at->projected_time_s);
        // Clipping is averaged over the bin: one step's fraction of N
        // workers is too coarse to read.
        double sum = 0.0;
        int count = 0;
        for (auto p = at; p->step > step - stride; --p) {
          sum += p->clip_fraction;
          ++count;
          if (p == run->trace.begin()) break;
        }
        clips.push_back(sum / count);
      }
      CurvePoint point;
      point.step = static_cast<double>(step);
      point.rounds = mean(rounds);
      point.wall_time_s = mean(walls);
      point.projected_time_s = mean(projected);
      point.grad_norm = mean_with_t_interval(norms);
      point.value = mean_with_t_interval(values);
      point.clip_fraction = mean_with_t_interval(clips);
      point.seeds = static_cast<int>(norms.size());
      curve.points.push_back(point);
      if (step == last) break;
    }
    curves.push_back(std::move(curve));
  }
  return curves;
}

}  // namespace

std::string ComplexityFit::at() const {
  if (axis == "N") return fmt::format("eps = {}", fixed);
  if (axis == "1/eps") return fmt::format("N = {}", fixed);
  return fmt::format("eps = {}, N = {}", fixed, fixed_workers);
}

SweepResults load_results(const fs::path& out) {
  SweepResults results;
  results.folder = out;
  std::ifstream stream(out / "sweep.json");
  if (!stream) {
    throw ConfigError(fmt::format(
        "results = {} is not a sweep's results folder (no sweep.json); give the --out of a "
        "distclip sweep",
        out.string()));
  }
  results.manifest = Json::parse(stream, nullptr, false);
  if (results.manifest.is_discarded() || results.manifest.value("state", "") != "complete") {
    throw ConfigError(fmt::format(
        "results = {}: the sweep has not finished (sweep.json is {}); run the same distclip "
        "sweep again to finish it",
        out.string(), results.manifest.is_discarded() ? "unreadable" : "still 'running'"));
  }
  for (const Json& cell : results.manifest["cells"]) {
    RunRecord run;
    run.index = cell["index"].get<std::size_t>();
    run.series = cell["series"].get<std::string>();
    run.values = cell["values"];
    run.config = cell["config"];
    run.folder = cell["folder"].get<std::string>();
    run.status = cell["status"].get<std::string>();
    run.error = cell.value("error", "");
    if (run.status != "failed") {
      std::ifstream summary(out / run.folder / "summary.json");
      run.summary = Json::parse(summary, nullptr, false);
      if (run.summary.is_discarded()) {
        throw std::runtime_error(fmt::format("{} is unreadable; delete {} and rerun the sweep",
                                             (out / run.folder / "summary.json").string(),
                                             (out / run.folder).string()));
      }
      run.trace = read_trace(out / run.folder / "trace.jsonl");
    }
    results.runs.push_back(std::move(run));
  }
  return results;
}

SweepAnalysis analyze(const SweepResults& results, const AnalyzeOptions& options) {
  const Json& manifest = results.manifest;
  SweepAnalysis analysis;
  analysis.name = manifest.value("name", "");
  analysis.description = manifest.value("description", "");
  analysis.efficiency_threshold = options.efficiency_threshold.value_or(
      manifest["analysis"].value("efficiency_threshold", 0.8));
  std::vector<double> targets = options.targets;
  if (targets.empty()) targets = manifest["analysis"]["targets"].get<std::vector<double>>();
  const auto criterion_of = [&](const RunRecord& run) {
    return options.criterion.value_or(config_criterion(run));
  };
  if (!results.runs.empty()) {
    analysis.criterion = std::string(to_string(criterion_of(results.runs.front())));
  }
  analysis.curves = curves_of(results);

  // Complexity series: the varying keys but seed, target and workers.
  std::vector<std::string> series_keys, line_keys;
  for (const Json& key : manifest["varying_keys"]) {
    const std::string k = key.get<std::string>();
    if (k != "seed" && k != "target" && k != "workers") series_keys.push_back(k);
    if (k != "seed" && k != "target" && k != "workers" && k != "heterogeneity") {
      line_keys.push_back(k);
    }
  }
  const bool heterogeneity_varies = line_keys.size() < series_keys.size();
  std::vector<Measurement> measurements;
  for (const RunRecord& run : results.runs) {
    std::vector<double> eps_list = targets;
    if (eps_list.empty()) {
      if (const auto target = config_target(run)) eps_list.push_back(*target);
    }
    for (const double eps : eps_list) {
      Measurement m;
      m.run = &run;
      m.series = label_of(run.values, series_keys);
      m.line = label_of(run.values, line_keys);
      m.noise_level = noise_level_of(run);
      m.eps = eps;
      m.workers = config_int(run, "workers", 1);
      m.sync_interval = config_int(run, "sync-interval", 1);
      if (run.status == "failed") continue;  // no result: listed in results.csv
      const Hit hit = first_hit(run, eps, criterion_of(run));
      if (!hit.measured) continue;
      if (hit.point != nullptr) {
        m.steps = static_cast<double>(hit.point->step);
        m.rounds = static_cast<double>(hit.point->rounds);
        m.bytes = static_cast<double>(hit.point->bytes);
        m.wall_time_s = hit.point->wall_time_s;
        m.projected_time_s = hit.point->projected_time_s;
      }
      measurements.push_back(m);
    }
  }

  // Groups: (series, eps, workers), in order of first appearance.
  using Key = std::tuple<std::string, double, int>;
  std::vector<Key> order;
  std::map<Key, std::vector<const Measurement*>> groups;
  for (const Measurement& m : measurements) {
    const Key key{m.series, m.eps, m.workers};
    if (!groups.contains(key)) order.push_back(key);
    groups[key].push_back(&m);
  }
  for (const Key& key : order) {
    const auto& group = groups[key];
    ComplexityPoint point;
    std::tie(point.series, point.eps, point.workers) = key;
    point.line = group.front()->line;
    point.noise_level = group.front()->noise_level;
    point.runs = static_cast<int>(group.size());
    for (const Measurement* m : group) {
      point.reached += std::isfinite(m->steps) ? 1 : 0;
      point.diverged += m->run->status == "diverged" && !std::isfinite(m->steps) ? 1 : 0;
      point.budget = std::max(point.budget, m->run->summary["config"]["steps"].get<std::int64_t>());
    }
    point.iterations = bootstrap_median(field(group, &Measurement::steps));
    point.rounds = bootstrap_median(field(group, &Measurement::rounds));
    point.iterations_mean = mean(field(group, &Measurement::steps));
    point.rounds_mean = mean(field(group, &Measurement::rounds));
    point.bytes = median(field(group, &Measurement::bytes));
    point.wall_time_s = median(field(group, &Measurement::wall_time_s));
    point.projected_time_s = median(field(group, &Measurement::projected_time_s));
    analysis.complexity.push_back(point);
  }

  // Fits along 1/eps at fixed N, and along N at fixed eps.
  struct Axis {
    const char* name;
    double theory_iterations;
  };
  for (const Axis axis : {Axis{"1/eps", 4.0}, Axis{"N", -1.0}}) {
    const bool along_eps = std::string_view(axis.name) == "1/eps";
    std::vector<std::pair<std::string, double>> lines;  // (series, fixed)
    for (const Key& key : order) {
      const auto& [series, eps, workers] = key;
      const std::pair line{series, along_eps ? static_cast<double>(workers) : eps};
      if (std::ranges::find(lines, line) == lines.end()) lines.push_back(line);
    }
    for (const auto& [series, fixed] : lines) {
      std::vector<FitGroup> steps, rounds;
      std::vector<std::pair<double, int>> intervals;
      for (const Key& key : order) {
        const auto& [s, eps, workers] = key;
        if (s != series || (along_eps ? workers != fixed : eps != fixed)) continue;
        const double x = along_eps ? 1.0 / eps : static_cast<double>(workers);
        steps.push_back({x, field(groups[key], &Measurement::steps)});
        // A single worker communicates nothing: zero rounds have no log.
        std::vector<double> r = field(groups[key], &Measurement::rounds);
        if (std::ranges::all_of(r, [](double v) { return v > 0.0; })) rounds.push_back({x, r});
        for (const Measurement* m : groups[key]) intervals.emplace_back(x, m->sync_interval);
      }
      if (steps.size() < 2) continue;
      const double theory_rounds = axis.theory_iterations - interval_exponent(intervals);
      if (rounds.size() < 2) rounds.clear();
      for (const auto& [quantity, data, theory] :
           {std::tuple{"iterations", &steps, axis.theory_iterations},
            std::tuple{"rounds", &rounds, theory_rounds}}) {
        if (const auto fit = fit_power_law(*data)) {
          analysis.fits.push_back({series, quantity, axis.name, fixed, 0, *fit, theory});
        }
      }
    }
  }

  // Fits along sigma + kappa at fixed eps and N, where heterogeneity varies:
  // the ICLR version's T ~ Delta L0 (sigma + kappa)^2 / (N eps^4), I fixed
  // along the line so that rounds share the exponent 2.
  if (heterogeneity_varies) {
    using Line = std::tuple<std::string, double, int>;
    std::vector<Line> lines;
    for (const ComplexityPoint& p : analysis.complexity) {
      const Line line{p.line, p.eps, p.workers};
      if (std::ranges::find(lines, line) == lines.end()) lines.push_back(line);
    }
    for (const auto& [line, eps, workers] : lines) {
      std::vector<FitGroup> steps, rounds;
      for (const Key& key : order) {
        const auto& group = groups[key];
        const Measurement& m = *group.front();
        if (m.line != line || m.eps != eps || m.workers != workers) continue;
        if (!(std::isfinite(m.noise_level) && m.noise_level > 0.0)) continue;
        steps.push_back({m.noise_level, field(group, &Measurement::steps)});
        std::vector<double> r = field(group, &Measurement::rounds);
        if (std::ranges::all_of(r, [](double v) { return v > 0.0; })) {
          rounds.push_back({m.noise_level, r});
        }
      }
      if (rounds.size() < 2) rounds.clear();
      for (const auto& [quantity, data] :
           {std::pair{"iterations", &steps}, std::pair{"rounds", &rounds}}) {
        if (const auto fit = fit_power_law(*data)) {
          ComplexityFit f{line, quantity, "sigma + kappa", eps, workers, *fit, 2.0};
          analysis.fits.push_back(std::move(f));
        }
      }
    }
  }

  // Speedup against N = 1, per series and eps.
  for (const Key& key : order) {
    const auto& [series, eps, workers] = key;
    const auto single = groups.find(Key{series, eps, 1});
    if (single == groups.end()) continue;
    SpeedupPoint point;
    point.series = series;
    point.eps = eps;
    point.workers = workers;
    point.iterations = bootstrap_ratio_of_medians(field(single->second, &Measurement::steps),
                                                  field(groups[key], &Measurement::steps));
    point.efficiency = point.iterations.value / workers;
    point.wall_time = median(field(single->second, &Measurement::wall_time_s)) /
                      median(field(groups[key], &Measurement::wall_time_s));
    point.projected_time = median(field(single->second, &Measurement::projected_time_s)) /
                           median(field(groups[key], &Measurement::projected_time_s));
    analysis.speedup.push_back(point);
  }
  std::ranges::stable_sort(analysis.speedup, [](const SpeedupPoint& a, const SpeedupPoint& b) {
    return std::tie(a.series, a.eps, a.workers) < std::tie(b.series, b.eps, b.workers);
  });
  return analysis;
}

namespace {


std::string estimate_text(const Estimate& e, std::int64_t budget) {
  if (std::isnan(e.value)) return "-";
  if (std::isinf(e.value)) return fmt::format("> {}", budget);
  const std::string high = std::isinf(e.high) ? std::string("inf") : fmt::format("{:.0f}", e.high);
  return fmt::format("{:.0f} [{:.0f}, {}]", e.value, e.low, high);
}

std::string number_text(double v, const char* format = "{:.3g}") {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return "censored";
  return fmt::format(fmt::runtime(format), v);
}

// JSON has no infinity: a censored value is the string "inf", NaN is null.
Json number_json(double v) {
  if (std::isfinite(v)) return v;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return nullptr;
}

Json estimate_json(const Estimate& e) {
  return {{"median", number_json(e.value)}, {"low", number_json(e.low)}, {"high", number_json(e.high)}};
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return "inf";
  return fmt::format("{}", v);
}

// results.csv: one row per run, one column per parameter some run reads,
// then the measurements.
std::string results_csv(const SweepResults& results) {
  std::vector<std::string> keys;
  for (const Parameter& parameter : parameters()) {
    const bool read = std::ranges::any_of(results.runs, [&](const RunRecord& run) {
      return run.config.contains(std::string(parameter.key));
    });
    if (read) keys.emplace_back(parameter.key);
  }
  std::vector<std::string> header{"cell", "series"};
  header.insert(header.end(), keys.begin(), keys.end());
  for (const char* measurement :
       {"status", "steps", "rounds", "bytes", "stochastic_gradients", "final_value",
        "final_grad_norm", "final_ergodic_grad_norm", "final_min_grad_norm",
        "final_heldout_loss", "final_heldout_perplexity", "mean_clip_fraction",
        "wall_time_s", "projected_time_s", "steps_to_target", "rounds_to_target",
        "diverged_at_step", "final_iterate_sha256", "trace", "error"}) {
    header.emplace_back(measurement);
  }
  Table table(header);
  for (const RunRecord& run : results.runs) {
    std::vector<std::string> row{std::to_string(run.index), run.series};
    const Json& s = run.summary;
    for (const std::string& key : keys) {
      row.push_back(run.config.contains(key) ? text_of(run.config[key]) : "");
    }
    if (s.is_null()) {
      row.push_back(run.status);
      row.resize(header.size() - 1);
      row.push_back(run.error);
      table.add_row(std::move(row));
      continue;
    }
    const bool reached = run.status == "target_reached";
    const Json& final_record = s["final"];
    const auto final_value = [&](const char* key) {
      // Held-out measurements exist only for data-based objectives.
      return final_record.is_null() || !final_record.contains(key) || final_record[key].is_null()
                 ? std::string()
                 : text_of(final_record[key]);
    };
    row.insert(row.end(),
               {run.status, text_of(s["counts"]["steps"]), text_of(s["counts"]["rounds"]),
                text_of(s["counts"]["bytes"]), text_of(s["counts"]["stochastic_gradients"]),
                final_value("value"), final_value("grad_norm"), final_value("ergodic_grad_norm"),
                final_value("min_grad_norm"), final_value("heldout_loss"),
                final_value("heldout_perplexity"), text_of(s["mean_clip_fraction"]),
                text_of(s["time"]["wall_s"]), text_of(s["time"]["projected_s"]),
                reached ? text_of(s["counts"]["steps"]) : "",
                reached ? text_of(s["counts"]["rounds"]) : "",
                s["divergence"].is_null() ? "" : text_of(s["divergence"]["step"]),
                s["final_iterate_sha256"].is_null() ? "" : text_of(s["final_iterate_sha256"]),
                (fs::path(run.folder) / "trace.jsonl").string(), ""});
    table.add_row(std::move(row));
  }
  return table.to_csv();
}

}  // namespace

void write_analysis(const SweepResults& results, const SweepAnalysis& analysis, std::ostream& log) {
  const fs::path folder = results.folder / "analysis";
  fs::create_directories(folder);

  // The main table: per series, eps and N.
  std::map<std::string, std::vector<const RunRecord*>> by_series;
  for (const RunRecord& run : results.runs) by_series[run.series].push_back(&run);
  Table table({"series", "eps", "N", "runs", "reached", "steps to eps [95% CI]",
               "rounds to eps [95% CI]", "time (s)", "projected (s)"});
  Table complexity_csv({"series", "eps", "workers", "runs", "reached", "diverged", "budget",
                        "steps_median", "steps_low", "steps_high", "steps_mean", "rounds_median",
                        "rounds_low", "rounds_high", "rounds_mean", "bytes_median", "wall_time_s_median",
                        "projected_time_s_median"});
  for (const ComplexityPoint& p : analysis.complexity) {
    table.add_row({p.series, fmt::format("{}", p.eps), std::to_string(p.workers),
                   std::to_string(p.runs),
                   fmt::format("{}/{}{}", p.reached, p.runs,
                               p.diverged > 0 ? fmt::format(" ({} diverged)", p.diverged) : ""),
                   estimate_text(p.iterations, p.budget), estimate_text(p.rounds, p.budget),
                   number_text(p.wall_time_s), number_text(p.projected_time_s)});
    complexity_csv.add_row({p.series, csv_number(p.eps), std::to_string(p.workers),
                            std::to_string(p.runs), std::to_string(p.reached),
                            std::to_string(p.diverged), std::to_string(p.budget),
                            csv_number(p.iterations.value), csv_number(p.iterations.low),
                            csv_number(p.iterations.high), csv_number(p.iterations_mean),
                            csv_number(p.rounds.value), csv_number(p.rounds.low),
                            csv_number(p.rounds.high), csv_number(p.rounds_mean),
                            csv_number(p.bytes), csv_number(p.wall_time_s),
                            csv_number(p.projected_time_s)});
  }

  // The other columns of a run that say how it went, per series.
  Table runs_table({"series", "runs", "final ||grad f||", "clip fraction", "time (s)"});
  std::vector<std::string> series_order;
  for (const RunRecord& run : results.runs) {
    if (std::ranges::find(series_order, run.series) == series_order.end()) {
      series_order.push_back(run.series);
    }
  }
  for (const std::string& series : series_order) {
    std::vector<double> norms, clips, walls;
    int failed = 0;
    for (const RunRecord* run : by_series[series]) {
      if (run->summary.is_null()) {
        ++failed;
        continue;
      }
      const Json& final_record = run->summary["final"];
      if (!final_record.is_null()) norms.push_back(final_record["grad_norm"].get<double>());
      clips.push_back(run->summary["mean_clip_fraction"].get<double>());
      walls.push_back(run->summary["time"]["wall_s"].get<double>());
    }
    runs_table.add_row({series,
                        fmt::format("{}{}", by_series[series].size(),
                                    failed > 0 ? fmt::format(" ({} failed)", failed) : ""),
                        norms.empty() ? "diverged" : number_text(median(norms), "{:.4g}"),
                        number_text(mean(clips), "{:.3f}"), number_text(median(walls))});
  }

  Table fits({"series", "quantity", "along", "at", "points", "slope", "95% CI (seeds)",
              "95% CI (fit)", "R^2", "theory"});
  Table fits_csv({"series", "quantity", "axis", "fixed", "at", "points", "slope", "intercept",
                  "seed_low", "seed_high", "resamples_left_out", "fit_low", "fit_high",
                  "r_squared", "theory_slope"});
  for (const ComplexityFit& f : analysis.fits) {
    const PowerLawFit& p = f.fit;
    fits.add_row({f.series, f.quantity, f.axis, f.at(),
                  std::to_string(p.points), fmt::format("{:.2f}", p.slope),
                  fmt::format("[{:.2f}, {:.2f}]", p.seed_low, p.seed_high),
                  std::isnan(p.fit_low) ? std::string("-")
                                        : fmt::format("[{:.2f}, {:.2f}]", p.fit_low, p.fit_high),
                  fmt::format("{:.3f}", p.r_squared),
                  std::isnan(f.theory_slope) ? std::string("-") : fmt::format("{:g}", f.theory_slope)});
    fits_csv.add_row({f.series, f.quantity, f.axis, csv_number(f.fixed), f.at(),
                      std::to_string(p.points),
                      csv_number(p.slope), csv_number(p.intercept), csv_number(p.seed_low),
                      csv_number(p.seed_high), std::to_string(p.resamples_left_out),
                      csv_number(p.fit_low), csv_number(p.fit_high), csv_number(p.r_squared),
                      csv_number(f.theory_slope)});
  }

  Table speedup({"series", "eps", "N", "speedup S(N) [95% CI]", "efficiency S/N", "in time",
                 "in projected time"});
  Table speedup_csv({"series", "eps", "workers", "speedup", "speedup_low", "speedup_high",
                     "efficiency", "speedup_wall_time", "speedup_projected_time"});
  std::vector<std::string> linear;
  for (std::size_t k = 0; k < analysis.speedup.size(); ++k) {
    const SpeedupPoint& s = analysis.speedup[k];
    speedup.add_row({s.series, fmt::format("{}", s.eps), std::to_string(s.workers),
                     std::isfinite(s.iterations.value)
                         ? fmt::format("{:.2f} [{:.2f}, {:.2f}]", s.iterations.value,
                                       s.iterations.low, s.iterations.high)
                         : std::string("censored"),
                     number_text(s.efficiency, "{:.2f}"), number_text(s.wall_time, "{:.2f}"),
                     number_text(s.projected_time, "{:.2f}")});
    speedup_csv.add_row({s.series, csv_number(s.eps), std::to_string(s.workers),
                         csv_number(s.iterations.value), csv_number(s.iterations.low),
                         csv_number(s.iterations.high), csv_number(s.efficiency),
                         csv_number(s.wall_time), csv_number(s.projected_time)});
    // The largest N up to which every efficiency meets the threshold.
    const bool last_of_line = k + 1 == analysis.speedup.size() ||
                              analysis.speedup[k + 1].series != s.series ||
                              analysis.speedup[k + 1].eps != s.eps;
    if (last_of_line) {
      int up_to = 1;
      for (std::size_t j = 0; j <= k; ++j) {
        const SpeedupPoint& p = analysis.speedup[j];
        if (p.series != s.series || p.eps != s.eps) continue;
        if (!(p.efficiency >= analysis.efficiency_threshold)) break;
        up_to = p.workers;
      }
      linear.push_back(fmt::format("{}, eps = {}: linear speedup (S(N)/N >= {}) up to N = {}",
                                   s.series, s.eps, analysis.efficiency_threshold, up_to));
    }
  }

  Table curves_csv({"series", "sync_interval", "step", "rounds", "wall_time_s",
                    "projected_time_s", "seeds", "grad_norm", "grad_norm_low", "grad_norm_high",
                    "value", "value_low", "value_high", "clip_fraction", "clip_fraction_low",
                    "clip_fraction_high"});
  for (const Curve& curve : analysis.curves) {
    for (const CurvePoint& p : curve.points) {
      curves_csv.add_row({curve.series, std::to_string(curve.sync_interval), csv_number(p.step),
                          csv_number(p.rounds), csv_number(p.wall_time_s),
                          csv_number(p.projected_time_s), std::to_string(p.seeds),
                          csv_number(p.grad_norm.value), csv_number(p.grad_norm.low),
                          csv_number(p.grad_norm.high), csv_number(p.value.value),
                          csv_number(p.value.low), csv_number(p.value.high),
                          csv_number(p.clip_fraction.value), csv_number(p.clip_fraction.low),
                          csv_number(p.clip_fraction.high)});
    }
  }

  Json json;
  json["name"] = analysis.name;
  json["criterion"] = analysis.criterion;
  json["complexity"] = Json::array();
  for (const ComplexityPoint& p : analysis.complexity) {
    json["complexity"].push_back({{"series", p.series}, {"eps", p.eps}, {"workers", p.workers},
                                  {"runs", p.runs}, {"reached", p.reached},
                                  {"diverged", p.diverged}, {"budget", p.budget},
                                  {"iterations", estimate_json(p.iterations)},
                                  {"rounds", estimate_json(p.rounds)},
                                  {"iterations_mean", number_json(p.iterations_mean)},
                                  {"rounds_mean", number_json(p.rounds_mean)},
                                  {"bytes", number_json(p.bytes)},
                                  {"wall_time_s", number_json(p.wall_time_s)},
                                  {"projected_time_s", number_json(p.projected_time_s)}});
  }
  json["fits"] = Json::array();
  for (const ComplexityFit& f : analysis.fits) {
    json["fits"].push_back({{"series", f.series}, {"quantity", f.quantity}, {"axis", f.axis},
                            {"fixed", f.fixed}, {"at", f.at()}, {"points", f.fit.points},
                            {"slope", f.fit.slope}, {"intercept", f.fit.intercept},
                            {"seed_ci", {number_json(f.fit.seed_low), number_json(f.fit.seed_high)}},
                            {"fit_ci", {number_json(f.fit.fit_low), number_json(f.fit.fit_high)}},
                            {"r_squared", f.fit.r_squared},
                            {"theory_slope", number_json(f.theory_slope)}});
  }
  json["speedup"] = Json::array();
  for (const SpeedupPoint& s : analysis.speedup) {
    json["speedup"].push_back({{"series", s.series}, {"eps", s.eps}, {"workers", s.workers},
                               {"iterations", estimate_json(s.iterations)},
                               {"efficiency", number_json(s.efficiency)},
                               {"wall_time", number_json(s.wall_time)},
                               {"projected_time", number_json(s.projected_time)}});
  }
  json["linear_speedup"] = linear;

  std::string text;
  if (!analysis.description.empty()) text += analysis.description + "\n\n";
  if (table.rows() > 0) {
    text += fmt::format(
        "Steps and rounds to eps ({} criterion): median over seeds [95% bootstrap CI];\n"
        "\"> B\": fewer than half of the runs reached eps within the budget B.\n"
        "time, projected: median measured time to eps, and the time it would take on N nodes\n"
        "of the run's network (docs/network-model.md).\n\n",
        analysis.criterion);
    text += table.to_text() + "\n";
  }
  text += runs_table.to_text();
  text += "\nfinal ||grad f||: median at the last step; clip fraction: mean fraction of clipped "
          "worker-steps;\ntime: median wall time of a run.\n";
  if (fits.rows() > 0) {
    text += "\nPower-law fits, log y = a + b log x, on the median over seeds:\n\n" + fits.to_text();
    text += "\ntheory: Theorem 1 with its parameter choices (T ~ 1/(N eps^4)); rounds = T / I, so\n"
            "their exponent is T's minus that of I in this series. Along sigma + kappa (a sweep\n"
            "over heterogeneity): T ~ (sigma + kappa)^2, the ICLR version's dependence.\n";
  }
  if (speedup.rows() > 0) {
    text += "\nSpeedup S(N) = T(eps; 1) / T(eps; N):\n\n" + speedup.to_text();
    for (const std::string& line : linear) text += line + "\n";
  }

  write_file_atomically(results.folder / "results.csv", results_csv(results));
  write_file_atomically(folder / "complexity.csv", complexity_csv.to_csv());
  write_file_atomically(folder / "fits.csv", fits_csv.to_csv());
  write_file_atomically(folder / "speedup.csv", speedup_csv.to_csv());
  write_file_atomically(folder / "curves.csv", curves_csv.to_csv());
  write_file_atomically(folder / "analysis.json", json.dump(2) + '\n');
  write_file_atomically(results.folder / "table.txt", text);
  fmt::print(log, "\n{}\nresults: {}\n", text, fs::absolute(results.folder).lexically_normal().string());
}

}  // namespace distclip::app
