// Pooling ops: random 1-D/2-D/3-D geometry against a naive reference, auto_pad, ceil_mode, Indices, errors.
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
using qp_test::attr_s;
using qp_test::run_op;

namespace {
Value random_f32(const std::vector<int64_t>& shape, std::mt19937& gen) {
  std::normal_distribution<float> nd;
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = nd(gen);
  return value_f32(shape, d);
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct Geo {
  std::vector<int64_t> k, s, d, pb, pe, out;
};

// Naive pooling: every output position, every tap of its window, in double.
std::vector<double> naive_pool(const Value& x, const Geo& g, bool is_max, bool include_pad) {
  const size_t nd = g.k.size();
  std::vector<int64_t> in(x.shape.begin() + 2, x.shape.end());
  const int64_t planes = x.shape[0] * x.shape[1], ip = shape_numel(in), op = shape_numel(g.out);
  std::vector<double> y(static_cast<size_t>(planes * op));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t j = 0; j < op; ++j) {
      std::vector<int64_t> o(nd);
      for (int64_t r = j, i = int64_t(nd) - 1; i >= 0; --i) {
        o[i] = r % g.out[i];
        r /= g.out[i];
      }
      double acc = is_max ? -INFINITY : 0;
      int64_t cnt = 0;
      const int64_t taps = shape_numel(g.k);
      for (int64_t t = 0; t < taps; ++t) {
        bool inside = true, in_padded = true;
        int64_t off = 0;
        for (int64_t r = t, i = int64_t(nd) - 1; i >= 0; --i) {
          const int64_t ti = r % g.k[i];
          r /= g.k[i];
          const int64_t q = o[i] * g.s[i] - g.pb[i] + ti * g.d[i];
          if (q < 0 || q >= in[i]) inside = false;
          if (q < -g.pb[i] || q >= in[i] + g.pe[i]) in_padded = false;
          off += q * shape_prod(in, i + 1, nd);
        }
        if (include_pad ? in_padded : inside) ++cnt;
        if (!inside) continue;
        const double v = x.f32()[p * ip + off];
        acc = is_max ? std::max(acc, v) : acc + v;
      }
      y[p * op + j] = is_max ? acc : acc / cnt;
    }
  return y;
}

void check_near(const Value& y, const std::vector<double>& ref) {
  REQUIRE(y.numel() == static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    // Windows that see only padding: -inf (max) or NaN (average of nothing) on both sides.
    if (y.f32()[i] == ref[i] || (std::isnan(y.f32()[i]) && std::isnan(ref[i]))) continue;
    const double tol = 32 * 1.2e-7 * std::max(std::fabs(ref[i]), 1.0);
    if (!(std::fabs(y.f32()[i] - ref[i]) <= tol)) {
      INFO("element " << i << ": " << y.f32()[i] << " vs " << ref[i]);
      CHECK(std::fabs(y.f32()[i] - ref[i]) <= tol);
      return;
    }
  }
}
}  // namespace

TEST_CASE("pool: MaxPool and AveragePool match a naive reference on random 1-D/2-D/3-D geometry") {
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
    const size_t nd = seed % 6 == 0 ? 3 : seed % 6 == 1 ? 1 : 2;
    Geo g;
    std::vector<int64_t> shape = {pick(1, 2), pick(1, 3)};
    bool ok = true;
    const bool ceil_mode = seed % 3 == 0, include_pad = seed % 4 == 0;
    for (size_t i = 0; i < nd; ++i) {
      const int64_t in = pick(1, nd == 3 ? 7 : 23);
      g.k.push_back(pick(1, 4));
      g.s.push_back(pick(1, 3));
      g.d.push_back(seed % 5 == 0 ? pick(1, 3) : 1);
      g.pb.push_back(pick(0, g.k[i] - 1));
      g.pe.push_back(pick(0, g.k[i] - 1));
      shape.push_back(in);
      const int64_t span = in + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1);
      if (span < 0) ok = false;
      int64_t o = (ceil_mode ? (span + g.s[i] - 1) / g.s[i] : span / g.s[i]) + 1;
      if (ceil_mode && (o - 1) * g.s[i] >= in + g.pb[i]) --o;
      g.out.push_back(o);
    }
    if (!ok) continue;
    std::vector<int64_t> pads = g.pb;
    pads.insert(pads.end(), g.pe.begin(), g.pe.end());
    const Value x = random_f32(shape, gen);
    std::vector<Attribute> attrs = {attr_ints("kernel_shape", g.k), attr_ints("strides", g.s), attr_ints("pads", pads),
                                    attr_ints("dilations", g.d), attr_i("ceil_mode", ceil_mode)};
    INFO("seed " << seed << " x " << shape_str(shape) << " k " << shape_str(g.k) << " s " << shape_str(g.s) << " d "
                 << shape_str(g.d) << " pads " << shape_str(pads) << " ceil " << ceil_mode << " include_pad "
                 << include_pad);
    std::vector<int64_t> out_shape = {shape[0], shape[1]};
    out_shape.insert(out_shape.end(), g.out.begin(), g.out.end());
    auto y = run_op("MaxPool", {&x}, attrs, 1, 22);
    CHECK(y[0].shape == out_shape);
    check_near(y[0], naive_pool(x, g, true, false));
    // The Indices path (direct loops) gives the same values.
    auto yi = run_op("MaxPool", {&x}, attrs, 2, 22);
    check_near(yi[0], naive_pool(x, g, true, false));
    attrs.push_back(attr_i("count_include_pad", include_pad));
    y = run_op("AveragePool", {&x}, attrs, 1, 22);
    CHECK(y[0].shape == out_shape);
    check_near(y[0], naive_pool(x, g, false, include_pad));
  }
}

