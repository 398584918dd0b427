// (L0, L1)-smoothness measured on any oracle (Zhang et al., ICLR 2020): local
// smoothness estimates paired with gradient norms, the envelope a certificate
// allows for each, and the (L0, L1) pairs the estimates support.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distclip/core/oracle.hpp"
#include "distclip/core/types.hpp"

namespace distclip {

enum class SmoothnessMethod {
  // Zhang et al.'s estimate: the largest ||grad f(z) - grad f(x)|| / ||z - x||
  // over points z of the segment from x to the next point y.
  kSegment,
  // ||Hess f(x)||, by power iteration on finite-difference Hessian-vector
  // products.
  kHvp,
};

std::string_view to_string(SmoothnessMethod method);

// One local estimate.
struct SmoothnessSample {
  SmoothnessMethod method = SmoothnessMethod::kSegment;
  std::size_t point = 0;    // index of x among the points the estimator was given
  double grad_norm = 0.0;   // ||grad f(x)||
  double smoothness = 0.0;  // L, the local estimate
  // Segment: ||y - x||, the length of the probed segment. Hvp: h, the
  // finite-difference step.
  double step_length = 0.0;
};

struct SegmentOptions {
  // K: z = x + (k / K)(y - x) for k = 1..K, so z = y is always probed.
  int points = 10;

  // On failure sets *error to one line naming the field ("points = 0, must
  // be >= 1").
  bool IsValid(std::string* error) const;
};

// Seed of the power iteration's start vectors (with StreamPurpose::kInit:
// a start vector is a random initial point of that iteration). Fixed by the
// analysis rather than taken from a run, so that an estimate at x does not
// depend on which run visited x.
inline constexpr std::uint64_t kPowerIterationSeed = 0x5e6d'0011;

// Central differences of gradients balance truncation (h^2) against rounding
// (u / h, u the unit roundoff of the gradient), best at h ~ u^(1/3) on the
// scale of x: 6.1e-6 for oracles computed in double.
inline constexpr double kDoubleRelativeStep = 6.0554544523933395e-6;  // cbrt(2^-52)
// For oracles computed in float32 (the LSTM, docs/lstm.md), u^(1/3) = 4.9e-3
// would do, but rounding x + h v to float also moves the point by up to
// 6e-8 ||x||; on a small LSTM the estimates at h / ||x|| = 1e-4 and 1e-3 are
// within 9e-5 of those at 3e-4, and at 1e-5 within 8e-4 (docs/smoothness.md).
inline constexpr double kFloatRelativeStep = 3e-4;

struct HvpOptions {
  // Power iterations v <- Hv / ||Hv|| from a random unit start vector.
  int iterations = 20;
  // h = relative_step * max(1, ||x||): Hv ~ (grad f(x + h v) - grad f(x - h v)) / (2h)
  // with ||v|| = 1. The max keeps h from vanishing at x = 0.
  double relative_step = kDoubleRelativeStep;
  // The start vector at point k is drawn from make_stream(seed, kInit, k).
  std::uint64_t seed = kPowerIterationSeed;

  bool IsValid(std::string* error) const;
};

// One sample per consecutive pair points[k] -> points[k + 1] (point = k),
// costing K gradients each (grad f(y) is shared with the next pair). A pair
// with y == x has no ratio and gives no sample. Throws std::invalid_argument
// for invalid options or a point whose size is not the oracle's dimension.
std::vector<SmoothnessSample> segment_estimates(const Oracle& oracle,
                                                std::span<const Vector> points,
                                                const SegmentOptions& options = {});

// One sample per point (2 iterations + 1 gradients each). The estimate is
// the largest ||H v_j|| over the unit iterates v_j: each is a lower bound on
// ||Hess f(x)|| (up to the finite-difference error), and it tends to the
// largest |eigenvalue| even when eigenvalues +-lambda tie, where the
// Rayleigh quotient does not. Throws as segment_estimates() does.
std::vector<SmoothnessSample> hvp_estimates(const Oracle& oracle, std::span<const Vector> points,
                                            const HvpOptions& options = {});

// The largest estimate an (l0, l1)-smooth f allows for `sample`: for a
// segment, the first-order form A L0 + B L1 ||grad f(x)|| (core's
// first_order_constants) at c = L1 ||y - x||, which bounds every z on the
// segment since A and B grow with c; for the Hessian, L0 + L1 ||grad f(x)||.
double certified_envelope(const SmoothnessSample& sample, double l0, double l1);

// A vertex (L1, L0) of the frontier.
struct FrontierVertex {
  double l1 = 0.0;
  double l0 = 0.0;
};

// The smallest L0 >= 0 with L_k <= L0 + l1 g_k for every sample:
// max(0, max_k (L_k - l1 g_k)), in O(n). 0 for no samples.
double smallest_l0(std::span<const SmoothnessSample> samples, double l1);

// The frontier of valid (L0, L1) pairs, l1 >= 0: vertices with increasing L1
// and decreasing L0, starting at (0, max_k L_k); L0 is linear between
// vertices and constant after the last (0, or the L of a sample with g = 0).
// The breakpoints are the slopes of the upper convex hull of the points
// (g_k, L_k), found in O(n log n). Empty for no samples. Throws
// std::invalid_argument for a sample whose g or L is negative or not finite.
std::vector<FrontierVertex> frontier(std::span<const SmoothnessSample> samples);

// The frontier's L0 at `l1` >= 0 (interpolated; constant past the last vertex).
double frontier_l0(std::span<const FrontierVertex> vertices, double l1);

// L = l0 + l1 g by ordinary least squares over the samples.
struct SmoothnessLine {
  double l0 = 0.0;  // intercept; may be negative
  double l1 = 0.0;  // slope
  double r_squared = 0.0;
  std::size_t samples = 0;
};

// Empty when fewer than two distinct gradient norms. Throws as frontier() does.
std::optional<SmoothnessLine> fit_line(std::span<const SmoothnessSample> samples);

}  // namespace distclip
