// An observer that keeps every evaluation record, and a whole run with one
// on an in-process communicator: what the engine's tests inspect.
#pragma once

#include <utility>
#include <vector>

#include "distclip/algorithms/observer.hpp"
#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"

namespace distclip::testing {

class EvaluationRecorder final : public Observer {
 public:
  ObserverDecision on_evaluation(const EvalRecord& record) override {
    records.push_back(record);
    return ObserverDecision::kContinue;
  }
  std::vector<EvalRecord> records;
};

struct RecordedRun {
  RunSummary summary;
  std::vector<EvalRecord> records;
};

inline RecordedRun run_recorded(const Algorithm& algorithm, Oracle& oracle,
                                const RunOptions& options) {
  EvaluationRecorder recorder;
  InProcessCommunicator communicator(options.num_workers);
  Runner runner(algorithm, oracle, communicator, options);
  Observer* observers[] = {&recorder};
  RecordedRun run;
  run.summary = runner.run(observers);
  run.records = std::move(recorder.records);
  return run;
}

}  // namespace distclip::testing
