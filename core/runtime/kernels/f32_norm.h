// Normalisation kernels: per-channel scale+shift (BatchNorm, InstanceNorm), row moments and the LayerNorm row.
#pragma once

#include <cstddef>

namespace qp {

// y[i] = x[i] * a + b: one channel plane of an inference BatchNormalization (or InstanceNormalization once its
// statistics are known) as a single mul+add. x and y may alias.
void f32_scale_shift(const float* x, float* y, size_t n, float a, float b);

// Mean and mean squared deviation of x[0..n) in two passes (float lanes within blocks, double across them);
// the two-pass form matches LayerNormalization's definition and avoids E[x^2] - E[x]^2 cancellation.
void f32_mean_var(const float* x, size_t n, double* mean, double* var);

// y[i] = (x[i] - mean) * inv_std * w[i] + b[i], the order LayerNormalization's function body uses; b may be null.
void f32_layernorm_row(const float* x, float* y, size_t n, float mean, float inv_std, const float* w, const float* b);

// Scalar references; the tests compare against them.
void f32_scale_shift_ref(const float* x, float* y, size_t n, float a, float b);
void f32_mean_var_ref(const float* x, size_t n, double* mean, double* var);
void f32_layernorm_row_ref(const float* x, float* y, size_t n, float mean, float inv_std, const float* w,
                           const float* b);

}  // namespace qp
