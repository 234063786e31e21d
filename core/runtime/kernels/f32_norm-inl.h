// SIMD body of the normalisation kernels (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_NORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_NORM_INL_H_
#undef QP_RUNTIME_KERNELS_F32_NORM_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_NORM_INL_H_
#endif

#include <algorithm>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

inline void ScaleShiftImpl(const float* x, float* y, size_t n, float a, float b) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, a), vb = hn::Set(d, b);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    hn::StoreU(hn::Add(hn::Mul(hn::LoadU(d, x + i), va), vb), d, y + i);
    hn::StoreU(hn::Add(hn::Mul(hn::LoadU(d, x + i + N), va), vb), d, y + i + N);
  }
  for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::Mul(hn::LoadU(d, x + i), va), vb), d, y + i);
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

// Sum of (x - c)^2 (or of x when !kDev), float lanes within 1024-element blocks, double across them.
template <bool kDev>
HWY_INLINE double BlockSum(const float* HWY_RESTRICT x, size_t n, float c) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vc = hn::Set(d, c);
  double total = 0;
  constexpr size_t kBlock = 1024;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    auto s0 = hn::Zero(d), s1 = hn::Zero(d);
    size_t i = b;
    for (; i + 2 * N <= end; i += 2 * N) {
      auto v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
      if (kDev) {
        v0 = hn::Sub(v0, vc);
        v1 = hn::Sub(v1, vc);
        s0 = hn::Add(s0, hn::Mul(v0, v0));
        s1 = hn::Add(s1, hn::Mul(v1, v1));
      } else {
        s0 = hn::Add(s0, v0);
        s1 = hn::Add(s1, v1);
      }
    }
    for (; i + N <= end; i += N) {
      auto v0 = hn::LoadU(d, x + i);
      if (kDev) {
        v0 = hn::Sub(v0, vc);
        s0 = hn::Add(s0, hn::Mul(v0, v0));
      } else {
        s0 = hn::Add(s0, v0);
      }
    }
    double t = hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
    for (; i < end; ++i) {
      const float v = kDev ? x[i] - c : x[i];
      t += kDev ? static_cast<double>(v) * v : v;
    }
    total += t;
  }
  return total;
}

inline void MeanVarImpl(const float* x, size_t n, double* mean, double* var) {
  if (n == 0) {
    *mean = *var = 0;
    return;
  }
  const double m = BlockSum<false>(x, n, 0.0f) / static_cast<double>(n);
  *mean = m;
  *var = BlockSum<true>(x, n, static_cast<float>(m)) / static_cast<double>(n);
}

inline void LayerNormRowImpl(const float* x, float* y, size_t n, float mean, float inv_std, const float* w,
                             const float* b) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vm = hn::Set(d, mean), vi = hn::Set(d, inv_std);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto v = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(d, x + i), vm), vi), hn::LoadU(d, w + i));
    if (b) v = hn::Add(v, hn::LoadU(d, b + i));
    hn::StoreU(v, d, y + i);
  }
  for (; i < n; ++i) {
    const float v = (x[i] - mean) * inv_std * w[i];
    y[i] = b ? v + b[i] : v;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
