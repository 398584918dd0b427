#include "distclip/core/mpi_communicator.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

namespace distclip {

namespace {

// Tags of the ordered reduction's two pipelines. A collective completes
// every message before it returns, and MPI keeps messages of one (source,
// tag) in order, so consecutive collectives cannot mix.
constexpr int kReduceTag = 11;
constexpr int kBroadcastTag = 12;

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, length));
}

int message_count(Index coordinates) {
  if (coordinates > std::numeric_limits<int>::max()) {
    throw std::length_error("MpiCommunicator: chunk larger than an MPI count");
  }
  return static_cast<int>(coordinates);
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::runtime_error("MPI is already initialised in this process");
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw std::runtime_error(
        "this MPI library does not provide MPI_THREAD_SERIALIZED, which distclip needs");
  }
}

MpiSession::~MpiSession() { MPI_Finalize(); }

int MpiSession::rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int MpiSession::size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

void MpiSession::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

std::string_view to_string(Reduction reduction) {
  return reduction == Reduction::kOrdered ? "ordered" : "fast";
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, int num_workers, Reduction reduction, Index chunk)
    : Communicator(num_workers), reduction_(reduction), chunk_(chunk) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  if (num_workers < 1 || num_workers % size != 0) {
    throw std::invalid_argument("workers = " + std::to_string(num_workers) +
                                " cannot be split into equal blocks over " + std::to_string(size) +
                                " MPI ranks: workers must be a multiple of the rank count");
  }
  if (chunk < 1) throw std::invalid_argument("MpiCommunicator: chunk must be >= 1");
  check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

std::string_view MpiCommunicator::name() const {
  return reduction_ == Reduction::kOrdered ? "mpi-ordered" : "mpi-fast";
}

TransportCost MpiCommunicator::average_impl(std::span<const Vector> local, VectorRef mean) {
  if (size_ == 1) {
    detail::parallel_ordered_mean(local, num_workers(), mean);
    return {};
  }
  return reduction_ == Reduction::kOrdered ? ordered_average(local, mean)
                                           : fast_average(local, mean);
}

