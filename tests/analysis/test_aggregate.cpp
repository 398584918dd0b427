// Statistics across seeds, with censored runs kept as censored.
#include <cmath>
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

}  // namespace
}  // namespace distclip
