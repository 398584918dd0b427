// Theorem 1's parameter rules and conditions, against values worked by hand.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "distclip/analysis/theory.hpp"
#include "distclip/core/constants.hpp"

namespace distclip {
namespace {

// double-well at d = 1 (L0, L1) = (2, 3), ball noise sigma = 0.5, from x0 = 2
// (Delta = 2 - (-1/4) = 2.25), eps = 0.1, N = 4, c = 1.
TheoryInputs double_well() {
  TheoryInputs in;
  in.l0 = 2.0;
  in.l1 = 3.0;
  in.sigma = 0.5;
  in.delta = 2.25;
  in.eps = 0.1;
  in.num_workers = 4;
  return in;
}

const TheoryCondition& condition(const TheoryParameters& p, const std::string& prefix) {
  for (const TheoryCondition& c : p.conditions) {
    if (c.name.rfind(prefix, 0) == 0) return c;
  }
  throw std::runtime_error("no condition " + prefix);
}

TEST(FirstOrderConstants, MatchTheFormulaAndTheirLimit) {
  const FirstOrderConstants one = first_order_constants(1.0);
  EXPECT_NEAR(one.b, std::exp(1.0) - 1.0, 1e-15);
  EXPECT_NEAR(one.a, 1.0 + std::exp(1.0) - (std::exp(1.0) - 1.0), 1e-15);
  const FirstOrderConstants zero = first_order_constants(0.0);
  EXPECT_EQ(zero.a, 1.0);
  EXPECT_EQ(zero.b, 1.0);
  // Small c: B = 1 + c/2 + c^2/6 + ..., A = 1 + c/2 + ... (no cancellation).
  const FirstOrderConstants tiny = first_order_constants(1e-6);
  EXPECT_NEAR(tiny.b, 1.0 + 0.5e-6 + 1e-12 / 6, 1e-15);
  EXPECT_NEAR(tiny.a, 1.0 + 0.5e-6 + 1e-12 / 3, 1e-15);  // A = 1 + c/2 + c^2/3 + ...
  EXPECT_TRUE(std::isinf(first_order_constants(1000.0).a));
  EXPECT_TRUE(std::isnan(first_order_constants(-1.0).a));
}

TEST(Theorem1, ParametersFollowTheRules) {
  const TheoryParameters p = theorem1(double_well());
  const double b = std::exp(1.0) - 1.0;
  const double a = 1.0 + std::exp(1.0) - b;
  EXPECT_DOUBLE_EQ(p.a, a);
  EXPECT_DOUBLE_EQ(p.b, b);
  EXPECT_EQ(p.sync_interval, 1);  // floor(1 / (2 * 4 * 0.1)) = floor(1.25)
  // min(eps / (A L0), 1 / (B L1)) = min(0.025, 0.194) = 0.1 / (2 A).
  const double gamma = 4 * 0.1 / (28 * 0.5) * (0.1 / (a * 2.0));
  EXPECT_DOUBLE_EQ(p.clip_threshold, gamma);
  EXPECT_DOUBLE_EQ(p.step_size, gamma / (5 * 0.5));
  const double t_scale = 2.25 * a * 2.0 * 0.25 / (4 * 1e-4);
  EXPECT_NEAR(p.t_scale, t_scale, 1e-9 * t_scale);
  EXPECT_EQ(p.steps, static_cast<std::int64_t>(std::ceil(p.t_scale)));
  EXPECT_EQ(p.rounds, p.steps);
  EXPECT_TRUE(p.all_hold());
  EXPECT_EQ(p.conditions.size(), 5u);
}

TEST(Theorem1, SecondTermOfGammaWinsWhenL1IsLarge) {
  TheoryInputs in = double_well();
  in.l1 = 100.0;  // 1 / (B L1) = 0.0058 < eps / (A L0) = 0.025
  const TheoryParameters p = theorem1(in);
  EXPECT_DOUBLE_EQ(p.clip_threshold, 4 * 0.1 / (28 * 0.5) / (p.b * 100.0));
  // eps <= A L0 / (B L1) = 0.023 fails, and so does N <= 14 A L0 / (5 B L1 eps).
  EXPECT_FALSE(condition(p, "eps <=").holds);
  EXPECT_FALSE(condition(p, "N <=").holds);
  EXPECT_FALSE(p.all_hold());
}

TEST(Theorem1, LSmoothFunctionsHaveNoL1Conditions) {
  TheoryInputs in = double_well();
  in.l1 = 0.0;
  const TheoryParameters p = theorem1(in);
  EXPECT_DOUBLE_EQ(p.clip_threshold, 4 * 0.1 / (28 * 0.5) * (0.1 / (p.a * 2.0)));
  EXPECT_TRUE(std::isinf(condition(p, "2 gamma I").rhs));
  EXPECT_TRUE(p.all_hold());
}

TEST(Theorem1, NAtOneOverEpsLeavesNoIntegerInterval) {
  // N <= 1 / eps passes, but 1 / (2 N eps) = 0.5 < 1: no I >= 1 fits.
  TheoryInputs in = double_well();
  in.num_workers = 10;
  const TheoryParameters p = theorem1(in);
  EXPECT_TRUE(condition(p, "N <=").holds);
  const TheoryCondition& interval = condition(p, "1 <= I");
  EXPECT_EQ(p.sync_interval, 1);
  EXPECT_DOUBLE_EQ(interval.rhs, 0.5);
  EXPECT_FALSE(interval.holds);
}

TEST(Theorem1, EpsAboveOneTenthFailsTheTheorem) {
  TheoryInputs in = double_well();
  in.eps = 0.2;
  in.num_workers = 1;
  const TheoryParameters p = theorem1(in);
  EXPECT_FALSE(condition(p, "eps <=").holds);
  EXPECT_EQ(condition(p, "eps <=").rhs, 0.1);
}

TEST(Theorem1, TightnessRatioIsMeasuredOverScale) {
  const TheoryParameters p = theorem1(double_well());
  EXPECT_DOUBLE_EQ(tightness_ratio(static_cast<std::int64_t>(2 * p.t_scale), p),
                   std::floor(2 * p.t_scale) / p.t_scale);
}

TEST(Theorem1, InvalidInputsNameTheField) {
  const auto message = [](TheoryInputs in) {
    std::string error;
    EXPECT_FALSE(in.IsValid(&error));
    EXPECT_THROW(theorem1(in), std::invalid_argument);
    return error;
  };
  TheoryInputs in = double_well();
  in.sigma = 0.0;
  EXPECT_EQ(message(in).rfind("sigma + kappa = 0, must be > 0", 0), 0u);
  in = double_well();
  in.eps = -1.0;
  EXPECT_EQ(message(in), "eps = -1, must be > 0");
  in = double_well();
  in.num_workers = 0;
  EXPECT_EQ(message(in), "workers = 0, must be >= 1");
  in = double_well();
  in.c = 0.0;
  EXPECT_EQ(message(in), "c = 0, must be in (0, 700]");
  in = double_well();
  in.delta = std::nan("");
  EXPECT_EQ(message(in), "delta = nan, must be > 0");
}

}  // namespace
}  // namespace distclip
