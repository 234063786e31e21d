// Ops of the shape family: views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout), shape queries
// (Shape, Size), constants (Constant, ConstantOfShape, Range) and Cast.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/runtime/kernels/layout_copy.h"
#include "core/runtime/kernels/layout_util.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

std::string n_elems(const Value& v) { return v.describe() + " (" + std::to_string(v.numel()) + " elements)"; }

// Axes from input `idx` (opset 13+ form) or else the `axes` attribute (older form); false when neither is given.
bool axes_from(const OpContext& ctx, size_t idx, std::vector<int64_t>& axes) {
  if (ctx.in(idx)) {
    axes = layout_ints_input(ctx, idx, "axes");
    return true;
  }
  if (const Attribute* a = ctx.node.attr("axes")) {
    axes = a->ints;
    return true;
  }
  return false;
}

void op_reshape(OpContext& ctx) {
  const Value& x = ctx.req(0);
  std::vector<int64_t> spec;
  if (ctx.in(1)) spec = layout_ints_input(ctx, 1, "shape");
  else if (ctx.node.attr("shape")) spec = ctx.node.attr_ints("shape");  // opset < 5
  else ctx.fail("needs a 'shape' input");
  const bool allowzero = ctx.node.attr_int("allowzero", 0) != 0;
  const int64_t n = x.numel();
  const std::string what = "cannot reshape " + n_elems(x) + " to " + shape_str(spec);
  std::vector<int64_t> out(spec.size());
  int64_t infer = -1, known = 1;
  bool overflow = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (infer >= 0) ctx.fail(what + ": more than one -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (d == 0 && !allowzero) {
      if (i >= x.rank()) ctx.fail(what + ": 0 at position " + std::to_string(i) + " copies a dim the input lacks");
      d = x.shape[i];
    }
    if (d < 0) ctx.fail(what + ": negative dim " + std::to_string(d));
    out[i] = d;
    if (d != 0 && known > std::numeric_limits<int64_t>::max() / d) overflow = true;
    else known *= d;
  }
  if (overflow) ctx.fail(what);
  if (infer >= 0) {
    if (known == 0 || n % known != 0) ctx.fail(what);
    out[static_cast<size_t>(infer)] = n / known;
  } else if (known != n) {
    ctx.fail(what);
  }
  ctx.alias(0, 0, out);
}

void op_flatten(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x.rank());
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (axis < -r || axis > r) ctx.fail("axis " + std::to_string(axis) + " is out of range for " + x.describe());
  if (axis < 0) axis += r;
  ctx.alias(0, 0, {shape_prod(x.shape, 0, static_cast<size_t>(axis)), shape_prod(x.shape, static_cast<size_t>(axis), x.rank())});
}

