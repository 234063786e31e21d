// Dispatch of the packed float32 GEMM, A packing, and the scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_gemm.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_gemm-inl.h"

#if HWY_ONCE
#include <algorithm>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
F32GemmTile f32_gemm_tile() { return HWY_STATIC_DISPATCH(GemmTileImpl)(); }
const char* f32_gemm_target() { return HWY_STATIC_DISPATCH(GemmTargetImpl)(); }
void f32_gemm_pack_b(const float* b, size_t rs, size_t cs, size_t k0, size_t kc, size_t n0, size_t nc, float* dst,
                     size_t dst_pstride) {
  HWY_STATIC_DISPATCH(GemmPackBImpl)(b, rs, cs, k0, kc, n0, nc, dst, dst_pstride);
}
void f32_gemm_packed(size_t m, size_t n, size_t k, const F32PackedA& a, const F32GemmB& b, float* c, size_t ldc,
                     const F32GemmEpilogue& ep) {
  HWY_STATIC_DISPATCH(GemmPackedImpl)(m, n, k, a, b, c, ldc, ep);
}
void f32_bias_act_rows(float* c, size_t rows, size_t n_cols, size_t ld, const float* bias_row, Act act, float a,
                       float b) {
  HWY_STATIC_DISPATCH(BiasActRowsImpl)(c, rows, n_cols, ld, bias_row, act, a, b);
}
#else
HWY_EXPORT(GemmTileImpl);
HWY_EXPORT(GemmTargetImpl);
HWY_EXPORT(GemmPackBImpl);
HWY_EXPORT(GemmPackedImpl);
HWY_EXPORT(BiasActRowsImpl);
F32GemmTile f32_gemm_tile() { return HWY_DYNAMIC_DISPATCH(GemmTileImpl)(); }
const char* f32_gemm_target() { return HWY_DYNAMIC_DISPATCH(GemmTargetImpl)(); }
void f32_gemm_pack_b(const float* b, size_t rs, size_t cs, size_t k0, size_t kc, size_t n0, size_t nc, float* dst,
                     size_t dst_pstride) {
  HWY_DYNAMIC_DISPATCH(GemmPackBImpl)(b, rs, cs, k0, kc, n0, nc, dst, dst_pstride);
}
void f32_gemm_packed(size_t m, size_t n, size_t k, const F32PackedA& a, const F32GemmB& b, float* c, size_t ldc,
                     const F32GemmEpilogue& ep) {
  HWY_DYNAMIC_DISPATCH(GemmPackedImpl)(m, n, k, a, b, c, ldc, ep);
}
void f32_bias_act_rows(float* c, size_t rows, size_t n_cols, size_t ld, const float* bias_row, Act act, float a,
                       float b) {
  HWY_DYNAMIC_DISPATCH(BiasActRowsImpl)(c, rows, n_cols, ld, bias_row, act, a, b);
}
#endif

void f32_gemm_pack_a(const float* a, size_t m, size_t k, size_t rs, size_t ks, F32PackedA& out) {
  const size_t mr = f32_gemm_tile().mr;
  const size_t panels = (m + mr - 1) / mr;
  out.m = m;
  out.k = k;
  out.mr = mr;
  out.data.assign(panels * k * mr, 0.0f);
  for (size_t q = 0; q < panels; ++q) {
    const size_t rows = std::min(mr, m - q * mr);
    float* dst = out.data.data() + q * k * mr;
    for (size_t r = 0; r < rows; ++r) {
      const float* src = a + (q * mr + r) * rs;
      for (size_t kk = 0; kk < k; ++kk) dst[kk * mr + r] = src[kk * ks];
    }
  }
}

void f32_gemm_pack_b_full(const float* b, size_t k, size_t n, size_t rs, size_t cs, F32PackedB& out) {
  const size_t nr = f32_gemm_tile().nr;
  out.k = k;
  out.n = n;
  out.nr = nr;
  out.data.assign(((n + nr - 1) / nr) * k * nr, 0.0f);
  if (k && n) f32_gemm_pack_b(b, rs, cs, 0, k, 0, n, out.data.data());
}

F32GemmEpilogue f32_gemm_epilogue(const Epilogue& e) {
  F32GemmEpilogue g;
  g.act = e.act;
  g.act_a = e.a;
  g.act_b = e.b;
  return g;
}

void f32_gemm_ref(size_t m, size_t n, size_t k, const float* a, size_t a_rs, size_t a_ks, const float* b, size_t b_rs,
                  size_t b_cs, float* c, size_t ldc, const F32GemmEpilogue& ep) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      double s = 0;
      for (size_t kk = 0; kk < k; ++kk) s += static_cast<double>(a[i * a_rs + kk * a_ks]) * b[kk * b_rs + j * b_cs];
      float v = static_cast<float>(s) * ep.alpha;
      if (ep.accumulate) v += c[i * ldc + j];
      if (ep.bias_m) v += ep.bias_m[i];
      if (ep.bias_n) v += ep.bias_n[j];
      c[i * ldc + j] = f32_act(v, ep.act, ep.act_a, ep.act_b);
    }
  }
}

}  // namespace qp
#endif  // HWY_ONCE
