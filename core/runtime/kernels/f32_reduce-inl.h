// SIMD body of the reduction kernels (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_REDUCE_INL_H_
#undef QP_RUNTIME_KERNELS_F32_REDUCE_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_REDUCE_INL_H_
#endif

#include <algorithm>
#include <limits>

#include "core/runtime/kernels/f32_reduce.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

inline float ReduceIdentity(ReduceOp op) {
  if (op == ReduceOp::kMax) return -std::numeric_limits<float>::infinity();
  if (op == ReduceOp::kMin) return std::numeric_limits<float>::infinity();
  return 0.0f;
}

template <ReduceOp kOp, class D, class V>
HWY_INLINE V ReduceStep(D, V acc, V v) {
  if (kOp == ReduceOp::kSum) return hn::Add(acc, v);
  if (kOp == ReduceOp::kSumSquares) return hn::Add(acc, hn::Mul(v, v));
  if (kOp == ReduceOp::kMax) return hn::Max(acc, v);
  return hn::Min(acc, v);
}

template <ReduceOp kOp>
HWY_INLINE double ReduceRowT(const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  constexpr bool kSumLike = kOp == ReduceOp::kSum || kOp == ReduceOp::kSumSquares;
  constexpr size_t kBlock = 1024;
  const float ident = ReduceIdentity(kOp);
  double total = ident;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    auto a0 = hn::Set(d, ident), a1 = a0;
    auto t = hn::Set(d1, ident);
    size_t i = b;
    for (; i + 2 * N <= end; i += 2 * N) {
      a0 = ReduceStep<kOp>(d, a0, hn::LoadU(d, x + i));
      a1 = ReduceStep<kOp>(d, a1, hn::LoadU(d, x + i + N));
    }
    for (; i + N <= end; i += N) a0 = ReduceStep<kOp>(d, a0, hn::LoadU(d, x + i));
    for (; i < end; ++i) t = ReduceStep<kOp>(d1, t, hn::LoadU(d1, x + i));
    if (kSumLike) {
      total += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)))) + hn::GetLane(t);
    } else if (kOp == ReduceOp::kMax) {
      total = std::max(total, static_cast<double>(std::max(hn::GetLane(hn::MaxOfLanes(d, hn::Max(a0, a1))),
                                                           hn::GetLane(t))));
    } else {
      total = std::min(total, static_cast<double>(std::min(hn::GetLane(hn::MinOfLanes(d, hn::Min(a0, a1))),
                                                           hn::GetLane(t))));
    }
  }
  return total;
}

inline double ReduceRowImpl(const float* x, size_t n, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ReduceRowT<ReduceOp::kSum>(x, n);
    case ReduceOp::kSumSquares: return ReduceRowT<ReduceOp::kSumSquares>(x, n);
    case ReduceOp::kMax: return ReduceRowT<ReduceOp::kMax>(x, n);
    default: return ReduceRowT<ReduceOp::kMin>(x, n);
  }
}

template <ReduceOp kOp, class D>
HWY_INLINE void ReduceColsChunk(D d, const float* HWY_RESTRICT x, size_t rows, size_t cols, float* HWY_RESTRICT y) {
  auto acc = hn::Set(d, ReduceIdentity(kOp));
  for (size_t r = 0; r < rows; ++r) acc = ReduceStep<kOp>(d, acc, hn::LoadU(d, x + r * cols));
  hn::StoreU(acc, d, y);
}

template <ReduceOp kOp>
HWY_INLINE void ReduceColsT(const float* x, size_t rows, size_t cols, float* y) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(d);
  size_t c = 0;
  for (; c + N <= cols; c += N) ReduceColsChunk<kOp>(d, x + c, rows, cols, y + c);
  for (; c < cols; ++c) ReduceColsChunk<kOp>(d1, x + c, rows, cols, y + c);
}

inline void ReduceColsImpl(const float* x, size_t rows, size_t cols, ReduceOp op, float* y) {
  switch (op) {
    case ReduceOp::kSum: return ReduceColsT<ReduceOp::kSum>(x, rows, cols, y);
    case ReduceOp::kSumSquares: return ReduceColsT<ReduceOp::kSumSquares>(x, rows, cols, y);
    case ReduceOp::kMax: return ReduceColsT<ReduceOp::kMax>(x, rows, cols, y);
    default: return ReduceColsT<ReduceOp::kMin>(x, rows, cols, y);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
