// IR tests: dtype table, shape arithmetic, half-precision conversion, op table, topological order.
#include "core/ir/tensor.h"

#include <doctest/doctest.h>

#include <cmath>

#include "core/ir/error.h"
#include "core/ir/graph.h"

using namespace qp;

TEST_CASE("dtype names and sizes follow ONNX numbering") {
  CHECK(dtype_name(DType::kFloat32) == "float32");
  CHECK(dtype_name(DType::kBFloat16) == "bfloat16");
  CHECK(dtype_name(static_cast<DType>(99)) == "dtype(99)");
  CHECK(dtype_size(DType::kInt64) == 8);
  CHECK(dtype_is_known(26));
  CHECK(!dtype_is_known(27));
  CHECK(!dtype_is_known(0));
}

TEST_CASE("shape_numel rejects negative dims and overflow") {
  CHECK(shape_numel({2, 3, 4}) == 24);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({5, 0}) == 0);
  CHECK_THROWS_WITH(shape_numel({2, -1}), "negative dim -1 in shape [2,-1]");
  CHECK_THROWS_WITH(shape_numel({int64_t{1} << 32, int64_t{1} << 32}), "shape [4294967296,4294967296] overflows int64");
}

TEST_CASE("float16 conversion covers normals, subnormals, infinities") {
  CHECK(f16_to_f32(0x3c00) == 1.0f);
  CHECK(f16_to_f32(0x8000) == -0.0f);
  CHECK(f16_to_f32(0x0400) == std::ldexp(1.0f, -14));
  CHECK(f16_to_f32(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(std::isinf(f16_to_f32(0x7c00)));
  CHECK(std::isnan(f16_to_f32(0x7e00)));
}

TEST_CASE("op table: names round-trip, other domains are unsupported") {
  for (int i = 0; i < kOpCount; ++i) CHECK(op_from_name("", op_name(static_cast<Op>(i))) == static_cast<Op>(i));
  CHECK(op_from_name("ai.onnx", "Conv") == Op::kConv);
  CHECK(op_from_name("com.microsoft", "Conv") == Op::kUnsupported);
  CHECK(op_from_name("", "NonMaxSuppression") == Op::kUnsupported);
}

TEST_CASE("topological sort is deterministic and keeps file order among ready nodes") {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, false, {}});
  auto node = [](const char* name, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.name = name;
    n.op_type = "Relu";
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
  };
  g.nodes = {node("c", {"b"}, {"c"}), node("a", {"x"}, {"a"}), node("b", {"a"}, {"b"}), node("d", {"x"}, {"d"})};
  graph_sort_topological(g);
  CHECK(g.nodes[0].name == "a");
  CHECK(g.nodes[1].name == "b");
  CHECK(g.nodes[2].name == "c");
  CHECK(g.nodes[3].name == "d");
}
