// Standard normal vectors from one 64-bit key, fast and the same bits on
// every instruction set: z_j is a function of (key, j) alone
// (docs/objectives.md, "Drawing normals"). The noise models draw the key
// from the worker's stream, so all randomness still comes from that stream.
#pragma once

#include <cstdint>

#include "distclip/core/types.hpp"

namespace distclip::detail {

// The implementations, which give the same bits; kAuto picks the widest the
// processor runs.
enum class NormalKernel { kAuto, kScalar, kAvx2, kAvx512 };

// Whether this processor runs `kernel` (kScalar and kAuto: always).
bool normal_kernel_supported(NormalKernel kernel);

// out[j] = z_j for j in [0, n).
void standard_normals(std::uint64_t key, double* out, Index n,
                      NormalKernel kernel = NormalKernel::kAuto);

// g[j] += scale * z_j for j in [0, n): the same z_j, one pass.
void add_scaled_standard_normals(std::uint64_t key, double scale, double* g, Index n,
                                 NormalKernel kernel = NormalKernel::kAuto);

}  // namespace distclip::detail
