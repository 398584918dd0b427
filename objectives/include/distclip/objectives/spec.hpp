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

// The language-model objective (family "lstm"): its text, model sizes and
// sampling. docs/lstm.md defines f, its stochastic gradient and the layout
// of x.
struct LanguageModelSpec {
  std::string level = "char";      // word or char (corpus.hpp)
  std::string train_file;          // required; relative to data_folder unless absolute
  std::string heldout_file;        // empty: the last heldout_fraction of train_file's lines
  double heldout_fraction = 0.1;   // in (0, 1)
  std::int64_t max_vocabulary = 100000;  // >= 2; a larger vocabulary is an error
  Index embedding = 64;            // E >= 1
  Index hidden = 256;              // H >= 1
  Index layers = 1;                // L >= 1
  bool tied = false;               // decoder weight = embedding (needs E == H)
  Index window = 35;               // S >= 1, tokens predicted per window
  Index eval_windows = 64;         // >= 1, windows of the evaluation and held-out sets
  std::string sharding = "homogeneous";  // homogeneous or heterogeneous
  // Where relative file names are looked up. How, not what: not part of the
  // resolved configuration (the files' SHA-256 is recorded instead).
  std::string data_folder;
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
  double width = 1.0;               // lambda > 0, the length scale of each link (zero-chain)
  double reveal_probability = 1.0;  // p in (0, 1], how often a gradient shows the chain's
                                    // next coordinate (zero-chain)
  std::optional<Index> samples;     // n >= d (phase-retrieval); 8 d when unset
  Index batch_size = 1;             // minibatch size: 1 <= b <= n samples (phase-retrieval),
                                    // b >= 1 windows (lstm)
  std::uint64_t data_seed = 1;      // seed of generated data (phase-retrieval, the
                                    // heterogeneity tilts), of the evaluation windows
                                    // and the initial point (lstm)
  // zeta >= 0: worker i's objective is f_i(x) = f(x) + <b_i, x>, with tilts
  // that sum to 0 and (1/N) sum_i ||b_i|| = zeta = kappa (synthetic families
  // but zero-chain; docs/objectives.md). 0: homogeneous.
  double heterogeneity = 0.0;
  NoiseSpec noise;
  LanguageModelSpec language_model;
};

}  // namespace distclip
