// Ops of the elementwise family: arithmetic, comparisons, logic, Where, activations and math functions, with numpy
// broadcasting (and the opset < 7 `broadcast`/`axis` form); float32 runs on the SIMD kernels, other types on
// scalar loops over the same broadcast plan.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/runtime/kernels/f32_binary.h"
#include "core/runtime/kernels/f32_unary.h"
#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

// --- dtypes ------------------------------------------------------------------------------------------------------

template <class T>
struct Tag {
  using type = T;
};

// Calls f(Tag<T>{}) with the C++ type of a numeric dtype; false when t is not numeric (bool, float16, ...).
template <class F>
bool visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: f(Tag<float>{}); return true;
    case DType::kFloat64: f(Tag<double>{}); return true;
    case DType::kInt8: f(Tag<int8_t>{}); return true;
    case DType::kUint8: f(Tag<uint8_t>{}); return true;
    case DType::kInt16: f(Tag<int16_t>{}); return true;
    case DType::kUint16: f(Tag<uint16_t>{}); return true;
    case DType::kInt32: f(Tag<int32_t>{}); return true;
    case DType::kUint32: f(Tag<uint32_t>{}); return true;
    case DType::kInt64: f(Tag<int64_t>{}); return true;
    case DType::kUint64: f(Tag<uint64_t>{}); return true;
    default: return false;
  }
}

const std::initializer_list<DType> kNumeric = {DType::kFloat32, DType::kFloat64, DType::kInt64,  DType::kInt32,
                                               DType::kInt16,   DType::kInt8,    DType::kUint64, DType::kUint32,
                                               DType::kUint16,  DType::kUint8};
const std::initializer_list<DType> kSigned = {DType::kFloat32, DType::kFloat64, DType::kInt64,
                                              DType::kInt32,   DType::kInt16,   DType::kInt8};
const std::initializer_list<DType> kFloats = {DType::kFloat32, DType::kFloat64};
const std::initializer_list<DType> kF32 = {DType::kFloat32};
const std::initializer_list<DType> kBool = {DType::kBool};

bool dtype_in(DType t, std::initializer_list<DType> ok) { return std::find(ok.begin(), ok.end(), t) != ok.end(); }

std::string input_name(const OpContext& ctx, size_t i) {
  std::string s = "input " + std::to_string(i);
  if (i < ctx.node.inputs.size() && !ctx.node.inputs[i].empty()) s += " ('" + ctx.node.inputs[i] + "')";
  return s;
}

const Value& req_typed(const OpContext& ctx, size_t i, std::initializer_list<DType> ok) {
  const Value& v = ctx.req(i);
  if (!dtype_in(v.dtype, ok)) {
    std::string list;
    for (DType t : ok) list += (list.empty() ? "" : ", ") + dtype_name(t);
    ctx.fail(input_name(ctx, i) + " is " + dtype_name(v.dtype) + "; supported: " + list);
  }
  return v;
}

void expect_same_dtype(const OpContext& ctx, size_t i, size_t j) {
  const Value& a = ctx.req(i);
  const Value& b = ctx.req(j);
  if (a.dtype != b.dtype)
    ctx.fail(input_name(ctx, j) + " is " + dtype_name(b.dtype) + " but " + input_name(ctx, i) + " is " +
             dtype_name(a.dtype) + "; they must have the same type");
}

// --- broadcast plan ----------------------------------------------------------------------------------------------

// How to walk a broadcast: the output's size-1 dims dropped and neighbouring dims merged wherever every operand
// is contiguous across them, so [1,C,H,W] op [1,C,1,1] becomes a C x HW block and same-shape operands one row.
// The innermost dim then has stride 0 or 1 in every operand; the output is dense.
struct Plan {
  std::vector<int64_t> out;               // numpy-broadcast output shape
  int64_t numel = 0;
  std::vector<int64_t> dims;              // merged walk dims, at least one
  std::vector<std::vector<int64_t>> st;   // per operand: element strides over dims (0 on broadcast dims)
};

