#include "output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <system_error>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "version.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

// Removes the staging folders "<out>.partial-<pid>" of runs of `out` whose
// process no longer exists (killed before they could clean up).
void remove_stale_staging(const fs::path& out) {
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".partial-";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || !std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      fs::remove_all(entry.path(), error);
    }
  }
}

}  // namespace

OutputFolder::OutputFolder(fs::path path, bool overwrite)
    : path_(std::move(path)), overwrite_(overwrite) {
  if (path_.empty()) throw ConfigError("out = '', must be a folder path");
  remove_stale_staging(path_);
  if (fs::exists(path_) && !overwrite_) {
    throw ConfigError(fmt::format("out = {} already exists; pass --overwrite to replace it",
                                  path_.string()));
  }
  if (fs::exists(path_) && !fs::is_directory(path_)) {
    throw ConfigError(fmt::format("out = {} exists and is not a folder", path_.string()));
  }
  staging_ = path_;
  staging_ += fmt::format(".partial-{}", ::getpid());
  std::error_code error;
  fs::remove_all(staging_, error);
  fs::create_directories(staging_, error);
  if (error) {
    throw std::runtime_error(
        fmt::format("cannot create {}: {}", staging_.string(), error.message()));
  }
}

OutputFolder::~OutputFolder() {
  if (committed_) return;
  std::error_code ignored;
  fs::remove_all(staging_, ignored);
}

void OutputFolder::commit() {
  std::error_code error;
  fs::path old;
  if (fs::exists(path_)) {
    old = path_;
    old += fmt::format(".old-{}", ::getpid());
    fs::rename(path_, old, error);
    if (error) {
      throw std::runtime_error(fmt::format("cannot move {} aside: {}", path_.string(), error.message()));
    }
  }
  fs::rename(staging_, path_, error);
  if (error) {
    throw std::runtime_error(fmt::format("cannot move {} to {}: {}", staging_.string(),
                                         path_.string(), error.message()));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, error);
}

void check_writable(const fs::path& file, std::ostream& stream) {
  if (!stream) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  }
}

nlohmann::ordered_json record_to_json(const EvalRecord& r) {
  nlohmann::ordered_json json = {{"step", r.step},
          {"rounds", r.rounds},
          {"bytes", r.bytes},
          {"value", r.value},
          {"grad_norm", r.grad_norm},
          {"ergodic_grad_norm", r.ergodic_grad_norm},
          {"min_grad_norm", r.min_grad_norm},
          {"clip_fraction", r.clip_fraction},
          {"consensus_distance", r.consensus_distance},
          {"wall_time_s", r.wall_time_s},
          {"compute_time_s", r.compute_time_s},
          {"communication_time_s", r.communication_time_s},
          {"projected_time_s", r.projected_time_s}};
  // A language model's held-out loss, and its perplexity exp(loss).
  if (!std::isnan(r.heldout_loss)) {
    json["heldout_loss"] = r.heldout_loss;
    json["heldout_perplexity"] = std::exp(r.heldout_loss);
  }
  // The measured heterogeneity, for oracles not homogeneous by construction.
  if (!std::isnan(r.kappa)) json["kappa"] = r.kappa;
  return json;
}

ObserverDecision TraceObserver::on_evaluation(const EvalRecord& record) {
  if (record.step % every_ == 0) {
    keep(record);
    skipped_.reset();
  } else {
    skipped_ = record;
  }
  return ObserverDecision::kContinue;
}

void TraceObserver::save_state(StateWriter& out) const {
  out.write(std::string_view(kept()));
  out.write(skipped_.has_value());
  if (skipped_) out.write(*skipped_);
}

void TraceObserver::restore_state(StateReader& in) {
  std::string lines;
  in.read(lines);
  restore_kept(lines);
  skipped_.reset();
  if (in.read<bool>()) skipped_ = in.read<EvalRecord>();
}

void TraceObserver::keep_last() {
  if (skipped_) keep(*skipped_);
  skipped_.reset();
}

