// The oracle's value and gradient per synthetic family and dimension, ns per
// coordinate (1e9 / items_per_second): what a step costs before its noise.
// phase-retrieval is a finite sum over n = 8 d samples, so its cost per
// coordinate grows with d and it stops at d = 1e3. Run:
//   build/bench/bm_oracle --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "distclip/objectives/catalog.hpp"

namespace distclip {
namespace {

void BM_Gradient(benchmark::State& state, const std::string& family) {
  ObjectiveSpec spec;
  spec.family = family;
  spec.dim = state.range(0);
  const auto oracle = make_oracle(spec);
  Vector x(spec.dim), g(spec.dim);
  oracle->initial_point(x);
  for (auto _ : state) {
    oracle->gradient(x, g);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(state.iterations() * spec.dim);
}

void BM_Value(benchmark::State& state, const std::string& family) {
  ObjectiveSpec spec;
  spec.family = family;
  spec.dim = state.range(0);
  const auto oracle = make_oracle(spec);
  Vector x(spec.dim);
  oracle->initial_point(x);
  for (auto _ : state) benchmark::DoNotOptimize(oracle->value(x));
  state.SetItemsProcessed(state.iterations() * spec.dim);
}

#define DISTCLIP_ORACLE_BENCHMARKS(name, family)                                          \
  BENCHMARK_CAPTURE(BM_Gradient, name, std::string(family))->Arg(100)->Arg(10'000)->Arg(1'000'000); \
  BENCHMARK_CAPTURE(BM_Value, name, std::string(family))->Arg(100)->Arg(10'000)->Arg(1'000'000)

DISTCLIP_ORACLE_BENCHMARKS(double_well, "double-well");
DISTCLIP_ORACLE_BENCHMARKS(quartic, "quartic");
DISTCLIP_ORACLE_BENCHMARKS(cosh_well, "cosh-well");
DISTCLIP_ORACLE_BENCHMARKS(rippled_quadratic, "rippled-quadratic");
DISTCLIP_ORACLE_BENCHMARKS(zero_chain, "zero-chain");
BENCHMARK_CAPTURE(BM_Gradient, phase_retrieval, std::string("phase-retrieval"))->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(BM_Value, phase_retrieval, std::string("phase-retrieval"))->Arg(100)->Arg(1000);

}  // namespace
}  // namespace distclip

BENCHMARK_MAIN();