bool plan_make(const std::vector<std::vector<int64_t>>& shapes, Plan& p) {
  p.out = shapes[0];
  for (size_t k = 1; k < shapes.size(); ++k)
    if (!shape_broadcast(p.out, shapes[k], p.out)) return false;
  p.numel = shape_numel(p.out);
  std::vector<std::vector<int64_t>> full;
  for (const auto& s : shapes) full.push_back(shape_broadcast_strides(s, p.out));
  p.dims.clear();
  p.st.assign(shapes.size(), {});
  for (size_t d = 0; d < p.out.size(); ++d) {
    if (p.out[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < shapes.size() && merge; ++k) merge = p.st[k].back() == full[k][d] * p.out[d];
    if (merge) {
      p.dims.back() *= p.out[d];
      for (size_t k = 0; k < shapes.size(); ++k) p.st[k].back() = full[k][d];
    } else {
      p.dims.push_back(p.out[d]);
      for (size_t k = 0; k < shapes.size(); ++k) p.st[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {  // a single element
    p.dims.push_back(1);
    for (auto& s : p.st) s.push_back(0);
  }
  return true;
}

// Calls f(y_off, offs, rows, cols, row_st, col_st) for every 2-D block of the walk: the output block starts at
// y_off and is dense (rows x cols); operand k starts at offs[k] and steps row_st[k] / col_st[k] (col_st 0 or 1).
template <class F>
void plan_blocks(const Plan& p, F&& f) {
  if (p.numel == 0) return;
  const size_t nd = p.dims.size(), nk = p.st.size();
  const int64_t rows = nd >= 2 ? p.dims[nd - 2] : 1, cols = p.dims[nd - 1];
  std::vector<int64_t> rs(nk), cs(nk), offs(nk, 0);
  for (size_t k = 0; k < nk; ++k) {
    rs[k] = nd >= 2 ? p.st[k][nd - 2] : 0;
    cs[k] = p.st[k][nd - 1];
  }
  const size_t outer = nd >= 2 ? nd - 2 : 0;
  std::vector<int64_t> idx(outer, 0);
  int64_t y_off = 0;
  for (;;) {
    f(y_off, offs.data(), rows, cols, rs.data(), cs.data());
    y_off += rows * cols;
    size_t d = outer;
    for (; d-- > 0;) {
      for (size_t k = 0; k < nk; ++k) offs[k] += p.st[k][d];
      if (++idx[d] < p.dims[d]) break;
      for (size_t k = 0; k < nk; ++k) offs[k] -= p.st[k][d] * p.dims[d];
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) break;
  }
}

void plan_f32(BinaryOp op, const Plan& p, const float* a, const float* b, float* y) {
  plan_blocks(p, [&](int64_t yo, const int64_t* o, int64_t rows, int64_t cols, const int64_t* rs, const int64_t* cs) {
    BinaryBlock k;
    k.rows = static_cast<size_t>(rows);
    k.cols = static_cast<size_t>(cols);
    k.a = a + o[0];
    k.a_row = rs[0];
    k.a_col = static_cast<size_t>(cs[0]);
    k.b = b + o[1];
    k.b_row = rs[1];
    k.b_col = static_cast<size_t>(cs[1]);
    k.y = y + yo;
    k.y_row = cols;
    f32_binary(op, k);
  });
}

// y = f(a, b) elementwise over the plan's first two operands, any element types.
template <class TA, class TB, class TY, class F>
void plan_scalar(const Plan& p, const TA* a, const TB* b, TY* y, F f) {
  plan_blocks(p, [&](int64_t yo, const int64_t* o, int64_t rows, int64_t cols, const int64_t* rs, const int64_t* cs) {
    for (int64_t r = 0; r < rows; ++r) {
      const TA* ar = a + o[0] + r * rs[0];
      const TB* br = b + o[1] + r * rs[1];
      TY* yr = y + yo + r * cols;
      for (int64_t c = 0; c < cols; ++c) yr[c] = f(ar[c * cs[0]], br[c * cs[1]]);
    }
  });
}

std::string shapes_str(const std::vector<std::vector<int64_t>>& shapes) {
  std::string s;
  for (size_t k = 0; k < shapes.size(); ++k) s += (k ? " with " : "") + shape_str(shapes[k]);
  return s;
}

Plan plan_or_fail(const OpContext& ctx, const std::vector<std::vector<int64_t>>& shapes) {
  Plan p;
  if (!plan_make(shapes, p)) ctx.fail("cannot broadcast " + shapes_str(shapes));
  return p;
}

// The opset < 7 form (Add, Sub, Mul, Div, Pow, And, Equal, Greater, Less with broadcast = 1): B's dims line up
// with A's from `axis` (default: B's trailing dims under A's), size-1 dims of B stretch. Returns B's shape padded
// with 1s to A's rank, so the numpy plan does the rest; B's shape unchanged for the other cases.
std::vector<int64_t> b_shape_for(const OpContext& ctx, const Value& a, const Value& b) {
  if (ctx.opset <= 0 || ctx.opset >= 7 || ctx.node.attr_int("broadcast", 0) != 1) return b.shape;
  const int64_t ra = static_cast<int64_t>(a.rank()), rb = static_cast<int64_t>(b.rank());
  int64_t axis = ctx.node.attr("axis") ? ctx.node.attr_int("axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra)
    ctx.fail("broadcast axis " + std::to_string(ctx.node.attr_int("axis", 0)) + " cannot place B " +
             shape_str(b.shape) + " inside A " + shape_str(a.shape));
  std::vector<int64_t> s(static_cast<size_t>(ra), 1);
  for (int64_t i = 0; i < rb; ++i) {
    const int64_t da = a.shape[static_cast<size_t>(axis + i)], db = b.shape[static_cast<size_t>(i)];
    if (db != da && db != 1)
      ctx.fail("B " + shape_str(b.shape) + " does not match A " + shape_str(a.shape) + " from axis " +
               std::to_string(axis) + " (opset " + std::to_string(ctx.opset) + " broadcast)");
    s[static_cast<size_t>(axis + i)] = db;
  }
  return s;
}

// --- integer arithmetic without undefined behaviour ---------------------------------------------------------------

// Wraps like the hardware (two's complement) instead of overflowing signed types; narrow types go through
// uint32 so uint16 * uint16 does not overflow int after promotion.
template <class T>
using Wide = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T>
T int_add(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
template <class T>
T int_sub(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
template <class T>
T int_mul(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }
// Truncates toward zero (C++, and ONNX's test_div_int32_trunc). x / 0 is undefined in ONNX; here it is 0 rather
// than a SIGFPE, and MIN / -1 wraps to MIN.
template <class T>
T int_div(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed<T>::value) {
    if (b == -1) return int_sub<T>(0, a);
  }
  return static_cast<T>(a / b);
}
template <class T>
T int_neg(T a) { return int_sub<T>(0, a); }
template <class T>
T int_abs(T a) {
  if constexpr (std::is_signed<T>::value) return a < 0 ? int_neg(a) : a;
  return a;
}

template <class T>
T arith(BinaryOp op, T a, T b) {
  constexpr bool kInt = std::is_integral<T>::value;
  switch (op) {
    case BinaryOp::kAdd: if constexpr (kInt) return int_add(a, b); else return a + b;
    case BinaryOp::kSub: if constexpr (kInt) return int_sub(a, b); else return a - b;
    case BinaryOp::kMul: if constexpr (kInt) return int_mul(a, b); else return a * b;
    case BinaryOp::kDiv: if constexpr (kInt) return int_div(a, b); else return a / b;
    case BinaryOp::kMax: return std::max(a, b);
    case BinaryOp::kMin: return std::min(a, b);
    case BinaryOp::kPRelu: return a < 0 ? static_cast<T>(a * b) : a;
    case BinaryOp::kPow: return static_cast<T>(std::pow(a, b));
    case BinaryOp::kCount: break;
  }
  return a;
}

// y = a op b over a plan, float32 on the SIMD kernels, everything else scalar.
void plan_arith(BinaryOp op, const Plan& p, const Value& a, const Value& b, Value& y) {
  if (a.dtype == DType::kFloat32) return plan_f32(op, p, a.f32(), b.f32(), y.f32());
  visit_numeric(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    plan_scalar(p, a.ptr<T>(), b.ptr<T>(), y.ptr<T>(), [op](T u, T v) { return arith(op, u, v); });
  });
}

// --- binary arithmetic ---------------------------------------------------------------------------------------------

void run_arith(OpContext& ctx, BinaryOp op) {
  const Value& a = req_typed(ctx, 0, kNumeric);
  const Value& b = ctx.req(1);
  expect_same_dtype(ctx, 0, 1);
  const Plan p = plan_or_fail(ctx, {a.shape, b_shape_for(ctx, a, b)});
  plan_arith(op, p, a, b, ctx.alloc(0, a.dtype, p.out));
}

void run_add(OpContext& ctx) { run_arith(ctx, BinaryOp::kAdd); }
void run_sub(OpContext& ctx) { run_arith(ctx, BinaryOp::kSub); }
void run_mul(OpContext& ctx) { run_arith(ctx, BinaryOp::kMul); }
void run_div(OpContext& ctx) { run_arith(ctx, BinaryOp::kDiv); }

// Result in the base's type; the exponent may be any numeric type (ONNX Pow-12+).
void run_pow(OpContext& ctx) {
  const Value& a = req_typed(ctx, 0, {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32});
  const Value& b = req_typed(ctx, 1, kNumeric);
  const Plan p = plan_or_fail(ctx, {a.shape, b_shape_for(ctx, a, b)});
  Value& y = ctx.alloc(0, a.dtype, p.out);
  if (p.numel == 0) return;
  if (a.dtype == DType::kFloat32) {
    if (b.dtype == DType::kFloat32) return plan_f32(BinaryOp::kPow, p, a.f32(), b.f32(), y.f32());
    std::vector<float> e(static_cast<size_t>(b.numel()));
    visit_numeric(b.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (size_t i = 0; i < e.size(); ++i) e[i] = static_cast<float>(b.ptr<T>()[i]);
    });
    return plan_f32(BinaryOp::kPow, p, a.f32(), e.data(), y.f32());
  }
  visit_numeric(a.dtype, [&](auto ta) {
    using TA = typename decltype(ta)::type;
    visit_numeric(b.dtype, [&](auto tb) {
      using TB = typename decltype(tb)::type;
      plan_scalar(p, a.ptr<TA>(), b.ptr<TB>(), y.ptr<TA>(), [](TA u, TB v) -> TA {
        const double r = std::pow(static_cast<double>(u), static_cast<double>(v));
        if constexpr (std::is_integral<TA>::value) {
          // Out-of-range double -> integer conversion is undefined: saturate (NaN, from 0^-1 etc., gives 0).
          if (!(r == r)) return 0;
          if (r <= static_cast<double>(std::numeric_limits<TA>::lowest())) return std::numeric_limits<TA>::lowest();
          if (r >= static_cast<double>(std::numeric_limits<TA>::max())) return std::numeric_limits<TA>::max();
        }
        return static_cast<TA>(r);
      });
    });
  });
}

// Slope broadcast to X (unidirectional). PRelu-6 and older take a 1-D slope of size C as per-channel (axis 1),
// which numpy alignment would put on the last axis; later opsets use numpy, and we still accept the old form
// when numpy cannot place the slope.
void run_prelu(OpContext& ctx) {
  const Value& x = req_typed(ctx, 0, kSigned);
  const Value& s = ctx.req(1);
  expect_same_dtype(ctx, 0, 1);
  const bool channel_form = s.rank() == 1 && x.rank() >= 2 && s.shape[0] == x.shape[1] && s.shape[0] != 1;
  std::vector<int64_t> s_shape = s.shape;
  Plan p;
  const bool numpy_ok = plan_make({x.shape, s.shape}, p) && p.out == x.shape;
  const bool old_opset = ctx.opset > 0 && ctx.opset < 7;
  if (channel_form && (old_opset || !numpy_ok)) {
    s_shape.assign(x.rank() - 1, 1);
    s_shape[0] = s.shape[0];
  } else if (!numpy_ok) {
    ctx.fail("slope " + shape_str(s.shape) + " does not broadcast to X " + shape_str(x.shape));
  }
  p = plan_or_fail(ctx, {x.shape, s_shape});
  plan_arith(BinaryOp::kPRelu, p, x, s, ctx.alloc(0, x.dtype, p.out));
}

// --- variadic: Max, Min, Sum, Mean ----------------------------------------------------------------------------------

void run_variadic(OpContext& ctx, BinaryOp op, bool mean, std::initializer_list<DType> types) {
  const size_t n = ctx.num_inputs();
  if (n == 0) ctx.fail("needs at least one input");
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < n; ++i) {
    req_typed(ctx, i, types);
    expect_same_dtype(ctx, 0, i);
    shapes.push_back(ctx.req(i).shape);
  }
  const Plan all = plan_or_fail(ctx, shapes);
  const Value& x0 = ctx.req(0);
  if (n == 1) {
    ctx.alias(0, 0, x0.shape);
    return;
  }
  Value& y = ctx.alloc(0, x0.dtype, all.out);
  // The first pair is planned against the full output shape (third shape), then y accumulates in place.
  plan_arith(op, plan_or_fail(ctx, {x0.shape, shapes[1], all.out}), x0, ctx.req(1), y);
  for (size_t i = 2; i < n; ++i) plan_arith(op, plan_or_fail(ctx, {all.out, shapes[i]}), y, ctx.req(i), y);
  if (mean) {
    Value div = value_alloc(x0.dtype, {});
    if (x0.dtype == DType::kFloat32) *div.f32() = static_cast<float>(n);
    else *div.ptr<double>() = static_cast<double>(n);
    plan_arith(BinaryOp::kDiv, plan_or_fail(ctx, {all.out, {}}), y, div, y);
  }
}

void run_max(OpContext& ctx) { run_variadic(ctx, BinaryOp::kMax, false, kNumeric); }
void run_min(OpContext& ctx) { run_variadic(ctx, BinaryOp::kMin, false, kNumeric); }
void run_sum(OpContext& ctx) { run_variadic(ctx, BinaryOp::kAdd, false, kFloats); }
void run_mean(OpContext& ctx) { run_variadic(ctx, BinaryOp::kAdd, true, kFloats); }

// --- unary ---------------------------------------------------------------------------------------------------------

void run_unary_f32(OpContext& ctx, UnaryOp op, UnaryParams prm = {}) {
  const Value& x = req_typed(ctx, 0, kF32);
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  f32_unary(op, x.f32(), y.f32(), static_cast<size_t>(x.numel()), prm);
}

template <class F>
void map_numeric(const Value& x, Value& y, F f) {
  visit_numeric(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xs = x.ptr<T>();
    T* ys = y.ptr<T>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) ys[i] = f(xs[i]);
  });
}

void run_abs(OpContext& ctx) {
  const Value& x = req_typed(ctx, 0, kNumeric);
  if (x.dtype == DType::kFloat32) return run_unary_f32(ctx, UnaryOp::kAbs);
  Value& y = ctx.alloc(0, x.dtype, x.shape);
  map_numeric(x, y, [](auto v) -> decltype(v) {
    if constexpr (std::is_integral<decltype(v)>::value) return int_abs(v);
    else return std::fabs(v);
  });
}

void run_neg(OpContext& ctx) {
  const Value& x = req_typed(ctx, 0, kSigned);
  if (x.dtype == DType::kFloat32) return run_unary_f32(ctx, UnaryOp::kNeg);
  Value& y = ctx.alloc(0, x.dtype, x.shape);
  map_numeric(x, y, [](auto v) -> decltype(v) {
    if constexpr (std::is_integral<decltype(v)>::value) return int_neg(v);
    else return -v;
  });
}

void run_sqrt(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kSqrt); }
void run_reciprocal(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kReciprocal); }
void run_exp(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kExp); }
void run_log(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kLog); }
void run_erf(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kErf); }
void run_ceil(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kCeil); }
void run_floor(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kFloor); }
void run_relu(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kRelu); }
void run_sigmoid(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kSigmoid); }
void run_hard_swish(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kHardSwish); }
void run_tanh(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kTanh); }
void run_softplus(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kSoftplus); }
void run_leaky_relu(OpContext& ctx) {
  run_unary_f32(ctx, UnaryOp::kLeakyRelu, {ctx.node.attr_float("alpha", 0.01f), 0});
}
void run_elu(OpContext& ctx) { run_unary_f32(ctx, UnaryOp::kElu, {ctx.node.attr_float("alpha", 1.0f), 0}); }
void run_hard_sigmoid(OpContext& ctx) {
  run_unary_f32(ctx, UnaryOp::kHardSigmoid, {ctx.node.attr_float("alpha", 0.2f), ctx.node.attr_float("beta", 0.5f)});
}
void run_gelu(OpContext& ctx) {
  const std::string approx = ctx.node.attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh") ctx.fail("approximate is '" + approx + "'; expected 'none' or 'tanh'");
  run_unary_f32(ctx, approx == "tanh" ? UnaryOp::kGeluTanh : UnaryOp::kGelu);
}

