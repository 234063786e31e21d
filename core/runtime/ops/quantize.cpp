// QuantizeLinear and DequantizeLinear: per-tensor, per-axis and blocked (opset 21) forms, 8- and 16-bit integers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/runtime/op_context.h"
#include "core/runtime/shape_util.h"

namespace qp {
namespace {

bool is_float8(DType t) {
  return t == DType::kFloat8E4M3FN || t == DType::kFloat8E4M3FNUZ || t == DType::kFloat8E5M2 ||
         t == DType::kFloat8E5M2FNUZ || t == DType::kFloat8E8M0;
}
bool is_sub_byte(DType t) {
  return t == DType::kInt4 || t == DType::kUint4 || t == DType::kInt2 || t == DType::kUint2 ||
         t == DType::kFloat4E2M1;
}

// The clear refusal for types the runtime's Value cannot hold.
void check_quant_type(const OpContext& ctx, DType t, const std::string& what) {
  if (is_float8(t)) ctx.fail(what + " is " + dtype_name(t) + ": float8 quantization is not supported");
  if (is_sub_byte(t))
    ctx.fail(what + " is " + dtype_name(t) + ": sub-byte types are not supported (the runtime holds whole bytes)");
}

// How a scale (and zero point) maps onto x viewed as [outer, len, inner] around `axis`.
struct QLayout {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t block = 0;   // > 0: blocked along the axis
  bool per_tensor = true;
};

QLayout quant_layout(const OpContext& ctx, const Value& x, const Value& scale) {
  QLayout q;
  const int64_t block = ctx.node.attr_int("block_size", 0);
  if (block < 0) ctx.fail("block_size " + std::to_string(block) + " must not be negative");
  if (block == 0 && scale.numel() == 1 && scale.rank() <= 1) return q;
  int64_t axis = ctx.node.attr_int("axis", 1);
  const int64_t given = axis;
  if (!axis_normalize(axis, static_cast<int64_t>(x.rank())))
    ctx.fail("axis " + std::to_string(given) + " is out of range for input " + x.describe());
  const size_t a = static_cast<size_t>(axis);
  q.per_tensor = false;
  q.outer = shape_prod(x.shape, 0, a);
  q.len = x.shape[a];
  q.inner = shape_prod(x.shape, a + 1, x.rank());
  if (block == 0) {
    if (scale.rank() != 1 || scale.shape[0] != q.len)
      ctx.fail("scale " + scale.describe() + " is neither one value nor one per element of axis " +
               std::to_string(given) + " of input " + x.describe());
    return q;
  }
  q.block = block;
  std::vector<int64_t> want = x.shape;
  want[a] = (q.len + block - 1) / block;
  if (scale.shape != want)
    ctx.fail("scale " + scale.describe() + " does not match input " + x.describe() + " blocked by " +
             std::to_string(block) + " along axis " + std::to_string(given) + " (expected " + shape_str(want) + ")");
  return q;
}

// Index into the scale / zero point of element (o, i, j).
inline int64_t param_index(const QLayout& q, int64_t o, int64_t i, int64_t j) {
  if (q.per_tensor) return 0;
  if (q.block == 0) return i;
  const int64_t nb = (q.len + q.block - 1) / q.block;
  return (o * nb + i / q.block) * q.inner + j;
}

std::vector<float> scale_values(const OpContext& ctx, const Value& s) {
  if (s.dtype != DType::kFloat32)
    ctx.fail("scale is " + s.describe() + "; only float32 scales are supported");
  return std::vector<float>(s.f32(), s.f32() + s.numel());
}

std::vector<int64_t> zero_point_values(const OpContext& ctx, const Value* z, const Value& scale) {
  if (!z) return std::vector<int64_t>(static_cast<size_t>(scale.numel()), 0);
  if (z->shape != scale.shape && !(z->numel() == 1 && scale.numel() == 1))
    ctx.fail("zero point " + z->describe() + " does not match scale " + scale.describe());
  std::vector<double> d = value_to_doubles(*z);
  return std::vector<int64_t>(d.begin(), d.end());
}

bool int_range(DType t, int64_t& lo, int64_t& hi) {
  switch (t) {
    case DType::kUint8: lo = 0; hi = 255; return true;
    case DType::kInt8: lo = -128; hi = 127; return true;
    case DType::kUint16: lo = 0; hi = 65535; return true;
    case DType::kInt16: lo = -32768; hi = 32767; return true;
    case DType::kInt32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); return true;
    default: return false;
  }
}

// y = saturate(round_half_even(x / scale) + zero_point), written straight into the output type.
template <class T, class X>
void quantize_typed(const X* x, const QLayout& q, int64_t numel, const std::vector<float>& s,
                    const std::vector<int64_t>& z, T* y) {
  const int64_t outer = q.per_tensor ? 1 : q.outer, len = q.per_tensor ? numel : q.len,
                inner = q.per_tensor ? 1 : q.inner;
  const float lo = static_cast<float>(std::numeric_limits<T>::lowest()),
              hi = static_cast<float>(std::numeric_limits<T>::max());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < len; ++i)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t e = (o * len + i) * inner + j, k = param_index(q, o, i, j);
        const float zf = static_cast<float>(z[k]);
        // The division is float32, as in the reference (not x * (1 / scale), which can differ at ties).
        float v = static_cast<float>(x[e]) / s[k];
        // Clamping to the integer bounds before rounding saturates identically and keeps |v| < 2^22, where
        // adding and subtracting 1.5 * 2^23 rounds half to even exactly (no libm call per element).
        v = v != v ? 0.0f : std::min(std::max(v, lo - zf), hi - zf);
        const float r = (v + 12582912.0f) - 12582912.0f;
        y[e] = static_cast<T>(static_cast<int32_t>(r) + static_cast<int32_t>(z[k]));
      }
}

