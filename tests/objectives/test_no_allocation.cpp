// The Oracle contract's "no method allocates once reserve_workers()
// returned", checked on stochastic_gradient() for every family and noise
// model by counting calls to malloc (Eigen allocates with malloc, operator
// new ends in it too). Its own binary, since it replaces malloc.
#include <atomic>
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

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
#else
TEST(NoAllocation, NeedsGlibcWithoutSanitizers) {
  GTEST_SKIP() << "counting malloc needs glibc and no sanitizer";
}
#endif

}  // namespace
}  // namespace distclip::test