// Clip-6..10: float attributes min/max (defaults: the float range). Clip-11+: optional scalar inputs of X's type;
// an omitted bound is no bound. min > max gives max everywhere (min then max, as ONNX specifies).
void run_clip(OpContext& ctx) {
  const Value& x = req_typed(ctx, 0, kNumeric);
  if (ctx.opset > 0 && ctx.opset < 11) {
    if (x.dtype != DType::kFloat32) req_typed(ctx, 0, kF32);
    return run_unary_f32(ctx, UnaryOp::kClip,
                         {ctx.node.attr_float("min", std::numeric_limits<float>::lowest()),
                          ctx.node.attr_float("max", std::numeric_limits<float>::max())});
  }
  for (size_t i = 1; i <= 2; ++i) {
    const Value* v = ctx.in(i);
    if (!v) continue;
    expect_same_dtype(ctx, 0, i);
    if (v->numel() != 1)
      ctx.fail(input_name(ctx, i) + (i == 1 ? " (min)" : " (max)") + " must be a scalar, got " + shape_str(v->shape));
  }
  Value& y = ctx.alloc(0, x.dtype, x.shape);
  visit_numeric(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const bool is_float = std::is_floating_point<T>::value;
    const T lo = ctx.in(1) ? ctx.in(1)->template ptr<T>()[0]
                           : (is_float ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
    const T hi = ctx.in(2) ? ctx.in(2)->template ptr<T>()[0]
                           : (is_float ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max());
    if constexpr (std::is_same<T, float>::value) {
      f32_unary(UnaryOp::kClip, x.f32(), y.f32(), static_cast<size_t>(x.numel()), {lo, hi});
    } else {
      const T* xs = x.ptr<T>();
      T* ys = y.ptr<T>();
      for (int64_t i = 0; i < x.numel(); ++i) ys[i] = std::min(std::max(xs[i], lo), hi);
    }
  });
}