TEST_CASE("pool: auto_pad SAME_UPPER, SAME_LOWER and VALID") {
  std::mt19937 gen(9);
  const Value x = random_f32({1, 2, 7, 6}, gen);
  struct Case {
    const char* pad;
    std::vector<int64_t> pb, pe, out;
  };
  // k 3x2, s 2x2: out ceil(7/2)=4, ceil(6/2)=3; total pads 2 and 0.
  for (const Case& c : {Case{"SAME_UPPER", {1, 0}, {1, 0}, {4, 3}}, Case{"SAME_LOWER", {1, 0}, {1, 0}, {4, 3}},
                        Case{"VALID", {0, 0}, {0, 0}, {3, 3}}}) {
    Geo g{{3, 2}, {2, 2}, {1, 1}, c.pb, c.pe, c.out};
    const std::vector<Attribute> attrs = {attr_ints("kernel_shape", g.k), attr_ints("strides", g.s),
                                          attr_s("auto_pad", c.pad)};
    INFO(c.pad);
    const auto y = run_op("MaxPool", {&x}, attrs, 1, 22);
    CHECK(y[0].shape == std::vector<int64_t>{1, 2, c.out[0], c.out[1]});
    check_near(y[0], naive_pool(x, g, true, false));
  }
  // Odd total padding: SAME_UPPER puts the extra row at the end, SAME_LOWER at the start (k 2, s 1).
  const Value v = value_f32({1, 1, 1, 3}, {1, 2, 3});
  auto up = run_op("AveragePool", {&v}, {attr_ints("kernel_shape", {1, 2}), attr_s("auto_pad", "SAME_UPPER")});
  auto lo = run_op("AveragePool", {&v}, {attr_ints("kernel_shape", {1, 2}), attr_s("auto_pad", "SAME_LOWER")});
  CHECK(std::vector<float>(up[0].f32(), up[0].f32() + 3) == std::vector<float>{1.5f, 2.5f, 3.0f});
  CHECK(std::vector<float>(lo[0].f32(), lo[0].f32() + 3) == std::vector<float>{1.0f, 1.5f, 2.5f});
}

TEST_CASE("pool: MaxPool Indices in row- and column-major order, and uint8 data") {
  std::vector<float> d(25);
  for (int i = 0; i < 25; ++i) d[i] = float(i + 1);
  const Value x = value_f32({1, 1, 5, 5}, d);
  const std::vector<Attribute> a = {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})};
  auto y = run_op("MaxPool", {&x}, a, 2, 22);
  CHECK(std::vector<float>(y[0].f32(), y[0].f32() + 4) == std::vector<float>{7, 9, 17, 19});
  CHECK(std::vector<int64_t>(y[1].ptr<int64_t>(), y[1].ptr<int64_t>() + 4) == std::vector<int64_t>{6, 8, 16, 18});
  std::vector<Attribute> b = a;
  b.push_back(attr_i("storage_order", 1));
  y = run_op("MaxPool", {&x}, b, 2, 22);
  CHECK(std::vector<int64_t>(y[1].ptr<int64_t>(), y[1].ptr<int64_t>() + 4) == std::vector<int64_t>{6, 16, 8, 18});
  // Batch and channel offsets are part of the index.
  const Value x2 = value_f32({1, 2, 2, 2}, {1, 4, 2, 3, 5, 0, 0, 0});
  y = run_op("MaxPool", {&x2}, {attr_ints("kernel_shape", {2, 2})}, 2, 22);
  CHECK(y[1].ptr<int64_t>()[0] == 1);
  CHECK(y[1].ptr<int64_t>()[1] == 4);
  Value u = value_alloc(DType::kUint8, {1, 1, 1, 4});
  const uint8_t ud[4] = {3, 250, 7, 1};
  std::copy(ud, ud + 4, u.ptr<uint8_t>());
  y = run_op("MaxPool", {&u}, {attr_ints("kernel_shape", {1, 2}), attr_ints("pads", {0, 1, 0, 1})}, 1, 22);
  CHECK(y[0].dtype == DType::kUint8);
  CHECK(std::vector<uint8_t>(y[0].ptr<uint8_t>(), y[0].ptr<uint8_t>() + 5) == std::vector<uint8_t>{3, 250, 250, 7, 1});
}

