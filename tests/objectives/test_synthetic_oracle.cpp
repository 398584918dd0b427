// SyntheticOracle: how it combines the constants of a function and a noise
// model, and that its stochastic gradients are exact, reproducible and
// independent of threads and of whether reserve_workers() was called.
#include <cmath>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "objectives/objective_checks.hpp"

namespace distclip::test {
namespace {

ObjectiveSpec with_noise(ObjectiveSpec spec, const std::string& model, double sigma = 0.5) {
  spec.noise.model = model;
  spec.noise.sigma = sigma;
  return spec;
}

TEST(SyntheticOracle, ConstantsOfAnAdditiveFamily) {
  const ObjectiveSpec spec = family_spec("double-well", 10);
  const auto function = make_function(spec);
  {
    const auto oracle = make_oracle(with_noise(spec, "none"));
    const OracleConstants k = oracle->constants();
    EXPECT_EQ(k.l0, Constant::known(function->l0()));
    EXPECT_EQ(k.l1, Constant::known(function->l1()));
    EXPECT_EQ(k.f_low, Constant::known(function->f_low()));
    EXPECT_EQ(k.kappa, Constant::known(0.0));
    EXPECT_EQ(k.sigma, Constant::known(0.0));
    EXPECT_EQ(k.noise_std, Constant::known(0.0));
  }
  {
    const auto oracle = make_oracle(with_noise(spec, "ball", 0.5));
    EXPECT_EQ(oracle->constants().sigma, Constant::known(0.5));
    EXPECT_EQ(oracle->constants().noise_std, oracle->noise().noise_std());
  }
  for (const std::string model : {"gaussian", "student-t"}) {
    const auto oracle = make_oracle(with_noise(spec, model, 0.5));
    EXPECT_EQ(oracle->constants().sigma, Constant::unbounded()) << model;
    EXPECT_EQ(oracle->constants().noise_std, Constant::known(0.5)) << model;
  }
}

TEST(SyntheticOracle, ConstantsOfPhaseRetrieval) {
  const ObjectiveSpec spec = family_spec("phase-retrieval", 6);
  for (const std::string model : {"none", "ball", "gaussian"}) {
    const auto oracle = make_oracle(with_noise(spec, model));
    EXPECT_EQ(oracle->constants().sigma, Constant::unbounded()) << model;
    EXPECT_EQ(oracle->constants().noise_std, Constant::unbounded()) << model;
    EXPECT_EQ(oracle->constants().kappa, Constant::known(0.0)) << model;
  }
}

// A function whose sampling noise has given constants, to exercise every
// branch of the combination rules.
class SampledFunction final : public SyntheticFunction {
 public:
  SampledFunction(Constant sigma, Constant std) : sigma_(sigma), std_(std) {}
  Index dimension() const override { return 3; }
  void initial_point(VectorRef x0) const override { x0.setOnes(); }
  double value(ConstVectorRef x) const override { return 0.5 * x.squaredNorm(); }
  void gradient(ConstVectorRef x, VectorRef out) const override { out = x; }
  void hessian(ConstVectorRef, Eigen::Ref<Matrix> out) const override { out.setIdentity(); }
  Constant sampling_sigma() const override { return sigma_; }
  Constant sampling_noise_std() const override { return std_; }
  double l0() const override { return 1.0; }
  double l1() const override { return 0.0; }
  double f_low() const override { return 0.0; }
  std::string describe() const override { return "sampled"; }

