#include "config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <ostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <oneapi/tbb/info.h>

#include "distclip/core/communicator.hpp"
#include "distclip/core/network.hpp"
#include "distclip/objectives/catalog.hpp"
#include "theory.hpp"

namespace distclip::app {

namespace {

// The message on one line: control characters as escapes.
std::string one_line(std::string_view message) {
  std::string line;
  line.reserve(message.size());
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if ((byte < 0x20 && c != '\t') || byte == 0x7F) {
      line += fmt::format("\\x{:02X}", byte);
    } else {
      line += c;
    }
  }
  return line;
}

std::int64_t as_integer(const Value& v) { return std::get<std::int64_t>(v); }
double as_number(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
const std::string& as_text(const Value& v) { return std::get<std::string>(v); }

// An integer parameter held in an int: values beyond int's range are
// rejected here, the rest by the library's range checks.
int to_int(std::string_view key, const Value& v) {
  const std::int64_t value = as_integer(v);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    throw ConfigError(fmt::format("{} = {}, must be an integer in [1, {}]", key, value,
                                  std::numeric_limits<int>::max()));
  }
  return static_cast<int>(value);
}

// A 0-or-1 switch.
bool as_flag(std::string_view key, const Value& v) {
  if (as_integer(v) != 0 && as_integer(v) != 1) {
    throw ConfigError(fmt::format("{} = {}, must be 0 or 1", key, as_integer(v)));
  }
  return as_integer(v) == 1;
}

bool always(const RunConfig&) { return true; }
bool uses_theory(const RunConfig& c) { return c.theory_params; }
const Algorithm& algorithm_of(const RunConfig& c) {
  const Algorithm* algorithm = find_algorithm(c.algorithm);
  return algorithm != nullptr ? *algorithm : kCelgc;
}
bool family_reads(const RunConfig& c, std::string_view key) {
  const FamilyInfo* family = find_family(c.objective.family);
  return family != nullptr && std::ranges::find(family->parameters, key) != family->parameters.end();
}
bool is_language_model(const RunConfig& c) { return c.objective.family == kLanguageModelFamily; }
bool noise_reads(const RunConfig& c, std::string_view key) {
  const NoiseInfo* noise = find_noise_model(c.objective.noise.model);
  return noise != nullptr && std::ranges::find(noise->parameters, key) != noise->parameters.end();
}

// Names joined by ", " for "one of: ..." messages.
template <class Range, class Name>
std::string join_names(const Range& range, Name name) {
  std::string out;
  for (const auto& item : range) {
    if (!out.empty()) out += ", ";
    out += name(item);
  }
  return out;
}

std::string algorithm_names() {
  return join_names(algorithms(), [](const Algorithm& a) { return std::string(a.name); });
}

ClipOption parse_clip_option(const std::string& text) {
  for (auto option : {ClipOption::kLocal, ClipOption::kGlobalAverage, ClipOption::kMax}) {
    if (to_string(option) == text) return option;
  }
  throw ConfigError(
      fmt::format("clip-option = '{}' is not one of: local, global-average, max", text));
}

Backend parse_backend(const std::string& text) {
  for (auto backend : {Backend::kAuto, Backend::kThreads, Backend::kMpi}) {
    if (to_string(backend) == text) return backend;
  }
  throw ConfigError(fmt::format("backend = '{}' is not one of: auto, threads, mpi", text));
}

FailureInjection parse_failure(const std::string& text) {
  const auto fail = [&] {
    return ConfigError(fmt::format(
        "inject-failure = '{}', must be RANK:K or RANK:K:kill, with RANK >= 0 and K >= 1", text));
  };
  FailureInjection failure;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [after_rank, ec1] = std::from_chars(first, last, failure.rank);
  if (ec1 != std::errc() || after_rank == last || *after_rank != ':') throw fail();
  auto [after_k, ec2] = std::from_chars(after_rank + 1, last, failure.collective);
  if (ec2 != std::errc() || failure.rank < 0 || failure.collective < 1) throw fail();
  const std::string_view rest(after_k, static_cast<std::size_t>(last - after_k));
  if (rest == ":kill") {
    failure.mode = FailureInjection::Mode::kKill;
  } else if (!rest.empty()) {
    throw fail();
  }
  return failure;
}

StopCriterion parse_criterion(const std::string& text) {
  if (const auto criterion = parse_stop_criterion(text)) return *criterion;
  throw ConfigError(fmt::format("criterion = '{}' is not one of: ergodic, min, last", text));
}

// The schema. Order is the order of --help and of the resolved config.
const std::array kParameters = {
    // Objective.
    Parameter{"objective", "Objective", ValueType::kText,
              "one of: double-well, quartic, cosh-well, phase-retrieval, rippled-quadratic, "
              "zero-chain, lstm",
              "objective: a synthetic family (formulas and certified constants: distclip list) "
              "or lstm, a language model on a text corpus (docs/lstm.md)",
              "double-well",
              [](RunConfig& c, const Value& v) { c.objective.family = as_text(v); },
              [](const RunConfig& c) -> Value { return c.objective.family; }, always},
    Parameter{"dim", "Objective", ValueType::kInteger, "an integer >= 1",
              "d, the number of coordinates", "100",
              [](RunConfig& c, const Value& v) { c.objective.dim = as_integer(v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.objective.dim}; },
              [](const RunConfig& c) { return !is_language_model(c); }},
    Parameter{"scale", "Objective", ValueType::kNumber, "a number > 0",
              "c, a factor on f (zero-chain: ||grad f|| > c until the chain is complete)", "1",
              [](RunConfig& c, const Value& v) { c.objective.scale = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.scale; },
              [](const RunConfig& c) { return family_reads(c, "scale"); }},
    Parameter{"condition", "Objective", ValueType::kNumber, "a number >= 1",
              "ratio of the largest to the smallest coordinate weight", "1",
              [](RunConfig& c, const Value& v) { c.objective.condition = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.condition; },
              [](const RunConfig& c) { return family_reads(c, "condition"); }},
    Parameter{"x0", "Objective", ValueType::kNumber, "a number",
              "every coordinate of the initial point x_0", "the family's (distclip list)",
              [](RunConfig& c, const Value& v) { c.objective.x0 = as_number(v); },
              [](const RunConfig& c) -> Value {
                return c.objective.x0 ? Value(*c.objective.x0) : Value();
              },
              [](const RunConfig& c) { return family_reads(c, "x0"); }},
    Parameter{"ripple", "Objective", ValueType::kNumber, "a number >= 0",
              "a, the cosine amplitude; nonconvex when a > 1", "2",
              [](RunConfig& c, const Value& v) { c.objective.ripple = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.ripple; },
              [](const RunConfig& c) { return family_reads(c, "ripple"); }},
    Parameter{"growth", "Objective", ValueType::kNumber, "a number > 0",
              "b, the exponential rate of cosh-well", "1",
              [](RunConfig& c, const Value& v) { c.objective.growth = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.growth; },
              [](const RunConfig& c) { return family_reads(c, "growth"); }},
    Parameter{"width", "Objective", ValueType::kNumber, "a number > 0",
              "lambda, the length of each link of zero-chain (L0 = 152 scale / width)", "1",
              [](RunConfig& c, const Value& v) { c.objective.width = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.width; },
              [](const RunConfig& c) { return family_reads(c, "width"); }},
    Parameter{"reveal-probability", "Objective", ValueType::kNumber, "a number in (0, 1]",
              "p, how often zero-chain's stochastic gradient shows the chain's next coordinate",
              "1",
              [](RunConfig& c, const Value& v) { c.objective.reveal_probability = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.reveal_probability; },
              [](const RunConfig& c) { return family_reads(c, "reveal-probability"); }},
    Parameter{"samples", "Objective", ValueType::kInteger, "an integer >= dim",
              "n, the data points of phase-retrieval", "8 * dim",
              [](RunConfig& c, const Value& v) { c.objective.samples = as_integer(v); },
              [](const RunConfig& c) -> Value {
                return c.objective.samples ? Value(std::int64_t{*c.objective.samples}) : Value();
              },
              [](const RunConfig& c) { return family_reads(c, "samples"); }},
    Parameter{"batch-size", "Objective", ValueType::kInteger,
              "an integer in [1, samples] (phase-retrieval), [1, 65536] (lstm)",
              "B, the minibatch of one stochastic gradient: samples (phase-retrieval) or windows "
              "(lstm)",
              "1",
              [](RunConfig& c, const Value& v) { c.objective.batch_size = as_integer(v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.objective.batch_size}; },
              [](const RunConfig& c) {
                return family_reads(c, "batch-size") || is_language_model(c);
              }},
    Parameter{"heterogeneity", "Objective", ValueType::kNumber, "a number >= 0",
              "kappa of a synthetic objective: worker i minimises f + <b_i, x>, the tilts b_i "
              "summing to 0 with mean norm kappa (needs workers >= 2; docs/objectives.md)",
              "0",
              [](RunConfig& c, const Value& v) { c.objective.heterogeneity = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.heterogeneity; },
              [](const RunConfig& c) { return !is_language_model(c); }},
    Parameter{"data-seed", "Objective", ValueType::kInteger, "an integer >= 0",
              "seed of generated data (phase-retrieval, the heterogeneity tilts) or of the "
              "evaluation windows and the initial point (lstm), fixed across run seeds",
              "1",
              [](RunConfig& c, const Value& v) {
                if (as_integer(v) < 0) {
                  throw ConfigError(fmt::format("data-seed = {}, must be >= 0", as_integer(v)));
                }
                c.objective.data_seed = static_cast<std::uint64_t>(as_integer(v));
              },
              [](const RunConfig& c) -> Value {
                return static_cast<std::int64_t>(c.objective.data_seed);
              },
              [](const RunConfig& c) {
                return family_reads(c, "data-seed") || is_language_model(c) ||
                       c.objective.heterogeneity > 0.0;
              }},
    // The language model (objective = lstm; docs/lstm.md).
    Parameter{"level", "Language model", ValueType::kText, "one of: word, char",
              "tokens: whitespace-separated words with <eos> at line ends, or characters",
              "char",
              [](RunConfig& c, const Value& v) { c.objective.language_model.level = as_text(v); },
              [](const RunConfig& c) -> Value { return c.objective.language_model.level; },
              is_language_model},
    Parameter{"train-file", "Language model", ValueType::kText, "a UTF-8 text file",
              "the training text, absolute or relative to the data folder (--data)", "none",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.train_file = as_text(v);
              },
              [](const RunConfig& c) -> Value { return c.objective.language_model.train_file; },
              is_language_model},
    Parameter{"heldout-file", "Language model", ValueType::kText, "a UTF-8 text file",
              "the held-out text; unset: the last heldout-fraction of train-file's lines",
              "unset",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.heldout_file = as_text(v);
              },
              [](const RunConfig& c) -> Value {
                const std::string& file = c.objective.language_model.heldout_file;
                return file.empty() ? Value() : Value(file);
              },
              is_language_model},
    Parameter{"heldout-fraction", "Language model", ValueType::kNumber, "a number in (0, 1)",
              "the share of train-file's lines held out when heldout-file is unset", "0.1",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.heldout_fraction = as_number(v);
              },
              [](const RunConfig& c) -> Value {
                return c.objective.language_model.heldout_fraction;
              },
              [](const RunConfig& c) {
                return is_language_model(c) && c.objective.language_model.heldout_file.empty();
              }},
    Parameter{"max-vocabulary", "Language model", ValueType::kInteger, "an integer >= 2",
              "the largest training vocabulary accepted", "100000",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.max_vocabulary = as_integer(v);
              },
              [](const RunConfig& c) -> Value { return c.objective.language_model.max_vocabulary; },
              is_language_model},
    Parameter{"embedding", "Language model", ValueType::kInteger, "an integer in [1, 65536]",
              "E, the embedding size", "64",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.embedding = as_integer(v);
              },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.embedding};
              },
              is_language_model},
    Parameter{"hidden", "Language model", ValueType::kInteger, "an integer in [1, 65536]",
              "H, the LSTM's hidden units per layer", "256",
              [](RunConfig& c, const Value& v) { c.objective.language_model.hidden = as_integer(v); },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.hidden};
              },
              is_language_model},
    Parameter{"layers", "Language model", ValueType::kInteger, "an integer in [1, 64]",
              "L, the stacked LSTM layers", "1",
              [](RunConfig& c, const Value& v) { c.objective.language_model.layers = as_integer(v); },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.layers};
              },
              is_language_model},
    Parameter{"tie-weights", "Language model", ValueType::kInteger, "0 or 1",
              "1: the decoder reuses the embedding matrix (needs embedding = hidden)", "0",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.tied = as_flag("tie-weights", v);
              },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.tied ? 1 : 0};
              },
              is_language_model},
    Parameter{"window", "Language model", ValueType::kInteger, "an integer in [1, 65536]",
              "S, the tokens predicted per window (backpropagation through S steps)", "35",
              [](RunConfig& c, const Value& v) { c.objective.language_model.window = as_integer(v); },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.window};
              },
              is_language_model},
    Parameter{"eval-windows", "Language model", ValueType::kInteger, "an integer in [1, 65536]",
              "windows of the fixed sets on which f, grad f and the held-out loss are measured",
              "64",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.eval_windows = as_integer(v);
              },
              [](const RunConfig& c) -> Value {
                return std::int64_t{c.objective.language_model.eval_windows};
              },
              is_language_model},
    Parameter{"sharding", "Language model", ValueType::kText, "one of: homogeneous, heterogeneous",
              "homogeneous: every worker samples the whole training text; heterogeneous: worker i "
              "samples its own contiguous i-th N-th",
              "homogeneous",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.sharding = as_text(v);
              },
              [](const RunConfig& c) -> Value { return c.objective.language_model.sharding; },
              is_language_model},
    // Noise.
    Parameter{"noise", "Noise", ValueType::kText,
              "one of: none, ball, truncated-gaussian, gaussian, student-t",
              "additive gradient noise model (distclip list)", "none",
              [](RunConfig& c, const Value& v) { c.objective.noise.model = as_text(v); },
              [](const RunConfig& c) -> Value { return c.objective.noise.model; }, always},
    Parameter{"sigma", "Noise", ValueType::kNumber, "a number > 0",
              "noise level on the scale of ||noise||: a sure bound for bounded models, "
              "sqrt(E ||noise||^2) for the others",
              "1", [](RunConfig& c, const Value& v) { c.objective.noise.sigma = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.noise.sigma; },
              [](const RunConfig& c) { return noise_reads(c, "sigma"); }},
    Parameter{"dof", "Noise", ValueType::kNumber, "a number > 2",
              "degrees of freedom of student-t noise", "3",
              [](RunConfig& c, const Value& v) { c.objective.noise.dof = as_number(v); },
              [](const RunConfig& c) -> Value { return c.objective.noise.dof; },
              [](const RunConfig& c) { return noise_reads(c, "dof"); }},
    // Algorithm.
    Parameter{"algorithm", "Algorithm", ValueType::kText,
              "one of: celgc, naive-parallel-clip, local-sgd, minibatch-sgd, clipped-sgd, sgd, "
              "normalized-sgd",
              "the algorithm; equations: distclip list and docs/algorithms.md", "celgc",
              [](RunConfig& c, const Value& v) {
                if (find_algorithm(as_text(v)) == nullptr) {
                  throw ConfigError(fmt::format("algorithm = '{}' is not one of: {}", as_text(v),
                                                algorithm_names()));
                }
                c.algorithm = as_text(v);
              },
              [](const RunConfig& c) -> Value { return c.algorithm; }, always},
    Parameter{"workers", "Algorithm", ValueType::kInteger, "an integer >= 1 (1 for single-machine methods)",
              "N, the number of workers", "1",
              [](RunConfig& c, const Value& v) { c.options.num_workers = to_int("workers", v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.options.num_workers}; },
              always},
    Parameter{"sync-interval", "Algorithm", ValueType::kInteger, "an integer >= 1",
              "I: models are averaged before step t whenever t % I == 0", "1",
              [](RunConfig& c, const Value& v) {
                c.options.sync_interval = to_int("sync-interval", v);
              },
              [](const RunConfig& c) -> Value { return std::int64_t{c.options.sync_interval}; },
              [](const RunConfig& c) { return algorithm_of(c).uses_sync_interval(); }},
    Parameter{"step-size", "Algorithm", ValueType::kNumber, "a number > 0", "eta, the step size",
              "0.01", [](RunConfig& c, const Value& v) { c.options.step_size = as_number(v); },
              [](const RunConfig& c) -> Value { return c.options.step_size; }, always},
    Parameter{"clip-threshold", "Algorithm", ValueType::kNumber, "a number > 0",
              "gamma: a clipped step min(eta, gamma / ||g||) g moves at most gamma", "1",
              [](RunConfig& c, const Value& v) { c.options.clip_threshold = as_number(v); },
              [](const RunConfig& c) -> Value { return c.options.clip_threshold; },
              [](const RunConfig& c) { return algorithm_of(c).uses_clip_threshold(); }},
    Parameter{"clip-option", "Algorithm", ValueType::kText, "one of: local, global-average, max",
              "CELGC's clipping norm: ||g_i|| (local), ||gbar|| of the round's first step "
              "(global-average) or their max",
              "local",
              [](RunConfig& c, const Value& v) { c.options.clip_option = parse_clip_option(as_text(v)); },
              [](const RunConfig& c) -> Value { return std::string(to_string(c.options.clip_option)); },
              [](const RunConfig& c) { return algorithm_of(c).uses_clip_option(); }},
    Parameter{"momentum", "Algorithm", ValueType::kNumber, "a number in [0, 1)",
              "beta of the momentum methods: m <- beta m + (1 - beta) g", "0.9",
              [](RunConfig& c, const Value& v) { c.options.momentum = as_number(v); },
              [](const RunConfig& c) -> Value { return c.options.momentum; },
              [](const RunConfig& c) { return algorithm_of(c).uses_momentum(); }},
    Parameter{"nu", "Algorithm", ValueType::kNumber, "a number in [0, 1]",
              "nu of the momentum methods: the step is nu clip(m) + (1 - nu) clip(g)", "0.7",
              [](RunConfig& c, const Value& v) { c.options.nu = as_number(v); },
              [](const RunConfig& c) -> Value { return c.options.nu; },
              [](const RunConfig& c) { return algorithm_of(c).uses_momentum(); }},
    // Run.
    Parameter{"steps", "Run", ValueType::kInteger, "an integer >= 1", "T, the step budget", "1000",
              [](RunConfig& c, const Value& v) { c.options.max_steps = as_integer(v); },
              [](const RunConfig& c) -> Value { return c.options.max_steps; }, always},
    Parameter{"seed", "Run", ValueType::kInteger, "an integer >= 0",
              "run seed: worker i draws only from the stream of (seed, i)", "1",
              [](RunConfig& c, const Value& v) {
                if (as_integer(v) < 0) {
                  throw ConfigError(fmt::format("seed = {}, must be >= 0", as_integer(v)));
                }
                c.options.seed = static_cast<std::uint64_t>(as_integer(v));
              },
              [](const RunConfig& c) -> Value { return static_cast<std::int64_t>(c.options.seed); },
              always},
    Parameter{"eval-every", "Run", ValueType::kInteger, "an integer >= 1",
              "measure the averaged iterate every this many steps, and at the end", "1",
              [](RunConfig& c, const Value& v) { c.options.eval_every = as_integer(v); },
              [](const RunConfig& c) -> Value { return c.options.eval_every; }, always},
    Parameter{"trace-every", "Run", ValueType::kInteger, "an integer >= 1",
              "trace.jsonl keeps the evaluations at multiples of this step, and the last; the "
              "stop rule and Theorem 1's ergodic average still see every evaluation",
              "1",
              [](RunConfig& c, const Value& v) {
                if (as_integer(v) < 1) {
                  throw ConfigError(fmt::format("trace-every = {}, must be an integer >= 1",
                                                as_integer(v)));
                }
                c.trace_every = as_integer(v);
              },
              [](const RunConfig& c) -> Value { return c.trace_every; }, always},
    Parameter{"target", "Run", ValueType::kNumber, "a number > 0",
              "eps: stop at the first evaluation where the criterion is <= eps",
              "none: run all steps",
              [](RunConfig& c, const Value& v) { c.options.target = as_number(v); },
              [](const RunConfig& c) -> Value {
                return c.options.target ? Value(*c.options.target) : Value();
              },
              always},
    Parameter{"criterion", "Run", ValueType::kText, "one of: ergodic, min, last",
              "what must be <= eps: (1/t) sum_s ||grad f(xbar_s)|| (Theorem 1), its min, or "
              "the last value",
              "ergodic",
              [](RunConfig& c, const Value& v) { c.options.criterion = parse_criterion(as_text(v)); },
              [](const RunConfig& c) -> Value { return std::string(to_string(c.options.criterion)); },
              [](const RunConfig& c) { return c.options.target.has_value(); }},
    Parameter{"check-invariants", "Run", ValueType::kInteger, "0 or 1",
              "1: check Lemmas 1 and 3 at every step (one more full gradient per step) and stop "
              "at the first violation (docs/theory.md)",
              "0",
              [](RunConfig& c, const Value& v) { c.check_invariants = as_flag("check-invariants", v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.check_invariants ? 1 : 0}; },
              always},
    Parameter{"theory-params", "Run", ValueType::kInteger, "0 or 1",
              "1: Theorem 1's I, gamma and eta (and its T as steps, unless steps is set) from "
              "the objective's certified constants and eps = target (distclip theory)",
              "0",
              [](RunConfig& c, const Value& v) { c.theory_params = as_flag("theory-params", v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.theory_params ? 1 : 0}; },
              always},
    Parameter{"theory-c", "Run", ValueType::kNumber, "a number in (0, 700]",
              "c of the first-order smoothness form: A = 1 + e^c - (e^c - 1)/c, B = (e^c - 1)/c",
              "1",
              [](RunConfig& c, const Value& v) {
                const double value = as_number(v);
                if (!(value > 0.0 && value <= 700.0)) {
                  throw ConfigError(fmt::format("theory-c = {}, must be in (0, 700]", value));
                }
                c.theory_c = value;
              },
              [](const RunConfig& c) -> Value { return c.theory_c; }, uses_theory},
    Parameter{"theory-t-constant", "Run", ValueType::kNumber, "a number > 0",
              "the constant of Theorem 1's T, which the published statements leave open",
              "1",
              [](RunConfig& c, const Value& v) {
                const double value = as_number(v);
                if (!(value > 0.0 && std::isfinite(value))) {
                  throw ConfigError(fmt::format("theory-t-constant = {}, must be > 0", value));
                }
                c.theory_t_constant = value;
              },
              [](const RunConfig& c) -> Value { return c.theory_t_constant; }, uses_theory},
    Parameter{"divergence-bound", "Run", ValueType::kNumber, "a number > 0",
              "a gradient norm above this (or any NaN or Inf) ends the run as diverged", "1e30",
              [](RunConfig& c, const Value& v) { c.options.divergence_bound = as_number(v); },
              [](const RunConfig& c) -> Value { return c.options.divergence_bound; }, always},
    // Network: turns the run's averages into bytes and projected time on a
    // cluster of N nodes; never changes the trajectory.
    Parameter{"network", "Network", ValueType::kText,
              "one of: infiniband-100g, ethernet-10g, ethernet-1g, wan, custom",
              "network preset for the projected time (docs/network-model.md); custom needs "
              "network-latency and network-bandwidth",
              "infiniband-100g",
              [](RunConfig& c, const Value& v) {
                if (as_text(v) != "custom" && find_network_preset(as_text(v)) == nullptr) {
                  throw ConfigError(fmt::format(
                      "network = '{}' is not one of: {}, custom", as_text(v),
                      join_names(network_presets(),
                                 [](const NetworkPreset& p) { return std::string(p.name); })));
                }
                c.network = as_text(v);
              },
              [](const RunConfig& c) -> Value { return c.network; }, always},
    Parameter{"network-latency", "Network", ValueType::kNumber, "a number >= 0",
              "alpha, seconds per message; overrides the preset's", "the preset's",
              [](RunConfig& c, const Value& v) { c.network_latency = as_number(v); },
              [](const RunConfig& c) -> Value {
                return c.network_latency.value_or(c.options.network.latency_s);
              },
              always},
    Parameter{"network-bandwidth", "Network", ValueType::kNumber, "a number > 0",
              "1/beta, bytes per second per link and direction; overrides the preset's",
              "the preset's",
              [](RunConfig& c, const Value& v) { c.network_bandwidth = as_number(v); },
              [](const RunConfig& c) -> Value {
                return c.network_bandwidth.value_or(c.options.network.bandwidth_bytes_per_s);
              },
              always},
    Parameter{"allreduce", "Network", ValueType::kText, "one of: ring, tree, parameter-server",
              "how the modelled cluster all-reduces a vector", "ring",
              [](RunConfig& c, const Value& v) {
                const auto algorithm = parse_allreduce_algorithm(as_text(v));
                if (!algorithm) {
                  throw ConfigError(fmt::format(
                      "allreduce = '{}' is not one of: ring, tree, parameter-server", as_text(v)));
                }
                c.options.network.algorithm = *algorithm;
              },
              [](const RunConfig& c) -> Value {
                return std::string(to_string(c.options.network.algorithm));
              },
              always},
    // Execution: how, not what; never changes a result (but see reduction).
    Parameter{"threads", "Execution", ValueType::kInteger, "an integer in [1, 1024]",
              "oneTBB threads running the workers; results are bitwise the same for any count",
              "all cores",
              [](RunConfig& c, const Value& v) { c.options.threads = to_int("threads", v); },
              [](const RunConfig& c) -> Value { return std::int64_t{c.options.threads}; },
              always},
    Parameter{"data", "Execution", ValueType::kText, "a folder",
              "where train-file and heldout-file are looked up (a relative path is relative to "
              "the working folder)",
              "$DISTCLIP_DATA, else the working folder",
              [](RunConfig& c, const Value& v) {
                c.objective.language_model.data_folder = as_text(v);
              },
              [](const RunConfig& c) -> Value {
                const std::string& folder = c.objective.language_model.data_folder;
                return folder.empty() ? Value() : Value(folder);
              },
              is_language_model},
    Parameter{"backend", "Execution", ValueType::kText, "one of: auto, threads, mpi",
              "where workers run: threads of this process, or MPI ranks (mpirun -np R); auto "
              "picks mpi under an MPI launcher",
              "auto",
              [](RunConfig& c, const Value& v) { c.execution.backend = parse_backend(as_text(v)); },
              [](const RunConfig& c) -> Value {
                return std::string(to_string(c.execution.backend));
              },
              always},
    Parameter{"reduction", "Execution", ValueType::kText, "one of: ordered, fast",
              "MPI averages: ordered is bitwise equal to threads for any rank count; fast uses "
              "MPI_Allreduce and is NOT bitwise reproducible",
              "ordered",
              [](RunConfig& c, const Value& v) {
                if (as_text(v) != "ordered" && as_text(v) != "fast") {
                  throw ConfigError(
                      fmt::format("reduction = '{}' is not one of: ordered, fast", as_text(v)));
                }
                c.execution.fast_reduction = as_text(v) == "fast";
              },
              [](const RunConfig& c) -> Value {
                return std::string(c.execution.fast_reduction ? "fast" : "ordered");
              },
              always},
    Parameter{"checkpoint-every", "Execution", ValueType::kInteger,
              "an integer >= 0, a multiple of eval-every",
              "distclip run saves a checkpoint every this many steps into <out>.checkpoint; "
              "--resume goes on from the latest to the same bits (0: none)",
              "0",
              [](RunConfig& c, const Value& v) {
                if (as_integer(v) < 0) {
                  throw ConfigError(fmt::format(
                      "checkpoint-every = {}, must be an integer >= 0 (0: no checkpoints)",
                      as_integer(v)));
                }
                c.execution.checkpoint_every = as_integer(v);
              },
              [](const RunConfig& c) -> Value { return c.execution.checkpoint_every; }, always},
    Parameter{"inject-failure", "Execution", ValueType::kText,
              "RANK:K or RANK:K:kill, with RANK >= 0 and K >= 1",
              "for testing: rank RANK throws (or kills itself) before its K-th average",
              "none",
              [](RunConfig& c, const Value& v) { c.execution.failure = parse_failure(as_text(v)); },
              [](const RunConfig& c) -> Value {
                if (!c.execution.failure) return Value();
                const FailureInjection& f = *c.execution.failure;
                return fmt::format("{}:{}{}", f.rank, f.collective,
                                   f.mode == FailureInjection::Mode::kKill ? ":kill" : "");
              },
              always},
};

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

