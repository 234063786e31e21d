// Small Value helpers the shape, layout and resize ops share: integer/float lists read from shape-like inputs,
// scalars written in any runtime dtype.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/ir/tensor.h"
#include "core/runtime/op_context.h"
#include "core/runtime/value.h"

namespace qp {

// Every element of an integer tensor as int64 (int8..int64, uint8..uint32). False for other dtypes.
inline bool layout_read_ints(const Value& v, std::vector<int64_t>& out) {
  const int64_t n = v.numel();
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t x;
    switch (v.dtype) {
      case DType::kInt64: x = v.ptr<int64_t>()[i]; break;
      case DType::kInt32: x = v.ptr<int32_t>()[i]; break;
      case DType::kInt16: x = v.ptr<int16_t>()[i]; break;
      case DType::kInt8: x = v.ptr<int8_t>()[i]; break;
      case DType::kUint8: x = v.ptr<uint8_t>()[i]; break;
      case DType::kUint16: x = v.ptr<uint16_t>()[i]; break;
      case DType::kUint32: x = v.ptr<uint32_t>()[i]; break;
      default: return false;
    }
    out[static_cast<size_t>(i)] = x;
  }
  return true;
}

// Every element of a floating tensor (float32/64/16) as double. False for other dtypes.
inline bool layout_read_floats(const Value& v, std::vector<double>& out) {
  const int64_t n = v.numel();
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double x;
    switch (v.dtype) {
      case DType::kFloat32: x = v.ptr<float>()[i]; break;
      case DType::kFloat64: x = v.ptr<double>()[i]; break;
      case DType::kFloat16: x = f16_to_f32(v.ptr<uint16_t>()[i]); break;
      default: return false;
    }
    out[static_cast<size_t>(i)] = x;
  }
  return true;
}

// float32 -> IEEE half, round to nearest even (Value holds float16 as raw words).
inline uint16_t layout_f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past the largest half
  if (absx < 0x38800000u) {
    // Subnormal half (or zero): scale into the 10-bit mantissa with round-to-nearest-even.
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = absx >> 23;
    const uint32_t m = (absx & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // value m * 2^(e-150) in units of 2^-24
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((absx - 0x38000000u) >> 13);
  const uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline uint16_t layout_f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

template <class T>
inline T layout_saturate(double x) {
  if (std::isnan(x)) return T(0);
  const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  const double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (x <= lo) return std::numeric_limits<T>::lowest();
  if (x >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(x);
}

// Writes x as one element of dtype t (integers truncate toward zero and saturate, bool is x != 0).
// False when t is not a runtime dtype.
inline bool layout_store_scalar(DType t, double x, void* out) {
  switch (t) {
    case DType::kFloat32: *static_cast<float*>(out) = static_cast<float>(x); return true;
    case DType::kFloat64: *static_cast<double*>(out) = x; return true;
    case DType::kFloat16: *static_cast<uint16_t*>(out) = layout_f32_to_f16(static_cast<float>(x)); return true;
    case DType::kBFloat16: *static_cast<uint16_t*>(out) = layout_f32_to_bf16(static_cast<float>(x)); return true;
    case DType::kBool: *static_cast<uint8_t*>(out) = x != 0; return true;
    case DType::kInt8: *static_cast<int8_t*>(out) = layout_saturate<int8_t>(x); return true;
    case DType::kInt16: *static_cast<int16_t*>(out) = layout_saturate<int16_t>(x); return true;
    case DType::kInt32: *static_cast<int32_t*>(out) = layout_saturate<int32_t>(x); return true;
    case DType::kInt64: *static_cast<int64_t*>(out) = layout_saturate<int64_t>(x); return true;
    case DType::kUint8: *static_cast<uint8_t*>(out) = layout_saturate<uint8_t>(x); return true;
    case DType::kUint16: *static_cast<uint16_t*>(out) = layout_saturate<uint16_t>(x); return true;
    case DType::kUint32: *static_cast<uint32_t*>(out) = layout_saturate<uint32_t>(x); return true;
    case DType::kUint64: *static_cast<uint64_t*>(out) = layout_saturate<uint64_t>(x); return true;
    default: return false;
  }
}

// Input i read as an integer list; fails naming the input when absent or not an integer tensor.
inline std::vector<int64_t> layout_ints_input(const OpContext& ctx, size_t i, const char* what) {
  const Value& v = ctx.req(i);
  std::vector<int64_t> out;
  if (!layout_read_ints(v, out))
    ctx.fail(std::string("input ") + std::to_string(i) + " (" + what + ") must be an integer tensor, got " + v.describe());
  return out;
}

// ctx.alloc that first checks the byte count is plausible, so absurd shapes read from data fail with the node's
// name instead of wrapping around or aborting.
inline Value& layout_alloc(OpContext& ctx, size_t i, DType t, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  const int64_t es = static_cast<int64_t>(dtype_bytes(t));
  for (int64_t d : shape) {
    if (d < 0) ctx.fail("output " + std::to_string(i) + " would have a negative dim: " + shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) n = -1;
    if (n < 0) break;
    n *= d;
  }
  const double bytes = static_cast<double>(n) * static_cast<double>(es);
  // 16 GiB: beyond any real activation, and below where an overcommitting allocator says yes and the writes
  // then take the process down.
  if (n < 0 || bytes > static_cast<double>(std::numeric_limits<size_t>::max() / 2) || bytes > 17179869184.0)
    ctx.fail("output " + std::to_string(i) + " " + dtype_name(t) + " " + shape_str(shape) + " is too large to allocate");
  return ctx.alloc(i, t, shape);
}

}  // namespace qp
