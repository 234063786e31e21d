// SIMD bodies of the direct depthwise convolution (phase planes or rows; bias and activation fused) and of the
// phase-plane im2col.
#if defined(QP_RUNTIME_KERNELS_F32_CONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#undef QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_CONV_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

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

// Phase planes: with stride s (1 or 2 in both dims), the zero-padded input is split once per plane into s x s
// phase planes (padded rows and columns by their residue mod s), each wq wide. Tap (ky, kx) of output (oy, ox) is
// then element (oy + ky·dh / s, ox + kx·dw / s) of phase plane (ky·dh mod s, kx·dw mod s): contiguous in ox, with
// no padding tests and no strided reads. The depthwise kernel runs whole vectors over the flattened index
// q = oy * wq + ox of all oh x wq positions (the wq - ow positions past each row's end are computed and dropped);
// the conv's im2col copies runs of one output row.
struct PhaseGeom {
  size_t s = 1;
  size_t rq = 0, wq = 0;   // rows and columns of one phase plane
  size_t plane = 0;        // floats per phase plane (rq·wq plus slack for the last vector's taps)
  size_t total = 0;        // oh · wq flattened outputs
  std::vector<int64_t> off;  // per tap: phase plane · plane + row offset · wq + column offset
};

inline PhaseGeom PhasePlan(const F32Conv2dGeom& g, size_t lanes) {
  PhaseGeom f;
  f.s = g.sw;
  const size_t s = f.s;
  const size_t hp = (g.oh - 1) * s + (g.kh - 1) * g.dh + 1, wp = (g.ow - 1) * s + (g.kw - 1) * g.dw + 1;
  f.rq = (hp + s - 1) / s;
  f.wq = (wp + s - 1) / s;
  f.total = g.oh * f.wq;
  // Largest read: q < total rounded up to 4 vectors, plus row offset <= (rq - oh)·wq and column offset
  // <= wq - ow.
  f.plane = f.rq * f.wq + f.wq + 4 * lanes;
  f.off.resize(g.kh * g.kw);
  for (size_t ky = 0; ky < g.kh; ++ky)
    for (size_t kx = 0; kx < g.kw; ++kx) {
      const size_t ry = ky * g.dh, rx = kx * g.dw;
      f.off[ky * g.kw + kx] = static_cast<int64_t>(((ry % s) * s + rx % s) * f.plane + (ry / s) * f.wq + rx / s);
    }
  return f;
}

// Copies plane xc into its phase planes at `buf` (positions outside the input stay as they are: zero).
template <size_t kStride>
HWY_INLINE void PhaseFill(const float* HWY_RESTRICT xc, const F32Conv2dGeom& g, const PhaseGeom& f,
                           float* HWY_RESTRICT buf) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t s = kStride;
  const size_t hp = (g.oh - 1) * s + (g.kh - 1) * g.dh + 1, wp = (g.ow - 1) * s + (g.kw - 1) * g.dw + 1;
  if (wp <= g.pl) return;
  const size_t ncols = std::min(g.w, wp - g.pl);
  for (size_t iy = 0; iy < g.h && iy + g.pt < hp; ++iy) {
    const size_t pr = iy + g.pt;
    const float* HWY_RESTRICT src = xc + iy * g.w;
    if constexpr (kStride == 1) {
      std::memcpy(buf + pr * f.wq + g.pl, src, ncols * sizeof(float));
    } else {
      // Even input columns land in phase column pl mod 2, odd ones in the other; both start at (pl + parity) / 2.
      float* HWY_RESTRICT row = buf + (pr % 2) * 2 * f.plane + (pr / 2) * f.wq;
      float* HWY_RESTRICT ev = row + (g.pl & 1) * f.plane + (g.pl >> 1);
      float* HWY_RESTRICT od = row + ((g.pl + 1) & 1) * f.plane + ((g.pl + 1) >> 1);
      size_t j = 0;
      for (; 2 * (j + N) <= ncols; j += N) {
        hn::Vec<decltype(d)> a, b;
        hn::LoadInterleaved2(d, src + 2 * j, a, b);
        hn::StoreU(a, d, ev + j);
        hn::StoreU(b, d, od + j);
      }
      const hn::CappedTag<float, 4> d4;  // narrow rows: most of a row would be left to the scalar loop
      for (; 2 * (j + 4) <= ncols; j += 4) {
        hn::Vec<decltype(d4)> a, b;
        hn::LoadInterleaved2(d4, src + 2 * j, a, b);
        hn::StoreU(a, d4, ev + j);
        hn::StoreU(b, d4, od + j);
      }
      for (; 2 * j < ncols; ++j) {
        ev[j] = src[2 * j];
        if (2 * j + 1 < ncols) od[j] = src[2 * j + 1];
      }
    }
  }
}

