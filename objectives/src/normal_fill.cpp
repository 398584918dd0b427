// Standard normals as a function of (key, j): a SplitMix64 output per
// element feeds the fast path of Marsaglia and Tsang's ziggurat on Boost's
// 128-layer table, computed 8 (AVX-512), 4 (AVX2) or 1 lane at a time; the
// 1-3% of elements it rejects are finished one by one, each from its own
// SplitMix64 stream. Every lane does the same IEEE operations (integer
// hashing, one exact conversion, one multiply, one comparison, a sign-bit
// flip; for the add variant one multiply and one add, never fused), so the
// three kernels give the same bits (tested in tests/objectives/test_noise.cpp).
#include "normal_fill.hpp"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <boost/random/normal_distribution.hpp>

namespace distclip::detail {

namespace {

using u64 = std::uint64_t;

// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): a Weyl sequence of
// increment kGolden through a 64-bit finaliser. Its output j from key k is
// mix(k + (j + 1) kGolden).
constexpr u64 kGolden = 0x9e3779b97f4a7c15ULL;
constexpr u64 kMix1 = 0xbf58476d1ce4e5b9ULL;
constexpr u64 kMix2 = 0x94d049bb133111ebULL;
// Seeds an element's retry stream apart from the key's own outputs.
constexpr u64 kRetry = 0xd1b54a32d192ed03ULL;

constexpr u64 mix64(u64 z) {
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

u64 element_bits(u64 key, u64 j) { return mix64(key + (j + 1) * kGolden); }

// The engine of an element's retry stream, for Boost's distributions.
class SplitMix64 {
 public:
  using result_type = u64;
  explicit SplitMix64(u64 seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<u64>::max(); }
  result_type operator()() {
    state_ += kGolden;
    return mix64(state_);
  }

 private:
  u64 state_;
};

// Uniform in (0, 1]: never 0, so its logarithm is finite.
double uniform_positive(SplitMix64& engine) {
  return static_cast<double>((engine() >> 11) + 1) * 0x1p-53;
}

// Boost's ziggurat: layer i spans x in [0, X[i]) and y in [Y[i], Y[i+1]];
// X[0] is the base layer's width with its tail folded in, X[1] = 3.44 the
// tail's start.
const double* const kX = boost::random::detail::normal_table<double>::table_x;
const double* const kY = boost::random::detail::normal_table<double>::table_y;

// An element's candidate, from its bits: bits 0-6 the layer, bit 7 the
// sign, bits 11-63 the uniform r in [0, 1) (exactly representable), and
// x = r X[layer]. Accepted at once when x < X[layer + 1].
struct Candidate {
  double x;
  int layer;
  bool negative;
};

Candidate candidate(u64 bits) {
  const double r = static_cast<double>(static_cast<std::int64_t>(bits >> 11)) * 0x1p-53;
  const int layer = static_cast<int>(bits & 127);
  return {r * kX[layer], layer, ((bits >> 7) & 1) != 0};
}

// x with its sign bit flipped when `negative`, without a branch (the sign is
// a fair coin, which no predictor guesses): the vector kernels' xor.
double signed_value(double x, bool negative) {
  return std::bit_cast<double>(std::bit_cast<u64>(x) ^ (static_cast<u64>(negative) << 63));
}

// The wedge test of layer i: with y uniform in [Y[i], Y[i+1]] (u its
// uniform fraction), whether y < f(x) = exp(-x^2 / 2) for x in [X[i+1],
// X[i]). Where f is convex (x >= 1) it lies below the chord through the
// layer's corners and above its tangent at X[i], where it is concave
// (x <= 1) the other way round; only between the two bounds, or in the
// layer holding the inflection point, is exp computed.
bool under_the_curve(int i, double x, double u) {
  const double y = kY[i] + u * (kY[i + 1] - kY[i]);
  // y below the chord <=> u (X[i] - X[i+1]) < X[i] - x.
  const bool below_chord = u * (kX[i] - kX[i + 1]) < kX[i] - x;
  const bool below_tangent = y < kY[i] + (kX[i] - x) * kX[i] * kY[i];
  if (kX[i + 1] >= 1.0) {  // convex
    if (!below_chord) return false;
    if (below_tangent) return true;
  } else if (kX[i] <= 1.0) {  // concave
    if (below_chord) return true;
    if (!below_tangent) return false;
  }
  return y < std::exp(-0.5 * x * x);
}

// The rest of the ziggurat for a rejected candidate, from the element's own
// stream: the base layer's tail by Marsaglia's method, or the wedge test on
// the candidate's x; a wedge rejection starts afresh with a whole draw of
// Boost's normal_distribution (the same ziggurat) on that stream.
double finish(u64 bits, const Candidate& c) {
  SplitMix64 retry(mix64(bits ^ kRetry));
  if (c.layer == 0) {
    const double start = kX[1];
    for (;;) {
      const double x = -std::log(uniform_positive(retry)) / start;
      const double y = -std::log(uniform_positive(retry));
      if (2.0 * y > x * x) return signed_value(start + x, c.negative);
    }
  }
  const double u = static_cast<double>(retry() >> 11) * 0x1p-53;
  if (under_the_curve(c.layer, c.x, u)) return signed_value(c.x, c.negative);
  return boost::random::normal_distribution<double>()(retry);
}

double normal_at(u64 key, u64 j) {
  const u64 bits = element_bits(key, j);
  const Candidate c = candidate(bits);
  if (c.x < kX[c.layer + 1]) return signed_value(c.x, c.negative);
  return finish(bits, c);
}

// Element j of the output: z_j, or g_j + scale z_j.
template <bool kAdd>
void write(double* out, Index j, double scale, double z) {
  if constexpr (kAdd) {
    out[j] += scale * z;
  } else {
    out[j] = z;
  }
}

template <bool kAdd>
void normals_scalar(u64 key, double scale, double* out, Index begin, Index n) {
  for (Index j = begin; j < n; ++j) {
    write<kAdd>(out, j, scale, normal_at(key, static_cast<u64>(j)));
  }
}

// AVX2: 4 lanes. No 64-bit multiply (three 32-bit ones per product) and no
// 64-bit integer conversion (two exact 32-bit halves, added exactly).
__attribute__((target("avx2"))) __m256i multiply_avx2(__m256i a, u64 constant) {
  const __m256i lo = _mm256_set1_epi64x(static_cast<long long>(constant & 0xffffffffULL));
  const __m256i hi = _mm256_set1_epi64x(static_cast<long long>(constant >> 32));
  const __m256i low_product = _mm256_mul_epu32(a, lo);
  const __m256i cross =
      _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), lo), _mm256_mul_epu32(a, hi));
  return _mm256_add_epi64(low_product, _mm256_slli_epi64(cross, 32));
}

