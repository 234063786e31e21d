// Pooling: MaxPool (with optional Indices), AveragePool, GlobalAveragePool, GlobalMaxPool over 1-D/2-D/3-D...
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_pool.h"
#include "core/runtime/kernels/f32_reduce.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

bool wants_output(const OpContext& ctx, size_t i) {
  return i < ctx.outputs.size() && i < ctx.node.outputs.size() && !ctx.node.outputs[i].empty();
}

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(v); }

// Window geometry per spatial dim, after auto_pad and ceil_mode are resolved.
struct PoolGeom {
  size_t k = 0;  // spatial dims
  std::vector<int64_t> in, out, kernel, stride, dil, pad_begin, pad_end;
};

std::vector<int64_t> ints_or(const OpContext& ctx, const char* name, size_t n, int64_t dflt) {
  if (!ctx.node.attr(name)) return std::vector<int64_t>(n, dflt);
  std::vector<int64_t> v = ctx.node.attr_ints(name);
  if (v.empty()) return std::vector<int64_t>(n, dflt);
  return v;
}

PoolGeom pool_geometry(const OpContext& ctx, const Value& x) {
  if (x.rank() < 3) ctx.fail("input " + x.describe() + " needs at least 3 dims (N, C, D1, ...)");
  PoolGeom g;
  g.k = x.rank() - 2;
  g.in.assign(x.shape.begin() + 2, x.shape.end());
  if (!ctx.node.attr("kernel_shape")) ctx.fail("attribute kernel_shape is required");
  g.kernel = ctx.node.attr_ints("kernel_shape");
  if (g.kernel.size() != g.k)
    ctx.fail("kernel_shape " + ints_str(g.kernel) + " has " + std::to_string(g.kernel.size()) +
             " dims but input " + x.describe() + " has " + std::to_string(g.k) + " spatial dims");
  g.stride = ints_or(ctx, "strides", g.k, 1);
  g.dil = ints_or(ctx, "dilations", g.k, 1);
  std::vector<int64_t> pads = ints_or(ctx, "pads", 2 * g.k, 0);
  if (g.stride.size() != g.k) ctx.fail("strides " + ints_str(g.stride) + " must have " + std::to_string(g.k) + " values");
  if (g.dil.size() != g.k) ctx.fail("dilations " + ints_str(g.dil) + " must have " + std::to_string(g.k) + " values");
  if (pads.size() != 2 * g.k) ctx.fail("pads " + ints_str(pads) + " must have " + std::to_string(2 * g.k) + " values");
  for (size_t i = 0; i < g.k; ++i) {
    if (g.kernel[i] <= 0) ctx.fail("kernel_shape " + ints_str(g.kernel) + " must be positive");
    if (g.stride[i] <= 0) ctx.fail("strides " + ints_str(g.stride) + " must be positive");
    if (g.dil[i] <= 0) ctx.fail("dilations " + ints_str(g.dil) + " must be positive");
    if (pads[i] < 0 || pads[i + g.k] < 0) ctx.fail("pads " + ints_str(pads) + " must not be negative");
  }
  const std::string auto_pad = ctx.node.attr_string("auto_pad", "NOTSET");
  const bool ceil_mode = ctx.node.attr_int("ceil_mode", 0) != 0;
  g.out.resize(g.k);
  g.pad_begin.resize(g.k);
  g.pad_end.resize(g.k);
  for (size_t i = 0; i < g.k; ++i) {
    const int64_t eff = (g.kernel[i] - 1) * g.dil[i] + 1, in = g.in[i], s = g.stride[i];
    if (auto_pad == "NOTSET" || auto_pad.empty()) {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + g.k];
      const int64_t span = in + g.pad_begin[i] + g.pad_end[i] - eff;
      if (span < 0)
        ctx.fail("kernel_shape " + ints_str(g.kernel) + " (dilations " + ints_str(g.dil) +
                 ") does not fit input " + x.describe() + " with pads " + ints_str(pads));
      int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // A last window that would start in the end padding is dropped (PyTorch's and ONNX's rule).
      if (ceil_mode && o > 1 && (o - 1) * s >= in + g.pad_begin[i]) --o;
      g.out[i] = o;
    } else if (auto_pad == "VALID") {
      if (in < eff)
        ctx.fail("kernel_shape " + ints_str(g.kernel) + " does not fit input " + x.describe() + " (auto_pad VALID)");
      g.pad_begin[i] = g.pad_end[i] = 0;
      g.out[i] = (in - eff) / s + 1;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((g.out[i] - 1) * s + eff - in, 0);
      const int64_t small = total / 2, big = total - small;
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
      g.pad_end[i] = total - g.pad_begin[i];
    } else {
      ctx.fail("auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
  }
  return g;
}

std::vector<int64_t> pool_out_shape(const Value& x, const PoolGeom& g) {
  std::vector<int64_t> s = {x.shape[0], x.shape[1]};
  s.insert(s.end(), g.out.begin(), g.out.end());
  return s;
}

// Input positions of window o along dim i that lie inside the input, and how many taps lie inside the padded
// range (the count_include_pad divisor).
void window_taps(const PoolGeom& g, size_t i, int64_t o, std::vector<int64_t>& pos, int64_t& padded_count) {
  pos.clear();
  padded_count = 0;
  const int64_t start = o * g.stride[i] - g.pad_begin[i];
  for (int64_t t = 0; t < g.kernel[i]; ++t) {
    const int64_t p = start + t * g.dil[i];
    if (p >= -g.pad_begin[i] && p < g.in[i] + g.pad_end[i]) ++padded_count;
    if (p >= 0 && p < g.in[i]) pos.push_back(p);
  }
}

// Float pooling through the row kernels: per output row, the input rows its window covers.
void pool_f32(const Value& x, const PoolGeom& g, bool is_max, bool include_pad, Value& y) {
  const size_t k = g.k, L = k - 1;
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = shape_prod(g.in, 0, k), out_plane = shape_prod(g.out, 0, k);
  if (planes == 0 || out_plane == 0) return;
  PoolRow row;
  row.in_w = static_cast<size_t>(g.in[L]);
  row.out_w = static_cast<size_t>(g.out[L]);
  row.kernel = static_cast<size_t>(g.kernel[L]);
  row.stride = static_cast<size_t>(g.stride[L]);
  row.dilation = static_cast<size_t>(g.dil[L]);
  row.pad = static_cast<size_t>(g.pad_begin[L]);
  std::vector<float> scratch(f32_pool_scratch(row));
  // Divisor along the row, per output column.
  std::vector<int64_t> pos;
  std::vector<double> cnt_w(row.out_w);
  for (size_t ow = 0; ow < row.out_w; ++ow) {
    int64_t padded = 0;
    window_taps(g, L, static_cast<int64_t>(ow), pos, padded);
    cnt_w[ow] = static_cast<double>(include_pad ? padded : static_cast<int64_t>(pos.size()));
  }
  // Per leading dim and output index: the input positions covered and the divisor factor.
  std::vector<std::vector<std::vector<int64_t>>> lead_pos(L);
  std::vector<std::vector<double>> lead_cnt(L);
  for (size_t i = 0; i < L; ++i) {
    lead_pos[i].resize(static_cast<size_t>(g.out[i]));
    lead_cnt[i].resize(static_cast<size_t>(g.out[i]));
    for (int64_t o = 0; o < g.out[i]; ++o) {
      int64_t padded = 0;
      window_taps(g, i, o, lead_pos[i][o], padded);
      lead_cnt[i][o] = static_cast<double>(include_pad ? padded : static_cast<int64_t>(lead_pos[i][o].size()));
    }
  }
  const std::vector<int64_t> in_st = shape_strides(g.in);
  const int64_t out_rows = out_plane / g.out[L];
  std::vector<const float*> rows;
  std::vector<int64_t> oidx(L, 0), tap(L, 0);
  std::vector<float> scale(row.out_w);
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x.f32() + p * in_plane;
    float* yp = y.f32() + p * out_plane;
    std::fill(oidx.begin(), oidx.end(), 0);
    for (int64_t r = 0; r < out_rows; ++r) {
      // Cartesian product of the covered positions over the leading dims.
      rows.clear();
      double cnt = 1;
      bool empty = false;
      for (size_t i = 0; i < L; ++i) {
        cnt *= lead_cnt[i][oidx[i]];
        if (lead_pos[i][oidx[i]].empty()) empty = true;
      }
      if (!empty) {
        std::fill(tap.begin(), tap.end(), 0);
        for (;;) {
          int64_t off = 0;
          for (size_t i = 0; i < L; ++i) off += lead_pos[i][oidx[i]][tap[i]] * in_st[i];
          rows.push_back(xp + off);
          size_t i = L;
          while (i-- > 0) {
            if (++tap[i] < static_cast<int64_t>(lead_pos[i][oidx[i]].size())) break;
            tap[i] = 0;
          }
          if (i == static_cast<size_t>(-1)) break;
        }
      }
      float* yr = yp + r * g.out[L];
      if (is_max) {
        f32_maxpool_row(rows.data(), rows.size(), row, scratch.data(), yr);
      } else {
        // A window with no element to average (only possible with exotic pads/dilations) gives NaN, as 0/0.
        for (size_t ow = 0; ow < row.out_w; ++ow) scale[ow] = static_cast<float>(1.0 / (cnt * cnt_w[ow]));
        if (!include_pad && rows.empty())
          std::fill(scale.begin(), scale.end(), std::numeric_limits<float>::quiet_NaN());
        f32_avgpool_row(rows.data(), rows.size(), row, scale.data(), scratch.data(), yr);
      }
      for (size_t i = L; i-- > 0;) {
        if (++oidx[i] < g.out[i]) break;
        oidx[i] = 0;
      }
    }
  }
}

