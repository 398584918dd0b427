#include "smoothness.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/analysis/smoothness.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"
#include "execute.hpp"
#include "gnuplot.hpp"
#include "output.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sample points of each drawn line.
constexpr int kLinePoints = 200;
// Characters per line of the figure's title (1000 pixels wide).
constexpr std::size_t kTitleWidth = 110;

// The command line, as parsed.
struct SmoothnessState {
  std::string method = "segment";
  int points = 10;
  int probes = 50;
  int hvp_iterations = 20;
  double hvp_step = 0.0;
  std::string out;
  bool overwrite = false;
};

// What to measure, checked.
struct Request {
  std::vector<SmoothnessMethod> methods;
  SegmentOptions segment;
  HvpOptions hvp;
  int probes = 0;
};

Request check_request(const SmoothnessState& state, bool hvp_step_given, const RunConfig& config) {
  Request request;
  if (state.method == "segment" || state.method == "both") {
    request.methods.push_back(SmoothnessMethod::kSegment);
  }
  if (state.method == "hvp" || state.method == "both") {
    request.methods.push_back(SmoothnessMethod::kHvp);
  }
  if (request.methods.empty()) {
    throw ConfigError(fmt::format("method = {}, must be segment, hvp or both", state.method));
  }
  if (state.probes < 2) {
    throw ConfigError(fmt::format("probes = {}, must be >= 2", state.probes));
  }
  request.probes = state.probes;
  request.segment.points = state.points;
  request.hvp.iterations = state.hvp_iterations;
  // The LSTM computes in float32 (docs/lstm.md), every synthetic family in
  // double: the step that balances truncation and rounding differs.
  const bool single_precision = config.objective.family == kLanguageModelFamily;
  request.hvp.relative_step = hvp_step_given
                                  ? state.hvp_step
                                  : (single_precision ? kFloatRelativeStep : kDoubleRelativeStep);
  std::string error;
  if (!request.segment.IsValid(&error) || !request.hvp.IsValid(&error)) throw ConfigError(error);
  const Backend backend = config.execution.backend;
  if (backend == Backend::kMpi || (backend == Backend::kAuto && launched_by_mpi())) {
    throw ConfigError(
        "backend = mpi, must be threads: distclip smoothness runs every worker in one process");
  }
  return request;
}

// The points of the run that are probed: xbar_t at the steps where
// Runner::run() evaluates (multiples of eval-every, and the last step),
// thinned evenly to `probes` with the first and the last kept.
struct Trajectory {
  std::vector<std::int64_t> steps;
  std::vector<Vector> points;
  std::int64_t evaluations = 0;  // evaluation points of the whole run
  std::optional<Divergence> divergence;
};

std::vector<std::int64_t> evaluation_steps(const RunOptions& options) {
  std::vector<std::int64_t> steps;
  for (std::int64_t t = 0; t < options.max_steps; t += options.eval_every) steps.push_back(t);
  steps.push_back(options.max_steps);
  return steps;
}

std::vector<std::int64_t> thinned(const std::vector<std::int64_t>& steps, int probes) {
  const std::size_t n = steps.size();
  const std::size_t m = static_cast<std::size_t>(probes);
  if (n <= m) return steps;
  std::vector<std::int64_t> kept;
  for (std::size_t k = 0; k < m; ++k) {
    // Rounded k (n - 1) / (m - 1): distinct indices since n > m.
    kept.push_back(steps[(2 * k * (n - 1) + (m - 1)) / (2 * (m - 1))]);
  }
  return kept;
}

// The target and the stop criterion are not used: the run goes to its last
// step, or to a divergence.
Trajectory run_trajectory(const RunConfig& config, Oracle& oracle, int probes) {
  const std::vector<std::int64_t> all = evaluation_steps(config.options);
  Trajectory trajectory;
  trajectory.evaluations = static_cast<std::int64_t>(all.size());
  InProcessCommunicator communicator(config.options.num_workers);
  Runner runner(*find_algorithm(config.algorithm), oracle, communicator, config.options);
  for (const std::int64_t step : thinned(all, probes)) {
    if (runner.advance_to(step)) runner.evaluate();
    if (runner.divergence()) {
      trajectory.divergence = runner.divergence();
      break;
    }
    trajectory.steps.push_back(step);
    trajectory.points.push_back(runner.averaged_iterate());
  }
  return trajectory;
}

struct Certificate {
  double l0 = 0.0;
  double l1 = 0.0;
};

std::optional<Certificate> certificate_of(const OracleConstants& constants) {
  if (!constants.l0.is_known() || !constants.l1.is_known()) return std::nullopt;
  return Certificate{constants.l0.value(), constants.l1.value()};
}

