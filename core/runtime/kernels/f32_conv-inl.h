// SIMD body of the direct depthwise convolution (vectorised over output width, bias and activation fused).
#if defined(QP_RUNTIME_KERNELS_F32_CONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#undef QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "core/runtime/kernels/f32_conv.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D, class V = hn::Vec<D>>
HWY_INLINE V DwAct(D d, V v, const F32GemmEpilogue& e) {
  switch (e.act) {
    case Act::kNone: return v;
    case Act::kRelu: return hn::Max(v, hn::Zero(d));
    case Act::kClip: return hn::Min(hn::Max(v, hn::Set(d, e.act_a)), hn::Set(d, e.act_b));
    case Act::kLeakyRelu: return hn::IfThenElse(hn::Lt(v, hn::Zero(d)), hn::Mul(v, hn::Set(d, e.act_a)), v);
  }
  return v;
}

// Input lanes for output columns [ox, ox + N) of one tap: contiguous at stride 1; at stride 2 the even lanes of
// 2N contiguous floats (one more float than the last tap needs is read: the interior range accounts for it).
template <size_t kStride, class D, class V = hn::Vec<D>>
HWY_INLINE V DwLoad(D d, const float* HWY_RESTRICT p) {
  if constexpr (kStride == 1) {
    return hn::LoadU(d, p);
  } else {
    V even, odd;
    hn::LoadInterleaved2(d, p, even, odd);
    return even;
  }
}

// Interior columns [ox, ox_hi) of one output row whose kK x kK taps all lie inside the input: taps unrolled and
// (for 3x3) their weights held in registers across the row. Returns the first column not written.
template <size_t kStride, size_t kK>
HWY_INLINE int64_t DwRowInterior(const float* HWY_RESTRICT top, int64_t W, int64_t dh, int64_t dw,
                                 const float* HWY_RESTRICT wc, int64_t ox, int64_t ox_hi, int64_t sw, int64_t pl,
                                 float bv, float* HWY_RESTRICT yrow, const F32GemmEpilogue& e) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  V wv[kK * kK];
  for (size_t t = 0; t < kK * kK; ++t) wv[t] = hn::Set(d, wc[t]);
  const V vb = hn::Set(d, bv);
  for (; ox + 2 * N <= ox_hi; ox += 2 * N) {
    V acc0 = vb, acc1 = vb;
    const float* row = top + ox * sw - pl;
    for (size_t ky = 0; ky < kK; ++ky, row += dh * W) {
      for (size_t kx = 0; kx < kK; ++kx) {
        const float* p = row + static_cast<int64_t>(kx) * dw;
        acc0 = hn::MulAdd(wv[ky * kK + kx], DwLoad<kStride>(d, p), acc0);
        acc1 = hn::MulAdd(wv[ky * kK + kx], DwLoad<kStride>(d, p + kStride * N), acc1);
      }
    }
    hn::StoreU(DwAct(d, acc0, e), d, yrow + ox);
    hn::StoreU(DwAct(d, acc1, e), d, yrow + ox + N);
  }
  for (; ox + N <= ox_hi; ox += N) {
    V acc0 = vb;
    const float* row = top + ox * sw - pl;
    for (size_t ky = 0; ky < kK; ++ky, row += dh * W)
      for (size_t kx = 0; kx < kK; ++kx)
        acc0 = hn::MulAdd(wv[ky * kK + kx], DwLoad<kStride>(d, row + static_cast<int64_t>(kx) * dw), acc0);
    hn::StoreU(DwAct(d, acc0, e), d, yrow + ox);
  }
  return ox;
}

