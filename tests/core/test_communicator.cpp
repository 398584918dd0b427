// The in-process communicator: a fixed-order mean, bitwise independent of the
// thread count, and the accounting of what the algorithm communicates.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <gtest/gtest.h>
#include <oneapi/tbb/task_arena.h>

#include "distclip/core/communicator.hpp"
#include "distclip/core/random.hpp"

namespace distclip {
namespace {

std::vector<Vector> random_vectors(int count, Index d) {
  Rng rng = make_stream(1, StreamPurpose::kTest, 0);
  boost::random::normal_distribution<double> normal(0.0, 1e3);
  std::vector<Vector> out(count, Vector(d));
  for (auto& v : out) {
    for (Index j = 0; j < d; ++j) v[j] = normal(rng);
  }
  return out;
}

TEST(InProcessCommunicator, AverageIsTheSequentialWorkerOrderSum) {
  const Index d = 20001;  // several parallel blocks and a ragged last one
  const auto vectors = random_vectors(7, d);
  Vector expected(d);
  for (Index j = 0; j < d; ++j) {
    double sum = vectors[0][j];
    for (int w = 1; w < 7; ++w) sum += vectors[w][j];
    expected[j] = sum / 7.0;
  }
  for (int threads : {1, 2, 4}) {
    InProcessCommunicator communicator(7);
    Vector mean(d);
    tbb::task_arena(threads).execute(
        [&] { communicator.average(vectors, mean, Traffic::kAlgorithm); });
    EXPECT_EQ(std::memcmp(mean.data(), expected.data(), sizeof(double) * d), 0)
        << "threads = " << threads;
  }
}

TEST(InProcessCommunicator, CountsAndTimesOnlyAlgorithmTraffic) {
  const auto vectors = random_vectors(4, 100000);
  InProcessCommunicator communicator(4);
  Vector mean(100000);
  communicator.average(vectors, mean, Traffic::kMeasurement);
  EXPECT_EQ(communicator.stats().collectives, 0);
  EXPECT_EQ(communicator.stats().total.seconds, 0.0);
  communicator.average(vectors, mean, Traffic::kAlgorithm);
  communicator.average(vectors, mean, Traffic::kAlgorithm);
  EXPECT_EQ(communicator.stats().collectives, 2);
  // Summing 4 x 800 kB takes time; nothing crosses a process boundary.
  EXPECT_GT(communicator.stats().total.seconds, 0.0);
  EXPECT_GE(communicator.stats().total.seconds, communicator.last_cost().seconds);
  EXPECT_EQ(communicator.stats().total.bytes_sent, 0);
  EXPECT_EQ(communicator.stats().total.bytes_received, 0);
}

TEST(InProcessCommunicator, InjectedFailureStrikesAtTheChosenAverage) {
  const auto vectors = random_vectors(2, 10);
  InProcessCommunicator communicator(2);
  communicator.inject_failure({0, 3, FailureInjection::Mode::kThrow});
  Vector mean(10);
  communicator.average(vectors, mean, Traffic::kAlgorithm);
  communicator.average(vectors, mean, Traffic::kMeasurement);  // not counted
  communicator.average(vectors, mean, Traffic::kAlgorithm);
  EXPECT_THROW(communicator.average(vectors, mean, Traffic::kAlgorithm), std::runtime_error);
}

TEST(InProcessCommunicator, InjectedFailureOnAnotherRankDoesNothingHere) {
  const auto vectors = random_vectors(2, 10);
  InProcessCommunicator communicator(2);
  communicator.inject_failure({1, 1, FailureInjection::Mode::kThrow});
  Vector mean(10);
  EXPECT_NO_THROW(communicator.average(vectors, mean, Traffic::kAlgorithm));
}

TEST(InProcessCommunicator, OneWorkerCopiesAndCountsNothing) {
  const auto vectors = random_vectors(1, 50);
  InProcessCommunicator communicator(1);
  Vector mean(50);
  communicator.average(vectors, mean, Traffic::kAlgorithm);
  EXPECT_EQ(mean, vectors[0]);
  EXPECT_EQ(communicator.stats().collectives, 0);
  EXPECT_EQ(communicator.local_workers().begin, 0);
  EXPECT_EQ(communicator.local_workers().end, 1);
}

TEST(InProcessCommunicator, HostsEveryWorker) {
  InProcessCommunicator communicator(8);
  EXPECT_EQ(communicator.rank(), 0);
  EXPECT_EQ(communicator.size(), 1);
  EXPECT_EQ(communicator.local_workers().size(), 8);
  EXPECT_EQ(communicator.max(2.5), 2.5);
  EXPECT_EQ(communicator.sum(std::int64_t{3}), 3);
  EXPECT_EQ(communicator.sum(1.5), 1.5);
  EXPECT_EQ(communicator.min(std::int64_t{-4}), -4);
  EXPECT_EQ(communicator.broadcast(7.0, 0), 7.0);
  EXPECT_EQ(communicator.rank_of(5), 0);
}

}  // namespace
}  // namespace distclip
