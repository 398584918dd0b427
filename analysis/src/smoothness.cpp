#include "distclip/analysis/smoothness.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/random/normal_distribution.hpp>

#include "bootstrap.hpp"
#include "distclip/analysis/fit.hpp"
#include "distclip/core/constants.hpp"
#include "distclip/core/random.hpp"

namespace distclip {

namespace {

void check_points(const Oracle& oracle, std::span<const Vector> points, std::string_view function) {
  for (std::size_t k = 0; k < points.size(); ++k) {
    if (points[k].size() != oracle.dimension()) {
      throw std::invalid_argument(std::string(function) + ": points[" + std::to_string(k) +
                                  "] has " + std::to_string(points[k].size()) +
                                  " entries, must have the oracle's dimension " +
                                  std::to_string(oracle.dimension()));
    }
  }
}

template <class Options>
void check_options(const Options& options, std::string_view function) {
  std::string error;
  if (!options.IsValid(&error)) throw std::invalid_argument(std::string(function) + ": " + error);
}

void check_samples(std::span<const SmoothnessSample> samples, std::string_view function) {
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const SmoothnessSample& s = samples[k];
    for (const auto& [name, value] :
         {std::pair{"grad_norm", s.grad_norm}, std::pair{"smoothness", s.smoothness}}) {
      if (!(std::isfinite(value) && value >= 0.0)) {
        throw std::invalid_argument(std::string(function) + ": samples[" + std::to_string(k) +
                                    "]." + name + " = " + detail::shortest(value) +
                                    ", must be finite and >= 0");
      }
    }
  }
}

// A unit vector from the point's own stream.
Vector start_vector(Index d, std::uint64_t seed, std::size_t point) {
  Rng rng = make_stream(seed, StreamPurpose::kInit, point);
  boost::random::normal_distribution<double> normal;
  Vector v(d);
  for (Index j = 0; j < d; ++j) v[j] = normal(rng);
  return v / v.norm();
}

}  // namespace

std::string_view to_string(SmoothnessMethod method) {
  return method == SmoothnessMethod::kSegment ? "segment" : "hvp";
}

bool SegmentOptions::IsValid(std::string* error) const {
  if (points >= 1) return true;
  *error = "points = " + std::to_string(points) + ", must be >= 1";
  return false;
}

bool HvpOptions::IsValid(std::string* error) const {
  if (iterations < 1) {
    *error = "hvp-iterations = " + std::to_string(iterations) + ", must be >= 1";
    return false;
  }
  if (!(std::isfinite(relative_step) && relative_step > 0.0)) {
    *error = "hvp-step = " + detail::shortest(relative_step) + ", must be finite and > 0";
    return false;
  }
  return true;
}

std::vector<SmoothnessSample> segment_estimates(const Oracle& oracle,
                                                std::span<const Vector> points,
                                                const SegmentOptions& options) {
  check_options(options, "segment_estimates");
  check_points(oracle, points, "segment_estimates");
  std::vector<SmoothnessSample> samples;
  if (points.size() < 2) return samples;
  const Index d = oracle.dimension();
  Vector grad_x(d), grad_z(d), z(d);
  oracle.gradient(points[0], grad_x);
  for (std::size_t k = 0; k + 1 < points.size(); ++k) {
    const Vector& x = points[k];
    const Vector& y = points[k + 1];
    double largest = 0.0;
    for (int i = 1; i <= options.points; ++i) {
      // The last z is y itself, not x + (y - x), so that its gradient is
      // grad f(y) bit for bit and serves as the next pair's grad f(x).
      if (i == options.points) {
        z = y;
      } else {
        z = x + (static_cast<double>(i) / options.points) * (y - x);
      }
      const double distance = (z - x).norm();
      if (distance == 0.0) continue;
      oracle.gradient(z, grad_z);
      largest = std::max(largest, (grad_z - grad_x).norm() / distance);
    }
    const double length = (y - x).norm();
    if (length > 0.0) {
      samples.push_back({SmoothnessMethod::kSegment, k, grad_x.norm(), largest, length});
    } else {
      oracle.gradient(y, grad_z);  // no z was probed
    }
    grad_x.swap(grad_z);
  }
  return samples;
}

std::vector<SmoothnessSample> hvp_estimates(const Oracle& oracle, std::span<const Vector> points,
                                            const HvpOptions& options) {
  check_options(options, "hvp_estimates");
  check_points(oracle, points, "hvp_estimates");
  const Index d = oracle.dimension();
  std::vector<SmoothnessSample> samples;
  Vector grad(d), plus(d), minus(d), hv(d);
  for (std::size_t k = 0; k < points.size(); ++k) {
    const Vector& x = points[k];
    oracle.gradient(x, grad);
    const double h = options.relative_step * std::max(1.0, x.norm());
    Vector v = start_vector(d, options.seed, k);
    double largest = 0.0;
    for (int i = 0; i < options.iterations; ++i) {
      oracle.gradient(x + h * v, plus);
      oracle.gradient(x - h * v, minus);
      hv = (plus - minus) / (2.0 * h);
      const double growth = hv.norm();
      largest = std::max(largest, growth);
      // Hv = 0 means v lies in the kernel: no direction to follow, and the
      // largest growth so far is all this start vector reveals.
      if (growth == 0.0) break;
      v = hv / growth;
    }
    samples.push_back({SmoothnessMethod::kHvp, k, grad.norm(), largest, h});
  }
  return samples;
}

