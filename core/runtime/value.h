// Runtime tensors: a dtype, a shape and shared storage (pooled buffers, views of weights, or aliases).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ir/tensor.h"

namespace qp {

// A tensor while the model runs. Copies share storage (aliases: Reshape/Identity/Squeeze hand their input on).
// Element types held: float32, float64, int8/16/32/64, uint8/16/32/64, bool (1 byte per element) and float16
// (raw 16-bit words; only Cast reads or writes them). Ops treat storage they did not allocate as read-only.
struct Value {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;
  void* data = nullptr;             // numel() * dtype_bytes(dtype) bytes; may be null when numel() == 0
  std::shared_ptr<void> owner;      // keeps the storage alive (null: storage owned by the Graph's weights)

  int64_t numel() const;
  size_t bytes() const;
  size_t rank() const { return shape.size(); }
  template <class T> T* ptr() { return static_cast<T*>(data); }
  template <class T> const T* ptr() const { return static_cast<const T*>(data); }
  float* f32() { return ptr<float>(); }
  const float* f32() const { return ptr<float>(); }
  // "float32 [1,3,224,224]" for messages.
  std::string describe() const;
};

// Bytes per element of a runtime dtype (bool: 1, float16: 2); throws qp::Error for types the runtime cannot hold.
size_t dtype_bytes(DType t);

// A fresh zero-initialised heap tensor.
Value value_alloc(DType t, std::vector<int64_t> shape);
// A read-only view of a weight (no copy); the Graph must outlive it.
Value value_view(const Tensor& t);
// A deep copy with its own storage.
Value value_clone(const Value& v);
// Copy into an IR tensor (for export and for the test harness).
Tensor value_to_tensor(const Value& v, const std::string& name);
// Every element widened to double (any numeric dtype); for tests, statistics and JSON.
std::vector<double> value_to_doubles(const Value& v);
// A float32 tensor from data (copied).
Value value_f32(std::vector<int64_t> shape, const std::vector<float>& data);
Value value_i64(std::vector<int64_t> shape, const std::vector<int64_t>& data);

}  // namespace qp
