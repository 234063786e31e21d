// Element types, shape arithmetic and half-precision conversion for the IR.
#include "core/ir/tensor.h"

#include <cstring>
#include <limits>

#include "core/ir/error.h"

namespace qp {

namespace {
struct DTypeInfo {
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {"undefined", 0}, {"float32", 4},      {"uint8", 1},         {"int8", 1},           {"uint16", 2},
    {"int16", 2},     {"int32", 4},        {"int64", 8},         {"string", 0},         {"bool", 1},
    {"float16", 2},   {"float64", 8},      {"uint32", 4},        {"uint64", 8},         {"complex64", 8},
    {"complex128", 16}, {"bfloat16", 2},   {"float8e4m3fn", 1},  {"float8e4m3fnuz", 1}, {"float8e5m2", 1},
    {"float8e5m2fnuz", 1}, {"uint4", 0},   {"int4", 0},          {"float4e2m1", 0},     {"float8e8m0", 1},
    {"uint2", 0},     {"int2", 0},
};
constexpr int kDTypeCount = static_cast<int>(sizeof(kDTypes) / sizeof(kDTypes[0]));
static_assert(kDTypeCount == static_cast<int>(DType::kInt2) + 1, "dtype table out of step with DType");
}  // namespace

bool dtype_is_known(int32_t v) { return v >= 1 && v < kDTypeCount; }

std::string dtype_name(DType t) {
  const int v = static_cast<int>(t);
  if (v >= 0 && v < kDTypeCount) return kDTypes[v].name;
  return "dtype(" + std::to_string(v) + ")";
}

size_t dtype_size(DType t) {
  const int v = static_cast<int>(t);
  return (v >= 0 && v < kDTypeCount) ? kDTypes[v].size : 0;
}

int64_t shape_numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw Error("negative dim " + std::to_string(d) + " in shape " + shape_str(dims));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error("shape " + shape_str(dims) + " overflows int64");
    n *= d;
  }
  return n;
}

std::string shape_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string shape_str(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].known() ? std::to_string(dims[i].value) : (dims[i].param.empty() ? "?" : dims[i].param);
  }
  return s + "]";
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Tensor tensor_make(const std::string& name, DType t, std::vector<int64_t> dims, std::string data) {
  Tensor x;
  x.name = name;
  x.dtype = x.stored_dtype = t;
  x.dims = std::move(dims);
  x.data = std::move(data);
  return x;
}

Tensor tensor_f32(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values) {
  return tensor_make(name, DType::kFloat32, std::move(dims),
                     std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

}  // namespace qp
