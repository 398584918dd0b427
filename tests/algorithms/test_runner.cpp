// The shared loop: every algorithm against a reference written straight from
// the paper's pseudocode, bitwise reproducibility over thread counts, the
// accounting of rounds and bytes, stop rules, divergence and observers.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "support/problems.hpp"
#include "support/recording.hpp"

namespace distclip {
namespace {

using testing::FaultyOracle;
using testing::NoisyQuadratic;

RunOptions options_for(const Algorithm& algorithm) {
  RunOptions options;
  options.num_workers = algorithm.single_machine() ? 1 : 4;
  options.sync_interval = 3;
  options.step_size = 0.2;
  options.clip_threshold = 0.3;  // clips far from the optimum, not near it
  options.max_steps = 17;        // not a multiple of I: the last round is short
  options.seed = 7;
  return options;
}

// The algorithms as the paper's Algorithm 1 and the authors' code state
// them, one plain loop over steps and workers, written without the engine's
// segments, policies or threads.
std::vector<Vector> reference_models(const Algorithm& algorithm, const Oracle& oracle,
                                     const RunOptions& o, std::int64_t steps) {
  const int n = o.num_workers;
  const Index d = oracle.dimension();
  Vector x0(d);
  oracle.initial_point(x0);
  std::vector<Vector> x(n, x0);
  std::vector<Vector> g(n, Vector::Zero(d));
  std::vector<Rng> rng;
  for (int i = 0; i < n; ++i) rng.push_back(worker_stream(o.seed, i));
  const auto mean = [n](const std::vector<Vector>& v) {
    Vector sum = v[0];
    for (int i = 1; i < n; ++i) sum += v[i];
    return Vector(sum / double(n));
  };
  const auto coefficient = [&](double norm) {
    switch (algorithm.step_rule) {
      case StepRule::kPlain:
        return o.step_size;
      case StepRule::kClipped:
        return std::min(o.step_size, o.clip_threshold / norm);
      case StepRule::kNormalized:
        return o.step_size / norm;
      case StepRule::kEpisodic:
        break;  // EPISODE's steps are taken below
    }
    return 0.0;
  };
  const bool local = algorithm.averaging == Averaging::kModelsEveryInterval;
  const auto clipped = [&](double norm) { return std::min(o.step_size, o.clip_threshold / norm); };
  double reference_norm = 0.0;
  // EPISODE (Crawshaw, Bao, Liu 2023, Algorithm 1): G_i resampled at the
  // round's start, G their mean; SCAFFOLD (Karimireddy et al. 2020, option
  // II): control variates c_i, c; the clipping framework of Zhang et al.
  // 2020: momenta m_i.
  std::vector<Vector> resampled(n, Vector::Zero(d)), control(n, Vector::Zero(d));
  std::vector<Vector> momentum(n, Vector::Zero(d));
  Vector global = Vector::Zero(d);
  Vector round_start = x0;
  bool round_clips = false;
  for (std::int64_t t = 0; t < steps; ++t) {
    const bool round = local && t % o.sync_interval == 0;
    if (round && algorithm.correction == Correction::kControlVariates && t > 0) {
      for (int i = 0; i < n; ++i) {
        control[i] = control[i] - global +
                     (round_start - x[i]) / (double(o.sync_interval) * o.step_size);
      }
    }
    if (round && n > 1) std::fill(x.begin(), x.end(), mean(x));
    if (round) round_start = x[0];
    if (round && algorithm.correction == Correction::kResampled) {
      for (int i = 0; i < n; ++i) oracle.stochastic_gradient(x[i], i, rng[i], resampled[i]);
      global = mean(resampled);
      round_clips = global.norm() > o.clip_threshold / o.step_size;
    }
    if (round && algorithm.correction == Correction::kControlVariates && t > 0) global = mean(control);
    if (round && algorithm.correction == Correction::kMomentum && n > 1) {
      std::fill(momentum.begin(), momentum.end(), mean(momentum));
    }
    for (int i = 0; i < n; ++i) oracle.stochastic_gradient(x[i], i, rng[i], g[i]);
    if (algorithm.correction == Correction::kResampled) {
      for (int i = 0; i < n; ++i) {
        const Vector v = g[i] - resampled[i] + global;
        x[i] -= (round_clips ? o.clip_threshold / v.norm() : o.step_size) * v;
      }
      continue;
    }
    if (algorithm.correction == Correction::kControlVariates) {
      for (int i = 0; i < n; ++i) x[i] -= o.step_size * (g[i] - control[i] + global);
      continue;
    }
    if (algorithm.correction == Correction::kMomentum) {
      for (int i = 0; i < n; ++i) {
        momentum[i] = o.momentum * momentum[i] + (1.0 - o.momentum) * g[i];
        x[i] -= o.nu * clipped(momentum[i].norm()) * momentum[i] +
                (1.0 - o.nu) * clipped(g[i].norm()) * g[i];
      }
      continue;
    }
    if (algorithm.averaging == Averaging::kGradientsEveryStep) {
      const Vector gbar = mean(g);
      for (int i = 0; i < n; ++i) x[i] -= coefficient(gbar.norm()) * gbar;
      continue;
    }
    if (round && algorithm.uses_clip_option()) reference_norm = mean(g).norm();
    for (int i = 0; i < n; ++i) {
      double norm = g[i].norm();
      if (algorithm.uses_clip_option() && o.clip_option == ClipOption::kGlobalAverage) {
        norm = reference_norm;
      } else if (algorithm.uses_clip_option() && o.clip_option == ClipOption::kMax) {
        norm = std::max(norm, reference_norm);
      }
      x[i] -= coefficient(norm) * g[i];
    }
  }
  return x;
}

struct Case {
  const Algorithm* algorithm;
  ClipOption clip_option;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Algorithm& algorithm : algorithms()) {
    cases.push_back({&algorithm, ClipOption::kLocal});
    if (algorithm.uses_clip_option()) {
      cases.push_back({&algorithm, ClipOption::kGlobalAverage});
      cases.push_back({&algorithm, ClipOption::kMax});
    }
  }
  return cases;
}

std::string case_name(const Case& c) {
  return std::string(c.algorithm->name) + "/" + std::string(to_string(c.clip_option));
}

TEST(Runner, EveryAlgorithmMatchesTheReferenceLoop) {
  for (const Case& c : all_cases()) {
    // Homogeneous, and heterogeneous (tilted per worker) for the methods
    // with more than one worker.
    for (const double tilt : {0.0, 0.3}) {
      RunOptions options = options_for(*c.algorithm);
      if (tilt > 0.0 && options.num_workers == 1) continue;
      SCOPED_TRACE(case_name(c) + (tilt > 0.0 ? " heterogeneous" : ""));
      NoisyQuadratic oracle(5, 2.0, tilt, options.num_workers);
      options.clip_option = c.clip_option;
      InProcessCommunicator communicator(options.num_workers);
      Runner runner(*c.algorithm, oracle, communicator, options);
      ASSERT_TRUE(runner.advance_to(options.max_steps));
      const auto expected = reference_models(*c.algorithm, oracle, options, options.max_steps);
      ASSERT_EQ(runner.models().size(), expected.size());
      // The engine and the reference perform the same IEEE operations in
      // the same order, so they agree to the last bit unless a compiler
      // contracts a - b * c into a fused multiply-add in one of them, or
      // (SCAFFOLD's c_i) adds the same three terms in another order; 1e-12
      // absolute on iterates of size ~1 covers such roundings over 17
      // steps, while any real difference (a missed round, a wrong norm, a
      // correction's sign) is >= 1e-3.
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_LT((runner.models()[i] - expected[i]).lpNorm<Eigen::Infinity>(), 1e-12)
            << "worker " << i;
      }
    }
  }
}

