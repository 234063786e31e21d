// Tensors of the IR: element types (ONNX numbering), shapes with symbolic dims, and weight data held once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qp {

// Values are ONNX's TensorProto.DataType numbers, so importer and exporter convert by cast.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUint4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,
  kUint2 = 25,
  kInt2 = 26,
};

// Name as ONNX writes it ("float32", "int64", ...); "dtype(N)" for a number ONNX does not define.
std::string dtype_name(DType t);
// True for the numbers ONNX defines (1..26); false for 0 and anything else.
bool dtype_is_known(int32_t v);
// Bytes per element for types stored whole-byte; 0 for strings and sub-byte types.
size_t dtype_size(DType t);

// One dimension: a value >= 0, or a symbolic name (value = -1), or unknown (value = -1, empty name).
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
};

// Element count of a shape with all dims known; throws qp::Error on negative dims or int64 overflow.
int64_t shape_numel(const std::vector<int64_t>& dims);
std::string shape_str(const std::vector<int64_t>& dims);
std::string shape_str(const std::vector<Dim>& dims);

enum class TensorSource : uint8_t { kInitializer, kConstantNode };

// A weight tensor. `data` holds the bytes in their stored type (little-endian); float16/bfloat16 are
// widened to float32 at load time so analysis sees float32. Strings are not held (only counted).
struct Tensor {
  std::string name;
  DType dtype = DType::kUndefined;
  DType stored_dtype = DType::kUndefined;  // type in the file (differs from dtype after widening)
  std::vector<int64_t> dims;
  std::string data;
  TensorSource source = TensorSource::kInitializer;
  std::string external_location;  // non-empty when the data came from an external file

  int64_t numel() const { return shape_numel(dims); }
  const float* f32() const { return reinterpret_cast<const float*>(data.data()); }
  float* f32_mut() { return reinterpret_cast<float*>(data.data()); }
};

// A tensor built in code (passes, exports): `data` is the bytes in `t` (stored as t too).
Tensor tensor_make(const std::string& name, DType t, std::vector<int64_t> dims, std::string data);
// A float32 tensor holding `values` (dims {} for a scalar).
Tensor tensor_f32(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values);

float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);

}  // namespace qp
