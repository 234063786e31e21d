// SIMD body of the float32 binary kernels (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_BINARY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_BINARY_INL_H_
#undef QP_RUNTIME_KERNELS_F32_BINARY_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_BINARY_INL_H_
#endif

#include <cmath>
#include <cstring>

#include "core/runtime/kernels/f32_binary.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

struct BAdd {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Add(a, b); }
};
struct BSub {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Sub(a, b); }
};
struct BMul {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Mul(a, b); }
};
struct BDiv {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Div(a, b); }
};
struct BMax {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Max(a, b); }
};
struct BMin {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V b) const { return hn::Min(a, b); }
};
struct BPRelu {
  template <class D, class V> HWY_INLINE V operator()(D d, V a, V b) const {
    return hn::IfThenElse(hn::Lt(a, hn::Zero(d)), hn::Mul(a, b), a);
  }
};
// Pow with an exponent that is the same for the whole row and one the models use (x^2 in hand-written norms,
// x^3 in decomposed Gelu, x^0.5): cheap exact-or-1-ulp forms instead of exp(b log a).
struct BPow0 {
  template <class D, class V> HWY_INLINE V operator()(D d, V, V) const { return hn::Set(d, 1.0f); }
};
struct BPow1 {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V) const { return a; }
};
struct BPow2 {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V) const { return hn::Mul(a, a); }
};
struct BPow3 {
  template <class D, class V> HWY_INLINE V operator()(D, V a, V) const { return hn::Mul(hn::Mul(a, a), a); }
};
struct BPowHalf {
  // pow(-0, 0.5) = +0 and pow(-inf, 0.5) = +inf, where sqrt gives -0 and NaN.
  template <class D, class V> HWY_INLINE V operator()(D d, V a, V) const {
    const V inf = hn::Inf(d);
    const V r = hn::Add(hn::Sqrt(a), hn::Zero(d));
    return hn::IfThenElse(hn::Eq(a, hn::Neg(inf)), inf, r);
  }
};
struct BPowM1 {
  template <class D, class V> HWY_INLINE V operator()(D d, V a, V) const { return hn::Div(hn::Set(d, 1.0f), a); }
};

// One row; kAV/kBV: a/b advance along the row (else their first element is used for every column).
// Tails go through zero-padded buffers: every op here is defined on 0. No HWY_RESTRICT: y may be a or b.
template <bool kAV, bool kBV, class Op>
HWY_INLINE void BinaryRow(const float* a, const float* b, float* y, size_t n, const Op& op) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const V as = kAV ? hn::Zero(d) : hn::Set(d, a[0]);
  const V bs = kBV ? hn::Zero(d) : hn::Set(d, b[0]);
  if (!kAV && !kBV) {
    const V r = op(d, as, bs);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(r, d, y + i);
    for (; i < n; ++i) y[i] = hn::GetLane(r);
    return;
  }
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const V a0 = kAV ? hn::LoadU(d, a + i) : as, a1 = kAV ? hn::LoadU(d, a + i + N) : as;
    const V b0 = kBV ? hn::LoadU(d, b + i) : bs, b1 = kBV ? hn::LoadU(d, b + i + N) : bs;
    hn::StoreU(op(d, a0, b0), d, y + i);
    hn::StoreU(op(d, a1, b1), d, y + i + N);
  }
  for (; i + N <= n; i += N) {
    const V a0 = kAV ? hn::LoadU(d, a + i) : as;
    const V b0 = kBV ? hn::LoadU(d, b + i) : bs;
    hn::StoreU(op(d, a0, b0), d, y + i);
  }
  if (i < n) {
    const size_t rest = n - i;
    HWY_ALIGN float ba[HWY_MAX_BYTES / sizeof(float)] = {};
    HWY_ALIGN float bb[HWY_MAX_BYTES / sizeof(float)] = {};
    if (kAV) std::memcpy(ba, a + i, rest * sizeof(float));
    if (kBV) std::memcpy(bb, b + i, rest * sizeof(float));
    const V a0 = kAV ? hn::Load(d, ba) : as;
    const V b0 = kBV ? hn::Load(d, bb) : bs;
    hn::Store(op(d, a0, b0), d, ba);
    std::memcpy(y + i, ba, rest * sizeof(float));
  }
}

template <bool kAV, bool kBV, class Op>
HWY_INLINE void BinaryRows(const BinaryBlock& k, const Op& op) {
  for (size_t r = 0; r < k.rows; ++r) {
    const ptrdiff_t ri = static_cast<ptrdiff_t>(r);
    BinaryRow<kAV, kBV>(k.a + ri * k.a_row, k.b + ri * k.b_row, k.y + ri * k.y_row, k.cols, op);
  }
}

template <class Op>
HWY_INLINE void BinaryBlockOp(const BinaryBlock& k, const Op& op) {
  if (k.a_col && k.b_col) BinaryRows<true, true>(k, op);
  else if (k.a_col) BinaryRows<true, false>(k, op);
  else if (k.b_col) BinaryRows<false, true>(k, op);
  else BinaryRows<false, false>(k, op);
}

inline void PowRow(const float* a, size_t a_col, const float* b, size_t b_col, float* y, size_t n) {
  if (a_col && !b_col) {
    const float e = b[0];
    if (e == 2.0f) return BinaryRow<true, false>(a, b, y, n, BPow2{});
    if (e == 0.5f) return BinaryRow<true, false>(a, b, y, n, BPowHalf{});
    if (e == 3.0f) return BinaryRow<true, false>(a, b, y, n, BPow3{});
    if (e == 1.0f) return BinaryRow<true, false>(a, b, y, n, BPow1{});
    if (e == 0.0f) return BinaryRow<true, false>(a, b, y, n, BPow0{});
    if (e == -1.0f) return BinaryRow<true, false>(a, b, y, n, BPowM1{});
  }
  for (size_t c = 0; c < n; ++c) y[c] = std::pow(a[c * a_col], b[c * b_col]);
}

inline void BinaryImpl(BinaryOp op, const BinaryBlock& k) {
  switch (op) {
    case BinaryOp::kAdd: return BinaryBlockOp(k, BAdd{});
    case BinaryOp::kSub: return BinaryBlockOp(k, BSub{});
    case BinaryOp::kMul: return BinaryBlockOp(k, BMul{});
    case BinaryOp::kDiv: return BinaryBlockOp(k, BDiv{});
    case BinaryOp::kMax: return BinaryBlockOp(k, BMax{});
    case BinaryOp::kMin: return BinaryBlockOp(k, BMin{});
    case BinaryOp::kPRelu: return BinaryBlockOp(k, BPRelu{});
    case BinaryOp::kPow:
      for (size_t r = 0; r < k.rows; ++r) {
        const ptrdiff_t ri = static_cast<ptrdiff_t>(r);
        PowRow(k.a + ri * k.a_row, k.a_col, k.b + ri * k.b_row, k.b_col, k.y + ri * k.y_row, k.cols);
      }
      return;
    case BinaryOp::kCount: break;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
