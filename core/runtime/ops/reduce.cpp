// Reductions: ReduceMean/Sum/Max/Min/L2 (axes as attribute or input, keepdims, noop_with_empty_axes) and ArgMax.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_reduce.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

enum class Kind { kMean, kSum, kMax, kMin, kL2 };

// The reduced axes (sorted, unique) or an empty list meaning "none given".
std::vector<int64_t> reduce_axes(const OpContext& ctx, const Value& x, bool axes_input) {
  std::vector<int64_t> axes;
  const Value* a = axes_input ? ctx.in(1) : nullptr;
  if (a) {
    if (a->rank() > 1) ctx.fail("axes input is " + a->describe() + ", expected a 1-D tensor");
    if (a->dtype == DType::kInt64) axes.assign(a->ptr<int64_t>(), a->ptr<int64_t>() + a->numel());
    else if (a->dtype == DType::kInt32) axes.assign(a->ptr<int32_t>(), a->ptr<int32_t>() + a->numel());
    else ctx.fail("axes input is " + a->describe() + ", expected int64");
  } else if (ctx.node.attr("axes")) {
    // Before opset 18 (13 for ReduceSum) axes is an attribute; also accepted later when the input is absent.
    axes = ctx.node.attr_ints("axes");
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  for (int64_t& ax : axes) {
    const int64_t given = ax;
    if (!axis_normalize(ax, rank))
      ctx.fail("axis " + std::to_string(given) + " is out of range for input " + x.describe());
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    ctx.fail("axes " + shape_str(axes) + " repeat an axis");
  return axes;
}

// Integer and bool reductions: one pass over the input with an odometer; accumulate in the widest type.
template <class T, class Acc>
void reduce_direct(const Value& x, const std::vector<bool>& red, Kind kind, Value& y) {
  const size_t r = x.rank();
  std::vector<int64_t> kept(r);
  for (size_t i = 0; i < r; ++i) kept[i] = red[i] ? 1 : x.shape[i];
  const std::vector<int64_t> ost = shape_strides(kept);
  const int64_t out_n = shape_numel(kept);
  std::vector<Acc> acc(static_cast<size_t>(out_n));
  const Acc init = kind == Kind::kMax ? static_cast<Acc>(std::numeric_limits<T>::lowest())
                   : kind == Kind::kMin ? static_cast<Acc>(std::numeric_limits<T>::max()) : Acc(0);
  std::fill(acc.begin(), acc.end(), init);
  std::vector<int64_t> idx(r, 0);
  const T* xp = x.ptr<T>();
  const int64_t n = x.numel();
  for (int64_t e = 0; e < n; ++e) {
    int64_t o = 0;
    for (size_t i = 0; i < r; ++i)
      if (!red[i]) o += idx[i] * ost[i];
    const Acc v = static_cast<Acc>(xp[e]);
    Acc& a = acc[static_cast<size_t>(o)];
    a = kind == Kind::kMax ? std::max(a, v) : kind == Kind::kMin ? std::min(a, v) : static_cast<Acc>(a + v);
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < x.shape[i]) break;
      idx[i] = 0;
    }
  }
  for (int64_t i = 0; i < out_n; ++i) y.ptr<T>()[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
}

// Float reductions through the row/column kernels. Dims are coalesced into alternating kept/reduced groups;
// each pass removes the innermost reduced group ([outer, rows, inner] -> rows or columns kernel).
void reduce_f32(const Value& x, const std::vector<bool>& red, Kind kind, Value& y) {
  std::vector<int64_t> size;
  std::vector<bool> is_red;
  int64_t count = 1;
  for (size_t i = 0; i < x.rank(); ++i) {
    if (red[i]) count *= x.shape[i];
    if (x.shape[i] == 1) continue;
    if (!is_red.empty() && is_red.back() == red[i]) {
      size.back() *= x.shape[i];
    } else {
      size.push_back(x.shape[i]);
      is_red.push_back(red[i]);
    }
  }
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  auto finish = [&](double v) -> float {
    if (kind == Kind::kMean) return static_cast<float>(v / static_cast<double>(count));
    if (kind == Kind::kL2) return static_cast<float>(std::sqrt(v));
    return static_cast<float>(v);
  };
  ReduceOp op = kind == Kind::kMax ? ReduceOp::kMax : kind == Kind::kMin ? ReduceOp::kMin
                : kind == Kind::kL2 ? ReduceOp::kSumSquares : ReduceOp::kSum;
  const float* cur = x.f32();
  std::vector<float> partial[2];
  int which = 0;
  for (;;) {
    int64_t g = -1;
    for (size_t i = 0; i < is_red.size(); ++i)
      if (is_red[i]) g = static_cast<int64_t>(i);
    if (g < 0) break;
    const int64_t outer = shape_prod(size, 0, static_cast<size_t>(g)), rows = size[g];
    const int64_t inner = shape_prod(size, static_cast<size_t>(g) + 1, size.size());
    bool last = true;
    for (int64_t i = 0; i < g; ++i) last = last && !is_red[i];
    // The last pass writes the output (finishing from the double row sums); earlier ones keep float partials.
    float* dst = y.f32();
    if (!last) {
      partial[which].assign(static_cast<size_t>(outer * inner), 0.0f);
      dst = partial[which].data();
    }
    for (int64_t o = 0; o < outer; ++o) {
      const float* src = cur + o * rows * inner;
      if (inner == 1) {
        const double v = f32_reduce_row(src, static_cast<size_t>(rows), op);
        dst[o] = last ? finish(v) : static_cast<float>(v);
      } else {
        f32_reduce_cols(src, static_cast<size_t>(rows), static_cast<size_t>(inner), op, dst + o * inner);
        if (last)
          for (int64_t i = 0; i < inner; ++i) dst[o * inner + i] = finish(dst[o * inner + i]);
      }
    }
    if (last) return;
    cur = dst;
    which ^= 1;
    size.erase(size.begin() + g);
    is_red.erase(is_red.begin() + g);
    if (op == ReduceOp::kSumSquares) op = ReduceOp::kSum;  // partial sums of squares are summed further
    if (g > 0 && static_cast<size_t>(g) < size.size() && !is_red[g - 1] && !is_red[g]) {
      size[g - 1] *= size[g];
      size.erase(size.begin() + g);
      is_red.erase(is_red.begin() + g);
    }
  }
  // No pass ran: every reduced dim has size 1, so each output is one input element (|x| for L2).
  for (int64_t i = 0; i < out_n; ++i) y.f32()[i] = kind == Kind::kL2 ? std::fabs(cur[i]) : cur[i];
}

void reduce_common(OpContext& ctx, Kind kind) {
  const Value& x = ctx.req(0);
  const bool axes_input = ctx.node.op == Op::kReduceSum ? ctx.opset >= 13 : ctx.opset >= 18;
  const std::vector<int64_t> axes = reduce_axes(ctx, x, axes_input);
  const bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  if (axes.empty() && ctx.node.attr_int("noop_with_empty_axes", 0) != 0) {
    ctx.alias(0, 0, x.shape);
    return;
  }
  std::vector<bool> red(x.rank(), axes.empty());
  for (int64_t a : axes) red[static_cast<size_t>(a)] = true;
  std::vector<int64_t> shape;
  for (size_t i = 0; i < x.rank(); ++i) {
    if (!red[i]) shape.push_back(x.shape[i]);
    else if (keepdims) shape.push_back(1);
  }
  const bool minmax = kind == Kind::kMax || kind == Kind::kMin;
  const bool int_ok = kind == Kind::kSum || minmax;
  switch (x.dtype) {
    case DType::kFloat32: return reduce_f32(x, red, kind, ctx.alloc(0, x.dtype, shape));
    case DType::kInt64:
      if (int_ok) return reduce_direct<int64_t, int64_t>(x, red, kind, ctx.alloc(0, x.dtype, shape));
      break;
    case DType::kInt32:
      if (int_ok) return reduce_direct<int32_t, int64_t>(x, red, kind, ctx.alloc(0, x.dtype, shape));
      break;
    case DType::kUint8:
    case DType::kBool:
      if (minmax) return reduce_direct<uint8_t, int64_t>(x, red, kind, ctx.alloc(0, x.dtype, shape));
      break;
    case DType::kInt8:
      if (minmax) return reduce_direct<int8_t, int64_t>(x, red, kind, ctx.alloc(0, x.dtype, shape));
      break;
    default: break;
  }
  ctx.fail("input 0 is " + dtype_name(x.dtype) + "; only float32 is supported" +
           (int_ok ? " (and int32/int64" + std::string(minmax ? "/uint8/int8/bool" : "") + ")" : ""));
}

template <class T>
void argmax_typed(const Value& x, int64_t outer, int64_t n, int64_t inner, bool last, int64_t* out) {
  const T* xp = x.ptr<T>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* s = xp + o * n * inner + i;
      int64_t best = 0;
      for (int64_t r = 1; r < n; ++r) {
        const T v = s[r * inner], b = s[best * inner];
        if (last ? v >= b : v > b) best = r;
      }
      out[o * inner + i] = best;
    }
}

