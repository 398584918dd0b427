// The alpha-beta all-reduce cost model, checked against its closed forms worked by hand, and its
// presets, names and validation.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "distclip/core/network.hpp"

namespace distclip {
namespace {

constexpr AllreduceAlgorithm kAlgorithms[] = {AllreduceAlgorithm::kRing, AllreduceAlgorithm::kTree,
                                              AllreduceAlgorithm::kParameterServer};

// A closed form is a handful of floating operations, each rounding by at most 2^-53 ~ 1.1e-16
// relative; 1e-12 leaves room for that and catches any wrong coefficient or term.
constexpr double kRelativeTolerance = 1e-12;

void expect_close(double actual, double expected) {
  EXPECT_NEAR(actual, expected, kRelativeTolerance * std::abs(expected))
      << "actual " << actual << ", expected " << expected;
}

// alpha = 1 us, 1/beta = 12.5e9 B/s: 8e6 bytes take n beta = 8e6 / 12.5e9 = 6.4e-4 s.
NetworkModel infiniband_model(AllreduceAlgorithm algorithm) { return {1e-6, 12.5e9, algorithm}; }

// alpha = 1 us, 1/beta = 1.25e9 B/s: 8e6 bytes take n beta = 8e6 / 1.25e9 = 6.4e-3 s.
NetworkModel example_model(AllreduceAlgorithm algorithm) { return {1e-6, 1.25e9, algorithm}; }

TEST(Network, RingIsTwoTimesPMinusOneStepsOfAChunk) {
  const NetworkModel ring = example_model(AllreduceAlgorithm::kRing);
  // p = 4: 2 * 3 * 1e-6 + 2 * (3/4) * 6.4e-3 = 6e-6 + 9.6e-3.
  expect_close(ring.allreduce_seconds(4, 8'000'000), 9.606e-3);
  // p = 2: 2 * 1 * 1e-6 + 2 * (1/2) * 6.4e-3.
  expect_close(ring.allreduce_seconds(2, 8'000'000), 6.402e-3);
  // An empty vector still pays the 2 (p - 1) latencies.
  expect_close(ring.allreduce_seconds(4, 0), 6e-6);
  // p = 3, n = 1000, alpha = 2 us, 1/beta = 1e9 B/s, so n beta = 1 us:
  // 2 * 2 * 2e-6 + 2 * (2/3) * 1e-6.
  const NetworkModel other{2e-6, 1e9, AllreduceAlgorithm::kRing};
  expect_close(other.allreduce_seconds(3, 1000), 8e-6 + 4.0 / 3.0 * 1e-6);
}

TEST(Network, TreeIsTwoCeilLog2PRoundsOfTheWholeVector) {
  const NetworkModel tree = example_model(AllreduceAlgorithm::kTree);
  // alpha + n beta = 1e-6 + 6.4e-3 = 6.401e-3 per round.
  expect_close(tree.allreduce_seconds(2, 8'000'000), 2 * 1 * 6.401e-3);
  expect_close(tree.allreduce_seconds(4, 8'000'000), 2 * 2 * 6.401e-3);
  // ceil(log2 5) = ceil(log2 8) = 3: a fifth endpoint costs a whole extra round.
  expect_close(tree.allreduce_seconds(5, 8'000'000), 2 * 3 * 6.401e-3);
  expect_close(tree.allreduce_seconds(8, 8'000'000), 2 * 3 * 6.401e-3);
  expect_close(tree.allreduce_seconds(9, 8'000'000), 2 * 4 * 6.401e-3);
}

TEST(Network, ParameterServerSerialisesTwoPVectorsOnTheServerLink) {
  const NetworkModel server = example_model(AllreduceAlgorithm::kParameterServer);
  // 2 * 1e-6 + 2 * p * 6.4e-3.
  expect_close(server.allreduce_seconds(4, 8'000'000), 2e-6 + 8 * 6.4e-3);
  expect_close(server.allreduce_seconds(8, 8'000'000), 2e-6 + 16 * 6.4e-3);
  expect_close(server.allreduce_seconds(2, 0), 2e-6);
}

TEST(Network, TotalBytes) {
  using A = AllreduceAlgorithm;
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kRing, 4, 8'000'000), 48'000'000);
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kTree, 4, 8'000'000), 48'000'000);
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kParameterServer, 4, 8'000'000), 64'000'000);
  // p does not divide n: still exactly 2 (p - 1) n, every chunk being sent p - 1 times a phase.
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kRing, 3, 1001), 4004);
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kParameterServer, 3, 1001), 6006);
  // Far beyond 32 bits: 2 * 1023 * 8e9 and 2 * 1024 * 8e9.
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kTree, 1024, 8'000'000'000),
            16'368'000'000'000);
  EXPECT_EQ(NetworkModel::allreduce_total_bytes(A::kParameterServer, 1024, 8'000'000'000),
            16'384'000'000'000);
}

