// Reductions of float32 data along contiguous rows or across rows (columns), Highway SIMD.
#pragma once

#include <cstddef>

namespace qp {

enum class ReduceOp { kSum, kSumSquares, kMax, kMin };

// op over x[0..n). Sums: float lanes within 1024-element blocks, double across them. Empty: 0, -inf (max),
// +inf (min).
double f32_reduce_row(const float* x, size_t n, ReduceOp op);

// y[c] = op over r < rows of x[r * cols + c], for c < cols (reduce a leading axis; vectorised across c, float
// accumulation). rows == 0 gives the empty-set value.
void f32_reduce_cols(const float* x, size_t rows, size_t cols, ReduceOp op, float* y);

// Scalar references (double accumulation); the tests compare against them.
double f32_reduce_row_ref(const float* x, size_t n, ReduceOp op);
void f32_reduce_cols_ref(const float* x, size_t rows, size_t cols, ReduceOp op, float* y);

}  // namespace qp
