// Statistics across repeated runs of one configuration (seeds). Runs that
// never reached eps within their budget are censored: they are kept and
// counted, never dropped and never given an invented value.
#pragma once

#include <optional>
#include <span>

namespace distclip {

// The median of `values` (mean of the two middle ones for an even count);
// NaN for an empty span.
double median(std::span<const double> values);

// The mean; NaN for an empty span.
double mean(std::span<const double> values);

// The median of a time-to-event, such as the steps to reach eps, where an
// empty optional is a censored run (eps not reached): the smallest observed
// value v such that at least half of all runs reached eps by v. Empty when
// fewer than half of the runs reached eps, so the median is only known to
// exceed the budget.
std::optional<double> censored_median(std::span<const std::optional<double>> times);

}  // namespace distclip
