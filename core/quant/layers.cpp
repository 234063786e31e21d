// Finding quantizable layers and their output-channel axes (ALGORITHMS.md §0 table).
#include "core/quant/layers.h"

#include <cmath>
#include <map>

#include "core/ir/error.h"

namespace qp {

namespace {

const Tensor* weight_of(const Graph& g, const Node& n, size_t i) {
  return i < n.inputs.size() && !n.inputs[i].empty() ? g.weight(n.inputs[i]) : nullptr;
}

void set_weight(Layer& l, const Tensor& w, int axis) {
  l.weight = w.name;
  l.shape = w.dims;
  l.params = w.numel();
  if (axis < 0) axis += static_cast<int>(w.dims.size());
  l.channel_axis = axis;
  l.channels = (axis >= 0 && axis < static_cast<int>(w.dims.size())) ? w.dims[static_cast<size_t>(axis)] : 1;
  if (w.dtype != DType::kFloat32) l.skip = "weight is " + dtype_name(w.dtype) + ", not a float tensor";
  else if (w.dims.size() < 2 && l.op_type != "MatMul") l.skip = "weight has " + std::to_string(w.dims.size()) + " dims";
}

void set_bias(Layer& l, const Tensor* b) {
  if (!b) return;
  l.bias = b->name;
  l.bias_params = b->numel();
}

}  // namespace

std::vector<Layer> find_layers(const Graph& g) {
  // Value name -> consumers, to find the Add that carries a MatMul's bias.
  std::map<std::string, std::vector<const Node*>> consumers;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) consumers[in].push_back(&n);

  std::vector<Layer> layers;
  for (const auto& n : g.nodes) {
    Layer l;
    l.name = n.name;
    l.op_type = n.op_type;
    if (n.op == Op::kConv || n.op == Op::kConvTranspose) {
      const Tensor* w = weight_of(g, n, 1);
      if (!w) continue;
      l.groups = n.attr_int("group", 1);
      set_weight(l, *w, n.op == Op::kConv ? 0 : 1);
      set_bias(l, weight_of(g, n, 2));
    } else if (n.op == Op::kGemm) {
      const Tensor* b = weight_of(g, n, 1);
      const Tensor* a = weight_of(g, n, 0);
      if (b) set_weight(l, *b, n.attr_int("transB", 0) ? 0 : 1);
      else if (a) set_weight(l, *a, n.attr_int("transA", 0) ? 1 : 0);
      else continue;
      set_bias(l, weight_of(g, n, 2));
    } else if (n.op == Op::kMatMul) {
      const Tensor* b = weight_of(g, n, 1);
      const Tensor* a = weight_of(g, n, 0);
      if (b) set_weight(l, *b, -1);
      else if (a) set_weight(l, *a, a->dims.size() >= 2 ? -2 : 0);
      else continue;
      if (n.outputs.size() == 1) {  // bias: a following Add with a constant operand of one value per channel
        auto it = consumers.find(n.outputs[0]);
        if (it != consumers.end() && it->second.size() == 1 && it->second[0]->op == Op::kAdd) {
          const Node& add = *it->second[0];
          for (const auto& in : add.inputs) {
            const Tensor* t = in != n.outputs[0] ? g.weight(in) : nullptr;
            if (t && t->numel() == l.channels) set_bias(l, t);
          }
        }
      }
    } else {
      continue;
    }
    layers.push_back(std::move(l));
  }
  return layers;
}

ChannelView channel_view(const Tensor& w, int axis) {
  ChannelView v;
  const int64_t numel = w.numel();
  const int rank = static_cast<int>(w.dims.size());
  if (rank == 0 || axis < 0 || axis >= rank) {
    v.data = w.f32();
    v.channels = 1;
    v.inner = numel;
    return v;
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= w.dims[static_cast<size_t>(i)];
  for (int i = axis + 1; i < rank; ++i) inner *= w.dims[static_cast<size_t>(i)];
  const int64_t c = w.dims[static_cast<size_t>(axis)];
  v.channels = c;
  v.inner = outer * inner;
  if (outer == 1) {
    v.data = w.f32();
    return v;
  }
  v.scratch.resize(static_cast<size_t>(numel));
  const float* src = w.f32();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        v.scratch[static_cast<size_t>((ch * outer + o) * inner + i)] = src[(o * c + ch) * inner + i];
  v.data = v.scratch.data();
  return v;
}

}  // namespace qp
