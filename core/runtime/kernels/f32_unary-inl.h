// SIMD body of the float32 unary kernels (compiled once per Highway target).
#if defined(QP_RUNTIME_KERNELS_F32_UNARY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_UNARY_INL_H_
#undef QP_RUNTIME_KERNELS_F32_UNARY_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_UNARY_INL_H_
#endif

#include <cstring>

#include "core/runtime/kernels/f32_unary.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// --- math building blocks ----------------------------------------------------------------------------------------

// Highway's Exp leaves overflow and NaN to the caller: past ln(FLT_MAX) its exponent reconstruction wraps, and
// NaN compares false against its lower bound and comes out as 0.
template <class D, class V>
HWY_INLINE V ExpF(D d, V x) {
  const V y = hn::Exp(d, x);
  const V r = hn::IfThenElse(hn::Gt(x, hn::Set(d, 88.72283172607421875f)), hn::Inf(d), y);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

// Highway's Log is only defined on positive finite numbers.
template <class D, class V>
HWY_INLINE V LogF(D d, V x) {
  const V zero = hn::Zero(d), inf = hn::Inf(d);
  V y = hn::Log(d, x);
  y = hn::IfThenElse(hn::Eq(x, zero), hn::Neg(inf), y);
  y = hn::IfThenElse(hn::Eq(x, inf), inf, y);
  y = hn::IfThenElse(hn::Lt(x, zero), hn::NaN(d), y);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// erf(z) for |z| <= kErfSplit as z * P(z^2): least-squares fit of erf(z)/z on Chebyshev nodes, ~3 ulp in float32.
constexpr float kErfSplit = 0.875f;
template <class D, class V>
HWY_INLINE V ErfSmall(D d, V z) {
  const V u = hn::Mul(z, z);
  V p = hn::Set(d, -6.254293257370591e-4f);
  p = hn::MulAdd(p, u, hn::Set(d, 5.042351316660643e-3f));
  p = hn::MulAdd(p, u, hn::Set(d, -2.679867297410965e-2f));
  p = hn::MulAdd(p, u, hn::Set(d, 1.1282670497894287e-1f));
  p = hn::MulAdd(p, u, hn::Set(d, -3.761257529258728e-1f));
  p = hn::MulAdd(p, u, hn::Set(d, 1.1283791065216064f));
  return hn::Mul(z, p);
}

// erfc(z) for z >= 0 as t * exp(-z^2 + Q(t)), t = 1 / (1 + z / 2): Q is a degree-7 fit of
// log(erfc(z) / t) + z^2 over z in [0.875, 9.1], so erfc keeps ~1e-5 *relative* accuracy down to underflow
// (what Gelu's negative tail needs) and 1 - erfc gives erf within ~2 ulp for z >= 0.875.
// z2 = z * z, passed in because Gelu has a better-rounded one.
template <class D, class V>
HWY_INLINE V ErfcBig(D d, V z, V z2) {
  const V one = hn::Set(d, 1.0f);
  const V t = hn::Div(one, hn::MulAdd(z, hn::Set(d, 0.5f), one));
  V q = hn::Set(d, -1.6894911229610443e-1f);
  q = hn::MulAdd(q, t, hn::Set(d, 7.206452488899231e-1f));
  q = hn::MulAdd(q, t, hn::Set(d, -1.0002985000610352f));
  q = hn::MulAdd(q, t, hn::Set(d, 3.783853054046631e-1f));
  q = hn::MulAdd(q, t, hn::Set(d, -6.307633221149445e-2f));
  q = hn::MulAdd(q, t, hn::Set(d, 4.0206843614578247e-1f));
  q = hn::MulAdd(q, t, hn::Set(d, 9.97282862663269e-1f));
  q = hn::MulAdd(q, t, hn::Set(d, -1.2653980255126953f));
  // Highway's Exp gives 0 below -104, which covers z = inf (t = 0, -z^2 = -inf).
  return hn::Mul(t, hn::Exp(d, hn::Sub(q, z2)));
}

template <class D, class V>
HWY_INLINE V ErfF(D d, V x) {
  const V z = hn::Abs(x);
  const auto small = hn::Le(z, hn::Set(d, kErfSplit));
  V r;
  // Most blocks of real activations are all-small or all-large: skip the half that is not needed.
  if (hn::AllTrue(d, small)) {
    r = ErfSmall(d, z);
  } else if (hn::AllFalse(d, small)) {
    r = hn::Sub(hn::Set(d, 1.0f), ErfcBig(d, z, hn::Mul(z, z)));
  } else {
    r = hn::IfThenElse(small, ErfSmall(d, z), hn::Sub(hn::Set(d, 1.0f), ErfcBig(d, z, hn::Mul(z, z))));
  }
  r = hn::CopySign(r, x);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

// 0.5 x (1 + erf(x / sqrt 2)); for x < 0 the bracket is erfc(|x| / sqrt 2), computed directly so the negative
// tail does not cancel.
template <class D, class V>
HWY_INLINE V GeluF(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V z = hn::Mul(hn::Abs(x), hn::Set(d, 0.70710678118654752f));
  const auto small = hn::Le(z, hn::Set(d, kErfSplit));
  const auto neg = hn::Lt(x, hn::Zero(d));
  V bracket;
  if (hn::AllTrue(d, small)) {
    const V e = ErfSmall(d, z);
    bracket = hn::IfThenElse(neg, hn::Sub(one, e), hn::Add(one, e));
  } else {
    // z^2 = x^2 / 2 rounds once; (x / sqrt 2)^2 rounds twice, and the exp argument is where the error shows.
    const V c = ErfcBig(d, z, hn::Mul(hn::Mul(x, x), hn::Set(d, 0.5f)));
    const V big = hn::IfThenElse(neg, c, hn::Sub(hn::Set(d, 2.0f), c));
    if (hn::AllFalse(d, small)) {
      bracket = big;
    } else {
      const V e = ErfSmall(d, z);
      bracket = hn::IfThenElse(small, hn::IfThenElse(neg, hn::Sub(one, e), hn::Add(one, e)), big);
    }
  }
  const V r = hn::Mul(hn::Mul(hn::Set(d, 0.5f), x), bracket);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

// 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): no cancellation for x < 0 and one exp instead of tanh's expm1 + div.
template <class D, class V>
HWY_INLINE V GeluTanhF(D d, V x) {
  const V x2 = hn::Mul(x, x);
  // -2 u = x * (-2 sqrt(2 / pi)) * (1 + 0.044715 x^2)
  const V inner = hn::MulAdd(x2, hn::Set(d, 0.044715f), hn::Set(d, 1.0f));
  const V m2u = hn::Mul(hn::Mul(x, hn::Set(d, -1.5957691216057308f)), inner);
  return hn::Div(x, hn::Add(hn::Set(d, 1.0f), ExpF(d, m2u)));
}

// --- one functor per op ------------------------------------------------------------------------------------------

struct UAbs {
  template <class D, class V> HWY_INLINE V operator()(D, V x) const { return hn::Abs(x); }
};
struct UNeg {
  template <class D, class V> HWY_INLINE V operator()(D, V x) const { return hn::Neg(x); }
};
struct UCeil {
  template <class D, class V> HWY_INLINE V operator()(D, V x) const { return hn::Ceil(x); }
};
struct UFloor {
  template <class D, class V> HWY_INLINE V operator()(D, V x) const { return hn::Floor(x); }
};
struct USqrt {
  template <class D, class V> HWY_INLINE V operator()(D, V x) const { return hn::Sqrt(x); }
};
struct UReciprocal {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return hn::Div(hn::Set(d, 1.0f), x); }
};
struct UExp {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return ExpF(d, x); }
};
struct ULog {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return LogF(d, x); }
};
struct URelu {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return hn::Max(x, hn::Zero(d)); }
};
struct ULeakyRelu {
  float alpha;
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(x, hn::Set(d, alpha)), x);
  }
};
struct UClip {
  float lo, hi;
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    return hn::Min(hn::Max(x, hn::Set(d, lo)), hn::Set(d, hi));
  }
};
struct USigmoid {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    const V one = hn::Set(d, 1.0f);
    return hn::Div(one, hn::Add(one, ExpF(d, hn::Neg(x))));
  }
};
struct UHardSigmoid {
  float alpha, beta;
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    const V t = hn::Add(hn::Mul(x, hn::Set(d, alpha)), hn::Set(d, beta));
    return hn::Min(hn::Max(t, hn::Zero(d)), hn::Set(d, 1.0f));
  }
};
struct UHardSwish {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    const V t = hn::Add(hn::Mul(x, hn::Set(d, 1.0f / 6.0f)), hn::Set(d, 0.5f));
    return hn::Mul(x, hn::Min(hn::Max(t, hn::Zero(d)), hn::Set(d, 1.0f)));
  }
};
struct UTanh {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    return hn::IfThenElse(hn::IsNaN(x), x, hn::Tanh(d, x));
  }
};
struct UErf {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return ErfF(d, x); }
};
struct UGelu {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return GeluF(d, x); }
};
struct UGeluTanh {
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const { return GeluTanhF(d, x); }
};
struct UElu {
  float alpha;
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    const V neg = hn::Mul(hn::Set(d, alpha), hn::Expm1(d, x));
    const V r = hn::IfThenElse(hn::Gt(x, hn::Zero(d)), x, neg);
    return hn::IfThenElse(hn::IsNaN(x), x, r);
  }
};
struct USoftplus {
  // max(x, 0) + log1p(exp(-|x|)): exp never overflows and large x returns x itself.
  template <class D, class V> HWY_INLINE V operator()(D d, V x) const {
    const V r = hn::Add(hn::Max(x, hn::Zero(d)), hn::Log1p(d, hn::Exp(d, hn::Neg(hn::Abs(x)))));
    return hn::IfThenElse(hn::IsNaN(x), x, r);
  }
};