// --- comparisons and logic -------------------------------------------------------------------------------------------

enum class Cmp { kEqual, kLess, kGreater };

void run_compare(OpContext& ctx, Cmp cmp) {
  const Value& a = cmp == Cmp::kEqual ? ctx.req(0) : req_typed(ctx, 0, kNumeric);
  if (cmp == Cmp::kEqual && a.dtype != DType::kBool) req_typed(ctx, 0, kNumeric);
  const Value& b = ctx.req(1);
  expect_same_dtype(ctx, 0, 1);
  const Plan p = plan_or_fail(ctx, {a.shape, b_shape_for(ctx, a, b)});
  Value& y = ctx.alloc(0, DType::kBool, p.out);
  uint8_t* ys = y.ptr<uint8_t>();
  auto go = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* as = a.ptr<T>();
    const T* bs = b.ptr<T>();
    switch (cmp) {
      case Cmp::kEqual: return plan_scalar(p, as, bs, ys, [](T u, T v) -> uint8_t { return u == v; });
      case Cmp::kLess: return plan_scalar(p, as, bs, ys, [](T u, T v) -> uint8_t { return u < v; });
      case Cmp::kGreater: return plan_scalar(p, as, bs, ys, [](T u, T v) -> uint8_t { return u > v; });
    }
  };
  if (a.dtype == DType::kBool) {
    plan_scalar(p, a.ptr<uint8_t>(), b.ptr<uint8_t>(), ys, [](uint8_t u, uint8_t v) -> uint8_t {
      return (u != 0) == (v != 0);
    });
  } else {
    visit_numeric(a.dtype, go);
  }
}

