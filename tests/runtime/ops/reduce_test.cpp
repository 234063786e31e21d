// Reduce ops and ArgMax: random axis subsets against a naive reference, axes by attribute or input, edge cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/ir/error.h"
#include "core/runtime/shape_util.h"
#include "tests/support/op_runner.h"

using namespace qp;
using qp_test::error_of;
using qp_test::attr_i;
using qp_test::attr_ints;
using qp_test::run_op;

namespace {
Value random_f32(const std::vector<int64_t>& shape, std::mt19937& gen) {
  std::normal_distribution<float> nd;
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = nd(gen);
  return value_f32(shape, d);
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Naive reduction in double over the axes marked in `red`; output laid out as the keepdims shape.
std::vector<double> naive_reduce(const Value& x, const std::vector<bool>& red, const std::string& op) {
  const size_t r = x.rank();
  std::vector<int64_t> kept(r);
  for (size_t i = 0; i < r; ++i) kept[i] = red[i] ? 1 : x.shape[i];
  const std::vector<int64_t> ost = shape_strides(kept), ist = shape_strides(x.shape);
  const int64_t on = shape_numel(kept);
  const double init = op == "ReduceMax" ? -INFINITY : op == "ReduceMin" ? INFINITY : 0.0;
  std::vector<double> acc(static_cast<size_t>(on), init), cnt(static_cast<size_t>(on), 0);
  for (int64_t e = 0; e < x.numel(); ++e) {
    int64_t o = 0;
    for (size_t i = 0; i < r; ++i)
      if (!red[i]) o += (e / ist[i]) % x.shape[i] * ost[i];
    const double v = x.f32()[e];
    if (op == "ReduceMax") acc[o] = std::max(acc[o], v);
    else if (op == "ReduceMin") acc[o] = std::min(acc[o], v);
    else if (op == "ReduceL2") acc[o] += v * v;
    else acc[o] += v;
    cnt[o] += 1;
  }
  for (int64_t o = 0; o < on; ++o) {
    if (op == "ReduceMean") acc[o] /= cnt[o];
    if (op == "ReduceL2") acc[o] = std::sqrt(acc[o]);
  }
  return acc;
}

void check_near(const Value& y, const std::vector<double>& ref, double mag) {
  REQUIRE(y.numel() == static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    if (y.f32()[i] == ref[i] || (std::isnan(y.f32()[i]) && std::isnan(ref[i]))) continue;
    const double tol = 64 * 1.2e-7 * std::max({std::fabs(ref[i]), mag, 1.0});
    if (!(std::fabs(y.f32()[i] - ref[i]) <= tol)) {
      INFO("element " << i << ": " << y.f32()[i] << " vs " << ref[i]);
      CHECK(std::fabs(y.f32()[i] - ref[i]) <= tol);
      return;
    }
  }
}
}  // namespace

TEST_CASE("reduce: every op over random axis subsets matches a naive reference (opset 18, axes input)") {
  const char* ops[] = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2"};
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 gen(seed);
    const size_t rank = std::uniform_int_distribution<size_t>(1, 5)(gen);
    std::vector<int64_t> shape(rank);
    for (auto& d : shape) d = std::uniform_int_distribution<int64_t>(1, seed % 10 == 0 ? 40 : 6)(gen);
    std::vector<bool> red(rank);
    std::vector<int64_t> axes;
    for (size_t i = 0; i < rank; ++i)
      if (std::uniform_int_distribution<int>(0, 1)(gen)) {
        red[i] = true;
        axes.push_back(seed % 2 ? int64_t(i) : int64_t(i) - int64_t(rank));  // negative axes too
      }
    if (axes.empty()) red.assign(rank, true);  // empty axes: reduce everything
    const bool keep = seed % 3 != 0;
    const Value x = random_f32(shape, gen);
    const Value ax = value_i64({int64_t(axes.size())}, axes);
    std::vector<int64_t> out;
    for (size_t i = 0; i < rank; ++i)
      if (!red[i]) out.push_back(shape[i]);
      else if (keep) out.push_back(1);
    for (const char* op : ops) {
      INFO("seed " << seed << " " << op << " shape " << shape_str(shape) << " axes " << shape_str(axes) << " keep "
                   << keep);
      const auto y = run_op(op, {&x, &ax}, {attr_i("keepdims", keep)}, 1, 18);
      CHECK(y[0].shape == out);
      check_near(y[0], naive_reduce(x, red, op), std::string(op) == "ReduceSum" ? std::sqrt(double(x.numel())) : 0);
    }
  }
}

