#include "theory.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "distclip/objectives/catalog.hpp"

namespace distclip::app {

namespace {

// The number of a constant, or a line saying why there is none.
std::optional<double> known(const Constant& constant, std::string_view name, std::string* why) {
  if (constant.is_known()) return constant.value();
  *why = fmt::format("the objective's {} is {}", name, constant.to_string());
  return std::nullopt;
}

}  // namespace

std::optional<TheoryInputs> theory_inputs(const RunConfig& config,
                                          const OracleConstants& constants, double f_x0,
                                          std::string* why) {
  if (!config.options.target) {
    *why = "target is not set: Theorem 1 needs eps";
    return std::nullopt;
  }
  const auto l0 = known(constants.l0, "L0", why);
  const auto l1 = known(constants.l1, "L1", why);
  const auto sigma = known(constants.sigma, "sigma (an almost-sure noise bound)", why);
  const auto kappa = known(constants.kappa, "kappa", why);
  const auto f_low = known(constants.f_low, "f_low", why);
  if (!l0 || !l1 || !sigma || !kappa || !f_low) return std::nullopt;
  TheoryInputs inputs;
  inputs.l0 = *l0;
  inputs.l1 = *l1;
  inputs.sigma = *sigma;
  inputs.kappa = *kappa;
  inputs.delta = f_x0 - *f_low;
  inputs.eps = *config.options.target;
  inputs.num_workers = config.options.num_workers;
  inputs.c = config.theory_c;
  inputs.t_constant = config.theory_t_constant;
  return inputs;
}

void apply_theorem1(RunConfig& config, bool steps_given) {
  if (config.objective.family == kLanguageModelFamily) {
    throw ConfigError(
        "theory-params = 1 needs certified constants; objective = lstm has none (estimate "
        "them with distclip smoothness and pass them to distclip theory)");
  }
  const auto oracle = make_oracle(config.objective, config.options.num_workers);
  Vector x0(oracle->dimension());
  oracle->initial_point(x0);
  std::string why;
  const auto inputs = theory_inputs(config, oracle->constants(), oracle->value(x0), &why);
  if (!inputs) throw ConfigError("theory-params = 1: " + why);
  std::string error;
  if (!inputs->IsValid(&error)) throw ConfigError("theory-params = 1: " + error);
  const TheoryParameters theorem = theorem1(*inputs);
  config.options.sync_interval = static_cast<int>(std::min<std::int64_t>(
      theorem.sync_interval, std::numeric_limits<int>::max()));
  config.options.clip_threshold = theorem.clip_threshold;
  config.options.step_size = theorem.step_size;
  if (!steps_given) config.options.max_steps = std::max<std::int64_t>(1, theorem.steps);
}

nlohmann::ordered_json theory_to_json(const TheoryInputs& in, const TheoryParameters& p,
                                      std::optional<std::int64_t> measured_steps) {
  using Json = nlohmann::ordered_json;
  Json conditions = Json::array();
  for (const TheoryCondition& c : p.conditions) {
    conditions.push_back({{"condition", c.name},
                          {"source", c.source},
                          {"lhs", c.lhs},
                          {"rhs", std::isinf(c.rhs) ? Json("inf") : Json(c.rhs)},
                          {"holds", c.holds}});
  }
  Json json;
  json["statement"] =
      "Theorem 1 of Liu et al. (ICLR version with kappa; NeurIPS 2022 is kappa = 0)";
  json["inputs"] = {{"L0", in.l0},     {"L1", in.l1},       {"sigma", in.sigma},
                    {"kappa", in.kappa}, {"Delta", in.delta}, {"eps", in.eps},
                    {"N", in.num_workers}, {"c", in.c},     {"t_constant", in.t_constant}};
  json["A"] = p.a;
  json["B"] = p.b;
  json["sync_interval"] = p.sync_interval;
  json["clip_threshold"] = p.clip_threshold;
  json["step_size"] = p.step_size;
  json["t_scale"] = p.t_scale;
  json["steps"] = p.steps;
  json["steps_kind"] = "scaling only: t_constant * t_scale, the constant is not derived";
  json["rounds"] = p.rounds;
  json["conditions"] = std::move(conditions);
  json["all_conditions_hold"] = p.all_hold();
  json["tightness_ratio"] =
      measured_steps ? Json(tightness_ratio(*measured_steps, p)) : Json(nullptr);
  return json;
}

void print_theory(std::ostream& out, const TheoryInputs& in, const TheoryParameters& p,
                  const TheorySources& from) {
  fmt::print(out, "Theorem 1 (Liu et al.; ICLR version with kappa, NeurIPS 2022 is kappa = 0)\n");
  fmt::print(out, "  L0 = {:.6g} ({}), L1 = {:.6g} ({})\n", in.l0, from.l0, in.l1, from.l1);
  fmt::print(out, "  sigma = {:.6g} ({}), kappa = {:.6g} ({})\n", in.sigma, from.sigma, in.kappa,
             from.kappa);
  fmt::print(out, "  Delta = {:.6g} ({}), eps = {:.6g}, N = {}, c = {:.6g}\n", in.delta,
             from.delta, in.eps, in.num_workers, in.c);
  fmt::print(out, "  A = 1 + e^c - (e^c - 1)/c = {:.6g}, B = (e^c - 1)/c = {:.6g}\n", p.a, p.b);
  fmt::print(out, "parameters\n");
  struct Row {
    std::string_view name;
    std::string rule;
    std::string value;
  };
  const Row rows[] = {
      {"I", "floor(1 / (2 N eps))", fmt::format("{}", p.sync_interval)},
      {"gamma", "N eps / (28 (sigma + kappa)) min(eps/(A L0), 1/(B L1))",
       fmt::format("{:.6g}", p.clip_threshold)},
      {"eta", "gamma / (5 (sigma + kappa))", fmt::format("{:.6g}", p.step_size)},
      {"T", fmt::format("{:.6g} x Delta A L0 (sigma + kappa)^2 / (N eps^4)", in.t_constant),
       fmt::format("{} (scaling only: the constant is not derived, docs/theory.md)", p.steps)},
      {"rounds", "ceil(T / I)", fmt::format("{}", p.rounds)},
  };
  std::size_t width = 0;
  for (const Row& row : rows) width = std::max(width, row.rule.size());
  for (const Row& row : rows) {
    fmt::print(out, "  {:<6} = {:<{}} = {}\n", row.name, row.rule, width, row.value);
  }
  fmt::print(out, "conditions\n");
  for (const TheoryCondition& c : p.conditions) {
    fmt::print(out, "  [{}] {:<42} {:.6g} <= {:.6g}  ({})\n", c.holds ? "pass" : "FAIL", c.name,
               c.lhs, c.rhs, c.source);
  }
  fmt::print(out, "{}\n", p.all_hold() ? "every condition holds"
                                       : "some conditions fail: the theorem does not apply as "
                                         "stated");
}

Action add_theory_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "theory",
      "Theorem 1's parameters (I, gamma, eta, T) and every condition of the theorem and its "
      "lemmas, pass or fail with the numbers, for an objective's certified constants with eps = "
      "--target and N = --workers; --l0, --l1, --noise-bound, --kappa, --delta override them "
      "(docs/theory.md).");
  struct State {
    std::optional<double> l0, l1, noise_bound, kappa, delta;
    bool json = false;
  };
  auto state = std::make_shared<State>();
  const RunParameterOptions run_parameters = add_run_parameters(command);
  const auto constant = [&](std::string name, std::optional<double>& into, std::string help) {
    command->add_option(name, into, help)->group("Constants (override the objective's)");
  };
  constant("--l0", state->l0, "L0 of Assumption 1");
  constant("--l1", state->l1, "L1 of Assumption 1");
  constant("--noise-bound", state->noise_bound,
           "sigma, the almost-sure bound ||g - grad f_i(x)|| <= sigma");
  constant("--kappa", state->kappa, "kappa, the heterogeneity bound");
  constant("--delta", state->delta, "Delta >= f(x_0) - f_*");
  command->add_flag("--json", state->json, "print the result as JSON (as summary.json keeps it)");
  return [state, run_parameters]() {
    const RunConfig config = run_parameters.resolve_config();
    if (config.objective.family == kLanguageModelFamily &&
        !(state->l0 && state->l1 && state->noise_bound && state->delta)) {
      throw ConfigError(
          "objective = lstm has no certified constants: give --l0, --l1, --noise-bound and "
          "--delta (distclip smoothness estimates L0 and L1)");
    }
    OracleConstants constants;
    double f_x0 = 0.0;
    TheorySources from;
    if (config.objective.family != kLanguageModelFamily) {
      const auto oracle = make_oracle(config.objective, config.options.num_workers);
      constants = oracle->constants();
      Vector x0(oracle->dimension());
      oracle->initial_point(x0);
      f_x0 = oracle->value(x0);
      const std::string certified = "certified by " + config.objective.family;
      from = {certified, certified, "noise " + config.objective.noise.model,
              config.objective.heterogeneity > 0.0 ? "constructed by heterogeneity"
                                                   : "homogeneous",
              "f(x_0) - f_low"};
    }
    const auto override_with = [](const std::optional<double>& given, Constant& constant,
                                  std::string& source) {
      if (!given) return;
      constant = Constant::known(*given);
      source = "given";
    };
    override_with(state->l0, constants.l0, from.l0);
    override_with(state->l1, constants.l1, from.l1);
    override_with(state->noise_bound, constants.sigma, from.sigma);
    override_with(state->kappa, constants.kappa, from.kappa);
    if (!constants.kappa.is_known()) constants.kappa = Constant::known(0.0);
    if (state->delta) {
      constants.f_low = Constant::known(f_x0 - *state->delta);
      from.delta = "given";
    }
    std::string why;
    const auto inputs = theory_inputs(config, constants, f_x0, &why);
    if (!inputs) throw ConfigError(why);
    std::string error;
    if (!inputs->IsValid(&error)) throw ConfigError(error);
    const TheoryParameters parameters = theorem1(*inputs);
    if (state->json) {
      std::cout << theory_to_json(*inputs, parameters, std::nullopt).dump(2) << '\n';
    } else {
      print_theory(std::cout, *inputs, parameters, from);
    }
    return 0;
  };
}

}  // namespace distclip::app
