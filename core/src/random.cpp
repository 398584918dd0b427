#include "distclip/core/random.hpp"

#include <boost/random/seed_seq.hpp>

namespace distclip {

Rng make_stream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index) {
  const auto lo = [](std::uint64_t v) { return static_cast<std::uint32_t>(v); };
  const auto hi = [](std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); };
  boost::random::seed_seq sequence{lo(seed), hi(seed), static_cast<std::uint32_t>(purpose),
                                   lo(index), hi(index)};
  return Rng(sequence);
}

}  // namespace distclip