void run_equal(OpContext& ctx) { run_compare(ctx, Cmp::kEqual); }
void run_less(OpContext& ctx) { run_compare(ctx, Cmp::kLess); }
void run_greater(OpContext& ctx) { run_compare(ctx, Cmp::kGreater); }

void run_not(OpContext& ctx) {
  const Value& x = req_typed(ctx, 0, kBool);
  Value& y = ctx.alloc(0, DType::kBool, x.shape);
  const uint8_t* xs = x.ptr<uint8_t>();
  uint8_t* ys = y.ptr<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) ys[i] = xs[i] == 0;
}

void run_and(OpContext& ctx) {
  const Value& a = req_typed(ctx, 0, kBool);
  const Value& b = req_typed(ctx, 1, kBool);
  const Plan p = plan_or_fail(ctx, {a.shape, b_shape_for(ctx, a, b)});
  Value& y = ctx.alloc(0, DType::kBool, p.out);
  plan_scalar(p, a.ptr<uint8_t>(), b.ptr<uint8_t>(), y.ptr<uint8_t>(),
              [](uint8_t u, uint8_t v) -> uint8_t { return u != 0 && v != 0; });
}

// Where(cond, X, Y): X and Y of any type held in whole bytes, copied by element size.
template <class T>
void where_copy(const Plan& p, const uint8_t* c, const T* x, const T* y, T* out) {
  plan_blocks(p, [&](int64_t yo, const int64_t* o, int64_t rows, int64_t cols, const int64_t* rs, const int64_t* cs) {
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* cr = c + o[0] + r * rs[0];
      const T* xr = x + o[1] + r * rs[1];
      const T* yr = y + o[2] + r * rs[2];
      T* dst = out + yo + r * cols;
      for (int64_t j = 0; j < cols; ++j) dst[j] = cr[j * cs[0]] ? xr[j * cs[1]] : yr[j * cs[2]];
    }
  });
}

