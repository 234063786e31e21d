// Ops of the layout family: data movement by element size (Transpose, Concat, Split, Slice, Pad, Gather, Expand,
// Tile, DepthToSpace, SpaceToDepth); every dtype the runtime holds.
#include <algorithm>
#include <cstring>

#include "core/runtime/kernels/layout_copy.h"
#include "core/runtime/kernels/layout_util.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

int64_t norm_axis(const OpContext& ctx, int64_t axis, int64_t rank, const Value& x) {
  int64_t a = axis;
  if (!axis_normalize(a, rank)) ctx.fail("axis " + std::to_string(axis) + " is out of range for " + x.describe());
  return a;
}

void op_transpose(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const size_t r = x.rank();
  std::vector<int64_t> perm;
  if (ctx.node.attr("perm")) {
    perm = ctx.node.attr_ints("perm");
  } else {
    for (size_t k = r; k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  }
  if (perm.size() != r) ctx.fail("perm " + shape_str(perm) + " does not fit " + x.describe());
  std::vector<bool> seen(r, false);
  std::vector<int64_t> out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t a = perm[k];
    if (a < 0 || a >= static_cast<int64_t>(r) || seen[static_cast<size_t>(a)])
      ctx.fail("perm " + shape_str(perm) + " is not a permutation of the axes of " + x.describe());
    seen[static_cast<size_t>(a)] = true;
    out[k] = x.shape[static_cast<size_t>(a)];
  }
  // Moving only size-1 axes keeps the bytes in order: hand the storage on.
  if (layout_transpose_is_view(x.shape, perm)) return (void)ctx.alias(0, 0, out);
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  layout_transpose(x.data, y.data, dtype_bytes(x.dtype), x.shape, perm);
}

void op_concat(OpContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  const Value& x0 = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x0.rank());
  if (r == 0) ctx.fail("cannot concatenate scalars (" + x0.describe() + ")");
  const Attribute* aa = ctx.node.attr("axis");
  if (!aa && ctx.opset >= 4) ctx.fail("needs the 'axis' attribute");
  const int64_t axis = norm_axis(ctx, aa ? aa->i : 1, r, x0);
  std::vector<int64_t> out = x0.shape;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Value& xi = ctx.req(i);
    bool ok = xi.dtype == x0.dtype && xi.rank() == x0.rank();
    for (size_t k = 0; ok && k < xi.rank(); ++k) ok = k == static_cast<size_t>(axis) || xi.shape[k] == x0.shape[k];
    if (!ok)
      ctx.fail("input " + std::to_string(i) + " is " + xi.describe() + ", expected " + dtype_name(x0.dtype) +
               " with the dims of input 0 " + shape_str(x0.shape) + " except on axis " + std::to_string(axis));
    out[static_cast<size_t>(axis)] += xi.shape[static_cast<size_t>(axis)];
  }
  Value& y = layout_alloc(ctx, 0, x0.dtype, out);
  if (y.numel() == 0) return;
  const size_t es = dtype_bytes(x0.dtype);
  const int64_t outer = shape_prod(out, 0, static_cast<size_t>(axis));
  const int64_t inner = shape_prod(out, static_cast<size_t>(axis) + 1, out.size());
  char* d = static_cast<char*>(y.data);
  std::vector<size_t> chunk(ctx.num_inputs());
  for (size_t i = 0; i < chunk.size(); ++i)
    chunk[i] = static_cast<size_t>(ctx.inputs[i]->shape[static_cast<size_t>(axis)] * inner) * es;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (!chunk[i]) continue;
      std::memcpy(d, static_cast<const char*>(ctx.inputs[i]->data) + static_cast<size_t>(o) * chunk[i], chunk[i]);
      d += chunk[i];
    }
}

