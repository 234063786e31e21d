// Dispatch of the float32 binary kernels, and their scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_binary.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_binary-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <cmath>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_binary(BinaryOp op, const BinaryBlock& blk) { HWY_STATIC_DISPATCH(BinaryImpl)(op, blk); }
#else
HWY_EXPORT(BinaryImpl);
void f32_binary(BinaryOp op, const BinaryBlock& blk) { HWY_DYNAMIC_DISPATCH(BinaryImpl)(op, blk); }
#endif

const char* f32_binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "Add";
    case BinaryOp::kSub: return "Sub";
    case BinaryOp::kMul: return "Mul";
    case BinaryOp::kDiv: return "Div";
    case BinaryOp::kMax: return "Max";
    case BinaryOp::kMin: return "Min";
    case BinaryOp::kPow: return "Pow";
    case BinaryOp::kPRelu: return "PRelu";
    case BinaryOp::kCount: break;
  }
  return "?";
}

namespace {
float binary_ref_one(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return a / b;
    case BinaryOp::kMax: return std::max(a, b);
    case BinaryOp::kMin: return std::min(a, b);
    case BinaryOp::kPow: return std::pow(a, b);
    case BinaryOp::kPRelu: return a < 0 ? a * b : a;
    case BinaryOp::kCount: break;
  }
  return a;
}
}  // namespace

void f32_binary_ref(BinaryOp op, const BinaryBlock& k) {
  for (size_t r = 0; r < k.rows; ++r) {
    const ptrdiff_t ri = static_cast<ptrdiff_t>(r);
    const float* a = k.a + ri * k.a_row;
    const float* b = k.b + ri * k.b_row;
    float* y = k.y + ri * k.y_row;
    for (size_t c = 0; c < k.cols; ++c) y[c] = binary_ref_one(op, a[c * k.a_col], b[c * k.b_col]);
  }
}

}  // namespace qp
#endif  // HWY_ONCE
