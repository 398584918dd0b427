// Figures drawn by gnuplot, as `distclip plot` and `distclip smoothness` leave
// them: each figure's data (NAME.dat) and script (NAME.gp) side by side, so
// that a user can restyle and redraw it, and its PNG and SVG.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace distclip::app {

// Line colours (matplotlib's "tab10" without its grey, which guides and
// references use), one per series, the same in every figure.
inline constexpr std::array<std::string_view, 9> kPalette = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
inline constexpr std::string_view kGuideColour = "#7f7f7f";

// Rows of numbers that one or more plot elements draw, addressed by
// gnuplot's `index`.
struct FigureBlock {
  std::string label;
  std::vector<std::vector<double>> rows;
};

// A figure before it is written: its data blocks and the plot elements that
// draw them.
struct Figure {
  std::string name;      // file stem of .gp, .dat, .png, .svg
  std::string title;     // lines separated by '\n': what, then how to read it
  std::string xlabel;
  std::string ylabel;
  std::string columns;   // the data file's columns, for its header
  int log_x = 0;         // base of a logarithmic axis, 0 for a linear one
  int log_y = 0;
  std::string yrange;    // "[low:high]", empty for autoscaling
  // Measured x values (1/eps, N) labelled as ticks, and the x range held to
  // them with a margin, rather than widened to whole decades.
  std::vector<double> xtics;
  std::vector<FigureBlock> blocks;
  std::vector<std::string> elements;  // one `plot` element each

  int add_block(std::string label, std::vector<std::vector<double>> rows);
  // A plot element drawing block `block` of this figure's data file with
  // `columns` ("1:2") in `style` ("lines lw 2"), untitled in the key when
  // `title` is empty.
  std::string element(int block, std::string_view columns, std::string_view style,
                      const std::optional<std::string>& title) const;
};

// A gnuplot double-quoted string: backslash escapes are interpreted there,
// so backslashes and quotes are escaped and '\n' becomes a line break.
std::string gnuplot_string(std::string_view text);

// "title "..."" for a key entry, or "notitle".
std::string title_clause(const std::optional<std::string>& title);

// Enough digits to round-trip a measurement; gnuplot reads "NaN" as a
// missing point, so infinities are written as NaN too.
std::string plot_number(double v);

// gnuplot could not draw: it is not on PATH, failed, or left a picture out.
class GnuplotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes each figure's NAME.dat and NAME.gp into `folder` (created if
// needed), their headers naming `command` as the writer, and draws every
// figure with one gnuplot run inside `folder`, so that the scripts' relative
// names resolve there as they do when a user reruns one. Returns, for each
// figure in order, its PNG then its SVG; nothing is drawn and no gnuplot is
// run for no figures. Throws GnuplotError with one line (gnuplot's first
// error line when it fails), leaving the data and scripts but no picture of
// this call; std::runtime_error when a file cannot be written.
std::vector<std::filesystem::path> draw_figures(std::span<const Figure> figures,
                                                const std::filesystem::path& folder,
                                                std::string_view command);

}  // namespace distclip::app