double certified_envelope(const SmoothnessSample& sample, double l0, double l1) {
  if (sample.method == SmoothnessMethod::kHvp) return l0 + l1 * sample.grad_norm;
  const FirstOrderConstants first_order = first_order_constants(l1 * sample.step_length);
  return first_order.a * l0 + first_order.b * l1 * sample.grad_norm;
}

double smallest_l0(std::span<const SmoothnessSample> samples, double l1) {
  double l0 = 0.0;
  for (const SmoothnessSample& s : samples) l0 = std::max(l0, s.smoothness - l1 * s.grad_norm);
  return l0;
}

// L0(L1) = max_k (L_k - L1 g_k) is the intercept of the line of slope L1
// supporting the points (g_k, L_k) from above, so it touches only vertices
// of their upper convex hull. L1 = 0 supports the highest point; as L1 grows
// the contact moves left along the hull, changing vertex at each edge's
// slope, until L0 reaches 0 or the leftmost vertex is reached.
std::vector<FrontierVertex> frontier(std::span<const SmoothnessSample> samples) {
  check_samples(samples, "frontier");
  std::vector<std::pair<double, double>> points;  // (g, L)
  points.reserve(samples.size());
  for (const SmoothnessSample& s : samples) points.emplace_back(s.grad_norm, s.smoothness);
  if (points.empty()) return {};
  // Ascending g, and for equal g only the largest L, which dominates.
  std::ranges::sort(points, [](const auto& a, const auto& b) {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  });
  const auto same_g = [](const auto& a, const auto& b) { return a.first == b.first; };
  points.erase(std::unique(points.begin(), points.end(), same_g), points.end());

  // Andrew's monotone chain, upper part: left to right, dropping a vertex
  // unless the turn through it is strictly clockwise (collinear vertices
  // would make zero-length pieces of the frontier).
  std::vector<std::pair<double, double>> hull;
  for (const auto& p : points) {
    while (hull.size() >= 2) {
      const auto& a = hull[hull.size() - 2];
      const auto& b = hull.back();
      const double cross =
          (b.first - a.first) * (p.second - a.second) - (b.second - a.second) * (p.first - a.first);
      if (cross < 0.0) break;
      hull.pop_back();
    }
    hull.push_back(p);
  }

  // The highest vertex (the leftmost if several): edges right of it have
  // slopes <= 0, which belong to L1 <= 0.
  std::size_t top = 0;
  for (std::size_t i = 1; i < hull.size(); ++i) {
    if (hull[i].second > hull[top].second) top = i;
  }
  std::vector<FrontierVertex> vertices{{0.0, hull[top].second}};
  std::size_t contact = top;
  while (contact > 0) {
    const auto& [g, l] = hull[contact];
    const auto& [g_left, l_left] = hull[contact - 1];
    const double slope = (l - l_left) / (g - g_left);
    const double l0 = l - slope * g;
    if (l0 <= 0.0) break;  // L0 reaches 0 while this vertex is the contact
    vertices.push_back({slope, l0});
    --contact;
  }
  // The contact's line L0 = L - L1 g reaches 0 at L1 = L / g; with g = 0 it
  // never does and L0 stays at L.
  const auto& [g, l] = hull[contact];
  if (g > 0.0 && vertices.back().l0 > 0.0) vertices.push_back({l / g, 0.0});
  return vertices;
}

double frontier_l0(std::span<const FrontierVertex> vertices, double l1) {
  if (vertices.empty()) return 0.0;
  const auto after = std::ranges::upper_bound(vertices, l1, {}, &FrontierVertex::l1);
  if (after == vertices.begin()) return vertices.front().l0;
  if (after == vertices.end()) return vertices.back().l0;
  const FrontierVertex& a = *(after - 1);
  const FrontierVertex& b = *after;
  return a.l0 + (l1 - a.l1) / (b.l1 - a.l1) * (b.l0 - a.l0);
}

std::optional<SmoothnessLine> fit_line(std::span<const SmoothnessSample> samples) {
  check_samples(samples, "fit_line");
  if (samples.size() < 2) return std::nullopt;
  std::vector<double> g, l;
  for (const SmoothnessSample& s : samples) {
    g.push_back(s.grad_norm);
    l.push_back(s.smoothness);
  }
  const auto [low, high] = std::ranges::minmax(g);
  if (low == high) return std::nullopt;
  const LeastSquares fit = least_squares(g, l);
  // All L equal: the line is exact, and R^2 = 1 - 0/0 is taken as 1.
  const double r_squared =
      fit.total_squares > 0.0 ? 1.0 - fit.residual_squares / fit.total_squares : 1.0;
  return SmoothnessLine{fit.intercept, fit.slope, r_squared, samples.size()};
}

}  // namespace distclip