TEST(Runner, ReferenceComparisonExercisesBothSidesOfTheClip) {
  // Guards the test above: with these options the clipped methods clip on
  // some steps and not on others (EPISODE: on some rounds and not on
  // others), so both branches were compared.
  for (const Algorithm* algorithm : {&kCelgc, &kEpisode, &kLocalClippedMomentum}) {
    SCOPED_TRACE(algorithm->name);
    NoisyQuadratic oracle(5, 2.0);
    RunOptions options = options_for(*algorithm);
    options.max_steps = 60;
    InProcessCommunicator communicator(options.num_workers);
    const RunSummary summary = Runner(*algorithm, oracle, communicator, options).run();
    EXPECT_GT(summary.mean_clip_fraction, 0.05);
    EXPECT_LT(summary.mean_clip_fraction, 0.95);
  }
}

std::vector<EvalRecord> run_and_record(const Algorithm& algorithm, RunOptions options,
                                       Oracle& oracle, RunSummary* summary_out = nullptr) {
  testing::RecordedRun run = testing::run_recorded(algorithm, oracle, options);
  if (summary_out != nullptr) *summary_out = run.summary;
  return std::move(run.records);
}

bool same_bits(const Vector& a, const Vector& b) {
  // An empty Eigen vector's data() is null, which memcmp may not be given
  // even for 0 bytes (UndefinedBehaviorSanitizer's nonnull-attribute check).
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0);
}

