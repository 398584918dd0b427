// Estimates across repeated runs (seeds) with 95% intervals. A run that never
// reached eps is censored and enters as +infinity: it sorts above every
// observed value, so a median stays finite while fewer than half of the runs
// are censored, and is +infinity ("> budget") otherwise. Nothing is dropped
// and nothing is imputed.
#pragma once

#include <cstdint>
#include <span>

namespace distclip {

// A point estimate and its interval [low, high]. Any of them may be
// +infinity (censored); all are NaN when there is no data.
struct Estimate {
  double value;
  double low;
  double high;
};

struct BootstrapOptions {
  double level = 0.95;      // two-sided coverage of the percentile interval
  int resamples = 2000;
  std::uint64_t seed = 20221128;  // the resamples are a function of this seed alone
};

// The median of `values` with a percentile-bootstrap interval: resample the
// values with replacement, take each resample's median, report the
// (1-level)/2 and (1+level)/2 quantiles of those medians (linear
// interpolation between order statistics). One value gives [v, v].
Estimate bootstrap_median(std::span<const double> values, const BootstrapOptions& options = {});

// median(numerator) / median(denominator), each resampled independently;
// e.g. the speedup T(eps; 1) / T(eps; N). A censored (+inf) numerator
// median gives +inf, a censored denominator median gives 0 (a lower bound
// would be the honest reading; callers print such ratios as censored).
Estimate bootstrap_ratio_of_medians(std::span<const double> numerator,
                                    std::span<const double> denominator,
                                    const BootstrapOptions& options = {});

// The mean with its Student-t interval, mean +- t_{(1+level)/2, n-1} s / sqrt(n).
// One value gives [v, v]; a non-finite value makes all three non-finite.
Estimate mean_with_t_interval(std::span<const double> values, double level = 0.95);

// The p-quantile (0 <= p <= 1) of ascending `sorted`, interpolating linearly
// between order statistics (the "type 7" rule of R and NumPy's default).
double quantile_of_sorted(std::span<const double> sorted, double p);

}  // namespace distclip
