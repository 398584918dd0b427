// Estimates across seeds: type-7 quantiles, bootstrap medians of censored runs,
// ratios of medians and Student-t means.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/random/exponential_distribution.hpp>
#include <gtest/gtest.h>

#include "distclip/analysis/aggregate.hpp"
#include "distclip/analysis/statistics.hpp"
#include "distclip/core/random.hpp"

namespace distclip {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool any_nan(const Estimate& e) { return std::isnan(e.value) || std::isnan(e.low) || std::isnan(e.high); }

TEST(Statistics, QuantileOfSortedIsType7) {
  // By hand, h = (n - 1) p and x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]);
  // NumPy's default gives the same. One multiply and one add per value: within
  // EXPECT_DOUBLE_EQ's 4 ulps.
  const std::vector<double> x{1, 2, 4, 8, 16};
  EXPECT_EQ(quantile_of_sorted(x, 0.0), 1.0);
  EXPECT_EQ(quantile_of_sorted(x, 1.0), 16.0);
  EXPECT_EQ(quantile_of_sorted(x, 0.5), 4.0);
  EXPECT_DOUBLE_EQ(quantile_of_sorted(x, 0.1), 1.4);   // h = 0.4
  EXPECT_DOUBLE_EQ(quantile_of_sorted(x, 0.3), 2.4);   // h = 1.2
  EXPECT_DOUBLE_EQ(quantile_of_sorted(x, 0.9), 12.8);  // h = 3.6
  const std::vector<double> two{10, 20};
  EXPECT_DOUBLE_EQ(quantile_of_sorted(two, 0.25), 12.5);
  const std::vector<double> one{7};
  EXPECT_EQ(quantile_of_sorted(one, 0.0), 7.0);
  EXPECT_EQ(quantile_of_sorted(one, 0.975), 7.0);
  EXPECT_TRUE(std::isnan(quantile_of_sorted(std::vector<double>{}, 0.5)));
  EXPECT_THROW(quantile_of_sorted(x, 1.5), std::invalid_argument);
  EXPECT_THROW(quantile_of_sorted(x, -0.1), std::invalid_argument);
  EXPECT_THROW(quantile_of_sorted(x, std::nan("")), std::invalid_argument);
}

TEST(Statistics, QuantileOfSortedKeepsCensoredEntriesOutOfTheArithmetic) {
  const std::vector<double> x{1, 2, 3, kInf, kInf};
  EXPECT_EQ(quantile_of_sorted(x, 0.5), 3.0);     // h = 2: weight 0 on the +inf neighbour
  EXPECT_EQ(quantile_of_sorted(x, 0.6), kInf);    // h = 2.4: positive weight on +inf
  EXPECT_EQ(quantile_of_sorted(x, 0.75), kInf);   // h = 3: between two +inf, not NaN
  EXPECT_EQ(quantile_of_sorted(x, 1.0), kInf);
  EXPECT_DOUBLE_EQ(quantile_of_sorted(x, 0.25), 2.0);
  const std::vector<double> censored{kInf, kInf};
  EXPECT_EQ(quantile_of_sorted(censored, 0.3), kInf);
  const std::vector<double> short_one{1, kInf};
  EXPECT_EQ(quantile_of_sorted(short_one, 0.0), 1.0);
  EXPECT_EQ(quantile_of_sorted(short_one, 1e-9), kInf);
}

TEST(Statistics, BootstrapMedianOfNothingOrOneValue) {
  EXPECT_TRUE(std::isnan(bootstrap_median(std::vector<double>{}).value));
  EXPECT_TRUE(std::isnan(bootstrap_median(std::vector<double>{}).low));
  EXPECT_TRUE(std::isnan(bootstrap_median(std::vector<double>{}).high));
  const Estimate one = bootstrap_median(std::vector<double>{42});
  EXPECT_EQ(one.value, 42.0);
  EXPECT_EQ(one.low, 42.0);
  EXPECT_EQ(one.high, 42.0);
}

TEST(Statistics, BootstrapMedianIsAFunctionOfTheRunsAndTheSeed) {
  const std::vector<double> runs{12, 7, 30, 9, 15, 11, 25, 8, 14, 10};
  const std::vector<double> reordered{30, 25, 15, 14, 12, 11, 10, 9, 8, 7};
  const Estimate first = bootstrap_median(runs);
  const Estimate again = bootstrap_median(runs);
  EXPECT_EQ(first.low, again.low);
  EXPECT_EQ(first.high, again.high);
  // The order in which runs were read does not matter.
  const Estimate other_order = bootstrap_median(reordered);
  EXPECT_EQ(first.low, other_order.low);
  EXPECT_EQ(first.high, other_order.high);
  EXPECT_EQ(first.value, median(runs));
  BootstrapOptions other_seed;
  other_seed.seed = 7;
  EXPECT_EQ(bootstrap_median(runs, other_seed).value, first.value);
  // A resample's median lies between the sample's extremes, and the percentile
  // interval of this sample holds its median.
  EXPECT_LE(7.0, first.low);
  EXPECT_LE(first.low, first.value);
  EXPECT_LE(first.value, first.high);
  EXPECT_LE(first.high, 30.0);
}

TEST(Statistics, BootstrapMedianEndpointsAreTheExpectedOrderStatistics) {
  // For the values 1..15 a resample's median is the J-th of them, with
  // P(J <= j) = P(Binomial(15, j/15) >= 8): 0.0042, 0.0255, 0.0882, 0.2131, 0.3963
  // for j = 3..7. The 2.5% quantile of 2000 such medians therefore lies between
  // 4 and 5 (the empirical P(J <= 3) is below 2.5% and P(J <= 5) above it by
  // more than 10 binomial standard deviations), and symmetrically the 97.5%
  // one between 11 and 12. At level 0.5 the 25% quantile is 7 exactly
  // (0.2131 and 0.3963 are 4 and 16 sd from 0.25), and the 75% one 9.
  std::vector<double> values;
  for (int i = 15; i >= 1; --i) values.push_back(i);
  const Estimate wide = bootstrap_median(values);
  EXPECT_EQ(wide.value, 8.0);
  EXPECT_GE(wide.low, 4.0);
  EXPECT_LE(wide.low, 5.0);
  EXPECT_GE(wide.high, 11.0);
  EXPECT_LE(wide.high, 12.0);
  BootstrapOptions half;
  half.level = 0.5;
  const Estimate narrow = bootstrap_median(values, half);
  EXPECT_EQ(narrow.low, 7.0);
  EXPECT_EQ(narrow.high, 9.0);
}

TEST(Statistics, BootstrapMedianCoverageAtFifteenRuns) {
  // 1000 samples of 15 runs from Exp(1), whose median is ln 2. The percentile
  // interval's ends are near order statistics (see the test above): lower end
  // X(4) or X(5), upper X(11) or X(12), covering the median with probability
  // 1 - 2 P(Binomial(15, 1/2) <= 3) = 0.965 or 1 - 2 P(... <= 4) = 0.882 for any
  // continuous law. P(J <= 4) = 0.0255 sits on the 2.5% point, so the ends
  // alternate: 40000 simulated samples give coverage p0 = 0.924 (the known
  // undercoverage of the percentile bootstrap of a median at small n). The
  // count of hits is Binomial(1000, p0), sd = sqrt(1000 p0 (1 - p0)) = 8.4; the
  // band is +-3 sd, [899, 949]. An interval at the 90% level (p0 = 0.881, 881
  // hits expected, sd 10) or from the extremes of the resampled medians (p0
  // near 1) falls outside it with high probability; 400 samples would not
  // separate the 90% level.
  constexpr int kSamples = 1000;
  constexpr int kRuns = 15;
  constexpr double kCoverage = 0.924;
  const double sd = std::sqrt(kSamples * kCoverage * (1.0 - kCoverage));
  Rng rng = make_stream(11, StreamPurpose::kTest, 0);
  boost::random::exponential_distribution<double> exponential(1.0);
  const double true_median = std::log(2.0);
  int hits = 0;
  std::vector<double> runs(kRuns);
  for (int s = 0; s < kSamples; ++s) {
    for (double& run : runs) run = exponential(rng);
    BootstrapOptions options;
    options.seed = static_cast<std::uint64_t>(s);
    const Estimate e = bootstrap_median(runs, options);
    if (e.low <= true_median && true_median <= e.high) ++hits;
  }
  EXPECT_GE(hits, kSamples * kCoverage - 3.0 * sd);
  EXPECT_LE(hits, kSamples * kCoverage + 3.0 * sd);
}

TEST(Statistics, CensoredRunsMakeTheMedianInfiniteOnlyFromHalfOn) {
  // Two of five censored: the median is the third run. A resample's median is
  // censored when it holds 3 or more of the two censored runs' copies,
  // P(Binomial(5, 0.4) >= 3) = 0.317 > 2.5%, so the upper end is +inf; it is 1
  // with P(Binomial(5, 0.2) >= 3) = 0.058 > 2.5%, so the lower end is 1.
  const Estimate few = bootstrap_median(std::vector<double>{3, kInf, 1, kInf, 2});
  EXPECT_EQ(few.value, 3.0);
  EXPECT_EQ(few.low, 1.0);
  EXPECT_EQ(few.high, kInf);
  // Two of three censored.
  const Estimate most = bootstrap_median(std::vector<double>{kInf, 1, kInf});
  EXPECT_EQ(most.value, kInf);
  EXPECT_EQ(most.high, kInf);
  EXPECT_FALSE(any_nan(most));
  // Half of an even count: the mean of the middle two is +inf.
  EXPECT_EQ(bootstrap_median(std::vector<double>{1, 2, kInf, kInf}).value, kInf);
  const Estimate all = bootstrap_median(std::vector<double>{kInf, kInf, kInf});
  EXPECT_EQ(all.value, kInf);
  EXPECT_EQ(all.low, kInf);
  EXPECT_EQ(all.high, kInf);
}

TEST(Statistics, BootstrapRejectsWhatIsNoRunAndBadOptions) {
  EXPECT_THROW(bootstrap_median(std::vector<double>{1, std::nan(""), 3}), std::invalid_argument);
  EXPECT_THROW(bootstrap_median(std::vector<double>{1, -kInf}), std::invalid_argument);
  const std::vector<double> runs{1, 2, 3};
  BootstrapOptions options;
  options.level = 1.0;
  EXPECT_THROW(bootstrap_median(runs, options), std::invalid_argument);
  options.level = 0.95;
  options.resamples = 0;
  EXPECT_THROW(bootstrap_median(runs, options), std::invalid_argument);
  try {
    bootstrap_median(runs, options);
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()), "bootstrap_median: resamples = 0, must be >= 1");
  }
}

