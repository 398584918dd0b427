// Checkpoint and resume in the runner: a run resumed from any checkpoint
// goes on to the very bits of the run never interrupted (evaluations,
// counts, communication log, final iterate, the invariant checker's
// figures), for every algorithm and clip option, mid-round, with any
// thread count; and a state that does not fit the runner is refused.
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "distclip/algorithms/algorithm.hpp"
#include "distclip/algorithms/invariants.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"
#include "support/recording.hpp"

namespace distclip {
namespace {

using testing::EvaluationRecorder;

struct Saved {
  std::int64_t step = 0;
  std::string state;
};

struct Outcome {
  RunSummary summary;
  std::vector<EvalRecord> records;
  std::int64_t steps_checked = 0;
  double consensus_slack = 0.0;
  double deviation_slack = 0.0;
};

// Worker i's f_i tilted (kappa = 0.5) so that the corrected methods'
// state matters; homogeneous for a single machine's one worker.
std::unique_ptr<Oracle> tilted_well(int workers) {
  ObjectiveSpec spec;
  spec.family = "double-well";
  spec.dim = 5;
  spec.heterogeneity = workers > 1 ? 0.5 : 0.0;
  return make_oracle(spec, workers);
}

RunOptions options_for(const Algorithm& algorithm, ClipOption clip, int threads) {
  RunOptions options;
  options.num_workers = algorithm.single_machine() ? 1 : 4;
  options.sync_interval = 4;
  options.step_size = 0.05;
  options.clip_threshold = 0.05;  // most steps clip
  options.clip_option = clip;
  options.max_steps = 120;
  options.eval_every = 10;  // checkpoints every 30 steps fall mid-round (30 % 4 = 2)
  options.threads = threads;
  return options;
}

// The run, with the invariant checker (which sends the runner one step at a
// time) when `checked`; `saved` gets the checkpoints every 30 steps, and
// `resume_from` starts the run from one.
Outcome run(const Algorithm& algorithm, const RunOptions& options, bool checked,
            std::vector<Saved>* saved, const Saved* resume_from) {
  const auto oracle = tilted_well(options.num_workers);
  InProcessCommunicator communicator(options.num_workers);
  Runner runner(algorithm, *oracle, communicator, options);
  EvaluationRecorder recorder;
  InvariantChecker checker(LemmaBounds::of(algorithm, options, oracle->constants()));
  std::vector<Observer*> observers = {&recorder};
  if (checked) observers.push_back(&checker);
  if (resume_from != nullptr) runner.resume(resume_from->state, observers);
  Checkpointing checkpointing;
  if (saved != nullptr) {
    checkpointing.every = 30;
    checkpointing.save = [saved](std::int64_t step, std::string state) {
      saved->push_back({step, std::move(state)});
    };
  }
  Outcome outcome;
  outcome.summary = runner.run(observers, checkpointing);
  outcome.records = std::move(recorder.records);
  outcome.steps_checked = checker.steps_checked();
  outcome.consensus_slack = checker.consensus_slack();
  outcome.deviation_slack = checker.deviation_slack();
  return outcome;
}

// Everything but the times, which differ from run to run.
void expect_same_record(const EvalRecord& a, const EvalRecord& b, const std::string& where) {
  EXPECT_EQ(a.step, b.step) << where;
  EXPECT_EQ(a.rounds, b.rounds) << where;
  EXPECT_EQ(a.bytes, b.bytes) << where;
  const auto same_bits = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  EXPECT_TRUE(same_bits(a.value, b.value)) << where;
  EXPECT_TRUE(same_bits(a.grad_norm, b.grad_norm)) << where;
  EXPECT_TRUE(same_bits(a.ergodic_grad_norm, b.ergodic_grad_norm)) << where;
  EXPECT_TRUE(same_bits(a.min_grad_norm, b.min_grad_norm)) << where;
  EXPECT_TRUE(same_bits(a.clip_fraction, b.clip_fraction)) << where;
  EXPECT_TRUE(same_bits(a.consensus_distance, b.consensus_distance)) << where;
  EXPECT_TRUE(same_bits(a.kappa, b.kappa)) << where;
}

void expect_same_ending(const Outcome& whole, const Outcome& resumed, std::int64_t from,
                        const std::string& where) {
  std::vector<EvalRecord> after;
  for (const EvalRecord& r : whole.records) {
    if (r.step > from) after.push_back(r);
  }
  ASSERT_EQ(resumed.records.size(), after.size()) << where;
  for (std::size_t k = 0; k < after.size(); ++k) {
    expect_same_record(after[k], resumed.records[k], fmt::format("{}, evaluation {}", where, k));
  }
  const RunSummary& a = whole.summary;
  const RunSummary& b = resumed.summary;
  EXPECT_EQ(a.termination, b.termination) << where;
  EXPECT_EQ(a.steps, b.steps) << where;
  EXPECT_EQ(a.rounds, b.rounds) << where;
  EXPECT_EQ(a.bytes, b.bytes) << where;
  EXPECT_EQ(a.oracle_calls.stochastic_gradients, b.oracle_calls.stochastic_gradients) << where;
  EXPECT_EQ(a.oracle_calls.gradients, b.oracle_calls.gradients) << where;
  EXPECT_EQ(a.oracle_calls.values, b.oracle_calls.values) << where;
  EXPECT_EQ(a.mean_clip_fraction, b.mean_clip_fraction) << where;
  ASSERT_EQ(a.communication.log.size(), b.communication.log.size()) << where;
  for (std::size_t k = 0; k < a.communication.log.size(); ++k) {
    EXPECT_EQ(a.communication.log[k].step, b.communication.log[k].step) << where;
    EXPECT_EQ(a.communication.log[k].exchange, b.communication.log[k].exchange) << where;
  }
  ASSERT_EQ(a.final_iterate.size(), b.final_iterate.size()) << where;
  EXPECT_EQ(std::memcmp(a.final_iterate.data(), b.final_iterate.data(),
                        sizeof(double) * a.final_iterate.size()),
            0)
      << where << ": final iterates differ";
  EXPECT_EQ(whole.steps_checked, resumed.steps_checked) << where;
  EXPECT_EQ(whole.consensus_slack, resumed.consensus_slack) << where;
  EXPECT_EQ(whole.deviation_slack, resumed.deviation_slack) << where;
}

TEST(Checkpoint, EveryAlgorithmResumesToTheBitsOfTheUninterruptedRun) {
  int cases = 0;
  for (const Algorithm& algorithm : algorithms()) {
    std::vector<ClipOption> clips = {ClipOption::kLocal};
    if (algorithm.uses_clip_option()) clips.push_back(ClipOption::kGlobalAverage);
    for (const ClipOption clip : clips) {
      for (const bool checked : {false, true}) {
        const std::string where = fmt::format("{}, clip option {}, {}", algorithm.name,
                                              static_cast<int>(clip),
                                              checked ? "invariants checked" : "unchecked");
        const RunOptions options = options_for(algorithm, clip, 1);
        const Outcome whole = run(algorithm, options, checked, nullptr, nullptr);
        std::vector<Saved> saved;
        const Outcome saving = run(algorithm, options, checked, &saved, nullptr);
        expect_same_ending(whole, saving, -1, where + ", saving");  // saving changes nothing
        ASSERT_EQ(saved.size(), 3u) << where;  // at 30, 60 and 90; none at the last step
        EXPECT_EQ(saved[0].step, 30) << where;
        for (const Saved& checkpoint : saved) {
          // Resumed on 2 threads from a 1-thread run's checkpoint.
          const RunOptions two_threads = options_for(algorithm, clip, 2);
          const Outcome resumed = run(algorithm, two_threads, checked, nullptr, &checkpoint);
          expect_same_ending(whole, resumed, checkpoint.step,
                             fmt::format("{}, resumed at {}", where, checkpoint.step));
          ++cases;
        }
      }
    }
  }
  EXPECT_GE(cases, 30);
}

TEST(Checkpoint, AResumedRunSavesTheSameCheckpointsAgain) {
  const RunOptions options = options_for(kCelgc, ClipOption::kLocal, 1);
  std::vector<Saved> first;
  run(kCelgc, options, false, &first, nullptr);
  std::vector<Saved> second;
  run(kCelgc, options, false, &second, &first[0]);
  ASSERT_EQ(second.size(), 2u);  // 60 and 90
  EXPECT_EQ(second[0].step, 60);
  // The states hold a wall-clock time, so compare what a third run makes of
  // them: the same ending from either.
  const Outcome from_first = run(kCelgc, options, false, nullptr, &first[2]);
  const Outcome from_second = run(kCelgc, options, false, nullptr, &second[1]);
  expect_same_ending(from_first, from_second, 90, "checkpoint at 90, saved twice");
}

TEST(Checkpoint, AStateThatDoesNotFitIsRefused) {
  const RunOptions options = options_for(kCelgc, ClipOption::kLocal, 1);
  std::vector<Saved> saved;
  run(kCelgc, options, false, &saved, nullptr);
  const auto refuses = [&](const Algorithm& algorithm, RunOptions other, Index dim,
                           const std::string& state) {
    ObjectiveSpec spec;
    spec.family = "double-well";
    spec.dim = dim;
    spec.heterogeneity = 0.5;
    const auto oracle = make_oracle(spec, other.num_workers);
    InProcessCommunicator communicator(other.num_workers);
    Runner runner(algorithm, *oracle, communicator, other);
    EvaluationRecorder recorder;
    Observer* observers[] = {&recorder};
    EXPECT_THROW(runner.resume(state, observers), StateError);
  };
  const std::string& state = saved[0].state;
  refuses(kCelgc, options, 6, state);                            // another dimension
  refuses(kCelgc, options, 5, state.substr(0, state.size() / 2));  // cut short
  refuses(kCelgc, options, 5, state + "x");                      // bytes left over
  refuses(kEpisode, options, 5, state);  // EPISODE keeps corrections CELGC has not saved
  RunOptions eight = options;
  eight.num_workers = 8;
  refuses(kCelgc, eight, 5, state);  // another worker count
  std::string tag = state;
  tag[0] ^= 1;
  refuses(kCelgc, options, 5, tag);  // not a runner's state
}

}  // namespace
}  // namespace distclip
