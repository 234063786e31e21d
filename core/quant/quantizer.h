// Uniform quantizers (ALGORITHMS.md §1.1-1.3): grids, scale/zero-point from a range, fake-quant, error metrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qp {

enum class Scheme : uint8_t { kSymmetric, kAsymmetric };
enum class RangeMode : uint8_t { kRestricted, kFull };  // signed symmetric grids only: -127..127 vs -128..127
enum class Rounding : uint8_t { kHalfEven, kHalfAway };
enum class Granularity : uint8_t { kTensor, kChannel };

struct QuantSpec {
  int bits = 8;                 // 2..16
  Scheme scheme = Scheme::kSymmetric;
  bool is_signed = true;        // grid sign; asymmetric defaults to unsigned [0, 2^b-1]
  RangeMode range_mode = RangeMode::kRestricted;
  Rounding rounding = Rounding::kHalfEven;
};

struct QParams {
  float scale = 1;
  float zero_point = 0;  // integer-valued
  float qmin = 0, qmax = 0;
};

// Integer grid limits for the spec.
void quant_grid(const QuantSpec& spec, float& qmin, float& qmax);

// Scale and zero point for the real range [lo, hi] (0 is forced inside). Symmetric specs use
// alpha = max(|lo|, |hi|). A zero range gives scale 1 (§1.4 edge cases). Throws on bits outside 2..16.
QParams quant_params(const QuantSpec& spec, double lo, double hi);

// Round according to the mode; half-even matches ONNX QuantizeLinear.
double quant_round(double v, Rounding r);

// One value through quantize -> dequantize, in double: the slow, obviously right reference.
double fake_quant_ref(double x, const QParams& p, Rounding r);

// Error of x against x_hat = fake_quant(x) (§1.4).
struct QuantError {
  int bits = 0;
  double qe = 0;            // mean squared error
  double signal = 0;        // mean x^2
  double sqnr_db = 0;       // +inf when qe == 0, NaN when signal == 0
  double nqe = 0;           // qe / signal
  double max_abs_err = 0;
  double clipped_frac = 0;  // fraction of values outside the representable range
};

double sqnr_db(double signal, double noise);

std::string scheme_name(Scheme s);
std::string granularity_name(Granularity g);

}  // namespace qp
