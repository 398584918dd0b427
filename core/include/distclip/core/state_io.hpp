// A run's state as bytes, for checkpoints: values are appended in order and
// read back in the same order. The format belongs to one build of distclip
// on one machine (native byte order); a checkpoint file wraps it with what
// identifies and protects it (apps/checkpoint.hpp).
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "distclip/core/random.hpp"
#include "distclip/core/types.hpp"

namespace distclip {

// The state read back does not have the shape the reader expects.
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T>
concept PlainValue = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

class StateWriter {
 public:
  template <PlainValue T>
  void write(const T& value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  template <PlainValue T>
  void write(const std::vector<T>& values) {
    write(static_cast<std::uint64_t>(values.size()));
    bytes_.append(reinterpret_cast<const char*>(values.data()), sizeof(T) * values.size());
  }
  void write(const Vector& x);
  void write(std::string_view text);
  // The engine's whole state, in Boost's own text form.
  void write(const Rng& rng);

  const std::string& bytes() const { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Throws StateError when the bytes end early, or a length or size differs
// from what the caller expects.
class StateReader {
 public:
  explicit StateReader(std::string_view bytes) : bytes_(bytes) {}

  template <PlainValue T>
  void read(T& value) {
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
  }
  template <PlainValue T>
  T read() {
    T value;
    read(value);
    return value;
  }
  template <PlainValue T>
  void read(std::vector<T>& values) {
    const std::uint64_t n = read<std::uint64_t>();
    if (n > remaining() / sizeof(T)) {
      throw StateError("checkpoint state: a list is longer than the bytes left");
    }
    values.resize(n);
    std::memcpy(values.data(), take(sizeof(T) * n).data(), sizeof(T) * n);
  }
  // Reads into x, which must already have the saved dimension.
  void read(Vector& x);
  void read(std::string& text);
  void read(Rng& rng);

  std::size_t remaining() const { return bytes_.size() - position_; }
  // Throws unless every byte was read.
  void expect_end() const;

 private:
  std::string_view take(std::size_t n);
  std::string_view bytes_;
  std::size_t position_ = 0;
};

}  // namespace distclip
