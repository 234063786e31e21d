// SIMD body of the fused quantize -> dequantize -> error kernel (compiled once per Highway target).
#if defined(QP_QUANT_QDQ_ERROR_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_QUANT_QDQ_ERROR_INL_H_
#undef QP_QUANT_QDQ_ERROR_INL_H_
#else
#define QP_QUANT_QDQ_ERROR_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/quant/qdq_error.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Error sums of one quantizer over `len` floats (len a multiple of the lane count). kZ: nonzero zero point;
// kClip: the data may leave the grid (clamp and count).
template <bool kZ, bool kClip, class D, class V = hn::Vec<D>>
HWY_INLINE void QdqBlock(D d, const float* HWY_RESTRICT x, size_t len, const QdqParams& p, V& e2, V& mx, V& cl) {
  const size_t N = hn::Lanes(d);
  const V inv = hn::Set(d, p.inv_scale), s = hn::Set(d, p.scale), z = hn::Set(d, p.zero_point);
  const V lo = hn::Set(d, p.qmin), hi = hn::Set(d, p.qmax), one = hn::Set(d, 1.0f);
  V e2b = hn::Zero(d), mxb = hn::Zero(d), clb = hn::Zero(d);
  // Without clipping |x * inv| <= 2^16, where adding and subtracting 1.5 * 2^23 rounds half to even exactly
  // like Round, in two cheap adds instead of a round instruction.
  const V magic = hn::Set(d, 12582912.0f);
  auto step = [&](const V v, V& e2acc, V& mxacc, V& clacc) HWY_ATTR {
    const V u = hn::Mul(v, inv);
    V t = kClip ? hn::Round(u) : hn::Sub(hn::Add(u, magic), magic);
    if (kZ) t = hn::Add(t, z);
    V c = t;
    if (kClip) {
      c = hn::Min(hn::Max(t, lo), hi);
      clacc = hn::Add(clacc, hn::IfThenElseZero(hn::Ne(t, c), one));
    }
    if (kZ) c = hn::Sub(c, z);
    const V r = hn::Sub(hn::Mul(c, s), v);
    e2acc = hn::MulAdd(r, r, e2acc);
    mxacc = hn::Max(mxacc, hn::Abs(r));
  };
  size_t i = 0;
  for (; i + 2 * N <= len; i += 2 * N) {
    step(hn::LoadU(d, x + i), e2, mx, cl);
    step(hn::LoadU(d, x + i + N), e2b, mxb, clb);
  }
  for (; i < len; i += N) step(hn::LoadU(d, x + i), e2, mx, cl);
  e2 = hn::Add(e2, e2b);
  mx = hn::Max(mx, mxb);
  cl = hn::Add(cl, clb);
}

template <class D, class V = hn::Vec<D>>
HWY_INLINE void QdqBlockAny(D d, const float* HWY_RESTRICT x, size_t len, const QdqParams& p, V& e2, V& mx, V& cl) {
  const bool z = p.zero_point != 0;
  if (p.never_clips) {
    if (z) QdqBlock<true, false>(d, x, len, p, e2, mx, cl);
    else QdqBlock<false, false>(d, x, len, p, e2, mx, cl);
  } else {
    if (z) QdqBlock<true, true>(d, x, len, p, e2, mx, cl);
    else QdqBlock<false, true>(d, x, len, p, e2, mx, cl);
  }
}

