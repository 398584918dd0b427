// Random streams. Every random draw of a run comes from a stream derived from
// (run seed, purpose, index): worker i draws only from its own stream, so a
// result never depends on scheduling, thread count, rank count or backend.
#pragma once

#include <boost/random/mersenne_twister.hpp>
#include <cstdint>

namespace distclip {

// The engine of every stream (Boost.Random, 64-bit Mersenne Twister).
using Rng = boost::random::mt19937_64;

// What a stream is for; streams of different purposes never coincide.
enum class StreamPurpose : std::uint32_t {
  kWorker = 0,  // worker i's stochastic gradients (noise, minibatches)
  kData = 1,    // generated data of an objective (keyed by its data seed)
  kInit = 2,    // random initial points
  kTest = 3,    // tests and benchmarks
  kBootstrap = 4,  // resampling in analysis (keyed by the bootstrap seed)
  kHeterogeneity = 5,  // the workers' tilts of a heterogeneous synthetic objective (data seed)
};

// A stream seeded from (seed, purpose, index) through Boost's seed_seq, which
// mixes all 160 bits into the engine's whole state.
Rng make_stream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index);

// Worker `worker`'s stream for the run seeded with `seed`.
inline Rng worker_stream(std::uint64_t seed, int worker) {
  return make_stream(seed, StreamPurpose::kWorker, static_cast<std::uint64_t>(worker));
}

}  // namespace distclip
