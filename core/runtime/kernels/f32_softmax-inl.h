// SIMD body of softmax / log-softmax over one axis (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_SOFTMAX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_SOFTMAX_INL_H_
#undef QP_RUNTIME_KERNELS_F32_SOFTMAX_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_SOFTMAX_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One contiguous row. Tails go through a one-lane tag so every element sees the same Exp polynomial.
inline void SoftmaxRow(const float* x, float* y, size_t n, bool log) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  float mx = -std::numeric_limits<float>::infinity();
  size_t i = 0;
  if (n >= N) {
    auto m0 = hn::LoadU(d, x), m1 = m0;
    for (i = N; i + 2 * N <= n; i += 2 * N) {
      m0 = hn::Max(m0, hn::LoadU(d, x + i));
      m1 = hn::Max(m1, hn::LoadU(d, x + i + N));
    }
    for (; i + N <= n; i += N) m0 = hn::Max(m0, hn::LoadU(d, x + i));
    mx = hn::GetLane(hn::MaxOfLanes(d, hn::Max(m0, m1)));
  }
  for (; i < n; ++i) mx = std::max(mx, x[i]);

  const auto vmx = hn::Set(d, mx);
  const auto vmx1 = hn::Set(d1, mx);
  // The sum stays in float lanes within a block and goes to double across blocks (long rows, e.g. 6625 classes).
  double sum = 0;
  constexpr size_t kBlock = 1024;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    auto s = hn::Zero(d);
    auto s1 = hn::Zero(d1);
    size_t j = b;
    for (; j + N <= end; j += N) {
      const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + j), vmx));
      s = hn::Add(s, e);
      if (!log) hn::StoreU(e, d, y + j);
    }
    for (; j < end; ++j) {
      const auto e = hn::Exp(d1, hn::Sub(hn::LoadU(d1, x + j), vmx1));
      s1 = hn::Add(s1, e);
      if (!log) hn::StoreU(e, d1, y + j);
    }
    sum += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, s))) + hn::GetLane(s1);
  }
  if (log) {
    // (x - max) - log(sum), as two subtractions: folding max + log(sum) first would round at max's magnitude.
    const float ls = static_cast<float>(std::log(sum));
    const auto vls = hn::Set(d, ls);
    size_t j = 0;
    for (; j + N <= n; j += N) hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + j), vmx), vls), d, y + j);
    for (; j < n; ++j) y[j] = (x[j] - mx) - ls;
  } else {
    const auto inv = hn::Set(d, static_cast<float>(1.0 / sum));
    size_t j = 0;
    for (; j + N <= n; j += N) hn::StoreU(hn::Mul(hn::LoadU(d, y + j), inv), d, y + j);
    for (; j < n; ++j) y[j] *= hn::GetLane(inv);
  }
}

// `lanes` inner positions starting at column c of a [n, inner] block, all lanes of tag D at once.
template <class D>
HWY_INLINE void SoftmaxColumns(D d, const float* x, float* y, size_t n, size_t inner, bool log) {
  auto mx = hn::LoadU(d, x);
  for (size_t r = 1; r < n; ++r) mx = hn::Max(mx, hn::LoadU(d, x + r * inner));
  auto s = hn::Zero(d);
  for (size_t r = 0; r < n; ++r) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + r * inner), mx));
    s = hn::Add(s, e);
    if (!log) hn::StoreU(e, d, y + r * inner);
  }
  if (log) {
    // Log of a few sums per call: scalar std::log keeps it exact to the reference.
    HWY_ALIGN float sums[HWY_MAX_BYTES / sizeof(float)];
    hn::Store(s, d, sums);
    for (size_t k = 0; k < hn::Lanes(d); ++k) sums[k] = std::log(sums[k]);
    const auto ls = hn::Load(d, sums);
    for (size_t r = 0; r < n; ++r)
      hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + r * inner), mx), ls), d, y + r * inner);
  } else {
    const auto inv = hn::Div(hn::Set(d, 1.0f), s);
    for (size_t r = 0; r < n; ++r) hn::StoreU(hn::Mul(hn::LoadU(d, y + r * inner), inv), d, y + r * inner);
  }
}

inline void SoftmaxImpl(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log) {
  if (n == 0 || inner == 0) return;
  if (inner == 1) {
    for (size_t o = 0; o < outer; ++o) SoftmaxRow(x + o * n, y + o * n, n, log);
    return;
  }
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  for (size_t o = 0; o < outer; ++o) {
    const float* xo = x + o * n * inner;
    float* yo = y + o * n * inner;
    size_t c = 0;
    for (; c + N <= inner; c += N) SoftmaxColumns(d, xo + c, yo + c, n, inner, log);
    for (; c < inner; ++c) SoftmaxColumns(d1, xo + c, yo + c, n, inner, log);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
