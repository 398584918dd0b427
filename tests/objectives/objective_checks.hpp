// Helpers shared by the objectives tests: specs of the six families with
// non-default parameters, random points, spectral norms, and the
// certificate ratio ||H|| / (L0 + L1 ||grad||).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>
#include <boost/random/normal_distribution.hpp>

#include "distclip/core/random.hpp"
#include "distclip/core/types.hpp"
#include "distclip/objectives/catalog.hpp"
#include "distclip/objectives/spec.hpp"
#include "distclip/objectives/synthetic.hpp"

namespace distclip::test {

// Every family with parameters away from their defaults, so that a formula
// that forgot a parameter shows.
inline ObjectiveSpec family_spec(const std::string& family, Index dim) {
  ObjectiveSpec spec;
  spec.family = family;
  spec.dim = dim;
  if (family == "double-well") {
    spec.scale = 1.5;
    spec.condition = 10.0;
  } else if (family == "quartic") {
    spec.scale = 0.5;
    spec.condition = 4.0;
  } else if (family == "cosh-well") {
    spec.scale = 0.8;
    spec.condition = 5.0;
    spec.ripple = 2.0;
    spec.growth = 0.7;
  } else if (family == "phase-retrieval") {
    spec.scale = 1.2;
    spec.data_seed = 7;
  } else if (family == "rippled-quadratic") {
    spec.scale = 2.0;
    spec.condition = 10.0;
    spec.ripple = 2.5;
  } else if (family == "zero-chain") {
    spec.scale = 0.7;
    spec.width = 0.8;
    spec.reveal_probability = 0.3;
  }
  return spec;
}

inline const std::vector<std::string>& family_names() {
  static const std::vector<std::string> names = {"double-well",       "quartic",
                                                 "cosh-well",         "phase-retrieval",
                                                 "rippled-quadratic", "zero-chain"};
  return names;
}

inline Vector gaussian_vector(Rng& rng, Index dim) {
  boost::random::normal_distribution<double> normal;
  Vector v(dim);
  for (Index i = 0; i < dim; ++i) v[i] = normal(rng);
  return v;
}

// A point of norm `radius` in a uniformly random direction.
inline Vector random_point(Rng& rng, Index dim, double radius) {
  Vector v = gaussian_vector(rng, dim);
  return radius * v / v.norm();
}

inline double spectral_norm(const Matrix& symmetric) {
  const Eigen::SelfAdjointEigenSolver<Matrix> eigen(symmetric, Eigen::EigenvaluesOnly);
  return eigen.eigenvalues().cwiseAbs().maxCoeff();
}

struct CertificateCheck {
  double hessian_norm = 0.0;
  double gradient_norm = 0.0;
  double bound = 0.0;  // L0 + L1 ||grad f(x)||
  double ratio() const { return hessian_norm / bound; }
};

inline CertificateCheck check_certificate(const SyntheticFunction& f, const Vector& x, double l0,
                                          double l1) {
  const Index d = f.dimension();
  Vector g(d);
  Matrix h(d, d);
  f.gradient(x, g);
  f.hessian(x, h);
  CertificateCheck check;
  check.hessian_norm = spectral_norm(h);
  check.gradient_norm = g.norm();
  check.bound = l0 + l1 * check.gradient_norm;
  return check;
}

inline CertificateCheck check_certificate(const SyntheticFunction& f, const Vector& x) {
  return check_certificate(f, x, f.l0(), f.l1());
}

// phase-retrieval's data regenerated as docs/objectives.md specifies it: from
// make_stream(data_seed, kData, 0), x* = z / ||z|| with z ~ N(0, I_d), then
// the columns a_1..a_n of A ~ N(0, I_d), and y_j = (a_j^T x*)^2.
struct PlantedData {
  Vector planted;  // x*
  Matrix data;     // d x n
  Vector labels;   // y
};

inline PlantedData regenerate_phase_retrieval(std::uint64_t data_seed, Index dim, Index samples) {
  Rng rng = make_stream(data_seed, StreamPurpose::kData, 0);
  PlantedData out;
  out.planted = gaussian_vector(rng, dim);
  out.planted /= out.planted.norm();
  out.data.resize(dim, samples);
  boost::random::normal_distribution<double> normal;
  for (Index j = 0; j < samples; ++j) {
    for (Index i = 0; i < dim; ++i) out.data(i, j) = normal(rng);
  }
  out.labels = (out.data.transpose() * out.planted).cwiseAbs2();
  return out;
}

}  // namespace distclip::test
