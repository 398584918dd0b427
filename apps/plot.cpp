#include "plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
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

extern char** environ;

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The clipping fraction of one evaluation is a multiple of 1/N and jumps
// from one evaluation to the next; averaging it over this many bins at most
// shows its trend, as the paper's per-epoch Fig. 5 does.
constexpr std::size_t kClipFractionBins = 200;

// Line colours (matplotlib's "tab10" without its grey, which the ideal and
// efficiency guides use), one per series in every figure.
constexpr std::array<std::string_view, 9> kPalette = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
constexpr std::string_view kGuideColour = "#7f7f7f";

// Up to this many measured x values are labelled one by one.
constexpr std::size_t kMostXTics = 12;

const std::string_view kGnuplotMissing =
    "gnuplot not found on PATH; install it: apt-get install -y gnuplot-nox";

// ---------------------------------------------------------------------------
// A figure before it is written: its data blocks (addressed by gnuplot's
// `index`) and the plot elements that draw them.

struct Block {
  std::string label;
  std::vector<std::vector<double>> rows;
};

struct Figure {
  std::string name;      // file stem of .gp, .dat, .png, .svg
  std::string title;     // lines separated by '\n': what, then how to read it
  std::string xlabel;
  std::string ylabel;
  std::string columns;   // the data file's columns, for its header
  int log_x = 0;         // base of a logarithmic axis, 0 for a linear one
  int log_y = 0;
  std::string yrange;    // "[low:high]", empty for autoscaling
  // Measured x values (1/eps, N) labelled as ticks, and the x range held to
  // them with a margin, rather than widened to whole decades.
  std::vector<double> xtics;
  std::vector<Block> blocks;
  std::vector<std::string> elements;  // one `plot` element each

  int add_block(std::string label, std::vector<std::vector<double>> rows) {
    blocks.push_back({std::move(label), std::move(rows)});
    return static_cast<int>(blocks.size()) - 1;
  }
};

bool finite(double v) { return std::isfinite(v); }

// Enough digits to round-trip what the analysis measured; gnuplot reads
// "NaN" as a missing point, so infinities are written as NaN too.
std::string number(double v) { return finite(v) ? fmt::format("{:.9g}", v) : "NaN"; }

// A gnuplot double-quoted string: backslash escapes are interpreted there,
// so backslashes and quotes are escaped and '\n' becomes a line break.
std::string gnuplot_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default:
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
  }
  return out + "\"";
}

// Text placed after '#' in a data or script file stays on its line.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::ranges::replace_if(out, [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string title_of(const SweepAnalysis& analysis, std::string_view what) {
  return analysis.name.empty() ? std::string(what) : fmt::format("{}: {}", analysis.name, what);
}

std::string title_clause(const std::optional<std::string>& title) {
  return title ? "title " + gnuplot_string(*title) : std::string("notitle");
}

// A plot element drawing block `block` of the figure's data file.
std::string element(const Figure& figure, int block, std::string_view columns,
                    std::string_view style, const std::optional<std::string>& title) {
  return fmt::format("{} index {} using {} with {} {}", gnuplot_string(figure.name + ".dat"), block,
                     columns, style, title_clause(title));
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
      bands.push_back(element(figure, block, "1:3:4",
                              "filledcurves " + styles.colour(curve.series), std::nullopt));
    }
    lines.push_back(
        element(figure, block, "1:2", "lines lw 2 " + styles.line(curve.series), curve.series));
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
        element(figure, block, "1:2", "lines lw 2 " + styles.line(curve.series), curve.series));
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
  figure.yrange = fmt::format("[*:{}]", number(top));
  figure.title += "\nbars reaching the top edge: interval open above (some seeds never reached eps)";
}

// A point of a log-log figure: the median, its interval with a lower end
// that is not positive raised to `floor` and an upper end left +inf.
std::vector<double> log_point(double x, const Estimate& e, double floor) {
  const double low = (finite(e.low) && e.low > 0.0) ? e.low : (finite(e.low) ? floor : e.value);
  const double high = e.high == kInf ? kInf : (finite(e.high) ? e.high : e.value);
  return {x, e.value, low, high};
}