// Two vectors per iteration, then one, then the tail through a zero-padded buffer (zeros are in every op's
// domain, so no lane computes on garbage).
template <class Op>
HWY_INLINE void UnaryLoop(const float* x, float* y, size_t n, const Op& op) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
    hn::StoreU(op(d, v0), d, y + i);
    hn::StoreU(op(d, v1), d, y + i + N);
  }
  for (; i + N <= n; i += N) hn::StoreU(op(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    hn::Store(op(d, hn::Load(d, buf)), d, buf);
    std::memcpy(y + i, buf, (n - i) * sizeof(float));
  }
}

inline void UnaryImpl(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p) {
  switch (op) {
    case UnaryOp::kAbs: return UnaryLoop(x, y, n, UAbs{});
    case UnaryOp::kNeg: return UnaryLoop(x, y, n, UNeg{});
    case UnaryOp::kCeil: return UnaryLoop(x, y, n, UCeil{});
    case UnaryOp::kFloor: return UnaryLoop(x, y, n, UFloor{});
    case UnaryOp::kSqrt: return UnaryLoop(x, y, n, USqrt{});
    case UnaryOp::kReciprocal: return UnaryLoop(x, y, n, UReciprocal{});
    case UnaryOp::kExp: return UnaryLoop(x, y, n, UExp{});
    case UnaryOp::kLog: return UnaryLoop(x, y, n, ULog{});
    case UnaryOp::kRelu: return UnaryLoop(x, y, n, URelu{});
    case UnaryOp::kLeakyRelu: return UnaryLoop(x, y, n, ULeakyRelu{p.a});
    case UnaryOp::kClip: return UnaryLoop(x, y, n, UClip{p.a, p.b});
    case UnaryOp::kSigmoid: return UnaryLoop(x, y, n, USigmoid{});
    case UnaryOp::kHardSigmoid: return UnaryLoop(x, y, n, UHardSigmoid{p.a, p.b});
    case UnaryOp::kHardSwish: return UnaryLoop(x, y, n, UHardSwish{});
    case UnaryOp::kTanh: return UnaryLoop(x, y, n, UTanh{});
    case UnaryOp::kErf: return UnaryLoop(x, y, n, UErf{});
    case UnaryOp::kGelu: return UnaryLoop(x, y, n, UGelu{});
    case UnaryOp::kGeluTanh: return UnaryLoop(x, y, n, UGeluTanh{});
    case UnaryOp::kElu: return UnaryLoop(x, y, n, UElu{p.a});
    case UnaryOp::kSoftplus: return UnaryLoop(x, y, n, USoftplus{});
    case UnaryOp::kCount: break;
  }
}

inline const char* UnaryTargetImpl() {
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