TEST(Runner, ResultsAreBitwiseIdenticalForOneTwoAndFourThreads) {
  // d = 20000 spans several parallel blocks of the average (8192 each),
  // and N d is far above Runner::kParallelWork: the workers run on
  // oneTBB's parallel loop, not inline.
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(case_name(c));
    NoisyQuadratic oracle(20000, 3.0);
    RunOptions options = options_for(*c.algorithm);
    options.num_workers = c.algorithm->single_machine() ? 1 : 8;
    options.clip_option = c.clip_option;
    options.max_steps = 24;
    options.eval_every = 5;
    std::vector<RunSummary> summaries(3);
    std::vector<std::vector<EvalRecord>> traces;
    const int thread_counts[] = {1, 2, 4};
    for (int k = 0; k < 3; ++k) {
      options.threads = thread_counts[k];
      traces.push_back(run_and_record(*c.algorithm, options, oracle, &summaries[k]));
    }
    for (int k = 1; k < 3; ++k) {
      SCOPED_TRACE("threads = " + std::to_string(thread_counts[k]));
      EXPECT_TRUE(same_bits(summaries[0].final_iterate, summaries[k].final_iterate));
      ASSERT_EQ(traces[0].size(), traces[k].size());
      for (std::size_t r = 0; r < traces[0].size(); ++r) {
        const EvalRecord& a = traces[0][r];
        const EvalRecord& b = traces[k][r];
        EXPECT_EQ(a.step, b.step);
        EXPECT_EQ(a.rounds, b.rounds);
        EXPECT_EQ(a.bytes, b.bytes);
        // Bitwise: EXPECT_EQ on doubles compares exactly.
        EXPECT_EQ(a.value, b.value);
        EXPECT_EQ(a.grad_norm, b.grad_norm);
        EXPECT_EQ(a.consensus_distance, b.consensus_distance);
        EXPECT_EQ(a.clip_fraction, b.clip_fraction);
      }
    }
  }
}

TEST(Runner, DifferentSeedsGiveDifferentTrajectories) {
  NoisyQuadratic oracle(10, 1.0);
  RunOptions options = options_for(kCelgc);
  RunSummary first, second;
  run_and_record(kCelgc, options, oracle, &first);
  options.seed += 1;
  run_and_record(kCelgc, options, oracle, &second);
  EXPECT_FALSE(same_bits(first.final_iterate, second.final_iterate));
}