// The sum must be formed in worker order, and floating-point addition is
// not associative, so every coordinate's partial sum travels through the
// ranks in order: rank 0 sums its workers, each next rank adds its own, and
// the last divides by N. The vector moves in chunks, so rank r works on
// chunk k while rank r + 1 works on chunk k - 1. The result then travels on
// round the ring, last -> 0 -> 1 -> ... -> R-2, also in chunks. Each rank
// performs exactly the additions, in exactly the order, that
// detail::ordered_mean performs, so the bits are the same.
TransportCost MpiCommunicator::ordered_average(std::span<const Vector> local, VectorRef mean) {
  const Index d = mean.size();
  // Small vectors go in messages under the shared-memory transport's eager
  // limit (4 KiB in Open MPI's vader), which skip the rendezvous handshake;
  // large ones in chunks big enough to amortise it.
  const Index chunk = d <= 4 * chunk_ ? std::min(chunk_, kEagerChunk) : chunk_;
  const Index chunks = (d + chunk - 1) / chunk;
  const int last = size_ - 1;
  const int upstream = rank_ - 1;                              // reduce: from
  const int downstream = rank_ + 1;                            // reduce: to
  const int source = rank_ == 0 ? last : rank_ - 1;            // broadcast: from
  const int forward = rank_ == last ? 0 : (rank_ + 1 < last ? rank_ + 1 : -1);  // broadcast: to
  if (partial_.size() != d) partial_.resize(d);
  receives_.clear();
  sends_.clear();
  receives_.reserve(static_cast<std::size_t>(2 * chunks));
  sends_.reserve(static_cast<std::size_t>(2 * chunks));
  TransportCost cost;
  // Chunk k of the vector at `base` to or from `peer`, counted.
  const auto extent = [&](Index k) { return std::min(chunk, d - k * chunk); };
  const auto receive = [&](double* base, Index k, int peer, int tag) {
    check(MPI_Irecv(base + k * chunk, message_count(extent(k)), MPI_DOUBLE, peer, tag, comm_,
                    &receives_.emplace_back()),
          "MPI_Irecv");
    cost.bytes_received += static_cast<std::int64_t>(extent(k)) * 8;
  };
  const auto send = [&](double* base, Index k, int peer, int tag) {
    check(MPI_Isend(base + k * chunk, message_count(extent(k)), MPI_DOUBLE, peer, tag, comm_,
                    &sends_.emplace_back()),
          "MPI_Isend");
    cost.bytes_sent += static_cast<std::int64_t>(extent(k)) * 8;
  };

  // On the last rank the running sum ends in `mean` itself, as in ordered_mean.
  double* running = rank_ == last ? mean.data() : partial_.data();
  if (rank_ > 0) {
    for (Index k = 0; k < chunks; ++k) receive(running, k, upstream, kReduceTag);
  }
  const std::size_t first_broadcast = receives_.size();
  if (rank_ != last) {
    for (Index k = 0; k < chunks; ++k) receive(mean.data(), k, source, kBroadcastTag);
  }

  for (Index k = 0; k < chunks; ++k) {
    const Index begin = k * chunk;
    Eigen::Map<Vector> sum(running + begin, extent(k));
    std::size_t w = 0;
    if (rank_ == 0) {
      sum = local[0].segment(begin, extent(k));
      w = 1;
    } else {
      check(MPI_Wait(&receives_[static_cast<std::size_t>(k)], MPI_STATUS_IGNORE), "MPI_Wait");
    }
    for (; w < local.size(); ++w) sum += local[w].segment(begin, extent(k));
    if (rank_ == last) {
      detail::divide(sum, num_workers());
      send(running, k, forward, kBroadcastTag);
    } else {
      send(running, k, downstream, kReduceTag);
    }
  }

  if (rank_ != last) {
    for (Index k = 0; k < chunks; ++k) {
      check(MPI_Wait(&receives_[first_broadcast + static_cast<std::size_t>(k)], MPI_STATUS_IGNORE),
            "MPI_Wait");
      if (forward >= 0) send(mean.data(), k, forward, kBroadcastTag);
    }
  }
  check(MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE),
        "MPI_Waitall");
  return cost;
}

TransportCost MpiCommunicator::fast_average(std::span<const Vector> local, VectorRef mean) {
  const Index d = mean.size();
  const double* send = local[0].data();
  if (local.size() > 1) {
    if (partial_.size() != d) partial_.resize(d);
    detail::parallel_ordered_mean(local, 1, partial_);
    send = partial_.data();
  }
  check(MPI_Allreduce(send, mean.data(), message_count(d), MPI_DOUBLE, MPI_SUM, comm_),
        "MPI_Allreduce");
  mean *= 1.0 / static_cast<double>(num_workers());  // not reproducible anyway
  // MPI chooses its own algorithm; count what a ring all-reduce moves.
  const std::int64_t ring = 2 * static_cast<std::int64_t>(size_ - 1) * d * 8 / size_;
  return {ring, ring, 0.0};
}

double MpiCommunicator::max(double local) {
  double out = 0.0;
  check(MPI_Allreduce(&local, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

std::int64_t MpiCommunicator::min(std::int64_t local) {
  std::int64_t out = 0;
  check(MPI_Allreduce(&local, &out, 1, MPI_INT64_T, MPI_MIN, comm_), "MPI_Allreduce");
  return out;
}

std::int64_t MpiCommunicator::sum(std::int64_t local) {
  std::int64_t out = 0;
  check(MPI_Allreduce(&local, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

double MpiCommunicator::sum(double local) {
  double out = 0.0;
  check(MPI_Allreduce(&local, &out, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

double MpiCommunicator::broadcast(double value, int root) {
  check(MPI_Bcast(&value, 1, MPI_DOUBLE, root, comm_), "MPI_Bcast");
  return value;
}

void MpiCommunicator::gather(std::span<const double> local, std::span<double> all) {
  check(MPI_Gather(local.data(), message_count(static_cast<Index>(local.size())), MPI_DOUBLE,
                   rank_ == 0 ? all.data() : nullptr,
                   message_count(static_cast<Index>(local.size())), MPI_DOUBLE, 0, comm_),
        "MPI_Gather");
}

}  // namespace distclip
