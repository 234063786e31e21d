// Small hand-built graphs and the digits data for the Meller and bias-correction tests.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/quant/calib.h"
#include "tests/quant/passes/pass_graphs.h"
#include "tests/support/test_data.h"

namespace mbc_test {

using namespace qp;

// The small-graph builders of pass_graphs.h and core/ir, under the names these tests use.
using qp_pass_test::attr_i;
using qp_pass_test::attr_ints;
using qp_pass_test::vinfo;
inline Node node(const std::string& name, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                 std::vector<Attribute> attrs = {}) {
  return qp::node_make(name, op, std::move(in), std::move(out), std::move(attrs));
}
inline Tensor tensor(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& v) {
  return qp::tensor_f32(name, std::move(dims), v);
}

// Seeded normal weights; channel c of the output axis 0 scaled by spread[c % spread.size()]. Box-Muller over
// mt19937's words (whose sequence the standard fixes), not std::normal_distribution (libstdc++ and Emscripten's
// libc++ draw differently), so native and wasm build the same graphs.
inline Tensor weight(const std::string& name, std::vector<int64_t> dims, uint32_t seed, std::vector<float> spread = {1}) {
  std::mt19937 rng(seed);
  auto nd = [](std::mt19937& r) {
    const double u1 = (static_cast<double>(r()) + 1.0) / 4294967296.0, u2 = static_cast<double>(r()) / 4294967296.0;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  };
  int64_t n = 1;
  for (auto d : dims) n *= d;
  const int64_t per = n / dims[0];
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = nd(rng) * 0.3f * spread[static_cast<size_t>((i / per) % static_cast<int64_t>(spread.size()))];
  return tensor(name, std::move(dims), v);
}

inline void add_weight(Graph& g, Tensor t) { g.weights[t.name] = std::move(t); }

// x[1,3,8,8] -> conv1 (6, 3x3, pad 1) -> act1 -> conv2 (5, 1x1, no bias) -> Relu -> GAP -> Flatten -> fc -> y.
// Channels of conv1 differ in scale by 40x, the classic per-tensor trouble case. `act` = "Relu" or "Clip6".
inline Graph chain(const std::string& act = "Relu") {
  Graph g;
  g.opsets = {{"", 13}};
  g.inputs = {vinfo("x", {1, 3, 8, 8})};
  g.outputs = {vinfo("y", {1, 4})};
  add_weight(g, weight("w1", {6, 3, 3, 3}, 1, {1.0f, 0.05f, 0.3f, 0.025f, 0.6f, 0.1f}));
  add_weight(g, tensor("b1", {6}, {0.1f, 0.02f, -0.05f, 0.01f, 0.2f, 0.0f}));
  add_weight(g, weight("w2", {5, 6, 1, 1}, 2));
  add_weight(g, weight("wf", {4, 5}, 3));
  add_weight(g, tensor("bf", {4}, {0.1f, -0.1f, 0.2f, 0.0f}));
  const std::vector<Attribute> pad = {attr_ints("pads", {1, 1, 1, 1})};
  g.nodes.push_back(node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"}, pad));
  if (act == "Clip6") {
    add_weight(g, tensor("lo", {}, {0.0f}));
    add_weight(g, tensor("hi", {}, {6.0f}));
    g.nodes.push_back(node("act1", "Clip", {"c1", "lo", "hi"}, {"a1"}));
  } else {
    g.nodes.push_back(node("act1", act, {"c1"}, {"a1"}));
  }
  g.nodes.push_back(node("conv2", "Conv", {"a1", "w2"}, {"c2"}));
  g.nodes.push_back(node("act2", "Relu", {"c2"}, {"a2"}));
  g.nodes.push_back(node("gap", "GlobalAveragePool", {"a2"}, {"p"}));
  g.nodes.push_back(node("flat", "Flatten", {"p"}, {"f"}, {attr_i("axis", 1)}));
  g.nodes.push_back(node("fc", "Gemm", {"f", "wf", "bf"}, {"y"}, {attr_i("transB", 1)}));
  return g;
}

inline const Graph& digits() {
  static const Graph g = onnx_load_file(qp_test::shared_dir() + "/models/trained/digits_cnn.onnx");
  return g;
}

// The first `rows` labelled test digits, `batch` rows per sample, labels attached.
inline CalibrationSet digits_data(int first, int rows, int batch) {
  const std::string dir = qp_test::shared_dir() + "/models/trained/";
  static const Tensor x = npy_parse(read_file_bytes(dir + "digits_cnn_test_x.npy"), "x");
  static const std::vector<int64_t> y = calibration_labels(npy_parse(read_file_bytes(dir + "digits_cnn_test_y.npy"), "y"), "y");
  const int64_t row = x.numel() / x.dims[0];
  Tensor part = x;
  part.dims[0] = rows;
  part.data = x.data.substr(static_cast<size_t>(first * row) * sizeof(float), static_cast<size_t>(rows * row) * sizeof(float));
  CalibrationSet cs = calibration_from_tensors(digits(), {part}, {"digits_cnn_test_x.npy"}, batch);
  cs.labels.assign(y.begin() + first, y.begin() + first + rows);
  return cs;
}

}  // namespace mbc_test