// All oh x wq flattened outputs of one plane from the phase planes into tmp (bias and activation applied).
// kTaps: taps known at compile time (weights held in registers), 0: runtime count.
template <size_t kTaps>
HWY_NOINLINE void DwFlatCompute(const float* HWY_RESTRICT buf, const float* HWY_RESTRICT wc, float bv,
                                const PhaseGeom& f, size_t ntaps, float* HWY_RESTRICT tmp,
                                const F32GemmEpilogue& e) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const size_t taps = kTaps ? kTaps : ntaps;
  const int64_t* HWY_RESTRICT off = f.off.data();
  const V vb = hn::Set(d, bv);
  size_t q = 0;
  if constexpr (kTaps != 0) {
    V wv[kTaps];
    for (size_t t = 0; t < kTaps; ++t) wv[t] = hn::Set(d, wc[t]);
    for (; q + 4 * N <= f.total; q += 4 * N) {
      V a0 = vb, a1 = vb, a2 = vb, a3 = vb;
      for (size_t t = 0; t < kTaps; ++t) {
        const float* p = buf + off[t] + q;
        a0 = hn::MulAdd(wv[t], hn::LoadU(d, p), a0);
        a1 = hn::MulAdd(wv[t], hn::LoadU(d, p + N), a1);
        a2 = hn::MulAdd(wv[t], hn::LoadU(d, p + 2 * N), a2);
        a3 = hn::MulAdd(wv[t], hn::LoadU(d, p + 3 * N), a3);
      }
      hn::Store(DwAct(d, a0, e), d, tmp + q);
      hn::Store(DwAct(d, a1, e), d, tmp + q + N);
      hn::Store(DwAct(d, a2, e), d, tmp + q + 2 * N);
      hn::Store(DwAct(d, a3, e), d, tmp + q + 3 * N);
    }
    for (; q + N < f.total; q += 2 * N) {
      V a0 = vb, a1 = vb;
      for (size_t t = 0; t < kTaps; ++t) {
        const float* p = buf + off[t] + q;
        a0 = hn::MulAdd(wv[t], hn::LoadU(d, p), a0);
        a1 = hn::MulAdd(wv[t], hn::LoadU(d, p + N), a1);
      }
      hn::Store(DwAct(d, a0, e), d, tmp + q);
      hn::Store(DwAct(d, a1, e), d, tmp + q + N);
    }
    for (; q < f.total; q += N) {
      V a0 = vb;
      for (size_t t = 0; t < kTaps; ++t) a0 = hn::MulAdd(wv[t], hn::LoadU(d, buf + off[t] + q), a0);
      hn::Store(DwAct(d, a0, e), d, tmp + q);
    }
  } else {
    for (; q < f.total; q += 2 * N) {
      V a0 = vb, a1 = vb;
      for (size_t t = 0; t < taps; ++t) {
        const V w = hn::Set(d, wc[t]);
        const float* p = buf + off[t] + q;
        a0 = hn::MulAdd(w, hn::LoadU(d, p), a0);
        a1 = hn::MulAdd(w, hn::LoadU(d, p + N), a1);
      }
      hn::Store(DwAct(d, a0, e), d, tmp + q);
      hn::Store(DwAct(d, a1, e), d, tmp + q + N);
    }
  }
}

// The phase-plane path over every output channel (see PhaseGeom). Strides 1 or 2, equal in both dims.
template <size_t kStride>
HWY_NOINLINE void DwFlat(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w, const float* bias,
                         float* HWY_RESTRICT y, const F32Conv2dGeom& g, size_t channels, size_t multiplier,
                         const F32GemmEpilogue& e) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const PhaseGeom f = PhasePlan(g, N);
  thread_local std::vector<float> buf, tmp;
  buf.assign(kStride * kStride * f.plane, 0.0f);
  tmp.resize((f.total + 4 * N - 1) / (4 * N) * 4 * N + HWY_MAX_BYTES / sizeof(float));
  float* tp = reinterpret_cast<float*>(hwy::RoundUpTo(reinterpret_cast<uintptr_t>(tmp.data()), HWY_MAX_BYTES));
  const size_t in_plane = g.h * g.w, out_plane = g.oh * g.ow, taps = g.kh * g.kw;
  for (size_t c = 0; c < channels; ++c) {
    PhaseFill<kStride>(x + c * in_plane, g, f, buf.data());
    for (size_t m = 0; m < multiplier; ++m) {
      const size_t oc = c * multiplier + m;
      const float bv = bias ? bias[oc] : 0.0f;
      if (taps == 9) DwFlatCompute<9>(buf.data(), w + oc * taps, bv, f, taps, tp, e);
      else if (taps == 25) DwFlatCompute<25>(buf.data(), w + oc * taps, bv, f, taps, tp, e);
      else DwFlatCompute<0>(buf.data(), w + oc * taps, bv, f, taps, tp, e);
      float* HWY_RESTRICT yc = y + oc * out_plane;
      if (f.wq == g.ow) {
        std::memcpy(yc, tp, out_plane * sizeof(float));
      } else {
        for (size_t oy = 0; oy < g.oh; ++oy) std::memcpy(yc + oy * g.ow, tp + oy * f.wq, g.ow * sizeof(float));
      }
    }
  }
}

