// Normalisations for inference: BatchNormalization (every opset form), InstanceNormalization, LayerNormalization.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_norm.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

bool wants_output(const OpContext& ctx, size_t i) {
  return i < ctx.outputs.size() && i < ctx.node.outputs.size() && !ctx.node.outputs[i].empty();
}

// A per-channel parameter: `count` floats (any shape holding exactly that many, e.g. [C] or [C,1,1]).
const float* channel_param(const OpContext& ctx, size_t i, const char* what, int64_t count, const Value& x) {
  const Value& p = ctx.req_f32(i);
  if (p.numel() != count)
    ctx.fail(std::string(what) + " is " + p.describe() + ", expected " + std::to_string(count) +
             " values for input " + x.describe());
  return p.f32();
}

void op_batch_norm(OpContext& ctx) {
  const Value& x = ctx.req_f32(0);
  if (ctx.node.attr_int("training_mode", 0) != 0)
    ctx.fail("training mode is not supported (training_mode=1); export the model for inference");
  // Before opset 14 the extra outputs exist only in training; an inference graph never asks for them.
  for (size_t i = 1; i < ctx.outputs.size(); ++i)
    if (wants_output(ctx, i))
      ctx.fail("output " + std::to_string(i) + " ('" + ctx.node.outputs[i] +
               "') holds training statistics; training mode is not supported");
  if (x.rank() < 2) ctx.fail("input " + x.describe() + " needs at least 2 dims (N, C, ...)");
  // spatial=0 (opsets 6-8): statistics per activation, i.e. per element of x.shape[1:] instead of per channel.
  const bool spatial = ctx.opset >= 9 || ctx.node.attr_int("spatial", 1) != 0;
  const int64_t channels = spatial ? x.shape[1] : shape_prod(x.shape, 1, x.rank());
  const int64_t plane = spatial ? shape_prod(x.shape, 2, x.rank()) : 1;
  const float* scale = channel_param(ctx, 1, "scale", channels, x);
  const float* bias = channel_param(ctx, 2, "B", channels, x);
  const float* mean = channel_param(ctx, 3, "mean", channels, x);
  const float* var = channel_param(ctx, 4, "var", channels, x);
  const double eps = ctx.node.attr_float("epsilon", 1e-5f);
  std::vector<float> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    // Folded in double so the per-element work is one mul+add without losing the reference's precision.
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    a[c] = static_cast<float>(scale[c] * inv);
    b[c] = static_cast<float>(bias[c] - mean[c] * (scale[c] * inv));
  }
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  const int64_t batch = x.shape[0];
  const float* xp = x.f32();
  float* yp = y.f32();
  if (plane == 1) {
    for (int64_t nb = 0; nb < batch; ++nb)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t k = nb * channels + c;
        yp[k] = xp[k] * a[c] + b[c];
      }
    return;
  }
  for (int64_t nb = 0; nb < batch; ++nb)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t off = (nb * channels + c) * plane;
      f32_scale_shift(xp + off, yp + off, static_cast<size_t>(plane), a[c], b[c]);
    }
}

void op_instance_norm(OpContext& ctx) {
  const Value& x = ctx.req_f32(0);
  if (x.rank() < 3) ctx.fail("input " + x.describe() + " needs at least 3 dims (N, C, D1, ...)");
  const int64_t channels = x.shape[1];
  const float* scale = channel_param(ctx, 1, "scale", channels, x);
  const float* bias = channel_param(ctx, 2, "B", channels, x);
  const double eps = ctx.node.attr_float("epsilon", 1e-5f);
  const int64_t plane = shape_prod(x.shape, 2, x.rank());
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  const int64_t batch = x.shape[0];
  for (int64_t nb = 0; nb < batch; ++nb)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t off = (nb * channels + c) * plane;
      double mean = 0, var = 0;
      f32_mean_var(x.f32() + off, static_cast<size_t>(plane), &mean, &var);
      const double a = scale[c] / std::sqrt(var + eps);
      f32_scale_shift(x.f32() + off, y.f32() + off, static_cast<size_t>(plane), static_cast<float>(a),
                      static_cast<float>(bias[c] - mean * a));
    }
}