TEST(Runner, CountsRoundsAndBytesAsARingAllReduce) {
  const Index d = 10;
  const std::int64_t vector_bytes = 2 * 3 * d * 8;  // 2 (N - 1) d doubles, N = 4
  struct Expectation {
    const Algorithm* algorithm;
    ClipOption option;
    std::int64_t rounds;
    std::int64_t bytes;
  };
  // T = 20, I = 4: rounds before steps 0, 4, 8, 12, 16.
  const Expectation expectations[] = {
      {&kCelgc, ClipOption::kLocal, 5, 5 * vector_bytes},
      {&kCelgc, ClipOption::kGlobalAverage, 5, 10 * vector_bytes},  // model + gradient
      {&kCelgc, ClipOption::kMax, 5, 10 * vector_bytes},
      {&kLocalSgd, ClipOption::kLocal, 5, 5 * vector_bytes},
      {&kNaiveParallelClip, ClipOption::kLocal, 20, 20 * vector_bytes},
      {&kMinibatchSgd, ClipOption::kLocal, 20, 20 * vector_bytes},
  };
  for (const Expectation& e : expectations) {
    SCOPED_TRACE(std::string(e.algorithm->name) + "/" + std::string(to_string(e.option)));
    NoisyQuadratic oracle(d, 1.0);
    RunOptions options;
    options.num_workers = 4;
    options.sync_interval = 4;
    options.clip_option = e.option;
    options.max_steps = 20;
    RunSummary summary;
    const auto records = run_and_record(*e.algorithm, options, oracle, &summary);
    EXPECT_EQ(summary.rounds, e.rounds);
    EXPECT_EQ(summary.bytes, e.bytes);
    EXPECT_EQ(summary.oracle_calls.stochastic_gradients, 4 * 20);
    for (const EvalRecord& record : records) {
      // Rounds happen before steps 0, I, 2I, ...: ceil(t / I) of them
      // precede evaluation t; minibatch methods have one per step.
      const std::int64_t expected = e.rounds == 20 ? record.step : (record.step + 3) / 4;
      EXPECT_EQ(record.rounds, expected) << "at step " << record.step;
    }
  }
}

TEST(Runner, BytesFollowTheNetworkModelsAllReduce) {
  const Index d = 10;
  NoisyQuadratic oracle(d, 1.0);
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 4;
  options.max_steps = 20;  // 5 model averages
  options.network.algorithm = AllreduceAlgorithm::kParameterServer;
  RunSummary summary;
  run_and_record(kCelgc, options, oracle, &summary);
  // Every worker pushes d doubles to the server and pulls d back: 2 N d * 8.
  EXPECT_EQ(summary.communication.bytes_per_collective, 2 * 4 * d * 8);
  EXPECT_EQ(summary.communication.bytes_per_worker_per_collective, 2.0 * d * 8);
  EXPECT_EQ(summary.bytes, 5 * 2 * 4 * d * 8);
}

TEST(Runner, ProjectedTimeIsComputePlusTheModelledAverages) {
  const Index d = 1000;
  NoisyQuadratic oracle(d, 1.0);
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 5;
  options.max_steps = 50;  // 10 model averages
  options.eval_every = 10;
  options.network = {1e-3, 1e6, AllreduceAlgorithm::kRing};
  RunSummary summary;
  const auto records = run_and_record(kCelgc, options, oracle, &summary);
  const CommunicationSummary& c = summary.communication;
  EXPECT_EQ(c.collectives, 10);
  EXPECT_EQ(c.vector_bytes, d * 8);
  // Ring, p = 4, n = 8000 bytes: 2 * 3 * 1e-3 + 2 * 3/4 * 8000 / 1e6 seconds.
  const double per_average = 6e-3 + 1.5 * 8000 / 1e6;
  EXPECT_NEAR(c.modelled_seconds_per_collective, per_average, 1e-15);
  EXPECT_NEAR(c.modelled_seconds, 10 * per_average, 1e-14);
  EXPECT_GT(c.compute_seconds, 0.0);
  EXPECT_EQ(c.projected_seconds, c.compute_seconds + c.modelled_seconds);
  // The same at every evaluation, for the averages made so far.
  for (const EvalRecord& record : records) {
    const std::int64_t averages = record.step == 0 ? 0 : (record.step + 4) / 5;
    EXPECT_NEAR(record.projected_time_s - record.compute_time_s, averages * per_average, 1e-14)
        << "at step " << record.step;
  }
  EXPECT_LE(records.back().compute_time_s, c.compute_seconds);
}

