#include "distclip/core/network.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace distclip {

namespace {

// Latencies are typical one-way MPI ping-pong figures, not measurements of one machine; rates are
// the standards' data rates (after line coding), not achieved throughput. See
// docs/network-model.md.
constexpr std::array<NetworkPreset, 4> kPresets{{
    {"infiniband-100g", 1.0e-6, 12.5e9,
     "EDR 4x InfiniBand, 100 Gb/s: a typical interconnect for a small GPU cluster like the "
     "paper's two 4-GPU nodes",
     "rate: InfiniBand EDR 4x data rate, 100 Gb/s; latency: typical published MPI ping-pong "
     "figure for EDR, about 1 us"},
    {"ethernet-10g", 25e-6, 1.25e9, "10 Gb/s Ethernet, MPI over TCP",
     "rate: IEEE 802.3ae data rate, 10 Gb/s; latency: typical published MPI-over-TCP ping-pong "
     "figure on 10 GbE, tens of us"},
    {"ethernet-1g", 50e-6, 125e6, "1 Gb/s Ethernet, MPI over TCP",
     "rate: IEEE 802.3 1000BASE-T/X data rate, 1 Gb/s; latency: typical published MPI-over-TCP "
     "ping-pong figure on gigabit Ethernet, about 50 us"},
    {"wan", 25e-3, 12.5e6, "a 100 Mb/s wide-area link with a 50 ms round trip",
     "illustrative assumption, not a measured link: 100 Mb/s, one-way latency half of a 50 ms "
     "round trip"},
}};

// ceil(log2 p) for p >= 1, exactly: the number of rounds of a binomial tree on p endpoints.
int ceil_log2(int p) { return static_cast<int>(std::bit_width(static_cast<unsigned>(p - 1))); }

void check_arguments(const char* function, int endpoints, std::int64_t bytes) {
  if (endpoints < 1) {
    throw std::invalid_argument(std::string(function) + ": endpoints = " +
                                std::to_string(endpoints) + ", must be >= 1");
  }
  if (bytes < 0) {
    throw std::invalid_argument(std::string(function) + ": bytes = " + std::to_string(bytes) +
                                ", must be >= 0");
  }
}

// Shortest text that reads back as the same double ("1e-06", "nan", "inf"), as the other
// options' messages print their values.
std::string shortest(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

}  // namespace

std::string_view to_string(AllreduceAlgorithm algorithm) {
  switch (algorithm) {
    case AllreduceAlgorithm::kRing:
      return "ring";
    case AllreduceAlgorithm::kTree:
      return "tree";
    case AllreduceAlgorithm::kParameterServer:
      return "parameter-server";
  }
  return "ring";
}

std::optional<AllreduceAlgorithm> parse_allreduce_algorithm(std::string_view name) {
  for (auto algorithm : {AllreduceAlgorithm::kRing, AllreduceAlgorithm::kTree,
                         AllreduceAlgorithm::kParameterServer}) {
    if (to_string(algorithm) == name) return algorithm;
  }
  return std::nullopt;
}

std::span<const NetworkPreset> network_presets() { return kPresets; }

const NetworkPreset* find_network_preset(std::string_view name) {
  for (const NetworkPreset& preset : kPresets) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

double NetworkModel::allreduce_seconds(int endpoints, std::int64_t bytes) const {
  check_arguments("NetworkModel::allreduce_seconds", endpoints, bytes);
  if (endpoints == 1) return 0.0;
  const double p = endpoints;
  const double n = static_cast<double>(bytes);
  const double alpha = latency_s;
  const double beta = 1.0 / bandwidth_bytes_per_s;
  switch (algorithm) {
    case AllreduceAlgorithm::kRing:
      // Reduce-scatter then all-gather, each p - 1 steps in which every endpoint sends a chunk
      // of n/p to its neighbour, all links busy at once (Patarasuk & Yuan 2009). Chunks are
      // taken as n/p bytes, not rounded up to whole bytes.
      return 2.0 * (p - 1.0) * alpha + 2.0 * (p - 1.0) / p * n * beta;
    case AllreduceAlgorithm::kTree:
      // Binomial-tree reduce, then binomial-tree broadcast: ceil(log2 p) rounds each, whole
      // vector per message (Thakur, Rabenseifner & Gropp 2005).
      return 2.0 * ceil_log2(endpoints) * (alpha + n * beta);
    case AllreduceAlgorithm::kParameterServer:
      // The p pushes start together, so their latencies overlap (one alpha), but they share
      // the server's link: p n bytes in, then the same for the pulls.
      return 2.0 * alpha + 2.0 * p * n * beta;
  }
  return 0.0;
}

std::int64_t NetworkModel::allreduce_total_bytes(AllreduceAlgorithm algorithm, int endpoints,
                                                 std::int64_t bytes) {
  check_arguments("NetworkModel::allreduce_total_bytes", endpoints, bytes);
  if (endpoints == 1) return 0;
  const std::int64_t p = endpoints;
  switch (algorithm) {
    // Ring: in each phase every one of the p chunks is sent p - 1 times, so the total is
    // 2 (p-1) n exactly even when p does not divide n and the chunks differ by a byte.
    // Tree: every endpoint but the root sends the vector once in the reduce, and the broadcast
    // sends it once to each of them.
    case AllreduceAlgorithm::kRing:
    case AllreduceAlgorithm::kTree:
      return 2 * (p - 1) * bytes;
    case AllreduceAlgorithm::kParameterServer:
      // p pushes to the server and p pulls from it; with one worker there is nothing to
      // exchange, as for the other algorithms, so no server is counted.
      return 2 * p * bytes;
  }
  return 0;
}

bool NetworkModel::IsValid(std::string* error) const {
  const auto fail = [error](std::string message) {
    if (error != nullptr) *error = std::move(message);
    return false;
  };
  if (!std::isfinite(latency_s) || latency_s < 0.0) {
    return fail("network-latency = " + shortest(latency_s) + ", must be finite and >= 0 (seconds)");
  }
  if (!std::isfinite(bandwidth_bytes_per_s) || bandwidth_bytes_per_s <= 0.0) {
    return fail("network-bandwidth = " + shortest(bandwidth_bytes_per_s) +
                ", must be finite and > 0 (bytes per second)");
  }
  return true;
}

}  // namespace distclip
