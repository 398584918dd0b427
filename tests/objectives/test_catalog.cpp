// The catalog: spec validation messages (one line naming the CLI key, the
// value and the accepted range), family defaults, the factories and the
// consistency of the catalog entries with the objects they describe.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

std::string error_of(const ObjectiveSpec& spec) {
  std::string error;
  if (is_valid(spec, &error)) return "valid";
  return error;
}

ObjectiveSpec spec_of(const std::string& family) {
  ObjectiveSpec spec;
  spec.family = family;
  spec.dim = 10;
  return spec;
}

TEST(Catalog, DefaultsAreValid) {
  EXPECT_EQ(error_of(ObjectiveSpec{}), "valid");
  for (const auto& family : family_names()) EXPECT_EQ(error_of(spec_of(family)), "valid");
  EXPECT_TRUE(is_valid(ObjectiveSpec{}, nullptr));
}

TEST(Catalog, MessagesNameFieldValueAndRange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::string family;
    std::function<void(ObjectiveSpec&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"foo", [](ObjectiveSpec&) {},
       "objective = 'foo' is not one of: double-well, quartic, cosh-well, phase-retrieval, "
       "rippled-quadratic, zero-chain, lstm"},
      {"double-well", [](ObjectiveSpec& s) { s.dim = 0; }, "dim = 0, must be >= 1"},
      {"quartic", [](ObjectiveSpec& s) { s.scale = 0.0; }, "scale = 0, must be > 0"},
      {"quartic", [&](ObjectiveSpec& s) { s.scale = inf; }, "scale = inf, must be finite and > 0"},
      {"double-well", [](ObjectiveSpec& s) { s.condition = 0.5; }, "condition = 0.5, must be >= 1"},
      {"rippled-quadratic", [&](ObjectiveSpec& s) { s.condition = nan; },
       "condition = nan, must be finite and >= 1"},
      {"cosh-well", [](ObjectiveSpec& s) { s.ripple = -1.0; }, "ripple = -1, must be >= 0"},
      {"rippled-quadratic", [](ObjectiveSpec& s) { s.ripple = -0.25; },
       "ripple = -0.25, must be >= 0"},
      {"cosh-well", [](ObjectiveSpec& s) { s.growth = 0.0; }, "growth = 0, must be > 0"},
      {"zero-chain", [](ObjectiveSpec& s) { s.width = -1.0; }, "width = -1, must be > 0"},
      {"zero-chain", [](ObjectiveSpec& s) { s.reveal_probability = 0.0; },
       "reveal-probability = 0, must be in (0, 1]"},
      {"zero-chain", [](ObjectiveSpec& s) { s.reveal_probability = 1.5; },
       "reveal-probability = 1.5, must be in (0, 1]"},
      {"double-well", [&](ObjectiveSpec& s) { s.x0 = nan; }, "x0 = nan, must be finite"},
      {"cosh-well", [](ObjectiveSpec& s) { s.x0 = 800.0; },
       "x0 = 800, must satisfy |growth * x0| <= 700 for cosh-well (cosh overflows a double "
       "near 710)"},
      {"phase-retrieval",
       [](ObjectiveSpec& s) {
         s.dim = 100;
         s.samples = 50;
       },
       "samples = 50, must be >= dim (100)"},
      {"phase-retrieval", [](ObjectiveSpec& s) { s.dim = 2001; },
       "dim = 2001, must be <= 2000 for phase-retrieval (its certificate eigendecomposes the d "
       "x d matrix Sigma)"},
      {"phase-retrieval",
       [](ObjectiveSpec& s) {
         s.dim = 2000;
         s.samples = 10001;
       },
       "samples = 10001, must be <= 2e7 / dim (10000) for phase-retrieval (the d x n data is "
       "stored)"},
      {"phase-retrieval", [](ObjectiveSpec& s) { s.batch_size = 0; },
       "batch-size = 0, must be in [1, samples (80)]"},
      {"phase-retrieval", [](ObjectiveSpec& s) { s.batch_size = 81; },
       "batch-size = 81, must be in [1, samples (80)]"},
      {"double-well", [](ObjectiveSpec& s) { s.noise.model = "foo"; },
       "noise = 'foo' is not one of: none, ball, truncated-gaussian, gaussian, student-t"},
      {"double-well",
       [](ObjectiveSpec& s) {
         s.noise.model = "ball";
         s.noise.sigma = -1.0;
       },
       "sigma = -1, must be > 0"},
      {"double-well",
       [](ObjectiveSpec& s) {
         s.noise.model = "student-t";
         s.noise.dof = 2.0;
       },
       "dof = 2, must be > 2"},
  };
  for (const Case& c : cases) {
    ObjectiveSpec spec = spec_of(c.family);
    c.edit(spec);
    const std::string message = error_of(spec);
    EXPECT_EQ(message, c.message);
    EXPECT_EQ(message.find('\n'), std::string::npos);
    // The factories refuse the spec with the same message.
    try {
      make_oracle(spec);
      ADD_FAILURE() << "make_oracle accepted: " << c.message;
    } catch (const std::invalid_argument& error) {
      EXPECT_EQ(std::string(error.what()), c.message);
    }
    EXPECT_THROW(make_function(spec), std::invalid_argument) << c.message;
  }
}

