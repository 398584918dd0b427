#include "distclip/analysis/statistics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <boost/math/distributions/students_t.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "bootstrap.hpp"
#include "distclip/analysis/aggregate.hpp"

namespace distclip {

namespace detail {

Rng bootstrap_stream(std::uint64_t seed, std::uint64_t index) {
  return make_stream(seed, StreamPurpose::kBootstrap, index);
}

std::vector<double> resampled_medians(std::span<const double> sorted, int resamples, Rng& rng) {
  const std::size_t n = sorted.size();
  const std::size_t middle = n / 2;
  boost::random::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::vector<std::size_t> drawn(n);
  std::vector<double> medians;
  medians.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    for (auto& index : drawn) index = pick(rng);
    // `sorted` is ascending, so the resample's order statistics are `sorted` at
    // the order statistics of the drawn indices: select among the indices.
    std::nth_element(drawn.begin(), drawn.begin() + static_cast<std::ptrdiff_t>(middle), drawn.end());
    const double upper = sorted[drawn[middle]];
    if (n % 2 == 1) {
      medians.push_back(upper);
    } else {
      const double lower =
          sorted[*std::max_element(drawn.begin(), drawn.begin() + static_cast<std::ptrdiff_t>(middle))];
      // The rule of median() in aggregate.cpp; 0.5 * (x + inf) is inf, never NaN.
      medians.push_back(0.5 * (lower + upper));
    }
  }
  return medians;
}

void check_bootstrap_options(std::string_view function, const BootstrapOptions& options) {
  if (!(options.level > 0.0 && options.level < 1.0)) {
    throw std::invalid_argument(std::string(function) + ": level = " + shortest(options.level) +
                                ", must be in (0, 1)");
  }
  if (options.resamples < 1) {
    throw std::invalid_argument(std::string(function) +
                                ": resamples = " + std::to_string(options.resamples) + ", must be >= 1");
  }
}

std::string shortest(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

}  // namespace detail

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The runs of one estimate, ascending. NaN has no place in the order and -inf
// no meaning as a run, so both are rejected rather than sorted somewhere.
std::vector<double> sorted_runs(std::string_view function, std::string_view name,
                                std::span<const double> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i]) || values[i] == -kInf) {
      throw std::invalid_argument(std::string(function) + ": " + std::string(name) + "[" +
                                  std::to_string(i) + "] = " + detail::shortest(values[i]) +
                                  ", must be a number or +inf (censored)");
    }
  }
  // Resampling the sorted runs makes the estimate a function of the set of runs
  // and the seed, not of the order in which the runs were read.
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

// `value` with the percentile interval of `draws`; NaN draws carry no order and
// are left out, and with none left the interval is NaN.
Estimate percentile_interval(double value, std::vector<double> draws, double level) {
  std::erase_if(draws, [](double draw) { return std::isnan(draw); });
  std::sort(draws.begin(), draws.end());
  if (draws.empty()) return {value, kNaN, kNaN};
  return {value, quantile_of_sorted(draws, 0.5 * (1.0 - level)),
          quantile_of_sorted(draws, 0.5 * (1.0 + level))};
}

}  // namespace

Estimate bootstrap_median(std::span<const double> values, const BootstrapOptions& options) {
  detail::check_bootstrap_options("bootstrap_median", options);
  const std::vector<double> sorted = sorted_runs("bootstrap_median", "values", values);
  if (sorted.empty()) return {kNaN, kNaN, kNaN};
  Rng rng = detail::bootstrap_stream(options.seed, 0);
  return percentile_interval(median(sorted), detail::resampled_medians(sorted, options.resamples, rng),
                             options.level);
}

Estimate bootstrap_ratio_of_medians(std::span<const double> numerator,
                                    std::span<const double> denominator,
                                    const BootstrapOptions& options) {
  constexpr std::string_view kFunction = "bootstrap_ratio_of_medians";
  detail::check_bootstrap_options(kFunction, options);
  const std::vector<double> top = sorted_runs(kFunction, "numerator", numerator);
  const std::vector<double> bottom = sorted_runs(kFunction, "denominator", denominator);
  if (top.empty() || bottom.empty()) return {kNaN, kNaN, kNaN};
  // IEEE division already reads censoring as the header states: inf / m = inf,
  // m / inf = 0. Both censored (inf / inf) says nothing and is NaN.
  const double value = median(top) / median(bottom);
  if (std::isnan(value)) return {kNaN, kNaN, kNaN};
  // The numerator draws from the stream bootstrap_median uses, so with a fixed
  // denominator the interval is bootstrap_median's scaled.
  Rng top_rng = detail::bootstrap_stream(options.seed, 0);
  Rng bottom_rng = detail::bootstrap_stream(options.seed, 1);
  std::vector<double> ratios = detail::resampled_medians(top, options.resamples, top_rng);
  const std::vector<double> bottoms = detail::resampled_medians(bottom, options.resamples, bottom_rng);
  for (std::size_t r = 0; r < ratios.size(); ++r) ratios[r] /= bottoms[r];
  return percentile_interval(value, std::move(ratios), options.level);
}

Estimate mean_with_t_interval(std::span<const double> values, double level) {
  if (!(level > 0.0 && level < 1.0)) {
    throw std::invalid_argument("mean_with_t_interval: level = " + detail::shortest(level) +
                                ", must be in (0, 1)");
  }
  if (values.empty()) return {kNaN, kNaN, kNaN};
  const double n = static_cast<double>(values.size());
  const double center = mean(values);
  // A censored or diverged run leaves the mean unknown: +inf, or NaN when
  // infinities of both signs or NaN are present; the interval is the same.
  if (!std::isfinite(center) || values.size() == 1) return {center, center, center};
  double squares = 0.0;
  for (double v : values) squares += (v - center) * (v - center);
  const double standard_error = std::sqrt(squares / (n - 1.0) / n);
  const boost::math::students_t t(n - 1.0);
  const double half_width = boost::math::quantile(t, 0.5 * (1.0 + level)) * standard_error;
  return {center, center - half_width, center + half_width};
}

double quantile_of_sorted(std::span<const double> sorted, double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument("quantile_of_sorted: p = " + detail::shortest(p) + ", must be in [0, 1]");
  }
  if (sorted.empty()) return kNaN;
  const double h = p * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(h));
  const double weight = h - static_cast<double>(below);
  const double low = sorted[below];
  // weight == 0 covers p = 1 (no order statistic above) and keeps an infinite
  // neighbour with no weight out of the arithmetic (0 * inf is NaN).
  if (weight == 0.0) return low;
  const double high = sorted[below + 1];
  // Between two +inf, high - low would be NaN. Below a single +inf with positive
  // weight the arithmetic itself gives +inf.
  if (low == high) return low;
  return low + weight * (high - low);
}

}  // namespace distclip
