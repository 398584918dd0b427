// Power laws fitted to measured complexities: log y = a + b log x, where x
// is 1/eps or N and y an iteration or round count, beside the exponents the
// theory predicts.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "distclip/analysis/statistics.hpp"

namespace distclip {

// The runs (seeds) measured at one x; +infinity marks a censored run.
struct FitGroup {
  double x = 0.0;
  std::vector<double> values;
};

struct PowerLawFit {
  double slope = 0.0;      // b
  double intercept = 0.0;  // a, with natural logarithms
  double r_squared = 0.0;  // of the least-squares fit to the log medians
  int points = 0;          // groups that entered the fit
  // 95% interval of the slope over seeds: resample the runs of every group
  // with replacement, refit the medians; resamples in which some group's
  // median is censored are left out and counted.
  double seed_low = 0.0;
  double seed_high = 0.0;
  int resamples_left_out = 0;
  // 95% interval of the slope from the fit's residuals (Student t with
  // points - 2 degrees of freedom); NaN with fewer than 3 points.
  double fit_low = 0.0;
  double fit_high = 0.0;
};

// y = intercept + slope x by ordinary least squares. Needs two distinct x.
struct LeastSquares {
  double slope = 0.0;
  double intercept = 0.0;
  double residual_squares = 0.0;  // sum of squared residuals
  double total_squares = 0.0;     // sum of squared deviations of y from its mean
  double x_squares = 0.0;         // sum of squared deviations of x from its mean
};
LeastSquares least_squares(std::span<const double> x, std::span<const double> y);

// Ordinary least squares of log(median of each group) on log(x). Groups
// whose median is censored are left out (they say only that y exceeds the
// budget). Empty when fewer than 2 groups remain or every x is the same.
std::optional<PowerLawFit> fit_power_law(std::span<const FitGroup> groups,
                                         const BootstrapOptions& options = {});

}  // namespace distclip
