// Ops of the conv family: Conv and ConvTranspose (float32, NCHW; 1-D and 2-D fast paths, N-d reference path).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_conv.h"
#include "core/runtime/op_context.h"

namespace qp {

namespace {

// Spatial attributes common to Conv and ConvTranspose, checked against the number of spatial dims.
struct ConvAttrs {
  std::vector<int64_t> k, s, d, pads;  // pads: begins then ends
  std::string auto_pad;
  int64_t group = 1;
};

ConvAttrs read_attrs(const OpContext& ctx, size_t nd, const std::vector<int64_t>& w_spatial) {
  ConvAttrs a;
  const Node& n = ctx.node;
  a.group = n.attr_int("group", 1);
  if (a.group < 1) ctx.fail("group is " + std::to_string(a.group) + ", expected >= 1");
  a.k = n.attr("kernel_shape") ? n.attr_ints("kernel_shape") : w_spatial;
  if (a.k != w_spatial)
    ctx.fail("kernel_shape " + shape_str(a.k) + " does not match W's spatial dims " + shape_str(w_spatial));
  auto list = [&](const char* name, int64_t dflt, size_t len, int64_t min) {
    std::vector<int64_t> v = n.attr(name) ? n.attr_ints(name) : std::vector<int64_t>(len, dflt);
    if (v.size() != len)
      ctx.fail(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(len));
    for (int64_t x : v)
      if (x < min) ctx.fail(std::string(name) + " " + shape_str(v) + " must be >= " + std::to_string(min));
    return v;
  };
  a.s = list("strides", 1, nd, 1);
  a.d = list("dilations", 1, nd, 1);
  a.pads = list("pads", 0, 2 * nd, 0);
  a.auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (a.auto_pad.empty()) a.auto_pad = "NOTSET";
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER")
    ctx.fail("auto_pad '" + a.auto_pad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  for (int64_t k : a.k)
    if (k < 1) ctx.fail("kernel shape " + shape_str(a.k) + " must be >= 1");
  return a;
}

// State kept across runs: weights packed for the GEMM, valid while the constant inputs keep their key.
struct PackedWeights {
  uint64_t key = 0;
  std::vector<int64_t> w_shape;
  int64_t group = 0;
  std::vector<F32PackedA> packed;
};

template <class PackFn>
const std::vector<F32PackedA>& packed_weights(OpContext& ctx, const Value& w, int64_t group,
                                              std::vector<F32PackedA>& local, PackFn pack) {
  const bool cacheable = ctx.const_key != 0 && ctx.input_is_const.size() > 1 && ctx.input_is_const[1];
  if (!cacheable) {
    local = pack();
    return local;
  }
  auto st = std::static_pointer_cast<PackedWeights>(ctx.state);
  if (!st || st->key != ctx.const_key || st->w_shape != w.shape || st->group != group) {
    st = std::make_shared<PackedWeights>();
    st->key = ctx.const_key;
    st->w_shape = w.shape;
    st->group = group;
    st->packed = pack();
    ctx.state = st;
  }
  return st->packed;
}

F32ConvNdGeom nd_geom(const Value& x, int64_t c_out, int64_t group, const ConvAttrs& a,
                      const std::vector<int64_t>& out_spatial) {
  F32ConvNdGeom g;
  g.batch = static_cast<size_t>(x.shape[0]);
  g.c_in = static_cast<size_t>(x.shape[1]);
  g.c_out = static_cast<size_t>(c_out);
  g.groups = static_cast<size_t>(group);
  g.in.assign(x.shape.begin() + 2, x.shape.end());
  g.out = out_spatial;
  g.k = a.k;
  g.s = a.s;
  g.d = a.d;
  g.pad.assign(a.pads.begin(), a.pads.begin() + static_cast<long>(a.k.size()));
  return g;
}

// 1-D problems run as 2-D with a height of one.
F32Conv2dGeom geom_2d(const F32ConvNdGeom& g) {
  F32Conv2dGeom r;
  const bool one = g.in.size() == 1;
  const size_t ih = one ? 0 : 1;  // index of the width dim
  r.h = one ? 1 : static_cast<size_t>(g.in[0]);
  r.w = static_cast<size_t>(g.in[ih]);
  r.kh = one ? 1 : static_cast<size_t>(g.k[0]);
  r.kw = static_cast<size_t>(g.k[ih]);
  r.sh = one ? 1 : static_cast<size_t>(g.s[0]);
  r.sw = static_cast<size_t>(g.s[ih]);
  r.dh = one ? 1 : static_cast<size_t>(g.d[0]);
  r.dw = static_cast<size_t>(g.d[ih]);
  r.pt = one ? 0 : static_cast<size_t>(g.pad[0]);
  r.pl = static_cast<size_t>(g.pad[ih]);
  r.oh = one ? 1 : static_cast<size_t>(g.out[0]);
  r.ow = static_cast<size_t>(g.out[ih]);
  return r;
}

void op_conv(OpContext& ctx) {
  for (size_t i = 0; i < 3; ++i) ctx.check_f32(i);
  const Value& x = ctx.req(0);
  const Value& w = ctx.req(1);
  const Value* b = ctx.in(2);
  if (x.rank() < 3) ctx.fail("X " + x.describe() + " needs rank >= 3 (N, C, spatial...)");
  if (w.rank() != x.rank())
    ctx.fail("W " + shape_str(w.shape) + " has rank " + std::to_string(w.rank()) + " but X " + shape_str(x.shape) +
             " has rank " + std::to_string(x.rank()));
  const size_t nd = x.rank() - 2;
  const std::vector<int64_t> w_spatial(w.shape.begin() + 2, w.shape.end());
  const ConvAttrs a = read_attrs(ctx, nd, w_spatial);
  const int64_t c = x.shape[1], m = w.shape[0], cg = w.shape[1];
  if (c != cg * a.group)
    ctx.fail("X has " + std::to_string(c) + " channels but W " + shape_str(w.shape) + " with group " +
             std::to_string(a.group) + " expects " + std::to_string(cg * a.group));
  if (m % a.group != 0)
    ctx.fail("W " + shape_str(w.shape) + " has " + std::to_string(m) + " output channels, not a multiple of group " +
             std::to_string(a.group));
  if (b && (b->rank() != 1 || b->shape[0] != m))
    ctx.fail("B " + shape_str(b->shape) + " does not match W " + shape_str(w.shape) + ": expected [" +
             std::to_string(m) + "]");

  ConvAttrs ap = a;
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x.shape[2 + i], ext = (a.k[i] - 1) * a.d[i] + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      out[i] = (in + a.s[i] - 1) / a.s[i];
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * a.s[i] + ext - in);
      const int64_t small = total / 2, big = total - small;
      ap.pads[i] = a.auto_pad == "SAME_UPPER" ? small : big;
      ap.pads[nd + i] = total - ap.pads[i];
    } else {
      if (a.auto_pad == "VALID") ap.pads[i] = ap.pads[nd + i] = 0;
      const int64_t span = in + ap.pads[i] + ap.pads[nd + i] - ext;
      if (span < 0)
        ctx.fail("X " + shape_str(x.shape) + " is smaller than the dilated kernel " + shape_str(a.k) +
                 " (with pads " + shape_str(ap.pads) + ") in spatial dim " + std::to_string(i));
      out[i] = span / a.s[i] + 1;
    }
  }
  // A dim with one output never steps and a one-tap kernel never dilates: any stride or dilation there gives the
  // same result, so huge ones (which would not survive the size_t geometry of wasm32) become 1.
  for (size_t i = 0; i < nd; ++i) {
    if (out[i] == 1) ap.s[i] = 1;
    if (a.k[i] == 1) ap.d[i] = 1;
  }
  std::vector<int64_t> y_shape = {x.shape[0], m};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  Value& y = ctx.alloc(0, DType::kFloat32, y_shape);
  if (y.numel() == 0) return;