template <class T>
void quantize_to(const Value& x, const QLayout& q, const std::vector<float>& s, const std::vector<int64_t>& z,
                 Value& y) {
  if (x.dtype == DType::kFloat32) quantize_typed<T>(x.f32(), q, x.numel(), s, z, y.ptr<T>());
  else quantize_typed<T>(x.ptr<int32_t>(), q, x.numel(), s, z, y.ptr<T>());
}

void op_quantize_linear(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const Value& scale = ctx.req(1);
  const Value* zp = ctx.in(2);
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kInt32)
    ctx.fail("input 0 is " + dtype_name(x.dtype) + "; only float32 (and int32) is supported");
  // Output type: the zero point's, else output_dtype (opset 21), else uint8.
  const int64_t out_attr = ctx.node.attr_int("output_dtype", 0);
  if (out_attr != 0 && !dtype_is_known(static_cast<int32_t>(out_attr)))
    ctx.fail("output_dtype " + std::to_string(out_attr) + " is not a known type");
  DType out = zp ? zp->dtype : out_attr != 0 ? static_cast<DType>(out_attr) : DType::kUint8;
  if (zp && out_attr != 0 && static_cast<DType>(out_attr) != zp->dtype)
    ctx.fail("output_dtype " + dtype_name(static_cast<DType>(out_attr)) + " differs from the zero point's type " +
             dtype_name(zp->dtype));
  check_quant_type(ctx, out, "output type");
  int64_t lo = 0, hi = 0;
  if (out == DType::kInt32 || !int_range(out, lo, hi))
    ctx.fail("output type " + dtype_name(out) + " is not supported (uint8, int8, uint16, int16)");
  const QLayout q = quant_layout(ctx, x, scale);
  const std::vector<float> s = scale_values(ctx, scale);
  const std::vector<int64_t> z = zero_point_values(ctx, zp, scale);
  Value& y = ctx.alloc(0, out, x.shape);
  switch (out) {
    case DType::kUint8: return quantize_to<uint8_t>(x, q, s, z, y);
    case DType::kInt8: return quantize_to<int8_t>(x, q, s, z, y);
    case DType::kUint16: return quantize_to<uint16_t>(x, q, s, z, y);
    default: return quantize_to<int16_t>(x, q, s, z, y);
  }
}

void op_dequantize_linear(OpContext& ctx) {
  const Value& x = ctx.req(0);
  const Value& scale = ctx.req(1);
  const Value* zp = ctx.in(2);
  check_quant_type(ctx, x.dtype, "input 0");
  int64_t lo = 0, hi = 0;
  if (!int_range(x.dtype, lo, hi))
    ctx.fail("input 0 is " + dtype_name(x.dtype) + "; only uint8, int8, uint16, int16 and int32 are supported");
  if (zp && zp->dtype != x.dtype)
    ctx.fail("zero point is " + zp->describe() + " but input 0 is " + dtype_name(x.dtype));
  const int64_t out_attr = ctx.node.attr_int("output_dtype", 0);
  if (out_attr != 0 && static_cast<DType>(out_attr) != DType::kFloat32)
    ctx.fail("output_dtype " + dtype_name(static_cast<DType>(out_attr)) + " is not supported; only float32");
  const QLayout q = quant_layout(ctx, x, scale);
  const std::vector<float> s = scale_values(ctx, scale);
  const std::vector<int64_t> z = zero_point_values(ctx, zp, scale);
  const std::vector<double> xv = value_to_doubles(x);
  Value& y = ctx.alloc(0, DType::kFloat32, x.shape);
  const int64_t outer = q.per_tensor ? 1 : q.outer, len = q.per_tensor ? x.numel() : q.len,
                inner = q.per_tensor ? 1 : q.inner;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < len; ++i)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t e = (o * len + i) * inner + j, k = param_index(q, o, i, j);
        // (x - zero_point) is exact in double; the product is rounded once to float32 like the reference.
        y.f32()[e] = static_cast<float>(xv[static_cast<size_t>(e)] - static_cast<double>(z[k])) * s[k];
      }
}

}  // namespace

void register_ops_quantize(OpTable& t) {
  t[static_cast<int>(Op::kQuantizeLinear)] = op_quantize_linear;
  t[static_cast<int>(Op::kDequantizeLinear)] = op_dequantize_linear;
}

}  // namespace qp
