// The catalog of families and noise models, spec validation with one-line
// messages, family defaults, and the factories.
#include "distclip/objectives/catalog.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <boost/random/normal_distribution.hpp>

#include "internal.hpp"

namespace distclip {

namespace {

// phase-retrieval limits: the certificate eigendecomposes the d x d matrix
// Sigma (O(d^3)), and the d x n data matrix is stored (8 n d bytes).
constexpr Index kPhaseRetrievalMaxDim = 2000;
constexpr Index kPhaseRetrievalMaxEntries = 20'000'000;
constexpr Index kPhaseRetrievalSamplesPerDim = 8;
// cosh-well: cosh overflows a double past |u| ~ 710.5; leave room for the
// weights and the sum over coordinates.
constexpr double kCoshWellMaxStart = 700.0;

// Built on first use (function-local statics), so that other translation
// units' static initialisers may already consult the catalog.
const std::vector<FamilyInfo>& families() {
  static const std::vector<FamilyInfo> entries = {
      {"double-well",
       "f(x) = c sum_j w_j (x_j^4/4 - x_j^2/2), w_j = condition^(j/(d-1))",
       "L0 = 2 c w_max, L1 = 3, f_low = -c (sum_j w_j) / 4; w_max = condition (1 if d = 1)",
       "x0 (default 2) in every coordinate",
       {"dim", "scale", "condition", "x0"},
       true},
      {"quartic",
       "f(x) = c (x^T Q x)^2, Q = diag(w_j), w_j = condition^(j/(d-1))",
       "L0 = 12 c, L1 = 3 w_max^(3/2), f_low = 0; w_max = condition (1 if d = 1)",
       "x0 (default 1) in every coordinate",
       {"dim", "scale", "condition", "x0"},
       true},
      {"cosh-well",
       "f(x) = c sum_j w_j (cosh(b x_j) + a cos(b x_j)), a = ripple, b = growth, "
       "w_j = condition^(j/(d-1))",
       "L0 = c w_max b^2 (1 + sqrt(2) a), L1 = b, f_low = c (sum_j w_j) min_u (cosh u + a cos u); "
       "w_max = condition (1 if d = 1)",
       "x0 (default 4 / growth) in every coordinate",
       {"dim", "scale", "condition", "ripple", "growth", "x0"},
       true},
      {"phase-retrieval",
       "f(x) = (c / 4n) sum_j ((a_j^T x)^2 - y_j)^2, a_j ~ N(0, I_d), y_j = (a_j^T x*)^2, "
       "||x*|| = 1",
       "L0 = 3 c m y_max, L1 = 3 m / sqrt(lambda_- y_max) with m = max_j ||a_j||^2, "
       "y_max = max_j y_j, lambda_- <= lambda_min(A A^T / n); f_low = 0",
       "x0 (default 1/sqrt(d), so ||x0|| = 1) in every coordinate",
       {"dim", "scale", "samples", "batch-size", "data-seed", "x0"},
       false},
      {"rippled-quadratic",
       "f(x) = c sum_j w_j (x_j^2/2 + a (1 - cos x_j)), a = ripple, w_j = condition^(j/(d-1))",
       "L0 = c w_max (1 + a), L1 = 0, f_low = 0; w_max = condition (1 if d = 1)",
       "x0 (default 3) in every coordinate",
       {"dim", "scale", "condition", "ripple", "x0"},
       true},
      {"zero-chain",
       "f(x) = c lambda sum_{i=1..d} [Psi(-u_{i-1}) Phi(-u_i) - Psi(u_{i-1}) Phi(u_i)], "
       "u = x / lambda, u_0 = 1 (Carmon et al. 2019); its stochastic gradient hides the "
       "chain's next coordinate except with probability p = reveal-probability (Arjevani "
       "et al. 2019); ||grad f|| > c until |x_d| > lambda",
       "L0 = 152 c / lambda, L1 = 0, f_low = -c lambda sqrt(2 pi e) (1 + e (d - 1)); "
       "sigma = 23 c max(1, (1 - p) / p) (0 for p = 1)",
       "x0 (default 0) in every coordinate",
       {"dim", "scale", "width", "reveal-probability", "x0"},
       false},
  };
  return entries;
}

const std::vector<NoiseInfo>& models() {
  static const std::vector<NoiseInfo> entries = {
      {"none", "no noise: the exact (or minibatch) gradient", {}, true, true},
      {"ball",
       "uniform in the ball of radius sigma; E ||n||^2 = sigma^2 d / (d + 2)",
       {"sigma"},
       true,
       true},
      {"truncated-gaussian",
       "N(0, (sigma / (2 sqrt d))^2 I_d) conditioned on ||n|| <= sigma",
       {"sigma"},
       true,
       true},
      {"gaussian", "N(0, (sigma^2 / d) I_d); E ||n||^2 = sigma^2", {"sigma"}, false, true},
      {"student-t",
       "iid Student-t(dof) coordinates scaled to variance sigma^2 / d; E ||n||^2 = sigma^2",
       {"sigma", "dof"},
       false,
       true},
  };
  return entries;
}

bool reads(const FamilyInfo& family, std::string_view key) {
  for (const auto parameter : family.parameters) {
    if (parameter == key) return true;
  }
  return false;
}

// "key = value, must be <range>", with a distinct message for NaN and inf.
std::optional<std::string> check_real(std::string_view key, double value, bool ok,
                                      std::string_view range) {
  if (!std::isfinite(value)) {
    return std::string(key) + " = " + detail::format_number(value) + ", must be finite and " +
           std::string(range);
  }
  if (!ok) {
    return std::string(key) + " = " + detail::format_number(value) + ", must be " +
           std::string(range);
  }
  return std::nullopt;
}

std::optional<std::string> spec_error(const ObjectiveSpec& spec) {
  if (spec.family == kLanguageModelFamily) return detail::language_model_spec_error(spec);
  const FamilyInfo* family = find_family(spec.family);
  if (family == nullptr) {
    std::string names;
    for (const auto& entry : families()) {
      names += names.empty() ? "" : ", ";
      names += entry.name;
    }
    return "objective = '" + spec.family + "' is not one of: " + names + ", " +
           std::string(kLanguageModelFamily);
  }
  const bool phase_retrieval = family->name == "phase-retrieval";
  if (spec.dim < 1) return "dim = " + std::to_string(spec.dim) + ", must be >= 1";
  if (phase_retrieval && spec.dim > kPhaseRetrievalMaxDim) {
    return "dim = " + std::to_string(spec.dim) +
           ", must be <= " + std::to_string(kPhaseRetrievalMaxDim) +
           " for phase-retrieval (its certificate eigendecomposes the d x d matrix Sigma)";
  }
  if (auto e = check_real("scale", spec.scale, spec.scale > 0.0, "> 0")) return e;
  if (reads(*family, "condition")) {
    if (auto e = check_real("condition", spec.condition, spec.condition >= 1.0, ">= 1")) return e;
  }
  if (reads(*family, "ripple")) {
    if (auto e = check_real("ripple", spec.ripple, spec.ripple >= 0.0, ">= 0")) return e;
  }
  if (reads(*family, "growth")) {
    if (auto e = check_real("growth", spec.growth, spec.growth > 0.0, "> 0")) return e;
  }
  if (reads(*family, "width")) {
    if (auto e = check_real("width", spec.width, spec.width > 0.0, "> 0")) return e;
  }
  if (reads(*family, "reveal-probability")) {
    const double p = spec.reveal_probability;
    if (auto e = check_real("reveal-probability", p, p > 0.0 && p <= 1.0, "in (0, 1]")) return e;
  }
  if (reads(*family, "samples")) {
    const Index n = *spec.samples;
    if (n < spec.dim) {
      return "samples = " + std::to_string(n) + ", must be >= dim (" + std::to_string(spec.dim) +
             ")";
    }
    const Index max_samples = kPhaseRetrievalMaxEntries / spec.dim;
    if (n > max_samples) {
      return "samples = " + std::to_string(n) + ", must be <= 2e7 / dim (" +
             std::to_string(max_samples) + ") for phase-retrieval (the d x n data is stored)";
    }
  }
  if (reads(*family, "batch-size")) {
    if (spec.batch_size < 1 || spec.batch_size > *spec.samples) {
      return "batch-size = " + std::to_string(spec.batch_size) + ", must be in [1, samples (" +
             std::to_string(*spec.samples) + ")]";
    }
  }
  const double x0 = *spec.x0;
  if (!std::isfinite(x0)) return "x0 = " + detail::format_number(x0) + ", must be finite";
  if (auto e = check_real("heterogeneity", spec.heterogeneity, spec.heterogeneity >= 0.0, ">= 0")) {
    return e;
  }
  if (family->name == "zero-chain" && spec.heterogeneity != 0.0) {
    return "heterogeneity = " + detail::format_number(spec.heterogeneity) +
           ", must be 0 for zero-chain (the lower-bound instance is homogeneous)";
  }
  if (family->name == "cosh-well" && !(std::abs(spec.growth * x0) <= kCoshWellMaxStart)) {
    return "x0 = " + detail::format_number(x0) + ", must satisfy |growth * x0| <= 700 for " +
           "cosh-well (cosh overflows a double near 710)";
  }
  return detail::noise_spec_error(spec.noise);
}

}  // namespace

namespace detail {

std::string format_number(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

}  // namespace detail

const std::vector<FamilyInfo>& objective_families() { return families(); }
const std::vector<NoiseInfo>& noise_models() { return models(); }

const FamilyInfo* find_family(std::string_view name) {
  for (const auto& family : families()) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

const NoiseInfo* find_noise_model(std::string_view name) {
  for (const auto& model : models()) {
    if (model.name == name) return &model;
  }
  return nullptr;
}

ObjectiveSpec resolve(const ObjectiveSpec& spec) {
  ObjectiveSpec resolved = spec;
  const FamilyInfo* family = find_family(spec.family);
  if (family == nullptr) return resolved;
  if (family->name == "phase-retrieval" && !resolved.samples) {
    const Index max = std::numeric_limits<Index>::max() / kPhaseRetrievalSamplesPerDim;
    resolved.samples = spec.dim > max ? std::numeric_limits<Index>::max()
                                      : kPhaseRetrievalSamplesPerDim * spec.dim;
  }
  if (!resolved.x0) {
    if (family->name == "double-well") resolved.x0 = 2.0;
    if (family->name == "quartic") resolved.x0 = 1.0;
    if (family->name == "cosh-well") resolved.x0 = 4.0 / spec.growth;
    if (family->name == "rippled-quadratic") resolved.x0 = 3.0;
    if (family->name == "zero-chain") resolved.x0 = 0.0;
    if (family->name == "phase-retrieval") {
      resolved.x0 = spec.dim >= 1 ? 1.0 / std::sqrt(static_cast<double>(spec.dim)) : 1.0;
    }
  }
  return resolved;
}

bool is_valid(const ObjectiveSpec& spec, std::string* error) {
  const auto message = spec_error(resolve(spec));
  if (message && error != nullptr) *error = *message;
  return !message;
}

std::unique_ptr<SyntheticFunction> make_function(const ObjectiveSpec& spec) {
  if (spec.family == kLanguageModelFamily) {
    throw std::invalid_argument(
        "objective = lstm has no closed form or certified constants; make_objective() builds it");
  }
  const ObjectiveSpec resolved = resolve(spec);
  if (const auto message = spec_error(resolved)) throw std::invalid_argument(*message);
  const std::string_view name = resolved.family;
  if (name == "double-well") return detail::make_double_well(resolved);
  if (name == "quartic") return detail::make_quartic(resolved);
  if (name == "cosh-well") return detail::make_cosh_well(resolved);
  if (name == "phase-retrieval") return detail::make_phase_retrieval(resolved);
  if (name == "zero-chain") return detail::make_zero_chain(resolved);
  return detail::make_rippled_quadratic(resolved);
}

std::vector<Vector> heterogeneity_tilts(const ObjectiveSpec& spec, int num_workers) {
  if (spec.heterogeneity == 0.0) return {};
  if (num_workers < 2) {
    throw std::invalid_argument("heterogeneity = " + detail::format_number(spec.heterogeneity) +
                                ", needs workers >= 2 (workers = " +
                                std::to_string(num_workers) + ")");
  }
  // z_i ~ N(0, I_d), each from its own stream; b_i = s (z_i - zbar) with s
  // making the mean norm zeta: the tilts sum to 0 (to rounding) and kappa =
  // (1/N) sum ||b_i|| = zeta.
  const Index d = spec.dim;
  std::vector<Vector> tilts;
  Vector mean = Vector::Zero(d);
  boost::random::normal_distribution<double> normal;
  for (int i = 0; i < num_workers; ++i) {
    Rng rng = make_stream(spec.data_seed, StreamPurpose::kHeterogeneity,
                          static_cast<std::uint64_t>(i));
    Vector z(d);
    for (Index j = 0; j < d; ++j) z[j] = normal(rng);
    mean += z;
    tilts.push_back(std::move(z));
  }
  mean /= static_cast<double>(num_workers);
  double norms = 0.0;
  for (Vector& b : tilts) {
    b -= mean;
    norms += b.norm();
  }
  const double scale = spec.heterogeneity * static_cast<double>(num_workers) / norms;
  for (Vector& b : tilts) b *= scale;
  return tilts;
}

std::unique_ptr<SyntheticOracle> make_oracle(const ObjectiveSpec& spec, int num_workers) {
  auto function = make_function(spec);
  auto noise = make_noise(spec.noise, function->dimension());
  return std::make_unique<SyntheticOracle>(std::move(function), std::move(noise),
                                           heterogeneity_tilts(resolve(spec), num_workers));
}

std::unique_ptr<Oracle> make_objective(const ObjectiveSpec& spec, int num_workers) {
  if (spec.family == kLanguageModelFamily) {
    return std::make_unique<LanguageModelOracle>(spec, num_workers);
  }
  return make_oracle(spec, num_workers);
}

}  // namespace distclip
