// One CELGC step for N = 8 workers at d = 1e2, 1e4, 1e6: the unit of every
// sweep's cost. Reported per coordinate-update (N * d per step), so sizes
// compare directly: ns per coordinate-update = 1e9 / items_per_second.
//
// Objective: f(x) = (1/d) sum_j (x_j^4/4 - x_j^2/2) (double-well, scale
// 1/d), Gaussian noise with sigma = 1, I = 8, local clipping; each timed
// iteration is one round of I steps (one model average included), with no
// evaluation. Run:
//   build/bench/bm_step --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"

namespace distclip {
namespace {

constexpr int kWorkers = 8;
constexpr int kInterval = 8;

void BM_CelgcStep(benchmark::State& state) {
  const Index d = state.range(0);
  ObjectiveSpec spec;
  spec.family = "double-well";
  spec.dim = d;
  spec.scale = 1.0 / static_cast<double>(d);
  spec.noise.model = "gaussian";
  spec.noise.sigma = 1.0;
  const auto oracle = make_oracle(spec);

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
    ->ArgsProduct({{100, 10'000, 1'000'000}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace distclip

BENCHMARK_MAIN();