TEST(Statistics, RatioOfMedians) {
  const std::vector<double> one_worker{400, 380, 450, 410, 395, 430, 405};
  const std::vector<double> eight_workers{60, 55, 70, 58, 65, 62};
  const Estimate speedup = bootstrap_ratio_of_medians(one_worker, eight_workers);
  EXPECT_EQ(speedup.value, median(one_worker) / median(eight_workers));
  EXPECT_LE(speedup.low, speedup.value);
  EXPECT_LE(speedup.value, speedup.high);
  EXPECT_LT(speedup.low, speedup.high);
  // Numerator and denominator are resampled independently: the ratio of a
  // sample to itself is 1 but its interval is not [1, 1].
  const Estimate itself = bootstrap_ratio_of_medians(one_worker, one_worker);
  EXPECT_EQ(itself.value, 1.0);
  EXPECT_LT(itself.low, 1.0);
  EXPECT_GT(itself.high, 1.0);
}

TEST(Statistics, RatioOverAFixedDenominatorIsTheScaledMedianInterval) {
  // The numerator draws the resamples bootstrap_median draws with the same seed,
  // and dividing by 4 is exact in binary, so interpolation and scaling commute
  // exactly.
  const std::vector<double> runs{12, 7, 30, 9, 15, 11, 25, 8, 14, 10, 19};
  const Estimate alone = bootstrap_median(runs);
  const Estimate scaled = bootstrap_ratio_of_medians(runs, std::vector<double>{4, 4, 4});
  EXPECT_EQ(scaled.value, alone.value / 4);
  EXPECT_EQ(scaled.low, alone.low / 4);
  EXPECT_EQ(scaled.high, alone.high / 4);
}

