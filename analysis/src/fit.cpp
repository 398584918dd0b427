#include "distclip/analysis/fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <boost/math/distributions/students_t.hpp>

#include "bootstrap.hpp"
#include "distclip/analysis/aggregate.hpp"

namespace distclip {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_groups(std::span<const FitGroup> groups) {
  const auto where = [](std::size_t g) { return "fit_power_law: groups[" + std::to_string(g) + "]"; };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const FitGroup& group = groups[g];
    if (!(std::isfinite(group.x) && group.x > 0.0)) {
      throw std::invalid_argument(where(g) + ".x = " + detail::shortest(group.x) +
                                  ", must be finite and > 0");
    }
    if (group.values.empty()) {
      throw std::invalid_argument(where(g) + ".values is empty, must hold at least one run");
    }
    for (std::size_t i = 0; i < group.values.size(); ++i) {
      // A count of 0 has no logarithm; NaN and -inf are no run at all.
      if (!(group.values[i] > 0.0)) {
        throw std::invalid_argument(where(g) + ".values[" + std::to_string(i) +
                                    "] = " + detail::shortest(group.values[i]) +
                                    ", must be > 0 or +inf (censored)");
      }
    }
  }
}

}  // namespace

// From centred sums: the uncentred normal equations lose digits when log x
// is far from 0.
LeastSquares least_squares(std::span<const double> x, std::span<const double> y) {
  const double n = static_cast<double>(x.size());
  double x_mean = 0.0;
  double y_mean = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    x_mean += x[i];
    y_mean += y[i];
  }
  x_mean /= n;
  y_mean /= n;
  LeastSquares fit;
  double cross = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    cross += (x[i] - x_mean) * (y[i] - y_mean);
    fit.x_squares += (x[i] - x_mean) * (x[i] - x_mean);
    fit.total_squares += (y[i] - y_mean) * (y[i] - y_mean);
  }
  fit.slope = cross / fit.x_squares;
  fit.intercept = y_mean - fit.slope * x_mean;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double residual = y[i] - (fit.intercept + fit.slope * x[i]);
    fit.residual_squares += residual * residual;
  }
  return fit;
}

std::optional<PowerLawFit> fit_power_law(std::span<const FitGroup> groups, const BootstrapOptions& options) {
  detail::check_bootstrap_options("fit_power_law", options);
  check_groups(groups);

  // The groups whose median is observed, with their position in `groups`,
  // which names their resampling stream.
  std::vector<std::size_t> used;
  std::vector<std::vector<double>> sorted;
  std::vector<double> log_x;
  std::vector<double> log_y;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const double center = median(groups[g].values);
    if (std::isinf(center)) continue;
    used.push_back(g);
    sorted.emplace_back(groups[g].values);
    std::sort(sorted.back().begin(), sorted.back().end());
    log_x.push_back(std::log(groups[g].x));
    log_y.push_back(std::log(center));
  }
  const auto [x_min, x_max] = std::minmax_element(log_x.begin(), log_x.end());
  if (used.size() < 2 || *x_min == *x_max) return std::nullopt;

  const LeastSquares point = least_squares(log_x, log_y);
  PowerLawFit fit;
  fit.slope = point.slope;
  fit.intercept = point.intercept;
  // Constant log medians are fitted exactly by the flat line: nothing is left
  // unexplained, although there was no variance to explain.
  fit.r_squared = point.total_squares > 0.0 ? 1.0 - point.residual_squares / point.total_squares : 1.0;
  fit.points = static_cast<int>(used.size());

  // The interval is read at options.level, 95% by default, as the seed interval
  // is.
  fit.fit_low = kNaN;
  fit.fit_high = kNaN;
  if (fit.points >= 3) {
    const double freedom = static_cast<double>(fit.points - 2);
    const double slope_error = std::sqrt(point.residual_squares / freedom / point.x_squares);
    const double t = boost::math::quantile(boost::math::students_t(freedom), 0.5 * (1.0 + options.level));
    fit.fit_low = fit.slope - t * slope_error;
    fit.fit_high = fit.slope + t * slope_error;
  }

  // Seed interval. Group g is resampled from stream g, independently of the
  // others as its runs are, and the same whichever other groups are censored.
  std::vector<std::vector<double>> medians;
  for (std::size_t k = 0; k < used.size(); ++k) {
    Rng rng = detail::bootstrap_stream(options.seed, used[k]);
    medians.push_back(detail::resampled_medians(sorted[k], options.resamples, rng));
  }
  std::vector<double> slopes;
  slopes.reserve(static_cast<std::size_t>(options.resamples));
  std::vector<double> resampled_log_y(used.size());
  for (int r = 0; r < options.resamples; ++r) {
    bool censored = false;
    for (std::size_t k = 0; k < used.size(); ++k) {
      const double m = medians[k][static_cast<std::size_t>(r)];
      censored = censored || std::isinf(m);
      resampled_log_y[k] = std::log(m);
    }
    if (censored) {
      ++fit.resamples_left_out;
      continue;
    }
    slopes.push_back(least_squares(log_x, resampled_log_y).slope);
  }
  std::sort(slopes.begin(), slopes.end());
  fit.seed_low = slopes.empty() ? kNaN : quantile_of_sorted(slopes, 0.5 * (1.0 - options.level));
  fit.seed_high = slopes.empty() ? kNaN : quantile_of_sorted(slopes, 0.5 * (1.0 + options.level));
  return fit;
}

}  // namespace distclip
