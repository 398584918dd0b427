#include "distclip/algorithms/algorithm.hpp"

#include <array>

namespace distclip {

namespace {
constexpr std::array kAlgorithms{kCelgc,     kNaiveParallelClip, kLocalSgd,        kMinibatchSgd,
                                 kClippedSgd, kSgd,              kNormalizedSgd,   kEpisode,
                                 kScaffold,  kClippedMomentum,   kLocalClippedMomentum};
}  // namespace

std::string_view to_string(ClipOption option) {
  switch (option) {
    case ClipOption::kLocal:
      return "local";
    case ClipOption::kGlobalAverage:
      return "global-average";
    case ClipOption::kMax:
      return "max";
  }
  return "local";
}

std::span<const Algorithm> algorithms() { return kAlgorithms; }

const Algorithm* find_algorithm(std::string_view name) {
  for (const Algorithm& algorithm : kAlgorithms) {
    if (algorithm.name == name) return &algorithm;
  }
  return nullptr;
}

}  // namespace distclip