void op_squeeze(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes;
  std::vector<bool> drop(x.rank(), false);
  if (axes_from(ctx, 1, axes)) {
    for (int64_t a : axes) {
      int64_t k = a;
      if (!axis_normalize(k, r)) ctx.fail("axis " + std::to_string(a) + " is out of range for " + x.describe());
      if (drop[static_cast<size_t>(k)]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
      if (x.shape[static_cast<size_t>(k)] != 1)
        ctx.fail("cannot squeeze axis " + std::to_string(a) + " of " + x.describe() + ": its size is " +
                 std::to_string(x.shape[static_cast<size_t>(k)]));
      drop[static_cast<size_t>(k)] = true;
    }
  } else {
    for (size_t k = 0; k < x.rank(); ++k) drop[k] = x.shape[k] == 1;
  }
  std::vector<int64_t> out;
  for (size_t k = 0; k < x.rank(); ++k)
    if (!drop[k]) out.push_back(x.shape[k]);
  ctx.alias(0, 0, out);
}

void op_unsqueeze(OpContext& ctx) {
  const Value& x = ctx.req(0);
  std::vector<int64_t> axes;
  if (!axes_from(ctx, 1, axes)) ctx.fail("needs axes");
  const int64_t r = static_cast<int64_t>(x.rank() + axes.size());
  std::vector<bool> ins(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    int64_t k = a;
    if (!axis_normalize(k, r))
      ctx.fail("axis " + std::to_string(a) + " is out of range for an output of rank " + std::to_string(r));
    if (ins[static_cast<size_t>(k)]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
    ins[static_cast<size_t>(k)] = true;
  }
  std::vector<int64_t> out;
  size_t j = 0;
  for (int64_t k = 0; k < r; ++k) out.push_back(ins[static_cast<size_t>(k)] ? 1 : x.shape[j++]);
  ctx.alias(0, 0, out);
}

void op_shape(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const int64_t r = static_cast<int64_t>(x.rank());
  auto clampi = [r](int64_t v) { return std::min(std::max(v < 0 ? v + r : v, int64_t{0}), r); };
  const int64_t s = clampi(ctx.node.attr_int("start", 0)), e = clampi(ctx.node.attr_int("end", r));
  const int64_t len = std::max<int64_t>(e - s, 0);
  Value& y = ctx.alloc(0, DType::kInt64, {len});
  for (int64_t i = 0; i < len; ++i) y.ptr<int64_t>()[i] = x.shape[static_cast<size_t>(s + i)];
}

void op_size(OpContext& ctx) {
  const Value& x = ctx.req(0);
  ctx.alloc(0, DType::kInt64, {}).ptr<int64_t>()[0] = x.numel();
}

void op_identity(OpContext& ctx) { ctx.alias(0, 0, ctx.req(0).shape); }

void op_dropout(OpContext& ctx) {
  const Value& x = ctx.req(0);
  if (const Value* tm = ctx.in(2)) {
    if (tm->numel() > 0 && value_to_doubles(*tm)[0] != 0) ctx.fail("training mode is not supported");
  }
  ctx.alias(0, 0, x.shape);
  if (ctx.outputs.size() > 1 && !ctx.node.outputs[1].empty()) {
    // Inference keeps every element: the mask is all true (bool from opset 10, the input's type before).
    const DType mt = ctx.opset >= 10 ? DType::kBool : x.dtype;
    Value& m = layout_alloc(ctx, 1, mt, x.shape);
    uint8_t one[8] = {};
    if (!layout_store_scalar(mt, 1.0, one)) ctx.fail("cannot write a mask of type " + dtype_name(mt));
    layout_fill(m.data, one, dtype_bytes(mt), m.numel());
  }
}

// A tensor attribute copied into output 0 (its dtype as loaded: float16 tensors arrive widened to float32).
void emit_tensor(OpContext& ctx, const Tensor& t, const char* what) {
  try {
    (void)dtype_bytes(t.dtype);
  } catch (const Error&) {
    ctx.fail(std::string(what) + " holds " + dtype_name(t.dtype) + " data, which the runtime cannot hold");
  }
  Value& y = layout_alloc(ctx, 0, t.dtype, t.dims);
  if (t.data.size() < y.bytes())
    ctx.fail(std::string(what) + " holds " + std::to_string(t.data.size()) + " bytes, expected " +
             std::to_string(y.bytes()) + " for " + y.describe());
  if (y.bytes()) std::memcpy(y.data, t.data.data(), y.bytes());
}

void op_constant(OpContext& ctx) {
  const Node& n = ctx.node;
  if (const Attribute* a = n.attr("value")) {
    if (a->type != AttrType::kTensor) ctx.fail("attribute 'value' is not a tensor");
    return emit_tensor(ctx, a->t, "attribute 'value'");
  }
  if (const Attribute* a = n.attr("value_float")) {
    ctx.alloc(0, DType::kFloat32, {}).f32()[0] = a->f;
    return;
  }
  if (const Attribute* a = n.attr("value_floats")) {
    Value& y = ctx.alloc(0, DType::kFloat32, {static_cast<int64_t>(a->floats.size())});
    if (!a->floats.empty()) std::memcpy(y.data, a->floats.data(), a->floats.size() * sizeof(float));
    return;
  }
  if (const Attribute* a = n.attr("value_int")) {
    ctx.alloc(0, DType::kInt64, {}).ptr<int64_t>()[0] = a->i;
    return;
  }
  if (const Attribute* a = n.attr("value_ints")) {
    Value& y = ctx.alloc(0, DType::kInt64, {static_cast<int64_t>(a->ints.size())});
    if (!a->ints.empty()) std::memcpy(y.data, a->ints.data(), a->ints.size() * sizeof(int64_t));
    return;
  }
  for (const char* s : {"sparse_value", "value_string", "value_strings"})
    if (n.attr(s)) ctx.fail(std::string("attribute '") + s + "' is not supported");
  ctx.fail("has no value attribute");
}

void op_constant_of_shape(OpContext& ctx) {
  const std::vector<int64_t> shape = layout_ints_input(ctx, 0, "shape");
  for (int64_t d : shape)
    if (d < 0) ctx.fail("shape " + shape_str(shape) + " has a negative dim");
  DType t = DType::kFloat32;
  uint8_t elem[8] = {};
  if (const Attribute* a = ctx.node.attr("value")) {
    if (a->type != AttrType::kTensor) ctx.fail("attribute 'value' is not a tensor");
    t = a->t.dtype;
    size_t es = 0;
    try {
      es = dtype_bytes(t);
    } catch (const Error&) {
      ctx.fail("attribute 'value' holds " + dtype_name(t) + " data, which the runtime cannot hold");
    }
    if (a->t.data.size() < es) ctx.fail("attribute 'value' holds no element");
    std::memcpy(elem, a->t.data.data(), es);
  }
  Value& y = layout_alloc(ctx, 0, t, shape);
  layout_fill(y.data, elem, dtype_bytes(t), y.numel());
}

// ---- Cast ----

struct F16 { uint16_t v; };
struct BF16 { uint16_t v; };
struct Bool8 { uint8_t v; };

template <class T> constexpr bool kFloaty =
    std::is_same<T, float>::value || std::is_same<T, double>::value || std::is_same<T, F16>::value ||
    std::is_same<T, BF16>::value;

template <class S> double to_double(S s) {
  if constexpr (std::is_same<S, F16>::value) return f16_to_f32(s.v);
  else if constexpr (std::is_same<S, BF16>::value) return bf16_to_f32(s.v);
  else return static_cast<double>(s);
}

template <class D> D from_double(double x) {
  if constexpr (std::is_same<D, F16>::value) return D{layout_f32_to_f16(static_cast<float>(x))};
  else if constexpr (std::is_same<D, BF16>::value) return D{layout_f32_to_bf16(static_cast<float>(x))};
  else if constexpr (std::is_same<D, Bool8>::value) return D{static_cast<uint8_t>(x != 0)};
  else if constexpr (std::is_floating_point<D>::value) return static_cast<D>(x);
  else return layout_saturate<D>(x);  // out-of-range floats saturate and NaN gives 0 instead of undefined behaviour
}

template <class S, class D> D cast_one(S s) {
  if constexpr (std::is_same<S, Bool8>::value) {
    return cast_one<uint8_t, D>(static_cast<uint8_t>(s.v != 0));
  } else if constexpr (kFloaty<S>) {
    return from_double<D>(to_double(s));
  } else if constexpr (std::is_same<D, Bool8>::value) {
    return D{static_cast<uint8_t>(s != 0)};
  } else if constexpr (kFloaty<D>) {
    if constexpr (std::is_same<D, float>::value) return static_cast<float>(s);  // one rounding, not two
    else return from_double<D>(static_cast<double>(s));
  } else {
    return static_cast<D>(s);  // integer to integer wraps modulo 2^bits, as numpy's astype does
  }
}

template <class S, class D> void cast_loop(const void* src, void* dst, int64_t n) {
  const S* s = static_cast<const S*>(src);
  D* d = static_cast<D*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = cast_one<S, D>(s[i]);
}

// Calls f(tag) with a value of the C++ type holding dtype t; false for dtypes Cast does not handle.
template <class F> bool with_type(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: f(float{}); return true;
    case DType::kFloat64: f(double{}); return true;
    case DType::kFloat16: f(F16{}); return true;
    case DType::kBFloat16: f(BF16{}); return true;
    case DType::kBool: f(Bool8{}); return true;
    case DType::kInt8: f(int8_t{}); return true;
    case DType::kInt16: f(int16_t{}); return true;
    case DType::kInt32: f(int32_t{}); return true;
    case DType::kInt64: f(int64_t{}); return true;
    case DType::kUint8: f(uint8_t{}); return true;
    case DType::kUint16: f(uint16_t{}); return true;
    case DType::kUint32: f(uint32_t{}); return true;
    case DType::kUint64: f(uint64_t{}); return true;
    default: return false;
  }
}

void cast_to(OpContext& ctx, int64_t to_code) {
  const Value& x = ctx.req(0);
  const DType to = static_cast<DType>(to_code);
  const std::string to_name =
      dtype_is_known(static_cast<int32_t>(to_code)) ? dtype_name(to) : "dtype(" + std::to_string(to_code) + ")";
  auto unsupported = [&](DType t) {
    const std::string nm = t == to ? to_name : dtype_name(t);
    ctx.fail("cannot cast " + x.describe() + " to " + to_name + ": " + nm + " is not supported");
  };
  if (!with_type(x.dtype, [](auto) {})) unsupported(x.dtype);
  if (!with_type(to, [](auto) {})) unsupported(to);
  if (to == x.dtype) return (void)ctx.alias(0, 0, x.shape);
  Value& y = layout_alloc(ctx, 0, to, x.shape);
  const int64_t n = x.numel();
  with_type(x.dtype, [&](auto s) {
    with_type(to, [&](auto d) { cast_loop<decltype(s), decltype(d)>(x.data, y.data, n); });
  });
}

void op_cast(OpContext& ctx) {
  const Attribute* a = ctx.node.attr("to");
  if (!a || a->type != AttrType::kInt) ctx.fail("needs the 'to' attribute");
  cast_to(ctx, a->i);
}

// CastLike (opset 15): Cast to the type of the second input; its function bodies use it everywhere.
void op_cast_like(OpContext& ctx) { cast_to(ctx, static_cast<int64_t>(ctx.req(1).dtype)); }

// ---- Range ----

template <class T> void range_fill(Value& y, T start, T delta) {
  T* p = y.ptr<T>();
  const int64_t n = y.numel();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<T>(i) * delta);
}

