// Fused quantize -> dequantize -> error over one float32 block for several quantizers at once (the sweep kernel).
#pragma once

#include <cstddef>

#include "core/quant/quantizer.h"

namespace qp {

// One quantizer as the kernel applies it: q = clamp(round_half_even(x * inv_scale) + zero_point, qmin, qmax),
// x_hat = (q - zero_point) * scale. Multiplying by 1/scale (not dividing by scale) is a deliberate deviation from
// ONNX QuantizeLinear for speed: the code can differ by one step at exact ties, which changes no statistic here.
struct QdqParams {
  float inv_scale, scale, zero_point, qmin, qmax;
  // Set by qdq_params_for_data when no value of the data can leave [qmin, qmax]: the kernel then skips the
  // clamp and the clip count (same results, fewer instructions). The reference ignores it.
  bool never_clips = false;
};

// Kernel parameters for a quantizer, with never_clips decided exactly from the data's min and max
// (rounding is monotone, so if both extremes land inside the grid every value does).
QdqParams qdq_params_for_data(const QParams& p, double data_min, double data_max);

// Error sums of one quantizer; the kernel adds into them.
struct QdqAccum {
  double sq_err = 0;       // sum (x_hat - x)^2
  double max_abs_err = 0;  // max |x_hat - x|
  double clipped = 0;      // count of x whose code was clamped
};

// Reads x[0..n) once (in L1-sized blocks) and accumulates, for each of the nq quantizers, into acc[k];
// adds sum x^2 to *sum_sq unless sum_sq is null. Highway SIMD, dynamic dispatch natively, WASM SIMD128 in the browser.
void f32_qdq_error(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq);

// Scalar reference of the same computation (double accumulation per element); the tests compare against it.
void f32_qdq_error_ref(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq);

// Sums for range statistics over x[0..n): min, max, sum, sum of squares (float32 within 1024-element blocks,
// double across them). Returns false when a non-finite value (or a float32 overflow of x^2) makes them
// unusable; the caller then falls back to a scalar pass that skips such values.
bool f32_moments(const float* x, size_t n, double* min, double* max, double* sum, double* sum_sq);

// Name of the SIMD target the kernel runs on here ("AVX2", "WASM", ...).
const char* f32_qdq_error_target();

}  // namespace qp