struct Measurement {
  SmoothnessMethod method;
  std::vector<SmoothnessSample> samples;
  std::optional<SmoothnessLine> line;
  std::vector<FrontierVertex> frontier;
};

Measurement measure(SmoothnessMethod method, const Oracle& oracle,
                    const std::vector<Vector>& points, const Request& request) {
  Measurement m{method, {}, std::nullopt, {}};
  m.samples = method == SmoothnessMethod::kSegment
                  ? segment_estimates(oracle, points, request.segment)
                  : hvp_estimates(oracle, points, request.hvp);
  m.line = fit_line(m.samples);
  m.frontier = frontier(m.samples);
  return m;
}

std::string method_label(const Measurement& m, const Request& request) {
  return m.method == SmoothnessMethod::kSegment
             ? fmt::format("segment (K = {})", request.segment.points)
             : fmt::format("hvp ({} iterations, h = {:.3g} max(1, ||x||))", request.hvp.iterations,
                           request.hvp.relative_step);
}

// The sample with the largest estimate / certified envelope.
struct Worst {
  double ratio = 0.0;
  std::size_t sample = 0;
};

std::optional<Worst> worst_ratio(const Measurement& m, const std::optional<Certificate>& c) {
  if (!c || m.samples.empty()) return std::nullopt;
  Worst worst;
  for (std::size_t k = 0; k < m.samples.size(); ++k) {
    const double ratio = m.samples[k].smoothness / certified_envelope(m.samples[k], c->l0, c->l1);
    if (k == 0 || ratio > worst.ratio) worst = {ratio, k};
  }
  return worst;
}

// ---------------------------------------------------------------------------
// Files.

std::string number(double v) { return fmt::format("{:.17g}", v); }

std::string samples_csv(const std::vector<Measurement>& measurements, const Trajectory& trajectory,
                        const std::optional<Certificate>& c) {
  std::string csv = "method,point,step,grad_norm,smoothness,step_length,envelope,ratio\n";
  for (const Measurement& m : measurements) {
    for (const SmoothnessSample& s : m.samples) {
      std::string envelope, ratio;
      if (c) {
        const double e = certified_envelope(s, c->l0, c->l1);
        envelope = number(e);
        ratio = number(s.smoothness / e);
      }
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", to_string(s.method), s.point,
                         trajectory.steps[s.point], number(s.grad_norm), number(s.smoothness),
                         number(s.step_length), envelope, ratio);
    }
  }
  return csv;
}

std::string frontier_csv(const std::vector<Measurement>& measurements) {
  std::string csv = "method,vertex,l1,l0\n";
  for (const Measurement& m : measurements) {
    for (std::size_t i = 0; i < m.frontier.size(); ++i) {
      csv += fmt::format("{},{},{},{}\n", to_string(m.method), i, number(m.frontier[i].l1),
                         number(m.frontier[i].l0));
    }
  }
  return csv;
}

nlohmann::ordered_json measurement_json(const Measurement& m, const Request& request,
                                        const Trajectory& trajectory,
                                        const std::optional<Certificate>& c) {
  nlohmann::ordered_json json;
  if (m.method == SmoothnessMethod::kSegment) {
    json["options"] = {{"points", request.segment.points}};
  } else {
    json["options"] = {{"iterations", request.hvp.iterations},
                       {"relative_step", request.hvp.relative_step},
                       {"seed", request.hvp.seed}};
  }
  json["samples"] = m.samples.size();
  json["least_squares"] = nullptr;
  json["frontier_l0_at_least_squares_l1"] = nullptr;
  if (m.line) {
    json["least_squares"] = {
        {"l0", m.line->l0}, {"l1", m.line->l1}, {"r_squared", m.line->r_squared}};
    // The frontier has no L1 < 0.
    if (m.line->l1 >= 0.0) {
      json["frontier_l0_at_least_squares_l1"] = frontier_l0(m.frontier, m.line->l1);
    }
  }
  json["frontier"] = nlohmann::ordered_json::array();
  for (const FrontierVertex& v : m.frontier) {
    json["frontier"].push_back({{"l1", v.l1}, {"l0", v.l0}});
  }
  json["frontier_l0_at_certified_l1"] =
      c ? nlohmann::ordered_json(frontier_l0(m.frontier, c->l1)) : nlohmann::ordered_json(nullptr);
  json["max_ratio_to_certified"] = nullptr;
  if (const auto worst = worst_ratio(m, c)) {
    const SmoothnessSample& s = m.samples[worst->sample];
    json["max_ratio_to_certified"] = {
        {"ratio", worst->ratio}, {"point", s.point}, {"step", trajectory.steps[s.point]}};
  }
  return json;
}