__attribute__((target("avx2"))) __m256i mix_avx2(__m256i z) {
  z = multiply_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), kMix1);
  z = multiply_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), kMix2);
  return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

// An integer below 2^32 as a double: its bits under the exponent of 2^52.
__attribute__((target("avx2"))) __m256d small_to_double_avx2(__m256i v) {
  const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(v, magic)), _mm256_set1_pd(0x1p52));
}

// For each 4-bit mask, the 32-bit lane order that packs the 64-bit lanes
// whose bit is set to the front: AVX2's stand-in for a compress-store.
struct CompressTable {
  alignas(32) int lanes[16][8];
  constexpr CompressTable() : lanes{} {
    for (int mask = 0; mask < 16; ++mask) {
      int out = 0;
      for (int lane = 0; lane < 4; ++lane) {
        if (((mask >> lane) & 1) == 0) continue;
        lanes[mask][2 * out] = 2 * lane;
        lanes[mask][2 * out + 1] = 2 * lane + 1;
        ++out;
      }
    }
  }
};
constexpr CompressTable kCompress;

// Rejected lanes are collected and finished after each block of elements,
// away from the vector loop's branch predictor.
constexpr Index kBlock = 1024;

template <bool kAdd>
__attribute__((target("avx2"))) void normals_avx2(u64 key, double scale, double* out, Index n) {
  __m256i state = _mm256_set_epi64x(
      static_cast<long long>(key + 4 * kGolden), static_cast<long long>(key + 3 * kGolden),
      static_cast<long long>(key + 2 * kGolden), static_cast<long long>(key + kGolden));
  const __m256i stride = _mm256_set1_epi64x(static_cast<long long>(4 * kGolden));
  const __m256i low32 = _mm256_set1_epi64x(0xffffffffLL);
  const __m256i layer_bits = _mm256_set1_epi64x(127);
  const __m256i sign_bit = _mm256_set1_epi64x(128);
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256d sign_flip = _mm256_set1_pd(-0.0);
  const __m256d scale_v = _mm256_set1_pd(scale);
  // Indices of the block's rejected elements, with room for a full store.
  alignas(32) long long rejected[kBlock + 4];
  Index j = 0;
  while (j + 4 <= n) {
    const Index block_end = std::min(n - n % 4, j + kBlock);
    long long* next = rejected;
    __m256i index = _mm256_add_epi64(_mm256_set1_epi64x(j), _mm256_set_epi64x(3, 2, 1, 0));
    for (; j < block_end; j += 4) {
      const __m256i bits = mix_avx2(state);
      state = _mm256_add_epi64(state, stride);
      const __m256i mantissa = _mm256_srli_epi64(bits, 11);
      const __m256d r = _mm256_mul_pd(
          _mm256_add_pd(
              _mm256_mul_pd(small_to_double_avx2(_mm256_srli_epi64(mantissa, 32)),
                            _mm256_set1_pd(0x1p32)),
              small_to_double_avx2(_mm256_and_si256(mantissa, low32))),
          _mm256_set1_pd(0x1p-53));
      const __m256i layer = _mm256_and_si256(bits, layer_bits);
      const __m256d x = _mm256_mul_pd(r, _mm256_i64gather_pd(kX, layer, 8));
      const __m256d bound = _mm256_i64gather_pd(kX, _mm256_add_epi64(layer, one), 8);
      const __m256d accepted = _mm256_cmp_pd(x, bound, _CMP_LT_OQ);
      const __m256d negative =
          _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(bits, sign_bit), sign_bit));
      const __m256d z = _mm256_xor_pd(x, _mm256_and_pd(negative, sign_flip));
      __m256d value = z;
      if constexpr (kAdd) {
        value = _mm256_add_pd(_mm256_loadu_pd(out + j), _mm256_mul_pd(scale_v, z));
      }
      _mm256_maskstore_pd(out + j, _mm256_castpd_si256(accepted), value);
      const unsigned refused = ~static_cast<unsigned>(_mm256_movemask_pd(accepted)) & 0xfu;
      const __m256i order = _mm256_load_si256(reinterpret_cast<const __m256i*>(kCompress.lanes[refused]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(next), _mm256_permutevar8x32_epi32(index, order));
      next += __builtin_popcount(refused);
      index = _mm256_add_epi64(index, _mm256_set1_epi64x(4));
    }
    for (const long long* k = rejected; k < next; ++k) {
      write<kAdd>(out, *k, scale, normal_at(key, static_cast<u64>(*k)));
    }
  }
  normals_scalar<kAdd>(key, scale, out, j, n);
}