void op_range(OpContext& ctx) {
  const Value &s = ctx.req(0), &l = ctx.req(1), &d = ctx.req(2);
  for (size_t i = 0; i < 3; ++i) {
    const Value& v = ctx.req(i);
    if (v.numel() != 1) ctx.fail("input " + std::to_string(i) + " must be a scalar, got " + v.describe());
    if (v.dtype != s.dtype) ctx.fail("inputs have different types: " + s.describe() + " and " + v.describe());
  }
  constexpr int64_t kMaxElems = int64_t{1} << 31;
  auto count_check = [&](double n) {
    if (!(n <= static_cast<double>(kMaxElems)))
      ctx.fail("would produce " + std::to_string(n) + " elements");
  };
  if (s.dtype == DType::kFloat32 || s.dtype == DType::kFloat64) {
    std::vector<double> a, b, c;
    layout_read_floats(s, a), layout_read_floats(l, b), layout_read_floats(d, c);
    if (!(c[0] != 0) || std::isnan(a[0]) || std::isnan(b[0]))
      ctx.fail("needs a nonzero delta and numbers for start and limit");
    const double n = std::max(std::ceil((b[0] - a[0]) / c[0]), 0.0);
    count_check(n);
    Value& y = ctx.alloc(0, s.dtype, {static_cast<int64_t>(n)});
    if (s.dtype == DType::kFloat32) range_fill<float>(y, static_cast<float>(a[0]), static_cast<float>(c[0]));
    else range_fill<double>(y, a[0], c[0]);
    return;
  }
  std::vector<int64_t> a, b, c;
  if (!layout_read_ints(s, a) || !layout_read_ints(l, b) || !layout_read_ints(d, c) ||
      !(s.dtype == DType::kInt16 || s.dtype == DType::kInt32 || s.dtype == DType::kInt64))
    ctx.fail("unsupported type " + dtype_name(s.dtype));
  if (c[0] == 0) ctx.fail("delta must be nonzero");
  // Exact count in 128 bits: limit - start may overflow int64.
  const __int128 diff = static_cast<__int128>(b[0]) - a[0], dl = c[0];
  __int128 n = 0;
  if (dl > 0 && diff > 0) n = (diff + dl - 1) / dl;
  if (dl < 0 && diff < 0) n = (-diff + -dl - 1) / -dl;
  count_check(static_cast<double>(n));
  Value& y = ctx.alloc(0, s.dtype, {static_cast<int64_t>(n)});
  switch (s.dtype) {
    case DType::kInt16: range_fill<int16_t>(y, static_cast<int16_t>(a[0]), static_cast<int16_t>(c[0])); break;
    case DType::kInt32: range_fill<int32_t>(y, static_cast<int32_t>(a[0]), static_cast<int32_t>(c[0])); break;
    default: range_fill<int64_t>(y, a[0], c[0]); break;
  }
}

}  // namespace

void register_ops_shape(OpTable& t) {
  t[static_cast<int>(Op::kReshape)] = op_reshape;
  t[static_cast<int>(Op::kFlatten)] = op_flatten;
  t[static_cast<int>(Op::kSqueeze)] = op_squeeze;
  t[static_cast<int>(Op::kUnsqueeze)] = op_unsqueeze;
  t[static_cast<int>(Op::kShape)] = op_shape;
  t[static_cast<int>(Op::kSize)] = op_size;
  t[static_cast<int>(Op::kIdentity)] = op_identity;
  t[static_cast<int>(Op::kDropout)] = op_dropout;
  t[static_cast<int>(Op::kConstant)] = op_constant;
  t[static_cast<int>(Op::kConstantOfShape)] = op_constant_of_shape;
  t[static_cast<int>(Op::kCast)] = op_cast;
  t[static_cast<int>(Op::kCastLike)] = op_cast_like;
  t[static_cast<int>(Op::kRange)] = op_range;
}

}  // namespace qp
