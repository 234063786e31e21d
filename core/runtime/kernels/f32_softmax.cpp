// Dispatch of the softmax kernel, and its scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_softmax.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_softmax-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <cmath>

#include "core/runtime/kernels/f32_softmax.h"

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_softmax(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log) {
  HWY_STATIC_DISPATCH(SoftmaxImpl)(x, y, outer, n, inner, log);
}
#else
HWY_EXPORT(SoftmaxImpl);
void f32_softmax(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log) {
  HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, y, outer, n, inner, log);
}
#endif

void f32_softmax_ref(const float* x, float* y, size_t outer, size_t n, size_t inner, bool log) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < inner; ++c) {
      const float* xs = x + o * n * inner + c;
      float* ys = y + o * n * inner + c;
      if (n == 0) continue;
      double mx = xs[0];
      for (size_t r = 1; r < n; ++r) mx = std::max(mx, static_cast<double>(xs[r * inner]));
      double sum = 0;
      for (size_t r = 0; r < n; ++r) sum += std::exp(xs[r * inner] - mx);
      for (size_t r = 0; r < n; ++r) {
        const double t = xs[r * inner] - mx;
        ys[r * inner] = static_cast<float>(log ? t - std::log(sum) : std::exp(t) / sum);
      }
    }
}

}  // namespace qp
#endif  // HWY_ONCE
