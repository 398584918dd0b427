// How N workers exchange vectors. Workers live on one or more ranks
// (processes), each rank hosting a contiguous block of workers; a
// Communicator offers the collectives the algorithms need and measures what
// they cost on this rank. Backends: in-process (this header) and MPI
// (mpi_communicator.hpp, built with DISTCLIP_WITH_MPI).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "distclip/core/record.hpp"
#include "distclip/core/types.hpp"

namespace distclip {

// The global worker indices [begin, end) hosted by one rank.
struct WorkerRange {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
  bool contains(int worker) const { return begin <= worker && worker < end; }
};

// Whether a collective is part of the algorithm (and so counted and timed as
// communication) or only forms a quantity that is measured, such as the
// averaged iterate xbar_t that the paper analyses but CELGC never forms.
enum class Traffic { kAlgorithm, kMeasurement };

struct CommunicationStats {
  std::int64_t collectives = 0;  // algorithm vector averages performed
  TransportCost total;           // summed over them, on this rank
};

// A deliberate failure, for testing that a failing rank stops every rank:
// before its `collective`-th algorithm average (counting from 1), `rank`
// throws or kills itself.
struct FailureInjection {
  enum class Mode { kThrow, kKill };
  int rank = 0;
  std::int64_t collective = 1;
  Mode mode = Mode::kThrow;
};

// Contract:
//  - Every rank calls the collectives in the same order with the same sizes:
//    the Runner's order is, per round, the model average, then (clip options
//    global-average and max, and the minibatch methods every step) the
//    gradient average, then min() to agree on divergence; per evaluation,
//    the measurement average, max() and sum(). A rank that skips one
//    deadlocks the others.
//  - average() sums the N workers' vectors in worker order 0, 1, ..., N-1 and
//    then divides by N, coordinate by coordinate, so its result is bitwise the
//    same for every backend, rank count and thread count (unless a backend
//    documents a mode that is not, such as MPI's `fast` reduction).
//  - With one worker every collective is a copy and nothing is counted.
class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // This process's rank and the number of ranks.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Whether average() is the fixed-order mean (see the contract).
  virtual bool bitwise_reproducible() const { return true; }
  // "in-process", "mpi-ordered" or "mpi-fast".
  virtual std::string_view name() const = 0;

  // N, the number of workers over all ranks.
  int num_workers() const { return num_workers_; }
  // The workers this rank hosts: block rank() of size() equal blocks.
  WorkerRange local_workers() const;
  // The rank hosting `worker`.
  int rank_of(int worker) const;

  // mean = (1/N) sum_{w=0}^{N-1} v_w, on every rank, where `local` holds
  // v_w for this rank's workers in order. Algorithm traffic is counted and
  // timed, and is where an injected failure strikes.
  void average(std::span<const Vector> local, VectorRef mean, Traffic traffic);

  // Scalar collectives over ranks, for agreement and measurement.
  virtual double max(double local) = 0;
  virtual std::int64_t min(std::int64_t local) = 0;
  virtual std::int64_t sum(std::int64_t local) = 0;
  virtual double sum(double local) = 0;
  // `value` as `root` has it, on every rank.
  virtual double broadcast(double value, int root) = 0;
  // On rank 0, `all` receives every rank's `local` in rank order (size()
  // blocks of local.size()); elsewhere `all` is untouched and may be empty.
  virtual void gather(std::span<const double> local, std::span<double> all) = 0;

  const CommunicationStats& stats() const { return stats_; }
  // A run resumed from a checkpoint goes on counting from the saved stats.
  void restore_stats(const CommunicationStats& stats) { stats_ = stats; }
  // The cost of the last algorithm average.
  const TransportCost& last_cost() const { return last_cost_; }
  void inject_failure(const FailureInjection& failure) { failure_ = failure; }

 protected:
  explicit Communicator(int num_workers) : num_workers_(num_workers) {}
  // The backend's average; returns the bytes this rank sent and received.
  virtual TransportCost average_impl(std::span<const Vector> local, VectorRef mean) = 0;

 private:
  int num_workers_;
  CommunicationStats stats_;
  TransportCost last_cost_;
  std::optional<FailureInjection> failure_;
};

// All N workers in this process, on the caller's threads. average() runs
// in parallel over fixed blocks of coordinates inside the caller's oneTBB
// arena; nothing crosses a process boundary, so no bytes are counted.
class InProcessCommunicator final : public Communicator {
 public:
  explicit InProcessCommunicator(int num_workers);

  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string_view name() const override { return "in-process"; }
  double max(double local) override { return local; }
  std::int64_t min(std::int64_t local) override { return local; }
  std::int64_t sum(std::int64_t local) override { return local; }
  double sum(double local) override { return local; }
  double broadcast(double value, int) override { return value; }
  void gather(std::span<const double> local, std::span<double> all) override;

 protected:
  TransportCost average_impl(std::span<const Vector> local, VectorRef mean) override;
};

// Whether this process was started by an MPI launcher (mpirun, mpiexec or
// srun), judged from the environment the launchers set; needs no MPI.
bool launched_by_mpi();
// The rank the launcher gave this process, before MPI starts; 0 without one.
int launcher_rank();

namespace detail {
// The fixed-order mean over workers, for coordinates [begin, end): shared by
// every backend so that all of them produce the same bits.
void ordered_mean(std::span<const Vector> vectors, int divisor, Index begin, Index end,
                  VectorRef mean);
// The same over all coordinates, in parallel blocks of the caller's arena.
void parallel_ordered_mean(std::span<const Vector> vectors, int divisor, VectorRef mean);
// values /= divisor, bitwise. A division costs several multiplications and
// sits on the MPI chain's serial path; when divisor is a power of two,
// multiplying by its reciprocal (exact) rounds the same exact value once,
// so it gives the same bits.
void divide(Eigen::Ref<Vector> values, int divisor);
}  // namespace detail

}  // namespace distclip
