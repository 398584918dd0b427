// The MPI communicator on R ranks (ctest runs this under mpiexec with R in
// {1, 2, 4}): the ordered average is bitwise the in-process one for any rank
// count, chunk size and ragged dimension; the fast one is close; bytes are
// counted as sent; the scalar collectives agree.
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <gtest/gtest.h>

#include "distclip/core/communicator.hpp"
#include "distclip/core/mpi_communicator.hpp"
#include "distclip/core/random.hpp"

namespace distclip {
namespace {

// Every worker's vector, the same on every rank; magnitudes spread over
// many orders so that a different summation order changes the bits.
std::vector<Vector> all_vectors(int workers, Index d) {
  Rng rng = make_stream(7, StreamPurpose::kTest, static_cast<std::uint64_t>(workers));
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  std::vector<Vector> out(static_cast<std::size_t>(workers), Vector(d));
  for (int w = 0; w < workers; ++w) {
    for (Index j = 0; j < d; ++j) out[w][j] = normal(rng) * std::pow(10.0, (w * 7 + j) % 9);
  }
  return out;
}

std::vector<Vector> block_of(const std::vector<Vector>& all, WorkerRange range) {
  return {all.begin() + range.begin, all.begin() + range.end};
}

Vector in_process_mean(const std::vector<Vector>& all) {
  InProcessCommunicator reference(static_cast<int>(all.size()));
  Vector mean(all[0].size());
  reference.average(all, mean, Traffic::kAlgorithm);
  return mean;
}

TEST(MpiCommunicator, OrderedAverageIsBitwiseTheInProcessOne) {
  const int ranks = MpiSession::size();
  for (const int per_rank : {1, 2, 3}) {
    const int workers = per_rank * ranks;
    // Below, at and around the chunk, and several ragged chunks.
    for (const Index d :
         {Index{1}, Index{5}, Index{64}, Index{65}, Index{64 * 3 + 7}, Index{4099}}) {
      const auto all = all_vectors(workers, d);
      // A chunk of 64 makes many messages; the default sends d = 4099 in
      // eager-sized chunks of 480.
      const Index chunk = d == 4099 && per_rank == 2 ? MpiCommunicator::kDefaultChunk : 64;
      MpiCommunicator communicator(MPI_COMM_WORLD, workers, Reduction::kOrdered, chunk);
      const auto local = block_of(all, communicator.local_workers());
      Vector mean = Vector::Constant(d, -1.0);
      communicator.average(local, mean, Traffic::kAlgorithm);
      const Vector expected = in_process_mean(all);
      EXPECT_EQ(std::memcmp(mean.data(), expected.data(), sizeof(double) * d), 0)
          << "workers " << workers << ", d " << d << ", rank " << MpiSession::rank();
    }
  }
}

TEST(MpiCommunicator, SummationOrderMatters) {
  // The test above could not fail if these vectors summed alike in any
  // order: check that pairing (v0 + v1) + (v2 + v3) differs somewhere.
  const auto all = all_vectors(4, 4099);
  const Vector sequential = ((all[0] + all[1]) + all[2]) + all[3];
  const Vector paired = (all[0] + all[1]) + (all[2] + all[3]);
  EXPECT_NE(std::memcmp(sequential.data(), paired.data(), sizeof(double) * 4099), 0);
}

TEST(MpiCommunicator, CountsTheBytesItSends) {
  const int ranks = MpiSession::size();
  const int rank = MpiSession::rank();
  const int workers = 2 * ranks;
  const Index d = 1000;
  const auto all = all_vectors(workers, d);
  MpiCommunicator communicator(MPI_COMM_WORLD, workers, Reduction::kOrdered, 128);
  const auto local = block_of(all, communicator.local_workers());
  Vector mean(d);
  communicator.average(local, mean, Traffic::kMeasurement);
  EXPECT_EQ(communicator.stats().collectives, 0);
  communicator.average(local, mean, Traffic::kAlgorithm);
  EXPECT_EQ(communicator.stats().collectives, 1);
  const std::int64_t vector = d * 8;
  // Reduce chain 0 -> ... -> R-1 and broadcast chain R-1 -> 0 -> ... -> R-2:
  // every rank but the last sends the partial sums and every rank but R-2
  // sends the result on; every rank but 0 receives partial sums and every
  // rank but the last receives the result.
  std::int64_t sent = 0;
  std::int64_t received = 0;
  if (ranks > 1) {
    sent = (rank != ranks - 1 ? vector : 0) + (rank != ranks - 2 ? vector : 0);
    received = (rank != 0 ? vector : 0) + (rank != ranks - 1 ? vector : 0);
  }
  EXPECT_EQ(communicator.last_cost().bytes_sent, sent) << "rank " << rank;
  EXPECT_EQ(communicator.last_cost().bytes_received, received) << "rank " << rank;
  EXPECT_EQ(communicator.stats().total.bytes_sent, sent);
  // What all ranks sent, all ranks received.
  std::int64_t totals[2] = {sent, received};
  std::int64_t sums[2] = {0, 0};
  MPI_Allreduce(totals, sums, 2, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sums[0], sums[1]);
}

TEST(MpiCommunicator, FastAverageIsCloseButMayDifferInTheLastBits) {
  const int ranks = MpiSession::size();
  const int workers = 2 * ranks;
  const Index d = 4099;
  const auto all = all_vectors(workers, d);
  MpiCommunicator communicator(MPI_COMM_WORLD, workers, Reduction::kFast);
  EXPECT_FALSE(communicator.bitwise_reproducible());
  EXPECT_EQ(communicator.name(), "mpi-fast");
  const auto local = block_of(all, communicator.local_workers());
  Vector mean(d);
  communicator.average(local, mean, Traffic::kAlgorithm);
  const Vector expected = in_process_mean(all);
  // Any order of summing n terms errs by at most (n-1) u sum|v_w| (Higham,
  // Accuracy and Stability, 2nd ed., eq. 4.4), so two orders differ by at
  // most twice that; the division by N adds at most u |mean| to each.
  const double u = std::numeric_limits<double>::epsilon() / 2;
  for (Index j = 0; j < d; ++j) {
    double magnitude = 0.0;
    for (const Vector& v : all) magnitude += std::abs(v[j]);
    const double bound =
        2 * (workers - 1) * u * magnitude / workers + 2 * u * std::abs(expected[j]);
    EXPECT_NEAR(mean[j], expected[j], bound) << "j = " << j;
  }
}

TEST(MpiCommunicator, ScalarCollectivesAgreeOnEveryRank) {
  const int ranks = MpiSession::size();
  const int rank = MpiSession::rank();
  MpiCommunicator communicator(MPI_COMM_WORLD, ranks);
  EXPECT_EQ(communicator.max(static_cast<double>(rank)), static_cast<double>(ranks - 1));
  EXPECT_EQ(communicator.min(std::int64_t{10} - rank), 10 - (ranks - 1));
  EXPECT_EQ(communicator.sum(std::int64_t{rank}), ranks * (ranks - 1) / 2);
  EXPECT_EQ(communicator.sum(0.5), 0.5 * ranks);
  EXPECT_EQ(communicator.broadcast(rank == ranks - 1 ? 42.0 : -1.0, ranks - 1), 42.0);
  const double mine[2] = {static_cast<double>(rank), 10.0 * rank};
  std::vector<double> all(rank == 0 ? 2 * ranks : 0);
  communicator.gather(mine, all);
  if (rank == 0) {
    for (int r = 0; r < ranks; ++r) {
      EXPECT_EQ(all[2 * r], r);
      EXPECT_EQ(all[2 * r + 1], 10.0 * r);
    }
  }
  EXPECT_EQ(communicator.local_workers().begin, rank);
  EXPECT_EQ(communicator.rank_of(ranks - 1), ranks - 1);
}

TEST(MpiCommunicator, RejectsAWorkerCountTheRanksDoNotDivide) {
  const int ranks = MpiSession::size();
  if (ranks == 1) GTEST_SKIP() << "every worker count divides over one rank";
  try {
    MpiCommunicator communicator(MPI_COMM_WORLD, ranks + 1);
    ADD_FAILURE() << "accepted " << ranks + 1 << " workers on " << ranks << " ranks";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("workers = " + std::to_string(ranks + 1)), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(ranks) + " MPI ranks"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace distclip

int main(int argc, char** argv) {
  distclip::MpiSession session(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Every rank reports; mpiexec's status is non-zero if any rank failed.
  const int failed = RUN_ALL_TESTS();
  int any = failed;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