  const F32ConvNdGeom g = nd_geom(x, m, a.group, ap, out);
  const F32GemmEpilogue ep = f32_gemm_epilogue(ctx.epilogue);
  const float* bias = b ? b->f32() : nullptr;
  if (nd > 2) {
    f32_conv_ref(x.f32(), w.f32(), bias, y.f32(), g, ep.act, ep.act_a, ep.act_b);
    return;
  }
  F32Conv2dGeom g2 = geom_2d(g);
  g2.c = static_cast<size_t>(cg);
  const size_t in_img = static_cast<size_t>(c) * g2.h * g2.w, out_img = static_cast<size_t>(m) * g2.oh * g2.ow;
  if (cg == 1 && a.group > 1) {
    for (int64_t n = 0; n < x.shape[0]; ++n)
      f32_conv2d_depthwise(x.f32() + n * in_img, w.f32(), bias, y.f32() + n * out_img, g2,
                           static_cast<size_t>(c), static_cast<size_t>(m / a.group), ep);
    return;
  }
  const size_t cout_g = static_cast<size_t>(m / a.group), k = g2.c * g2.kh * g2.kw;
  std::vector<F32PackedA> local;
  const auto& packed = packed_weights(ctx, w, a.group, local, [&] {
    return f32_conv2d_pack_weights(w.f32(), static_cast<size_t>(a.group), cout_g, k);
  });
  for (int64_t n = 0; n < x.shape[0]; ++n)
    f32_conv2d_gemm(x.f32() + n * in_img, packed, bias, y.f32() + n * out_img, g2, static_cast<size_t>(a.group),
                    cout_g, ep);
}

