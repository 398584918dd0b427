#include "distclip/core/constants.hpp"

#include <array>
#include <charconv>

namespace distclip {

std::string Constant::to_string() const {
  switch (kind_) {
    case Kind::kKnown: {
      std::array<char, 32> buffer{};
      const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value_);
      return std::string(buffer.data(), result.ptr);
    }
    case Kind::kUnknown:
      return "unknown";
    case Kind::kUnbounded:
      return "unbounded";
  }
  return "unknown";
}

}  // namespace distclip