void run_where(OpContext& ctx) {
  const Value& c = req_typed(ctx, 0, kBool);
  const Value& x = ctx.req(1);
  const Value& y = ctx.req(2);
  expect_same_dtype(ctx, 1, 2);
  const size_t es = dtype_size(x.dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8)
    ctx.fail(input_name(ctx, 1) + " is " + dtype_name(x.dtype) + "; Where copies types of 1, 2, 4 or 8 bytes");
  const Plan p = plan_or_fail(ctx, {c.shape, x.shape, y.shape});
  Value& out = ctx.alloc(0, x.dtype, p.out);
  const uint8_t* cs = c.ptr<uint8_t>();
  switch (es) {
    case 1: return where_copy(p, cs, x.ptr<uint8_t>(), y.ptr<uint8_t>(), out.ptr<uint8_t>());
    case 2: return where_copy(p, cs, x.ptr<uint16_t>(), y.ptr<uint16_t>(), out.ptr<uint16_t>());
    case 4: return where_copy(p, cs, x.ptr<uint32_t>(), y.ptr<uint32_t>(), out.ptr<uint32_t>());
    default: return where_copy(p, cs, x.ptr<uint64_t>(), y.ptr<uint64_t>(), out.ptr<uint64_t>());
  }
}

}  // namespace

