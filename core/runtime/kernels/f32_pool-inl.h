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

// Separable: first fold the rows into one padded scratch row (contiguous loads, the bulk of the work), then
// slide the window along it. Padding holds the identity so the window pass needs no bounds checks.
template <bool kMax>
HWY_INLINE void PoolRowImpl(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale,
                            float* HWY_RESTRICT s, float* HWY_RESTRICT y) {
  if (g.out_w == 0) return;
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const float ident = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  const auto vident = hn::Set(d, ident);
  auto op = [](decltype(vident) a, decltype(vident) b) HWY_ATTR { return kMax ? hn::Max(a, b) : hn::Add(a, b); };
  const size_t len = (g.out_w - 1) * g.stride + (g.kernel - 1) * g.dilation + 2;  // = f32_pool_scratch(g)
  const size_t lo = std::min(g.pad, len), hi = std::min(g.pad + g.in_w, len);
  std::fill(s, s + lo, ident);
  std::fill(s + hi, s + len, ident);
  const size_t w_end = hi - lo;  // input columns [0, w_end) are used
  if (nrows == 0) {
    std::fill(s + lo, s + hi, ident);
  } else {
    float* sv = s + lo;
    size_t w = 0;
    for (; w + N <= w_end; w += N) {
      auto v = hn::LoadU(d, rows[0] + w);
      for (size_t r = 1; r < nrows; ++r) v = op(v, hn::LoadU(d, rows[r] + w));
      hn::StoreU(v, d, sv + w);
    }
    for (; w < w_end; ++w) {
      float v = rows[0][w];
      for (size_t r = 1; r < nrows; ++r) v = kMax ? std::max(v, rows[r][w]) : v + rows[r][w];
      sv[w] = v;
    }
  }
  size_t ow = 0;
  const size_t K = g.kernel, dl = g.dilation;
  if (g.stride == 1) {
    for (; ow + N <= g.out_w; ow += N) {
      auto v = hn::LoadU(d, s + ow);
      for (size_t k = 1; k < K; ++k) v = op(v, hn::LoadU(d, s + ow + k * dl));
      if (!kMax) v = hn::Mul(v, hn::LoadU(d, scale + ow));
      hn::StoreU(v, d, y + ow);
    }
  } else if (g.stride == 2) {
    // The even lanes of 2N consecutive floats are the taps of N neighbouring windows (3x3 s2 MaxPool).
    for (; ow + N <= g.out_w; ow += N) {
      auto v = vident;
      for (size_t k = 0; k < K; ++k) {
        auto even = vident, odd = vident;
        hn::LoadInterleaved2(d, s + 2 * ow + k * dl, even, odd);
        v = op(v, even);
      }
      if (!kMax) v = hn::Mul(v, hn::LoadU(d, scale + ow));
      hn::StoreU(v, d, y + ow);
    }
  }
  for (; ow < g.out_w; ++ow) {
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
