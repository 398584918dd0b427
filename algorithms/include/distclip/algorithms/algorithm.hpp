// CELGC and its baselines as small policies over one loop (runner.hpp). An
// algorithm is two choices: what the workers average and when, and how a
// worker turns a gradient into a step. Each named algorithm is one line.
#pragma once

#include <algorithm>
#include <span>
#include <string_view>

namespace distclip {

// What is communicated, and when.
enum class Averaging {
  // x_i <- (1/N) sum_j x_j before step t whenever t % I == 0, as the authors'
  // code does; workers step alone in between (local methods).
  kModelsEveryInterval,
  // Every step: gbar = (1/N) sum_j g_j, and every worker steps along gbar
  // (parallel minibatch methods: one round per step).
  kGradientsEveryStep,
  // Nothing: a single machine, N = 1.
  kNone,
};

// How a step is taken along a direction v (g_i or gbar).
enum class StepRule {
  kPlain,       // x <- x - eta v
  kClipped,     // x <- x - min(eta, gamma / ||v||) v: moves at most gamma
  kNormalized,  // x <- x - eta v / ||v||: moves exactly eta
};

// Which norm a CELGC worker divides gamma by: the authors' clipping_option.
enum class ClipOption {
  kLocal,          // ||g_i||: Algorithm 1
  kGlobalAverage,  // ||gbar||, gbar averaged from the gradients drawn at the
                   // round's first step (one more all-reduce per round)
  kMax,            // max(||g_i||, ||gbar||)
};

std::string_view to_string(ClipOption option);

struct Algorithm {
  std::string_view name;
  std::string_view description;
  Averaging averaging;
  StepRule step_rule;

  bool single_machine() const { return averaging == Averaging::kNone; }
  bool uses_sync_interval() const { return averaging == Averaging::kModelsEveryInterval; }
  bool uses_clip_threshold() const { return step_rule == StepRule::kClipped; }
  // Only local clipped methods have a choice of norm: elsewhere every worker
  // clips the same vector.
  bool uses_clip_option() const { return uses_sync_interval() && uses_clip_threshold(); }
};

inline constexpr Algorithm kCelgc{
    "celgc", "CELGC (Algorithm 1): local clipped steps, models averaged every I steps",
    Averaging::kModelsEveryInterval, StepRule::kClipped};
inline constexpr Algorithm kNaiveParallelClip{
    "naive-parallel-clip",
    "naive parallel clipped SGD: gradients averaged every step, one clipped step on the average",
    Averaging::kGradientsEveryStep, StepRule::kClipped};
inline constexpr Algorithm kLocalSgd{
    "local-sgd", "local SGD / FedAvg: local unclipped steps, models averaged every I steps",
    Averaging::kModelsEveryInterval, StepRule::kPlain};
inline constexpr Algorithm kMinibatchSgd{
    "minibatch-sgd", "minibatch SGD: gradients averaged every step, one unclipped step",
    Averaging::kGradientsEveryStep, StepRule::kPlain};
inline constexpr Algorithm kClippedSgd{"clipped-sgd", "single-machine clipped SGD (N = 1)",
                                       Averaging::kNone, StepRule::kClipped};
inline constexpr Algorithm kSgd{"sgd", "single-machine SGD (N = 1)", Averaging::kNone,
                                StepRule::kPlain};
inline constexpr Algorithm kNormalizedSgd{"normalized-sgd",
                                          "single-machine normalized SGD (N = 1)",
                                          Averaging::kNone, StepRule::kNormalized};

// Every algorithm above, in that order.
std::span<const Algorithm> algorithms();
const Algorithm* find_algorithm(std::string_view name);

// The coefficient a step multiplies its direction by; `norm` is the norm the
// rule divides by (||v||, or the clip option's reference). A zero norm gives
// a zero step for the normalized rule and eta for the others.
inline double step_length(StepRule rule, double step_size, double clip_threshold, double norm) {
  switch (rule) {
    case StepRule::kPlain:
      return step_size;
    case StepRule::kClipped:
      return std::min(step_size, clip_threshold / norm);  // gamma / 0 = inf: no clipping
    case StepRule::kNormalized:
      return norm > 0.0 ? step_size / norm : 0.0;
  }
  return step_size;
}

// Whether the clipped rule clipped: gamma / norm < eta, as the authors count.
inline bool is_clipped(StepRule rule, double step_size, double clip_threshold, double norm) {
  return rule == StepRule::kClipped && clip_threshold / norm < step_size;
}

}  // namespace distclip