// A family ignores parameters it does not list: they are not validated.
TEST(Catalog, IgnoredParametersAreNotChecked) {
  ObjectiveSpec spec = spec_of("double-well");
  spec.ripple = -5.0;
  spec.growth = 0.0;
  spec.samples = 1;
  spec.batch_size = 0;
  EXPECT_EQ(error_of(spec), "valid");
  spec = spec_of("phase-retrieval");
  spec.condition = 0.1;
  EXPECT_EQ(error_of(spec), "valid");
}

TEST(Catalog, ResolveFillsFamilyDefaults) {
  const ObjectiveSpec quartic = resolve(spec_of("quartic"));
  EXPECT_EQ(quartic.x0, 1.0);
  EXPECT_FALSE(quartic.samples.has_value());
  ObjectiveSpec cosh = spec_of("cosh-well");
  cosh.growth = 2.0;
  EXPECT_EQ(resolve(cosh).x0, 2.0);
  const ObjectiveSpec phase = resolve(spec_of("phase-retrieval"));
  EXPECT_EQ(phase.samples, 80);
  EXPECT_EQ(phase.x0, 1.0 / std::sqrt(10.0));
  // Given values are kept.
  ObjectiveSpec given = spec_of("phase-retrieval");
  given.samples = 33;
  given.x0 = -2.0;
  EXPECT_EQ(resolve(given).samples, 33);
  EXPECT_EQ(resolve(given).x0, -2.0);
  // Unknown families are returned as they are (is_valid reports them).
  EXPECT_FALSE(resolve(spec_of("foo")).x0.has_value());
}

TEST(Catalog, EntriesDescribeTheirObjects) {
  std::vector<std::string> names;
  for (const FamilyInfo& info : objective_families()) {
    names.emplace_back(info.name);
    EXPECT_EQ(find_family(info.name), &info);
    EXPECT_FALSE(info.formula.empty());
    EXPECT_FALSE(info.certificate.empty());
    EXPECT_FALSE(info.initial_point.empty());
    // phase-retrieval samples a minibatch; zero-chain's oracle hides a coordinate.
    EXPECT_EQ(info.additive_noise_only,
              info.name != "phase-retrieval" && info.name != "zero-chain");
    // describe() shows every parameter the entry lists, as key=value.
    ObjectiveSpec spec = spec_of(std::string(info.name));
    const std::string description = make_function(spec)->describe();
    EXPECT_EQ(description.rfind(std::string(info.name) + "(", 0), 0u) << description;
    EXPECT_EQ(description.find('\n'), std::string::npos);
    for (const std::string_view key : info.parameters) {
      EXPECT_NE(description.find(std::string(key) + "="), std::string::npos)
          << description << " lacks " << key;
    }
  }
  EXPECT_EQ(names, family_names());
  EXPECT_EQ(find_family("foo"), nullptr);

  std::vector<std::string> models;
  for (const NoiseInfo& info : noise_models()) {
    models.emplace_back(info.name);
    EXPECT_EQ(find_noise_model(info.name), &info);
    EXPECT_TRUE(info.symmetric_unimodal);
  }
  EXPECT_EQ(models, (std::vector<std::string>{"none", "ball", "truncated-gaussian", "gaussian",
                                              "student-t"}));
  EXPECT_EQ(find_noise_model("foo"), nullptr);
}

// For d = 1 the only weight is 1, so condition has no effect on f or on the
// certificate.
TEST(Catalog, ConditionIsInertInOneDimension) {
  for (const std::string family : {"double-well", "quartic", "cosh-well", "rippled-quadratic"}) {
    ObjectiveSpec one = spec_of(family), other = spec_of(family);
    one.dim = other.dim = 1;
    other.condition = 100.0;
    const auto f = make_function(one), g = make_function(other);
    EXPECT_EQ(f->l0(), g->l0()) << family;
    EXPECT_EQ(f->l1(), g->l1()) << family;
    EXPECT_EQ(f->value(Vector::Constant(1, 0.7)), g->value(Vector::Constant(1, 0.7))) << family;
  }
}

}  // namespace
}  // namespace distclip::test
