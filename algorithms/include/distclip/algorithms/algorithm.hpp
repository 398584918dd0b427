// CELGC and its baselines as small policies over one loop (runner.hpp). An
// algorithm is three choices: what the workers average and when, how a
// worker turns a direction into a step, and what it adds to its gradient to
// form that direction. Each named algorithm is one line (docs/algorithms.md).
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

// How a step is taken along a direction v (g_i, gbar or a corrected g_i).
enum class StepRule {
  kPlain,       // x <- x - eta v
  kClipped,     // x <- x - min(eta, gamma / ||v||) v: moves at most gamma
  kNormalized,  // x <- x - eta v / ||v||: moves exactly eta
  // EPISODE's episodic clipping: the round decides, from the norm of its
  // averaged resampled gradient G, for all its steps: x <- x - gamma v / ||v||
  // when ||G|| > gamma / eta, else x <- x - eta v.
  kEpisodic,
};

// What a worker's direction is, beyond its own stochastic gradient g_i.
enum class Correction {
  kNone,  // v = g_i
  // EPISODE (Crawshaw, Bao, Liu, ICLR 2023): at each round's start every
  // worker draws G_i at the averaged point and the workers average them to
  // G; v = g_i - G_i + G for the whole round.
  kResampled,
  // SCAFFOLD (Karimireddy et al., ICML 2020, option II): v = g_i - c_i + c,
  // where at each round's start c_i becomes the mean of worker i's
  // directions' gradients over the last round, c_i - c + (xbar - x_i) / (I eta),
  // and c their average.
  kControlVariates,
  // The clipping framework of Zhang et al. (NeurIPS 2020): m_i <- beta m_i +
  // (1 - beta) g_i and x <- x - [nu min(eta, gamma / ||m_i||) m_i +
  // (1 - nu) min(eta, gamma / ||g_i||) g_i]; a local method averages the
  // momenta with the models.
  kMomentum,
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
  Correction correction = Correction::kNone;

  bool single_machine() const { return averaging == Averaging::kNone; }
  bool uses_sync_interval() const { return averaging == Averaging::kModelsEveryInterval; }
  bool uses_clip_threshold() const {
    return step_rule == StepRule::kClipped || step_rule == StepRule::kEpisodic;
  }
  // Only CELGC's local clipped steps have a choice of norm: elsewhere every
  // worker clips the same vector, or the algorithm's own rule decides.
  bool uses_clip_option() const {
    return uses_sync_interval() && step_rule == StepRule::kClipped &&
           correction == Correction::kNone;
  }
  bool uses_momentum() const { return correction == Correction::kMomentum; }
  // The vectors a round averages: the models, and EPISODE's resampled
  // gradients, SCAFFOLD's control variates or the momenta.
  int vectors_per_round() const { return correction == Correction::kNone ? 1 : 2; }
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
inline constexpr Algorithm kEpisode{
    "episode",
    "EPISODE: local steps along g_i - G_i + G, resampled at each round's start, clipped or not "
    "for the whole round by ||G||; models and G averaged every I steps",
    Averaging::kModelsEveryInterval, StepRule::kEpisodic, Correction::kResampled};
inline constexpr Algorithm kScaffold{
    "scaffold",
    "SCAFFOLD: local unclipped steps along g_i - c_i + c (control variates, option II); models "
    "and control variates averaged every I steps",
    Averaging::kModelsEveryInterval, StepRule::kPlain, Correction::kControlVariates};
inline constexpr Algorithm kClippedMomentum{
    "clipped-momentum",
    "the clipping framework of Zhang et al. 2020: momentum beta, clipped mix nu of momentum and "
    "gradient (N = 1)",
    Averaging::kNone, StepRule::kClipped, Correction::kMomentum};
inline constexpr Algorithm kLocalClippedMomentum{
    "local-clipped-momentum",
    "the clipping framework of Zhang et al. 2020 as a local method: models and momenta "
    "averaged every I steps",
    Averaging::kModelsEveryInterval, StepRule::kClipped, Correction::kMomentum};

// Every algorithm above, in that order.
std::span<const Algorithm> algorithms();
const Algorithm* find_algorithm(std::string_view name);

// The coefficient a step multiplies its direction by; `norm` is the norm the
// rule divides by (||v||, or the clip option's reference). A zero norm gives
// a zero step for the normalized rule and eta for the others. The episodic
// rule clips when its round says so (`round_clips`), to length gamma.
inline double step_length(StepRule rule, double step_size, double clip_threshold, double norm,
                          bool round_clips = false) {
  switch (rule) {
    case StepRule::kPlain:
      return step_size;
    case StepRule::kClipped:
      return std::min(step_size, clip_threshold / norm);  // gamma / 0 = inf: no clipping
    case StepRule::kNormalized:
      return norm > 0.0 ? step_size / norm : 0.0;
    case StepRule::kEpisodic:
      return round_clips ? (norm > 0.0 ? clip_threshold / norm : 0.0) : step_size;
  }
  return step_size;
}

// Whether the clipped rule clipped: gamma / norm < eta, as the authors count;
// for the episodic rule, whether the round clips.
inline bool is_clipped(StepRule rule, double step_size, double clip_threshold, double norm,
                       bool round_clips = false) {
  if (rule == StepRule::kEpisodic) return round_clips;
  return rule == StepRule::kClipped && clip_threshold / norm < step_size;
}

// EPISODE's decision for a round: clip when ||G|| > gamma / eta.
inline bool episode_clips(double step_size, double clip_threshold, double reference_norm) {
  return reference_norm > clip_threshold / step_size;
}

}  // namespace distclip
