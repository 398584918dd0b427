// libFuzzer target: the input is a run's TOML file (fuzz_targets.hpp).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  distclip::fuzz::check_run_toml({data, size});
  return 0;
}