TEST(Runner, LogsEveryAverageWithItsStepAndRound) {
  NoisyQuadratic oracle(10, 1.0);
  RunOptions options;
  options.num_workers = 4;
  options.sync_interval = 4;
  options.clip_option = ClipOption::kGlobalAverage;
  options.max_steps = 10;
  RunSummary summary;
  run_and_record(kCelgc, options, oracle, &summary);
  // Rounds open at steps 0, 4, 8 with a model average, then the gradient
  // average of the round's first step.
  constexpr Exchange kM = Exchange::kModels, kG = Exchange::kGradients;
  const std::vector<CollectiveRecord> expected = {{0, 1, kM}, {0, 1, kG}, {4, 2, kM},
                                                  {4, 2, kG}, {8, 3, kM}, {8, 3, kG}};
  const auto& log = summary.communication.log;
  ASSERT_EQ(log.size(), expected.size());
  for (std::size_t k = 0; k < log.size(); ++k) {
    EXPECT_EQ(log[k].step, expected[k].step) << k;
    EXPECT_EQ(log[k].round, expected[k].round) << k;
    EXPECT_EQ(log[k].exchange, expected[k].exchange) << k;
  }
  // One process: one rank's costs, nothing over a wire.
  ASSERT_EQ(summary.communication.per_rank.size(), 1u);
  ASSERT_EQ(summary.communication.log_per_rank.size(), log.size());
  EXPECT_EQ(summary.communication.per_rank[0].bytes_sent, 0);
}

TEST(Runner, MinibatchRoundsAreLoggedOncePerStep) {
  NoisyQuadratic oracle(10, 1.0);
  RunOptions options;
  options.num_workers = 2;
  options.max_steps = 3;
  RunSummary summary;
  run_and_record(kMinibatchSgd, options, oracle, &summary);
  const auto& log = summary.communication.log;
  ASSERT_EQ(log.size(), 3u);
  for (std::int64_t t = 0; t < 3; ++t) {
    EXPECT_EQ(log[t].step, t);
    EXPECT_EQ(log[t].round, t + 1);
    EXPECT_EQ(log[t].exchange, Exchange::kGradients);
  }
}

TEST(Runner, RejectsAnInvalidNetwork) {
  NoisyQuadratic oracle(4, 1.0);
  RunOptions options;
  options.network.bandwidth_bytes_per_s = 0.0;
  InProcessCommunicator communicator(1);
  try {
    Runner(kCelgc, oracle, communicator, options);
    ADD_FAILURE() << "accepted a zero bandwidth";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("network-bandwidth = 0", 0), 0u) << e.what();
  }
}

TEST(Runner, OneWorkerCommunicatesNothing) {
  for (const Algorithm* algorithm : {&kCelgc, &kNaiveParallelClip, &kClippedSgd}) {
    NoisyQuadratic oracle(10, 1.0);
    RunOptions options;
    options.max_steps = 12;
    options.sync_interval = 2;
    RunSummary summary;
    run_and_record(*algorithm, options, oracle, &summary);
    EXPECT_EQ(summary.rounds, 0) << algorithm->name;
    EXPECT_EQ(summary.bytes, 0) << algorithm->name;
  }
}

TEST(Runner, OneWorkerCelgcIsSingleMachineClippedSgd) {
  NoisyQuadratic oracle(6, 1.0);
  RunOptions options;
  options.sync_interval = 5;
  options.max_steps = 40;
  options.clip_threshold = 0.2;
  RunSummary celgc, clipped;
  run_and_record(kCelgc, options, oracle, &celgc);
  run_and_record(kClippedSgd, options, oracle, &clipped);
  EXPECT_TRUE(same_bits(celgc.final_iterate, clipped.final_iterate));
}

