// The figures of `distclip plot`: a SweepAnalysis drawn by gnuplot as the
// paper draws it (gradient norm and loss against iterations, rounds and time,
// clipping frequency, complexity against 1/eps and N with fitted and
// theoretical slopes, speedup against N).
#pragma once

#include <filesystem>
#include <vector>

#include "analyze.hpp"

namespace distclip::app {

// Renders every figure the analysis supports into `folder` (created if
// needed) as PNG and SVG via gnuplot; returns the paths written, for each
// figure its PNG then its SVG, figures in a fixed order. Leaves the gnuplot
// scripts (<figure>.gp) and their data (<figure>.dat) beside them, so that
// `gnuplot <figure>.gp` run inside `folder` redraws a figure. Figures the
// data cannot support (no curves, no fits, a time axis never measured) are
// skipped; an empty analysis writes nothing and runs no gnuplot.
// Throws GnuplotError (gnuplot.hpp) with one line if gnuplot is not on PATH
// or fails (quoting gnuplot's first error line).
std::vector<std::filesystem::path> render_figures(const SweepAnalysis& analysis,
                                                  const std::filesystem::path& folder);

}  // namespace distclip::app