TEST(Statistics, RatioOfCensoredMedians) {
  const std::vector<double> observed{10, 12, 11};
  const std::vector<double> censored{kInf, 5, kInf};
  const Estimate numerator_censored = bootstrap_ratio_of_medians(censored, observed);
  EXPECT_EQ(numerator_censored.value, kInf);
  EXPECT_EQ(numerator_censored.high, kInf);
  const Estimate denominator_censored = bootstrap_ratio_of_medians(observed, censored);
  EXPECT_EQ(denominator_censored.value, 0.0);
  EXPECT_EQ(denominator_censored.low, 0.0);
  EXPECT_FALSE(any_nan(denominator_censored));
  // Both censored: nothing is known.
  const Estimate both = bootstrap_ratio_of_medians(censored, censored);
  EXPECT_TRUE(std::isnan(both.value));
  EXPECT_TRUE(std::isnan(both.low));
  EXPECT_TRUE(std::isnan(both.high));
  EXPECT_TRUE(std::isnan(bootstrap_ratio_of_medians(std::vector<double>{}, observed).value));
  EXPECT_TRUE(std::isnan(bootstrap_ratio_of_medians(observed, std::vector<double>{}).high));
}

TEST(Statistics, MeanWithStudentTInterval) {
  // 1..5: mean 3, s^2 = 10/4, s / sqrt(5) = sqrt(1/2). t_{0.975,4} = 2.7764451052 and
  // t_{0.95,4} = 2.1318467863 (tables, 11 digits): 1e-9 covers their rounding
  // (5e-11 times sqrt(1/2)) and Boost's quantile (near double precision).
  const std::vector<double> values{4, 1, 5, 2, 3};
  const Estimate e = mean_with_t_interval(values);
  EXPECT_DOUBLE_EQ(e.value, 3.0);
  EXPECT_NEAR(e.low, 3.0 - 2.7764451052 * std::sqrt(0.5), 1e-9);
  EXPECT_NEAR(e.high, 3.0 + 2.7764451052 * std::sqrt(0.5), 1e-9);
  const Estimate ninety = mean_with_t_interval(values, 0.90);
  EXPECT_NEAR(ninety.low, 3.0 - 2.1318467863 * std::sqrt(0.5), 1e-9);
  EXPECT_NEAR(ninety.high, 3.0 + 2.1318467863 * std::sqrt(0.5), 1e-9);
  // Two values: one degree of freedom, t = tan(0.475 pi) (the Cauchy quantile);
  // s / sqrt(2) = 1 for {0, 2}. Relative 1e-12 allows for tan's condition there.
  const double cauchy = std::tan(0.475 * std::acos(-1.0));
  const Estimate pair = mean_with_t_interval(std::vector<double>{0, 2});
  EXPECT_NEAR(pair.high, 1.0 + cauchy, 1e-12 * cauchy);
}

TEST(Statistics, MeanOfOneNoneOrNonFiniteValues) {
  const Estimate one = mean_with_t_interval(std::vector<double>{2.5});
  EXPECT_EQ(one.value, 2.5);
  EXPECT_EQ(one.low, 2.5);
  EXPECT_EQ(one.high, 2.5);
  EXPECT_TRUE(any_nan(mean_with_t_interval(std::vector<double>{})));
  const Estimate censored = mean_with_t_interval(std::vector<double>{1, kInf, 3});
  EXPECT_FALSE(std::isfinite(censored.value));
  EXPECT_FALSE(std::isfinite(censored.low));
  EXPECT_FALSE(std::isfinite(censored.high));
  const Estimate broken = mean_with_t_interval(std::vector<double>{1, std::nan("")});
  EXPECT_FALSE(std::isfinite(broken.value));
  EXPECT_FALSE(std::isfinite(broken.low));
  EXPECT_FALSE(std::isfinite(broken.high));
  EXPECT_THROW(mean_with_t_interval(std::vector<double>{1, 2}, 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace distclip
