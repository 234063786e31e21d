// Fused quantize -> dequantize -> error over one float32 block for several quantizers at once (the sweep kernel).
#pragma once

#include <cstddef>

namespace qp {

// One quantizer as the kernel applies it: q = clamp(round_half_even(x * inv_scale) + zero_point, qmin, qmax),
// x_hat = (q - zero_point) * scale. Multiplying by 1/scale (not dividing by scale) is a deliberate deviation from
// ONNX QuantizeLinear for speed: the code can differ by one step at exact ties, which changes no statistic here.
struct QdqParams {
  float inv_scale, scale, zero_point, qmin, qmax;
};

// Error sums of one quantizer; the kernel adds into them.
struct QdqAccum {
  double sq_err = 0;       // sum (x_hat - x)^2
  double max_abs_err = 0;  // max |x_hat - x|
  double clipped = 0;      // count of x whose code was clamped
};

// Reads x[0..n) once (in L1-sized blocks) and accumulates, for each of the nq quantizers, into acc[k];
// adds sum x^2 to *sum_sq. Highway SIMD, dynamic dispatch natively, WASM SIMD128 in the browser.
void f32_qdq_error(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq);

// Scalar reference of the same computation (double accumulation per element); the tests compare against it.
void f32_qdq_error_ref(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq);

// Name of the SIMD target the kernel runs on here ("AVX2", "WASM", ...).
const char* f32_qdq_error_target();

}  // namespace qp