TEST(Runner, ClipFractionCountsClippedWorkerSteps) {
  NoisyQuadratic oracle(5, 1.0);
  RunOptions options = options_for(kCelgc);
  options.clip_threshold = 1e6;  // never reached: no step clips
  RunSummary summary;
  auto records = run_and_record(kCelgc, options, oracle, &summary);
  EXPECT_EQ(summary.mean_clip_fraction, 0.0);
  for (const auto& r : records) EXPECT_EQ(r.clip_fraction, 0.0);

  options.clip_threshold = 1e-9;  // every gradient is longer than gamma / eta
  records = run_and_record(kCelgc, options, oracle, &summary);
  EXPECT_EQ(summary.mean_clip_fraction, 1.0);
  for (const auto& r : records) EXPECT_EQ(r.clip_fraction, r.step == 0 ? 0.0 : 1.0);
}

TEST(Runner, CelgcWorkersStayWithinLemma1Distance) {
  // Lemma 1: ||xbar_t - x_i^t|| <= 2 gamma I almost surely. Large noise keeps
  // every step clipped at full length gamma, the worst case for the bound.
  NoisyQuadratic oracle(20, 50.0);
  RunOptions options;
  options.num_workers = 8;
  options.sync_interval = 6;
  options.step_size = 1.0;
  options.clip_threshold = 0.1;
  options.max_steps = 200;
  RunSummary summary;
  const auto records = run_and_record(kCelgc, options, oracle, &summary);
  double largest = 0.0;
  for (const auto& r : records) {
    EXPECT_LE(r.consensus_distance, 2 * 0.1 * 6) << "at step " << r.step;
    largest = std::max(largest, r.consensus_distance);
  }
  // Not vacuous: the workers do drift apart by a good part of the bound.
  EXPECT_GT(largest, 0.2 * 2 * 0.1 * 6);

  // The naive method keeps the models equal; only forming their mean rounds
  // (3x, 5x, 7x are inexact sums), by a few ulps of coordinates of size ~1
  // over 20 coordinates: far below 1e-13, and far below CELGC's spread.
  const auto naive = run_and_record(kNaiveParallelClip, options, oracle, &summary);
  for (const auto& r : naive) EXPECT_LT(r.consensus_distance, 1e-13);
}

TEST(Runner, StepLengthsFollowTheirRules) {
  NoisyQuadratic oracle(4, 5.0);
  RunOptions options;
  options.step_size = 0.7;
  options.clip_threshold = 0.05;
  options.max_steps = 30;
  for (const Algorithm* algorithm : {&kClippedSgd, &kNormalizedSgd}) {
    InProcessCommunicator communicator(1);
    Runner runner(*algorithm, oracle, communicator, options);
    for (std::int64_t t = 1; t <= options.max_steps; ++t) {
      const Vector before = runner.models()[0];
      ASSERT_TRUE(runner.advance_to(t));
      const double moved = (runner.models()[0] - before).norm();
      // Relative 1e-12: a handful of roundings in a norm of 4 coordinates.
      if (algorithm == &kClippedSgd) {
        EXPECT_LE(moved, 0.05 * (1 + 1e-12));
      } else {
        EXPECT_NEAR(moved, 0.7, 0.7 * 1e-12);
      }
    }
  }
}

TEST(Runner, EvaluatesEveryEvalEveryStepsAndAtTheEnd) {
  NoisyQuadratic oracle(3, 1.0);
  RunOptions options = options_for(kCelgc);
  options.max_steps = 30;
  options.eval_every = 7;
  const auto records = run_and_record(kCelgc, options, oracle);
  std::vector<std::int64_t> steps;
  for (const auto& r : records) steps.push_back(r.step);
  EXPECT_EQ(steps, (std::vector<std::int64_t>{0, 7, 14, 21, 28, 30}));
}