nlohmann::ordered_json fit_json(const RunConfig& config, const std::string& description,
                                const Trajectory& trajectory,
                                const std::vector<Measurement>& measurements,
                                const Request& request, const std::optional<Certificate>& c) {
  nlohmann::ordered_json json;
  json["objective"] = description;
  json["config"] = config_to_json(config);
  json["trajectory"] = {
      {"evaluations", trajectory.evaluations},
      {"probed", trajectory.points.size()},
      {"steps", trajectory.steps},
      {"diverged_at", trajectory.divergence ? nlohmann::ordered_json(trajectory.divergence->step)
                                            : nlohmann::ordered_json(nullptr)}};
  json["certified"] =
      c ? nlohmann::ordered_json{{"l0", c->l0}, {"l1", c->l1}} : nlohmann::ordered_json(nullptr);
  for (const Measurement& m : measurements) {
    json[std::string(to_string(m.method))] = measurement_json(m, request, trajectory, c);
  }
  return json;
}

// ---------------------------------------------------------------------------
// The figure (Zhang et al. 2020, Fig. 1): estimates against ||grad f(x)||,
// the least-squares line of each method, the envelope the frontier gives
// at its slope, and the certified L0 + L1 g.

// `text` broken at spaces into lines of at most kTitleWidth characters
// where it can be: the oracle's description can be long (the LSTM's names
// its files).
std::string wrapped(std::string_view text) {
  std::string out;
  std::size_t line = 0;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find(' ', begin), text.size());
    const std::string_view word = text.substr(begin, end - begin);
    if (line > 0 && line + 1 + word.size() > kTitleWidth) {
      out += '\n';
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += word;
    line += word.size();
    begin = end + 1;
  }
  return out;
}

// Which axes are logarithmic: one whose values are all positive and span
// at least a decade; the others linear.
struct Axes {
  bool log_g = false;
  bool log_l = false;
};

Axes choose_axes(const std::vector<Measurement>& measurements) {
  const auto spans_a_decade = [&](double SmoothnessSample::*field) {
    double low = std::numeric_limits<double>::infinity(), high = 0.0;
    for (const Measurement& m : measurements) {
      for (const SmoothnessSample& s : m.samples) {
        low = std::min(low, s.*field);
        high = std::max(high, s.*field);
      }
    }
    return low > 0.0 && high >= 10.0 * low;
  };
  return {spans_a_decade(&SmoothnessSample::grad_norm),
          spans_a_decade(&SmoothnessSample::smoothness)};
}

// L = l0 + l1 g over the estimates' range of g, log-spaced on a log g axis;
// NaN (a gap) where L <= 0 on a log L axis.
std::vector<std::vector<double>> line_rows(double l0, double l1, double g_low, double g_high,
                                           const Axes& axes) {
  std::vector<std::vector<double>> rows;
  for (int i = 0; i < kLinePoints; ++i) {
    const double t = static_cast<double>(i) / (kLinePoints - 1);
    const double g =
        axes.log_g ? g_low * std::pow(g_high / g_low, t) : g_low + t * (g_high - g_low);
    const double l = l0 + l1 * g;
    rows.push_back({g, axes.log_l && l <= 0.0 ? kNaN : l});
  }
  return rows;
}

