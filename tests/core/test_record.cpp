// Theorem 1's metric and the other stationarity statistics, and how
// constants and terminations are spelled in records.
#include <cmath>

#include <gtest/gtest.h>

#include "distclip/core/constants.hpp"
#include "distclip/core/record.hpp"

namespace distclip {
namespace {

TEST(StationarityTracker, TracksErgodicAverageMinimumAndLast) {
  StationarityTracker tracker;
  EXPECT_TRUE(std::isnan(tracker.ergodic()));
  EXPECT_TRUE(std::isnan(tracker.metric(StopCriterion::kMinimum)));
  for (double g : {4.0, 1.0, 3.0}) tracker.add(g);
  EXPECT_EQ(tracker.count(), 3);
  EXPECT_DOUBLE_EQ(tracker.ergodic(), 8.0 / 3.0);
  EXPECT_EQ(tracker.minimum(), 1.0);
  EXPECT_EQ(tracker.last(), 3.0);
  EXPECT_EQ(tracker.metric(StopCriterion::kLast), 3.0);
}

TEST(StopCriterion, RoundTripsThroughItsName) {
  for (auto c : {StopCriterion::kErgodic, StopCriterion::kMinimum, StopCriterion::kLast}) {
    EXPECT_EQ(parse_stop_criterion(to_string(c)), c);
  }
  EXPECT_FALSE(parse_stop_criterion("average").has_value());
}

TEST(Constant, PrintsNumbersExactlyAndNamesTheRest) {
  EXPECT_EQ(Constant::known(0.1).to_string(), "0.1");
  EXPECT_EQ(Constant::known(12).to_string(), "12");
  EXPECT_EQ(Constant::unknown().to_string(), "unknown");
  EXPECT_EQ(Constant::unbounded().to_string(), "unbounded");
  EXPECT_FALSE(Constant::unbounded().is_known());
}

TEST(Termination, HasStableNames) {
  EXPECT_EQ(to_string(Termination::kDiverged), "diverged");
  EXPECT_EQ(to_string(Termination::kTargetReached), "target_reached");
  EXPECT_EQ(to_string(Termination::kBudgetExhausted), "budget_exhausted");
}

}  // namespace
}  // namespace distclip
