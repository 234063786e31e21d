// Dispatch of the reduction kernels, and their scalar references.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_reduce.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_reduce-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <limits>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
double f32_reduce_row(const float* x, size_t n, ReduceOp op) { return HWY_STATIC_DISPATCH(ReduceRowImpl)(x, n, op); }
void f32_reduce_cols(const float* x, size_t rows, size_t cols, ReduceOp op, float* y) {
  HWY_STATIC_DISPATCH(ReduceColsImpl)(x, rows, cols, op, y);
}
#else
HWY_EXPORT(ReduceRowImpl);
HWY_EXPORT(ReduceColsImpl);
double f32_reduce_row(const float* x, size_t n, ReduceOp op) { return HWY_DYNAMIC_DISPATCH(ReduceRowImpl)(x, n, op); }
void f32_reduce_cols(const float* x, size_t rows, size_t cols, ReduceOp op, float* y) {
  HWY_DYNAMIC_DISPATCH(ReduceColsImpl)(x, rows, cols, op, y);
}
#endif

namespace {
double reduce_step(double acc, double v, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return acc + v;
    case ReduceOp::kSumSquares: return acc + v * v;
    case ReduceOp::kMax: return std::max(acc, v);
    default: return std::min(acc, v);
  }
}
double reduce_identity(ReduceOp op) {
  if (op == ReduceOp::kMax) return -std::numeric_limits<double>::infinity();
  if (op == ReduceOp::kMin) return std::numeric_limits<double>::infinity();
  return 0.0;
}
}  // namespace

double f32_reduce_row_ref(const float* x, size_t n, ReduceOp op) {
  double acc = reduce_identity(op);
  for (size_t i = 0; i < n; ++i) acc = reduce_step(acc, x[i], op);
  return acc;
}

void f32_reduce_cols_ref(const float* x, size_t rows, size_t cols, ReduceOp op, float* y) {
  for (size_t c = 0; c < cols; ++c) {
    double acc = reduce_identity(op);
    for (size_t r = 0; r < rows; ++r) acc = reduce_step(acc, x[r * cols + c], op);
    y[c] = static_cast<float>(acc);
  }
}

}  // namespace qp
#endif  // HWY_ONCE
