#include "distclip/core/constants.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

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

FirstOrderConstants first_order_constants(double c) {
  if (!(c >= 0.0)) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  // expm1 keeps B = (e^c - 1) / c accurate for small c; below 1e-8 its
  // series 1 + c/2 + ... is 1 to double precision.
  const double growth = std::expm1(c);
  if (std::isinf(growth)) {
    const double inf = std::numeric_limits<double>::infinity();
    return {inf, inf};
  }
  const double b = c < 1e-8 ? 1.0 + c / 2.0 : growth / c;
  return {2.0 + growth - b, b};
}

}  // namespace distclip