// Scale/B broadcast (numpy, unidirectional) to the normalised shape, materialised once per call.
std::vector<float> expand_to(const OpContext& ctx, const Value& p, const char* what, const std::vector<int64_t>& norm) {
  std::vector<int64_t> out;
  if (p.rank() > norm.size() || !shape_broadcast(norm, p.shape, out) || out != norm)
    ctx.fail(std::string(what) + " " + p.describe() + " does not broadcast to the normalised shape " +
             shape_str(norm));
  const int64_t n = shape_numel(norm);
  std::vector<float> e(static_cast<size_t>(n));
  if (p.numel() == n) {
    for (int64_t i = 0; i < n; ++i) e[i] = p.f32()[i];
    return e;
  }
  const std::vector<int64_t> st = shape_broadcast_strides(p.shape, norm);
  std::vector<int64_t> idx(norm.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < norm.size(); ++k) off += idx[k] * st[k];
    e[i] = p.f32()[off];
    for (size_t k = norm.size(); k-- > 0;) {
      if (++idx[k] < norm[k]) break;
      idx[k] = 0;
    }
  }
  return e;
}

void op_layer_norm(OpContext& ctx) {
  const Value& x = ctx.req_f32(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = ctx.node.attr_int("axis", -1);
  const int64_t given = axis;
  if (!axis_normalize(axis, rank))
    ctx.fail("axis " + std::to_string(given) + " is out of range for input " + x.describe());
  const int64_t stash = ctx.node.attr_int("stash_type", 1);
  if (stash != 1 && stash != 11 && stash != 10 && stash != 16)
    ctx.fail("stash_type " + std::to_string(stash) + " is not a float type");
  const size_t a = static_cast<size_t>(axis);
  const std::vector<int64_t> norm(x.shape.begin() + axis, x.shape.end());
  const int64_t outer = shape_prod(x.shape, 0, a), n = shape_prod(x.shape, a, x.rank());
  const std::vector<float> w = expand_to(ctx, ctx.req_f32(1), "Scale", norm);
  std::vector<float> b;
  if (ctx.in(2)) b = expand_to(ctx, ctx.req_f32(2), "B", norm);
  const float eps = ctx.node.attr_float("epsilon", 1e-5f);
  std::vector<int64_t> stat_shape(x.shape.begin(), x.shape.begin() + axis);
  stat_shape.resize(x.rank(), 1);
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  float* mean_out = wants_output(ctx, 1) ? ctx.alloc(1, DType::kFloat32, stat_shape).f32() : nullptr;
  float* inv_out = wants_output(ctx, 2) ? ctx.alloc(2, DType::kFloat32, stat_shape).f32() : nullptr;
  for (int64_t o = 0; o < outer; ++o) {
    const float* xr = x.f32() + o * n;
    double mean = 0, var = 0;
    f32_mean_var(xr, static_cast<size_t>(n), &mean, &var);
    // As the function body does: float Var + epsilon, Sqrt, Reciprocal.
    const float inv = 1.0f / std::sqrt(static_cast<float>(var) + eps);
    f32_layernorm_row(xr, y.f32() + o * n, static_cast<size_t>(n), static_cast<float>(mean), inv, w.data(),
                      b.empty() ? nullptr : b.data());
    if (mean_out) mean_out[o] = static_cast<float>(mean);
    if (inv_out) inv_out[o] = inv;
  }
}

}  // namespace

void register_ops_norm(OpTable& t) {
  t[static_cast<int>(Op::kBatchNormalization)] = op_batch_norm;
  t[static_cast<int>(Op::kInstanceNormalization)] = op_instance_norm;
  t[static_cast<int>(Op::kLayerNormalization)] = op_layer_norm;
}

}  // namespace qp
