// Softmax and LogSoftmax over one axis of a float32 tensor viewed as [outer, n, inner] (Highway SIMD).
#pragma once

#include <cstddef>

namespace qp {

// y[o, :, i] = softmax(x[o, :, i]) (or its log when `log`), max-subtracted for stability. inner == 1 is the
// contiguous fast path (rows); inner > 1 vectorises across the inner positions. x and y may alias.
void f32_softmax(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log);

// Scalar reference (double accumulation, std::exp); the tests compare against it.
void f32_softmax_ref(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log);

}  // namespace qp
