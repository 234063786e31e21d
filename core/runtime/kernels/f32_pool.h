// Pooling along one output row: reduce a set of input rows, then slide a 1-D window (Highway SIMD).
#pragma once

#include <cstddef>

namespace qp {

// Geometry of the window along the last (contiguous) spatial dim.
struct PoolRow {
  size_t in_w = 0;   // input row length
  size_t out_w = 0;  // outputs in the row
  size_t kernel = 1, stride = 1, dilation = 1;
  size_t pad = 0;    // padding before the row (taps at ow*stride - pad + k*dilation)
};

// Floats of scratch the row kernels need for `g`.
size_t f32_pool_scratch(const PoolRow& g);

// y[ow] = max over the `nrows` input rows and the taps of window ow that lie inside [0, in_w); -inf when no
// tap does. N-D pooling calls it once per output row with the input rows its window covers.
void f32_maxpool_row(const float* const* rows, size_t nrows, const PoolRow& g, float* scratch, float* y);
// y[ow] = (sum over the rows and in-range taps of window ow) * scale[ow]; the caller folds the divisor
// (count_include_pad or not) into scale.
void f32_avgpool_row(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* scratch,
                     float* y);

// Scalar references (direct loops over the window); the tests compare against them.
void f32_maxpool_row_ref(const float* const* rows, size_t nrows, const PoolRow& g, float* y);
void f32_avgpool_row_ref(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* y);

}  // namespace qp
