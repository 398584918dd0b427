// What a user asks for: an objective family with its parameters and a noise
// model, as plain data. catalog.hpp turns a spec into an Oracle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "distclip/core/types.hpp"

namespace distclip {

// Additive noise on the gradient. sigma is always on the scale of the noise
// vector's norm: bounded models have ||noise|| <= sigma surely; unbounded ones
// have E ||noise||^2 = sigma^2.
struct NoiseSpec {
  std::string model = "none";  // none, ball, truncated-gaussian, gaussian, student-t
  double sigma = 1.0;          // > 0; ignored by "none"
  double dof = 3.0;            // student-t degrees of freedom, > 2
};

// One flat set of parameters; each family uses the subset its catalog entry
// lists (objective_families()).
struct ObjectiveSpec {
  std::string family = "double-well";
  Index dim = 100;                  // d >= 1
  double scale = 1.0;               // c > 0, multiplies f
  double condition = 1.0;           // >= 1, largest / smallest coordinate weight
  std::optional<double> x0;         // every coordinate of the initial point;
                                    // the family's default when unset
  double ripple = 2.0;              // a >= 0, cosine amplitude (cosh-well, rippled-quadratic)
  double growth = 1.0;              // b > 0, exponential rate (cosh-well)
  std::optional<Index> samples;     // n >= d (phase-retrieval); 8 d when unset
  Index batch_size = 1;             // minibatch size, 1 <= b <= n (phase-retrieval)
  std::uint64_t data_seed = 1;      // seed of generated data (phase-retrieval)
  NoiseSpec noise;
};

}  // namespace distclip
