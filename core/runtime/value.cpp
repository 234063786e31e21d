// Runtime tensors: allocation, views of weights, copies and conversions.
#include "core/runtime/value.h"

#include <cstdlib>
#include <cstring>

#include "core/ir/error.h"

namespace qp {

size_t dtype_bytes(DType t) {
  switch (t) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kUint8: return 1;
    case DType::kInt16:
    case DType::kUint16:
    case DType::kFloat16:
    case DType::kBFloat16: return 2;
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUint32: return 4;
    case DType::kFloat64:
    case DType::kInt64:
    case DType::kUint64: return 8;
    default: throw Error("the runtime cannot hold " + dtype_name(t) + " tensors");
  }
}

int64_t Value::numel() const { return shape_numel(shape); }
size_t Value::bytes() const { return static_cast<size_t>(numel()) * dtype_bytes(dtype); }
std::string Value::describe() const { return dtype_name(dtype) + " " + shape_str(shape); }

Value value_alloc(DType t, std::vector<int64_t> shape) {
  Value v;
  v.dtype = t;
  v.shape = std::move(shape);
  const size_t n = v.bytes();
  // Always at least one byte so `data` is never null; calloc keeps untouched bytes defined.
  std::shared_ptr<uint8_t> buf(static_cast<uint8_t*>(std::calloc(n ? n : 1, 1)), [](uint8_t* p) { std::free(p); });
  if (!buf) throw Error("out of memory allocating " + v.describe());
  v.data = buf.get();
  v.owner = std::move(buf);
  return v;
}

Value value_view(const Tensor& t) {
  Value v;
  v.dtype = t.dtype;
  v.shape = t.dims;
  if (v.bytes() > t.data.size())
    throw Error("tensor '" + t.name + "' holds " + std::to_string(t.data.size()) + " bytes, expected " +
                std::to_string(v.bytes()) + " for " + v.describe());
  v.data = const_cast<char*>(t.data.data());
  return v;
}

Value value_clone(const Value& v) {
  Value c = value_alloc(v.dtype, v.shape);
  if (v.bytes()) std::memcpy(c.data, v.data, v.bytes());
  return c;
}

Tensor value_to_tensor(const Value& v, const std::string& name) {
  Tensor t;
  t.name = name;
  t.dtype = t.stored_dtype = v.dtype;
  t.dims = v.shape;
  t.data.assign(static_cast<const char*>(v.data), v.bytes());
  return t;
}

std::vector<double> value_to_doubles(const Value& v) {
  const int64_t n = v.numel();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double x = 0;
    switch (v.dtype) {
      case DType::kFloat32: x = v.ptr<float>()[i]; break;
      case DType::kFloat64: x = v.ptr<double>()[i]; break;
      case DType::kInt8: x = v.ptr<int8_t>()[i]; break;
      case DType::kUint8:
      case DType::kBool: x = v.ptr<uint8_t>()[i]; break;
      case DType::kInt16: x = v.ptr<int16_t>()[i]; break;
      case DType::kUint16: x = v.ptr<uint16_t>()[i]; break;
      case DType::kInt32: x = v.ptr<int32_t>()[i]; break;
      case DType::kUint32: x = v.ptr<uint32_t>()[i]; break;
      case DType::kInt64: x = static_cast<double>(v.ptr<int64_t>()[i]); break;
      case DType::kUint64: x = static_cast<double>(v.ptr<uint64_t>()[i]); break;
      case DType::kFloat16: x = f16_to_f32(v.ptr<uint16_t>()[i]); break;
      case DType::kBFloat16: x = bf16_to_f32(v.ptr<uint16_t>()[i]); break;
      default: throw Error("cannot read " + dtype_name(v.dtype) + " values as numbers");
    }
    out[static_cast<size_t>(i)] = x;
  }
  return out;
}

Value value_f32(std::vector<int64_t> shape, const std::vector<float>& data) {
  Value v = value_alloc(DType::kFloat32, std::move(shape));
  if (static_cast<size_t>(v.numel()) != data.size()) throw Error("value_f32: data size does not match the shape");
  if (!data.empty()) std::memcpy(v.data, data.data(), data.size() * sizeof(float));
  return v;
}

Value value_i64(std::vector<int64_t> shape, const std::vector<int64_t>& data) {
  Value v = value_alloc(DType::kInt64, std::move(shape));
  if (static_cast<size_t>(v.numel()) != data.size()) throw Error("value_i64: data size does not match the shape");
  if (!data.empty()) std::memcpy(v.data, data.data(), data.size() * sizeof(int64_t));
  return v;
}

}  // namespace qp