ConfigError::ConfigError(std::string_view message) : std::runtime_error(one_line(message)) {}

RunConfig::RunConfig() {
  options.threads = tbb::info::default_concurrency();
  if (const char* data = std::getenv("DISTCLIP_DATA"); data != nullptr) {
    objective.language_model.data_folder = data;
  }
}

void report(std::ostream& err, const ConfigError& error) {
  if (launcher_rank() == 0 || dynamic_cast<const ConfigDisagreement*>(&error) != nullptr) {
    err << "error: " << error.what() << '\n' << std::flush;
  }
}

std::string_view to_string(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kThreads:
      return "threads";
    case Backend::kMpi:
      return "mpi";
  }
  return "auto";
}

std::span<const Parameter> parameters() { return kParameters; }

const Parameter* find_parameter(std::string_view key) {
  for (const Parameter& parameter : kParameters) {
    if (parameter.key == key) return &parameter;
  }
  return nullptr;
}

std::string value_to_text(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "none"; }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(const std::string& v) const { return v; }
  };
  return std::visit(Visitor{}, value);
}

Value parse_text(const Parameter& parameter, std::string_view text) {
  const auto fail = [&] {
    return ConfigError(fmt::format("{} = {}, must be {}", parameter.key, text, parameter.accepted));
  };
  const char* first = text.data();
  const char* last = text.data() + text.size();
  switch (parameter.type) {
    case ValueType::kInteger: {
      std::int64_t value = 0;
      const auto [end, ec] = std::from_chars(first, last, value);
      if (ec != std::errc() || end != last || text.empty()) throw fail();
      return value;
    }
    case ValueType::kNumber: {
      double value = 0.0;
      const auto [end, ec] = std::from_chars(first, last, value);
      if (ec != std::errc() || end != last || text.empty()) throw fail();
      return value;
    }
    case ValueType::kText:
      return std::string(text);
  }
  throw fail();
}

