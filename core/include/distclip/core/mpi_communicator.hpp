// Workers on MPI ranks: N workers in R contiguous blocks, one block per
// rank, each rank running its block on its own oneTBB threads. Built with
// DISTCLIP_WITH_MPI (target distclip::mpi).
#pragma once

#include <mpi.h>

#include <string_view>
#include <vector>

#include "distclip/core/communicator.hpp"

namespace distclip {

// MPI for the whole process: initialised once, at construction, and
// finalised at destruction. MPI calls come from the thread that runs the
// Runner, one at a time, so MPI_THREAD_SERIALIZED is required and checked.
class MpiSession {
 public:
  // Throws std::runtime_error if MPI is already initialised or cannot give
  // MPI_THREAD_SERIALIZED.
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // This process's rank in MPI_COMM_WORLD, and its size.
  static int rank();
  static int size();
  // Stops every rank of MPI_COMM_WORLD with `code`; never returns.
  [[noreturn]] static void abort(int code);
};

// How the model and gradient averages are reduced across ranks.
enum class Reduction {
  // Worker order 0..N-1, bitwise equal to the in-process backend: a pipelined
  // chain through the ranks in order (see average_impl), then a pipelined
  // broadcast. Each rank sends at most 2 d doubles, as a ring all-reduce's
  // 2 (R-1)/R d within a factor R/(R-1) for R > 2, and equal for R = 2.
  kOrdered,
  // Each rank sums its own workers, then MPI_Allreduce: the sum's order
  // depends on R and on MPI's algorithm, so results are NOT bitwise
  // reproducible across rank counts or against the in-process backend.
  kFast,
};

std::string_view to_string(Reduction reduction);

class MpiCommunicator final : public Communicator {
 public:
  // Works on a duplicate of `comm`. Throws std::invalid_argument when the
  // number of ranks does not divide `num_workers`. `chunk` is the number of
  // coordinates per pipelined message of the ordered reduction.
  MpiCommunicator(MPI_Comm comm, int num_workers, Reduction reduction = Reduction::kOrdered,
                  Index chunk = kDefaultChunk);
  ~MpiCommunicator() override;

  static constexpr Index kDefaultChunk = Index{1} << 15;  // 256 KiB of doubles
  // Vectors of at most 4 chunks move in messages of this many doubles
  // (3840 bytes), under Open MPI's 4 KiB shared-memory eager limit.
  static constexpr Index kEagerChunk = 480;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool bitwise_reproducible() const override { return reduction_ == Reduction::kOrdered; }
  std::string_view name() const override;
  Reduction reduction() const { return reduction_; }

  double max(double local) override;
  std::int64_t min(std::int64_t local) override;
  std::int64_t sum(std::int64_t local) override;
  double sum(double local) override;
  double broadcast(double value, int root) override;
  void gather(std::span<const double> local, std::span<double> all) override;

 protected:
  TransportCost average_impl(std::span<const Vector> local, VectorRef mean) override;

 private:
  TransportCost ordered_average(std::span<const Vector> local, VectorRef mean);
  TransportCost fast_average(std::span<const Vector> local, VectorRef mean);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  Reduction reduction_;
  Index chunk_;
  Vector partial_;  // partial sums in flight; sized at the first average
  std::vector<MPI_Request> receives_;
  std::vector<MPI_Request> sends_;
};

}  // namespace distclip
