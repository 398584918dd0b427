// How N workers exchange vectors. Workers live on one or more ranks
// (processes), each rank hosting a contiguous block of workers; a
// Communicator offers the collectives the algorithms need and counts what
// they cost. Backends: in-process (this header's InProcessCommunicator) and,
// later, MPI.
#pragma once

#include <cstdint>
#include <span>

#include "distclip/core/types.hpp"

namespace distclip {

// The global worker indices [begin, end) hosted by one rank.
struct WorkerRange {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
  bool contains(int worker) const { return begin <= worker && worker < end; }
};

// Whether a collective is part of the algorithm (and so counted as
// communication) or only forms a quantity that is measured, such as the
// averaged iterate xbar_t that the paper analyses but CELGC never forms.
enum class Traffic { kAlgorithm, kMeasurement };

// Totals of the algorithm's communication, over all workers.
struct CommunicationStats {
  std::int64_t collectives = 0;  // vector all-reduces performed
  std::int64_t bytes = 0;        // bytes sent, summed over all workers
};

// Contract:
//  - Collectives are called by every rank, in the same order, with the same
//    sizes; a rank that skips one deadlocks the others.
//  - average() sums the N workers' vectors in worker order 0, 1, ..., N-1 and
//    then divides by N, coordinate by coordinate, so its result is bitwise the
//    same for every backend, rank count and thread count.
//  - With one worker every collective is a copy and nothing is counted.
class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // This process's rank and the number of ranks.
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // N, the number of workers over all ranks.
  int num_workers() const { return num_workers_; }
  // The workers this rank hosts: block rank() of size() equal blocks.
  // size() divides N; a backend with several ranks rejects any other N.
  WorkerRange local_workers() const;

  // mean = (1/N) sum_{w=0}^{N-1} v_w, on every rank, where `local` holds
  // v_w for this rank's workers in order. Algorithm traffic is counted.
  virtual void average(std::span<const Vector> local, VectorRef mean, Traffic traffic) = 0;

  // The maximum over all ranks of `local`.
  virtual double max(double local) = 0;
  // The sum over all ranks of `local` (exact: integers).
  virtual std::int64_t sum(std::int64_t local) = 0;

  const CommunicationStats& stats() const { return stats_; }

 protected:
  explicit Communicator(int num_workers) : num_workers_(num_workers) {}
  CommunicationStats stats_;

 private:
  int num_workers_;
};

// All N workers in this process, on the caller's threads. average() runs
// in parallel over fixed blocks of coordinates inside the caller's oneTBB
// arena. Bytes are counted as a ring all-reduce among N workers would send:
// 2 (N - 1) / N * d * 8 bytes per worker and vector.
class InProcessCommunicator final : public Communicator {
 public:
  explicit InProcessCommunicator(int num_workers);

  int rank() const override { return 0; }
  int size() const override { return 1; }
  void average(std::span<const Vector> local, VectorRef mean, Traffic traffic) override;
  double max(double local) override { return local; }
  std::int64_t sum(std::int64_t local) override { return local; }
};

namespace detail {
// The fixed-order mean over workers, for coordinates [begin, end): shared by
// every backend so that all of them produce the same bits.
void ordered_mean(std::span<const Vector> vectors, int divisor, Index begin, Index end,
                  VectorRef mean);
// Bytes a ring all-reduce of `dimension` doubles sends, summed over workers.
std::int64_t ring_allreduce_bytes(int num_workers, Index dimension);
}  // namespace detail

}  // namespace distclip