TraceWriter::TraceWriter(const fs::path& file, std::int64_t every)
    : TraceObserver(every), file_(file), stream_(file) {
  check_writable(file_, stream_);
}

void TraceWriter::keep(const EvalRecord& record) {
  stream_ << record_to_json(record).dump() << '\n';
  check_writable(file_, stream_);
}

std::string TraceWriter::kept() const {
  stream_.flush();
  check_writable(file_, stream_);
  std::ifstream in(file_, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read back {}", file_.string()));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void TraceWriter::restore_kept(std::string_view lines) {
  stream_ << lines;
  check_writable(file_, stream_);
}

void TraceWriter::close() {
  keep_last();
  stream_.flush();
  check_writable(file_, stream_);
  stream_.close();
  check_writable(file_, stream_);
}

void TraceBuffer::keep(const EvalRecord& record) {
  text_ += record_to_json(record).dump();
  text_ += '\n';
}

const std::string& TraceBuffer::finish() {
  keep_last();
  return text_;
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const bool ok = EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(),
                             nullptr) == 1;
  if (!ok) throw std::runtime_error("SHA-256 failed (OpenSSL)");
  std::string hex;
  for (unsigned int k = 0; k < length; ++k) hex += fmt::format("{:02x}", digest[k]);
  return hex;
}

std::string sha256_of_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "unreadable";
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return sha256_hex(bytes);
}

std::string sha256_hex(const Vector& x) {
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(x.data()),
                                     sizeof(double) * static_cast<std::size_t>(x.size())));
}

namespace {
nlohmann::ordered_json constant_to_json(const Constant& c) {
  if (c.is_known()) return c.value();
  return c.to_string();
}
}  // namespace

nlohmann::ordered_json constants_to_json(const OracleConstants& c, double f_x0) {
  nlohmann::ordered_json json = {{"L0", constant_to_json(c.l0)},       {"L1", constant_to_json(c.l1)},
                         {"sigma", constant_to_json(c.sigma)}, {"noise_std", constant_to_json(c.noise_std)},
                         {"f_low", constant_to_json(c.f_low)}, {"kappa", constant_to_json(c.kappa)},
                         {"f_x0", f_x0}};
  json["Delta"] = c.f_low.is_known() ? nlohmann::ordered_json(f_x0 - c.f_low.value())
                                     : nlohmann::ordered_json("unknown");
  return json;
}

