#include "checkpoint.hpp"

#include <charconv>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "distclip/objectives/language_model.hpp"
#include "output.hpp"
#include "version.hpp"

namespace distclip::app {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "distclip checkpoint 1";

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file split into its header (parsed) and its state, or why it cannot be.
struct Parsed {
  nlohmann::json header;
  std::string_view state;
  std::string error;
};

Parsed parse(std::string_view bytes) {
  Parsed parsed;
  const std::size_t first = bytes.find('\n');
  if (first == std::string_view::npos || bytes.substr(0, first) != kMagic) {
    parsed.error = "is not a distclip checkpoint";
    return parsed;
  }
  const std::size_t second = bytes.find('\n', first + 1);
  if (second == std::string_view::npos) {
    parsed.error = "is corrupted (its header is cut short)";
    return parsed;
  }
  parsed.header = nlohmann::json::parse(bytes.substr(first + 1, second - first - 1), nullptr,
                                        /*allow_exceptions=*/false);
  if (parsed.header.is_discarded() || !parsed.header.is_object()) {
    parsed.error = "is corrupted (its header does not parse)";
    return parsed;
  }
  parsed.state = bytes.substr(second + 1);
  return parsed;
}

std::int64_t step_of(std::string_view name) {
  std::int64_t step = -1;
  if (!name.starts_with("step-")) return -1;
  name.remove_prefix(5);
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), step);
  if (error != std::errc() || end != name.data() + name.size()) return -1;
  return step;
}

}  // namespace

std::string checkpoint_identity(const RunConfig& config) {
  nlohmann::ordered_json identity = config_to_json(config);
  identity["reduction"] = config.execution.fast_reduction ? "fast" : "ordered";
  // The corpus by its bytes, not its name: a file edited or replaced
  // between the save and the resume would change the data mid-run, and the
  // same bytes found in another data folder are the same run. An unreadable
  // file hashes to "unreadable"; the objective then says why.
  if (config.objective.family == kLanguageModelFamily) {
    const CorpusSpec corpus = corpus_spec_of(config.objective);
    identity["train-file-sha256"] = sha256_of_file(corpus.train);
    if (corpus.heldout) identity["heldout-file-sha256"] = sha256_of_file(*corpus.heldout);
  }
  return sha256_hex(identity.dump());
}

fs::path checkpoint_folder(const fs::path& out) {
  fs::path folder = out;
  folder += ".checkpoint";
  return folder;
}

CheckpointStore::CheckpointStore(fs::path folder, std::string identity,
                                 Communicator& communicator)
    : folder_(std::move(folder)), identity_(std::move(identity)), communicator_(communicator) {}

fs::path CheckpointStore::file_of(const fs::path& step_folder, int rank) const {
  return step_folder / fmt::format("rank-{}.ckpt", rank);
}

void CheckpointStore::save(std::int64_t step, std::string_view state) {
  const fs::path step_folder = folder_ / fmt::format("step-{}", step);
  std::error_code error;
  fs::create_directories(step_folder, error);
  if (error) {
    throw std::runtime_error(
        fmt::format("cannot create {}: {}", step_folder.string(), error.message()));
  }
  const nlohmann::ordered_json header = {{"identity", identity_},
                                         {"distclip_version", kVersion},
                                         {"step", step},
                                         {"rank", communicator_.rank()},
                                         {"ranks", communicator_.size()},
                                         {"state_bytes", state.size()},
                                         {"state_sha256", sha256_hex(state)}};
  std::string bytes = fmt::format("{}\n{}\n", kMagic, header.dump());
  bytes += state;
  write_file_atomically(file_of(step_folder, communicator_.rank()), bytes);
  // Every rank's file is on disk before `latest` may name the step.
  communicator_.min(std::int64_t{0});
  if (communicator_.rank() != 0) return;
  write_file_atomically(folder_ / "latest", fmt::format("step-{}\n", step));
  for (const auto& entry : fs::directory_iterator(folder_)) {
    const std::int64_t other = step_of(entry.path().filename().string());
    if (other >= 0 && other != step) fs::remove_all(entry.path(), error);
  }
}

std::int64_t CheckpointStore::latest_step() const {
  std::string name = read_all(folder_ / "latest");
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return step_of(name);
}

