// The executor's plan and hooks on small hand-built graphs: capture, substitute, fake-quant, recompute downstream,
// fused activations, folded shape arithmetic, buffer reuse, and the messages for bad inputs and unsupported ops.
#include "core/runtime/executor.h"

#include <doctest/doctest.h>

#include <cmath>

#include "core/ir/error.h"
#include "core/runtime/op_context.h"

using namespace qp;

namespace {

ValueInfo vinfo(const std::string& name, std::vector<Dim> shape, DType t = DType::kFloat32) {
  ValueInfo v;
  v.name = name;
  v.dtype = t;
  v.has_shape = true;
  v.shape = std::move(shape);
  return v;
}

Dim dim(int64_t v) { return Dim{v, ""}; }
Dim sym(const std::string& p) { return Dim{-1, p}; }

// y = Relu(x @ W + b) * 2 - 1, with x [batch, 3], W [3, 4], plus a Shape -> Reshape round trip on the way.
Graph mlp() {
  Graph g;
  g.opsets = {{"", 17}};
  g.inputs = {vinfo("x", {sym("batch"), dim(3)})};
  g.outputs = {vinfo("y", {sym("batch"), dim(4)})};
  g.weights["W"] = tensor_f32("W", {3, 4}, {0.5f, -1, 2, 0.25f, 1, 1, -1, 0.5f, -0.5f, 0, 1, 2});
  g.weights["b"] = tensor_f32("b", {4}, {0.1f, -0.2f, 0.3f, -4});
  g.weights["two"] = tensor_f32("two", {}, {2});
  g.weights["one"] = tensor_f32("one", {}, {1});
  g.nodes = {node_make("mm", "MatMul", {"x", "W"}, {"h0"}), node_make("add", "Add", {"h0", "b"}, {"h1"}),
             node_make("relu", "Relu", {"h1"}, {"h2"}), node_make("shape", "Shape", {"h2"}, {"s"}),
             node_make("reshape", "Reshape", {"h2", "s"}, {"h3"}), node_make("mul", "Mul", {"h3", "two"}, {"h4"}),
             node_make("sub", "Sub", {"h4", "one"}, {"y"})};
  return g;
}

std::vector<float> mlp_ref(const std::vector<float>& x, const std::vector<float>& W, const std::vector<float>& b) {
  const size_t n = x.size() / 3;
  std::vector<float> y(n * 4);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < 4; ++c) {
      float s = 0;
      for (size_t k = 0; k < 3; ++k) s += x[r * 3 + k] * W[k * 4 + c];
      y[r * 4 + c] = std::max(s + b[c], 0.0f) * 2 - 1;
    }
  return y;
}

std::vector<float> to_vec(const Value& v) { return std::vector<float>(v.f32(), v.f32() + v.numel()); }
std::vector<float> w_of(const Graph& g, const std::string& n) {
  const Tensor& t = g.weights.at(n);
  return std::vector<float>(t.f32(), t.f32() + t.numel());
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, float tol = 1e-5f) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i);
    CHECK(std::fabs(a[i] - b[i]) <= tol * std::max(1.0f, std::fabs(b[i])));
  }
}

}  // namespace

TEST_CASE("executor: runs a graph, binds symbolic dims, reuses its plan and its buffers") {
  const Graph g = mlp();
  Executor ex(g);
  REQUIRE(ex.unsupported().empty());
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 4};
  auto out = ex.run({{"x", value_f32({2, 3}, x)}});
  check_close(to_vec(out.at("y")), mlp_ref(x, w_of(g, "W"), w_of(g, "b")));
  CHECK(out.at("y").shape == std::vector<int64_t>{2, 4});
  CHECK(ex.last_stats().planned);
  const int64_t pool = ex.last_stats().pool_bytes;
  out.clear();
  out = ex.run({{"x", value_f32({2, 3}, x)}});
  CHECK_FALSE(ex.last_stats().planned);
  CHECK(ex.last_stats().pool_bytes == pool);          // the second run allocates nothing new
  CHECK(ex.last_stats().nodes_run < 7);               // Shape folded away once the shapes are known
  check_close(to_vec(out.at("y")), mlp_ref(x, w_of(g, "W"), w_of(g, "b")));
  // Another batch size: a new plan, same numbers.
  const std::vector<float> x3 = {1, 2, 3, -1, 0.5f, 4, 0, 0, 1};
  out = ex.run({{"x", value_f32({3, 3}, x3)}});
  CHECK(ex.last_stats().planned);
  check_close(to_vec(out.at("y")), mlp_ref(x3, w_of(g, "W"), w_of(g, "b")));
}

