// Normalisation ops: BatchNormalization in every opset form, InstanceNormalization, LayerNormalization, errors.
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
using qp_test::attr_f;
using qp_test::attr_i;
using qp_test::run_op;

namespace {
Value random_f32(const std::vector<int64_t>& shape, std::mt19937& gen, float mean = 0, float sd = 1) {
  std::normal_distribution<float> nd(mean, sd);
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = nd(gen);
  return value_f32(shape, d);
}
Value positive_f32(const std::vector<int64_t>& shape, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(0.1f, 2.0f);
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = u(gen);
  return value_f32(shape, d);
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void check_near(const Value& y, const std::vector<double>& ref, double k = 64) {
  REQUIRE(y.numel() == static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    const double tol = k * 1.2e-7 * std::max(std::fabs(ref[i]), 1.0);
    if (std::fabs(y.f32()[i] - ref[i]) > tol) {
      INFO("element " << i << ": " << y.f32()[i] << " vs " << ref[i]);
      CHECK(std::fabs(y.f32()[i] - ref[i]) <= tol);
      return;
    }
  }
}

std::vector<double> naive_bn(const Value& x, const Value& s, const Value& b, const Value& m, const Value& v,
                             double eps, int64_t channels, int64_t plane) {
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / plane) % channels;
    y[i] = (x.f32()[i] - m.f32()[c]) / std::sqrt(double(v.f32()[c]) + eps) * s.f32()[c] + b.f32()[c];
  }
  return y;
}
}  // namespace

TEST_CASE("norm: BatchNormalization inference matches a naive reference across opsets and ranks") {
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    std::mt19937 gen(seed);
    const size_t rank = std::uniform_int_distribution<size_t>(2, 5)(gen);
    std::vector<int64_t> shape(rank);
    for (auto& d : shape) d = std::uniform_int_distribution<int64_t>(1, 7)(gen);
    const int64_t c = shape[1], plane = shape_prod(shape, 2, rank);
    const Value x = random_f32(shape, gen, 2.0f, 3.0f), s = random_f32({c}, gen), b = random_f32({c}, gen),
                m = random_f32({c}, gen), v = positive_f32({c}, gen);
    const int64_t opset = std::vector<int64_t>{6, 7, 9, 14, 15}[seed % 5];
    std::vector<Attribute> attrs = {attr_f("epsilon", 1e-3f)};
    if (opset == 6) attrs.push_back(attr_i("is_test", 1));
    INFO("seed " << seed << " shape " << shape_str(shape) << " opset " << opset);
    const auto y = run_op("BatchNormalization", {&x, &s, &b, &m, &v}, attrs, 1, opset);
    CHECK(y[0].shape == shape);
    check_near(y[0], naive_bn(x, s, b, m, v, 1e-3f, c, plane));
  }
}

TEST_CASE("norm: BatchNormalization spatial=0 (opset 7) normalises per activation") {
  std::mt19937 gen(11);
  const Value x = random_f32({2, 3, 2, 2}, gen), s = random_f32({3, 2, 2}, gen), b = random_f32({3, 2, 2}, gen),
              m = random_f32({3, 2, 2}, gen), v = positive_f32({3, 2, 2}, gen);
  const auto y = run_op("BatchNormalization", {&x, &s, &b, &m, &v}, {attr_i("spatial", 0)}, 1, 7);
  check_near(y[0], naive_bn(x, s, b, m, v, 1e-5f, 12, 1));
  // From opset 9 spatial is gone: [3,2,2] parameters no longer fit 3 channels.
  CHECK(has(error_of([&] { run_op("BatchNormalization", {&x, &s, &b, &m, &v}, {}, 1, 9); }),
            "scale is float32 [3,2,2], expected 3 values"));
}

TEST_CASE("norm: BatchNormalization refuses training mode and its outputs clearly") {
  std::mt19937 gen(2);
  const Value x = random_f32({1, 2, 3}, gen), s = random_f32({2}, gen), b = random_f32({2}, gen),
              m = random_f32({2}, gen), v = positive_f32({2}, gen);
  std::string err = error_of([&] {
    run_op("BatchNormalization", {&x, &s, &b, &m, &v}, {attr_i("training_mode", 1)}, 3, 15);
  });
  CHECK(has(err, "node 'n0' (BatchNormalization): training mode is not supported"));
  err = error_of([&] { run_op("BatchNormalization", {&x, &s, &b, &m, &v}, {}, 2, 9); });
  CHECK(has(err, "output 1 ('out1') holds training statistics; training mode is not supported"));
  const Value bad = random_f32({3}, gen);
  err = error_of([&] { run_op("BatchNormalization", {&x, &s, &b, &bad, &v}, {}, 1, 15); });
  CHECK(err == "node 'n0' (BatchNormalization): mean is float32 [3], expected 2 values for input float32 [1,2,3]");
  const Value r1 = random_f32({4}, gen);
  CHECK(has(error_of([&] { run_op("BatchNormalization", {&r1, &s, &b, &m, &v}, {}, 1, 15); }), "at least 2 dims"));
  Value d = value_alloc(DType::kFloat64, {1, 2});
  CHECK(has(error_of([&] { run_op("BatchNormalization", {&d, &s, &b, &m, &v}, {}, 1, 15); }),
            "input 0 is float64; only float32 is supported"));
}