// Direct MaxPool for the Indices output and integer types: every window tap visited, first maximum kept.
template <class T>
void maxpool_direct(const OpContext& ctx, const Value& x, const PoolGeom& g, Value& y, int64_t* indices) {
  const size_t k = g.k;
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = shape_prod(g.in, 0, k), out_plane = shape_prod(g.out, 0, k);
  const bool col_major = ctx.node.attr_int("storage_order", 0) != 0;
  // Index strides of the flattened input (spatial part), row- or column-major as storage_order asks.
  std::vector<int64_t> ist(k, 1);
  if (col_major) {
    for (size_t i = 1; i < k; ++i) ist[i] = ist[i - 1] * g.in[i - 1];
  } else {
    ist = shape_strides(g.in);
  }
  const std::vector<int64_t> mst = shape_strides(g.in);  // memory strides
  std::vector<int64_t> o(k), t(k);
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x.ptr<T>() + p * in_plane;
    std::fill(o.begin(), o.end(), 0);
    for (int64_t j = 0; j < out_plane; ++j) {
      bool found = false;
      T best = std::numeric_limits<T>::lowest();
      if (std::numeric_limits<T>::has_infinity) best = -std::numeric_limits<T>::infinity();
      int64_t best_idx = -1;
      std::fill(t.begin(), t.end(), 0);
      for (;;) {
        int64_t moff = 0, ioff = 0;
        bool inside = true;
        for (size_t i = 0; i < k; ++i) {
          const int64_t q = o[i] * g.stride[i] - g.pad_begin[i] + t[i] * g.dil[i];
          if (q < 0 || q >= g.in[i]) {
            inside = false;
            break;
          }
          moff += q * mst[i];
          ioff += q * ist[i];
        }
        if (inside && (!found || xp[moff] > best)) {
          best = xp[moff];
          best_idx = p * in_plane + ioff;
          found = true;
        }
        size_t i = k;
        while (i-- > 0) {
          if (++t[i] < g.kernel[i]) break;
          t[i] = 0;
        }
        if (i == static_cast<size_t>(-1)) break;
      }
      y.ptr<T>()[p * out_plane + j] = best;
      if (indices) indices[p * out_plane + j] = best_idx;
      for (size_t i = k; i-- > 0;) {
        if (++o[i] < g.out[i]) break;
        o[i] = 0;
      }
    }
  }
}