// One output plane. kKW: kernel width known at compile time (0: runtime g.kw).
template <size_t kStride, size_t kKW>
HWY_NOINLINE void DwPlane(const float* HWY_RESTRICT xc, const float* HWY_RESTRICT wc, float bv,
                          float* HWY_RESTRICT yc, const F32Conv2dGeom& g, const F32GemmEpilogue& e) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const size_t kw = kKW ? kKW : g.kw;
  const int64_t H = static_cast<int64_t>(g.h), W = static_cast<int64_t>(g.w);
  const int64_t sh = static_cast<int64_t>(g.sh), sw = static_cast<int64_t>(g.sw);
  const int64_t dh = static_cast<int64_t>(g.dh), dw = static_cast<int64_t>(g.dw);
  const int64_t pt = static_cast<int64_t>(g.pt), pl = static_cast<int64_t>(g.pl);
  const int64_t KH = static_cast<int64_t>(g.kh), KW = static_cast<int64_t>(kw);
  const int64_t OW = static_cast<int64_t>(g.ow);
  // Output columns whose taps all lie inside the row (stride 2 also needs the float after the last tap).
  const int64_t extra = kStride == 2 ? 1 : 0;
  int64_t ox_lo = (pl + sw - 1) / sw;
  const int64_t num = W - 1 - extra + pl - (KW - 1) * dw;
  int64_t ox_hi = num >= 0 ? num / sw + 1 : 0;
  ox_lo = std::min(ox_lo, OW);
  ox_hi = std::max(std::min(ox_hi, OW), ox_lo);
  if (kStride != 1 && kStride != 2) ox_hi = ox_lo;  // other strides: scalar only
  const V vb = hn::Set(d, bv);
  for (int64_t oy = 0; oy < static_cast<int64_t>(g.oh); ++oy) {
    const int64_t iy0 = oy * sh - pt;
    int64_t ky_lo = 0, ky_hi = KH;
    while (ky_lo < KH && iy0 + ky_lo * dh < 0) ++ky_lo;
    while (ky_hi > ky_lo && iy0 + (ky_hi - 1) * dh >= H) --ky_hi;
    float* HWY_RESTRICT yrow = yc + oy * OW;
    auto point = [&](int64_t ox) {
      const int64_t ix0 = ox * sw - pl;
      float s = 0;
      for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
        const float* row = xc + (iy0 + ky * dh) * W;
        for (int64_t kx = 0; kx < KW; ++kx) {
          const int64_t ix = ix0 + kx * dw;
          if (ix >= 0 && ix < W) s += wc[ky * KW + kx] * row[ix];
        }
      }
      yrow[ox] = f32_act(s + bv, e.act, e.act_a, e.act_b);
    };
    int64_t ox = 0;
    for (; ox < ox_lo; ++ox) point(ox);
    if constexpr (kKW != 0 && (kStride == 1 || kStride == 2)) {
      if (KH == KW && ky_lo == 0 && ky_hi == KH)
        ox = DwRowInterior<kStride, kKW>(xc + iy0 * W, W, dh, dw, wc, ox, ox_hi, sw, pl, bv, yrow, e);
    }
    for (; ox + 2 * static_cast<int64_t>(N) <= ox_hi; ox += 2 * N) {
      V acc0 = hn::Zero(d), acc1 = hn::Zero(d);
      const int64_t ix0 = ox * sw - pl;
      for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
        const float* row = xc + (iy0 + ky * dh) * W + ix0;
        const float* wr = wc + ky * KW;
        for (int64_t kx = 0; kx < KW; ++kx) {
          const V wv = hn::Set(d, wr[kx]);
          const float* p = row + kx * dw;
          acc0 = hn::MulAdd(wv, DwLoad<kStride>(d, p), acc0);
          acc1 = hn::MulAdd(wv, DwLoad<kStride>(d, p + kStride * N), acc1);
        }
      }
      hn::StoreU(DwAct(d, hn::Add(acc0, vb), e), d, yrow + ox);
      hn::StoreU(DwAct(d, hn::Add(acc1, vb), e), d, yrow + ox + N);
    }
    for (; ox + static_cast<int64_t>(N) <= ox_hi; ox += N) {
      V acc0 = hn::Zero(d);
      const int64_t ix0 = ox * sw - pl;
      for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
        const float* row = xc + (iy0 + ky * dh) * W + ix0;
        const float* wr = wc + ky * KW;
        for (int64_t kx = 0; kx < KW; ++kx) acc0 = hn::MulAdd(hn::Set(d, wr[kx]), DwLoad<kStride>(d, row + kx * dw), acc0);
      }
      hn::StoreU(DwAct(d, hn::Add(acc0, vb), e), d, yrow + ox);
    }
    for (; ox < OW; ++ox) point(ox);
  }
}

template <size_t kStride>
HWY_INLINE void DwPlaneAnyK(const float* xc, const float* wc, float bv, float* yc, const F32Conv2dGeom& g,
                            const F32GemmEpilogue& e) {
  if (g.kw == 3) DwPlane<kStride, 3>(xc, wc, bv, yc, g, e);
  else if (g.kw == 5) DwPlane<kStride, 5>(xc, wc, bv, yc, g, e);
  else DwPlane<kStride, 0>(xc, wc, bv, yc, g, e);
}

inline void DepthwiseImpl(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w, const float* bias,
                          float* HWY_RESTRICT y, const F32Conv2dGeom& g, size_t channels, size_t multiplier,
                          const F32GemmEpilogue& e) {
  const size_t in_plane = g.h * g.w, out_plane = g.oh * g.ow, taps = g.kh * g.kw;
  for (size_t oc = 0; oc < channels * multiplier; ++oc) {
    const float* xc = x + (oc / multiplier) * in_plane;
    const float bv = bias ? bias[oc] : 0.0f;
    if (g.sw == 1) DwPlaneAnyK<1>(xc, w + oc * taps, bv, y + oc * out_plane, g, e);
    else if (g.sw == 2) DwPlaneAnyK<2>(xc, w + oc * taps, bv, y + oc * out_plane, g, e);
    else DwPlane<0, 0>(xc, w + oc * taps, bv, y + oc * out_plane, g, e);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
