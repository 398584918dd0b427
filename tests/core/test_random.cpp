// Per-worker random streams: reproducible from (seed, purpose, index), and
// distinct across workers, seeds and purposes.
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "distclip/core/random.hpp"

namespace distclip {
namespace {

std::vector<std::uint64_t> draws(Rng rng, int count) {
  std::vector<std::uint64_t> out;
  for (int k = 0; k < count; ++k) out.push_back(rng());
  return out;
}

TEST(Random, SameSeedAndWorkerGiveTheSameStream) {
  EXPECT_EQ(draws(worker_stream(42, 3), 100), draws(worker_stream(42, 3), 100));
}

TEST(Random, StreamsDifferAcrossWorkersSeedsAndPurposes) {
  std::set<std::vector<std::uint64_t>> seen;
  for (std::uint64_t seed : {0ULL, 1ULL, 1ULL << 32, ~0ULL}) {
    for (int worker = 0; worker < 8; ++worker) {
      EXPECT_TRUE(seen.insert(draws(worker_stream(seed, worker), 4)).second)
          << "seed " << seed << " worker " << worker;
    }
    EXPECT_TRUE(seen.insert(draws(make_stream(seed, StreamPurpose::kData, 0), 4)).second);
  }
}

TEST(Random, HighBitsOfTheSeedMatter) {
  // A seed truncated to 32 bits would make these two streams equal.
  EXPECT_NE(draws(worker_stream(5, 0), 4), draws(worker_stream(5 + (1ULL << 32), 0), 4));
}

}  // namespace
}  // namespace distclip
