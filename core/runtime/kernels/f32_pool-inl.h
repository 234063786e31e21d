// SIMD body of the pooling row kernels (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_POOL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_POOL_INL_H_
#undef QP_RUNTIME_KERNELS_F32_POOL_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_POOL_INL_H_
#endif

#include <algorithm>
#include <limits>

#include "core/runtime/kernels/f32_pool.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kMax, class D, class V = hn::Vec<D>>
HWY_INLINE V PoolOp(V a, V b) {
  return kMax ? hn::Max(a, b) : hn::Add(a, b);
}

// Columns [0, w_end) of the rows folded into sv with vectors of d, the last one overlapping its predecessor
// (recomputing a column gives the same value). Needs w_end >= Lanes(d).
template <bool kMax, class D>
HWY_INLINE void PoolFoldRows(D d, const float* const* rows, size_t nrows, size_t w_end, float* HWY_RESTRICT sv) {
  const size_t N = hn::Lanes(d);
  auto one = [&](size_t w) HWY_ATTR {
    auto v = hn::LoadU(d, rows[0] + w);
    for (size_t r = 1; r < nrows; ++r) v = PoolOp<kMax, D>(v, hn::LoadU(d, rows[r] + w));
    hn::StoreU(v, d, sv + w);
  };
  size_t w = 0;
  for (; w + N <= w_end; w += N) one(w);
  if (w < w_end) one(w_end - N);
}

// Outputs [0, out_w) of the window pass with vectors of d (strides 1 and 2), the last one overlapping. Needs
// out_w >= Lanes(d).
template <bool kMax, class D>
HWY_INLINE void PoolWindows(D d, const float* HWY_RESTRICT s, const PoolRow& g, const float* scale,
                            float* HWY_RESTRICT y) {
  const size_t N = hn::Lanes(d), K = g.kernel, dl = g.dilation;
  const float ident = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  auto one = [&](size_t ow) HWY_ATTR {
    hn::Vec<D> v;
    if (g.stride == 1) {
      v = hn::LoadU(d, s + ow);
      for (size_t k = 1; k < K; ++k) v = PoolOp<kMax, D>(v, hn::LoadU(d, s + ow + k * dl));
    } else {
      // The even lanes of 2N consecutive floats are the taps of N neighbouring windows (3x3 s2 MaxPool).
      v = hn::Set(d, ident);
      for (size_t k = 0; k < K; ++k) {
        hn::Vec<D> even, odd;
        hn::LoadInterleaved2(d, s + 2 * ow + k * dl, even, odd);
        v = PoolOp<kMax, D>(v, even);
      }
    }
    if (!kMax) v = hn::Mul(v, hn::LoadU(d, scale + ow));
    hn::StoreU(v, d, y + ow);
  };
  size_t ow = 0;
  for (; ow + N <= g.out_w; ow += N) one(ow);
  if (ow < g.out_w) one(g.out_w - N);
}

// Separable: first fold the rows into one padded scratch row (contiguous loads, the bulk of the work), then
// slide the window along it. Padding holds the identity so the window pass needs no bounds checks. Rows narrower
// than a full vector run with 8- or 4-lane vectors; the last vector of a row overlaps the one before it, so only
// rows under 4 columns are left to scalar code.
template <bool kMax>
HWY_INLINE void PoolRowImpl(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale,
                            float* HWY_RESTRICT s, float* HWY_RESTRICT y) {
  if (g.out_w == 0) return;
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 8> d8;
  const hn::CappedTag<float, 4> d4;
  const size_t N = hn::Lanes(d), N8 = hn::Lanes(d8), N4 = hn::Lanes(d4);
  const float ident = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  const size_t len = (g.out_w - 1) * g.stride + (g.kernel - 1) * g.dilation + 2;  // = f32_pool_scratch(g)
  const size_t lo = std::min(g.pad, len), hi = std::min(g.pad + g.in_w, len);
  std::fill(s, s + lo, ident);
  std::fill(s + hi, s + len, ident);
  const size_t w_end = hi - lo;  // input columns [0, w_end) are used
  if (nrows == 0) {
    std::fill(s + lo, s + hi, ident);
  } else {
    float* sv = s + lo;
    if (w_end >= N) PoolFoldRows<kMax>(d, rows, nrows, w_end, sv);
    else if (w_end >= N8) PoolFoldRows<kMax>(d8, rows, nrows, w_end, sv);
    else if (w_end >= N4) PoolFoldRows<kMax>(d4, rows, nrows, w_end, sv);
    else
      for (size_t w = 0; w < w_end; ++w) {
        float v = rows[0][w];
        for (size_t r = 1; r < nrows; ++r) v = kMax ? std::max(v, rows[r][w]) : v + rows[r][w];
        sv[w] = v;
      }
  }
  const size_t K = g.kernel, dl = g.dilation;
  if ((g.stride == 1 || g.stride == 2) && g.out_w >= N4) {
    if (g.out_w >= N) PoolWindows<kMax>(d, s, g, scale, y);
    else if (g.out_w >= N8) PoolWindows<kMax>(d8, s, g, scale, y);
    else PoolWindows<kMax>(d4, s, g, scale, y);
    return;
  }
  for (size_t ow = 0; ow < g.out_w; ++ow) {
    const float* t = s + ow * g.stride;
    float v = t[0];
    for (size_t k = 1; k < K; ++k) v = kMax ? std::max(v, t[k * dl]) : v + t[k * dl];
    y[ow] = kMax ? v : v * scale[ow];
  }
}

inline void MaxPoolRowImpl(const float* const* rows, size_t nrows, const PoolRow& g, float* s, float* y) {
  PoolRowImpl<true>(rows, nrows, g, nullptr, s, y);
}
inline void AvgPoolRowImpl(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* s,
                           float* y) {
  PoolRowImpl<false>(rows, nrows, g, scale, s, y);
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
