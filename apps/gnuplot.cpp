#include "gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

extern char** environ;

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

// Up to this many measured x values are labelled one by one.
constexpr std::size_t kMostXTics = 12;

constexpr std::string_view kGnuplotMissing =
    "gnuplot not found on PATH; install it: apt-get install -y gnuplot-nox";

// Text placed after '#' in a data or script file stays on its line.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::ranges::replace_if(out, [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string first_title_line(const Figure& figure) {
  return one_line(figure.title.substr(0, figure.title.find('\n')));
}

void check_written(std::ofstream& out, const fs::path& file) {
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  }
}

void write_data(const Figure& figure, const fs::path& file, std::string_view command) {
  std::ofstream out(file);
  out << "# " << command << " data for " << figure.name << ".gp: " << first_title_line(figure)
      << "\n"
      << "# columns: " << figure.columns << "\n"
      << "# blocks are separated by two blank lines; gnuplot addresses them with `index`\n";
  for (std::size_t b = 0; b < figure.blocks.size(); ++b) {
    if (b > 0) out << "\n\n";
    out << "# index " << b << ": " << one_line(figure.blocks[b].label) << "\n";
    for (const auto& row : figure.blocks[b].rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out << (i > 0 ? " " : "") << plot_number(row[i]);
      out << "\n";
    }
  }
  check_written(out, file);
}

void write_script(const Figure& figure, const fs::path& file, std::string_view command) {
  std::ofstream out(file);
  out << "# " << first_title_line(figure) << "\n"
      << "# Written by `" << command << "`; data in " << figure.name
      << ".dat. Restyle and rerun in this folder: gnuplot " << figure.name << ".gp\n"
      << "reset\n"
      << "set encoding utf8\n"
      << "set title " << gnuplot_string(figure.title) << "\n"
      << "set xlabel " << gnuplot_string(figure.xlabel) << "\n"
      << "set ylabel " << gnuplot_string(figure.ylabel) << "\n";
  if (figure.log_x > 0) out << "set logscale x " << figure.log_x << "\n";
  if (figure.log_y > 0) out << "set logscale y " << figure.log_y << "\n";
  if (!figure.yrange.empty()) out << "set yrange " << figure.yrange << "\n";
  if (!figure.xtics.empty()) {
    out << "set autoscale xfix\n"
        << "set offsets graph 0.04, graph 0.04, 0, 0\n";
    if (figure.xtics.size() <= kMostXTics) {
      out << "set xtics (";
      for (std::size_t i = 0; i < figure.xtics.size(); ++i) {
        out << (i > 0 ? ", " : "") << gnuplot_string(fmt::format("{:g}", figure.xtics[i])) << " "
            << plot_number(figure.xtics[i]);
      }
      out << ")\n";
    }
  }
  out << "set grid xtics ytics lc rgb '#dddddd' lw 1\n"
      << "set key below Left reverse samplen 3 spacing 1.1 maxcols 2\n"
      << "set style fill transparent solid 0.2 noborder\n";
  const auto plot = [&] {
    out << "plot";
    for (std::size_t i = 0; i < figure.elements.size(); ++i) {
      out << (i == 0 ? " " : ", \\\n     ") << figure.elements[i];
    }
    out << "\n";
  };
  // Series names are shown verbatim: enhanced text would read '_' and '^'
  // as sub- and superscripts.
  out << "\nset terminal pngcairo size 1000,650 noenhanced\n"
      << "set output " << gnuplot_string(figure.name + ".png") << "\n";
  plot();
  out << "\nset terminal svg size 1000,650 dynamic noenhanced\n"
      << "set output " << gnuplot_string(figure.name + ".svg") << "\n"
      << "replot\n"
      << "set output\n";
  check_written(out, file);
}

std::optional<fs::path> find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  const std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
    const std::string_view dir = dirs.substr(begin, end - begin);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      // gnuplot starts inside the figures' folder: a relative PATH entry
      // must not be resolved from there.
      return fs::absolute(candidate, ec);
    }
    begin = end + 1;
  }
  return std::nullopt;
}