namespace {

ConfigError syntax_error(const toml::parse_error& e, std::string_view file) {
  const auto& where = e.source().begin;
  // toml++ quotes the offending character, which may be a newline:
  // ConfigError writes it "\n".
  return ConfigError(fmt::format("{}:{}:{}: {}", file, where.line, where.column, e.description()));
}

// Whether Debian's toml++ 3.3 reaches TOML_UNREACHABLE for character c:
// its table of non-ASCII whitespace (is_non_ascii_horizontal_whitespace in
// toml++/impl/unicode_autogenerated.h) falls through to an unreachable
// branch for U+00A1..U+0499, U+2C5E..U+3057 (but U+3000) and U+FB26..U+FEFE,
// and its parser asks that table about characters in strings, comments and
// values alike. The same arithmetic as the table's, so that the two agree.
bool unreachable_in_toml_whitespace_table(char32_t c) {
  if (c < 0xA0 || c > 0xFEFF) return false;
  const std::uint64_t block = (c - 0xA0) / 0x3FA;
  if (((std::uint64_t{1} << block) & 0x7FFFFFFFFFFFF75Eull) != 0) return false;
  if (c == 0xA0 || c == 0x3000 || c == 0xFEFF) return false;
  return block != 5 && block != 7;
}

// Rejects every character of unreachable_in_toml_whitespace_table, wherever
// it stands, before toml++ sees it (undefined behaviour in a release build;
// found by fuzz/). Any UTF-8-shaped sequence counts, overlong ones too, so
// that no decoding of toml++'s can see a character this one did not.
void check_toml_characters(std::string_view text, std::string_view file) {
  std::size_t line = 1;
  std::size_t column = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) != 0x80) ++column;  // a continuation byte is not a character
    if (byte == '\n') {
      ++line;
      column = 0;
      continue;
    }
    const int length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    if (length == 1 || i + length > text.size()) continue;
    char32_t c = byte & (0x7F >> length);
    bool well_formed = true;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      well_formed = well_formed && (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    if (well_formed && unreachable_in_toml_whitespace_table(c)) {
      throw ConfigError(fmt::format(
          "{}:{}:{}: character U+{:04X} is refused: Debian's toml++ 3.3 mishandles "
          "U+00A1..U+0499, U+2C5E..U+3057 and U+FB26..U+FEFE; in a \"...\" string write "
          "\\u{:04X}",
          file, line, column, static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c)));
    }
  }
}

