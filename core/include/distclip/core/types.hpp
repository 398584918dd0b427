// Vocabulary types every distclip module speaks: dense vectors, writable and
// read-only views of them, and indices. Vectors are Eigen, in double.
#pragma once

#include <Eigen/Core>

namespace distclip {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;
// Views: an oracle writes into a caller's buffer through VectorRef and reads
// through ConstVectorRef, so nothing is copied or allocated per call.
using VectorRef = Eigen::Ref<Vector>;
using ConstVectorRef = Eigen::Ref<const Vector>;
using Index = Eigen::Index;

}  // namespace distclip
