// The Oracle contract's "no method allocates once reserve_workers()
// returned", checked on stochastic_gradient() for every family and noise
// model, and the runner's step loop for every algorithm, by counting calls
// to malloc (Eigen allocates with malloc, operator new ends in it too). Its
// own binary, since it replaces malloc.
#include <atomic>
#include <cstddef>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "objectives/objective_checks.hpp"

// Sanitizers interpose malloc themselves: the count is then skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DISTCLIP_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define DISTCLIP_COUNT_MALLOC 0
#endif
#endif
#if !defined(DISTCLIP_COUNT_MALLOC)
#if defined(__GLIBC__)
#define DISTCLIP_COUNT_MALLOC 1
#else
#define DISTCLIP_COUNT_MALLOC 0
#endif
#endif

#if DISTCLIP_COUNT_MALLOC
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* __libc_calloc(std::size_t count, std::size_t size);
extern "C" void* __libc_realloc(void* pointer, std::size_t size);

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Interposed for the whole program: count, then defer to glibc.
extern "C" void* malloc(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
extern "C" void* calloc(std::size_t count, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
extern "C" void* realloc(void* pointer, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(pointer, size);
}
#endif

namespace distclip::test {
namespace {

#if DISTCLIP_COUNT_MALLOC
long count_allocations_in(const auto& body) {
  const long before = allocations.load();
  body();
  return allocations.load() - before;
}

TEST(NoAllocation, CounterSeesEigenAllocations) {
  EXPECT_GE(count_allocations_in([] {
              Vector v(100);
              v.setZero();
            }),
            1);
}

TEST(NoAllocation, StochasticGradientAfterReserveWorkers) {
  for (const auto& family : family_names()) {
    for (const std::string model :
         {"none", "ball", "truncated-gaussian", "gaussian", "student-t"}) {
      ObjectiveSpec spec = family_spec(family, 40);
      spec.noise.model = model;
      spec.batch_size = 5;
      const auto oracle = make_oracle(spec);
      oracle->reserve_workers(3);
      Vector x(40), g(40);
      oracle->initial_point(x);
      Rng rng = worker_stream(5, 2);
      const long count = count_allocations_in([&] {
        for (int t = 0; t < 20; ++t) oracle->stochastic_gradient(x, 2, rng, g);
      });
      EXPECT_EQ(count, 0) << family << " + " << model;
      // value() and gradient() do not allocate either (phase-retrieval uses
      // scratch made at construction).
      EXPECT_EQ(count_allocations_in([&] {
                  oracle->gradient(x, g);
                  (void)oracle->value(x);
                }),
                0)
          << family;
    }
  }
}
// The step loop: after one warm-up round (oneTBB's first tasks, the
// arena's threads), 3 more rounds of every algorithm allocate nothing, on
// 1 and 2 threads, heterogeneous data included; nor does an evaluation.
// d = 64 runs the workers inline, d = 4096 (4 x 4096 coordinates a step,
// Runner::kParallelWork) on oneTBB's parallel loop.
TEST(NoAllocation, RunnerStepsAfterWarmUp) {
  for (const Algorithm& algorithm : algorithms()) {
    for (const auto& [threads, dim] : {std::pair{1, 64}, std::pair{2, 64}, std::pair{2, 4096}}) {
      ObjectiveSpec spec = family_spec("double-well", dim);
      spec.noise.model = "gaussian";
      const int workers = algorithm.single_machine() ? 1 : 4;
      if (workers > 1) spec.heterogeneity = 0.5;
      const auto oracle = make_oracle(spec, workers);
      RunOptions options;
      options.num_workers = workers;
      options.sync_interval = 4;
      options.step_size = 0.01;
      options.clip_threshold = 0.5;
      options.max_steps = 1000;
      options.threads = threads;
      InProcessCommunicator communicator(workers);
      Runner runner(algorithm, *oracle, communicator, options);
      ASSERT_TRUE(runner.advance_to(4));
      runner.evaluate();
      const long steps = count_allocations_in([&] { ASSERT_TRUE(runner.advance_to(16)); });
      EXPECT_EQ(steps, 0) << algorithm.name << ", d = " << dim << ", " << threads << " threads";
      const long evaluation = count_allocations_in([&] { runner.evaluate(); });
      EXPECT_EQ(evaluation, 0) << algorithm.name << ", d = " << dim << ", " << threads
                               << " threads";
    }
  }
}
#else
TEST(NoAllocation, NeedsGlibcWithoutSanitizers) {
  GTEST_SKIP() << "counting malloc needs glibc and no sanitizer";
}
#endif

}  // namespace
}  // namespace distclip::test
