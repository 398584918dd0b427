// The MPI model average against plain MPI_Allreduce: what the ordered
// (bitwise-reproducible) reduction costs over the library's own. Every rank
// runs every case, in the same order, with iteration counts fixed in
// advance; only rank 0 reports. A case's time per iteration is the slowest
// rank's, measured between barriers, so it is the collective's time.
//
// Cases, for d in {1e3, 1e5, 1e7} doubles and N = 2 and 8 workers:
//   BM_OrderedAverage       MpiCommunicator::average, Reduction::kOrdered
//   BM_FastAverage          the same with Reduction::kFast
//   BM_MpiAllreduce         MPI_Allreduce(MPI_SUM) of one d-vector per rank,
//                           preceded by the local sum of the rank's workers
//                           when it hosts more than one (the work of fast
//                           without the copy and the division by N)
//   BM_OrderedAverageChunk  kOrdered at d = 1e7, N = 2, by chunk size
// Bytes per second count d * 8 bytes per iteration. Run (bench/README.md):
//   mpirun -np 2 build/bench/bm_allreduce --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include <oneapi/tbb/global_control.h>

#include "distclip/core/communicator.hpp"
#include "distclip/core/mpi_communicator.hpp"

namespace distclip {
namespace {

// The ranks are the parallelism, as in `mpirun -np R distclip run --threads 1`;
// on a machine with R cores more threads per rank only oversubscribe it.
constexpr int kThreadsPerRank = 1;

constexpr Index kSizes[] = {1'000, 100'000, 10'000'000};
constexpr int kWorkerCounts[] = {2, 8};
constexpr Index kChunkSweepSize = 10'000'000;
constexpr Index kChunks[] = {Index{1} << 12, Index{1} << 14, Index{1} << 15,
                             Index{1} << 16, Index{1} << 18, Index{1} << 20};

// Fixed, so that every rank runs the same number of collectives: Google
// Benchmark's own choice follows each rank's timing and could differ between
// ranks, leaving one waiting in a collective the others never call. Chosen
// for about 0.2 to 1 s a case on 2 ranks of a 2-core machine.
benchmark::IterationCount iterations_for(Index d) {
  if (d <= 1'000) return 20'000;
  if (d <= 100'000) return 1'000;
  return 8;
}

// This rank's block of the N workers' vectors, with distinct values.
std::vector<Vector> local_workers(Index d, int num_workers) {
  const int per_rank = num_workers / MpiSession::size();
  std::vector<Vector> workers;
  for (int w = 0; w < per_rank; ++w) {
    const double worker = MpiSession::rank() * per_rank + w;
    workers.push_back(Vector::LinSpaced(d, worker, worker + 1.0));
  }
  return workers;
}

// Whether N workers split into equal blocks over the ranks; says why not.
bool check_workers(benchmark::State& state, int num_workers) {
  if (num_workers % MpiSession::size() == 0) return true;
  state.SkipWithError("the rank count does not divide N");  // alike on every rank
  return false;
}

// Times `collective` once per iteration, starting every rank together at a
// barrier, and records the slowest rank's time: the collective is done when
// its last rank is.
template <class Collective>
void time_collective(benchmark::State& state, Index d, Collective&& collective) {
  for (auto _ : state) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    collective();
    double elapsed = MPI_Wtime() - start;
    MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    state.SetIterationTime(elapsed);
  }
  state.SetBytesProcessed(state.iterations() * d * static_cast<std::int64_t>(sizeof(double)));
  state.counters["ranks"] = MpiSession::size();
}

void run_average(benchmark::State& state, Reduction reduction, Index chunk) {
  const Index d = state.range(0);
  const int num_workers = static_cast<int>(state.range(1));
  if (!check_workers(state, num_workers)) return;
  const std::vector<Vector> workers = local_workers(d, num_workers);
  Vector mean(d);
  MpiCommunicator communicator(MPI_COMM_WORLD, num_workers, reduction, chunk);
  communicator.average(workers, mean, Traffic::kAlgorithm);  // sizes its buffers

  time_collective(state, d,
                  [&] { communicator.average(workers, mean, Traffic::kAlgorithm); });
  // Per average, on rank 0, as the communicator counts it.
  state.counters["sent_bytes"] = static_cast<double>(communicator.last_cost().bytes_sent);
}

void BM_OrderedAverage(benchmark::State& state) {
  run_average(state, Reduction::kOrdered, MpiCommunicator::kDefaultChunk);
}

void BM_FastAverage(benchmark::State& state) {
  run_average(state, Reduction::kFast, MpiCommunicator::kDefaultChunk);
}

void BM_OrderedAverageChunk(benchmark::State& state) {
  state.counters["chunk"] = static_cast<double>(state.range(2));
  run_average(state, Reduction::kOrdered, state.range(2));
}

void BM_MpiAllreduce(benchmark::State& state) {
  const Index d = state.range(0);
  const int num_workers = static_cast<int>(state.range(1));
  if (!check_workers(state, num_workers)) return;
  const std::vector<Vector> workers = local_workers(d, num_workers);
  Vector local_sum(d);
  Vector sum(d);
  const int count = static_cast<int>(d);

  time_collective(state, d, [&] {
    const double* send = workers[0].data();
    if (workers.size() > 1) {
      detail::parallel_ordered_mean(workers, 1, local_sum);
      send = local_sum.data();
    }
    MPI_Allreduce(send, sum.data(), count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  });
}

void register_benchmarks() {
  const auto each_size = [](const char* name, void (*function)(benchmark::State&)) {
    for (const Index d : kSizes) {
      for (const int num_workers : kWorkerCounts) {
        benchmark::RegisterBenchmark(name, function)
            ->ArgNames({"d", "N"})
            ->Args({d, num_workers})
            ->Iterations(iterations_for(d))
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  };
  each_size("BM_OrderedAverage", BM_OrderedAverage);
  each_size("BM_FastAverage", BM_FastAverage);
  each_size("BM_MpiAllreduce", BM_MpiAllreduce);
  for (const Index chunk : kChunks) {
    benchmark::RegisterBenchmark("BM_OrderedAverageChunk", BM_OrderedAverageChunk)
        ->ArgNames({"d", "N", "chunk"})
        ->Args({kChunkSweepSize, 2, chunk})
        ->Iterations(iterations_for(kChunkSweepSize))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

// Reports nothing: the display of ranks other than 0.
class NullReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

bool writes_out_file(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with("--benchmark_out=")) return true;
  }
  return false;
}

}  // namespace
}  // namespace distclip

int main(int argc, char** argv) {
  using namespace distclip;
  MpiSession session(&argc, &argv);
  const tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                                    kThreadsPerRank);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;  // alike on every rank
  register_benchmarks();
  try {
    if (session.rank() == 0) {
      benchmark::RunSpecifiedBenchmarks();
    } else {
      // Runs every case too, so the collectives match; --benchmark_out is
      // written by rank 0 alone.
      NullReporter display;
      NullReporter file;
      benchmark::RunSpecifiedBenchmarks(&display, writes_out_file(argc, argv) ? &file : nullptr);
    }
  } catch (const std::exception& error) {
    std::cerr << "rank " << session.rank() << ": " << error.what() << '\n';
    MpiSession::abort(1);
  }
  benchmark::Shutdown();
  return 0;
}