inline void QdqErrorImpl(const float* HWY_RESTRICT x, size_t n, const QdqParams* HWY_RESTRICT q, size_t nq,
                         QdqAccum* HWY_RESTRICT acc, double* sum_sq) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  // Sums stay in float32 only within a block (<= kBlock / N terms per lane), then go to double.
  constexpr size_t kBlock = 1024;
  HWY_ALIGN float tail[kBlock];
  double ss = 0;
  for (size_t b = 0; b < n; b += kBlock) {
    size_t len = std::min(kBlock, n - b);
    const float* xb = x + b;
    if (len % N != 0) {  // last block: pad with zeros, which quantize exactly to 0 and are never clipped
      std::memcpy(tail, xb, len * sizeof(float));
      const size_t padded = (len + N - 1) / N * N;
      std::memset(tail + len, 0, (padded - len) * sizeof(float));
      xb = tail;
      len = padded;
    }
    if (sum_sq) {
      V s0 = hn::Zero(d), s1 = hn::Zero(d);
      size_t i = 0;
      for (; i + 2 * N <= len; i += 2 * N) {
        const V v0 = hn::LoadU(d, xb + i), v1 = hn::LoadU(d, xb + i + N);
        s0 = hn::MulAdd(v0, v0, s0);
        s1 = hn::MulAdd(v1, v1, s1);
      }
      for (; i < len; i += N) {
        const V v0 = hn::LoadU(d, xb + i);
        s0 = hn::MulAdd(v0, v0, s0);
      }
      ss += hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
    }
    for (size_t k = 0; k < nq; ++k) {
      V e2 = hn::Zero(d), mx = hn::Zero(d), cl = hn::Zero(d);
      QdqBlockAny(d, xb, len, q[k], e2, mx, cl);
      acc[k].sq_err += hn::GetLane(hn::SumOfLanes(d, e2));
      acc[k].max_abs_err = std::max(acc[k].max_abs_err, static_cast<double>(hn::GetLane(hn::MaxOfLanes(d, mx))));
      acc[k].clipped += hn::GetLane(hn::SumOfLanes(d, cl));
    }
  }
  if (sum_sq) *sum_sq += ss;
}

inline bool MomentsImpl(const float* HWY_RESTRICT x, size_t n, double* HWY_RESTRICT mn, double* HWY_RESTRICT mx,
                        double* HWY_RESTRICT sum, double* HWY_RESTRICT sum_sq) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  constexpr size_t kBlock = 1024;
  if (n == 0) return true;
  V vmin = hn::Set(d, x[0]), vmax = vmin;
  double s = 0, ss = 0;
  size_t i = 0;
  const size_t full = n / N * N;
  while (i < full) {
    const size_t end = std::min(full, i + kBlock);
    V s0 = hn::Zero(d), s1 = hn::Zero(d), q0 = hn::Zero(d), q1 = hn::Zero(d);
    for (; i + 2 * N <= end; i += 2 * N) {
      const V v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
      vmin = hn::Min(vmin, hn::Min(v0, v1));
      vmax = hn::Max(vmax, hn::Max(v0, v1));
      s0 = hn::Add(s0, v0);
      s1 = hn::Add(s1, v1);
      q0 = hn::MulAdd(v0, v0, q0);
      q1 = hn::MulAdd(v1, v1, q1);
    }
    for (; i < end; i += N) {
      const V v0 = hn::LoadU(d, x + i);
      vmin = hn::Min(vmin, v0);
      vmax = hn::Max(vmax, v0);
      s0 = hn::Add(s0, v0);
      q0 = hn::MulAdd(v0, v0, q0);
    }
    s += hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
    ss += hn::GetLane(hn::SumOfLanes(d, hn::Add(q0, q1)));
  }
  double lo = hn::GetLane(hn::MinOfLanes(d, vmin)), hi = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) {
    lo = std::min(lo, static_cast<double>(x[i]));
    hi = std::max(hi, static_cast<double>(x[i]));
    s += x[i];
    ss += static_cast<double>(x[i]) * x[i];
  }
  *mn = lo;
  *mx = hi;
  *sum = s;
  *sum_sq = ss;
  // NaN propagates into the sums (and min/max may hide it); +-inf and float overflow show as non-finite sums.
  return std::isfinite(s) && std::isfinite(ss) && std::isfinite(lo) && std::isfinite(hi);
}

inline const char* QdqTargetImpl() {
#if HWY_TARGET == HWY_WASM
  return "WASM_SIMD128";
#else
  return hwy::TargetName(HWY_TARGET);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
