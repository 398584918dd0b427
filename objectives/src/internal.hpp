// Internals of the objectives module shared between its source files: the
// family constructors behind make_function(), the noise-spec check behind
// make_noise() and is_valid(), and the number formatting of their messages.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "distclip/objectives/spec.hpp"
#include "distclip/objectives/synthetic.hpp"

namespace distclip::detail {

// Shortest round-trip decimal form of a double ("0.5", "1", "inf", "nan"),
// so that a message shows exactly the value that was rejected.
std::string format_number(double value);

// The first broken constraint of a noise spec, as one line; nullopt if valid.
std::optional<std::string> noise_spec_error(const NoiseSpec& spec);

// The six families, from a spec that resolve() has completed and is_valid()
// has accepted. Parameters the family does not read are ignored.
std::unique_ptr<SyntheticFunction> make_double_well(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticFunction> make_quartic(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticFunction> make_cosh_well(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticFunction> make_phase_retrieval(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticFunction> make_rippled_quadratic(const ObjectiveSpec& spec);
std::unique_ptr<SyntheticFunction> make_zero_chain(const ObjectiveSpec& spec);

// The first broken constraint of the language-model fields of a spec whose
// family is "lstm" (the files themselves are checked when read).
std::optional<std::string> language_model_spec_error(const ObjectiveSpec& spec);

// min over u of cosh(u) + a cos(u), for a >= 0 (cosh-well's f_low per unit
// weight): 1 + a when a <= 1, otherwise found by Newton's method on
// sinh(u) = a sin(u) in (0, pi). See docs/objectives.md.
double cosh_well_profile_minimum(double ripple);

}  // namespace distclip::detail
