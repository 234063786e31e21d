// Packed, register-blocked float32 GEMM (C = act(alpha·A·B + init + bias)) with its packing routines and scalar reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/runtime/op_context.h"  // Act, Epilogue

namespace qp {

// Blocking of the SIMD target this process runs on: micro-tiles of mr rows x nr columns (nr = two vectors),
// K in blocks of kc (one B panel stays in L1), N in blocks of nc columns (a packed B block stays in L2).
struct F32GemmTile {
  size_t mr, nr, kc, nc;
};
F32GemmTile f32_gemm_tile();
// "AVX3", "AVX2", "WASM", ...
const char* f32_gemm_target();

// A (M x K) as the micro-kernel reads it: ceil(M/mr) panels of K x mr (k-major, missing rows zero).
// Element (i, k) of the source is a[i * rs + k * ks], so transposed operands pack without a copy.
struct F32PackedA {
  size_t m = 0, k = 0, mr = 0;
  std::vector<float> data;
  const float* panel(size_t m0, size_t k0) const { return data.data() + (m0 / mr) * k * mr + k0 * mr; }
};
void f32_gemm_pack_a(const float* a, size_t m, size_t k, size_t rs, size_t ks, F32PackedA& out);

// Rows [k0, k0+kc) and columns [n0, n0+nc) of B (element (k, n) at b[k * rs + n * cs]) as ceil(nc/nr) panels of
// kc x nr, panel p at dst + p * dst_pstride (0: kc * nr), columns past nc zero. With k0 = 0, kc = K, n0 = 0,
// nc = N this is the whole-B layout F32PackedB holds; a larger dst_pstride packs a few rows into a taller block.
void f32_gemm_pack_b(const float* b, size_t rs, size_t cs, size_t k0, size_t kc, size_t n0, size_t nc, float* dst,
                     size_t dst_pstride = 0);

// B (K x N) packed once (constant weights): ceil(N/nr) panels of K x nr.
struct F32PackedB {
  size_t k = 0, n = 0, nr = 0;
  std::vector<float> data;
};
void f32_gemm_pack_b_full(const float* b, size_t k, size_t n, size_t rs, size_t cs, F32PackedB& out);

// Where the driver gets B from: a whole packed B, or a function that packs one block on demand (im2col, a
// non-constant input) with the f32_gemm_pack_b layout.
using F32PackBlockFn = std::function<void(size_t k0, size_t kc, size_t n0, size_t nc, float* dst)>;
struct F32GemmB {
  const F32PackedB* packed = nullptr;
  F32PackBlockFn pack;
};

// What the store does with a finished tile (in this order): v = alpha * acc; + C's previous value when
// `accumulate` (the caller pre-filled C, e.g. with beta * C); + bias_m[row] and/or bias_n[col]; then the
// activation. Applied inside the micro-kernel's store, never as another pass over C.
struct F32GemmEpilogue {
  float alpha = 1.0f;
  bool accumulate = false;
  const float* bias_m = nullptr;  // one per row of C
  const float* bias_n = nullptr;  // one per column of C
  Act act = Act::kNone;
  float act_a = 0, act_b = 0;     // kClip: min, max; kLeakyRelu: alpha
};
F32GemmEpilogue f32_gemm_epilogue(const Epilogue& e);

// C (M x N, row stride ldc) = epilogue(A · B) with A packed by f32_gemm_pack_a (same process: same tile).
void f32_gemm_packed(size_t m, size_t n, size_t k, const F32PackedA& a, const F32GemmB& b, float* c, size_t ldc,
                     const F32GemmEpilogue& ep);

// Scalar reference: a(i,k) = a[i*a_rs + k*a_ks], b(k,n) = b[k*b_rs + n*b_cs]; double accumulation.
void f32_gemm_ref(size_t m, size_t n, size_t k, const float* a, size_t a_rs, size_t a_ks, const float* b, size_t b_rs,
                  size_t b_cs, float* c, size_t ldc, const F32GemmEpilogue& ep);

// The activation of an epilogue on one value (shared by references and scalar tails).
inline float f32_act(float v, Act act, float a, float b) {
  switch (act) {
    case Act::kNone: return v;
    case Act::kRelu: return v > 0 ? v : 0.0f;
    case Act::kClip: return v < a ? a : (v > b ? b : v);
    case Act::kLeakyRelu: return v >= 0 ? v : v * a;
  }
  return v;
}

// Applies bias (per row of n_cols values, may be null) and the activation in place over rows x n_cols at stride
// ld; for ops whose results come out of a scatter (ConvTranspose) rather than a tile store.
void f32_bias_act_rows(float* c, size_t rows, size_t n_cols, size_t ld, const float* bias_row, Act act, float a,
                       float b);

}  // namespace qp