 private:
  Constant sigma_, std_;
};

OracleConstants combined(Constant sigma, Constant std, const std::string& model) {
  NoiseSpec noise;
  noise.model = model;
  noise.sigma = 0.5;
  return SyntheticOracle(std::make_unique<SampledFunction>(sigma, std), make_noise(noise, 3))
      .constants();
}

TEST(SyntheticOracle, CombinationRules) {
  const Constant known = Constant::known(0.25), unknown = Constant::unknown(),
                 unbounded = Constant::unbounded();
  // Triangle inequality for sigma; independent zero-mean errors for the std.
  const OracleConstants both = combined(known, Constant::known(0.3), "gaussian");
  EXPECT_EQ(both.sigma, unbounded);
  ASSERT_TRUE(both.noise_std.is_known());
  // Within 4 ulps: a constant-folded hypot may round differently from libm's.
  EXPECT_DOUBLE_EQ(both.noise_std.value(), std::hypot(0.3, 0.5));
  const OracleConstants bounded = combined(known, Constant::known(0.3), "ball");
  EXPECT_EQ(bounded.sigma, Constant::known(0.75));
  EXPECT_DOUBLE_EQ(bounded.noise_std.value(), std::hypot(0.3, 0.5 * std::sqrt(3.0 / 5.0)));
  // "none" passes the sampling constants through, whatever they are.
  for (const Constant& c : {known, unknown, unbounded}) {
    EXPECT_EQ(combined(c, c, "none").sigma, c);
    EXPECT_EQ(combined(c, c, "none").noise_std, c);
  }
  // Unbounded wins over everything, unknown over known.
  EXPECT_EQ(combined(unbounded, unknown, "ball").sigma, unbounded);
  EXPECT_EQ(combined(unknown, unbounded, "ball").noise_std, unbounded);
  EXPECT_EQ(combined(unknown, unknown, "ball").sigma, unknown);
  EXPECT_EQ(combined(unknown, unknown, "ball").noise_std, unknown);
  EXPECT_EQ(combined(known, unknown, "gaussian").noise_std, unknown);
  // The default sampling_noise_std(): 0 exactly when sampling_sigma() is 0.
  EXPECT_EQ(make_function(family_spec("quartic", 3))->sampling_noise_std(), Constant::known(0.0));
}

TEST(SyntheticOracle, NoNoiseGivesTheExactGradient) {
  for (const auto& family : {"double-well", "quartic", "cosh-well", "rippled-quadratic"}) {
    const auto oracle = make_oracle(family_spec(family, 9));
    Rng point_rng = make_stream(51, StreamPurpose::kTest, 0);
    const Vector x = random_point(point_rng, 9, 2.0);
    Vector exact(9), stochastic(9);
    oracle->gradient(x, exact);
    Rng rng = worker_stream(1, 0);
    oracle->stochastic_gradient(x, 0, rng, stochastic);
    EXPECT_TRUE((exact.array() == stochastic.array()).all()) << family;
    EXPECT_EQ(oracle->value(x), oracle->function().value(x)) << family;
  }
}

TEST(SyntheticOracle, DelegatesToItsParts) {
  const ObjectiveSpec spec = with_noise(family_spec("cosh-well", 4), "student-t");
  const auto oracle = make_oracle(spec);
  EXPECT_EQ(oracle->dimension(), 4);
  Vector x0(4);
  oracle->initial_point(x0);
  EXPECT_TRUE((x0.array() == 4.0 / 0.7).all());
  EXPECT_EQ(oracle->describe(),
            oracle->function().describe() + " + noise " + oracle->noise().describe());
  EXPECT_NE(oracle->describe().find("student-t(sigma=0.5, dof=3)"), std::string::npos);
}

// M stochastic gradients of each of W workers, each from its own stream and
// its own moving point; with `threads`, one std::thread per worker.
std::vector<Matrix> run_workers(const Oracle& oracle, int workers, int steps, bool threads) {
  const Index d = oracle.dimension();
  std::vector<Matrix> out(workers, Matrix(d, steps));
  // All threads start together, so that their calls overlap.
  std::latch start(threads ? workers : 1);
  const auto work = [&](int w) {
    if (threads) start.arrive_and_wait();
    Rng rng = worker_stream(99, w);
    Vector x(d), g(d);
    oracle.initial_point(x);
    for (int t = 0; t < steps; ++t) {
      oracle.stochastic_gradient(x, w, rng, g);
      out[w].col(t) = g;
      x -= 1e-3 * g / (1.0 + g.norm());
    }
  };
  if (threads) {
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work, w);
    for (auto& thread : pool) thread.join();
  } else {
    for (int w = 0; w < workers; ++w) work(w);
  }
  return out;
}

bool same_bits(const std::vector<Matrix>& a, const std::vector<Matrix>& b) {
  for (std::size_t w = 0; w < a.size(); ++w) {
    if (!(a[w].array() == b[w].array()).all()) return false;
  }
  return a.size() == b.size();
}

// Concurrent calls for distinct workers give the bits of sequential ones,
// with the reserved per-worker scratch or the unreserved fallback alike.
TEST(SyntheticOracle, ConcurrentWorkersMatchSequential) {
  for (const auto& [family, model] :
       std::vector<std::pair<std::string, std::string>>{{"phase-retrieval", "truncated-gaussian"},
                                                        {"double-well", "ball"},
                                                        {"cosh-well", "student-t"},
                                                        {"quartic", "gaussian"}}) {
    // d large enough that one call takes long against thread start-up.
    ObjectiveSpec spec =
        with_noise(family_spec(family, family == "phase-retrieval" ? 300 : 3000), model);
    spec.batch_size = 3;
    const auto unreserved = make_oracle(spec);
    const std::vector<Matrix> sequential = run_workers(*unreserved, 4, 50, false);
    const auto oracle = make_oracle(spec);
    oracle->reserve_workers(4);
    EXPECT_TRUE(same_bits(run_workers(*oracle, 4, 50, true), sequential)) << family << model;
    EXPECT_TRUE(same_bits(run_workers(*oracle, 4, 50, false), sequential)) << family << model;
    // Workers differ from each other (own streams).
    EXPECT_FALSE((sequential[0].array() == sequential[1].array()).all()) << family << model;
    // A worker beyond the reserved ones falls back to a temporary scratch.
    oracle->reserve_workers(2);
    EXPECT_TRUE(same_bits(run_workers(*oracle, 4, 50, true), sequential)) << family << model;
  }
}

}  // namespace
}  // namespace distclip::test
