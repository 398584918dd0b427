#include "distclip/core/state_io.hpp"

#include <sstream>

namespace distclip {

void StateWriter::write(const Vector& x) {
  write(static_cast<std::int64_t>(x.size()));
  bytes_.append(reinterpret_cast<const char*>(x.data()), sizeof(double) * x.size());
}

void StateWriter::write(std::string_view text) {
  write(static_cast<std::uint64_t>(text.size()));
  bytes_.append(text);
}

void StateWriter::write(const Rng& rng) {
  std::ostringstream text;
  text << rng;
  write(std::string_view(text.str()));
}

std::string_view StateReader::take(std::size_t n) {
  if (n > remaining()) throw StateError("checkpoint state ends early");
  const std::string_view part = bytes_.substr(position_, n);
  position_ += n;
  return part;
}

void StateReader::read(Vector& x) {
  const auto n = read<std::int64_t>();
  if (n != x.size()) {
    throw StateError("checkpoint state: a vector of " + std::to_string(n) +
                     " coordinates where " + std::to_string(x.size()) + " were expected");
  }
  std::memcpy(x.data(), take(sizeof(double) * static_cast<std::size_t>(n)).data(),
              sizeof(double) * static_cast<std::size_t>(n));
}

void StateReader::read(std::string& text) {
  const auto n = read<std::uint64_t>();
  text = std::string(take(n));
}

void StateReader::read(Rng& rng) {
  std::string text;
  read(text);
  // Boost reads each number and then skips white space, which fails at the
  // end of a stream unless a space follows the last number.
  std::istringstream stream(text + ' ');
  stream >> rng;
  if (!stream) throw StateError("checkpoint state: a random stream does not parse");
}

void StateReader::expect_end() const {
  if (remaining() != 0) {
    throw StateError("checkpoint state: " + std::to_string(remaining()) + " bytes left unread");
  }
}

}  // namespace distclip
