// Softmax/LogSoftmax ops: both axis semantics (opset < 13 flattens to 2-D), random shapes, errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/ir/error.h"
#include "core/runtime/shape_util.h"
#include "tests/support/op_runner.h"

using namespace qp;
using qp_test::error_of;
using qp_test::attr_i;
using qp_test::run_op;

namespace {
Value random_f32(const std::vector<int64_t>& shape, std::mt19937& gen, float scale = 3.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = nd(gen);
  return value_f32(shape, d);
}

// Naive softmax over [outer, n, inner] in double.
std::vector<double> naive(const Value& x, int64_t outer, int64_t n, int64_t inner, bool log) {
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double mx = -INFINITY, s = 0;
      for (int64_t r = 0; r < n; ++r) mx = std::max(mx, double(x.f32()[(o * n + r) * inner + i]));
      for (int64_t r = 0; r < n; ++r) s += std::exp(x.f32()[(o * n + r) * inner + i] - mx);
      for (int64_t r = 0; r < n; ++r) {
        const double t = x.f32()[(o * n + r) * inner + i] - mx;
        y[(o * n + r) * inner + i] = log ? t - std::log(s) : std::exp(t) / s;
      }
    }
  return y;
}

void check_near(const Value& y, const std::vector<double>& ref) {
  REQUIRE(y.numel() == static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    const double tol = 32 * 1.2e-7 * std::max(std::fabs(ref[i]), 1.0);
    if (std::fabs(y.f32()[i] - ref[i]) > tol) {
      INFO("element " << i << ": " << y.f32()[i] << " vs " << ref[i]);
      CHECK(std::fabs(y.f32()[i] - ref[i]) <= tol);
      return;
    }
  }
}
}  // namespace

TEST_CASE("softmax: opset 13 normalises along any axis of random shapes") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 gen(seed);
    const size_t rank = std::uniform_int_distribution<size_t>(1, 4)(gen);
    std::vector<int64_t> shape(rank);
    for (auto& d : shape) d = std::uniform_int_distribution<int64_t>(1, 9)(gen);
    int64_t axis = std::uniform_int_distribution<int64_t>(-int64_t(rank), int64_t(rank) - 1)(gen);
    const bool log = seed % 2 == 0;
    const Value x = random_f32(shape, gen);
    INFO("seed " << seed << " shape " << shape_str(shape) << " axis " << axis << " log " << log);
    const auto y = run_op(log ? "LogSoftmax" : "Softmax", {&x}, {attr_i("axis", axis)}, 1, 13);
    CHECK(y[0].shape == shape);
    int64_t a = axis;
    axis_normalize(a, int64_t(rank));
    check_near(y[0], naive(x, shape_prod(shape, 0, a), shape[a], shape_prod(shape, a + 1, rank), log));
  }
}

TEST_CASE("softmax: before opset 13 the input is flattened to 2-D at axis (default 1)") {
  std::mt19937 gen(3);
  const Value x = random_f32({2, 3, 4}, gen);
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    const bool log = std::string(op) == "LogSoftmax";
    auto y = run_op(op, {&x}, {}, 1, 11);  // default axis 1: rows of 12
    check_near(y[0], naive(x, 2, 12, 1, log));
    y = run_op(op, {&x}, {attr_i("axis", 0)}, 1, 6);  // one row of 24
    check_near(y[0], naive(x, 1, 24, 1, log));
    y = run_op(op, {&x}, {attr_i("axis", -1)}, 1, 12);
    check_near(y[0], naive(x, 6, 4, 1, log));
    y = run_op(op, {&x}, {}, 1, 13);  // opset 13: default axis -1, along the last axis only
    check_near(y[0], naive(x, 6, 4, 1, log));
    y = run_op(op, {&x}, {attr_i("axis", 1)}, 1, 13);
    check_near(y[0], naive(x, 2, 3, 4, log));
  }
}

TEST_CASE("softmax: large logits over a long last axis stay finite (PP-OCR's [1,40,6625])") {
  std::mt19937 gen(5);
  const Value x = random_f32({1, 4, 6625}, gen, 30.0f);
  const auto y = run_op("Softmax", {&x}, {}, 1, 13);
  check_near(y[0], naive(x, 4, 6625, 1, false));
  for (int r = 0; r < 4; ++r) {
    double s = 0;
    for (int i = 0; i < 6625; ++i) s += y[0].f32()[r * 6625 + i];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("softmax: empty tensors and errors") {
  const Value e = value_f32({2, 0, 3}, {});
  CHECK(run_op("Softmax", {&e}, {attr_i("axis", 1)}, 1, 13)[0].shape == std::vector<int64_t>{2, 0, 3});
  const Value x = value_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::string err = error_of([&] { run_op("Softmax", {&x}, {attr_i("axis", 2)}, 1, 13); });
  CHECK(err == "node 'n0' (Softmax): axis 2 is out of range for input float32 [2,3]");
  Value d = value_alloc(DType::kFloat64, {2});
  err = error_of([&] { run_op("LogSoftmax", {&d}, {}, 1, 13); });
  CHECK(err == "node 'n0' (LogSoftmax): input 0 is float64; only float32 is supported");
  const Value s = value_f32({}, {1.0f});
  CHECK(error_of([&] { run_op("Softmax", {&s}, {}, 1, 13); }).find("out of range") != std::string::npos);
}