void op_argmax(OpContext& ctx) {
  const Value& x = ctx.req(0);
  int64_t axis = ctx.node.attr_int("axis", 0);
  const int64_t given = axis;
  if (!axis_normalize(axis, static_cast<int64_t>(x.rank())))
    ctx.fail("axis " + std::to_string(given) + " is out of range for input " + x.describe());
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = shape_prod(x.shape, 0, a), n = x.shape[a], inner = shape_prod(x.shape, a + 1, x.rank());
  std::vector<int64_t> shape = x.shape;
  if (ctx.node.attr_int("keepdims", 1) != 0) shape[a] = 1;
  else shape.erase(shape.begin() + axis);
  const bool last = ctx.node.attr_int("select_last_index", 0) != 0;
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kInt32 && x.dtype != DType::kInt64 &&
      x.dtype != DType::kUint8 && x.dtype != DType::kInt8)
    ctx.fail("input 0 is " + dtype_name(x.dtype) + "; only float32 (and int32/int64/uint8/int8) is supported");
  if (n == 0 && outer * inner > 0) ctx.fail("cannot take ArgMax over axis " + std::to_string(given) +
                                           " of size 0 in input " + x.describe());
  int64_t* out = ctx.alloc(0, DType::kInt64, shape).ptr<int64_t>();
  switch (x.dtype) {
    case DType::kFloat32: return argmax_typed<float>(x, outer, n, inner, last, out);
    case DType::kInt32: return argmax_typed<int32_t>(x, outer, n, inner, last, out);
    case DType::kInt64: return argmax_typed<int64_t>(x, outer, n, inner, last, out);
    case DType::kUint8: return argmax_typed<uint8_t>(x, outer, n, inner, last, out);
    default: return argmax_typed<int8_t>(x, outer, n, inner, last, out);
  }
}

void op_reduce_mean(OpContext& ctx) { reduce_common(ctx, Kind::kMean); }
void op_reduce_sum(OpContext& ctx) { reduce_common(ctx, Kind::kSum); }
void op_reduce_max(OpContext& ctx) { reduce_common(ctx, Kind::kMax); }
void op_reduce_min(OpContext& ctx) { reduce_common(ctx, Kind::kMin); }
void op_reduce_l2(OpContext& ctx) { reduce_common(ctx, Kind::kL2); }

}  // namespace

void register_ops_reduce(OpTable& t) {
  t[static_cast<int>(Op::kReduceMean)] = op_reduce_mean;
  t[static_cast<int>(Op::kReduceSum)] = op_reduce_sum;
  t[static_cast<int>(Op::kReduceMax)] = op_reduce_max;
  t[static_cast<int>(Op::kReduceMin)] = op_reduce_min;
  t[static_cast<int>(Op::kReduceL2)] = op_reduce_l2;
  t[static_cast<int>(Op::kArgMax)] = op_argmax;
}

}  // namespace qp