Figure smoothness_figure(const std::vector<Measurement>& measurements, const Request& request,
                         const std::optional<Certificate>& c, const std::string& description) {
  const Axes axes = choose_axes(measurements);
  double g_low = std::numeric_limits<double>::infinity(), g_high = 0.0;
  for (const Measurement& m : measurements) {
    for (const SmoothnessSample& s : m.samples) {
      g_low = std::min(g_low, s.grad_norm);
      g_high = std::max(g_high, s.grad_norm);
    }
  }
  Figure figure;
  figure.name = "smoothness";
  figure.title = fmt::format(
      "local smoothness vs gradient norm along the run\n{}\nsegment: max ||grad f(z) - grad "
      "f(x)|| / ||z - x|| towards the next probe; hvp: ||Hess f(x)||",
      wrapped(description));
  figure.xlabel = "||grad f(x)||";
  figure.ylabel = "local smoothness L";
  figure.columns = "||grad f(x)|| L";
  figure.log_x = axes.log_g ? 10 : 0;
  figure.log_y = axes.log_l ? 10 : 0;
  for (std::size_t i = 0; i < measurements.size(); ++i) {
    const Measurement& m = measurements[i];
    const std::string colour = fmt::format("lc rgb '{}'", kPalette[i % kPalette.size()]);
    const std::string method(to_string(m.method));
    std::vector<std::vector<double>> rows;
    for (const SmoothnessSample& s : m.samples) rows.push_back({s.grad_norm, s.smoothness});
    const int points = figure.add_block(method_label(m, request), std::move(rows));
    figure.elements.push_back(
        figure.element(points, "1:2", "points pt 7 ps 0.7 " + colour, method_label(m, request)));
    if (!m.line) continue;
    const int line = figure.add_block(method + " least squares",
                                      line_rows(m.line->l0, m.line->l1, g_low, g_high, axes));
    figure.elements.push_back(figure.element(
        line, "1:2", "lines lw 2 " + colour,
        fmt::format("{} least squares: L = {:.3g} + {:.3g} g (R^2 = {:.2f})", method, m.line->l0,
                    m.line->l1, m.line->r_squared)));
    // The envelope the estimates support with the least-squares slope:
    // every estimate lies on or under it.
    if (m.line->l1 > 0.0) {
      const double l0 = frontier_l0(m.frontier, m.line->l1);
      const int envelope = figure.add_block(method + " frontier at the least-squares L1",
                                            line_rows(l0, m.line->l1, g_low, g_high, axes));
      figure.elements.push_back(figure.element(
          envelope, "1:2", "lines lw 1.5 dt 3 " + colour,
          fmt::format("{} envelope: frontier L0 = {:.3g} at L1 = {:.3g}", method, l0,
                      m.line->l1)));
    }
  }
  if (c) {
    const int certified =
        figure.add_block("certified", line_rows(c->l0, c->l1, g_low, g_high, axes));
    figure.elements.push_back(figure.element(
        certified, "1:2", fmt::format("lines lw 2 dt 2 lc rgb '{}'", kGuideColour),
        fmt::format("certified L0 + L1 g = {:.3g} + {:.3g} g", c->l0, c->l1)));
  }
  return figure;
}

// ---------------------------------------------------------------------------
// The summary.

void print_measurement(std::ostream& out, const Measurement& m, const Request& request,
                       const Trajectory& trajectory, const std::optional<Certificate>& c) {
  fmt::print(out, "  {}: {} samples\n", method_label(m, request), m.samples.size());
  if (m.samples.empty()) return;
  const auto [g_low, g_high] = std::ranges::minmax(m.samples, {}, &SmoothnessSample::grad_norm);
  const auto [l_low, l_high] = std::ranges::minmax(m.samples, {}, &SmoothnessSample::smoothness);
  fmt::print(out, "    ||grad f|| from {:.4g} to {:.4g}, L from {:.4g} to {:.4g}\n",
             g_low.grad_norm, g_high.grad_norm, l_low.smoothness, l_high.smoothness);
  if (m.line) {
    fmt::print(out, "    least squares: L = {:.4g} + {:.4g} ||grad f|| (R^2 = {:.3f})\n",
               m.line->l0, m.line->l1, m.line->r_squared);
  } else {
    fmt::print(out, "    least squares: none (a single gradient norm)\n");
  }
  std::string frontier = fmt::format("L0 = {:.4g} at L1 = 0", frontier_l0(m.frontier, 0.0));
  if (m.line && m.line->l1 > 0.0) {
    frontier += fmt::format(", {:.4g} at the least-squares L1 = {:.4g}",
                            frontier_l0(m.frontier, m.line->l1), m.line->l1);
  }
  if (c) {
    frontier +=
        fmt::format(", {:.4g} at the certified L1 = {:.4g}", frontier_l0(m.frontier, c->l1), c->l1);
  }
  fmt::print(out, "    frontier: {}\n", frontier);
  if (const auto worst = worst_ratio(m, c)) {
    fmt::print(out, "    largest L / certified envelope: {:.4g} (step {})\n", worst->ratio,
               trajectory.steps[m.samples[worst->sample].point]);
  }
}