// Rejects, before toml++ sees them, other invalid TOML that Debian's toml++
// 3.3 mishandles (found by fuzz/): a control character, and a table header
// whose key starts with anything but a key character ("[#", "[[[") break a
// precondition that its parser asserts in parse_key (an abort where
// assertions are on, undefined behaviour in a clang release build; fixed
// upstream in marzer/tomlplusplus#301).
void check_toml_text(std::string_view text, std::string_view file) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  int depth = 0;           // open '[' and '{' of values
  bool line_start = true;  // only whitespace since the last newline
  std::size_t line = 1;
  std::size_t column = 0;
  const auto at = [&](std::size_t i, std::string_view what) {
    return text.substr(i, what.size()) == what;
  };
  const auto fail = [&](const std::string& why) {
    return ConfigError(fmt::format("{}:{}:{}: {}", file, line, column, why));
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    ++column;
    if (byte == '\n') {
      ++line;
      column = 0;
      line_start = true;
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) in = In::kCode;
      continue;
    }
    if ((byte < 0x20 && byte != '\t' && byte != '\r') || byte == 0x7F) {
      throw fail(fmt::format("control character U+{:04X}, not allowed in TOML", byte));
    }
    if (i == 0 && at(i, "\xEF\xBB\xBF")) {  // a byte order mark: the text starts after it
      i += 2;
      column = 0;
      continue;
    }
    const bool was_line_start = line_start;
    if (byte != ' ' && byte != '\t' && byte != '\r') line_start = false;
    switch (in) {
      case In::kComment:
        continue;
      case In::kBasic:
        if (byte == '\\') ++i;
        if (byte == '"') in = In::kCode;
        continue;
      case In::kLiteral:
        if (byte == '\'') in = In::kCode;
        continue;
      case In::kMultiBasic:
        if (byte == '\\') ++i;
        if (at(i, "\"\"\"")) {
          in = In::kCode;
          i += 2;
        }
        continue;
      case In::kMultiLiteral:
        if (at(i, "'''")) {
          in = In::kCode;
          i += 2;
        }
        continue;
      case In::kCode:
        break;
    }
    if (byte == '#') {
      in = In::kComment;
    } else if (at(i, "\"\"\"")) {
      in = In::kMultiBasic;
      i += 2;
    } else if (byte == '"') {
      in = In::kBasic;
    } else if (at(i, "'''")) {
      in = In::kMultiLiteral;
      i += 2;
    } else if (byte == '\'') {
      in = In::kLiteral;
    } else if (byte == '[' && depth == 0 && was_line_start) {
      std::size_t j = i + 1;
      if (j < text.size() && text[j] == '[') ++j;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      const char c = j < text.size() ? text[j] : '\n';
      const bool key_start = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '"' ||
                             c == '\'' || c == ']';
      if (!key_start) throw fail("a table header must start with a key");
      i = j - 1;
    } else if (byte == '[' || byte == '{') {
      ++depth;
    } else if ((byte == ']' || byte == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace

toml::table parse_toml_file(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw ConfigError(fmt::format("{}: not a regular file", path.string()));
  }
  std::ifstream stream(path, std::ios::binary);
  std::string text(std::istreambuf_iterator<char>(stream), {});
  if (!stream.good() && !stream.eof()) {
    throw ConfigError(fmt::format("{}: cannot be read", path.string()));
  }
  return parse_toml_text(text, path.string());
}

toml::table parse_toml_text(std::string_view text, std::string_view file) {
  check_toml_characters(text, file);
  check_toml_text(text, file);
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw syntax_error(e, file);
  }
}

