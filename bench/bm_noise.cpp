// The cost of noise: the keyed normal kernels (ns per normal) and every noise
// model's add() (ns per coordinate), at d = 1e2, 1e4, 1e6, one thread.
// ns per sample = 1e9 / items_per_second. Run:
//   build/bench/bm_noise --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <boost/random/normal_distribution.hpp>

#include "distclip/objectives/noise.hpp"
#include "normal_fill.hpp"  // objectives/src

namespace distclip {
namespace {

using detail::NormalKernel;

void BM_KeyedNormals(benchmark::State& state) {
  const auto kernel = static_cast<NormalKernel>(state.range(0));
  const Index d = state.range(1);
  if (!detail::normal_kernel_supported(kernel)) {
    state.SkipWithError("this processor lacks the kernel");
    return;
  }
  Vector g = Vector::Zero(d);
  std::uint64_t key = 1;
  for (auto _ : state) {
    detail::add_scaled_standard_normals(key++, 0.1, g.data(), d, kernel);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(state.iterations() * d);
}

BENCHMARK(BM_KeyedNormals)
    ->ArgNames({"kernel", "d"})
    ->ArgsProduct({{static_cast<int>(NormalKernel::kScalar), static_cast<int>(NormalKernel::kAvx2),
                    static_cast<int>(NormalKernel::kAvx512)},
                   {100, 10'000, 1'000'000}});

// The reference: Boost's normal_distribution (the same ziggurat, all of it
// per draw) on the worker streams' Mersenne Twister, as the gaussian model
// drew before the keyed kernels.
void BM_BoostNormal(benchmark::State& state) {
  const Index d = state.range(0);
  Vector g = Vector::Zero(d);
  Rng rng = make_stream(1, StreamPurpose::kTest, 0);
  boost::random::normal_distribution<double> normal(0.0, 0.1);
  for (auto _ : state) {
    for (Index i = 0; i < d; ++i) g[i] += normal(rng);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(state.iterations() * d);
}

BENCHMARK(BM_BoostNormal)->ArgName("d")->Arg(100)->Arg(10'000)->Arg(1'000'000);

void BM_NoiseModel(benchmark::State& state, const std::string& model) {
  const Index d = state.range(0);
  NoiseSpec spec;
  spec.model = model;
  const auto noise = make_noise(spec, d);
  Vector g = Vector::Zero(d), scratch(d);
  Rng rng = make_stream(1, StreamPurpose::kTest, 0);
  for (auto _ : state) {
    noise->add(rng, g, scratch);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(state.iterations() * d);
}

BENCHMARK_CAPTURE(BM_NoiseModel, gaussian, std::string("gaussian"))->Arg(100)->Arg(10'000)->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_NoiseModel, ball, std::string("ball"))->Arg(100)->Arg(10'000)->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_NoiseModel, truncated_gaussian, std::string("truncated-gaussian"))
    ->Arg(100)->Arg(10'000)->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_NoiseModel, student_t, std::string("student-t"))->Arg(100)->Arg(10'000);

}  // namespace
}  // namespace distclip

BENCHMARK_MAIN();