TEST_CASE("reduce: axes come from the attribute before opset 18 (ReduceSum: 13)") {
  std::mt19937 gen(2);
  const Value x = random_f32({2, 3, 4}, gen);
  const Value ax = value_i64({1}, {1});
  const std::vector<bool> red = {false, true, false};
  auto y = run_op("ReduceMean", {&x}, {attr_ints("axes", {1}), attr_i("keepdims", 0)}, 1, 13);
  CHECK(y[0].shape == std::vector<int64_t>{2, 4});
  check_near(y[0], naive_reduce(x, red, "ReduceMean"), 0);
  y = run_op("ReduceSum", {&x}, {attr_ints("axes", {-2})}, 1, 11);
  CHECK(y[0].shape == std::vector<int64_t>{2, 1, 4});
  check_near(y[0], naive_reduce(x, red, "ReduceSum"), 2);
  y = run_op("ReduceSum", {&x, &ax}, {}, 1, 13);
  check_near(y[0], naive_reduce(x, red, "ReduceSum"), 2);
  y = run_op("ReduceMax", {&x}, {}, 1, 13);  // no axes: all
  CHECK(y[0].shape == std::vector<int64_t>{1, 1, 1});
}

TEST_CASE("reduce: noop_with_empty_axes, empty sets and size-1 axes") {
  std::mt19937 gen(3);
  const Value x = random_f32({3, 2}, gen);
  const Value none = value_i64({0}, {});
  auto y = run_op("ReduceSum", {&x, &none}, {attr_i("noop_with_empty_axes", 1)}, 1, 13);
  CHECK(y[0].shape == x.shape);
  CHECK(std::equal(x.f32(), x.f32() + 6, y[0].f32()));
  y = run_op("ReduceSum", {&x, &none}, {}, 1, 13);
  CHECK(y[0].shape == std::vector<int64_t>{1, 1});
  const Value e = value_f32({2, 0, 4}, {});
  const Value ax1 = value_i64({1}, {1});
  y = run_op("ReduceMax", {&e, &ax1}, {}, 1, 18);
  CHECK(y[0].shape == std::vector<int64_t>{2, 1, 4});
  CHECK(y[0].f32()[7] == -std::numeric_limits<float>::infinity());
  CHECK(run_op("ReduceMin", {&e, &ax1}, {}, 1, 18)[0].f32()[0] == std::numeric_limits<float>::infinity());
  CHECK(run_op("ReduceL2", {&e, &ax1}, {}, 1, 18)[0].f32()[0] == 0.0f);
  CHECK(run_op("ReduceSum", {&e, &ax1}, {}, 1, 13)[0].f32()[3] == 0.0f);
  const Value ax2 = value_i64({1}, {2});
  CHECK(run_op("ReduceSum", {&e, &ax2}, {}, 1, 13)[0].shape == std::vector<int64_t>{2, 0, 1});
  // Reducing only a size-1 axis still applies the op (L2 of one value is its magnitude).
  const Value n = value_f32({2, 1}, {-3.0f, 4.0f});
  y = run_op("ReduceL2", {&n, &ax1}, {attr_i("keepdims", 0)}, 1, 18);
  CHECK(std::vector<float>(y[0].f32(), y[0].f32() + 2) == std::vector<float>{3.0f, 4.0f});
}

