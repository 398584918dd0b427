// The catalog: every synthetic objective family and noise model by name,
// with its parameters and certificate, and the factories from a spec to an
// Oracle (the language model, "lstm", is language_model.hpp's).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "distclip/core/oracle.hpp"
#include "distclip/objectives/language_model.hpp"
#include "distclip/objectives/spec.hpp"
#include "distclip/objectives/synthetic.hpp"

namespace distclip {

struct FamilyInfo {
  std::string_view name;         // e.g. "double-well"
  std::string_view formula;      // f(x) in one line
  std::string_view certificate;  // (L0, L1) and f_low as formulas of the parameters
  std::string_view initial_point;  // the default x0, in words
  // ObjectiveSpec keys this family reads, spelled as in the CLI
  // ("dim", "scale", "condition", "x0", ...).
  std::vector<std::string_view> parameters;
  // Whether its stochastic gradient is additive noise on the exact gradient
  // (false: a sampled minibatch, noise enters through the data).
  bool additive_noise_only = true;
};

struct NoiseInfo {
  std::string_view name;         // e.g. "ball"
  std::string_view description;  // distribution and what sigma means
  std::vector<std::string_view> parameters;  // "sigma", "dof"
  bool bounded = false;
  bool symmetric_unimodal = false;
};

const std::vector<FamilyInfo>& objective_families();
const std::vector<NoiseInfo>& noise_models();
const FamilyInfo* find_family(std::string_view name);
const NoiseInfo* find_noise_model(std::string_view name);

// Checks every constraint on `spec` (ranges, and those between fields such as
// samples >= dim). On failure returns false and sets *error to one line
// naming the field, its value and the accepted range, e.g.
// "condition = 0.5, must be >= 1".
bool is_valid(const ObjectiveSpec& spec, std::string* error);

// `spec` with the family's defaults filled in (x0, samples), as recorded in a
// run's resolved configuration.
ObjectiveSpec resolve(const ObjectiveSpec& spec);

// The deterministic function and the full oracle of a valid spec for
// `num_workers` workers (which matters only with heterogeneity > 0, which
// needs at least 2). Throw std::invalid_argument with is_valid's message
// otherwise.
std::unique_ptr<SyntheticFunction> make_function(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticOracle> make_oracle(const ObjectiveSpec& spec, int num_workers = 1);

// The tilts b_i of a heterogeneous synthetic objective (docs/objectives.md):
// empty when heterogeneity = 0.
std::vector<Vector> heterogeneity_tilts(const ObjectiveSpec& spec, int num_workers);

// Any objective: a synthetic oracle, or the language model ("lstm", which
// reads its corpus now and may throw DataError) for `num_workers` workers.
std::unique_ptr<Oracle> make_objective(const ObjectiveSpec& spec, int num_workers);

}  // namespace distclip
