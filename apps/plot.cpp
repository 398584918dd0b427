#include "plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "gnuplot.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The clipping fraction of one evaluation is a multiple of 1/N and jumps
// from one evaluation to the next; averaging it over this many bins at most
// shows its trend, as the paper's per-epoch Fig. 5 does.
constexpr std::size_t kClipFractionBins = 200;

bool finite(double v) { return std::isfinite(v); }

std::string title_of(const SweepAnalysis& analysis, std::string_view what) {
  return analysis.name.empty() ? std::string(what) : fmt::format("{}: {}", analysis.name, what);
}

// One colour (and, past the palette, one dash pattern) per series, the same
// in every figure, in the order the analysis first names the series.
class SeriesStyles {
 public:
  explicit SeriesStyles(const SweepAnalysis& analysis) {
    for (const Curve& c : analysis.curves) add(c.series);
    for (const ComplexityPoint& p : analysis.complexity) add(p.series);
    for (const ComplexityFit& f : analysis.fits) add(f.series);
    for (const SpeedupPoint& s : analysis.speedup) add(s.series);
  }

  std::string colour(const std::string& series) const {
    return fmt::format("lc rgb '{}'", kPalette[index_of(series) % kPalette.size()]);
  }
  // Colour and dash pattern of the series' lines.
  std::string line(const std::string& series) const {
    return fmt::format("{} dt {}", colour(series), 1 + (index_of(series) / kPalette.size()) % 5);
  }

 private:
  void add(const std::string& series) { index_.try_emplace(series, index_.size()); }
  std::size_t index_of(const std::string& series) const {
    const auto it = index_.find(series);
    return it == index_.end() ? 0 : it->second;
  }
  std::map<std::string, std::size_t> index_;
};

// ---------------------------------------------------------------------------
// Trajectories (paper Figs. 1-3): one line per series, the mean over seeds,
// with its 95% interval shaded.

struct CurveAxis {
  std::string_view name;  // in the figure's file name
  std::string_view what;  // in its title
  std::string_view label;
  double CurvePoint::*x;
};

struct CurveQuantity {
  std::string_view name;
  std::string_view what;
  std::string_view label;
  Estimate CurvePoint::*y;
};

constexpr std::array<CurveAxis, 4> kCurveAxes = {{
    {"iterations", "iterations", "iterations t", &CurvePoint::step},
    {"rounds", "communication rounds", "communication rounds", &CurvePoint::rounds},
    {"time", "measured wall time", "wall time (s)", &CurvePoint::wall_time_s},
    {"projected-time", "projected time", "projected time on N nodes (s)",
     &CurvePoint::projected_time_s},
}};

constexpr CurveQuantity kGradNorm = {"grad-norm", "gradient norm at the averaged iterate",
                                     "||grad f(xbar_t)||", &CurvePoint::grad_norm};
constexpr CurveQuantity kLoss = {"loss", "objective at the averaged iterate", "f(xbar_t)",
                                 &CurvePoint::value};

// Two distinct x values among the drawable points, or the axis was never
// measured (a time of 0 throughout) and the figure says nothing.
bool spans_an_axis(const std::vector<double>& xs) {
  if (xs.empty()) return false;
  const auto [lo, hi] = std::ranges::minmax(xs);
  return hi > lo;
}

