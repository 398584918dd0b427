// The constants of Assumption 1 an oracle knows about itself: (L0, L1),
// sigma, a lower bound f_low and kappa. Each is a number, "unknown", or
// "unbounded" (the quantity exists but has no finite bound, e.g. the norm of
// Gaussian noise).
#pragma once

#include <string>

namespace distclip {

class Constant {
 public:
  enum class Kind { kKnown, kUnknown, kUnbounded };

  static Constant known(double value) { return Constant(Kind::kKnown, value); }
  static Constant unknown() { return Constant(Kind::kUnknown, 0.0); }
  static Constant unbounded() { return Constant(Kind::kUnbounded, 0.0); }

  Kind kind() const { return kind_; }
  bool is_known() const { return kind_ == Kind::kKnown; }
  // The number; only meaningful when is_known().
  double value() const { return value_; }
  // The number (shortest round-trip form), "unknown" or "unbounded".
  std::string to_string() const;

  friend bool operator==(const Constant&, const Constant&) = default;

 private:
  Constant(Kind kind, double value) : kind_(kind), value_(value) {}
  Kind kind_;
  double value_;
};

// Constants of an oracle, in the paper's notation (Assumption 1).
struct OracleConstants {
  // ||Hess f_i(x)|| <= l0 + l1 ||grad f_i(x)|| for every worker i and every x.
  Constant l0 = Constant::unknown();
  Constant l1 = Constant::unknown();
  // Almost-sure bound: ||g - grad f_i(x)|| <= sigma for every stochastic
  // gradient g of worker i at x; "unbounded" when no such bound exists.
  Constant sigma = Constant::unknown();
  // sqrt(E ||g - grad f_i(x)||^2) when it is the same at every x (additive
  // noise), else a bound on it uniform in x (zero-chain), when known.
  Constant noise_std = Constant::unknown();
  // f(x) >= f_low for every x (the minimum when it is attained and known).
  Constant f_low = Constant::unknown();
  // (1/N) sum_i ||grad f_i(x) - grad f(x)|| <= kappa; 0 for homogeneous data.
  Constant kappa = Constant::unknown();
};

// The first-order form of (L0, L1)-smoothness (Zhang et al., NeurIPS 2020,
// Lemma A.3; the paper notes, Assumption 1): if ||y - x|| <= c / L1, then
//   ||grad f(y) - grad f(x)|| <= (A L0 + B L1 ||grad f(x)||) ||y - x||,
// with A = 1 + e^c - (e^c - 1) / c and B = (e^c - 1) / c. Both grow with c
// and tend to 1 as c -> 0, where the form becomes L-smoothness.
struct FirstOrderConstants {
  double a = 1.0;
  double b = 1.0;
};

// A and B for c >= 0 (c = 0 gives the limit (1, 1)); NaN for c < 0 or NaN.
FirstOrderConstants first_order_constants(double c);

}  // namespace distclip