std::string CheckpointStore::check_file(const fs::path& file, int rank, std::int64_t step) const {
  const std::string what = fmt::format("checkpoint {}", file.string());
  const std::string start_over = fmt::format("remove {} to start over", folder_.string());
  if (!fs::is_regular_file(file)) return fmt::format("{} is missing; {}", what, start_over);
  const std::string bytes = read_all(file);
  const Parsed parsed = parse(bytes);
  if (!parsed.error.empty()) return fmt::format("{} {}; {}", what, parsed.error, start_over);
  const nlohmann::json& h = parsed.header;
  const auto text = [&](const char* key) {
    return h.contains(key) && h[key].is_string() ? h[key].get<std::string>() : std::string();
  };
  const auto integer = [&](const char* key) {
    return h.contains(key) && h[key].is_number_integer() ? h[key].get<std::int64_t>()
                                                         : std::int64_t{-1};
  };
  if (text("identity") != identity_) {
    return fmt::format(
        "{} was written by another configuration (identity {:.12}, this run's {:.12}): resume "
        "with the parameters that wrote it, or {}",
        what, text("identity"), identity_, start_over);
  }
  if (text("distclip_version") != kVersion) {
    return fmt::format("{} was written by distclip {}, this is {}; {}", what,
                       text("distclip_version"), kVersion, start_over);
  }
  if (integer("ranks") != communicator_.size()) {
    return fmt::format("{} was written by a run on {} rank(s), this run has {}: resume on {}",
                       what, integer("ranks"), communicator_.size(), integer("ranks"));
  }
  if (integer("rank") != rank || integer("step") != step) {
    return fmt::format("{} is corrupted (it says rank {} step {}); {}", what, integer("rank"),
                       integer("step"), start_over);
  }
  if (integer("state_bytes") != static_cast<std::int64_t>(parsed.state.size()) ||
      text("state_sha256") != sha256_hex(parsed.state)) {
    return fmt::format("{} is corrupted (its checksum does not match); {}", what, start_over);
  }
  return "";
}

std::string CheckpointStore::check() const {
  if (communicator_.rank() != 0) return "";
  if (!fs::exists(folder_ / "latest")) {
    return fmt::format("resume: no checkpoint in {} (a run with --checkpoint-every K writes one)",
                       folder_.string());
  }
  const std::int64_t step = latest_step();
  if (step < 0) {
    return fmt::format("checkpoint {} is corrupted (it names no step); remove {} to start over",
                       (folder_ / "latest").string(), folder_.string());
  }
  const fs::path step_folder = folder_ / fmt::format("step-{}", step);
  for (int rank = 0; rank < communicator_.size(); ++rank) {
    std::string why = check_file(file_of(step_folder, rank), rank, step);
    if (!why.empty()) return why;
  }
  return "";
}

std::string CheckpointStore::load() const {
  const fs::path file =
      file_of(folder_ / fmt::format("step-{}", latest_step()), communicator_.rank());
  const std::string bytes = read_all(file);
  return std::string(parse(bytes).state);
}

void CheckpointStore::remove() const {
  std::error_code ignored;
  fs::remove_all(folder_, ignored);
}

std::optional<CheckpointStore> checkpoint_store_for(const RunConfig& config,
                                                    const std::string& out, bool overwrite,
                                                    bool resume, Communicator& communicator) {
  const std::int64_t every = config.execution.checkpoint_every;
  if (every == 0 && !resume) return std::nullopt;
  if (out.empty()) {
    throw ConfigError(every > 0 ? fmt::format("checkpoint-every = {} needs --out: checkpoints go "
                                              "in <out>.checkpoint",
                                              every)
                                : std::string("--resume needs the --out of the run to resume"));
  }
  const fs::path folder = checkpoint_folder(out);
  if (!resume && fs::exists(folder)) {
    if (!overwrite) {
      throw ConfigError(fmt::format(
          "{} holds the checkpoint of an earlier run: pass --resume to go on from it, or "
          "--overwrite to start over",
          folder.string()));
    }
    if (communicator.rank() == 0) CheckpointStore(folder, "", communicator).remove();
  }
  return std::optional<CheckpointStore>(std::in_place, folder, checkpoint_identity(config),
                                        communicator);
}

}  // namespace distclip::app
