// Statistics across seeds, with censored runs kept as censored.
#include <cmath>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "distclip/analysis/aggregate.hpp"

namespace distclip {
namespace {

TEST(Aggregate, MedianAndMean) {
  const std::vector<double> odd{5, 1, 3};
  const std::vector<double> even{4, 1, 3, 2};
  EXPECT_EQ(median(odd), 3.0);
  EXPECT_EQ(median(even), 2.5);
  EXPECT_EQ(mean(even), 2.5);
  EXPECT_TRUE(std::isnan(median(std::vector<double>{})));
}

TEST(Aggregate, CensoredMedianIsTheTimeByWhichHalfTheRunsArrived) {
  using T = std::optional<double>;
  const std::vector<T> all{T(30), T(10), T(20)};
  EXPECT_EQ(censored_median(all), 20.0);
  // One of three censored: two of three arrived by 30.
  const std::vector<T> one_censored{T(30), std::nullopt, T(10)};
  EXPECT_EQ(censored_median(one_censored), 30.0);
  // Two of three censored: the median is only known to exceed the budget.
  const std::vector<T> mostly_censored{std::nullopt, T(10), std::nullopt};
  EXPECT_FALSE(censored_median(mostly_censored).has_value());
  // Even count: half is enough.
  const std::vector<T> half{T(7), std::nullopt, T(3), std::nullopt};
  EXPECT_EQ(censored_median(half), 7.0);
  EXPECT_FALSE(censored_median(std::vector<T>{}).has_value());
}

}  // namespace
}  // namespace distclip
