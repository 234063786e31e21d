// Float32 convolution kernels (NCHW): im2col + packed GEMM, direct 1x1, direct depthwise, ConvTranspose via
// GEMM + col2im, and N-d scalar references.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/runtime/kernels/f32_gemm.h"

namespace qp {

// One 2-D convolution of one group of one image: c input channels of h x w, kernel kh x kw, strides, dilations,
// top/left padding (bottom/right follow from oh x ow). f32_conv_transpose2d reads the same fields with (h, w) its
// input and (oh, ow) its output.
struct F32Conv2dGeom {
  size_t c = 0, h = 0, w = 0;
  size_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  size_t pt = 0, pl = 0;
  size_t oh = 0, ow = 0;
};

// Rows [k0, k0+kc) x columns [n0, n0+nc) of the im2col matrix of x (c planes h x w; row k = (ci, ky, kx),
// column n = (oy, ox)) in f32_gemm_pack_b's panel layout with panels nr wide. Padding reads as zero.
void f32_im2col_block(const float* x, const F32Conv2dGeom& g, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr,
                      float* dst);

// The input of one group (g.c planes) as zero-padded phase planes, for strides 1 or 2 equal in both dims (see
// f32_conv-inl.h): every im2col row is then made of plain copies, no padding tests or strided reads.
// f32_conv_phase_planes and f32_im2col_phase_block need g.sh == g.sw in {1, 2} and a non-empty output.
struct F32ConvPhasePlanes {
  size_t s = 1, wq = 0, plane = 0;  // stride, phase-plane row length, floats per phase plane
  std::vector<float> data;          // g.c x s·s phase planes
};
// Where f32_conv2d_gemm uses it. Not under wasm: with 8-float panels the runs are too short to pay for the copy
// there (measured 15-20 % slower than f32_im2col_block on the PP-OCR and SqueezeNet 3x3 convs).
inline bool f32_conv_phase_applies(const F32Conv2dGeom& g) {
#ifdef __wasm__
  (void)g;
  return false;
#else
  return g.oh > 0 && g.ow > 0 && g.sh == g.sw && (g.sw == 1 || g.sw == 2);
#endif
}
void f32_conv_phase_planes(const float* x, const F32Conv2dGeom& g, F32ConvPhasePlanes& out);
// The same block as f32_im2col_block, read from phase planes.
void f32_im2col_phase_block(const F32ConvPhasePlanes& p, const F32Conv2dGeom& g, size_t k0, size_t kc, size_t n0,
                            size_t nc, size_t nr, float* dst);

// Weights [groups * cout_g, c, kh, kw] packed for f32_conv2d: one F32PackedA (cout_g x c·kh·kw) per group.
std::vector<F32PackedA> f32_conv2d_pack_weights(const float* w, size_t groups, size_t cout_g, size_t k);

// One image: y (groups * cout_g planes oh x ow) = act(conv(x, w) + bias) through the packed GEMM; im2col is built
// block by block in L2-sized pieces, and skipped for 1x1 stride-1 unpadded kernels (x already is B).
void f32_conv2d_gemm(const float* x, const std::vector<F32PackedA>& w, const float* bias, float* y,
                     const F32Conv2dGeom& g, size_t groups, size_t cout_g, const F32GemmEpilogue& ep);

// One image, one input channel per group (depthwise; `multiplier` output channels per input channel), bias and
// activation fused: equal strides 1 or 2 through phase planes (whole vectors over the flattened plane, see
// f32_conv-inl.h), other strides by rows vectorised over output width (strides 1 and 2; others scalar).
// w: [channels * multiplier, 1, kh, kw]; g.c is ignored.
void f32_conv2d_depthwise(const float* x, const float* w, const float* bias, float* y, const F32Conv2dGeom& g,
                          size_t channels, size_t multiplier, const F32GemmEpilogue& ep);

// ConvTranspose weights [groups * cin_g, cout_g, kh, kw] packed as one A (cout_g·kh·kw x cin_g) per group.
std::vector<F32PackedA> f32_conv_transpose2d_pack_weights(const float* w, size_t groups, size_t cin_g, size_t cout_g,
                                                          size_t khw);
// One image of ConvTranspose: g.c = cin_g, (g.h, g.w) the input, (g.oh, g.ow) the output, pads top/left, strides,
// dilations. GEMM into a column buffer, scatter-add (col2im), then bias and activation.
void f32_conv_transpose2d(const float* x, const std::vector<F32PackedA>& w, const float* bias, float* y,
                          const F32Conv2dGeom& g, size_t groups, size_t cout_g, const F32GemmEpilogue& ep);

// N-d geometry for the references (and the 3-D path): spatial sizes of input and output, kernel, strides,
// dilations, begin pads (end pads follow from the output size).
struct F32ConvNdGeom {
  size_t batch = 1, c_in = 0, c_out = 0, groups = 1;
  std::vector<int64_t> in, out, k, s, d, pad;
};
// Scalar reference (double accumulation): y = act(conv(x, w) + bias); w [c_out, c_in/groups, k...].
void f32_conv_ref(const float* x, const float* w, const float* bias, float* y, const F32ConvNdGeom& g, Act act,
                  float a, float b);
// Scalar reference of ConvTranspose: w [c_in, c_out/groups, k...]; `out` is the ConvTranspose output size and
// `in` its input size.
void f32_conv_transpose_ref(const float* x, const float* w, const float* bias, float* y, const F32ConvNdGeom& g,
                            Act act, float a, float b);

}  // namespace qp
