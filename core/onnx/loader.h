// ONNX importer: the only code that sees protobuf types. Bytes in, qp::Graph out, or a qp::Error that says where.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/ir/graph.h"

namespace qp {

// Where tensors stored outside the model file come from.
class ExternalData {
 public:
  virtual ~ExternalData() = default;
  // Returns `length` bytes (or the rest of the file when length < 0) from `offset` of `location`.
  // Throws qp::Error naming the location when it is missing, escapes, or is too short.
  virtual std::string read(const std::string& location, int64_t offset, int64_t length) const = 0;
};

// Files relative to a folder (the model's); any location that resolves outside it is refused.
class DirExternalData : public ExternalData {
 public:
  explicit DirExternalData(std::string dir) : dir_(std::move(dir)) {}
  std::string read(const std::string& location, int64_t offset, int64_t length) const override;

 private:
  std::string dir_;
};

// Files handed in by name, as a browser gets them when several files are dropped together.
class MapExternalData : public ExternalData {
 public:
  std::map<std::string, std::string> files;
  std::string read(const std::string& location, int64_t offset, int64_t length) const override;
};

// Parses an ONNX model. `release_input` is called once the protobuf message owns everything it needs,
// so the caller can free the input buffer and the model is held once, not twice.
Graph onnx_load(const uint8_t* data, size_t size, const ExternalData* external,
                const std::function<void()>& release_input = {});

// Reads a file (C stdio, so it also works in wasm under node's raw file system) and parses it; external data
// is looked up next to the file.
Graph onnx_load_file(const std::string& path);

// Parses one serialised TensorProto (the .pb files of ONNX test data sets). float16/bfloat16 are widened to float32
// as for weights. `what` names it in messages.
Tensor onnx_load_tensor(const std::string& bytes, const std::string& what);

// Reads a whole file; throws qp::Error with the reason.
std::string read_file_bytes(const std::string& path);

}  // namespace qp
