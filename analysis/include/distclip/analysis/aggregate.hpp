// Plain statistics of a set of numbers. For runs that may be censored,
// with intervals, see statistics.hpp.
#pragma once

#include <span>

namespace distclip {

// The median of `values` (mean of the two middle ones for an even count);
// NaN for an empty span.
double median(std::span<const double> values);

// The mean; NaN for an empty span.
double mean(std::span<const double> values);

}  // namespace distclip
