// The parameter schema: one spelling for command line, TOML and records;
// typed parsing; every range rejected with a message naming the field.
#include <cctype>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config.hpp"

namespace distclip::app {
namespace {

std::vector<Setting> settings(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  std::vector<Setting> out;
  for (const auto& [key, text] : pairs) {
    out.push_back({key, parse_text(*find_parameter(key), text), std::string("--") + key});
  }
  return out;
}

std::string error_of(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  try {
    resolve(settings(pairs));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Schema, KeysAreUniqueKebabCase) {
  std::set<std::string_view> seen;
  for (const Parameter& p : parameters()) {
    EXPECT_TRUE(seen.insert(p.key).second) << p.key;
    for (char c : p.key) EXPECT_TRUE(std::islower(c) || std::isdigit(c) || c == '-') << p.key;
    EXPECT_FALSE(p.help.empty()) << p.key;
    EXPECT_FALSE(p.accepted.empty()) << p.key;
  }
}

TEST(Schema, EverySetterRoundTripsThroughItsGetter) {
  const std::vector<std::pair<const char*, const char*>> samples = {
      {"objective", "quartic"},   {"dim", "7"},          {"scale", "2.5"},
      {"condition", "3"},         {"x0", "-1.25"},       {"ripple", "0.5"},
      {"growth", "2"},            {"width", "0.75"},     {"reveal-probability", "0.125"},
      {"heterogeneity", "0.5"},   {"momentum", "0.5"},   {"nu", "0.25"},
      {"samples", "70"},          {"batch-size", "4"},
      {"data-seed", "9"},         {"noise", "gaussian"}, {"sigma", "0.3"},
      {"dof", "4"},               {"algorithm", "sgd"},  {"workers", "1"},
      {"sync-interval", "5"},     {"step-size", "0.2"},  {"clip-threshold", "0.7"},
      {"clip-option", "max"},     {"steps", "11"},       {"seed", "123"},
      {"eval-every", "3"},        {"trace-every", "4"},  {"target", "0.05"},    {"criterion", "last"},
      {"divergence-bound", "1e6"}, {"network", "ethernet-10g"}, {"network-latency", "2e-06"},
      {"network-bandwidth", "5e9"}, {"allreduce", "tree"},   {"threads", "3"},
      {"backend", "threads"},     {"reduction", "fast"}, {"inject-failure", "1:3:kill"},
      {"checkpoint-every", "500"},
      {"level", "word"},          {"train-file", "ptb/ptb.valid.txt"},
      {"heldout-file", "ptb/ptb.test.txt"}, {"heldout-fraction", "0.2"},
      {"max-vocabulary", "5000"}, {"embedding", "32"},   {"hidden", "48"},
      {"layers", "2"},            {"tie-weights", "1"},  {"window", "20"},
      {"eval-windows", "16"},     {"sharding", "heterogeneous"}, {"data", "/srv/corpora"},
      {"check-invariants", "1"},  {"theory-params", "1"}, {"theory-c", "0.5"},
      {"theory-t-constant", "280"}};
  ASSERT_EQ(samples.size(), parameters().size()) << "a parameter has no sample here";
  for (const auto& [key, text] : samples) {
    const Parameter& p = *find_parameter(key);
    RunConfig config;
    const Value value = parse_text(p, text);
    p.set(config, value);
    EXPECT_EQ(value_to_text(p.get(config)), value_to_text(value)) << key;
  }
}

TEST(Schema, EveryRangeIsRejectedWithTheFieldNamed) {
  const std::vector<std::pair<std::pair<const char*, const char*>, std::string>> cases = {
      {{"dim", "0"}, "dim = 0, must be >= 1"},
      {{"theory-c", "0"}, "theory-c = 0, must be in (0, 700]"},
      {{"theory-t-constant", "-1"}, "theory-t-constant = -1, must be > 0"},
      {{"check-invariants", "2"}, "check-invariants = 2, must be 0 or 1"},
      {{"scale", "0"}, "scale = 0"},
      {{"condition", "0.5"}, "condition = 0.5"},
      {{"ripple", "-1"}, "ripple = -1"},
      {{"growth", "0"}, "growth = 0"},
      {{"width", "0"}, "width = 0"},
      {{"reveal-probability", "0"}, "reveal-probability = 0"},
      {{"heterogeneity", "-1"}, "heterogeneity = -1, must be >= 0"},
      {{"heterogeneity", "0.5"}, "heterogeneity = 0.5, needs workers >= 2 (workers = 1)"},
      {{"momentum", "1"}, "momentum = 1, must be in [0, 1)"},
      {{"nu", "1.5"}, "nu = 1.5, must be in [0, 1]"},
      {{"sigma", "0"}, "sigma = 0"},
      {{"dof", "2"}, "dof = 2"},
      {{"data-seed", "-1"}, "data-seed = -1, must be >= 0"},
      {{"tie-weights", "2"}, "tie-weights = 2, must be 0 or 1"},
      {{"workers", "0"}, "workers = 0, must be >= 1"},
      {{"workers", "99999999999"}, "workers = 99999999999"},
      {{"sync-interval", "0"}, "sync-interval = 0, must be >= 1"},
      {{"step-size", "-0.1"}, "step-size = -0.1, must be > 0"},
      {{"step-size", "inf"}, "step-size = inf, must be > 0"},
      {{"clip-threshold", "0"}, "clip-threshold = 0, must be > 0"},
      {{"steps", "0"}, "steps = 0, must be >= 1"},
      {{"seed", "-3"}, "seed = -3, must be >= 0"},
      {{"eval-every", "0"}, "eval-every = 0, must be >= 1"},
      {{"target", "0"}, "target = 0, must be > 0"},
      {{"divergence-bound", "-1"}, "divergence-bound = -1, must be > 0"},
      {{"threads", "0"}, "threads = 0, must be in [1, 1024]"},
      {{"objective", "sphere"}, "objective = 'sphere' is not one of:"},
      {{"noise", "cauchy"}, "noise = 'cauchy' is not one of:"},
      {{"algorithm", "adam"}, "algorithm = 'adam' is not one of:"},
      {{"clip-option", "global_average"}, "clip-option = 'global_average' is not one of:"},
      {{"criterion", "mean"}, "criterion = 'mean' is not one of:"},
      {{"network", "myrinet"}, "network = 'myrinet' is not one of:"},
      {{"network-latency", "-1e-6"}, "network-latency = -1e-06, must be"},
      {{"network-bandwidth", "0"}, "network-bandwidth = 0, must be"},
      {{"network", "custom"}, "network = custom needs both network-latency"},
      {{"allreduce", "butterfly"}, "allreduce = 'butterfly' is not one of:"},
      {{"backend", "gpu"}, "backend = 'gpu' is not one of:"},
      {{"reduction", "exact"}, "reduction = 'exact' is not one of:"},
      {{"inject-failure", "1"}, "inject-failure = '1', must be RANK:K"},
      {{"inject-failure", "0:0"}, "inject-failure = '0:0', must be RANK:K"},
      {{"inject-failure", "0:2:explode"}, "inject-failure = '0:2:explode', must be RANK:K"},
  };
  for (const auto& [setting, expected] : cases) {
    // Noise and objective parameters need a model and family that read them.
    std::string error;
    if (std::string(setting.first) == "sigma") {
      error = error_of({{"noise", "ball"}, setting});
    } else if (std::string(setting.first) == "dof") {
      error = error_of({{"noise", "student-t"}, setting});
    } else if (std::string(setting.first) == "growth" || std::string(setting.first) == "ripple") {
      error = error_of({{"objective", "cosh-well"}, setting});
    } else if (std::string(setting.first) == "momentum" || std::string(setting.first) == "nu") {
      error = error_of({{"algorithm", "clipped-momentum"}, {"workers", "1"}, setting});
    } else if (std::string(setting.first) == "heterogeneity") {
      error = error_of({{"workers", "1"}, setting});
    } else if (std::string(setting.first) == "width" ||
               std::string(setting.first) == "reveal-probability") {
      error = error_of({{"objective", "zero-chain"}, setting});
    } else {
      error = error_of({setting});
    }
    EXPECT_EQ(error.rfind(expected, 0), 0u) << "got: " << error << "\nwant: " << expected;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(Schema, SamplesAreCheckedAgainstDim) {
  const std::string error =
      error_of({{"objective", "phase-retrieval"}, {"dim", "10"}, {"samples", "5"}});
  EXPECT_EQ(error.rfind("samples = 5", 0), 0u) << error;
}

TEST(Schema, SingleMachineMethodsNeedOneWorker) {
  EXPECT_EQ(error_of({{"algorithm", "normalized-sgd"}, {"workers", "4"}}),
            "workers = 4, must be 1 for algorithm normalized-sgd (a single-machine method)");
}

TEST(ParseText, RejectsMalformedValues) {
  const Parameter& workers = *find_parameter("workers");
  const Parameter& eta = *find_parameter("step-size");
  for (const char* text : {"", "abc", "1.5", "8x", " 8"}) {
    EXPECT_THROW(parse_text(workers, text), ConfigError) << text;
  }
  for (const char* text : {"", "abc", "0.1.2", "1e3x"}) {
    EXPECT_THROW(parse_text(eta, text), ConfigError) << text;
  }
  EXPECT_EQ(std::get<double>(parse_text(eta, "1e-3")), 1e-3);
  try {
    parse_text(workers, "abc");
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("workers = abc, must be an integer >= 1", 0), 0u);
  }
}

TEST(Toml, ReadsFlatTablesWithTypes) {
  const toml::table table = toml::parse(R"(
objective = "quartic"
workers = 4
step-size = 1      # an integer is a valid number
target = 0.5
)");
  const RunConfig config = resolve(settings_from_table(table, "a.toml"));
  EXPECT_EQ(config.objective.family, "quartic");
  EXPECT_EQ(config.options.num_workers, 4);
  EXPECT_EQ(config.options.step_size, 1.0);
  EXPECT_EQ(config.options.target, 0.5);
}

TEST(Toml, NamesTheLineOfAnUnknownKeyAndSuggestsTheNearestOne) {
  const toml::table table = toml::parse("objective = \"quartic\"\nsync_interval = 4\n");
  try {
    settings_from_table(table, "a.toml");
    FAIL() << "accepted an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "a.toml:2: unknown key 'sync_interval' (did you mean 'sync-interval'?)");
  }
}

// The message parse_toml_text refuses `text` with, as file "f.toml", or
// "accepted".
std::string refusal_of(std::string_view text) {
  try {
    parse_toml_text(text, "f.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

// Invalid TOML that Debian's toml++ 3.3 mishandles is refused before it
// reaches it (fuzz/corpus/*/regression-*), a byte order mark included: the
// text starts after the mark, so "[#" right after it is a table header
// (found by CI's fuzzing); and a marked valid file still reads.
TEST(Toml, InvalidTomlThatTheParserMishandlesIsRefusedFirst) {
  const std::string header = "a table header must start with a key";
  EXPECT_EQ(refusal_of("[#x]\n"), "f.toml:1:1: " + header);
  EXPECT_EQ(refusal_of("\xEF\xBB\xBF[#x]\n"), "f.toml:1:1: " + header);
  EXPECT_EQ(refusal_of("\xEF\xBB\xBF  [[[x]]]\n"), "f.toml:1:3: " + header);
  EXPECT_EQ(refusal_of("a = 1\x01\n"),
            "f.toml:1:6: control character U+0001, not allowed in TOML");
  const toml::table marked = parse_toml_text("\xEF\xBB\xBFsteps = 10\n", "f.toml");
  EXPECT_EQ(marked["steps"].value<std::int64_t>(), 10);
}

// Characters for which toml++ 3.3's table of non-ASCII whitespace reaches
// an unreachable branch are refused wherever they stand: in a value, a
// string (after a line-ending backslash toml++ asks whether they are
// whitespace) and a comment alike. The edges of the three ranges, on both
// sides: a table that drifted from toml++'s would fail here.
TEST(Toml, CharactersTheParserMishandlesAreRefusedEverywhere) {
  const auto utf8 = [](char32_t c) {
    std::string bytes;
    if (c < 0x800) {
      bytes += static_cast<char>(0xC0 | (c >> 6));
    } else {
      bytes += static_cast<char>(0xE0 | (c >> 12));
      bytes += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    }
    bytes += static_cast<char>(0x80 | (c & 0x3F));
    return bytes;
  };
  for (const char32_t c : {0xA1, 0xE9, 0x3B7, 0x499, 0x2C5E, 0x2FFF, 0x3001, 0x3057, 0xFB26,
                           0xFEFE}) {
    const std::string in_comment = refusal_of("steps = 10 # " + utf8(c) + "\n");
    const std::string expected = fmt::format(
        "f.toml:1:14: character U+{:04X} is refused: Debian's toml++ 3.3 mishandles ",
        static_cast<std::uint32_t>(c));
    EXPECT_EQ(in_comment.rfind(expected, 0), 0u) << in_comment;
    EXPECT_NE(refusal_of("name = \"" + utf8(c) + "\"\n"), "accepted");
  }
  for (const char32_t c : {0xA0, 0x49A, 0x2C5D, 0x3000, 0x3058, 0xFB25}) {
    EXPECT_EQ(refusal_of("steps = 10 # " + utf8(c) + "\n"), "accepted")
        << static_cast<std::uint32_t>(c);
  }
  // Found by fuzz/: in a value toml++ scans, and after a line-ending
  // backslash of a multi-line string; the way around, an escape.
  EXPECT_EQ(refusal_of("dAl =-0x0\"h\xCC\x9Ath=e\n").rfind("f.toml:1:12: character U+031A", 0),
            0u);
  EXPECT_NE(refusal_of("x = \"\"\"a\\\n  \xC3\xA9\"\"\"\n"), "accepted");
  const toml::table escaped = parse_toml_text("name = \"caf\\u00E9\"\n", "f.toml");
  EXPECT_EQ(escaped["name"].value<std::string>(), "caf\xC3\xA9");
}

// A message quotes values, and a value may hold a newline: ConfigError
// writes control characters as escapes, so the message stays one line.
TEST(Toml, AMessageIsOneLineWhateverTheValueHolds) {
  EXPECT_STREQ(ConfigError("a\nb\r\x01\tc").what(), "a\\nb\\r\\x01\tc");
  const toml::table table = parse_toml_text("network = \"\"\"ethernet\n10g\"\"\"\n", "f.toml");
  try {
    resolve(settings_from_table(table, "f.toml"));
    FAIL() << "accepted a network with a newline";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("network = 'ethernet\\n10g' is not one of: ", 0), 0u)
        << e.what();
  }
  // Found by fuzz/: toml++ 3.3 asserts that an array's value does not start
  // at '}'; Debian's build of it, without assertions, says so in one line.
  try {
    parse_toml_text("w = [}\n", "f.toml");
    FAIL() << "accepted 'w = [}'";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("f.toml:1:", 0), 0u) << e.what();
  }
}

// An integer is a valid number, even one beyond 2^53 that no double holds
// exactly (toml++'s value<double>() is empty for it): the nearest double,
// which the parameter's range then judges.
TEST(Toml, AnIntegerBeyondTwoToThe53IsTheNearestNumber) {
  const toml::table table = parse_toml_text("step-size = 19400000000000001\n", "f.toml");
  const std::vector<Setting> given = settings_from_table(table, "f.toml");
  ASSERT_EQ(given.size(), 1u);
  EXPECT_EQ(std::get<double>(given[0].value), 19400000000000000.0);
  EXPECT_EQ(number_of(*table.get("step-size")), 19400000000000000.0);
  EXPECT_EQ(number_of(*parse_toml_text("x = 0.5\n", "f.toml").get("x")), 0.5);
  EXPECT_EQ(number_of(*parse_toml_text("x = \"1\"\n", "f.toml").get("x")), std::nullopt);
}

TEST(Toml, NamesTheTypeOfAWrongValue) {
  const toml::table table = toml::parse("\n\nworkers = \"8\"\n");
  try {
    settings_from_table(table, "a.toml");
    FAIL() << "accepted a string for an integer";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "a.toml:3: workers = '8' (a string), must be an integer >= 1 (1 for "
                 "single-machine methods)");
  }
  EXPECT_THROW(settings_from_table(toml::parse("dim = 1.5"), "a.toml"), ConfigError);
  EXPECT_THROW(settings_from_table(toml::parse("seed = [1, 2]"), "a.toml"), ConfigError);
  EXPECT_THROW(settings_from_table(toml::parse("[objective]\ndim = 3"), "a.toml"), ConfigError);
}

TEST(Resolve, LaterSettingsWin) {
  const RunConfig config = resolve(settings({{"workers", "2"}, {"workers", "5"}}));
  EXPECT_EQ(config.options.num_workers, 5);
}

TEST(Resolve, ReportsKeysTheRunDoesNotRead) {
  const auto given = settings({{"algorithm", "naive-parallel-clip"},
                               {"workers", "4"},
                               {"sync-interval", "8"},
                               {"sigma", "2"},
                               {"samples", "10"}});
  const RunConfig config = resolve(given);
  EXPECT_EQ(unused_keys(config, given),
            (std::vector<std::string>{"sync-interval", "sigma", "samples"}));
}

TEST(ConfigJson, RecordsWhatTheRunReadsWithDefaultsResolved) {
  const RunConfig config =
      resolve(settings({{"objective", "phase-retrieval"}, {"dim", "12"}, {"algorithm", "sgd"}}));
  const auto json = config_to_json(config);
  EXPECT_EQ(json.at("samples"), 96);  // the default, 8 d
  EXPECT_NEAR(json.at("x0").get<double>(), 1 / std::sqrt(12.0), 1e-15);
  EXPECT_FALSE(json.contains("sync-interval"));   // sgd has no rounds
  EXPECT_FALSE(json.contains("clip-threshold"));  // nor clipping
  EXPECT_FALSE(json.contains("sigma"));           // noise = none
  EXPECT_FALSE(json.contains("threads"));         // execution, not configuration
  EXPECT_FALSE(json.contains("criterion"));       // no target
  EXPECT_TRUE(json.at("target").is_null());
}

}  // namespace
}  // namespace distclip::app
