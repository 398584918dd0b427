// libFuzzer target: the input is a command line, one argument a line
// (fuzz_targets.hpp).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  distclip::fuzz::check_command_line({data, size});
  return 0;
}