std::string origin_of(const toml::node& node, std::string_view file) {
  return fmt::format("{}:{}", file, node.source().begin.line);
}

std::optional<double> number_of(const toml::node& node) {
  if (const auto* integer = node.as_integer()) return static_cast<double>(integer->get());
  if (const auto* floating = node.as_floating_point()) return floating->get();
  return std::nullopt;
}

Setting setting_from_node(std::string_view key, const toml::node& node, std::string origin) {
  const Parameter* parameter = find_parameter(key);
  if (parameter == nullptr) {
    std::string_view closest;
    std::size_t best = 4;  // suggest only near misses
    for (const Parameter& p : kParameters) {
      if (const std::size_t distance = edit_distance(key, p.key); distance < best) {
        best = distance;
        closest = p.key;
      }
    }
    throw ConfigError(fmt::format("{}: unknown key '{}'{}", origin, key,
                                  closest.empty() ? std::string(" (see distclip run --help)")
                                                  : fmt::format(" (did you mean '{}'?)", closest)));
  }
  const auto wrong_type = [&] {
    std::ostringstream text;
    node.visit([&text](const auto& concrete) { text << concrete; });
    return ConfigError(fmt::format("{}: {} = {} ({}), must be {}", origin, key, text.str(),
                                   type_name(node), parameter->accepted));
  };
  Value value;
  switch (parameter->type) {
    case ValueType::kInteger:
      if (!node.is_integer()) throw wrong_type();
      value = node.as_integer()->get();
      break;
    case ValueType::kNumber:
      if (!node.is_number()) throw wrong_type();
      value = *number_of(node);
      break;
    case ValueType::kText:
      if (!node.is_string()) throw wrong_type();
      value = node.value<std::string>().value();
      break;
  }
  return {std::string(key), std::move(value), std::move(origin)};
}