inline void ConvPhasePlanesImpl(const float* HWY_RESTRICT x, const F32Conv2dGeom& g, F32ConvPhasePlanes& out) {
  const PhaseGeom f = PhasePlan(g, hn::Lanes(hn::ScalableTag<float>()));
  out.s = f.s;
  out.wq = f.wq;
  out.plane = f.plane;
  const size_t per_channel = f.s * f.s * f.plane;
  out.data.assign(g.c * per_channel, 0.0f);
  for (size_t ci = 0; ci < g.c; ++ci) {
    if (f.s == 1) PhaseFill<1>(x + ci * g.h * g.w, g, f, out.data.data() + ci * per_channel);
    else PhaseFill<2>(x + ci * g.h * g.w, g, f, out.data.data() + ci * per_channel);
  }
}

// len floats from src to dst with vectors of d, the last one overlapping. Needs len >= Lanes(d).
template <class D>
HWY_INLINE void CopyRunD(D d, const float* HWY_RESTRICT src, float* HWY_RESTRICT dst, size_t len) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= len; i += N) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
  if (i < len) hn::StoreU(hn::LoadU(d, src + len - N), d, dst + len - N);
}

HWY_INLINE void CopyRun(const float* HWY_RESTRICT src, float* HWY_RESTRICT dst, size_t len) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 8> d8;
  const hn::CappedTag<float, 4> d4;
  if (len >= hn::Lanes(d)) CopyRunD(d, src, dst, len);
  else if (len >= hn::Lanes(d8)) CopyRunD(d8, src, dst, len);
  else if (len >= hn::Lanes(d4)) CopyRunD(d4, src, dst, len);
  else
    for (size_t i = 0; i < len; ++i) dst[i] = src[i];
}

inline void Im2colPhaseBlockImpl(const F32ConvPhasePlanes& p, const F32Conv2dGeom& g, size_t k0, size_t kc,
                                 size_t n0, size_t nc, size_t nr, float* HWY_RESTRICT dst) {
  const size_t s = p.s, khw = g.kh * g.kw, OW = g.ow, pstride = kc * nr, np = (nc + nr - 1) / nr;
  // The block's columns as runs within one output row and one panel: (offset in a row of the block, offset in
  // a phase plane, length); the same for every row k.
  thread_local std::vector<size_t> runs;
  runs.clear();
  for (size_t n = n0, end = n0 + nc; n < end;) {
    const size_t oy = n / OW, ox = n % OW, rel = n - n0, j = rel % nr;
    const size_t len = std::min(std::min(OW - ox, nr - j), end - n);
    runs.push_back((rel / nr) * pstride + j);
    runs.push_back(oy * p.wq + ox);
    runs.push_back(len);
    n += len;
  }
  const size_t tail = nc % nr;
  for (size_t kk = 0; kk < kc; ++kk) {
    const size_t k = k0 + kk, ci = k / khw, t = k % khw, ry = (t / g.kw) * g.dh, rx = (t % g.kw) * g.dw;
    const float* src = p.data.data() + (ci * s * s + (ry % s) * s + rx % s) * p.plane + (ry / s) * p.wq + rx / s;
    float* drow = dst + kk * nr;
    for (size_t r = 0; r < runs.size(); r += 3) CopyRun(src + runs[r + 1], drow + runs[r], runs[r + 2]);
    if (tail) std::fill(drow + (np - 1) * pstride + tail, drow + (np - 1) * pstride + nr, 0.0f);
  }
}

// The phase-plane path: measured faster than the row kernel on every plane from 3x12 to 80x80 with AVX-512 and
// AVX2, narrow planes most (their borders and tails run scalar in the row kernel). Under V8 (SIMD128) the row
// kernel stays ahead on wide rows of 3x3 taps (24x160: the two extra copies cost more than the borders there).
inline bool DwUseFlat(const F32Conv2dGeom& g) {
  if (g.sh != g.sw || (g.sw != 1 && g.sw != 2)) return false;
#if HWY_TARGET == HWY_WASM
  if (g.kh * g.kw <= 9 && g.ow >= 64) return false;
#endif
  return true;
}

inline void DepthwiseImpl(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w, const float* bias,
                          float* HWY_RESTRICT y, const F32Conv2dGeom& g, size_t channels, size_t multiplier,
                          const F32GemmEpilogue& e) {
  const size_t in_plane = g.h * g.w, out_plane = g.oh * g.ow, taps = g.kh * g.kw;
  if (out_plane == 0) return;
  if (DwUseFlat(g)) {
    if (g.sw == 1) DwFlat<1>(x, w, bias, y, g, channels, multiplier, e);
    else DwFlat<2>(x, w, bias, y, g, channels, multiplier, e);
    return;
  }
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
