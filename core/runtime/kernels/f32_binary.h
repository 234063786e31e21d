// Elementwise float32 binary kernels over one broadcast 2-D block, and their scalar reference.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qp {

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMax,
  kMin,
  kPow,    // std::pow; vectorised when the exponent is constant along a row and one of 0, 1, 2, 3, 0.5, -1
  kPRelu,  // a < 0 ? a * b : a  (a: x, b: slope)
  kCount
};

// One block of a broadcast: y[r * y_row + c] = a[r * a_row + c * a_col] op b[r * b_row + c * b_col] for
// r < rows, c < cols. a_col and b_col are 1 (a vector along the row) or 0 (one value per row); row strides are
// any element strides (0: the same row again). This covers same-shape, scalar, per-channel ([N,C,H,W] op
// [1,C,1,1]: rows = C, b_row = 1, b_col = 0) and row ([M,N] op [N]: b_row = 0, b_col = 1) broadcasts in one call.
struct BinaryBlock {
  size_t rows = 1, cols = 0;
  const float* a = nullptr;
  ptrdiff_t a_row = 0;
  size_t a_col = 1;
  const float* b = nullptr;
  ptrdiff_t b_row = 0;
  size_t b_col = 1;
  float* y = nullptr;
  ptrdiff_t y_row = 0;
};

// "Add", ... for messages and test names.
const char* f32_binary_op_name(BinaryOp op);

// Runs one block. y may be a or b exactly (same pointer, same strides, col step 1: in-place accumulation);
// other overlap is not allowed. Highway SIMD, dynamic dispatch natively, WASM SIMD128 in the browser.
// Add/Sub/Mul/Div/PRelu are exact (IEEE single ops); Max/Min leave NaN handling to the target.
void f32_binary(BinaryOp op, const BinaryBlock& blk);

// Scalar reference (IEEE single ops, std::pow, std::max/std::min); the tests compare against it.
void f32_binary_ref(BinaryOp op, const BinaryBlock& blk);

}  // namespace qp
