// Quantizable layers of a graph (Conv, ConvTranspose, Gemm, MatMul with a constant operand) and channel views.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ir/graph.h"

namespace qp {

struct Layer {
  std::string name;     // node name
  std::string op_type;
  std::string weight;   // weight tensor name
  std::vector<int64_t> shape;
  int64_t params = 0;
  int channel_axis = 0;  // output-channel axis of the weight (ALGORITHMS.md §0)
  int64_t channels = 1;
  int64_t groups = 1;
  std::string bias;      // bias tensor name ("" when none); biases stay float32
  int64_t bias_params = 0;
  std::string skip;      // why the weight cannot be analysed ("" when it can)
};

// Layers in topological order.
std::vector<Layer> find_layers(const Graph& g);

// The weight as rows of one output channel each: [channels, inner]. Points into the tensor when the channel
// axis is the outermost one; otherwise the rows are gathered into `scratch`.
struct ChannelView {
  const float* data = nullptr;
  int64_t channels = 1, inner = 0;
  std::vector<float> scratch;
};
ChannelView channel_view(const Tensor& w, int axis);

}  // namespace qp
