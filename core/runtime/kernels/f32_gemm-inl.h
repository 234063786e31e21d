// SIMD body of the packed float32 GEMM: B packing, the MR x 2-vector micro-kernel with its fused store, the driver.
#if defined(QP_RUNTIME_KERNELS_F32_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QP_RUNTIME_KERNELS_F32_GEMM_INL_H_
#undef QP_RUNTIME_KERNELS_F32_GEMM_INL_H_
#else
#define QP_RUNTIME_KERNELS_F32_GEMM_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/runtime/kernels/f32_gemm.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace qp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rows per micro-tile: as many accumulator pairs as fit beside two B vectors and one broadcast A value.
// AVX-512 has 32 registers (8 x 2 accumulators leaves room for the loads); AVX2/SSE have 16 (6 x 2 + 3 = 15).
// On wasm, V8 keeps scratch registers of its 16 xmm and spills a 6 x 2 tile: 4 x 2 measured fastest (5 x 2 ties).
// QP_TUNE_MR/KC/NCV: compile-time overrides for tuning runs of bench/kernels_bench only.
#if defined(QP_TUNE_MR)
constexpr size_t kGemmMR = QP_TUNE_MR;
#elif HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr size_t kGemmMR = 8;
#elif HWY_TARGET == HWY_WASM
constexpr size_t kGemmMR = 4;
#else
constexpr size_t kGemmMR = 6;
#endif
// K block: one kc x nr B panel (8 KiB on wasm, 32 KiB with AVX-512) stays in L1 while the A panels stream.
#ifdef QP_TUNE_KC
constexpr size_t kGemmKC = QP_TUNE_KC;
#else
constexpr size_t kGemmKC = 256;
#endif
// N block: a packed kc x nc block of B (256-384 KiB) stays in L2 while every A panel sweeps it.
#ifdef QP_TUNE_NCV
constexpr size_t kGemmNCVectors = QP_TUNE_NCV;
#else
constexpr size_t kGemmNCVectors = 96;
#endif

inline F32GemmTile GemmTileImpl() {
  const hn::ScalableTag<float> d;
  const size_t n_lanes = hn::Lanes(d);
  const size_t nr = 2 * n_lanes;
  size_t nc = kGemmNCVectors * n_lanes;
  if (nc > 384) nc = 384;  // wide vectors: keep the block in L2 (nc stays a multiple of nr)
  nc = nc / nr * nr;
  return F32GemmTile{kGemmMR, nr, kGemmKC, nc};
}

inline const char* GemmTargetImpl() { return hwy::TargetName(HWY_TARGET); }

inline void GemmPackBImpl(const float* HWY_RESTRICT b, size_t rs, size_t cs, size_t k0, size_t kc, size_t n0,
                          size_t nc, float* HWY_RESTRICT dst, size_t dst_pstride) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t nr = 2 * N;
  const size_t np = (nc + nr - 1) / nr;
  if (dst_pstride == 0) dst_pstride = kc * nr;
  for (size_t p = 0; p < np; ++p) {
    float* HWY_RESTRICT out = dst + p * dst_pstride;
    const size_t c0 = n0 + p * nr;
    const size_t w = std::min(nr, nc - p * nr);
    if (cs == 1 && w == nr) {
      const float* src = b + k0 * rs + c0;
      for (size_t kk = 0; kk < kc; ++kk, src += rs, out += nr) {
        hn::StoreU(hn::LoadU(d, src), d, out);
        hn::StoreU(hn::LoadU(d, src + N), d, out + N);
      }
    } else {
      for (size_t kk = 0; kk < kc; ++kk, out += nr) {
        const float* src = b + (k0 + kk) * rs + c0 * cs;
        size_t j = 0;
        for (; j < w; ++j) out[j] = src[j * cs];
        for (; j < nr; ++j) out[j] = 0.0f;
      }
    }
  }
}

template <class D, class V = hn::Vec<D>>
HWY_INLINE V GemmAct(D d, V v, const F32GemmEpilogue& e) {
  switch (e.act) {
    case Act::kNone: return v;
    case Act::kRelu: return hn::Max(v, hn::Zero(d));
    case Act::kClip: return hn::Min(hn::Max(v, hn::Set(d, e.act_a)), hn::Set(d, e.act_b));
    case Act::kLeakyRelu: {
      const V neg = hn::Mul(v, hn::Set(d, e.act_a));
      return hn::IfThenElse(hn::Lt(v, hn::Zero(d)), neg, v);
    }
  }
  return v;
}