void op_max_pool(OpContext& ctx) {
  const Value& x = ctx.req(0);
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kUint8 && x.dtype != DType::kInt8)
    ctx.fail("input 0 is " + dtype_name(x.dtype) + "; only float32 (and uint8/int8) is supported");
  const PoolGeom g = pool_geometry(ctx, x);
  Value& y = ctx.alloc(0, x.dtype, pool_out_shape(x, g));
  int64_t* indices = wants_output(ctx, 1) ? ctx.alloc(1, DType::kInt64, y.shape).ptr<int64_t>() : nullptr;
  if (x.dtype == DType::kFloat32 && !indices) return pool_f32(x, g, true, false, y);
  if (x.dtype == DType::kFloat32) return maxpool_direct<float>(ctx, x, g, y, indices);
  if (x.dtype == DType::kUint8) return maxpool_direct<uint8_t>(ctx, x, g, y, indices);
  maxpool_direct<int8_t>(ctx, x, g, y, indices);
}

void op_average_pool(OpContext& ctx) {
  const Value& x = ctx.req_f32(0);
  const PoolGeom g = pool_geometry(ctx, x);
  Value& y = ctx.alloc(0, DType::kFloat32, pool_out_shape(x, g));
  pool_f32(x, g, false, ctx.node.attr_int("count_include_pad", 0) != 0, y);
}

void global_pool(OpContext& ctx, bool is_max) {
  const Value& x = ctx.req_f32(0);
  if (x.rank() < 2) ctx.fail("input " + x.describe() + " needs at least 2 dims (N, C, ...)");
  std::vector<int64_t> shape(x.rank(), 1);
  shape[0] = x.shape[0];
  shape[1] = x.shape[1];
  const int64_t planes = x.shape[0] * x.shape[1], n = shape_prod(x.shape, 2, x.rank());
  Value& y = ctx.alloc(0, DType::kFloat32, shape);
  for (int64_t p = 0; p < planes; ++p) {
    const double r = f32_reduce_row(x.f32() + p * n, static_cast<size_t>(n), is_max ? ReduceOp::kMax : ReduceOp::kSum);
    y.f32()[p] = static_cast<float>(is_max ? r : r / static_cast<double>(n));
  }
}

void op_global_average_pool(OpContext& ctx) { global_pool(ctx, false); }
void op_global_max_pool(OpContext& ctx) { global_pool(ctx, true); }

}  // namespace

void register_ops_pool(OpTable& t) {
  t[static_cast<int>(Op::kMaxPool)] = op_max_pool;
  t[static_cast<int>(Op::kAveragePool)] = op_average_pool;
  t[static_cast<int>(Op::kGlobalAveragePool)] = op_global_average_pool;
  t[static_cast<int>(Op::kGlobalMaxPool)] = op_global_max_pool;
}

}  // namespace qp
