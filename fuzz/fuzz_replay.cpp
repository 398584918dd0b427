// Replays inputs through a fuzz target's check without libFuzzer, so that
// every build with tests checks the seed corpus (fuzz/corpus/<target>/, a
// regression input per finding among them) with the compiler and
// sanitizers it was built with. A broken contract aborts, as under the
// fuzzer.
//
//   fuzz_replay <run_toml|sweep_toml|cli> <file or folder>...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace {

using Check = void (*)(std::span<const std::uint8_t>);

Check check_named(std::string_view name) {
  if (name == "run_toml") return distclip::fuzz::check_run_toml;
  if (name == "sweep_toml") return distclip::fuzz::check_sweep_toml;
  if (name == "cli") return distclip::fuzz::check_command_line;
  return nullptr;
}

// The files named, and those in the folders named, in order.
std::vector<fs::path> inputs_of(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int k = 2; k < argc; ++k) {
    const fs::path path(argv[k]);
    if (!fs::is_directory(path)) {
      inputs.push_back(path);
      continue;
    }
    std::vector<fs::path> folder;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file()) folder.push_back(entry.path());
    }
    std::sort(folder.begin(), folder.end());
    inputs.insert(inputs.end(), folder.begin(), folder.end());
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  const Check check = argc >= 3 ? check_named(argv[1]) : nullptr;
  if (check == nullptr) {
    std::fprintf(stderr, "usage: fuzz_replay <run_toml|sweep_toml|cli> <file or folder>...\n");
    return 2;
  }
  const std::vector<fs::path> inputs = inputs_of(argc, argv);
  if (inputs.empty()) {
    std::fprintf(stderr, "error: no input in the files and folders given\n");
    return 1;
  }
  for (const fs::path& input : inputs) {
    std::ifstream stream(input, std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(stream), {});
    if (!stream.good() && !stream.eof()) {
      std::fprintf(stderr, "error: cannot read %s\n", input.c_str());
      return 1;
    }
    // Named before it runs: a broken contract aborts with this line last.
    std::printf("%s\n", input.c_str());
    std::fflush(stdout);
    check({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  }
  std::printf("%zu inputs, each accepted or refused in one line\n", inputs.size());
  return 0;
}