void op_split(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x.rank());
  if (r == 0) ctx.fail("cannot split a scalar");
  const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), r, x);
  const int64_t dim = x.shape[static_cast<size_t>(axis)];
  const size_t nout = ctx.outputs.size();
  std::vector<int64_t> sizes;
  if (ctx.in(1)) {
    sizes = layout_ints_input(ctx, 1, "split");
  } else if (ctx.node.attr("split")) {
    sizes = ctx.node.attr_ints("split");
  } else if (const Attribute* no = ctx.node.attr("num_outputs")) {
    if (no->i < 1 || static_cast<size_t>(no->i) != nout)
      ctx.fail("num_outputs is " + std::to_string(no->i) + " but the node has " + std::to_string(nout) + " outputs");
    // Chunks of ceil(dim / n); the last ones take what is left.
    const int64_t chunk = (dim + no->i - 1) / no->i;
    for (int64_t i = 0; i < no->i; ++i) sizes.push_back(std::min(chunk, std::max<int64_t>(dim - i * chunk, 0)));
  } else {
    if (dim % static_cast<int64_t>(nout) != 0)
      ctx.fail("cannot split axis " + std::to_string(axis) + " of " + x.describe() + " into " + std::to_string(nout) +
               " equal parts");
    sizes.assign(nout, dim / static_cast<int64_t>(nout));
  }
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) ctx.fail("split " + shape_str(sizes) + " has a negative size");
    sum += s;
  }
  if (sizes.size() != nout || sum != dim)
    ctx.fail("split " + shape_str(sizes) + " does not divide axis " + std::to_string(axis) + " of " + x.describe() +
             " into " + std::to_string(nout) + " outputs");
  const size_t es = dtype_bytes(x.dtype);
  const int64_t outer = shape_prod(x.shape, 0, static_cast<size_t>(axis));
  const int64_t inner = shape_prod(x.shape, static_cast<size_t>(axis) + 1, x.shape.size());
  const size_t row = static_cast<size_t>(dim * inner) * es;
  size_t off = 0;
  for (size_t i = 0; i < nout; ++i) {
    std::vector<int64_t> s = x.shape;
    s[static_cast<size_t>(axis)] = sizes[i];
    Value& y = layout_alloc(ctx, i, x.dtype, s);
    const size_t chunk = static_cast<size_t>(sizes[i] * inner) * es;
    char* d = static_cast<char*>(y.data);
    if (chunk)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(d + static_cast<size_t>(o) * chunk, static_cast<const char*>(x.data) + static_cast<size_t>(o) * row + off, chunk);
    off += chunk;
  }
}

void op_slice(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x.rank());
  std::vector<int64_t> starts, ends, axes, steps;
  bool have_axes = false;
  if (!ctx.in(1) && ctx.node.attr("starts")) {  // opset < 10: attributes
    starts = ctx.node.attr_ints("starts");
    ends = ctx.node.attr_ints("ends");
    if (ctx.node.attr("axes")) axes = ctx.node.attr_ints("axes"), have_axes = true;
  } else {
    starts = layout_ints_input(ctx, 1, "starts");
    ends = layout_ints_input(ctx, 2, "ends");
    if (ctx.in(3)) axes = layout_ints_input(ctx, 3, "axes"), have_axes = true;
    if (ctx.in(4)) steps = layout_ints_input(ctx, 4, "steps");
  }
  const size_t k = starts.size();
  if (!have_axes)
    for (size_t i = 0; i < k; ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(k, 1);
  if (ends.size() != k || axes.size() != k || steps.size() != k)
    ctx.fail("starts " + shape_str(starts) + ", ends " + shape_str(ends) + ", axes " + shape_str(axes) + " and steps " +
             shape_str(steps) + " differ in length");
  std::vector<std::vector<int64_t>> tables(x.rank());
  std::vector<bool> done(x.rank(), false);
  std::vector<int64_t> out = x.shape;
  for (size_t i = 0; i < k; ++i) {
    const size_t a = static_cast<size_t>(norm_axis(ctx, axes[i], r, x));
    if (done[a]) ctx.fail("axis " + std::to_string(axes[i]) + " is sliced twice");
    done[a] = true;
    const int64_t d = x.shape[a], step = steps[i];
    if (step == 0) ctx.fail("step on axis " + std::to_string(axes[i]) + " is 0");
    int64_t s = starts[i], e = ends[i], n = 0;
    // Negative bounds count from the end; then clamp (huge INT64 values included) to the valid range.
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (d > 0) {
      if (step > 0) {
        s = std::min(std::max<int64_t>(s, 0), d);
        e = std::min(std::max<int64_t>(e, 0), d);
        n = e > s ? static_cast<int64_t>((static_cast<__int128>(e) - s - 1) / step + 1) : 0;
      } else {
        s = std::min(std::max<int64_t>(s, 0), d - 1);
        e = std::min(std::max<int64_t>(e, -1), d - 1);
        n = s > e ? static_cast<int64_t>((static_cast<__int128>(s) - e - 1) / -static_cast<__int128>(step) + 1) : 0;
      }
    }
    out[a] = n;
    tables[a].resize(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) tables[a][static_cast<size_t>(o)] = s + o * step;
  }
  for (size_t a = 0; a < x.rank(); ++a)
    if (!done[a]) {
      tables[a].resize(static_cast<size_t>(x.shape[a]));
      for (int64_t o = 0; o < x.shape[a]; ++o) tables[a][static_cast<size_t>(o)] = o;
    }
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  layout_gather_tables(x.data, x.shape, tables, y.data, dtype_bytes(x.dtype));
}