void register_ops_elementwise(OpTable& t) {
  auto reg = [&t](Op op, OpFn fn) { t[static_cast<int>(op)] = fn; };
  reg(Op::kAdd, &run_add);
  reg(Op::kSub, &run_sub);
  reg(Op::kMul, &run_mul);
  reg(Op::kDiv, &run_div);
  reg(Op::kPow, &run_pow);
  reg(Op::kSqrt, &run_sqrt);
  reg(Op::kReciprocal, &run_reciprocal);
  reg(Op::kMax, &run_max);
  reg(Op::kMin, &run_min);
  reg(Op::kSum, &run_sum);
  reg(Op::kMean, &run_mean);
  reg(Op::kAbs, &run_abs);
  reg(Op::kNeg, &run_neg);
  reg(Op::kExp, &run_exp);
  reg(Op::kLog, &run_log);
  reg(Op::kErf, &run_erf);
  reg(Op::kCeil, &run_ceil);
  reg(Op::kFloor, &run_floor);
  reg(Op::kRelu, &run_relu);
  reg(Op::kLeakyRelu, &run_leaky_relu);
  reg(Op::kPRelu, &run_prelu);
  reg(Op::kClip, &run_clip);
  reg(Op::kSigmoid, &run_sigmoid);
  reg(Op::kHardSigmoid, &run_hard_sigmoid);
  reg(Op::kHardSwish, &run_hard_swish);
  reg(Op::kTanh, &run_tanh);
  reg(Op::kGelu, &run_gelu);
  reg(Op::kElu, &run_elu);
  reg(Op::kSoftplus, &run_softplus);
  reg(Op::kEqual, &run_equal);
  reg(Op::kLess, &run_less);
  reg(Op::kGreater, &run_greater);
  reg(Op::kNot, &run_not);
  reg(Op::kAnd, &run_and);
  reg(Op::kWhere, &run_where);
}

}  // namespace qp
