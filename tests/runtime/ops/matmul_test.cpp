// Gemm and MatMul ops: every C broadcast form, transposes, alpha/beta, old opset forms, numpy MatMul (1-D operands,
// batch broadcast) against naive loops, fused epilogues, const_key caching, pinned errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/runtime/kernels/f32_gemm.h"
#include "core/runtime/shape_util.h"
#include "tests/support/op_runner.h"

using namespace qp;
using namespace qp_test;

namespace {

Value rand_value(std::mt19937& gen, std::vector<int64_t> shape) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = u(gen);
  return value_f32(std::move(shape), v);
}

void check_vs(const Value& got, const std::vector<int64_t>& shape, const std::vector<double>& want) {
  REQUIRE(got.shape == shape);
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got.f32()[i] - want[i]) <= 1e-5 * std::max(1.0, std::fabs(want[i])))) {
      if (++bad <= 3) {
        INFO("element " << i << " got " << got.f32()[i] << " want " << want[i]);
        CHECK(false);
      }
    }
  CHECK(bad == 0);
}

// alpha * op(A) op(B) + beta * broadcast(C) in double.
std::vector<double> gemm_naive(const Value& a, const Value& b, const Value* c, bool ta, bool tb, double alpha,
                               double beta) {
  const int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1], n = tb ? b.shape[0] : b.shape[1];
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        s += static_cast<double>(a.f32()[ta ? kk * m + i : i * k + kk]) * b.f32()[tb ? j * k + kk : kk * n + j];
      double cv = 0;
      if (c) {
        const int64_t cr = c->rank() == 2 ? c->shape[0] : 1, cc = c->rank() >= 1 ? c->shape[c->rank() - 1] : 1;
        cv = c->f32()[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
      }
      y[static_cast<size_t>(i * n + j)] = alpha * s + beta * cv;
    }
  return y;
}

}  // namespace