void op_pad(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const size_t r = x.rank();
  const size_t es = dtype_bytes(x.dtype);
  const std::string mode = ctx.node.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    ctx.fail("unknown mode '" + mode + "'");
  std::vector<int64_t> pads, axes;
  uint8_t elem[8] = {};
  if (!ctx.in(1) && (ctx.node.attr("pads") || ctx.node.attr("paddings"))) {  // opset < 11: attributes
    pads = ctx.node.attr_ints(ctx.node.attr("pads") ? "pads" : "paddings");
    if (!layout_store_scalar(x.dtype, ctx.node.attr_float("value", 0.0f), elem))
      ctx.fail("cannot pad " + x.describe());
  } else {
    pads = layout_ints_input(ctx, 1, "pads");
    if (const Value* cv = ctx.in(2)) {
      if (cv->dtype != x.dtype) ctx.fail("constant_value is " + cv->describe() + ", expected " + dtype_name(x.dtype));
      if (cv->numel() > 0) std::memcpy(elem, cv->data, es);
    }
    if (ctx.in(3)) axes = layout_ints_input(ctx, 3, "axes");
  }
  if (axes.empty() && !ctx.in(3))
    for (size_t a = 0; a < r; ++a) axes.push_back(static_cast<int64_t>(a));
  if (pads.size() != 2 * axes.size())
    ctx.fail("pads " + shape_str(pads) + " needs " + std::to_string(2 * axes.size()) + " values for " + x.describe());
  std::vector<int64_t> b(r, 0), e(r, 0), out(r);
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const size_t a = static_cast<size_t>(norm_axis(ctx, axes[i], static_cast<int64_t>(r), x));
    if (seen[a]) ctx.fail("axis " + std::to_string(axes[i]) + " is listed twice");
    seen[a] = true;
    b[a] = pads[i];
    e[a] = pads[i + axes.size()];
  }
  for (size_t a = 0; a < r; ++a) {
    out[a] = x.shape[a] + b[a] + e[a];
    if (out[a] < 0) ctx.fail("pads " + shape_str(pads) + " crop axis " + std::to_string(a) + " of " + x.describe() + " below zero");
  }
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  if (y.numel() == 0) return;
  if (mode == "constant") {
    layout_fill(y.data, elem, es, y.numel());
    std::vector<int64_t> ss(r), ds(r), box(r);
    for (size_t a = 0; a < r; ++a) {
      ss[a] = std::max<int64_t>(0, -b[a]);
      ds[a] = std::max<int64_t>(0, b[a]);
      box[a] = x.shape[a] - ss[a] - std::max<int64_t>(0, -e[a]);
    }
    layout_copy_box(x.data, x.shape, ss, y.data, out, ds, box, es);
    return;
  }
  std::vector<std::vector<int64_t>> tables(r);
  for (size_t a = 0; a < r; ++a) {
    const int64_t d = x.shape[a];
    if (d == 0) ctx.fail("cannot pad the empty axis " + std::to_string(a) + " of " + x.describe() + " in mode " + mode);
    tables[a].resize(static_cast<size_t>(out[a]));
    for (int64_t o = 0; o < out[a]; ++o) {
      int64_t i = o - b[a];
      if (mode == "edge") {
        i = std::min(std::max<int64_t>(i, 0), d - 1);
      } else if (mode == "wrap") {
        i = ((i % d) + d) % d;
      } else if (d == 1) {
        i = 0;
      } else {  // reflect: mirror without repeating the edge, periodic in 2(d-1)
        const int64_t p = 2 * (d - 1);
        i = ((i % p) + p) % p;
        if (i >= d) i = p - i;
      }
      tables[a][static_cast<size_t>(o)] = i;
    }
  }
  layout_gather_tables(x.data, x.shape, tables, y.data, es);
}