// One finished row of a tile (two vectors, `w` valid columns) through the epilogue into C. `first`: the first
// K block (C holds the caller's initial value or nothing); `last`: the last K block (activation).
template <class D, class V = hn::Vec<D>>
HWY_INLINE void GemmStoreRow(D d, V v0, V v1, float* HWY_RESTRICT c, size_t w, size_t row, size_t col, bool first,
                             bool last, const F32GemmEpilogue& e) {
  const size_t N = hn::Lanes(d);
  if (e.alpha != 1.0f) {
    const V al = hn::Set(d, e.alpha);
    v0 = hn::Mul(v0, al);
    v1 = hn::Mul(v1, al);
  }
  if (HWY_LIKELY(w == 2 * N)) {
    if (!first || e.accumulate) {
      v0 = hn::Add(v0, hn::LoadU(d, c));
      v1 = hn::Add(v1, hn::LoadU(d, c + N));
    }
    if (first) {
      if (e.bias_m) {
        const V bm = hn::Set(d, e.bias_m[row]);
        v0 = hn::Add(v0, bm);
        v1 = hn::Add(v1, bm);
      }
      if (e.bias_n) {
        v0 = hn::Add(v0, hn::LoadU(d, e.bias_n + col));
        v1 = hn::Add(v1, hn::LoadU(d, e.bias_n + col + N));
      }
    }
    if (last) {
      v0 = GemmAct(d, v0, e);
      v1 = GemmAct(d, v1, e);
    }
    hn::StoreU(v0, d, c);
    hn::StoreU(v1, d, c + N);
    return;
  }
  // Column tail: through a stack row so nothing past column `w` is read or written.
  HWY_ALIGN float buf[2 * HWY_MAX_BYTES / sizeof(float)] = {};
  if (!first || e.accumulate) {
    std::memcpy(buf, c, w * sizeof(float));
    v0 = hn::Add(v0, hn::Load(d, buf));
    v1 = hn::Add(v1, hn::Load(d, buf + N));
  }
  if (first) {
    if (e.bias_m) {
      const V bm = hn::Set(d, e.bias_m[row]);
      v0 = hn::Add(v0, bm);
      v1 = hn::Add(v1, bm);
    }
    if (e.bias_n) {
      std::memcpy(buf, e.bias_n + col, w * sizeof(float));
      v0 = hn::Add(v0, hn::Load(d, buf));
      v1 = hn::Add(v1, hn::Load(d, buf + N));
    }
  }
  if (last) {
    v0 = GemmAct(d, v0, e);
    v1 = GemmAct(d, v1, e);
  }
  hn::Store(v0, d, buf);
  hn::Store(v1, d, buf + N);
  std::memcpy(c, buf, w * sizeof(float));
}

// kMR rows x 2 vectors of C from an A panel (k-major, kGemmMR floats per k: rows past kMR unused) and a B panel
// (k-major, 2 vectors per k). Each k: two B loads, kMR broadcasts, 2·kMR multiply-adds, all in registers.
template <size_t kMR>
HWY_NOINLINE void GemmTile(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t kc,
                           float* HWY_RESTRICT c, size_t ldc, size_t w, size_t row, size_t col, bool first, bool last,
                           const F32GemmEpilogue& e) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  V acc0[kMR], acc1[kMR];
  for (size_t r = 0; r < kMR; ++r) {
    acc0[r] = hn::Zero(d);
    acc1[r] = hn::Zero(d);
  }
  for (size_t k = 0; k < kc; ++k) {
    const V b0 = hn::LoadU(d, b);
    const V b1 = hn::LoadU(d, b + N);
    for (size_t r = 0; r < kMR; ++r) {
      const V ar = hn::Set(d, a[r]);
      acc0[r] = hn::MulAdd(ar, b0, acc0[r]);
      acc1[r] = hn::MulAdd(ar, b1, acc1[r]);
    }
    a += kGemmMR;
    b += 2 * N;
  }
  for (size_t r = 0; r < kMR; ++r)
    GemmStoreRow(d, acc0[r], acc1[r], c + r * ldc, w, row + r, col, first, last, e);
}

