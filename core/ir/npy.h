// NumPy .npy files (format 1.0-3.0, little-endian, C order) to and from IR tensors.
#pragma once

#include <string>

#include "core/ir/tensor.h"

namespace qp {

// Parses .npy bytes; throws qp::Error naming the byte offset and what is wrong (header, dtype, size).
// float16 data is widened to float32 as for weights.
Tensor npy_parse(const std::string& bytes, const std::string& name);
// Serialises a tensor (float32/64, int8/16/32/64, uint8/16/32/64, bool) as .npy version 1.0.
std::string npy_serialize(const Tensor& t);

}  // namespace qp