TEST_CASE("reduce: integer and bool data") {
  const Value i = value_i64({2, 3}, {1, -5, 7, 2, 2, -9});
  const Value ax = value_i64({1}, {1});
  auto y = run_op("ReduceSum", {&i, &ax}, {attr_i("keepdims", 0)}, 1, 13);
  CHECK(y[0].dtype == DType::kInt64);
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 2) == std::vector<int64_t>{3, -5});
  y = run_op("ReduceMax", {&i, &ax}, {attr_i("keepdims", 0)}, 1, 18);
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 2) == std::vector<int64_t>{7, 2});
  y = run_op("ReduceMin", {&i}, {attr_ints("axes", {0})}, 1, 13);
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 3) == std::vector<int64_t>{1, -5, -9});
  Value b = value_alloc(DType::kBool, {2, 2});
  b.ptr<uint8_t>()[1] = 1;
  y = run_op("ReduceMax", {&b, &ax}, {}, 1, 20);
  CHECK(y[0].dtype == DType::kBool);
  CHECK(y[0].ptr<uint8_t>()[0] == 1);
  CHECK(y[0].ptr<uint8_t>()[1] == 0);
  CHECK(has(error_of([&] { run_op("ReduceMean", {&i, &ax}, {}, 1, 18); }),
            "input 0 is int64; only float32 is supported"));
}

TEST_CASE("reduce: ArgMax with keepdims, negative axis and select_last_index") {
  const Value x = value_f32({2, 3}, {1, 5, 5, 7, 2, 7});
  auto y = run_op("ArgMax", {&x}, {attr_i("axis", 1)}, 1, 13);
  CHECK(y[0].dtype == DType::kInt64);
  CHECK(y[0].shape == std::vector<int64_t>{2, 1});
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 2) == std::vector<int64_t>{1, 0});
  y = run_op("ArgMax", {&x}, {attr_i("axis", -1), attr_i("keepdims", 0), attr_i("select_last_index", 1)}, 1, 13);
  CHECK(y[0].shape == std::vector<int64_t>{2});
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 2) == std::vector<int64_t>{2, 2});
  y = run_op("ArgMax", {&x}, {}, 1, 13);  // default axis 0
  CHECK(y[0].shape == std::vector<int64_t>{1, 3});
  CHECK(std::vector<int64_t>(y[0].ptr<int64_t>(), y[0].ptr<int64_t>() + 3) == std::vector<int64_t>{1, 0, 1});
  const Value i = value_i64({3}, {4, 9, 9});
  CHECK(run_op("ArgMax", {&i}, {attr_i("keepdims", 0)}, 1, 13)[0].ptr<int64_t>()[0] == 1);
  const Value e = value_f32({2, 0}, {});
  CHECK(has(error_of([&] { run_op("ArgMax", {&e}, {attr_i("axis", 1)}, 1, 13); }), "over axis 1 of size 0"));
}

TEST_CASE("reduce: bad axes fail with the node and shapes named") {
  std::mt19937 gen(5);
  const Value x = random_f32({2, 3}, gen);
  const Value dup = value_i64({2}, {1, -1});
  const Value far = value_i64({1}, {2});
  CHECK(error_of([&] { run_op("ReduceSum", {&x, &dup}, {}, 1, 13); }) ==
        "node 'n0' (ReduceSum): axes [1,1] repeat an axis");
  CHECK(error_of([&] { run_op("ReduceMean", {&x, &far}, {}, 1, 18); }) ==
        "node 'n0' (ReduceMean): axis 2 is out of range for input float32 [2,3]");
  CHECK(has(error_of([&] { run_op("ArgMax", {&x}, {attr_i("axis", -3)}, 1, 13); }), "axis -3 is out of range"));
  Value d = value_alloc(DType::kFloat64, {2});
  CHECK(has(error_of([&] { run_op("ReduceL2", {&d}, {}, 1, 18); }), "input 0 is float64; only float32 is supported"));
}
