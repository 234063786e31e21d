// Dispatch of the pooling row kernels, and their scalar references.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_pool.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_pool-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <limits>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_maxpool_row(const float* const* rows, size_t nrows, const PoolRow& g, float* scratch, float* y) {
  HWY_STATIC_DISPATCH(MaxPoolRowImpl)(rows, nrows, g, scratch, y);
}
void f32_avgpool_row(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* scratch,
                     float* y) {
  HWY_STATIC_DISPATCH(AvgPoolRowImpl)(rows, nrows, g, scale, scratch, y);
}
#else
HWY_EXPORT(MaxPoolRowImpl);
HWY_EXPORT(AvgPoolRowImpl);
void f32_maxpool_row(const float* const* rows, size_t nrows, const PoolRow& g, float* scratch, float* y) {
  HWY_DYNAMIC_DISPATCH(MaxPoolRowImpl)(rows, nrows, g, scratch, y);
}
void f32_avgpool_row(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* scratch,
                     float* y) {
  HWY_DYNAMIC_DISPATCH(AvgPoolRowImpl)(rows, nrows, g, scale, scratch, y);
}
#endif

// One past the last tap plus one more float: the stride-2 path loads pairs.
size_t f32_pool_scratch(const PoolRow& g) {
  return g.out_w == 0 ? 0 : (g.out_w - 1) * g.stride + (g.kernel - 1) * g.dilation + 2;
}

namespace {
template <bool kMax>
void pool_row_ref(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* y) {
  for (size_t ow = 0; ow < g.out_w; ++ow) {
    double acc = kMax ? -std::numeric_limits<double>::infinity() : 0.0;
    for (size_t k = 0; k < g.kernel; ++k) {
      const long long w = static_cast<long long>(ow * g.stride + k * g.dilation) - static_cast<long long>(g.pad);
      if (w < 0 || w >= static_cast<long long>(g.in_w)) continue;
      for (size_t r = 0; r < nrows; ++r) acc = kMax ? std::max(acc, static_cast<double>(rows[r][w])) : acc + rows[r][w];
    }
    y[ow] = static_cast<float>(kMax ? acc : acc * scale[ow]);
  }
}
}  // namespace

void f32_maxpool_row_ref(const float* const* rows, size_t nrows, const PoolRow& g, float* y) {
  pool_row_ref<true>(rows, nrows, g, nullptr, y);
}
void f32_avgpool_row_ref(const float* const* rows, size_t nrows, const PoolRow& g, const float* scale, float* y) {
  pool_row_ref<false>(rows, nrows, g, scale, y);
}

}  // namespace qp
#endif  // HWY_ONCE