template <class T>
void gather_rows(const T* s, T* d, const std::vector<int64_t>& idx, int64_t outer, int64_t dim) {
  const size_t n = idx.size();
  for (int64_t o = 0; o < outer; ++o, d += n)
    for (size_t j = 0; j < n; ++j) d[j] = s[o * dim + idx[j]];
}

void op_gather(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const Value& iv = ctx.req(1);
  if (iv.dtype != DType::kInt64 && iv.dtype != DType::kInt32)
    ctx.fail("indices are " + iv.describe() + ", expected int32 or int64");
  const int64_t r = static_cast<int64_t>(x.rank());
  if (r == 0) ctx.fail("cannot gather from a scalar");
  const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), r, x);
  const int64_t dim = x.shape[static_cast<size_t>(axis)];
  std::vector<int64_t> idx;
  layout_read_ints(iv, idx);
  for (size_t j = 0; j < idx.size(); ++j) {
    const int64_t v = idx[j];
    if (v < -dim || v >= dim) {
      std::vector<int64_t> pos(iv.rank());
      int64_t rem = static_cast<int64_t>(j);
      for (size_t a = iv.rank(); a-- > 0;) pos[a] = rem % iv.shape[a], rem /= iv.shape[a];
      ctx.fail("index " + std::to_string(v) + " at position " + shape_str(pos) + " is out of range for axis " +
               std::to_string(axis) + " of " + x.describe());
    }
    if (v < 0) idx[j] = v + dim;
  }
  std::vector<int64_t> out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), iv.shape.begin(), iv.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  if (y.numel() == 0) return;
  const size_t es = dtype_bytes(x.dtype);
  const int64_t outer = shape_prod(x.shape, 0, static_cast<size_t>(axis));
  const int64_t inner = shape_prod(x.shape, static_cast<size_t>(axis) + 1, x.shape.size());
  if (inner == 1) {
    switch (es) {
      case 1: return gather_rows(x.ptr<uint8_t>(), y.ptr<uint8_t>(), idx, outer, dim);
      case 2: return gather_rows(x.ptr<uint16_t>(), y.ptr<uint16_t>(), idx, outer, dim);
      case 4: return gather_rows(x.ptr<uint32_t>(), y.ptr<uint32_t>(), idx, outer, dim);
      default: return gather_rows(x.ptr<uint64_t>(), y.ptr<uint64_t>(), idx, outer, dim);
    }
  }
  const size_t row = static_cast<size_t>(inner) * es;
  const char* s = static_cast<const char*>(x.data);
  char* d = static_cast<char*>(y.data);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx) {
      std::memcpy(d, s + static_cast<size_t>(o * dim + j) * row, row);
      d += row;
    }
}

void op_expand(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const std::vector<int64_t> shape = layout_ints_input(ctx, 1, "shape");
  std::vector<int64_t> out;
  for (int64_t d : shape)
    if (d < 0) ctx.fail("shape " + shape_str(shape) + " has a negative dim");
  if (!shape_broadcast(x.shape, shape, out)) ctx.fail("cannot broadcast " + x.describe() + " to " + shape_str(shape));
  if (shape_numel(out) == x.numel() && x.numel() > 0) return (void)ctx.alias(0, 0, out);  // only 1s added
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  std::vector<int64_t> xs(out.size() - x.rank(), 1);
  xs.insert(xs.end(), x.shape.begin(), x.shape.end());
  std::vector<std::vector<int64_t>> tables(out.size());
  for (size_t a = 0; a < out.size(); ++a) {
    tables[a].resize(static_cast<size_t>(out[a]));
    for (int64_t o = 0; o < out[a]; ++o) tables[a][static_cast<size_t>(o)] = xs[a] == out[a] ? o : 0;
  }
  layout_gather_tables(x.data, xs, tables, y.data, dtype_bytes(x.dtype));
}