std::optional<Figure> curve_figure(const SweepAnalysis& analysis, const SeriesStyles& styles,
                                   const CurveQuantity& quantity, const CurveAxis& axis) {
  // A logarithmic y axis unless some mean is not positive (a loss may be).
  bool any_value = false;
  bool all_positive = true;
  double smallest_positive = kInf;
  bool several_seeds = false;
  int most_seeds = 0;
  for (const Curve& curve : analysis.curves) {
    for (const CurvePoint& p : curve.points) {
      const Estimate& y = p.*quantity.y;
      if (!finite(y.value)) continue;
      any_value = true;
      if (y.value <= 0.0) all_positive = false;
      for (double v : {y.value, y.low, y.high}) {
        if (finite(v) && v > 0.0) smallest_positive = std::min(smallest_positive, v);
      }
      several_seeds = several_seeds || p.seeds > 1;
      most_seeds = std::max(most_seeds, p.seeds);
    }
  }
  if (!any_value) return std::nullopt;
  const bool log_y = all_positive;
  // An interval reaching below zero is drawn down to below the smallest
  // positive value rather than dropped.
  const double floor = smallest_positive / 2.0;

  Figure figure;
  figure.name = fmt::format("{}-vs-{}", quantity.name, axis.name);
  figure.title = fmt::format(
      "{}\n{}", title_of(analysis, fmt::format("{} vs {}", quantity.what, axis.what)),
      several_seeds ? fmt::format("lines: mean over seeds (up to {}); shaded: 95% CI over seeds "
                                  "(Student t)", most_seeds)
                    : std::string("lines: one seed per series"));
  figure.xlabel = axis.label;
  figure.ylabel = quantity.label;
  figure.columns = fmt::format("{}, mean, 95% low, 95% high, seeds", axis.label);
  figure.log_y = log_y ? 10 : 0;

  std::vector<double> drawn_x;
  std::vector<std::string> bands;
  std::vector<std::string> lines;
  for (const Curve& curve : analysis.curves) {
    std::vector<std::vector<double>> rows;
    bool drawable = false;
    bool band = false;
    for (const CurvePoint& p : curve.points) {
      const double x = p.*axis.x;
      const Estimate& e = p.*quantity.y;
      double y = e.value;
      double low = e.low;
      double high = e.high;
      if (log_y) {
        if (y <= 0.0) y = kNaN;
        if (low <= 0.0) low = floor;
        if (high <= 0.0) high = kNaN;
      }
      if (finite(x) && finite(y)) {
        drawable = true;
        drawn_x.push_back(x);
        band = band || (p.seeds > 1 && finite(low) && finite(high));
      }
      rows.push_back({x, y, low, high, static_cast<double>(p.seeds)});
    }
    if (!drawable) continue;
    const int block = figure.add_block(curve.series, std::move(rows));
    if (band) {
      bands.push_back(figure.element(block, "1:3:4",
                              "filledcurves " + styles.colour(curve.series), std::nullopt));
    }
    lines.push_back(
        figure.element(block, "1:2", "lines lw 2 " + styles.line(curve.series), curve.series));
  }
  if (!spans_an_axis(drawn_x)) return std::nullopt;
  // Bands first, so that no band covers another series' line.
  figure.elements = std::move(bands);
  figure.elements.insert(figure.elements.end(), lines.begin(), lines.end());
  return figure;
}

// Paper Fig. 5: how often clipping is active, per series.
std::optional<Figure> clip_fraction_figure(const SweepAnalysis& analysis,
                                           const SeriesStyles& styles) {
  Figure figure;
  figure.name = "clip-fraction";
  figure.xlabel = "iterations t";
  figure.ylabel = "fraction of workers whose step was clipped";
  figure.columns = "step clip_fraction (bin means)";
  figure.yrange = "[0:1]";

  std::vector<double> drawn_x;
  std::size_t widest_bin = 1;
  for (const Curve& curve : analysis.curves) {
    const std::size_t n = curve.points.size();
    const std::size_t width = std::max<std::size_t>(1, (n + kClipFractionBins - 1) / kClipFractionBins);
    widest_bin = std::max(widest_bin, width);
    std::vector<std::vector<double>> rows;
    bool drawable = false;
    for (std::size_t begin = 0; begin < n; begin += width) {
      const std::size_t end = std::min(n, begin + width);
      double step_sum = 0.0, fraction_sum = 0.0;
      int steps = 0, fractions = 0;
      for (std::size_t i = begin; i < end; ++i) {
        const CurvePoint& p = curve.points[i];
        if (finite(p.step)) step_sum += p.step, ++steps;
        if (finite(p.clip_fraction.value)) fraction_sum += p.clip_fraction.value, ++fractions;
      }
      const double x = steps > 0 ? step_sum / steps : kNaN;
      const double y = fractions > 0 ? fraction_sum / fractions : kNaN;
      if (finite(x) && finite(y)) {
        drawable = true;
        drawn_x.push_back(x);
      }
      rows.push_back({x, y});
    }
    if (!drawable) continue;
    const int block = figure.add_block(curve.series, std::move(rows));
    figure.elements.push_back(
        figure.element(block, "1:2", "lines lw 2 " + styles.line(curve.series), curve.series));
  }
  if (!spans_an_axis(drawn_x)) return std::nullopt;
  figure.title = fmt::format(
      "{}\nmean over seeds{}",
      title_of(analysis, "clipping frequency vs iterations"),
      widest_bin > 1 ? fmt::format(", averaged over bins of up to {} evaluations", widest_bin)
                     : std::string());
  return figure;
}