// AVX-512 (F and DQ): 8 lanes, native 64-bit multiplies and conversions.
// GCC 12 warns, wrongly, that the intrinsics' own _mm512_undefined_epi32()
// placeholders may be used uninitialised (GCC bug 105593); clang has no
// such warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512dq"))) __m512i mix_avx512(__m512i z) {
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         _mm512_set1_epi64(static_cast<long long>(kMix1)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         _mm512_set1_epi64(static_cast<long long>(kMix2)));
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

template <bool kAdd>
__attribute__((target("avx512f,avx512dq"))) void normals_avx512(u64 key, double scale,
                                                                 double* out, Index n) {
  __m512i state = _mm512_set_epi64(
      static_cast<long long>(key + 8 * kGolden), static_cast<long long>(key + 7 * kGolden),
      static_cast<long long>(key + 6 * kGolden), static_cast<long long>(key + 5 * kGolden),
      static_cast<long long>(key + 4 * kGolden), static_cast<long long>(key + 3 * kGolden),
      static_cast<long long>(key + 2 * kGolden), static_cast<long long>(key + kGolden));
  const __m512i stride = _mm512_set1_epi64(static_cast<long long>(8 * kGolden));
  const __m512i layer_bits = _mm512_set1_epi64(127);
  const __m512i sign_bit = _mm512_set1_epi64(128);
  const __m512i one = _mm512_set1_epi64(1);
  const __m512d sign_flip = _mm512_set1_pd(-0.0);
  const __m512d scale_v = _mm512_set1_pd(scale);
  // Indices of the block's rejected elements (at most all of them).
  alignas(64) long long rejected[kBlock];
  Index j = 0;
  while (j + 8 <= n) {
    const Index block_end = std::min(n - n % 8, j + kBlock);
    long long* next = rejected;
    __m512i index = _mm512_add_epi64(_mm512_set1_epi64(j), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    for (; j < block_end; j += 8) {
      const __m512i bits = mix_avx512(state);
      state = _mm512_add_epi64(state, stride);
      const __m512d r = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(bits, 11)),
                                      _mm512_set1_pd(0x1p-53));
      const __m512i layer = _mm512_and_si512(bits, layer_bits);
      const __m512d x = _mm512_mul_pd(r, _mm512_i64gather_pd(layer, kX, 8));
      const __m512d bound = _mm512_i64gather_pd(_mm512_add_epi64(layer, one), kX, 8);
      const __mmask8 accepted = _mm512_cmp_pd_mask(x, bound, _CMP_LT_OQ);
      const __mmask8 negative =
          _mm512_cmpeq_epi64_mask(_mm512_and_si512(bits, sign_bit), sign_bit);
      const __m512d z = _mm512_mask_xor_pd(x, negative, x, sign_flip);
      __m512d value = z;
      if constexpr (kAdd) {
        value = _mm512_add_pd(_mm512_loadu_pd(out + j), _mm512_mul_pd(scale_v, z));
      }
      _mm512_mask_storeu_pd(out + j, accepted, value);
      const __mmask8 refused = static_cast<__mmask8>(~accepted);
      _mm512_mask_compressstoreu_epi64(next, refused, index);
      next += __builtin_popcount(static_cast<unsigned>(refused));
      index = _mm512_add_epi64(index, _mm512_set1_epi64(8));
    }
    for (const long long* k = rejected; k < next; ++k) {
      write<kAdd>(out, *k, scale, normal_at(key, static_cast<u64>(*k)));
    }
  }
  normals_scalar<kAdd>(key, scale, out, j, n);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