// gnuplot reports `"name.gp" line 12: message`, after echoing the offending
// command with a caret under it; the first such line that is not a warning.
std::string first_error_line(std::string_view text) {
  std::string fallback;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    const bool located = line.find("\" line ") != std::string_view::npos;
    if (located && line.find("warning:") == std::string_view::npos) return std::string(line);
    if (fallback.empty() && line.find("warning:") == std::string_view::npos &&
        line.find_first_not_of(" \t^") != std::string_view::npos) {
      fallback = std::string(line);
    }
  }
  return fallback.empty() ? "no message on standard error" : fallback;
}

// Runs `gnuplot script...` inside `folder`.
void run_gnuplot(const fs::path& gnuplot, const fs::path& folder,
                 const std::vector<std::string>& scripts) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw GnuplotError(fmt::format("cannot start gnuplot: pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());

  std::vector<std::string> args{gnuplot.string()};
  args.insert(args.end(), scripts.begin(), scripts.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, gnuplot.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    throw GnuplotError(
        fmt::format("cannot start {}: {}", gnuplot.string(), std::strerror(spawned)));
  }

  std::string errors;
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n > 0) {
      errors.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw GnuplotError(fmt::format("waiting for gnuplot: {}", std::strerror(errno)));
    }
  }
  if (WIFSIGNALED(status)) {
    throw GnuplotError(fmt::format("gnuplot was killed by signal {} while drawing into {}",
                                   WTERMSIG(status), folder.string()));
  }
  if (WEXITSTATUS(status) != 0) {
    throw GnuplotError(fmt::format("gnuplot failed (exit status {}): {}", WEXITSTATUS(status),
                                   first_error_line(errors)));
  }
}

void draw(std::span<const Figure> figures, const fs::path& folder,
          const std::vector<fs::path>& pictures) {
  const std::optional<fs::path> gnuplot = find_on_path("gnuplot");
  if (!gnuplot) throw GnuplotError(std::string(kGnuplotMissing));
  std::vector<std::string> scripts;
  for (const Figure& figure : figures) scripts.push_back(figure.name + ".gp");
  // One gnuplot for all figures: each script starts with `reset`.
  run_gnuplot(*gnuplot, folder, scripts);
  for (const fs::path& file : pictures) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) == 0) {
      throw GnuplotError(fmt::format("gnuplot wrote no {}", file.string()));
    }
  }
}

}  // namespace

int Figure::add_block(std::string label, std::vector<std::vector<double>> rows) {
  blocks.push_back({std::move(label), std::move(rows)});
  return static_cast<int>(blocks.size()) - 1;
}

std::string Figure::element(int block, std::string_view columns, std::string_view style,
                            const std::optional<std::string>& title) const {
  return fmt::format("{} index {} using {} with {} {}", gnuplot_string(name + ".dat"), block,
                     columns, style, title_clause(title));
}

std::string gnuplot_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default:
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
  }
  return out + "\"";
}

std::string title_clause(const std::optional<std::string>& title) {
  return title ? "title " + gnuplot_string(*title) : std::string("notitle");
}

std::string plot_number(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "NaN"; }

std::vector<fs::path> draw_figures(std::span<const Figure> figures, const fs::path& folder,
                                   std::string_view command) {
  fs::create_directories(folder);
  if (figures.empty()) return {};
  std::vector<fs::path> pictures;
  for (const Figure& figure : figures) {
    write_data(figure, folder / (figure.name + ".dat"), command);
    write_script(figure, folder / (figure.name + ".gp"), command);
    for (const char* extension : {".png", ".svg"}) {
      pictures.push_back(folder / (figure.name + extension));
      // A figure left from an earlier drawing must not pass for this one.
      fs::remove(pictures.back());
    }
  }
  try {
    draw(figures, folder, pictures);
  } catch (const GnuplotError&) {
    // What a failed gnuplot did draw is not all of what was asked.
    for (const fs::path& picture : pictures) {
      std::error_code ignored;
      fs::remove(picture, ignored);
    }
    throw;
  }
  return pictures;
}

}  // namespace distclip::app
