// ONNX writer tests: load -> save -> load gives the same Graph on every real model; half-precision weights, IR < 4
// models and the refusals (subgraphs, untyped attributes, string tensors) with their messages.
#include "core/onnx/writer.h"

#include <doctest/doctest.h>

#include <cstring>

#include "core/ir/error.h"
#include "core/onnx/loader.h"
#include "tests/support/test_data.h"

using namespace qp;

namespace {

Graph reload(const Graph& g) {
  const std::string bytes = onnx_save(g);
  return onnx_load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
}

void check_value_infos(const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b, const char* what) {
  INFO(what);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].dtype == b[i].dtype);
    CHECK(a[i].has_shape == b[i].has_shape);
    REQUIRE(a[i].shape.size() == b[i].shape.size());
    for (size_t k = 0; k < a[i].shape.size(); ++k) {
      CHECK(a[i].shape[k].value == b[i].shape[k].value);
      CHECK(a[i].shape[k].param == b[i].shape[k].param);
    }
  }
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.name == b.name && a.dtype == b.dtype && a.stored_dtype == b.stored_dtype && a.dims == b.dims &&
         a.data == b.data && a.source == b.source;
}

// Everything the IR keeps except the producer (which becomes quantplay) and the metadata entry that remembers it.
void check_same_graph(const Graph& a, const Graph& b) {
  CHECK(a.name == b.name);
  CHECK(a.ir_version == b.ir_version);
  CHECK(a.opsets == b.opsets);
  CHECK(a.domain == b.domain);
  CHECK(a.doc_string == b.doc_string);
  CHECK(a.file_nodes == b.file_nodes);
  CHECK(a.constant_nodes == b.constant_nodes);
  CHECK(a.initializers == b.initializers);
  check_value_infos(a.inputs, b.inputs, "inputs");
  check_value_infos(a.outputs, b.outputs, "outputs");
  check_value_infos(a.value_info, b.value_info, "value_info");
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    INFO(x.describe());
    CHECK(x.name == y.name);
    CHECK(x.op_type == y.op_type);
    CHECK(x.domain == y.domain);
    CHECK(x.op == y.op);
    CHECK(x.inputs == y.inputs);
    CHECK(x.outputs == y.outputs);
    REQUIRE(x.attrs.size() == y.attrs.size());
    for (size_t k = 0; k < x.attrs.size(); ++k) {
      const Attribute &p = x.attrs[k], &q = y.attrs[k];
      CHECK(p.name == q.name);
      CHECK(p.type == q.type);
      CHECK(std::memcmp(&p.f, &q.f, 4) == 0);
      CHECK(p.i == q.i);
      CHECK(p.s == q.s);
      CHECK(p.ints == q.ints);
      CHECK(p.strings == q.strings);
      REQUIRE(p.floats.size() == q.floats.size());
      CHECK((p.floats.empty() || std::memcmp(p.floats.data(), q.floats.data(), p.floats.size() * 4) == 0));
      if (p.type == AttrType::kTensor) CHECK(same_tensor(p.t, q.t));
    }
  }
  REQUIRE(a.weights.size() == b.weights.size());
  for (const auto& kv : a.weights) {
    INFO("weight " << kv.first);
    auto it = b.weights.find(kv.first);
    REQUIRE(it != b.weights.end());
    CHECK(same_tensor(kv.second, it->second));
  }
}

std::string metadata(const Graph& g, const std::string& key) {
  for (const auto& kv : g.metadata)
    if (kv.first == key) return kv.second;
  return "";
}

Graph matmul_graph() {
  Graph g;
  g.name = "t";
  g.ir_version = 8;
  g.opsets = {{"", 13}};
  g.inputs = {ValueInfo{"x", DType::kFloat32, true, {Dim{1, ""}, Dim{2, ""}}}};
  g.outputs = {ValueInfo{"y", DType::kFloat32, true, {Dim{-1, "N"}, Dim{2, ""}}}};
  g.weights["w"] = tensor_f32("w", {2, 2}, {1, 2, 3, 4});
  g.nodes.push_back(node_make("mm", "MatMul", {"x", "w"}, {"y"}));
  g.file_nodes = 1;
  g.initializers = 1;
  return g;
}

}  // namespace

