// Dispatch of the float32 unary kernels, and their scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_unary.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_unary-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <cmath>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_unary(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p) {
  HWY_STATIC_DISPATCH(UnaryImpl)(op, x, y, n, p);
}
const char* f32_unary_target() { return HWY_STATIC_DISPATCH(UnaryTargetImpl)(); }
#else
HWY_EXPORT(UnaryImpl);
HWY_EXPORT(UnaryTargetImpl);
void f32_unary(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p) {
  HWY_DYNAMIC_DISPATCH(UnaryImpl)(op, x, y, n, p);
}
const char* f32_unary_target() { return HWY_DYNAMIC_DISPATCH(UnaryTargetImpl)(); }
#endif

const char* f32_unary_op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::kAbs: return "Abs";
    case UnaryOp::kNeg: return "Neg";
    case UnaryOp::kCeil: return "Ceil";
    case UnaryOp::kFloor: return "Floor";
    case UnaryOp::kSqrt: return "Sqrt";
    case UnaryOp::kReciprocal: return "Reciprocal";
    case UnaryOp::kExp: return "Exp";
    case UnaryOp::kLog: return "Log";
    case UnaryOp::kRelu: return "Relu";
    case UnaryOp::kLeakyRelu: return "LeakyRelu";
    case UnaryOp::kClip: return "Clip";
    case UnaryOp::kSigmoid: return "Sigmoid";
    case UnaryOp::kHardSigmoid: return "HardSigmoid";
    case UnaryOp::kHardSwish: return "HardSwish";
    case UnaryOp::kTanh: return "Tanh";
    case UnaryOp::kErf: return "Erf";
    case UnaryOp::kGelu: return "Gelu";
    case UnaryOp::kGeluTanh: return "Gelu(tanh)";
    case UnaryOp::kElu: return "Elu";
    case UnaryOp::kSoftplus: return "Softplus";
    case UnaryOp::kCount: break;
  }
  return "?";
}

namespace {
float unary_ref_one(UnaryOp op, float xf, UnaryParams p) {
  const double x = xf;
  switch (op) {
    case UnaryOp::kAbs: return std::fabs(xf);
    case UnaryOp::kNeg: return -xf;
    case UnaryOp::kCeil: return std::ceil(xf);
    case UnaryOp::kFloor: return std::floor(xf);
    case UnaryOp::kSqrt: return std::sqrt(xf);
    case UnaryOp::kReciprocal: return 1.0f / xf;
    case UnaryOp::kExp: return static_cast<float>(std::exp(x));
    case UnaryOp::kLog: return static_cast<float>(std::log(x));
    case UnaryOp::kRelu: return xf > 0 ? xf : 0.0f;
    case UnaryOp::kLeakyRelu: return xf < 0 ? xf * p.a : xf;
    case UnaryOp::kClip: return std::min(std::max(xf, p.a), p.b);
    case UnaryOp::kSigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    case UnaryOp::kHardSigmoid: return std::min(std::max(p.a * xf + p.b, 0.0f), 1.0f);
    case UnaryOp::kHardSwish: return xf * std::min(std::max(xf / 6.0f + 0.5f, 0.0f), 1.0f);
    case UnaryOp::kTanh: return static_cast<float>(std::tanh(x));
    case UnaryOp::kErf: return static_cast<float>(std::erf(x));
    case UnaryOp::kGelu: return static_cast<float>(0.5 * x * std::erfc(-x * 0.70710678118654752440));
    case UnaryOp::kGeluTanh:
      return static_cast<float>(0.5 * x * (1.0 + std::tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x))));
    case UnaryOp::kElu: return xf > 0 ? xf : static_cast<float>(p.a * std::expm1(x));
    case UnaryOp::kSoftplus:
      return static_cast<float>(x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)));
    case UnaryOp::kCount: break;
  }
  return xf;
}
}  // namespace

void f32_unary_ref(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p) {
  for (size_t i = 0; i < n; ++i) y[i] = unary_ref_one(op, x[i], p);
}

}  // namespace qp
#endif  // HWY_ONCE