NormalKernel resolve(NormalKernel kernel) {
  if (kernel != NormalKernel::kAuto) return kernel;
  static const NormalKernel best = [] {
    if (normal_kernel_supported(NormalKernel::kAvx512)) return NormalKernel::kAvx512;
    if (normal_kernel_supported(NormalKernel::kAvx2)) return NormalKernel::kAvx2;
    return NormalKernel::kScalar;
  }();
  return best;
}

template <bool kAdd>
void normals(u64 key, double scale, double* out, Index n, NormalKernel kernel) {
  switch (resolve(kernel)) {
    case NormalKernel::kAvx512:
      return normals_avx512<kAdd>(key, scale, out, n);
    case NormalKernel::kAvx2:
      return normals_avx2<kAdd>(key, scale, out, n);
    case NormalKernel::kScalar:
    case NormalKernel::kAuto:
      return normals_scalar<kAdd>(key, scale, out, 0, n);
  }
}

}  // namespace

bool normal_kernel_supported(NormalKernel kernel) {
  switch (kernel) {
    case NormalKernel::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    case NormalKernel::kAvx2:
      return __builtin_cpu_supports("avx2");
    case NormalKernel::kScalar:
    case NormalKernel::kAuto:
      return true;
  }
  return false;
}

void standard_normals(std::uint64_t key, double* out, Index n, NormalKernel kernel) {
  normals<false>(key, 1.0, out, n, kernel);
}

void add_scaled_standard_normals(std::uint64_t key, double scale, double* g, Index n,
                                 NormalKernel kernel) {
  normals<true>(key, scale, g, n, kernel);
}

}  // namespace distclip::detail