TEST(Network, OneEndpointCostsNothing) {
  for (const AllreduceAlgorithm algorithm : kAlgorithms) {
    const NetworkModel model{25e-3, 12.5e6, algorithm};
    EXPECT_EQ(model.allreduce_seconds(1, 8'000'000), 0.0) << to_string(algorithm);
    EXPECT_EQ(model.allreduce_seconds(1, 0), 0.0) << to_string(algorithm);
    EXPECT_EQ(NetworkModel::allreduce_total_bytes(algorithm, 1, 8'000'000), 0)
        << to_string(algorithm);
  }
}

TEST(Network, CostGrowsWithEndpointsAndBytes) {
  const std::vector<std::int64_t> sizes{0, 8, 8'000, 8'000'000, 800'000'000};
  for (const AllreduceAlgorithm algorithm : kAlgorithms) {
    const NetworkModel model = infiniband_model(algorithm);
    for (int p = 1; p <= 64; ++p) {
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t n = sizes[i];
        SCOPED_TRACE(std::string(to_string(algorithm)) + " p=" + std::to_string(p) +
                     " n=" + std::to_string(n));
        // Non-strict in p: the tree's cost is flat between powers of two.
        EXPECT_GE(model.allreduce_seconds(p + 1, n), model.allreduce_seconds(p, n));
        EXPECT_GE(NetworkModel::allreduce_total_bytes(algorithm, p + 1, n),
                  NetworkModel::allreduce_total_bytes(algorithm, p, n));
        if (i + 1 < sizes.size() && p > 1) {
          EXPECT_GT(model.allreduce_seconds(p, sizes[i + 1]), model.allreduce_seconds(p, n));
          EXPECT_GT(NetworkModel::allreduce_total_bytes(algorithm, p, sizes[i + 1]),
                    NetworkModel::allreduce_total_bytes(algorithm, p, n));
        }
      }
    }
  }
}

// Ring's bandwidth term 2 (p-1)/p n beta stays below 2 n beta, while the tree's,
// 2 ceil(log2 p) n beta, is at least 4 n beta once p > 2: for large vectors the ring wins. Ring's
// latency term 2 (p-1) alpha grows linearly in p, the tree's 2 ceil(log2 p) alpha only
// logarithmically: for tiny vectors on many endpoints the tree wins.
TEST(Network, RingWinsForLargeVectorsAndTreeForTinyOnesOnManyEndpoints) {
  for (const char* name : {"infiniband-100g", "ethernet-10g"}) {
    const NetworkPreset* preset = find_network_preset(name);
    ASSERT_NE(preset, nullptr);
    const NetworkModel ring{preset->latency_s, preset->bandwidth_bytes_per_s,
                            AllreduceAlgorithm::kRing};
    const NetworkModel tree{preset->latency_s, preset->bandwidth_bytes_per_s,
                            AllreduceAlgorithm::kTree};
    for (int p : {3, 4, 8, 16, 64}) {
      EXPECT_LT(ring.allreduce_seconds(p, 8'000'000), tree.allreduce_seconds(p, 8'000'000))
          << name << " p=" << p;
    }
    for (int p : {16, 64, 256}) {
      EXPECT_LT(tree.allreduce_seconds(p, 8), ring.allreduce_seconds(p, 8)) << name << " p=" << p;
    }
  }
}

