// SIMD body of the fused quantize -> dequantize -> error kernel (compiled once per Highway target).
#if defined(QP_QUANT_QDQ_ERROR_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_QUANT_QDQ_ERROR_INL_H_
#undef QP_QUANT_QDQ_ERROR_INL_H_
#else
#define QP_QUANT_QDQ_ERROR_INL_H_
#endif

#include <algorithm>
#include <cstring>

#include "core/quant/qdq_error.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Error sums of one quantizer over `len` floats (len a multiple of the lane count).
template <class D, class V = hn::Vec<D>>
HWY_INLINE void QdqBlock(D d, const float* HWY_RESTRICT x, size_t len, const QdqParams& p, V& e2, V& mx, V& cl) {
  const size_t N = hn::Lanes(d);
  const V inv = hn::Set(d, p.inv_scale), s = hn::Set(d, p.scale), z = hn::Set(d, p.zero_point);
  const V lo = hn::Set(d, p.qmin), hi = hn::Set(d, p.qmax), one = hn::Set(d, 1.0f);
  V e2b = hn::Zero(d), mxb = hn::Zero(d), clb = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= len; i += 2 * N) {
    const V v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
    const V t0 = hn::Add(hn::Round(hn::Mul(v0, inv)), z), t1 = hn::Add(hn::Round(hn::Mul(v1, inv)), z);
    const V c0 = hn::Min(hn::Max(t0, lo), hi), c1 = hn::Min(hn::Max(t1, lo), hi);
    const V r0 = hn::Sub(hn::Mul(hn::Sub(c0, z), s), v0), r1 = hn::Sub(hn::Mul(hn::Sub(c1, z), s), v1);
    e2 = hn::MulAdd(r0, r0, e2);
    e2b = hn::MulAdd(r1, r1, e2b);
    mx = hn::Max(mx, hn::Abs(r0));
    mxb = hn::Max(mxb, hn::Abs(r1));
    cl = hn::Add(cl, hn::IfThenElseZero(hn::Ne(t0, c0), one));
    clb = hn::Add(clb, hn::IfThenElseZero(hn::Ne(t1, c1), one));
  }
  for (; i < len; i += N) {
    const V v0 = hn::LoadU(d, x + i);
    const V t0 = hn::Add(hn::Round(hn::Mul(v0, inv)), z);
    const V c0 = hn::Min(hn::Max(t0, lo), hi);
    const V r0 = hn::Sub(hn::Mul(hn::Sub(c0, z), s), v0);
    e2 = hn::MulAdd(r0, r0, e2);
    mx = hn::Max(mx, hn::Abs(r0));
    cl = hn::Add(cl, hn::IfThenElseZero(hn::Ne(t0, c0), one));
  }
  e2 = hn::Add(e2, e2b);
  mx = hn::Max(mx, mxb);
  cl = hn::Add(cl, clb);
}

inline void QdqErrorImpl(const float* HWY_RESTRICT x, size_t n, const QdqParams* HWY_RESTRICT q, size_t nq,
                         QdqAccum* HWY_RESTRICT acc, double* HWY_RESTRICT sum_sq) {
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
    for (size_t k = 0; k < nq; ++k) {
      V e2 = hn::Zero(d), mx = hn::Zero(d), cl = hn::Zero(d);
      QdqBlock(d, xb, len, q[k], e2, mx, cl);
      acc[k].sq_err += hn::GetLane(hn::SumOfLanes(d, e2));
      acc[k].max_abs_err = std::max(acc[k].max_abs_err, static_cast<double>(hn::GetLane(hn::MaxOfLanes(d, mx))));
      acc[k].clipped += hn::GetLane(hn::SumOfLanes(d, cl));
    }
  }
  *sum_sq += ss;
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