// ---------------------------------------------------------------------------
// Complexity against 1/eps or N: medians with bootstrap intervals, the fitted
// power law and the theory's slope.

bool same_eps(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

// Error bars whose upper end is censored (+inf) reach the top of the figure;
// they are written as +inf here and replaced once the top is known.
void close_open_intervals(Figure& figure, std::span<const int> blocks, double largest,
                          double headroom) {
  bool open = false;
  for (int b : blocks) {
    for (const auto& row : figure.blocks[b].rows) open = open || row[3] == kInf;
  }
  if (!open) return;
  const double top = largest * headroom;
  for (int b : blocks) {
    for (auto& row : figure.blocks[b].rows) {
      if (row[3] == kInf) row[3] = top;
    }
  }
  figure.yrange = fmt::format("[*:{}]", plot_number(top));
  figure.title += "\nbars reaching the top edge: interval open above (some seeds never reached eps)";
}

// A point of a log-log figure: the median, its interval with a lower end
// that is not positive raised to `floor` and an upper end left +inf.
std::vector<double> log_point(double x, const Estimate& e, double floor) {
  const double low = (finite(e.low) && e.low > 0.0) ? e.low : (finite(e.low) ? floor : e.value);
  const double high = e.high == kInf ? kInf : (finite(e.high) ? e.high : e.value);
  return {x, e.value, low, high};
}

// The x axis of a complexity figure: which fits it draws, and what x each
// of their complexity points has.
struct ComplexityAxis {
  std::string_view name;   // ComplexityFit::axis
  std::string_view file;   // in the figure's file name
  std::string_view what;   // in its title
  std::string_view label;  // its x label
  int log_base;
};

constexpr ComplexityAxis kInverseEps{"1/eps", "inverse-eps", "1/eps",
                                     "1/eps  (eps: target on ||grad f||)", 10};
constexpr ComplexityAxis kWorkers{"N", "workers", "workers N", "workers N", 2};
constexpr ComplexityAxis kNoiseLevel{"sigma + kappa", "noise-and-heterogeneity", "sigma + kappa",
                                     "sigma + kappa  (noise bound + heterogeneity)", 2};

// The x of `p` on `fit`'s line, or nullopt when `p` is not on it.
std::optional<double> x_on_line(const ComplexityAxis& axis, const ComplexityFit& fit,
                                const ComplexityPoint& p) {
  if (axis.name == kInverseEps.name) {
    if (p.series != fit.series || p.workers != std::llround(fit.fixed)) return std::nullopt;
    return 1.0 / p.eps;
  }
  if (axis.name == kWorkers.name) {
    if (p.series != fit.series || !same_eps(p.eps, fit.fixed)) return std::nullopt;
    return static_cast<double>(p.workers);
  }
  if (p.line != fit.series || !same_eps(p.eps, fit.fixed) || p.workers != fit.fixed_workers) {
    return std::nullopt;
  }
  return p.noise_level;
}

std::optional<Figure> complexity_figure(const SweepAnalysis& analysis, const SeriesStyles& styles,
                                        std::string_view quantity, const ComplexityAxis& axis) {
  std::vector<const ComplexityFit*> fits;
  for (const ComplexityFit& f : analysis.fits) {
    if (f.quantity == quantity && f.axis == axis.name) fits.push_back(&f);
  }
  if (fits.empty()) return std::nullopt;

  std::vector<std::string> fixed_values;
  for (const ComplexityFit* f : fits) {
    if (std::ranges::find(fixed_values, f->at()) == fixed_values.end()) {
      fixed_values.push_back(f->at());
    }
  }

  struct Drawn {
    const ComplexityFit* fit;
    std::vector<std::pair<double, Estimate>> points;  // finite medians, ascending x
  };
  std::vector<Drawn> drawn;
  int censored = 0;
  int diverged = 0;
  int runs = 0;
  double smallest_positive = kInf;
  double largest = 0.0;
  for (const ComplexityFit* f : fits) {
    Drawn d{f, {}};
    for (const ComplexityPoint& p : analysis.complexity) {
      const std::optional<double> on_line = x_on_line(axis, *f, p);
      if (!on_line) continue;
      const double x = *on_line;
      const Estimate& y = quantity == "iterations" ? p.iterations : p.rounds;
      if (y.value == kInf) {
        ++censored;
        continue;
      }
      if (!finite(x) || x <= 0.0 || !finite(y.value) || y.value <= 0.0) continue;
      d.points.emplace_back(x, y);
      for (double v : {y.value, y.low, y.high}) {
        if (finite(v) && v > 0.0) smallest_positive = std::min(smallest_positive, v);
        if (finite(v)) largest = std::max(largest, v);
      }
    }
    std::ranges::sort(d.points, {}, &std::pair<double, Estimate>::first);
    if (!d.points.empty()) drawn.push_back(std::move(d));
  }
  if (drawn.empty()) return std::nullopt;
  // Over the whole sweep: a series whose every run diverged has no fit and
  // no line, and must still be seen.
  for (const ComplexityPoint& p : analysis.complexity) {
    diverged += p.diverged;
    runs += p.runs;
  }

  Figure figure;
  figure.name = fmt::format("{}-vs-{}", quantity, axis.file);
  const std::string what = fmt::format(
      "{} to reach eps vs {}{}", quantity == "iterations" ? "iterations" : "communication rounds",
      axis.what, fixed_values.size() == 1 ? fmt::format(" ({})", fixed_values.front()) : "");
  figure.title = fmt::format(
      "{}\npoints: median over seeds{}, bars: 95% bootstrap interval\n"
      "solid: fitted power law log y = a + b log x; dashed: theory slope through its first fitted point",
      title_of(analysis, what),
      analysis.criterion.empty() ? "" : fmt::format(" ({} criterion)", analysis.criterion));
  if (censored > 0) {
    figure.title += fmt::format("\n{} censored (median above the budget) not shown", censored);
  }
  if (diverged > 0) {
    figure.title += fmt::format(
        "\n{} of the sweep's {} runs DIVERGED (NaN, Inf or a norm above the bound): they "
        "count as never reaching eps (complexity.csv)",
        diverged, runs);
  }
  figure.xlabel = std::string(axis.label);
  figure.ylabel = quantity == "iterations" ? "iterations t to reach eps"
                                           : "communication rounds to reach eps";
  figure.columns = "x median low high (points); x y (fitted and theory lines)";
  figure.log_x = axis.log_base;
  figure.log_y = 10;

  std::vector<std::string> lines;
  std::vector<std::string> points;
  std::vector<int> point_blocks;
  std::set<double> theory_slopes;
  std::set<double> xs;
  for (const Drawn& d : drawn) {
    const ComplexityFit& f = *d.fit;
    const std::string series =
        fixed_values.size() > 1 ? fmt::format("{} ({})", f.series, f.at()) : f.series;
    std::vector<std::vector<double>> rows;
    for (const auto& [x, y] : d.points) {
      rows.push_back(log_point(x, y, smallest_positive / 2.0));
      xs.insert(x);
    }
    const int block = figure.add_block(series + ": medians", std::move(rows));
    point_blocks.push_back(block);
    points.push_back(figure.element(block, "1:2:3:4",
                             "yerrorbars pt 7 ps 1.2 " + styles.colour(f.series), std::nullopt));

    // log y = a + b log x is a straight line on log-log axes: its ends suffice.
    const double x0 = d.points.front().first;
    const double x1 = d.points.back().first;
    const auto fitted = [&](double x) { return std::exp(f.fit.intercept) * std::pow(x, f.fit.slope); };
    if (finite(f.fit.slope) && finite(f.fit.intercept)) {
      const std::string interval =
          finite(f.fit.seed_low) && finite(f.fit.seed_high)
              ? fmt::format(" [{:.2f}, {:.2f}]", f.fit.seed_low, f.fit.seed_high)
              : std::string();
      const int fit_block = figure.add_block(series + ": fitted power law",
                                             {{x0, fitted(x0)}, {x1, fitted(x1)}});
      lines.push_back(figure.element(fit_block, "1:2", "lines lw 2 dt 1 " + styles.colour(f.series),
                              fmt::format("{}: fitted slope {:.2f}{}", series, f.fit.slope, interval)));
      if (finite(f.theory_slope)) {
        const double y0 = fitted(x0);
        const int guide_block = figure.add_block(
            fmt::format("{}: theory slope {:g} through the first fitted point", series, f.theory_slope),
            {{x0, y0}, {x1, y0 * std::pow(x1 / x0, f.theory_slope)}});
        lines.push_back(figure.element(guide_block, "1:2", "lines lw 1.5 dt 2 " + styles.colour(f.series),
                                std::nullopt));
        theory_slopes.insert(f.theory_slope);
        largest = std::max(largest, std::max(y0, y0 * std::pow(x1 / x0, f.theory_slope)));
      }
      largest = std::max(largest, std::max(fitted(x0), fitted(x1)));
    }
  }
  close_open_intervals(figure, point_blocks, largest, 4.0);
  figure.xtics.assign(xs.begin(), xs.end());
  figure.elements = std::move(lines);
  figure.elements.insert(figure.elements.end(), points.begin(), points.end());
  // The guides are drawn in their series' colours; one neutral key entry
  // per theoretical slope explains them all.
  for (double slope : theory_slopes) {
    figure.elements.push_back(fmt::format("keyentry with lines lw 1.5 dt 2 lc rgb '{}' {}",
                                          kGuideColour,
                                          title_clause(fmt::format("theory slope {:g}", slope))));
  }
  return figure;
}

// ---------------------------------------------------------------------------
// Speedup in iterations against N, with the ideal S = N.

std::optional<Figure> speedup_figure(const SweepAnalysis& analysis, const SeriesStyles& styles) {
  // One line per series and eps, in the order the analysis lists them.
  std::vector<std::pair<std::string, double>> groups;
  for (const SpeedupPoint& s : analysis.speedup) {
    const bool known = std::ranges::any_of(groups, [&](const auto& g) {
      return g.first == s.series && same_eps(g.second, s.eps);
    });
    if (!known) groups.emplace_back(s.series, s.eps);
  }
  if (groups.empty()) return std::nullopt;
  const bool several_eps = std::ranges::any_of(
      groups, [&](const auto& g) { return !same_eps(g.second, groups.front().second); });

  double smallest_positive = kInf;
  for (const SpeedupPoint& s : analysis.speedup) {
    for (double v : {s.iterations.value, s.iterations.low, s.iterations.high}) {
      if (finite(v) && v > 0.0) smallest_positive = std::min(smallest_positive, v);
    }
  }

  Figure figure;
  figure.name = "speedup";
  figure.xlabel = "workers N";
  figure.ylabel = "speedup S(N) = T(eps; 1) / T(eps; N)";
  figure.columns = "N speedup low high (points); N S (ideal and efficiency lines)";
  figure.log_x = 2;
  figure.log_y = 2;

  int censored = 0;
  double n_min = kInf, n_max = 0.0, largest = 0.0;
  std::map<std::string, int> dash_of_series;
  std::vector<int> point_blocks;
  std::set<double> workers;
  for (const auto& [series, eps] : groups) {
    std::vector<std::pair<int, Estimate>> points;
    for (const SpeedupPoint& s : analysis.speedup) {
      if (s.series != series || !same_eps(s.eps, eps)) continue;
      if (!finite(s.iterations.value) || s.iterations.value <= 0.0 || s.workers < 1) {
        ++censored;
        continue;
      }
      points.emplace_back(s.workers, s.iterations);
    }
    if (points.empty()) continue;
    std::ranges::sort(points, {}, &std::pair<int, Estimate>::first);
    std::vector<std::vector<double>> rows;
    for (const auto& [n, e] : points) {
      rows.push_back(log_point(n, e, smallest_positive / 2.0));
      workers.insert(n);
      n_min = std::min<double>(n_min, n);
      n_max = std::max<double>(n_max, n);
      largest = std::max(largest, e.value);
      if (finite(e.high)) largest = std::max(largest, e.high);
    }
    const std::string label = several_eps ? fmt::format("{}, eps = {:g}", series, eps) : series;
    const int block = figure.add_block(label, std::move(rows));
    point_blocks.push_back(block);
    // Several eps of one series share its colour and differ in dashes.
    const int dash = 1 + dash_of_series[series]++;
    figure.elements.push_back(figure.element(
        block, "1:2:3:4",
        fmt::format("yerrorlines lw 2 pt 7 ps 1.2 {} dt {}", styles.colour(series), dash), label));
  }
  if (figure.blocks.empty()) return std::nullopt;

  const int ideal = figure.add_block("ideal S = N", {{n_min, n_min}, {n_max, n_max}});
  figure.elements.push_back(figure.element(
      ideal, "1:2", fmt::format("lines lw 2 lc rgb '{}' dt 1", kGuideColour), "ideal S = N"));
  const double threshold = analysis.efficiency_threshold;
  if (finite(threshold) && threshold > 0.0 && threshold < 1.0) {
    const int efficient = figure.add_block(
        fmt::format("efficiency {:g}: S = {:g} N", threshold, threshold),
        {{n_min, threshold * n_min}, {n_max, threshold * n_max}});
    figure.elements.push_back(figure.element(
        efficient, "1:2", fmt::format("lines lw 1.5 lc rgb '{}' dt 3", kGuideColour),
        fmt::format("efficiency {:g} (S = {:g} N)", threshold, threshold)));
  }
  largest = std::max(largest, n_max);

  const std::string eps_text =
      several_eps ? std::string() : fmt::format(" (eps = {:g})", groups.front().second);
  figure.title = fmt::format(
      "{}\npoints: ratio of median iterations to eps over seeds, bars: 95% bootstrap interval",
      title_of(analysis, "speedup in iterations vs workers" + eps_text));
  if (censored > 0) {
    figure.title += fmt::format("\n{} censored (a median above the budget) not shown", censored);
  }
  close_open_intervals(figure, point_blocks, largest, 2.0);
  figure.xtics.assign(workers.begin(), workers.end());
  return figure;
}

}  // namespace

std::vector<fs::path> render_figures(const SweepAnalysis& analysis, const fs::path& folder) {
  const SeriesStyles styles(analysis);
  std::vector<Figure> figures;
  const auto keep = [&](std::optional<Figure> figure) {
    if (figure) figures.push_back(std::move(*figure));
  };
  for (const CurveAxis& axis : kCurveAxes) keep(curve_figure(analysis, styles, kGradNorm, axis));
  keep(curve_figure(analysis, styles, kLoss, kCurveAxes[0]));
  keep(clip_fraction_figure(analysis, styles));
  for (const ComplexityAxis& axis : {kInverseEps, kWorkers, kNoiseLevel}) {
    keep(complexity_figure(analysis, styles, "iterations", axis));
    keep(complexity_figure(analysis, styles, "rounds", axis));
  }
  keep(speedup_figure(analysis, styles));

  return draw_figures(figures, folder, "distclip plot");
}

}  // namespace distclip::app