TEST(Network, AlgorithmNamesRoundTrip) {
  EXPECT_EQ(to_string(AllreduceAlgorithm::kRing), "ring");
  EXPECT_EQ(to_string(AllreduceAlgorithm::kTree), "tree");
  EXPECT_EQ(to_string(AllreduceAlgorithm::kParameterServer), "parameter-server");
  for (const AllreduceAlgorithm algorithm : kAlgorithms) {
    EXPECT_EQ(parse_allreduce_algorithm(to_string(algorithm)), algorithm);
  }
  EXPECT_FALSE(parse_allreduce_algorithm("butterfly").has_value());
  EXPECT_FALSE(parse_allreduce_algorithm("Ring").has_value());
  EXPECT_FALSE(parse_allreduce_algorithm("").has_value());
}

TEST(Network, PresetsAreValidAndSaySource) {
  struct Expected {
    const char* name;
    double latency_s;
    double bandwidth_bytes_per_s;
  };
  const Expected expected[] = {{"infiniband-100g", 1.0e-6, 12.5e9},
                               {"ethernet-10g", 25e-6, 1.25e9},
                               {"ethernet-1g", 50e-6, 125e6},
                               {"wan", 25e-3, 12.5e6}};
  ASSERT_EQ(network_presets().size(), std::size(expected));
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    const NetworkPreset& preset = network_presets()[i];
    SCOPED_TRACE(preset.name);
    EXPECT_EQ(preset.name, expected[i].name);
    EXPECT_EQ(preset.latency_s, expected[i].latency_s);
    EXPECT_EQ(preset.bandwidth_bytes_per_s, expected[i].bandwidth_bytes_per_s);
    EXPECT_FALSE(preset.description.empty());
    EXPECT_FALSE(preset.source.empty());
    EXPECT_EQ(find_network_preset(preset.name), &preset);
    const NetworkModel model{preset.latency_s, preset.bandwidth_bytes_per_s};
    std::string error;
    EXPECT_TRUE(model.IsValid(&error)) << error;
  }
  EXPECT_EQ(find_network_preset("infiniband"), nullptr);
  EXPECT_EQ(find_network_preset("custom"), nullptr);
}

TEST(Network, IsValidNamesTheFieldItsValueAndTheRange) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  struct Bad {
    double latency_s;
    double bandwidth_bytes_per_s;
    const char* message;
  };
  const Bad cases[] = {
      {-1.0, 1e9, "network-latency = -1, must be finite and >= 0 (seconds)"},
      {kNan, 1e9, "network-latency = nan, must be finite and >= 0 (seconds)"},
      {kInf, 1e9, "network-latency = inf, must be finite and >= 0 (seconds)"},
      {1e-6, 0.0, "network-bandwidth = 0, must be finite and > 0 (bytes per second)"},
      {1e-6, -1.25e9, "network-bandwidth = -1.25e+09, must be finite and > 0 (bytes per second)"},
      {1e-6, kInf, "network-bandwidth = inf, must be finite and > 0 (bytes per second)"},
      {1e-6, kNan, "network-bandwidth = nan, must be finite and > 0 (bytes per second)"},
  };
  for (const Bad& bad : cases) {
    const NetworkModel model{bad.latency_s, bad.bandwidth_bytes_per_s};
    std::string error;
    EXPECT_FALSE(model.IsValid(&error));
    EXPECT_EQ(error, bad.message);
    EXPECT_FALSE(model.IsValid(nullptr));
  }
  // Zero latency is an ideal network, not an error.
  std::string error;
  EXPECT_TRUE((NetworkModel{0.0, 1e9}.IsValid(&error))) << error;
  EXPECT_TRUE(NetworkModel{}.IsValid(&error)) << error;
}

TEST(Network, RejectsNoEndpointsAndNegativeBytes) {
  const NetworkModel model = infiniband_model(AllreduceAlgorithm::kRing);
  EXPECT_THROW(model.allreduce_seconds(0, 8), std::invalid_argument);
  EXPECT_THROW(model.allreduce_seconds(4, -1), std::invalid_argument);
  EXPECT_THROW(NetworkModel::allreduce_total_bytes(AllreduceAlgorithm::kTree, 0, 8),
               std::invalid_argument);
  EXPECT_THROW(NetworkModel::allreduce_total_bytes(AllreduceAlgorithm::kTree, 4, -1),
               std::invalid_argument);
}

}  // namespace
}  // namespace distclip