void op_conv_transpose(OpContext& ctx) {
  for (size_t i = 0; i < 3; ++i) ctx.check_f32(i);
  const Value& x = ctx.req(0);
  const Value& w = ctx.req(1);
  const Value* b = ctx.in(2);
  if (x.rank() < 3) ctx.fail("X " + x.describe() + " needs rank >= 3 (N, C, spatial...)");
  if (w.rank() != x.rank())
    ctx.fail("W " + shape_str(w.shape) + " has rank " + std::to_string(w.rank()) + " but X " + shape_str(x.shape) +
             " has rank " + std::to_string(x.rank()));
  const size_t nd = x.rank() - 2;
  const std::vector<int64_t> w_spatial(w.shape.begin() + 2, w.shape.end());
  const ConvAttrs a = read_attrs(ctx, nd, w_spatial);
  const int64_t c = x.shape[1], m = w.shape[1] * a.group;
  if (w.shape[0] != c)
    ctx.fail("X has " + std::to_string(c) + " channels but W " + shape_str(w.shape) + " expects " +
             std::to_string(w.shape[0]));
  if (c % a.group != 0)
    ctx.fail("X has " + std::to_string(c) + " channels, not a multiple of group " + std::to_string(a.group));
  if (b && (b->rank() != 1 || b->shape[0] != m))
    ctx.fail("B " + shape_str(b->shape) + " does not match W " + shape_str(w.shape) + " with group " +
             std::to_string(a.group) + ": expected [" + std::to_string(m) + "]");
  const Node& node = ctx.node;
  std::vector<int64_t> out_pad = node.attr("output_padding") ? node.attr_ints("output_padding")
                                                             : std::vector<int64_t>(nd, 0);
  if (out_pad.size() != nd) ctx.fail("output_padding " + shape_str(out_pad) + " needs " + std::to_string(nd) + " values");
  std::vector<int64_t> out_shape = node.attr("output_shape") ? node.attr_ints("output_shape") : std::vector<int64_t>{};
  if (out_shape.size() == nd + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != nd)
    ctx.fail("output_shape " + shape_str(out_shape) + " needs " + std::to_string(nd) + " spatial values");

  ConvAttrs ap = a;
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x.shape[2 + i], ext = (a.k[i] - 1) * a.d[i] + 1;
    const int64_t full = a.s[i] * (in - 1) + out_pad[i] + ext;  // output size before padding is removed
    const bool same = a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      out[i] = !out_shape.empty() ? out_shape[i] : in * a.s[i];
      const int64_t total = full - out[i];
      if (total < 0 && out_shape.empty()) ctx.fail("cannot pad to a negative size");
      const int64_t t = std::max<int64_t>(total, 0);
      // SAME_UPPER puts the extra cell of an odd total at the end (of the padding, so the output keeps the
      // beginning); NOTSET with output_shape and SAME_LOWER put it at the beginning.
      ap.pads[i] = a.auto_pad == "SAME_UPPER" ? t / 2 : t - t / 2;
      ap.pads[nd + i] = t - ap.pads[i];
      if (total < 0) ap.pads[i] = ap.pads[nd + i] = 0;  // output_shape larger than the full result: zeros after
    } else {
      if (a.auto_pad == "VALID") ap.pads[i] = ap.pads[nd + i] = 0;
      out[i] = full - ap.pads[i] - ap.pads[nd + i];
      if (out[i] < 0)
        ctx.fail("pads " + shape_str(ap.pads) + " remove more than the output of X " + shape_str(x.shape) +
                 " and W " + shape_str(w.shape) + " holds");
    }
  }
  std::vector<int64_t> y_shape = {x.shape[0], m};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  Value& y = ctx.alloc(0, DType::kFloat32, y_shape);
  if (y.numel() == 0) return;

  const F32ConvNdGeom g = nd_geom(x, m, a.group, ap, out);
  const F32GemmEpilogue ep = f32_gemm_epilogue(ctx.epilogue);
  const float* bias = b ? b->f32() : nullptr;
  if (nd > 2) {
    f32_conv_transpose_ref(x.f32(), w.f32(), bias, y.f32(), g, ep.act, ep.act_a, ep.act_b);
    return;
  }
  F32Conv2dGeom g2 = geom_2d(g);
  const size_t cin_g = static_cast<size_t>(c / a.group), cout_g = static_cast<size_t>(w.shape[1]);
  g2.c = cin_g;
  const size_t khw = g2.kh * g2.kw;
  const size_t in_img = static_cast<size_t>(c) * g2.h * g2.w, out_img = static_cast<size_t>(m) * g2.oh * g2.ow;
  std::vector<F32PackedA> local;
  const auto& packed = packed_weights(ctx, w, a.group, local, [&] {
    return f32_conv_transpose2d_pack_weights(w.f32(), static_cast<size_t>(a.group), cin_g, cout_g, khw);
  });
  for (int64_t n = 0; n < x.shape[0]; ++n)
    f32_conv_transpose2d(x.f32() + n * in_img, packed, bias, y.f32() + n * out_img, g2,
                         static_cast<size_t>(a.group), cout_g, ep);
}

}  // namespace

void register_ops_conv(OpTable& t) {
  t[static_cast<int>(Op::kConv)] = op_conv;
  t[static_cast<int>(Op::kConvTranspose)] = op_conv_transpose;
}

}  // namespace qp
