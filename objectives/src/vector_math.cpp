// exp over float arrays on glibc's libmvec, called explicitly in blocks of
// 8 (AVX2) or 4 (SSE2) lanes from the first element, the tail padded to a
// full block. Every element goes through the same vector routine and the
// sum through the same lanes in the same order, whatever the array's
// alignment: a compiler-vectorised loop would peel an alignment-dependent
// head through the scalar expf, whose results differ from the vector
// routine's, and the same batch would give different bits from one heap
// address to the next. libmvec's expf is accurate to a few ulp (measured:
// relative error below 6e-7).
#include "vector_math.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

extern "C" {
// glibc's vector expf (libmvec): SSE2, 4 lanes, and AVX2, 8 lanes, under the
// x86-64 vector function ABI names.
__m128 _ZGVbN4v_expf(__m128 x);
// The AVX2 one's declaration carries its target: clang rejects a call with
// 256-bit vector arguments to a function compiled for SSE2 (the ABI differs).
__attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256 x);
}

namespace distclip::detail {

namespace {

__attribute__((target("avx2,fma"))) float exp_shifted_sum_avx2(float* z, Index n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  Index i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(z + i), s));
    _mm256_storeu_ps(z + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  alignas(32) float lanes[8];
  if (i < n) {
    // exp(-inf) = 0 pads the block without touching the sum.
    std::fill(lanes, lanes + 8, -INFINITY);
    std::copy(z + i, z + n, lanes);
    const __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_load_ps(lanes), s));
    _mm256_store_ps(lanes, e);
    std::copy(lanes, lanes + (n - i), z + i);
    sum = _mm256_add_ps(sum, e);
  }
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (const float lane : lanes) total += lane;
  return total;
}

float exp_shifted_sum_sse2(float* z, Index n, float shift) {
  const __m128 s = _mm_set1_ps(shift);
  __m128 sum = _mm_setzero_ps();
  Index i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 e = _ZGVbN4v_expf(_mm_sub_ps(_mm_loadu_ps(z + i), s));
    _mm_storeu_ps(z + i, e);
    sum = _mm_add_ps(sum, e);
  }
  alignas(16) float lanes[4];
  if (i < n) {
    std::fill(lanes, lanes + 4, -INFINITY);
    std::copy(z + i, z + n, lanes);
    const __m128 e = _ZGVbN4v_expf(_mm_sub_ps(_mm_load_ps(lanes), s));
    _mm_store_ps(lanes, e);
    std::copy(lanes, lanes + (n - i), z + i);
    sum = _mm_add_ps(sum, e);
  }
  _mm_store_ps(lanes, sum);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

}  // namespace

float exp_shifted_sum(float* z, Index n, float shift) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2 ? exp_shifted_sum_avx2(z, n, shift) : exp_shifted_sum_sse2(z, n, shift);
}

double exp_shifted_sum(double* z, Index n, double shift) {
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    z[i] = std::exp(z[i] - shift);
    sum += z[i];
  }
  return sum;
}

}  // namespace distclip::detail
