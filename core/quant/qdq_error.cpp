// Dispatch of the fused quantize -> dequantize -> error kernel, and its scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/quant/qdq_error.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/quant/qdq_error-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <cmath>

#ifdef __EMSCRIPTEN__
static_assert(HWY_STATIC_TARGET == HWY_WASM, "wasm builds must use -msimd128: Highway would fall back to EMU128");
#endif

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_qdq_error(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq) {
  HWY_STATIC_DISPATCH(QdqErrorImpl)(x, n, q, nq, acc, sum_sq);
}
const char* f32_qdq_error_target() { return HWY_STATIC_DISPATCH(QdqTargetImpl)(); }
bool f32_moments(const float* x, size_t n, double* mn, double* mx, double* sum, double* sum_sq) {
  return HWY_STATIC_DISPATCH(MomentsImpl)(x, n, mn, mx, sum, sum_sq);
}
#else
HWY_EXPORT(QdqErrorImpl);
HWY_EXPORT(QdqTargetImpl);
void f32_qdq_error(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq) {
  HWY_DYNAMIC_DISPATCH(QdqErrorImpl)(x, n, q, nq, acc, sum_sq);
}
const char* f32_qdq_error_target() { return HWY_DYNAMIC_DISPATCH(QdqTargetImpl)(); }
HWY_EXPORT(MomentsImpl);
bool f32_moments(const float* x, size_t n, double* mn, double* mx, double* sum, double* sum_sq) {
  return HWY_DYNAMIC_DISPATCH(MomentsImpl)(x, n, mn, mx, sum, sum_sq);
}
#endif

QdqParams qdq_params_for_data(const QParams& p, double data_min, double data_max) {
  QdqParams q{1.0f / p.scale, p.scale, p.zero_point, p.qmin, p.qmax, false};
  // The same float operations as the kernel; exact because x -> round(x * inv) + z is monotone for inv > 0.
  const float t_lo = std::nearbyint(static_cast<float>(data_min) * q.inv_scale) + q.zero_point;
  const float t_hi = std::nearbyint(static_cast<float>(data_max) * q.inv_scale) + q.zero_point;
  q.never_clips = t_lo >= q.qmin && t_hi <= q.qmax && std::isfinite(t_lo) && std::isfinite(t_hi);
  return q;
}

void f32_qdq_error_ref(const float* x, size_t n, const QdqParams* q, size_t nq, QdqAccum* acc, double* sum_sq) {
  if (sum_sq) {
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    *sum_sq += ss;
  }
  for (size_t k = 0; k < nq; ++k) {
    const QdqParams& p = q[k];
    for (size_t i = 0; i < n; ++i) {
      const float t = std::nearbyint(x[i] * p.inv_scale) + p.zero_point;
      const float c = std::min(std::max(t, p.qmin), p.qmax);
      const float r = (c - p.zero_point) * p.scale - x[i];
      acc[k].sq_err += static_cast<double>(r) * r;
      acc[k].max_abs_err = std::max(acc[k].max_abs_err, static_cast<double>(std::fabs(r)));
      if (t != c) acc[k].clipped += 1;
    }
  }
}

}  // namespace qp
#endif  // HWY_ONCE