void print_summary(std::ostream& out, const RunConfig& config, const std::string& description,
                   const Trajectory& trajectory, const std::vector<Measurement>& measurements,
                   const Request& request, const std::optional<Certificate>& c) {
  const RunOptions& o = config.options;
  fmt::print(out, "smoothness of {}\n", description);
  fmt::print(out, "  along {}: N = {}, I = {}, eta = {}, gamma = {}, T = {}, seed = {}\n",
             config.algorithm, o.num_workers, o.sync_interval, o.step_size, o.clip_threshold,
             o.max_steps, o.seed);
  fmt::print(out, "  xbar_t probed at {} of the run's {} evaluation points (steps {} to {})\n",
             trajectory.points.size(), trajectory.evaluations, trajectory.steps.front(),
             trajectory.steps.back());
  if (trajectory.divergence) {
    fmt::print(out, "  the run diverged at step {} ({} = {}): only the points before it\n",
               trajectory.divergence->step, trajectory.divergence->quantity,
               trajectory.divergence->value);
  }
  if (c) {
    fmt::print(out, "  certified: L0 = {:.6g}, L1 = {:.6g}\n", c->l0, c->l1);
  } else {
    fmt::print(out, "  certified: none (the oracle does not know L0, L1)\n");
  }
  for (const Measurement& m : measurements) print_measurement(out, m, request, trajectory, c);
}

}  // namespace

Action add_smoothness_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "smoothness",
      "Measures (L0, L1)-smoothness along a run (docs/smoothness.md): runs the configured "
      "algorithm in this process to its last step, probes the averaged iterate at up to "
      "--probes evaluation points, estimates the local smoothness there, and writes "
      "smoothness.csv, frontier.csv, fit.json and the figure smoothness.png/.svg into --out.");
  auto state = std::make_shared<SmoothnessState>();
  const RunParameterOptions run_parameters = add_run_parameters(command);
  command->add_option("--method", state->method,
                      "segment (largest ||grad f(z) - grad f(x)|| / ||z - x|| on the step to the "
                      "next probe, Zhang et al.), hvp (||Hess f(x)|| by power iteration on "
                      "finite-difference Hessian-vector products) or both; default: segment");
  command->add_option("--points", state->points,
                      "K, points z = x + (k/K)(y - x), k = 1..K, of each segment; default: 10");
  command->add_option("--probes", state->probes,
                      "evaluation points of the run probed, evenly spaced, first and last "
                      "included; default: 50");
  command->add_option("--hvp-iterations", state->hvp_iterations,
                      "power iterations of the hvp method; default: 20");
  CLI::Option* hvp_step = command->add_option(
      "--hvp-step", state->hvp_step,
      "h / max(1, ||x||) of the finite differences; default: 6.06e-6 (cbrt of double's "
      "epsilon), 3e-4 for the float32 LSTM");
  command->add_option("--out", state->out, "folder for the results; it appears when complete")
      ->required();
  command->add_flag("--overwrite", state->overwrite, "replace the --out folder if it exists");
  return [state, run_parameters, hvp_step]() {
    const RunConfig config = run_parameters.resolve_config();
    const Request request = check_request(*state, hvp_step->count() > 0, config);
    check_inputs(config);
    OutputFolder folder(state->out, state->overwrite);

    const std::unique_ptr<Oracle> oracle =
        make_objective(config.objective, config.options.num_workers);
    const std::string description = oracle->describe();
    const std::optional<Certificate> certificate = certificate_of(oracle->constants());
    const Trajectory trajectory = run_trajectory(config, *oracle, request.probes);
    if (trajectory.points.size() < 2) {
      throw std::runtime_error(fmt::format("the run diverged at step {}, before a second probe",
                                           trajectory.divergence->step));
    }
    std::vector<Measurement> measurements;
    for (const SmoothnessMethod method : request.methods) {
      measurements.push_back(measure(method, *oracle, trajectory.points, request));
    }

    const fs::path& staging = folder.staging();
    write_file(staging / "smoothness.csv", samples_csv(measurements, trajectory, certificate));
    write_file(staging / "frontier.csv", frontier_csv(measurements));
    write_json(staging / "fit.json",
               fit_json(config, description, trajectory, measurements, request, certificate));
    std::optional<std::string> not_drawn;
    try {
      const Figure figure = smoothness_figure(measurements, request, certificate, description);
      draw_figures(std::span(&figure, 1), staging, "distclip smoothness");
    } catch (const GnuplotError& e) {
      not_drawn = e.what();
    }
    folder.commit();

    print_summary(std::cout, config, description, trajectory, measurements, request, certificate);
    const std::string out = folder.path().string();
    fmt::print(std::cout, "wrote {0}/smoothness.csv, {0}/frontier.csv, {0}/fit.json{1}\n", out,
               not_drawn ? "" : fmt::format(", {0}/smoothness.png and {0}/smoothness.svg", out));
    if (not_drawn) {
      fmt::print(std::cerr, "note: no figure: {}; the script is {}/smoothness.gp\n", *not_drawn,
                 out);
    }
    return 0;
  };
}

}  // namespace distclip::app