TEST_CASE("matmul: Gemm with every C form, transposes, alpha and beta") {
  const std::vector<std::vector<int64_t>> c_shapes = {{}, {1}, {7}, {1, 7}, {5, 1}, {5, 7}, {1, 1}};
  uint32_t seed = 0;
  for (const auto& cs : c_shapes)
    for (int t = 0; t < 4; ++t) {
      std::mt19937 gen(++seed);
      const bool ta = t & 1, tb = t & 2;
      const Value a = rand_value(gen, ta ? std::vector<int64_t>{33, 5} : std::vector<int64_t>{5, 33});
      const Value b = rand_value(gen, tb ? std::vector<int64_t>{7, 33} : std::vector<int64_t>{33, 7});
      const Value c = rand_value(gen, cs);
      const float alpha = t == 3 ? 0.5f : 1.0f, beta = t >= 2 ? -2.0f : 1.0f;
      INFO("seed " << seed << " C " << shape_str(cs) << " transA " << ta << " transB " << tb);
      const auto y = run_op("Gemm", {&a, &b, &c},
                            {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", alpha), attr_f("beta", beta)});
      check_vs(y[0], {5, 7}, gemm_naive(a, b, &c, ta, tb, alpha, beta));
    }
}

TEST_CASE("matmul: Gemm without C (opset 11+), zero beta, fused epilogue and odd sizes") {
  const int64_t sizes[] = {1, 2, 3, 5, 7, 17, 31, 33};
  uint32_t seed = 100;
  for (int64_t m : sizes)
    for (int64_t n : sizes) {
      std::mt19937 gen(++seed);
      const int64_t k = sizes[(m + n) % 8];
      const Value a = rand_value(gen, {m, k}), b = rand_value(gen, {k, n}), c = rand_value(gen, {n});
      const Epilogue ep{static_cast<Act>(seed % 4), seed % 4 == 2 ? -0.25f : 0.3f, 0.5f};
      const bool with_c = seed % 2;
      INFO("seed " << seed << " m " << m << " n " << n << " k " << k);
      const auto y = run_op("Gemm", {&a, &b, with_c ? &c : nullptr}, {}, 1, 13, ep);
      auto want = gemm_naive(a, b, with_c ? &c : nullptr, false, false, 1, 1);
      for (double& v : want) v = f32_act(static_cast<float>(v), ep.act, ep.a, ep.b);
      check_vs(y[0], {m, n}, want);
    }
  std::mt19937 gen(1);
  const Value a = rand_value(gen, {3, 4}), b = rand_value(gen, {4, 2}), c = rand_value(gen, {3, 2});
  const auto y = run_op("Gemm", {&a, &b, &c}, {attr_f("beta", 0.0f)});
  check_vs(y[0], {3, 2}, gemm_naive(a, b, nullptr, false, false, 1, 0));
}

TEST_CASE("matmul: Gemm old forms: opset 6 broadcast attribute, C required before opset 11") {
  std::mt19937 gen(2);
  const Value a = rand_value(gen, {3, 4}), b = rand_value(gen, {4, 2}), c = rand_value(gen, {2}),
              cf = rand_value(gen, {3, 2});
  auto y = run_op("Gemm", {&a, &b, &c}, {attr_i("broadcast", 1)}, 1, 6);
  check_vs(y[0], {3, 2}, gemm_naive(a, b, &c, false, false, 1, 1));
  y = run_op("Gemm", {&a, &b, &cf}, {}, 1, 6);
  check_vs(y[0], {3, 2}, gemm_naive(a, b, &cf, false, false, 1, 1));
  CHECK(error_of([&] { run_op("Gemm", {&a, &b, &c}, {}, 1, 6); }) ==
        "node 'n0' (Gemm): C [2] does not broadcast to [M,N] = [3,2]");
  CHECK(error_of([&] { run_op("Gemm", {&a, &b}, {}, 1, 9); }) == "node 'n0' (Gemm): input 2 is required");
  const std::string omitted = error_of([&] { run_op("Gemm", {&a, &b, nullptr}, {}, 1, 9); });
  CHECK(omitted.find("node 'n0' (Gemm): input 2") == 0);
  CHECK(omitted.find("is required") != std::string::npos);
}

TEST_CASE("matmul: Gemm errors name the node and both shapes") {
  std::mt19937 gen(3);
  const Value a = rand_value(gen, {3, 4}), b = rand_value(gen, {5, 2}), c = rand_value(gen, {4, 2});
  CHECK(error_of([&] { run_op("Gemm", {&a, &b}); }) ==
        "node 'n0' (Gemm): A [3,4] (transA 0) and B [5,2] (transB 0) disagree on K: 4 vs 5");
  const Value b2 = rand_value(gen, {4, 2});
  CHECK(error_of([&] { run_op("Gemm", {&a, &b2, &c}); }) ==
        "node 'n0' (Gemm): C [4,2] does not broadcast to [M,N] = [3,2]");
  const Value ai = value_alloc(DType::kInt8, {3, 4});
  CHECK(error_of([&] { run_op("Gemm", {&ai, &b2}); }) == "node 'n0' (Gemm): input 0 is int8; only float32 is supported");
  const Value a3 = rand_value(gen, {1, 3, 4});
  CHECK(error_of([&] { run_op("Gemm", {&a3, &b2}); }) == "node 'n0' (Gemm): A [1,3,4] must be 2-D");
}

TEST_CASE("matmul: MatMul numpy semantics (1-D operands, batch broadcast) against a naive loop") {
  struct S {
    std::vector<int64_t> a, b, y;
  };
  const std::vector<S> cases = {
      {{4}, {4}, {}},                {{4}, {4, 3}, {3}},          {{2, 4}, {4}, {2}},
      {{4}, {2, 4, 3}, {2, 3}},      {{2, 5, 4}, {4}, {2, 5}},    {{3, 4}, {4, 6}, {3, 6}},
      {{2, 3, 4}, {4, 6}, {2, 3, 6}}, {{2, 3, 4}, {2, 4, 6}, {2, 3, 6}}, {{2, 1, 3, 4}, {5, 4, 6}, {2, 5, 3, 6}},
      {{1, 3, 4}, {2, 1, 4, 6}, {2, 1, 3, 6}}, {{3, 0}, {0, 2}, {3, 2}}, {{7, 33}, {1, 33, 17}, {1, 7, 17}}};
  uint32_t seed = 0;
  for (const S& s : cases) {
    std::mt19937 gen(++seed);
    const Value a = rand_value(gen, s.a), b = rand_value(gen, s.b);
    INFO("A " << shape_str(s.a) << " B " << shape_str(s.b));
    const auto y = run_op("MatMul", {&a, &b});
    // Naive: promote, broadcast batches, drop the promoted dims.
    std::vector<int64_t> as = s.a, bs = s.b;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const std::vector<int64_t> ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    std::vector<int64_t> batch;
    REQUIRE(shape_broadcast(ab, bb, batch));
    const auto sa = shape_broadcast_strides(ab, batch), sb = shape_broadcast_strides(bb, batch);
    const int64_t total = shape_prod(batch, 0, batch.size());
    std::vector<double> want;
    for (int64_t t = 0; t < total; ++t) {
      int64_t rem = t, ia = 0, ib = 0;
      for (size_t d = batch.size(); d-- > 0;) {
        const int64_t i = rem % batch[d];
        rem /= batch[d];
        ia += i * sa[d];
        ib += i * sb[d];
      }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t kk = 0; kk < k; ++kk)
            acc += static_cast<double>(a.f32()[ia * m * k + i * k + kk]) * b.f32()[ib * k * n + kk * n + j];
          want.push_back(acc);
        }
    }
    check_vs(y[0], s.y, want);
  }
}