TEST_CASE("onnx_save: load -> save -> load keeps every real model's graph (nodes, attributes, weight bytes)") {
  for (const auto& path : qp_test::real_models()) {
    INFO(path);
    const Graph a = onnx_load_file(path);
    const std::string bytes = onnx_save(a);
    const Graph b = onnx_load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
    check_same_graph(a, b);
    CHECK(b.producer_name == "quantplay");
    if (!a.producer_name.empty())
      CHECK(metadata(b, kOriginalProducerKey).rfind(a.producer_name, 0) == 0);
    CHECK(onnx_save(b) == bytes);  // deterministic, and a re-export keeps the first original producer
  }
}

TEST_CASE("onnx_save: float16 and bfloat16 weights go back to their stored type exactly") {
  for (DType t : {DType::kFloat16, DType::kBFloat16}) {
    Graph g = matmul_graph();
    Tensor& w = g.weights["w"];
    std::vector<float> all;
    for (uint32_t h = 0; h < 65536; ++h) {
      const float f = t == DType::kFloat16 ? f16_to_f32(static_cast<uint16_t>(h)) : bf16_to_f32(static_cast<uint16_t>(h));
      if (!std::isnan(f)) all.push_back(f);
    }
    w.stored_dtype = t;
    w.dims = {static_cast<int64_t>(all.size())};
    w.data.assign(reinterpret_cast<const char*>(all.data()), all.size() * 4);
    const Graph b = reload(g);
    const Tensor& r = b.weights.at("w");
    CHECK(r.stored_dtype == t);
    CHECK(r.dtype == DType::kFloat32);
    CHECK(r.data == w.data);
  }
  // Rounding of values between halves: to nearest, ties to even, overflow to inf.
  Graph g = matmul_graph();
  Tensor& w = g.weights["w"];
  w.stored_dtype = DType::kFloat16;
  const float v[4] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, 1e-8f};
  w.data.assign(reinterpret_cast<const char*>(v), 16);
  const Graph b = reload(g);
  const Tensor& r = b.weights.at("w");
  CHECK(r.f32()[0] == 1.0f);
  CHECK(r.f32()[1] == 1.0f + 4.0f / 2048);
  CHECK(std::isinf(r.f32()[2]));
  CHECK(r.f32()[3] == 0.0f);
}

TEST_CASE("onnx_save: IR < 4 lists initializers as graph inputs; reloading gives the same inputs") {
  Graph g = matmul_graph();
  g.ir_version = 3;
  g.opsets = {{"", 7}};
  const Graph b = reload(g);
  check_same_graph(g, b);
}

TEST_CASE("onnx_save: Constant-node weights are written back as Constant nodes") {
  Graph g = matmul_graph();
  g.weights["w"].source = TensorSource::kConstantNode;
  g.initializers = 0;
  g.file_nodes = 2;
  g.constant_nodes = 1;
  check_same_graph(g, reload(g));
}

TEST_CASE("onnx_save: what the IR cannot write back is refused with a message naming the node or tensor") {
  Graph g = matmul_graph();
  g.nodes[0].has_subgraph = true;
  CHECK_THROWS_WITH_AS(onnx_save(g), doctest::Contains("node 'mm' (MatMul): it has a subgraph attribute"), Error);

  g = matmul_graph();
  Attribute a;
  a.name = "sparse";
  a.type = AttrType::kOther;
  g.nodes[0].attrs.push_back(a);
  CHECK_THROWS_WITH_AS(onnx_save(g), doctest::Contains("node 'mm' (MatMul): attribute 'sparse'"), Error);

  g = matmul_graph();
  g.weights["w"].dtype = g.weights["w"].stored_dtype = DType::kString;
  CHECK_THROWS_WITH_AS(onnx_save(g), doctest::Contains("cannot write weight 'w': string data"), Error);

  g = matmul_graph();
  g.weights["w"].data.resize(12);
  CHECK_THROWS_WITH_AS(onnx_save(g), doctest::Contains("cannot write weight 'w': holds 12 bytes, expected 16"), Error);
}
