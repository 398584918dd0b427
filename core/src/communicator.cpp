#include "distclip/core/communicator.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <cassert>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>

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

int Communicator::rank_of(int worker) const { return worker / (num_workers_ / size()); }

void Communicator::average(std::span<const Vector> local, VectorRef mean, Traffic traffic) {
  assert(static_cast<int>(local.size()) == local_workers().size());
  if (num_workers_ == 1) {
    mean = local[0];
    return;
  }
  if (traffic == Traffic::kMeasurement) {
    average_impl(local, mean);
    return;
  }
  ++stats_.collectives;
  if (failure_ && failure_->rank == rank() && failure_->collective == stats_.collectives) {
    if (failure_->mode == FailureInjection::Mode::kKill) std::raise(SIGKILL);
    throw std::runtime_error("injected failure before algorithm collective " +
                             std::to_string(stats_.collectives));
  }
  const auto start = std::chrono::steady_clock::now();
  last_cost_ = average_impl(local, mean);
  last_cost_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats_.total.bytes_sent += last_cost_.bytes_sent;
  stats_.total.bytes_received += last_cost_.bytes_received;
  stats_.total.seconds += last_cost_.seconds;
}

namespace {
// Open MPI's mpirun, PMI-1/2 launchers (MPICH's Hydra, srun --mpi=pmi2) and
// PMIx (srun --mpi=pmix), in that order.
constexpr std::array<const char*, 3> kLauncherSize = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                                      "PMIX_RANK"};
constexpr std::array<const char*, 3> kLauncherRank = {"OMPI_COMM_WORLD_RANK", "PMI_RANK",
                                                      "PMIX_RANK"};
}  // namespace

bool launched_by_mpi() {
  return std::ranges::any_of(kLauncherSize, [](const char* name) { return std::getenv(name); });
}

int launcher_rank() {
  for (const char* name : kLauncherRank) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

namespace detail {

void ordered_mean(std::span<const Vector> vectors, int divisor, Index begin, Index end,
                  VectorRef mean) {
  const Index length = end - begin;
  auto out = mean.segment(begin, length);
  out = vectors[0].segment(begin, length);
  for (std::size_t w = 1; w < vectors.size(); ++w) out += vectors[w].segment(begin, length);
  divide(out, divisor);
}

void divide(Eigen::Ref<Vector> values, int divisor) {
  if (divisor == 1) return;
  if (std::has_single_bit(static_cast<unsigned>(divisor))) {
    values *= 1.0 / static_cast<double>(divisor);
  } else {
    values /= static_cast<double>(divisor);
  }
}

void parallel_ordered_mean(std::span<const Vector> vectors, int divisor, VectorRef mean) {
  // One block is one task: no scheduling to pay for.
  if (mean.size() <= kAverageBlock) {
    ordered_mean(vectors, divisor, 0, mean.size(), mean);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<Index>(0, mean.size(), kAverageBlock),
                    [&](const tbb::blocked_range<Index>& block) {
                      ordered_mean(vectors, divisor, block.begin(), block.end(), mean);
                    });
}

}  // namespace detail

InProcessCommunicator::InProcessCommunicator(int num_workers) : Communicator(num_workers) {
  if (num_workers < 1) throw std::invalid_argument("InProcessCommunicator: num_workers < 1");
}

void InProcessCommunicator::gather(std::span<const double> local, std::span<double> all) {
  std::copy(local.begin(), local.end(), all.begin());
}

TransportCost InProcessCommunicator::average_impl(std::span<const Vector> local, VectorRef mean) {
  assert(static_cast<int>(local.size()) == num_workers());
  detail::parallel_ordered_mean(local, num_workers(), mean);
  return {};
}

}  // namespace distclip
