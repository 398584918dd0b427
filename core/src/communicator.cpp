#include "distclip/core/communicator.hpp"

#include <cassert>
#include <stdexcept>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

namespace distclip {

namespace {
// Coordinates per parallel block of the average: large enough to amortise a
// task, small enough to spread d = 1e5 over a few threads. Any block size
// gives the same bits, since every coordinate is summed on its own.
constexpr Index kAverageBlock = 8192;
}  // namespace

WorkerRange Communicator::local_workers() const {
  const int per_rank = num_workers_ / size();
  return {rank() * per_rank, (rank() + 1) * per_rank};
}

namespace detail {

void ordered_mean(std::span<const Vector> vectors, int divisor, Index begin, Index end,
                  VectorRef mean) {
  const Index length = end - begin;
  auto out = mean.segment(begin, length);
  out = vectors[0].segment(begin, length);
  for (std::size_t w = 1; w < vectors.size(); ++w) out += vectors[w].segment(begin, length);
  out /= static_cast<double>(divisor);
}

std::int64_t ring_allreduce_bytes(int num_workers, Index dimension) {
  // Each of N workers sends 2 (N - 1) chunks of d / N doubles.
  return 2 * static_cast<std::int64_t>(num_workers - 1) * static_cast<std::int64_t>(dimension) *
         static_cast<std::int64_t>(sizeof(double));
}

}  // namespace detail

InProcessCommunicator::InProcessCommunicator(int num_workers) : Communicator(num_workers) {
  if (num_workers < 1) throw std::invalid_argument("InProcessCommunicator: num_workers < 1");
}

void InProcessCommunicator::average(std::span<const Vector> local, VectorRef mean,
                                    Traffic traffic) {
  assert(static_cast<int>(local.size()) == num_workers());
  const Index d = mean.size();
  if (local.size() == 1) {
    mean = local[0];
    return;
  }
  tbb::parallel_for(tbb::blocked_range<Index>(0, d, kAverageBlock),
                    [&](const tbb::blocked_range<Index>& block) {
                      detail::ordered_mean(local, num_workers(), block.begin(), block.end(), mean);
                    });
  if (traffic == Traffic::kAlgorithm) {
    stats_.collectives += 1;
    stats_.bytes += detail::ring_allreduce_bytes(num_workers(), d);
  }
}

}  // namespace distclip