std::vector<Setting> settings_from_table(const toml::table& table, std::string_view file) {
  std::vector<Setting> settings;
  for (const auto& [key, node] : table) {
    settings.push_back(setting_from_node(key.str(), node, origin_of(node, file)));
  }
  return settings;
}

RunConfig resolve(std::span<const Setting> settings) {
  RunConfig config;
  for (const Setting& setting : settings) {
    const Parameter* parameter = find_parameter(setting.key);
    if (parameter == nullptr) throw ConfigError(fmt::format("unknown parameter '{}'", setting.key));
    parameter->set(config, setting.value);
  }
  // The preset first, then the overrides, whatever order they came in.
  if (const NetworkPreset* preset = find_network_preset(config.network)) {
    config.options.network.latency_s = config.network_latency.value_or(preset->latency_s);
    config.options.network.bandwidth_bytes_per_s =
        config.network_bandwidth.value_or(preset->bandwidth_bytes_per_s);
  } else if (!config.network_latency || !config.network_bandwidth) {
    throw ConfigError(
        "network = custom needs both network-latency (a number >= 0, seconds) and "
        "network-bandwidth (a number > 0, bytes per second)");
  } else {
    config.options.network.latency_s = *config.network_latency;
    config.options.network.bandwidth_bytes_per_s = *config.network_bandwidth;
  }
  std::string error;
  if (!is_valid(config.objective, &error)) throw ConfigError(error);
  if (config.objective.heterogeneity > 0.0 && config.options.num_workers < 2 &&
      !is_language_model(config)) {
    throw ConfigError(fmt::format("heterogeneity = {}, needs workers >= 2 (workers = {})",
                                  config.objective.heterogeneity, config.options.num_workers));
  }
  if (!config.options.IsValid(algorithm_of(config), &error)) throw ConfigError(error);
  const std::int64_t checkpoint_every = config.execution.checkpoint_every;
  if (checkpoint_every % config.options.eval_every != 0) {
    throw ConfigError(fmt::format(
        "checkpoint-every = {}, must be a multiple of eval-every ({}): checkpoints are taken at "
        "evaluations",
        checkpoint_every, config.options.eval_every));
  }
  config.objective = distclip::resolve(config.objective);
  if (config.theory_params) {
    const bool steps_given = std::ranges::any_of(
        settings, [](const Setting& setting) { return setting.key == "steps"; });
    apply_theorem1(config, steps_given);
  }
  return config;
}

std::vector<std::string> unused_keys(const RunConfig& config, std::span<const Setting> settings) {
  std::vector<std::string> unused;
  std::set<std::string> seen;
  for (const Setting& setting : settings) {
    const Parameter* parameter = find_parameter(setting.key);
    if (parameter != nullptr && !parameter->used(config) && seen.insert(setting.key).second) {
      unused.push_back(setting.key);
    }
  }
  return unused;
}

namespace {

// The parameters that `include` selects and the configuration reads.
template <class Include>
nlohmann::ordered_json parameters_to_json(const RunConfig& config, Include include) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const Parameter& parameter : kParameters) {
    if (!include(parameter) || !parameter.used(config)) continue;
    const Value value = parameter.get(config);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) {
            json[std::string(parameter.key)] = nullptr;
          } else {
            json[std::string(parameter.key)] = v;
          }
        },
        value);
  }
  return json;
}

}  // namespace

nlohmann::ordered_json config_to_json(const RunConfig& config) {
  return parameters_to_json(config, [](const Parameter& p) { return p.group != "Execution"; });
}

nlohmann::ordered_json agreement_json(const RunConfig& config) {
  return parameters_to_json(config, [](const Parameter& p) { return p.key != "threads"; });
}

}  // namespace distclip::app