TEST_CASE("executor: fused activations give the numbers of the unfused graph") {
  const Graph g = mlp();
  Executor ex(g);
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 4};
  RunOptions unfused;
  unfused.fuse = false;
  const auto a = ex.run({{"x", value_f32({2, 3}, x)}});
  const auto b = ex.run({{"x", value_f32({2, 3}, x)}}, unfused);
  check_close(to_vec(a.at("y")), to_vec(b.at("y")), 0);
}

TEST_CASE("executor: capture, substitute and fake-quantize leave the graph untouched") {
  const Graph g = mlp();
  Executor ex(g);
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 4};
  RunOptions cap;
  cap.capture = {"h1"};
  auto out = ex.run({{"x", value_f32({2, 3}, x)}}, cap);
  REQUIRE(out.count("h1"));
  CHECK(out.at("h1").shape == std::vector<int64_t>{2, 4});
  CHECK(out.at("h1").f32()[3] == doctest::Approx(1 * 0.25f + 2 * 0.5f + 3 * 2 - 4));

  // Substitute W by its negation: the output follows the substitute, the graph's W is unchanged.
  std::vector<float> wneg = w_of(g, "W");
  for (auto& v : wneg) v = -v;
  RunOptions sub;
  sub.substitute["W"] = value_f32({3, 4}, wneg);
  out = ex.run({{"x", value_f32({2, 3}, x)}}, sub);
  check_close(to_vec(out.at("y")), mlp_ref(x, wneg, w_of(g, "b")));
  CHECK(g.weights.at("W").f32()[0] == 0.5f);
  // A substitute of the wrong shape is refused with both shapes named.
  sub.substitute["W"] = value_f32({4, 3}, wneg);
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_f32({2, 3}, x)}}, sub),
                       "substitute for weight 'W' is float32 [4,3], expected float32 [3,4]", Error);

  // Fake-quantize W at 2 bits per tensor (symmetric, restricted: levels -1, 0, 1 times 2/1): analytic.
  RunOptions fq;
  FakeQuant q;
  q.spec.bits = 2;
  fq.fake_quant["W"] = q;
  out = ex.run({{"x", value_f32({2, 3}, x)}}, fq);
  std::vector<float> wq = w_of(g, "W");
  for (auto& v : wq) v = std::nearbyint(v / 2.0f) * 2.0f;  // scale = max|W| / 1 = 2
  check_close(to_vec(out.at("y")), mlp_ref(x, wq, w_of(g, "b")));
  CHECK(g.weights.at("W").f32()[3] == 0.25f);

  // Fake-quantize an activation with fixed parameters: y = round(h2 / 0.5) * 0.5, then * 2 - 1.
  RunOptions fa;
  FakeQuant qa;
  qa.spec.bits = 8;
  qa.params = {QParams{0.5f, 0, -127, 127}};
  fa.fake_quant["h2"] = qa;
  fa.capture = {"h1"};
  out = ex.run({{"x", value_f32({2, 3}, x)}}, fa);
  const Value& h1 = out.at("h1");
  for (int64_t i = 0; i < h1.numel(); ++i) {
    const float h2 = std::max(h1.f32()[i], 0.0f);
    CHECK(out.at("y").f32()[i] == doctest::Approx(std::nearbyint(h2 / 0.5f) * 0.5f * 2 - 1));
  }
}