std::optional<Figure> complexity_figure(const SweepAnalysis& analysis, const SeriesStyles& styles,
                                        std::string_view quantity, std::string_view axis) {
  std::vector<const ComplexityFit*> fits;
  for (const ComplexityFit& f : analysis.fits) {
    if (f.quantity == quantity && f.axis == axis) fits.push_back(&f);
  }
  if (fits.empty()) return std::nullopt;
  const bool inverse_eps = axis == "1/eps";

  std::vector<double> fixed_values;
  for (const ComplexityFit* f : fits) {
    if (std::ranges::none_of(fixed_values, [&](double v) { return same_eps(v, f->fixed); })) {
      fixed_values.push_back(f->fixed);
    }
  }
  const auto fixed_text = [&](double fixed) {
    return inverse_eps ? fmt::format("N = {:g}", fixed) : fmt::format("eps = {:g}", fixed);
  };

  struct Drawn {
    const ComplexityFit* fit;
    std::vector<std::pair<double, Estimate>> points;  // finite medians, ascending x
  };
  std::vector<Drawn> drawn;
  int censored = 0;
  double smallest_positive = kInf;
  double largest = 0.0;
  for (const ComplexityFit* f : fits) {
    Drawn d{f, {}};
    for (const ComplexityPoint& p : analysis.complexity) {
      if (p.series != f->series) continue;
      if (inverse_eps ? p.workers != std::llround(f->fixed) : !same_eps(p.eps, f->fixed)) continue;
      const double x = inverse_eps ? 1.0 / p.eps : static_cast<double>(p.workers);
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

  Figure figure;
  figure.name = fmt::format("{}-vs-{}", quantity, inverse_eps ? "inverse-eps" : "workers");
  const std::string what = fmt::format(
      "{} to reach eps vs {}{}", quantity == "iterations" ? "iterations" : "communication rounds",
      inverse_eps ? "1/eps" : "workers N",
      fixed_values.size() == 1 ? fmt::format(" ({})", fixed_text(fixed_values.front())) : "");
  figure.title = fmt::format(
      "{}\npoints: median over seeds{}, bars: 95% bootstrap interval\n"
      "solid: fitted power law log y = a + b log x; dashed: theory slope through its first fitted point",
      title_of(analysis, what),
      analysis.criterion.empty() ? "" : fmt::format(" ({} criterion)", analysis.criterion));
  if (censored > 0) {
    figure.title += fmt::format("\n{} censored (median above the budget) not shown", censored);
  }
  figure.xlabel = inverse_eps ? "1/eps  (eps: target on ||grad f||)" : "workers N";
  figure.ylabel = quantity == "iterations" ? "iterations t to reach eps"
                                           : "communication rounds to reach eps";
  figure.columns = "x median low high (points); x y (fitted and theory lines)";
  figure.log_x = inverse_eps ? 10 : 2;
  figure.log_y = 10;

  std::vector<std::string> lines;
  std::vector<std::string> points;
  std::vector<int> point_blocks;
  std::set<double> theory_slopes;
  std::set<double> xs;
  for (const Drawn& d : drawn) {
    const ComplexityFit& f = *d.fit;
    const std::string series =
        fixed_values.size() > 1 ? fmt::format("{} ({})", f.series, fixed_text(f.fixed)) : f.series;
    std::vector<std::vector<double>> rows;
    for (const auto& [x, y] : d.points) {
      rows.push_back(log_point(x, y, smallest_positive / 2.0));
      xs.insert(x);
    }
    const int block = figure.add_block(series + ": medians", std::move(rows));
    point_blocks.push_back(block);
    points.push_back(element(figure, block, "1:2:3:4",
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
      lines.push_back(element(figure, fit_block, "1:2", "lines lw 2 dt 1 " + styles.colour(f.series),
                              fmt::format("{}: fitted slope {:.2f}{}", series, f.fit.slope, interval)));
      if (finite(f.theory_slope)) {
        const double y0 = fitted(x0);
        const int guide_block = figure.add_block(
            fmt::format("{}: theory slope {:g} through the first fitted point", series, f.theory_slope),
            {{x0, y0}, {x1, y0 * std::pow(x1 / x0, f.theory_slope)}});
        lines.push_back(element(figure, guide_block, "1:2", "lines lw 1.5 dt 2 " + styles.colour(f.series),
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
    figure.elements.push_back(element(
        figure, block, "1:2:3:4",
        fmt::format("yerrorlines lw 2 pt 7 ps 1.2 {} dt {}", styles.colour(series), dash), label));
  }
  if (figure.blocks.empty()) return std::nullopt;

  const int ideal = figure.add_block("ideal S = N", {{n_min, n_min}, {n_max, n_max}});
  figure.elements.push_back(element(
      figure, ideal, "1:2", fmt::format("lines lw 2 lc rgb '{}' dt 1", kGuideColour), "ideal S = N"));
  const double threshold = analysis.efficiency_threshold;
  if (finite(threshold) && threshold > 0.0 && threshold < 1.0) {
    const int efficient = figure.add_block(
        fmt::format("efficiency {:g}: S = {:g} N", threshold, threshold),
        {{n_min, threshold * n_min}, {n_max, threshold * n_max}});
    figure.elements.push_back(element(
        figure, efficient, "1:2", fmt::format("lines lw 1.5 lc rgb '{}' dt 3", kGuideColour),
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

// ---------------------------------------------------------------------------
// Writing and running.

void check_written(std::ofstream& out, const fs::path& file) {
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  }
}

void write_data(const Figure& figure, const fs::path& file) {
  std::ofstream out(file);
  out << "# distclip plot data for " << figure.name << ".gp: "
      << one_line(figure.title.substr(0, figure.title.find('\n'))) << "\n"
      << "# columns: " << figure.columns << "\n"
      << "# blocks are separated by two blank lines; gnuplot addresses them with `index`\n";
  for (std::size_t b = 0; b < figure.blocks.size(); ++b) {
    if (b > 0) out << "\n\n";
    out << "# index " << b << ": " << one_line(figure.blocks[b].label) << "\n";
    for (const auto& row : figure.blocks[b].rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out << (i > 0 ? " " : "") << number(row[i]);
      out << "\n";
    }
  }
  check_written(out, file);
}

void write_script(const Figure& figure, const fs::path& file) {
  std::ofstream out(file);
  out << "# " << one_line(figure.title.substr(0, figure.title.find('\n'))) << "\n"
      << "# Written by `distclip plot`; data in " << figure.name
      << ".dat. Restyle and rerun in this folder: gnuplot " << figure.name << ".gp\n"
      << "reset\n"
      << "set encoding utf8\n"
      << "set title " << gnuplot_string(figure.title) << "\n"
      << "set xlabel " << gnuplot_string(figure.xlabel) << "\n"
      << "set ylabel " << gnuplot_string(figure.ylabel) << "\n";
  if (figure.log_x > 0) out << "set logscale x " << figure.log_x << "\n";
  if (figure.log_y > 0) out << "set logscale y " << figure.log_y << "\n";
  if (!figure.yrange.empty()) out << "set yrange " << figure.yrange << "\n";
  if (!figure.xtics.empty()) {
    out << "set autoscale xfix\n"
        << "set offsets graph 0.04, graph 0.04, 0, 0\n";
    if (figure.xtics.size() <= kMostXTics) {
      out << "set xtics (";
      for (std::size_t i = 0; i < figure.xtics.size(); ++i) {
        out << (i > 0 ? ", " : "") << gnuplot_string(fmt::format("{:g}", figure.xtics[i])) << " "
            << number(figure.xtics[i]);
      }
      out << ")\n";
    }
  }
  out << "set grid xtics ytics lc rgb '#dddddd' lw 1\n"
      << "set key below Left reverse samplen 3 spacing 1.1 maxcols 2\n"
      << "set style fill transparent solid 0.2 noborder\n";
  const auto plot = [&] {
    out << "plot";
    for (std::size_t i = 0; i < figure.elements.size(); ++i) {
      out << (i == 0 ? " " : ", \\\n     ") << figure.elements[i];
    }
    out << "\n";
  };
  // Series names are shown verbatim: enhanced text would read '_' and '^'
  // as sub- and superscripts.
  out << "\nset terminal pngcairo size 1000,650 noenhanced\n"
      << "set output " << gnuplot_string(figure.name + ".png") << "\n";
  plot();
  out << "\nset terminal svg size 1000,650 dynamic noenhanced\n"
      << "set output " << gnuplot_string(figure.name + ".svg") << "\n"
      << "replot\n"
      << "set output\n";
  check_written(out, file);
}

std::optional<fs::path> find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  const std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
    const std::string_view dir = dirs.substr(begin, end - begin);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      // gnuplot starts inside the figures' folder: a relative PATH entry
      // must not be resolved from there.
      return fs::absolute(candidate, ec);
    }
    begin = end + 1;
  }
  return std::nullopt;
}

// gnuplot reports `"name.gp" line 12: message`, after echoing the offending
// command with a caret under it; the first such line that is not a warning.
std::string first_error_line(std::string_view text) {
  std::string fallback;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    const bool located = line.find("\" line ") != std::string_view::npos;
    if (located && line.find("warning:") == std::string_view::npos) return std::string(line);
    if (fallback.empty() && line.find("warning:") == std::string_view::npos &&
        line.find_first_not_of(" \t^") != std::string_view::npos) {
      fallback = std::string(line);
    }
  }
  return fallback.empty() ? "no message on standard error" : fallback;
}

// Runs `gnuplot script...` inside `folder`, so that the scripts' relative
// file names resolve there as they do when a user reruns one.
void run_gnuplot(const fs::path& gnuplot, const fs::path& folder,
                 const std::vector<std::string>& scripts) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(fmt::format("cannot start gnuplot: pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());

  std::vector<std::string> args{gnuplot.string()};
  args.insert(args.end(), scripts.begin(), scripts.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, gnuplot.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error(
        fmt::format("cannot start {}: {}", gnuplot.string(), std::strerror(spawned)));
  }

  std::string errors;
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n > 0) {
      errors.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw std::runtime_error(fmt::format("waiting for gnuplot: {}", std::strerror(errno)));
    }
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(fmt::format("gnuplot was killed by signal {} while drawing into {}",
                                         WTERMSIG(status), folder.string()));
  }
  if (WEXITSTATUS(status) != 0) {
    throw std::runtime_error(fmt::format("gnuplot failed (exit status {}) drawing into {}: {}",
                                         WEXITSTATUS(status), folder.string(),
                                         first_error_line(errors)));
  }
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
  keep(complexity_figure(analysis, styles, "iterations", "1/eps"));
  keep(complexity_figure(analysis, styles, "rounds", "1/eps"));
  keep(complexity_figure(analysis, styles, "iterations", "N"));
  keep(complexity_figure(analysis, styles, "rounds", "N"));
  keep(speedup_figure(analysis, styles));

  fs::create_directories(folder);
  if (figures.empty()) return {};
  const std::optional<fs::path> gnuplot = find_on_path("gnuplot");
  if (!gnuplot) throw std::runtime_error(std::string(kGnuplotMissing));

  std::vector<std::string> scripts;
  std::vector<fs::path> written;
  for (const Figure& figure : figures) {
    write_data(figure, folder / (figure.name + ".dat"));
    write_script(figure, folder / (figure.name + ".gp"));
    scripts.push_back(figure.name + ".gp");
    for (const char* extension : {".png", ".svg"}) {
      written.push_back(folder / (figure.name + extension));
      // A figure left from an earlier rendering must not pass for this one.
      fs::remove(written.back());
    }
  }
  // One gnuplot for all figures: each script starts with `reset`.
  run_gnuplot(*gnuplot, folder, scripts);
  for (const fs::path& file : written) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) == 0) {
      throw std::runtime_error(fmt::format("gnuplot wrote no {}", file.string()));
    }
  }
  return written;
}

}  // namespace distclip::app