nlohmann::ordered_json summary_to_json(const RunConfig& config, const ExecutionInfo& execution,
                                       const OracleConstants& constants, double f_x0,
                                       const RunSummary& s) {
  using Json = nlohmann::ordered_json;
  Json json;
  json["distclip_version"] = kVersion;
  json["status"] = to_string(s.termination);
  json["config"] = config_to_json(config);
  json["execution"] = {
      {"backend", execution.backend},
      {"communicator", execution.communicator},
      {"ranks", execution.ranks},
      {"workers_per_rank", config.options.num_workers / execution.ranks},
      {"threads_per_rank", config.options.threads},
      {"bitwise_reproducible", execution.bitwise_reproducible},
      {"note", execution.bitwise_reproducible
                   ? "trajectory bitwise identical for any backend, rank and thread count"
                   : "reduction = fast: MPI_Allreduce sums in an order of its choosing; results "
                     "are NOT bitwise reproducible across rank counts or backends"}};
  json["constants"] = constants_to_json(constants, f_x0);
  json["divergence"] = nullptr;
  if (s.divergence) {
    json["divergence"] = {{"step", s.divergence->step},
                          {"quantity", s.divergence->quantity},
                          {"value", std::isnan(s.divergence->value)   ? Json("nan")
                                    : std::isinf(s.divergence->value) ? Json(s.divergence->value > 0 ? "inf" : "-inf")
                                                                      : Json(s.divergence->value)}};
  }
  json["counts"] = {{"steps", s.steps},
                    {"rounds", s.rounds},
                    {"bytes", s.bytes},
                    {"stochastic_gradients", s.oracle_calls.stochastic_gradients},
                    {"full_gradients", s.oracle_calls.gradients},
                    {"values", s.oracle_calls.values},
                    {"wall_time_s", s.wall_time_s}};
  const CommunicationSummary& c = s.communication;
  const NetworkModel& network = config.options.network;
  Json per_rank = Json::array();
  for (std::size_t r = 0; r < c.per_rank.size(); ++r) {
    per_rank.push_back({{"rank", r},
                        {"bytes_sent", c.per_rank[r].bytes_sent},
                        {"bytes_received", c.per_rank[r].bytes_received},
                        {"seconds", c.per_rank[r].seconds}});
  }
  json["communication"] = {
      {"collectives", c.collectives},
      {"vector_bytes", c.vector_bytes},
      {"modelled",
       {{"network", config.network},
        {"latency_s", network.latency_s},
        {"bandwidth_bytes_per_s", network.bandwidth_bytes_per_s},
        {"allreduce", to_string(network.algorithm)},
        {"bytes_per_collective", c.bytes_per_collective},
        {"bytes_sent_per_worker", c.bytes_per_worker_per_collective * c.collectives},
        {"bytes_received_per_worker", c.bytes_per_worker_per_collective * c.collectives},
        {"seconds_per_collective", c.modelled_seconds_per_collective},
        {"seconds", c.modelled_seconds}}},
      {"measured_per_rank", std::move(per_rank)}};
  double measured = 0.0;
  for (const TransportCost& cost : c.per_rank) measured = std::max(measured, cost.seconds);
  json["time"] = {{"wall_s", s.wall_time_s},
                  {"compute_s", c.compute_seconds},
                  {"communication_measured_s", measured},
                  {"communication_modelled_s", c.modelled_seconds},
                  {"projected_s", c.projected_seconds},
                  {"projected_is", "compute_s + communication_modelled_s: the wall time on N "
                                   "nodes of this network (docs/network-model.md)"}};
  json["mean_clip_fraction"] = s.mean_clip_fraction;
  json["final"] = s.final_record ? record_to_json(*s.final_record) : Json(nullptr);
  json["final_iterate_sha256"] = s.final_record ? Json(sha256_hex(s.final_iterate)) : Json(nullptr);
  return json;
}

std::string communication_csv(const CommunicationSummary& c, int ranks) {
  std::string out = "collective,step,round,exchange,rank,bytes_sent,bytes_received,seconds\n";
  out.reserve(out.size() + c.log_per_rank.size() * 48);
  for (std::size_t k = 0; k < c.log.size(); ++k) {
    const CollectiveRecord& entry = c.log[k];
    for (int r = 0; r < ranks; ++r) {
      const TransportCost& cost = c.log_per_rank[k * static_cast<std::size_t>(ranks) + r];
      fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{},{:.9g}\n", k + 1, entry.step,
                     entry.round, to_string(entry.exchange), r, cost.bytes_sent,
                     cost.bytes_received, cost.seconds);
    }
  }
  return out;
}

void write_file(const fs::path& file, const std::string& content) {
  std::ofstream stream(file);
  check_writable(file, stream);
  stream << content;
  stream.close();
  check_writable(file, stream);
}

void write_json(const fs::path& file, const nlohmann::ordered_json& json) {
  write_file(file, json.dump(2) + '\n');
}

void write_file_atomically(const fs::path& file, std::string_view content) {
  fs::path temporary = file;
  temporary += fmt::format(".tmp-{}", ::getpid());
  const auto fail = [&](const fs::path& which) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    return std::runtime_error(fmt::format("cannot write {}: {}", which.string(), reason));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail(file);
  for (std::size_t written = 0; written < content.size();) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw fail(file);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw fail(file);
  }
  if (::close(fd) != 0) throw fail(file);
  if (::rename(temporary.c_str(), file.c_str()) != 0) throw fail(file);
}

}  // namespace distclip::app
