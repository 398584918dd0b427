// Internals shared by the bootstrap estimates of statistics.cpp and the seed
// interval of fit.cpp: the stream every resample draws from, the median of
// one resample, and the checks of BootstrapOptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distclip/analysis/statistics.hpp"
#include "distclip/core/random.hpp"

namespace distclip::detail {

// The stream of the `index`-th resampled sample of one estimate (numerator 0,
// denominator 1; the g-th group of a fit), a function of the options' seed
// alone, so an estimate never depends on what was computed before it.
Rng bootstrap_stream(std::uint64_t seed, std::uint64_t index);

// `resamples` medians of samples drawn with replacement from ascending
// `sorted` (+inf last), in the order they are drawn from `rng`.
std::vector<double> resampled_medians(std::span<const double> sorted, int resamples, Rng& rng);

// Throws std::invalid_argument naming `function` and the field when `level` is
// outside (0, 1) or `resamples` < 1.
void check_bootstrap_options(std::string_view function, const BootstrapOptions& options);

// Shortest text that reads back as the same double ("0.95", "nan", "inf").
std::string shortest(double value);

}  // namespace distclip::detail