TEST(Runner, StopsAtTheFirstEvaluationMeetingTheCriterion) {
  for (StopCriterion criterion :
       {StopCriterion::kErgodic, StopCriterion::kMinimum, StopCriterion::kLast}) {
    SCOPED_TRACE(std::string(to_string(criterion)));
    NoisyQuadratic oracle(5, 1.0);
    RunOptions options;
    options.num_workers = 4;
    options.sync_interval = 4;
    options.step_size = 0.1;
    options.clip_threshold = 1.0;
    options.max_steps = 400;
    const auto full = run_and_record(kCelgc, options, oracle);
    // Recompute the metric from the recorded gradient norms alone.
    const double eps = 0.4;
    double sum = 0.0, minimum = INFINITY;
    std::int64_t expected = -1;
    for (std::size_t k = 1; k < full.size() && expected < 0; ++k) {
      sum += full[k].grad_norm;
      minimum = std::min(minimum, full[k].grad_norm);
      const double metric = criterion == StopCriterion::kErgodic ? sum / double(k)
                            : criterion == StopCriterion::kMinimum ? minimum
                                                                   : full[k].grad_norm;
      if (metric <= eps) expected = full[k].step;
    }
    ASSERT_GT(expected, 0) << "the unstopped run never reaches eps: test is vacuous";
    options.target = eps;
    options.criterion = criterion;
    RunSummary summary;
    run_and_record(kCelgc, options, oracle, &summary);
    EXPECT_EQ(summary.termination, Termination::kTargetReached);
    EXPECT_EQ(summary.steps, expected);
  }
}

TEST(Runner, ReportsBudgetExhaustedWhenTheTargetIsNotReached) {
  NoisyQuadratic oracle(5, 1.0);
  RunOptions options = options_for(kCelgc);
  options.target = 1e-9;
  RunSummary summary;
  run_and_record(kCelgc, options, oracle, &summary);
  EXPECT_EQ(summary.termination, Termination::kBudgetExhausted);
  EXPECT_EQ(summary.steps, options.max_steps);
  ASSERT_TRUE(summary.final_record.has_value());
  EXPECT_EQ(summary.final_record->step, options.max_steps);
}

TEST(Runner, ANanGradientIsReportedAsDivergenceAtItsStep) {
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(case_name(c));
    NoisyQuadratic inner(5, 1.0);
    RunOptions options = options_for(*c.algorithm);
    options.clip_option = c.clip_option;
    options.max_steps = 40;
    const int faulty = options.num_workers - 1;
    // EPISODE also draws at the starts of the rounds before step 11 (0, 3,
    // 6, 9), so step 11's draw is its worker's 16th call.
    const int resamples = c.algorithm->correction == Correction::kResampled ? 4 : 0;
    FaultyOracle oracle(inner, faulty, 11 + resamples);
    RunSummary summary;
    const auto records = run_and_record(*c.algorithm, options, oracle, &summary);
    EXPECT_EQ(summary.termination, Termination::kDiverged);
    ASSERT_TRUE(summary.divergence.has_value());
    EXPECT_EQ(summary.divergence->step, 11);
    EXPECT_EQ(summary.steps, 11);
    EXPECT_TRUE(std::isnan(summary.divergence->value));
    EXPECT_NE(summary.divergence->quantity.find(std::to_string(faulty)), std::string::npos)
        << summary.divergence->quantity;
    EXPECT_FALSE(summary.final_record.has_value());
    EXPECT_EQ(summary.final_iterate.size(), 0);
    for (const auto& r : records) EXPECT_LE(r.step, 11);
    // Only communication that happened is counted: rounds before steps
    // 0, 3, 6, 9 (I = 3), or one per completed step for minibatch methods;
    // step 11's average never took place.
    const std::int64_t rounds = c.algorithm->single_machine() ? 0
                                : c.algorithm->averaging == Averaging::kGradientsEveryStep ? 11
                                                                                           : 4;
    EXPECT_EQ(summary.rounds, rounds);
  }
}