TEST_CASE("norm: InstanceNormalization normalises each (n, c) plane") {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    std::mt19937 gen(seed);
    const std::vector<int64_t> shape = {2, 3, int64_t(seed % 4 + 1), int64_t(seed + 2)};
    const Value x = random_f32(shape, gen, 5.0f, 2.0f), s = random_f32({3}, gen), b = random_f32({3}, gen);
    const auto y = run_op("InstanceNormalization", {&x, &s, &b}, {attr_f("epsilon", 1e-2f)}, 1, 22);
    const int64_t plane = shape_prod(shape, 2, 4);
    std::vector<double> ref(static_cast<size_t>(x.numel()));
    for (int64_t p = 0; p < 6; ++p) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < plane; ++i) mean += x.f32()[p * plane + i];
      mean /= plane;
      for (int64_t i = 0; i < plane; ++i) var += std::pow(x.f32()[p * plane + i] - mean, 2);
      var /= plane;
      for (int64_t i = 0; i < plane; ++i)
        ref[p * plane + i] = (x.f32()[p * plane + i] - mean) / std::sqrt(var + 1e-2f) * s.f32()[p % 3] + b.f32()[p % 3];
    }
    INFO("seed " << seed);
    check_near(y[0], ref);
  }
}

TEST_CASE("norm: LayerNormalization over random axes with Mean and InvStdDev outputs") {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    std::mt19937 gen(seed);
    const size_t rank = std::uniform_int_distribution<size_t>(1, 4)(gen);
    std::vector<int64_t> shape(rank);
    for (auto& d : shape) d = std::uniform_int_distribution<int64_t>(1, 6)(gen);
    const int64_t axis = std::uniform_int_distribution<int64_t>(-int64_t(rank), int64_t(rank) - 1)(gen);
    const int64_t a = axis < 0 ? axis + int64_t(rank) : axis;
    std::vector<int64_t> norm(shape.begin() + a, shape.end());
    // Scale given in full or broadcast from its last dim; B sometimes omitted.
    std::vector<int64_t> wshape = seed % 3 == 0 ? std::vector<int64_t>{norm.back()} : norm;
    const Value x = random_f32(shape, gen, 1.0f, 2.0f), w = random_f32(wshape, gen), b = random_f32(norm, gen);
    const bool with_b = seed % 2 == 0;
    INFO("seed " << seed << " shape " << shape_str(shape) << " axis " << axis << " B " << with_b);
    const auto y = run_op("LayerNormalization", {&x, &w, with_b ? &b : nullptr},
                          {attr_i("axis", axis), attr_f("epsilon", 1e-3f)}, 3, 17);
    const int64_t outer = shape_prod(shape, 0, a), n = shape_prod(shape, a, rank);
    std::vector<double> ref(static_cast<size_t>(x.numel())), rm(outer), ri(outer);
    for (int64_t o = 0; o < outer; ++o) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mean += x.f32()[o * n + i];
      mean /= n;
      for (int64_t i = 0; i < n; ++i) var += std::pow(x.f32()[o * n + i] - mean, 2);
      var /= n;
      const double inv = 1 / std::sqrt(var + 1e-3f);
      rm[o] = mean;
      ri[o] = inv;
      for (int64_t i = 0; i < n; ++i) {
        const double wv = w.f32()[wshape.size() == 1 ? i % norm.back() : i];
        ref[o * n + i] = (x.f32()[o * n + i] - mean) * inv * wv + (with_b ? b.f32()[i] : 0.0);
      }
    }
    check_near(y[0], ref);
    std::vector<int64_t> stat(shape.begin(), shape.begin() + a);
    stat.resize(rank, 1);
    CHECK(y[1].shape == stat);
    CHECK(y[2].shape == stat);
    check_near(y[1], rm);
    check_near(y[2], ri);
  }
}

TEST_CASE("norm: LayerNormalization errors name the node and shapes") {
  std::mt19937 gen(1);
  const Value x = random_f32({2, 3}, gen), w = random_f32({4}, gen), w3 = random_f32({3}, gen);
  CHECK(error_of([&] { run_op("LayerNormalization", {&x, &w}, {}, 1, 17); }) ==
        "node 'n0' (LayerNormalization): Scale float32 [4] does not broadcast to the normalised shape [3]");
  CHECK(has(error_of([&] { run_op("LayerNormalization", {&x, &w3}, {attr_i("axis", 2)}, 1, 17); }),
            "axis 2 is out of range for input float32 [2,3]"));
  CHECK(has(error_of([&] { run_op("LayerNormalization", {&x}, {}, 1, 17); }), "input 1 is required"));
  // Only Y requested: no statistics outputs are written.
  const auto y = run_op("LayerNormalization", {&x, &w3}, {}, 1, 17);
  CHECK(y.size() == 1);
}
