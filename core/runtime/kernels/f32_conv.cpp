// Dispatch of the depthwise kernel; im2col blocks, the conv and ConvTranspose drivers over the packed GEMM;
// N-d scalar references.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/runtime/kernels/f32_conv.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/runtime/kernels/f32_conv-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <cstring>

namespace qp {

#ifdef QP_HWY_STATIC_ONLY
void f32_conv2d_depthwise(const float* x, const float* w, const float* bias, float* y, const F32Conv2dGeom& g,
                          size_t channels, size_t multiplier, const F32GemmEpilogue& ep) {
  HWY_STATIC_DISPATCH(DepthwiseImpl)(x, w, bias, y, g, channels, multiplier, ep);
}
void f32_conv_phase_planes(const float* x, const F32Conv2dGeom& g, F32ConvPhasePlanes& out) {
  HWY_STATIC_DISPATCH(ConvPhasePlanesImpl)(x, g, out);
}
void f32_im2col_phase_block(const F32ConvPhasePlanes& p, const F32Conv2dGeom& g, size_t k0, size_t kc, size_t n0,
                            size_t nc, size_t nr, float* dst) {
  HWY_STATIC_DISPATCH(Im2colPhaseBlockImpl)(p, g, k0, kc, n0, nc, nr, dst);
}
#else
HWY_EXPORT(DepthwiseImpl);
HWY_EXPORT(ConvPhasePlanesImpl);
HWY_EXPORT(Im2colPhaseBlockImpl);
void f32_conv2d_depthwise(const float* x, const float* w, const float* bias, float* y, const F32Conv2dGeom& g,
                          size_t channels, size_t multiplier, const F32GemmEpilogue& ep) {
  HWY_DYNAMIC_DISPATCH(DepthwiseImpl)(x, w, bias, y, g, channels, multiplier, ep);
}
void f32_conv_phase_planes(const float* x, const F32Conv2dGeom& g, F32ConvPhasePlanes& out) {
  HWY_DYNAMIC_DISPATCH(ConvPhasePlanesImpl)(x, g, out);
}
void f32_im2col_phase_block(const F32ConvPhasePlanes& p, const F32Conv2dGeom& g, size_t k0, size_t kc, size_t n0,
                            size_t nc, size_t nr, float* dst) {
  HWY_DYNAMIC_DISPATCH(Im2colPhaseBlockImpl)(p, g, k0, kc, n0, nc, nr, dst);
}
#endif

void f32_im2col_block(const float* x, const F32Conv2dGeom& g, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr,
                      float* dst) {
  // Rows are built row-major a few at a time in an L1 buffer (runs of whole output rows: memcpy/memset, not
  // per-element stores), then the vectorised B packer moves them into the panels.
  constexpr size_t kRows = 8;
  thread_local std::vector<float> lines;
  lines.resize(kRows * nc);
  const size_t khw = g.kh * g.kw;
  const int64_t H = static_cast<int64_t>(g.h), W = static_cast<int64_t>(g.w);
  const size_t OW = g.ow;
  for (size_t kb = 0; kb < kc; kb += kRows) {
    const size_t rows = std::min(kRows, kc - kb);
    for (size_t r = 0; r < rows; ++r) {
      const size_t k = k0 + kb + r;
      const size_t ci = k / khw, t = k % khw, ky = t / g.kw, kx = t % g.kw;
      const float* xc = x + ci * g.h * g.w;
      float* line = lines.data() + r * nc;
      size_t oy = n0 / OW, ox = n0 % OW, done = 0;
      while (done < nc) {
        const size_t len = std::min(OW - ox, nc - done);
        float* out = line + done;
        const int64_t iy = static_cast<int64_t>(oy * g.sh + ky * g.dh) - static_cast<int64_t>(g.pt);
        if (iy < 0 || iy >= H) {
          std::memset(out, 0, len * sizeof(float));
        } else {
          const float* row = xc + iy * W;
          const int64_t ix0 = static_cast<int64_t>(ox * g.sw + kx * g.dw) - static_cast<int64_t>(g.pl);
          if (g.sw == 1) {
            const int64_t L = static_cast<int64_t>(len);
            const int64_t lead = std::min(std::max<int64_t>(-ix0, 0), L);
            const int64_t valid_end = std::max(std::min(W - ix0, L), lead);
            std::memset(out, 0, static_cast<size_t>(lead) * sizeof(float));
            std::memcpy(out + lead, row + ix0 + lead, static_cast<size_t>(valid_end - lead) * sizeof(float));
            std::memset(out + valid_end, 0, static_cast<size_t>(L - valid_end) * sizeof(float));
          } else {
            const int64_t sw = static_cast<int64_t>(g.sw);
            for (size_t j = 0; j < len; ++j) {
              const int64_t ix = ix0 + static_cast<int64_t>(j) * sw;
              out[j] = ix >= 0 && ix < W ? row[ix] : 0.0f;
            }
          }
        }
        done += len;
        ++oy;
        ox = 0;
      }
    }
    f32_gemm_pack_b(lines.data(), nc, 1, 0, rows, 0, nc, dst + kb * nr, kc * nr);
  }
}

std::vector<F32PackedA> f32_conv2d_pack_weights(const float* w, size_t groups, size_t cout_g, size_t k) {
  std::vector<F32PackedA> out(groups);
  for (size_t gi = 0; gi < groups; ++gi) f32_gemm_pack_a(w + gi * cout_g * k, cout_g, k, k, 1, out[gi]);
  return out;
}

void f32_conv2d_gemm(const float* x, const std::vector<F32PackedA>& w, const float* bias, float* y,
                     const F32Conv2dGeom& g, size_t groups, size_t cout_g, const F32GemmEpilogue& ep) {
  const size_t k = g.c * g.kh * g.kw, n = g.oh * g.ow, in_plane = g.h * g.w;
  const bool direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h &&
                      g.ow == g.w;
  const size_t nr = f32_gemm_tile().nr;
  thread_local F32ConvPhasePlanes phases;  // reused: no allocation per call once it has grown
  for (size_t gi = 0; gi < groups; ++gi) {
    const float* xg = x + gi * g.c * in_plane;
    F32GemmB b;
    if (direct) {
      b.pack = [xg, n](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
        f32_gemm_pack_b(xg, n, 1, k0, kc, n0, nc, dst);
      };
    } else if (f32_conv_phase_applies(g)) {
      f32_conv_phase_planes(xg, g, phases);
      b.pack = [&g, nr](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
        f32_im2col_phase_block(phases, g, k0, kc, n0, nc, nr, dst);
      };
    } else {
      b.pack = [xg, &g, nr](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
        f32_im2col_block(xg, g, k0, kc, n0, nc, nr, dst);
      };
    }
    F32GemmEpilogue e = ep;
    e.bias_m = bias ? bias + gi * cout_g : nullptr;
    f32_gemm_packed(cout_g, n, k, w[gi], b, y + gi * cout_g * n, n, e);
  }
}

std::vector<F32PackedA> f32_conv_transpose2d_pack_weights(const float* w, size_t groups, size_t cin_g, size_t cout_g,
                                                          size_t khw) {
  std::vector<F32PackedA> out(groups);
  const size_t m = cout_g * khw;
  // A(i, c) = w[(g * cin_g + c) * m + i]: rows of A are (oc, ky, kx), columns input channels.
  for (size_t gi = 0; gi < groups; ++gi) f32_gemm_pack_a(w + gi * cin_g * m, m, cin_g, 1, m, out[gi]);
  return out;
}

void f32_conv_transpose2d(const float* x, const std::vector<F32PackedA>& w, const float* bias, float* y,
                          const F32Conv2dGeom& g, size_t groups, size_t cout_g, const F32GemmEpilogue& ep) {
  const size_t hw = g.h * g.w, khw = g.kh * g.kw, m = cout_g * khw, ohw = g.oh * g.ow;
  const int64_t OH = static_cast<int64_t>(g.oh), OW = static_cast<int64_t>(g.ow);
  const int64_t sh = static_cast<int64_t>(g.sh), sw = static_cast<int64_t>(g.sw);
  if (hw == 0) {
    std::fill(y, y + groups * cout_g * ohw, 0.0f);
    for (size_t gi = 0; gi < groups; ++gi)
      f32_bias_act_rows(y + gi * cout_g * ohw, cout_g, ohw, ohw, bias ? bias + gi * cout_g : nullptr, ep.act,
                        ep.act_a, ep.act_b);
    return;
  }
  // The column matrix is produced a few input rows at a time so it stays in L2 between the GEMM and the scatter.
  const size_t rows_per_chunk = std::max<size_t>(1, (64 * 1024) / std::max<size_t>(1, m * g.w));
  std::vector<float> col(m * rows_per_chunk * g.w);
  const bool tiled = g.kh == g.sh && g.kw == g.sw && g.dh == 1 && g.dw == 1 && g.pt == 0 && g.pl == 0 &&
                     g.oh == g.h * g.sh && g.ow == g.w * g.sw;
  if (!tiled) std::fill(y, y + groups * cout_g * ohw, 0.0f);
  for (size_t gi = 0; gi < groups; ++gi) {
    float* yg = y + gi * cout_g * ohw;
    for (size_t iy0 = 0; iy0 < g.h; iy0 += rows_per_chunk) {
      const size_t rows = std::min(rows_per_chunk, g.h - iy0), nch = rows * g.w;
      const float* xg = x + gi * g.c * hw + iy0 * g.w;
      F32GemmB b;
      b.pack = [xg, hw](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
        f32_gemm_pack_b(xg, hw, 1, k0, kc, n0, nc, dst);
      };
      f32_gemm_packed(m, nch, g.c, w[gi], b, col.data(), nch, F32GemmEpilogue{});
      if (tiled) {
        // Kernel == stride, no dilation or padding: each output cell has exactly one contribution, so rows are
        // written once (no zero fill, no accumulation) and finished by the epilogue while they are in L1.
        for (size_t oc = 0; oc < cout_g; ++oc) {
          float* yc = yg + oc * ohw;
          for (size_t r = 0; r < rows; ++r)
            for (size_t ky = 0; ky < g.kh; ++ky) {
              float* yrow = yc + ((iy0 + r) * g.sh + ky) * g.ow;
              for (size_t kx = 0; kx < g.kw; ++kx) {
                const float* crow = col.data() + (oc * khw + ky * g.kw + kx) * nch + r * g.w;
                for (size_t ix = 0; ix < g.w; ++ix) yrow[ix * g.sw + kx] = crow[ix];
              }
              f32_bias_act_rows(yrow, 1, g.ow, g.ow, bias ? bias + gi * cout_g + oc : nullptr, ep.act, ep.act_a,
                                ep.act_b);
            }
        }
        continue;
      }
      for (size_t oc = 0; oc < cout_g; ++oc) {
        float* yc = yg + oc * ohw;
        for (size_t ky = 0; ky < g.kh; ++ky) {
          for (size_t kx = 0; kx < g.kw; ++kx) {
            const float* crow = col.data() + (oc * khw + ky * g.kw + kx) * nch;
            const int64_t offy = static_cast<int64_t>(ky * g.dh) - static_cast<int64_t>(g.pt);
            const int64_t offx = static_cast<int64_t>(kx * g.dw) - static_cast<int64_t>(g.pl);
            // Input columns whose output column lands inside: 0 <= ix * sw + offx < OW.
            const int64_t ix_lo = offx >= 0 ? 0 : (-offx + sw - 1) / sw;
            const int64_t ix_hi = std::min<int64_t>(static_cast<int64_t>(g.w),
                                                    OW - 1 - offx >= 0 ? (OW - 1 - offx) / sw + 1 : 0);
            for (size_t r = 0; r < rows; ++r) {
              const int64_t oy = static_cast<int64_t>(iy0 + r) * sh + offy;
              if (oy < 0 || oy >= OH) continue;
              float* yrow = yc + oy * OW;
              const float* crow_y = crow + r * g.w;
              for (int64_t ix = ix_lo; ix < ix_hi; ++ix) yrow[ix * sw + offx] += crow_y[ix];
            }
          }
        }
      }
    }
    if (!tiled)
      f32_bias_act_rows(yg, cout_g, ohw, ohw, bias ? bias + gi * cout_g : nullptr, ep.act, ep.act_a, ep.act_b);
  }
}

namespace {

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// Multi-index of flat index `f` over `dims` (row-major).
void unflatten(int64_t f, const std::vector<int64_t>& dims, std::vector<int64_t>& idx) {
  idx.resize(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    idx[i] = f % dims[i];
    f /= dims[i];
  }
}

}  // namespace

void f32_conv_ref(const float* x, const float* w, const float* bias, float* y, const F32ConvNdGeom& g, Act act,
                  float a, float b) {
  const size_t nd = g.in.size();
  const int64_t in_sz = prod(g.in), out_sz = prod(g.out), k_sz = prod(g.k);
  const int64_t cin_g = static_cast<int64_t>(g.c_in / g.groups), cout_g = static_cast<int64_t>(g.c_out / g.groups);
  std::vector<int64_t> o, kk;
  for (int64_t n = 0; n < static_cast<int64_t>(g.batch); ++n) {
    for (int64_t oc = 0; oc < static_cast<int64_t>(g.c_out); ++oc) {
      const int64_t grp = oc / cout_g;
      for (int64_t of = 0; of < out_sz; ++of) {
        unflatten(of, g.out, o);
        double s = 0;
        for (int64_t ci = 0; ci < cin_g; ++ci) {
          const float* xc = x + (n * static_cast<int64_t>(g.c_in) + grp * cin_g + ci) * in_sz;
          const float* wc = w + (oc * cin_g + ci) * k_sz;
          for (int64_t kf = 0; kf < k_sz; ++kf) {
            unflatten(kf, g.k, kk);
            int64_t pos = 0;
            bool inside = true;
            for (size_t i = 0; i < nd && inside; ++i) {
              const int64_t p = o[i] * g.s[i] - g.pad[i] + kk[i] * g.d[i];
              inside = p >= 0 && p < g.in[i];
              pos = pos * g.in[i] + p;
            }
            if (inside) s += static_cast<double>(xc[pos]) * wc[kf];
          }
        }
        float v = static_cast<float>(s);
        if (bias) v += bias[oc];
        y[(n * static_cast<int64_t>(g.c_out) + oc) * out_sz + of] = f32_act(v, act, a, b);
      }
    }
  }
}

void f32_conv_transpose_ref(const float* x, const float* w, const float* bias, float* y, const F32ConvNdGeom& g,
                            Act act, float a, float b) {
  const size_t nd = g.in.size();
  const int64_t in_sz = prod(g.in), out_sz = prod(g.out), k_sz = prod(g.k);
  const int64_t cin_g = static_cast<int64_t>(g.c_in / g.groups), cout_g = static_cast<int64_t>(g.c_out / g.groups);
  std::vector<double> acc(static_cast<size_t>(g.batch * g.c_out * out_sz), 0.0);
  std::vector<int64_t> ii, kk;
  for (int64_t n = 0; n < static_cast<int64_t>(g.batch); ++n) {
    for (int64_t ic = 0; ic < static_cast<int64_t>(g.c_in); ++ic) {
      const int64_t grp = ic / cin_g;
      for (int64_t inf = 0; inf < in_sz; ++inf) {
        unflatten(inf, g.in, ii);
        const double xv = x[(n * static_cast<int64_t>(g.c_in) + ic) * in_sz + inf];
        for (int64_t kf = 0; kf < k_sz; ++kf) {
          unflatten(kf, g.k, kk);
          int64_t pos = 0;
          bool inside = true;
          for (size_t i = 0; i < nd && inside; ++i) {
            const int64_t p = ii[i] * g.s[i] - g.pad[i] + kk[i] * g.d[i];
            inside = p >= 0 && p < g.out[i];
            pos = pos * g.out[i] + p;
          }
          if (!inside) continue;
          for (int64_t oc = 0; oc < cout_g; ++oc)
            acc[(n * static_cast<int64_t>(g.c_out) + grp * cout_g + oc) * out_sz + pos] +=
                xv * w[(ic * cout_g + oc) * k_sz + kf];
        }
      }
    }
  }
  for (int64_t n = 0; n < static_cast<int64_t>(g.batch); ++n)
    for (int64_t oc = 0; oc < static_cast<int64_t>(g.c_out); ++oc)
      for (int64_t f = 0; f < out_sz; ++f) {
        const size_t i = static_cast<size_t>((n * static_cast<int64_t>(g.c_out) + oc) * out_sz + f);
        float v = static_cast<float>(acc[i]);
        if (bias) v += bias[oc];
        y[i] = f32_act(v, act, a, b);
      }
}

}  // namespace qp
#endif  // HWY_ONCE
