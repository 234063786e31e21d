// Elementwise float32 unary kernels (activations, math functions) and their scalar reference.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qp {

enum class UnaryOp : uint8_t {
  kAbs,
  kNeg,
  kCeil,
  kFloor,
  kSqrt,
  kReciprocal,
  kExp,
  kLog,
  kRelu,
  kLeakyRelu,    // a: alpha
  kClip,         // a: min, b: max (min > max gives max, as ONNX says)
  kSigmoid,
  kHardSigmoid,  // max(0, min(1, a * x + b))
  kHardSwish,    // x * max(0, min(1, x / 6 + 1 / 2))
  kTanh,
  kErf,
  kGelu,      // 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh,  // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
  kElu,       // a: alpha
  kSoftplus,  // log(1 + exp(x))
  kCount
};

// Attribute values of the ops that take them (see UnaryOp); ignored by the others.
struct UnaryParams {
  float a = 0, b = 0;
};

// "Sigmoid", ... for messages and test names.
const char* f32_unary_op_name(UnaryOp op);

// y[i] = op(x[i]) for i < n. x == y (in place) is allowed; other overlap is not. Highway SIMD, dynamic dispatch
// natively, WASM SIMD128 in the browser. Accuracy: Abs/Neg/Ceil/Floor/Sqrt/Reciprocal/Relu/LeakyRelu/Clip exact;
// Exp/Log/Sigmoid/Tanh/Elu/Softplus/Erf a few ulp; Gelu within ~1e-6 relative (its negative tail is computed
// from erfc, so it keeps relative accuracy where 1 + erf cancels). NaN in, NaN out for the transcendental ops.
void f32_unary(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p = {});

// Scalar reference of the same ops (transcendentals through double libm); the tests compare against it.
void f32_unary_ref(UnaryOp op, const float* x, float* y, size_t n, UnaryParams p = {});

// Name of the SIMD target the kernels run on here ("AVX2", "WASM_SIMD128", ...).
const char* f32_unary_target();

}  // namespace qp
