#include "distclip/core/oracle.hpp"

namespace distclip {

double Oracle::local_value(int /*worker*/, ConstVectorRef x) const { return value(x); }

void Oracle::local_gradient(int /*worker*/, ConstVectorRef x, VectorRef out) const {
  gradient(x, out);
}

void Oracle::reserve_workers(int /*num_workers*/) {}

}  // namespace distclip