void op_tile(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const std::vector<int64_t> reps = layout_ints_input(ctx, 1, "repeats");
  if (reps.size() != x.rank()) ctx.fail("repeats " + shape_str(reps) + " does not fit " + x.describe());
  std::vector<int64_t> out(x.rank());
  for (size_t a = 0; a < x.rank(); ++a) {
    if (reps[a] < 0) ctx.fail("repeats " + shape_str(reps) + " has a negative value");
    if (x.shape[a] != 0 && reps[a] > std::numeric_limits<int64_t>::max() / x.shape[a])
      ctx.fail("repeats " + shape_str(reps) + " overflow the output dims");
    out[a] = x.shape[a] * reps[a];
  }
  Value& y = layout_alloc(ctx, 0, x.dtype, out);
  if (y.numel() == 0) return;
  std::vector<std::vector<int64_t>> tables(x.rank());
  for (size_t a = 0; a < x.rank(); ++a) {
    tables[a].resize(static_cast<size_t>(out[a]));
    for (int64_t o = 0; o < out[a]; ++o) tables[a][static_cast<size_t>(o)] = o % x.shape[a];
  }
  layout_gather_tables(x.data, x.shape, tables, y.data, dtype_bytes(x.dtype));
}

int64_t blocksize(const OpContext& ctx, const Value& x) {
  const int64_t b = ctx.node.attr_int("blocksize", 0);
  if (b < 1) ctx.fail("needs a positive 'blocksize' attribute");
  if (x.rank() != 4) ctx.fail("expects a 4-D input, got " + x.describe());
  return b;
}

void op_depth_to_space(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t b = blocksize(ctx, x);
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  if (c % (b * b) != 0) ctx.fail("channels of " + x.describe() + " are not a multiple of blocksize^2 = " + std::to_string(b * b));
  const std::string mode = ctx.node.attr_string("mode", "DCR");
  std::vector<int64_t> s6, perm;
  if (mode == "DCR") s6 = {n, b, b, c / (b * b), h, w}, perm = {0, 3, 4, 1, 5, 2};
  else if (mode == "CRD") s6 = {n, c / (b * b), b, b, h, w}, perm = {0, 1, 4, 2, 5, 3};
  else ctx.fail("unknown mode '" + mode + "'");
  Value& y = layout_alloc(ctx, 0, x.dtype, {n, c / (b * b), h * b, w * b});
  layout_transpose(x.data, y.data, dtype_bytes(x.dtype), s6, perm);
}

void op_space_to_depth(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t b = blocksize(ctx, x);
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  if (h % b != 0 || w % b != 0)
    ctx.fail("height and width of " + x.describe() + " are not multiples of blocksize " + std::to_string(b));
  Value& y = layout_alloc(ctx, 0, x.dtype, {n, c * b * b, h / b, w / b});
  layout_transpose(x.data, y.data, dtype_bytes(x.dtype), {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4});
}

}  // namespace

void register_ops_layout(OpTable& t) {
  t[static_cast<int>(Op::kTranspose)] = op_transpose;
  t[static_cast<int>(Op::kConcat)] = op_concat;
  t[static_cast<int>(Op::kSplit)] = op_split;
  t[static_cast<int>(Op::kSlice)] = op_slice;
  t[static_cast<int>(Op::kPad)] = op_pad;
  t[static_cast<int>(Op::kGather)] = op_gather;
  t[static_cast<int>(Op::kExpand)] = op_expand;
  t[static_cast<int>(Op::kTile)] = op_tile;
  t[static_cast<int>(Op::kDepthToSpace)] = op_depth_to_space;
  t[static_cast<int>(Op::kSpaceToDepth)] = op_space_to_depth;
}

}  // namespace qp
