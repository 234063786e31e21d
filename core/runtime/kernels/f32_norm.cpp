// Dispatch of the normalisation kernels, and their scalar references.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_norm.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_norm-inl.h"

#if HWY_ONCE
#include "core/runtime/kernels/f32_norm.h"

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_scale_shift(const float* x, float* y, size_t n, float a, float b) {
  HWY_STATIC_DISPATCH(ScaleShiftImpl)(x, y, n, a, b);
}
void f32_mean_var(const float* x, size_t n, double* mean, double* var) {
  HWY_STATIC_DISPATCH(MeanVarImpl)(x, n, mean, var);
}
void f32_layernorm_row(const float* x, float* y, size_t n, float mean, float inv_std, const float* w, const float* b) {
  HWY_STATIC_DISPATCH(LayerNormRowImpl)(x, y, n, mean, inv_std, w, b);
}
#else
HWY_EXPORT(ScaleShiftImpl);
HWY_EXPORT(MeanVarImpl);
HWY_EXPORT(LayerNormRowImpl);
void f32_scale_shift(const float* x, float* y, size_t n, float a, float b) {
  HWY_DYNAMIC_DISPATCH(ScaleShiftImpl)(x, y, n, a, b);
}
void f32_mean_var(const float* x, size_t n, double* mean, double* var) {
  HWY_DYNAMIC_DISPATCH(MeanVarImpl)(x, n, mean, var);
}
void f32_layernorm_row(const float* x, float* y, size_t n, float mean, float inv_std, const float* w, const float* b) {
  HWY_DYNAMIC_DISPATCH(LayerNormRowImpl)(x, y, n, mean, inv_std, w, b);
}
#endif

void f32_scale_shift_ref(const float* x, float* y, size_t n, float a, float b) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}

void f32_mean_var_ref(const float* x, size_t n, double* mean, double* var) {
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  const double m = n ? s / static_cast<double>(n) : 0.0;
  for (size_t i = 0; i < n; ++i) ss += (x[i] - m) * (x[i] - m);
  *mean = m;
  *var = n ? ss / static_cast<double>(n) : 0.0;
}

void f32_layernorm_row_ref(const float* x, float* y, size_t n, float mean, float inv_std, const float* w,
                           const float* b) {
  for (size_t i = 0; i < n; ++i) {
    const float v = (x[i] - mean) * inv_std * w[i];
    y[i] = b ? v + b[i] : v;
  }
}

}  // namespace qp
#endif  // HWY_ONCE