template <size_t kMR>
HWY_INLINE void GemmRowPanel(const float* HWY_RESTRICT a, const float* HWY_RESTRICT bblk, size_t pstride,
                             size_t np, size_t kc, size_t nc, float* HWY_RESTRICT c, size_t ldc, size_t row,
                             size_t col0, bool first, bool last, const F32GemmEpilogue& e, size_t nr) {
  for (size_t p = 0; p < np; ++p) {
    const size_t w = std::min(nr, nc - p * nr);
    GemmTile<kMR>(a, bblk + p * pstride, kc, c + p * nr, ldc, w, row, col0 + p * nr, first, last, e);
  }
}

inline void GemmPackedImpl(size_t m, size_t n, size_t k, const F32PackedA& a, const F32GemmB& b,
                           float* HWY_RESTRICT c, size_t ldc, const F32GemmEpilogue& e) {
  static_assert(kGemmMR <= 12, "GemmPackedImpl's dispatch covers up to 12 rows");
  if (m == 0 || n == 0) return;
  const F32GemmTile t = GemmTileImpl();
  const size_t nr = t.nr;
  // Thread-local so repeated calls do not reallocate; holds one packed kc x nc block of B.
  thread_local std::vector<float> scratch;
  if (!b.packed) scratch.resize(t.kc * t.nc);
  const size_t kblocks = k == 0 ? 1 : (k + t.kc - 1) / t.kc;
  for (size_t n0 = 0; n0 < n; n0 += t.nc) {
    const size_t nc = std::min(t.nc, n - n0);
    const size_t np = (nc + nr - 1) / nr;
    for (size_t kb = 0; kb < kblocks; ++kb) {
      const size_t k0 = kb * t.kc;
      const size_t kc = std::min(t.kc, k - k0);
      const bool first = kb == 0, last = kb + 1 == kblocks;
      const float* bblk;
      size_t pstride;
      if (b.packed) {
        bblk = b.packed->data.data() + (n0 / nr) * k * nr + k0 * nr;
        pstride = k * nr;
      } else {
        if (kc) b.pack(k0, kc, n0, nc, scratch.data());
        bblk = scratch.data();
        pstride = kc * nr;
      }
      for (size_t m0 = 0; m0 < m; m0 += kGemmMR) {
        const size_t mr = std::min(kGemmMR, m - m0);
        const float* ap = a.panel(m0, k0);
        float* cp = c + m0 * ldc + n0;
        switch (mr) {
#define QP_GEMM_CASE(R)                                                                                   \
  case R:                                                                                                 \
    if constexpr (R <= kGemmMR) GemmRowPanel<R>(ap, bblk, pstride, np, kc, nc, cp, ldc, m0, n0, first, last, e, nr); \
    break;
          QP_GEMM_CASE(1) QP_GEMM_CASE(2) QP_GEMM_CASE(3) QP_GEMM_CASE(4) QP_GEMM_CASE(5) QP_GEMM_CASE(6)
          QP_GEMM_CASE(7) QP_GEMM_CASE(8) QP_GEMM_CASE(9) QP_GEMM_CASE(10) QP_GEMM_CASE(11) QP_GEMM_CASE(12)
#undef QP_GEMM_CASE
          default: break;
        }
      }
    }
  }
}

// Bias per row and activation over a finished matrix (ConvTranspose after its scatter).
inline void BiasActRowsImpl(float* HWY_RESTRICT c, size_t rows, size_t n_cols, size_t ld, const float* bias_row,
                            Act act, float a, float b) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  F32GemmEpilogue e;
  e.act = act;
  e.act_a = a;
  e.act_b = b;
  for (size_t r = 0; r < rows; ++r) {
    float* row = c + r * ld;
    const float bv = bias_row ? bias_row[r] : 0.0f;
    const auto vb = hn::Set(d, bv);
    size_t j = 0;
    for (; j + N <= n_cols; j += N) hn::StoreU(GemmAct(d, hn::Add(hn::LoadU(d, row + j), vb), e), d, row + j);
    for (; j < n_cols; ++j) row[j] = f32_act(row[j] + bv, act, a, b);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qp
HWY_AFTER_NAMESPACE();

#endif  // include guard