TEST(Runner, ANormAboveTheBoundIsDivergence) {
  NoisyQuadratic oracle(5, 0.0);  // ||grad f(x0)|| = sqrt(1 + 4 + 9 + 16 + 25)
  RunOptions options = options_for(kCelgc);
  options.divergence_bound = 5.0;
  RunSummary summary;
  run_and_record(kCelgc, options, oracle, &summary);
  EXPECT_EQ(summary.termination, Termination::kDiverged);
  ASSERT_TRUE(summary.divergence.has_value());
  EXPECT_EQ(summary.divergence->step, 0);
  EXPECT_NEAR(summary.divergence->value, std::sqrt(55.0), 1e-12);
}

TEST(Runner, AnObserverCanStopTheRun) {
  struct StopAtTen final : Observer {
    ObserverDecision on_evaluation(const EvalRecord& record) override {
      return record.step >= 10 ? ObserverDecision::kStop : ObserverDecision::kContinue;
    }
  } stopper;
  NoisyQuadratic oracle(5, 1.0);
  RunOptions options = options_for(kCelgc);
  options.max_steps = 100;
  InProcessCommunicator communicator(options.num_workers);
  Runner runner(kCelgc, oracle, communicator, options);
  Observer* observers[] = {&stopper};
  const RunSummary summary = runner.run(observers);
  EXPECT_EQ(summary.termination, Termination::kStoppedByObserver);
  EXPECT_EQ(summary.steps, 10);
}

TEST(RunOptions, RejectsEachInvalidFieldByName) {
  struct Bad {
    std::function<void(RunOptions&)> mutate;
    std::string message;
  };
  const Bad cases[] = {
      {[](RunOptions& o) { o.num_workers = 0; }, "workers = 0, must be >= 1"},
      {[](RunOptions& o) { o.sync_interval = 0; }, "sync-interval = 0, must be >= 1"},
      {[](RunOptions& o) { o.step_size = 0; }, "step-size = 0, must be > 0"},
      {[](RunOptions& o) { o.step_size = -1; }, "step-size = -1, must be > 0"},
      {[](RunOptions& o) { o.step_size = NAN; }, "step-size = nan, must be > 0"},
      {[](RunOptions& o) { o.clip_threshold = -0.5; }, "clip-threshold = -0.5, must be > 0"},
      {[](RunOptions& o) { o.max_steps = 0; }, "steps = 0, must be >= 1"},
      {[](RunOptions& o) { o.eval_every = 0; }, "eval-every = 0, must be >= 1"},
      {[](RunOptions& o) { o.target = 0.0; }, "target = 0, must be > 0"},
      {[](RunOptions& o) { o.divergence_bound = 0; }, "divergence-bound = 0, must be > 0"},
      {[](RunOptions& o) { o.threads = 0; }, "threads = 0, must be in [1, 1024]"},
  };
  for (const Bad& bad : cases) {
    RunOptions options;
    bad.mutate(options);
    std::string error;
    EXPECT_FALSE(options.IsValid(kCelgc, &error));
    EXPECT_EQ(error, bad.message);
  }
  RunOptions options;
  options.num_workers = 8;
  std::string error;
  EXPECT_FALSE(options.IsValid(kSgd, &error));
  EXPECT_EQ(error, "workers = 8, must be 1 for algorithm sgd (a single-machine method)");
  EXPECT_TRUE(options.IsValid(kCelgc, &error));
}

TEST(Runner, RejectsOptionsThatDisagreeWithTheCommunicator) {
  NoisyQuadratic oracle(3, 1.0);
  RunOptions options;
  options.num_workers = 4;
  InProcessCommunicator communicator(2);
  EXPECT_THROW(Runner(kCelgc, oracle, communicator, options), std::invalid_argument);
  options.step_size = -1;
  InProcessCommunicator four(4);
  EXPECT_THROW(Runner(kCelgc, oracle, four, options), std::invalid_argument);
}

}  // namespace
}  // namespace distclip
