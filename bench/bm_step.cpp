// The cost of a CELGC step and of its parts, per coordinate-update (N d per
// step; ns per coordinate-update = 1e9 / items_per_second), beside the
// machine's memory bandwidth measured in the same run:
//   - BM_CelgcStep: one round of I = 8 CELGC steps of N = 8 in-process
//     workers (one model average included, no evaluation) at d = 1e2, 1e4,
//     1e5, 1e6 on 1 and 2 threads, the unit of every sweep's cost;
//   - BM_LocalStep: one worker's step alone: stochastic gradient (gradient
//     and noise), its norm, the clipped update;
//   - BM_Average: the ordered average of N = 8 models (a round's
//     communication in one process);
//   - BM_Triad: a = b + s c over d doubles (STREAM's triad, 24 bytes per
//     element), the bandwidth limit the bytes model of bench/README.md is
//     read against.
// Objective: f(x) = (1/d) sum_j (x_j^4/4 - x_j^2/2) (double-well, scale
// 1/d), Gaussian noise with sigma = 1, I = 8, local clipping. Run:
//   build/bench/bm_step --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// (add --benchmark_format=json for JSON).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"

namespace distclip {
namespace {

constexpr int kWorkers = 8;
constexpr int kInterval = 8;

ObjectiveSpec scaled_double_well(Index d) {
  ObjectiveSpec spec;
  spec.family = "double-well";
  spec.dim = d;
  spec.scale = 1.0 / static_cast<double>(d);
  spec.noise.model = "gaussian";
  spec.noise.sigma = 1.0;
  return spec;
}

void BM_CelgcStep(benchmark::State& state) {
  const Index d = state.range(0);
  const auto oracle = make_oracle(scaled_double_well(d));
  RunOptions options;
  options.num_workers = kWorkers;
  options.sync_interval = kInterval;
  options.step_size = 0.05;
  options.clip_threshold = 0.5;
  options.threads = static_cast<int>(state.range(1));
  InProcessCommunicator communicator(kWorkers);
  Runner runner(kCelgc, *oracle, communicator, options);
  runner.advance_to(kInterval);  // warm caches and threads outside the timing

  for (auto _ : state) {
    if (!runner.advance_to(runner.step() + kInterval)) {
      state.SkipWithError("diverged");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kInterval * kWorkers * d);
  state.counters["steps"] = benchmark::Counter(static_cast<double>(state.iterations() * kInterval),
                                               benchmark::Counter::kIsRate);
}

BENCHMARK(BM_CelgcStep)
    ->ArgNames({"d", "threads"})
    ->ArgsProduct({{100, 10'000, 100'000, 1'000'000}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_LocalStep(benchmark::State& state) {
  const Index d = state.range(0);
  const auto oracle = make_oracle(scaled_double_well(d));
  oracle->reserve_workers(1);
  Vector x(d), g(d);
  oracle->initial_point(x);
  Rng rng = worker_stream(1, 0);
  const double eta = 0.05, gamma = 0.5;
  for (auto _ : state) {
    oracle->stochastic_gradient(x, 0, rng, g);
    const double norm = g.norm();
    x.noalias() -= step_length(StepRule::kClipped, eta, gamma, norm) * g;
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * d);
}

BENCHMARK(BM_LocalStep)->ArgName("d")->Arg(100)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

void BM_Average(benchmark::State& state) {
  const Index d = state.range(0);
  std::vector<Vector> models(kWorkers, Vector::Ones(d));
  Vector mean(d);
  InProcessCommunicator communicator(kWorkers);
  for (auto _ : state) {
    communicator.average(models, mean, Traffic::kAlgorithm);
    benchmark::DoNotOptimize(mean.data());
  }
  // Per averaged coordinate of one worker: N d per average.
  state.SetItemsProcessed(state.iterations() * kWorkers * d);
}

BENCHMARK(BM_Average)->ArgName("d")->Arg(100)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

void BM_Triad(benchmark::State& state) {
  const Index d = state.range(0);
  Vector a = Vector::Zero(d), b = Vector::Ones(d), c = Vector::Ones(d);
  for (auto _ : state) {
    a.noalias() = b + 0.5 * c;
    benchmark::DoNotOptimize(a.data());
  }
  state.SetBytesProcessed(state.iterations() * 24 * d);
}

// 3 x 80 KB at 1e4 (in a core's L2), 3 x 8 MB at 1e6 (in the L3 of the
// reference machine), 3 x 64 MB at 8e6 (out of every cache: memory's bandwidth).
BENCHMARK(BM_Triad)->ArgName("d")->Arg(10'000)->Arg(1'000'000)->Arg(8'000'000);

}  // namespace
}  // namespace distclip

BENCHMARK_MAIN();
