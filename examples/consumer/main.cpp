// CELGC from a program of your own: eight workers on the paper's quartic
// example generalised to d = 10, with bounded noise. Exits non-zero unless
// the run ends closer to stationarity than it started.
#include <cstdio>

#include "distclip/algorithms/runner.hpp"
#include "distclip/core/communicator.hpp"
#include "distclip/objectives/catalog.hpp"

int main() {
  distclip::ObjectiveSpec spec;
  spec.family = "quartic";
  spec.dim = 10;
  spec.noise.model = "ball";
  spec.noise.sigma = 0.1;
  const auto oracle = distclip::make_oracle(spec);

  distclip::RunOptions options;
  options.num_workers = 8;
  options.sync_interval = 4;
  options.step_size = 0.01;
  options.clip_threshold = 0.05;
  options.max_steps = 500;
  distclip::InProcessCommunicator communicator(options.num_workers);
  distclip::Runner runner(distclip::kCelgc, *oracle, communicator, options);
  const distclip::EvalRecord start = runner.evaluate();
  const distclip::RunSummary summary = runner.run();

  std::printf("%s: ||grad f(x0)|| = %g, final ||grad f(xbar)|| = %g after %lld steps, %lld rounds\n",
              oracle->describe().c_str(), start.grad_norm, summary.final_record->grad_norm,
              static_cast<long long>(summary.steps), static_cast<long long>(summary.rounds));
  return summary.final_record->grad_norm < start.grad_norm ? 0 : 1;
}
