// Uniform quantizer arithmetic, following ONNX QuantizeLinear semantics (round half to even, saturate).
#include "core/quant/quantizer.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "core/ir/error.h"

namespace qp {

void quant_grid(const QuantSpec& spec, float& qmin, float& qmax) {
  if (spec.bits < 2 || spec.bits > 16)
    throw Error("bit-width " + std::to_string(spec.bits) + " is outside 2..16");
  const double levels = std::ldexp(1.0, spec.bits);
  if (spec.is_signed) {
    qmin = static_cast<float>(-levels / 2);
    qmax = static_cast<float>(levels / 2 - 1);
    if (spec.scheme == Scheme::kSymmetric && spec.range_mode == RangeMode::kRestricted) qmin = -qmax;
  } else {
    qmin = 0;
    qmax = static_cast<float>(levels - 1);
  }
}

double quant_round(double v, Rounding r) {
  if (r == Rounding::kHalfAway) return std::round(v);
  return std::nearbyint(v);  // default FE_TONEAREST: ties to even
}

QParams quant_params(const QuantSpec& spec, double lo, double hi) {
  QParams p;
  quant_grid(spec, p.qmin, p.qmax);
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (spec.scheme == Scheme::kSymmetric) {
    const double alpha = std::max(-lo, hi);
    p.zero_point = 0;
    if (!(alpha > FLT_MIN)) {
      p.scale = 1;
      return p;
    }
    double s;
    if (!spec.is_signed) s = alpha / p.qmax;
    else if (spec.range_mode == RangeMode::kRestricted) s = alpha / p.qmax;
    else s = 2 * alpha / (std::ldexp(1.0, spec.bits) - 1);
    if (!(s >= FLT_MIN)) return p;  // the step would be subnormal: 1/s overflows; treat as a zero range
    p.scale = static_cast<float>(s);
    return p;
  }
  const double range = hi - lo;
  if (!(range > FLT_MIN)) {
    p.scale = 1;
    p.zero_point = spec.is_signed ? 0 : p.qmin;
    return p;
  }
  const double s = range / (static_cast<double>(p.qmax) - p.qmin);
  if (!(s >= FLT_MIN)) {  // subnormal step: as a zero range (deviation from §1.4, which only names range 0)
    p.zero_point = spec.is_signed ? 0 : p.qmin;
    return p;
  }
  p.scale = static_cast<float>(s);
  const double z = quant_round(p.qmin - lo / static_cast<double>(p.scale), spec.rounding);
  p.zero_point = static_cast<float>(std::clamp(z, static_cast<double>(p.qmin), static_cast<double>(p.qmax)));
  return p;
}

double fake_quant_ref(double x, const QParams& p, Rounding r) {
  const double q = std::clamp(quant_round(x / p.scale, r) + p.zero_point, static_cast<double>(p.qmin),
                              static_cast<double>(p.qmax));
  return (q - p.zero_point) * static_cast<double>(p.scale);
}

double sqnr_db(double signal, double noise) {
  if (!(signal > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (!(noise > 0)) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

std::string scheme_name(Scheme s) { return s == Scheme::kSymmetric ? "sym" : "asym"; }
std::string granularity_name(Granularity g) { return g == Granularity::kTensor ? "tensor" : "channel"; }

}  // namespace qp