TEST_CASE("matmul: MatMul caches a constant B by const_key; errors are pinned") {
  std::mt19937 gen(4);
  const Value a = rand_value(gen, {2, 3, 8}), b1 = rand_value(gen, {8, 5}), b2 = rand_value(gen, {8, 5});
  const auto y1 = run_op("MatMul", {&a, &b1}), y2 = run_op("MatMul", {&a, &b2});
  Node node;
  node.name = "n0";
  node.op_type = "MatMul";
  node.op = op_from_name("", "MatMul");
  node.inputs = {"a", "b"};
  node.outputs = {"y"};
  std::shared_ptr<void> state;
  auto run = [&](const Value& b, uint64_t key) {
    std::vector<Value> outs(1);
    OpContext ctx(node, outs, state);
    ctx.opset = 13;
    ctx.inputs = {&a, &b};
    ctx.const_key = key;
    ctx.input_is_const = {false, true};
    op_table()[static_cast<int>(node.op)](ctx);
    return std::vector<float>(outs[0].f32(), outs[0].f32() + outs[0].numel());
  };
  const std::vector<float> w1(y1[0].f32(), y1[0].f32() + y1[0].numel()), w2(y2[0].f32(), y2[0].f32() + y2[0].numel());
  CHECK(run(b1, 7) == w1);
  CHECK(run(b2, 7) == w1);  // same key: packed B reused
  CHECK(run(b2, 8) == w2);
  CHECK(run(b1, 0) == w1);

  const Value bad = rand_value(gen, {7, 5});
  CHECK(error_of([&] { run_op("MatMul", {&a, &bad}); }) ==
        "node 'n0' (MatMul): A [2,3,8] and B [7,5] disagree on K: 8 vs 7");
  const Value bb = rand_value(gen, {3, 8, 5});
  CHECK(error_of([&] { run_op("MatMul", {&a, &bb}); }) ==
        "node 'n0' (MatMul): batch dims of A [2,3,8] and B [3,8,5] do not broadcast");
  const Value s = value_f32({}, {1.0f});
  CHECK(error_of([&] { run_op("MatMul", {&s, &b1}); }) ==
        "node 'n0' (MatMul): A [] and B [8,5] must have rank >= 1");
  const Value ai = value_alloc(DType::kInt32, {8});
  CHECK(error_of([&] { run_op("MatMul", {&ai, &b1}); }) ==
        "node 'n0' (MatMul): input 0 is int32; only float32 is supported");
}
