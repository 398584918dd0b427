// The network cost model: what one all-reduce of the averaged vector would cost on a real
// cluster under the alpha-beta (latency-bandwidth) model, for a run's projected wall-clock time.
// Named presets hold typical figures for common networks. Derivations: docs/network-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace distclip {

// How an all-reduce among p endpoints is carried out.
enum class AllreduceAlgorithm { kRing, kTree, kParameterServer };
std::string_view to_string(AllreduceAlgorithm algorithm);  // "ring", "tree", "parameter-server"
std::optional<AllreduceAlgorithm> parse_allreduce_algorithm(std::string_view name);

// A named network with its latency and bandwidth and where the figures come from.
struct NetworkPreset {
  std::string_view name;         // "infiniband-100g", "ethernet-10g", "ethernet-1g", "wan"
  double latency_s;              // alpha: one-way small-message latency, seconds
  double bandwidth_bytes_per_s;  // 1/beta: bytes per second per link and direction
  std::string_view description;  // one line
  std::string_view source;       // where the figures come from, one line
};
std::span<const NetworkPreset> network_presets();
const NetworkPreset* find_network_preset(std::string_view name);  // nullptr if unknown

// The alpha-beta model of one all-reduce of a vector of `bytes` bytes held by each of p endpoints
// (one worker per node). Time spent on the reduction arithmetic (the gamma term), contention and
// overlap with computation are not modelled.
struct NetworkModel {
  double latency_s = 0.0;              // alpha, seconds per message
  double bandwidth_bytes_per_s = 1.0;  // 1/beta
  AllreduceAlgorithm algorithm = AllreduceAlgorithm::kRing;

  // Modelled seconds of one all-reduce; 0 when p == 1. Requires p >= 1, bytes >= 0 (throws
  // std::invalid_argument otherwise).
  //   ring:             2 (p-1) alpha + 2 (p-1)/p n beta
  //   tree:             2 ceil(log2 p) (alpha + n beta)
  //   parameter-server: 2 alpha + 2 p n beta
  double allreduce_seconds(int endpoints, std::int64_t bytes) const;
  // Bytes sent, summed over all endpoints (and the server, for parameter-server), by one
  // all-reduce; equal to the bytes received summed over all endpoints. 0 when p == 1.
  //   ring and tree: 2 (p-1) n;  parameter-server: 2 p n.
  // Same preconditions as allreduce_seconds.
  static std::int64_t allreduce_total_bytes(AllreduceAlgorithm algorithm, int endpoints,
                                            std::int64_t bytes);
  // Checks latency >= 0 and finite, bandwidth > 0 and finite; on failure sets *error (when not
  // null) to one line naming the field as "network-latency" / "network-bandwidth", its value and
  // the accepted range.
  bool IsValid(std::string* error) const;
};

}  // namespace distclip