TEST_CASE("pool: GlobalAveragePool and GlobalMaxPool") {
  std::mt19937 gen(4);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{2, 3, 5, 7}, {1, 4, 9}, {1, 2, 2, 3, 3}}) {
    const Value x = random_f32(shape, gen);
    const auto ya = run_op("GlobalAveragePool", {&x});
    const auto ym = run_op("GlobalMaxPool", {&x});
    std::vector<int64_t> out(shape.size(), 1);
    out[0] = shape[0];
    out[1] = shape[1];
    CHECK(ya[0].shape == out);
    CHECK(ym[0].shape == out);
    const int64_t planes = shape[0] * shape[1], n = shape_prod(shape, 2, shape.size());
    std::vector<double> ra(planes), rm(planes, -INFINITY);
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t i = 0; i < n; ++i) {
        ra[p] += x.f32()[p * n + i];
        rm[p] = std::max(rm[p], double(x.f32()[p * n + i]));
      }
      ra[p] /= n;
    }
    check_near(ya[0], ra);
    check_near(ym[0], rm);
  }
}

TEST_CASE("pool: bad attributes and inputs fail with the node and shapes named") {
  std::mt19937 gen(1);
  const Value x = random_f32({1, 1, 4, 4}, gen);
  CHECK(error_of([&] { run_op("MaxPool", {&x}, {}); }) == "node 'n0' (MaxPool): attribute kernel_shape is required");
  CHECK(has(error_of([&] { run_op("MaxPool", {&x}, {attr_ints("kernel_shape", {3})}); }),
            "kernel_shape [3] has 1 dims but input float32 [1,1,4,4] has 2 spatial dims"));
  CHECK(has(error_of([&] { run_op("AveragePool", {&x}, {attr_ints("kernel_shape", {0, 2})}); }), "must be positive"));
  CHECK(has(error_of([&] { run_op("MaxPool", {&x}, {attr_ints("kernel_shape", {5, 5})}); }),
            "kernel_shape [5,5] (dilations [1,1]) does not fit input float32 [1,1,4,4]"));
  CHECK(has(error_of([&] {
              run_op("MaxPool", {&x}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {0, 1})});
            }),
            "strides [0,1] must be positive"));
  CHECK(has(error_of([&] {
              run_op("MaxPool", {&x}, {attr_ints("kernel_shape", {2, 2}), attr_ints("pads", {1, 1})});
            }),
            "pads [1,1] must have 4 values"));
  CHECK(has(error_of([&] {
              run_op("MaxPool", {&x}, {attr_ints("kernel_shape", {2, 2}), attr_s("auto_pad", "SAME")});
            }),
            "auto_pad 'SAME' is not one of"));
  const Value r2 = random_f32({4, 4}, gen);
  CHECK(has(error_of([&] { run_op("AveragePool", {&r2}, {attr_ints("kernel_shape", {2})}); }), "at least 3 dims"));
  Value d = value_alloc(DType::kFloat64, {1, 1, 2});
  CHECK(error_of([&] { run_op("GlobalAveragePool", {&d}); }) ==
        "node 'n0' (GlobalAveragePool): input 0 is float64; only float32 is supported");
  // Pads as large as the kernel do not crash: windows that see only padding give -inf (max).
  const Value one = value_f32({1, 1, 1}, {2.0f});
  const auto y = run_op("MaxPool", {&one}, {attr_ints("kernel_shape", {1}), attr_ints("pads", {1, 1})});
  CHECK(y[0].shape == std::vector<int64_t>{1, 1, 3});
  CHECK(y[0].f32()[0] == -std::numeric_limits<float>::infinity());
  CHECK(y[0].f32()[1] == 2.0f);
}