TEST_CASE("executor: run_from recomputes only downstream of a change and matches a full run") {
  const Graph g = mlp();
  Executor ex(g);
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 4};
  RunOptions all;
  all.capture_all = true;
  const auto cache = ex.run({{"x", value_f32({2, 3}, x)}}, all);
  REQUIRE(cache.count("h2"));
  REQUIRE(cache.count("x"));

  // Change b: MatMul must not run again.
  std::vector<float> b2 = {1, 1, 1, 1};
  RunOptions sub;
  sub.substitute["b"] = value_f32({4}, b2);
  CHECK(ex.downstream_nodes({"b"}) == std::vector<std::string>{"add", "relu", "shape", "reshape", "mul", "sub"});
  const auto part = ex.run_from(cache, {"b"}, sub);
  CHECK(ex.last_stats().nodes_run == 6);
  CHECK_FALSE(part.count("h0"));
  const auto full = ex.run({{"x", value_f32({2, 3}, x)}}, sub);
  check_close(to_vec(part.at("y")), to_vec(full.at("y")), 0);

  // Fake-quantize an activation that was not quantized in the cached run: its producer runs again.
  RunOptions fa;
  FakeQuant qa;
  qa.spec.bits = 3;
  fa.fake_quant["h3"] = qa;
  const auto part2 = ex.run_from(cache, {"h3"}, fa);
  CHECK(ex.last_stats().nodes_run == 3);  // reshape, mul, sub
  const auto full2 = ex.run({{"x", value_f32({2, 3}, x)}}, fa);
  check_close(to_vec(part2.at("y")), to_vec(full2.at("y")), 0);

  CHECK_THROWS_WITH_AS(ex.run_from(cache, {"nope"}), "'nope' is not a value of this model", Error);
}

TEST_CASE("executor: bad inputs are named with what was expected") {
  const Graph g = mlp();
  Executor ex(g);
  CHECK_THROWS_WITH_AS(ex.run({}), "input 'x' is missing", Error);
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_f32({2, 4}, std::vector<float>(8))}}),
                       "input 'x' is float32 [2,4], expected float32 [batch,3] (dim 1 must be 3)", Error);
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_f32({6}, std::vector<float>(6))}}),
                       "input 'x' is float32 [6], expected 2 dims [batch,3]", Error);
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_i64({2, 3}, std::vector<int64_t>(6))}}),
                       "input 'x' is int64 [2,3], expected float32 [batch,3]", Error);
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_f32({2, 3}, std::vector<float>(6))}, {"z", value_f32({1}, {1})}}),
                       "the model has no input named 'z' (inputs: x)", Error);
}

TEST_CASE("executor: unsupported and control-flow ops are listed by op and node") {
  Graph g = mlp();
  g.nodes.push_back(node_make("frob_1", "Frobnicate", {"y"}, {"z"}));
  g.nodes.back().domain = "com.example";
  g.nodes.push_back(node_make("if_1", "If", {"y"}, {"w"}));
  g.nodes.back().has_subgraph = true;
  Executor ex(g);
  REQUIRE(ex.unsupported().size() == 2);
  CHECK(ex.unsupported()[0] == "Frobnicate (domain 'com.example'): frob_1");
  CHECK(ex.unsupported()[1] == "If (control flow and recurrent ops are not supported yet): if_1");
  CHECK_THROWS_WITH_AS(ex.run({{"x", value_f32({1, 3}, {1, 2, 3})}}),
                       "cannot run this model: unsupported ops: Frobnicate (domain 'com.example'): frob_1; If (control "
                       "flow and recurrent ops are not supported yet): if_1",
                       Error);
}

TEST_CASE("executor: an op's error names the node") {
  Graph g = mlp();
  g.weights["W"] = tensor_f32("W", {2, 4}, std::vector<float>(8, 1));
  Executor ex(g);
  try {
    ex.run({{"x", value_f32({1, 3}, {1, 2, 3})}});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).rfind("node 'mm' (MatMul): ", 0) == 0);
  }
}

TEST_CASE("executor: random_inputs is deterministic and in range") {
  const Graph g = mlp();
  const auto a = random_inputs(g, 7, {{"batch", 5}});
  const auto b = random_inputs(g, 7, {{"batch", 5}});
  REQUIRE(a.at("x").shape == std::vector<int64_t>{5, 3});
  for (int64_t i = 0; i < 15; ++i) {
    CHECK(a.at("x").f32()[i] == b.at("x").f32()[i]);
    CHECK(a.at("x").f32()[i] >= 0.0f);
    CHECK(a.at("x").f32()[i] < 1.0f);
  }
  CHECK(random_inputs(g, 8).at("x").f32()[0] != a.at("x").f32()[0]);
}
