// Elementwise ops against hand-written numpy-like references: broadcasting on seeded random shapes, the fast
// broadcast patterns, the opset < 7 forms, variadic ops, types, activations, and the errors users see.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
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
using qp_test::attr_f;
using qp_test::attr_i;
using qp_test::attr_s;

namespace {

// run_op, but every output buffer starts filled with 0xA5 bytes (NaN for floats, odd values for integers), so an
// element the op forgets to write shows up.
std::vector<Value> run(const std::string& op_type, const std::vector<const Value*>& inputs,
                       const std::vector<Attribute>& attrs = {}, int64_t opset = 17) {
  Node node;
  node.name = "n0";
  node.op_type = op_type;
  node.op = op_from_name("", op_type);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  node.outputs.push_back("out0");
  node.attrs = attrs;
  REQUIRE(op_runnable(node.op));
  std::vector<Value> outs(1);
  std::shared_ptr<void> state;
  OpContext ctx(node, outs, state);
  ctx.opset = opset;
  ctx.inputs = inputs;
  ctx.input_is_const.assign(inputs.size(), false);
  ctx.allocator = [](DType t, const std::vector<int64_t>& shape) {
    Value v = value_alloc(t, shape);
    std::memset(v.data, 0xA5, v.bytes());
    return v;
  };
  op_table()[static_cast<int>(node.op)](ctx);
  return outs;
}

Value run1(const std::string& op_type, const std::vector<const Value*>& inputs,
           const std::vector<Attribute>& attrs = {}, int64_t opset = 17) {
  return run(op_type, inputs, attrs, opset)[0];
}

template <class T>
Value make(DType t, std::vector<int64_t> shape, const std::vector<T>& data) {
  Value v = value_alloc(t, std::move(shape));
  REQUIRE(static_cast<size_t>(v.numel()) == data.size());
  std::memcpy(v.data, data.data(), data.size() * sizeof(T));
  return v;
}
Value i32(std::vector<int64_t> s, const std::vector<int32_t>& d) { return make(DType::kInt32, std::move(s), d); }
Value boolean(std::vector<int64_t> s, const std::vector<uint8_t>& d) { return make(DType::kBool, std::move(s), d); }

Value random_f32(const std::vector<int64_t>& shape, std::mt19937& gen, float lo = -3, float hi = 3) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> d(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : d) v = u(gen);
  return value_f32(shape, d);
}

// A shape that broadcasts to `out`: a random suffix of it with random dims replaced by 1.
std::vector<int64_t> operand_shape(const std::vector<int64_t>& out, std::mt19937& gen) {
  const size_t drop = gen() % (out.size() + 1);
  std::vector<int64_t> s(out.begin() + static_cast<ptrdiff_t>(drop), out.end());
  for (auto& d : s)
    if (gen() % 3 == 0) d = 1;
  return s;
}

// Element of v at the output multi-index `idx` under numpy broadcasting (v right-aligned, size-1 dims stretched).
double at(const Value& v, const std::vector<double>& vals, const std::vector<int64_t>& idx) {
  const size_t off = idx.size() - v.rank();
  int64_t flat = 0;
  for (size_t d = 0; d < v.rank(); ++d) flat = flat * v.shape[d] + (v.shape[d] == 1 ? 0 : idx[off + d]);
  return vals[static_cast<size_t>(flat)];
}

// Naive numpy-style reference: out[idx] = f(a[idx], b[idx], ...) over the broadcast shape.
std::vector<double> naive(const std::vector<const Value*>& ins, const std::vector<int64_t>& out,
                          const std::function<double(const std::vector<double>&)>& f) {
  std::vector<std::vector<double>> vals;
  for (const Value* v : ins) vals.push_back(value_to_doubles(*v));
  std::vector<double> y(static_cast<size_t>(shape_numel(out)));
  std::vector<int64_t> idx(out.size(), 0);
  std::vector<double> args(ins.size());
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t k = 0; k < ins.size(); ++k) args[k] = at(*ins[k], vals[k], idx);
    y[i] = f(args);
    for (size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

// Exact for single IEEE float operations (double rounding to float is innocuous for + - * /), else k eps.
void check_values(const Value& y, const std::vector<double>& ref, double ulps = 0) {
  REQUIRE(static_cast<size_t>(y.numel()) == ref.size());
  const std::vector<double> got = value_to_doubles(y);
  for (size_t i = 0; i < ref.size(); ++i) {
    const double r = y.dtype == DType::kFloat32 ? static_cast<double>(static_cast<float>(ref[i])) : ref[i];
    const double tol = ulps * 1.1920929e-7 * std::max(std::fabs(r), 1.0);
    const bool ok = (std::isnan(r) && std::isnan(got[i])) || std::fabs(got[i] - r) <= tol;
    if (!ok) {
      INFO("element " << i << ": got " << got[i] << ", expected " << r);
      CHECK(ok);
      return;
    }
  }
}

}  // namespace

TEST_CASE("elementwise: binary ops broadcast like numpy on seeded random shapes (float32 and int)") {
  const char* ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    std::mt19937 gen(seed);
    const size_t rank = gen() % 6;
    std::vector<int64_t> out(rank);
    for (auto& d : out) d = 1 + gen() % 5;
    if (seed % 25 == 0 && rank > 0) out[gen() % rank] = 0;  // empty tensors too
    const std::vector<int64_t> sa = operand_shape(out, gen), sb = operand_shape(out, gen);
    const char* op = ops[seed % 6];
    const bool ints = seed % 3 == 0;
    INFO("seed " << seed << " " << op << " " << shape_str(sa) << " with " << shape_str(sb) << (ints ? " int64" : ""));
    Value a = random_f32(sa, gen), b = random_f32(sb, gen, 0.5f, 3.0f);
    if (ints) {
      auto to_i64 = [](const Value& v, int64_t scale) {
        std::vector<int64_t> d;
        for (double x : value_to_doubles(v)) d.push_back(static_cast<int64_t>(std::lround(x * scale)) | 1);
        return value_i64(v.shape, d);
      };
      a = to_i64(a, 100);
      b = to_i64(b, 3);  // odd, so never 0
    }
    std::vector<int64_t> expect_shape;
    REQUIRE(shape_broadcast(sa, sb, expect_shape));
    const Value y = run1(op, {&a, &b});
    CHECK(y.shape == expect_shape);
    CHECK(y.dtype == a.dtype);
    const std::string o = op;
    check_values(y, naive({&a, &b}, expect_shape, [&](const std::vector<double>& v) {
      if (o == "Add") return v[0] + v[1];
      if (o == "Sub") return v[0] - v[1];
      if (o == "Mul") return v[0] * v[1];
      if (o == "Div") return ints ? std::trunc(v[0] / v[1]) : v[0] / v[1];
      if (o == "Max") return std::max(v[0], v[1]);
      return std::min(v[0], v[1]);
    }));
  }
}

TEST_CASE("elementwise: the fast broadcast patterns give the same values as the naive reference") {
  std::mt19937 gen(7);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{2, 5, 7, 9}, {1, 5, 1, 1}},   // per channel
      {{1, 5, 7, 9}, {5, 1, 1}},      // per channel, no batch dim on B
      {{13, 37}, {37}},               // row vector over rows
      {{37}, {13, 37}},               // ... with the vector on the left
      {{13, 37}, {13, 1}},            // column
      {{13, 1}, {1, 37}},             // outer product
      {{3, 4, 5}, {}},                // scalar right
      {{}, {3, 4, 5}},                // scalar left
      {{2, 3, 4, 5}, {2, 3, 4, 5}},   // same shape
      {{2, 1, 4, 1}, {1, 3, 1, 5}},   // alternating
      {{1, 1, 1}, {1}},               // all ones
  };
  for (const auto& c : cases) {
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
      INFO(op << " " << shape_str(c.first) << " with " << shape_str(c.second));
      const Value a = random_f32(c.first, gen), b = random_f32(c.second, gen, 0.5f, 2.0f);
      const Value y = run1(op, {&a, &b});
      std::vector<int64_t> out;
      REQUIRE(shape_broadcast(c.first, c.second, out));
      const std::string o = op;
      check_values(y, naive({&a, &b}, out, [&](const std::vector<double>& v) {
        const float x = static_cast<float>(v[0]), z = static_cast<float>(v[1]);
        return static_cast<double>(o == "Add" ? x + z : o == "Sub" ? x - z : o == "Mul" ? x * z : x / z);
      }));
    }
  }
}

TEST_CASE("elementwise: opset < 7 broadcast attribute aligns B at axis") {
  std::mt19937 gen(3);
  const Value a = random_f32({2, 3, 4, 5}, gen);
  SUBCASE("axis 1") {
    const Value b = random_f32({3, 4}, gen);
    const Value y = run1("Add", {&a, &b}, {attr_i("broadcast", 1), attr_i("axis", 1)}, 6);
    CHECK(y.shape == std::vector<int64_t>{2, 3, 4, 5});
    for (int64_t i = 0; i < y.numel(); ++i) {
      const int64_t c = (i / 20) % 3, h = (i / 5) % 4;
      CHECK(y.f32()[i] == a.f32()[i] + b.f32()[c * 4 + h]);
    }
  }
  SUBCASE("no axis: trailing dims, like numpy") {
    const Value b = random_f32({5}, gen);
    const Value y = run1("Mul", {&a, &b}, {attr_i("broadcast", 1)}, 6);
    for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.f32()[i] == a.f32()[i] * b.f32()[i % 5]);
  }
  SUBCASE("size-1 dims of B stretch (pytorch-operator add_size1 cases)") {
    const Value a2 = random_f32({2, 3}, gen), b = random_f32({2, 1}, gen);
    const Value y = run1("Sub", {&a2, &b}, {attr_i("broadcast", 1), attr_i("axis", 0)}, 6);
    for (int64_t i = 0; i < 6; ++i) CHECK(y.f32()[i] == a2.f32()[i] - b.f32()[i / 3]);
  }
  SUBCASE("B that does not fit is an error naming both shapes") {
    const Value b = random_f32({4}, gen);
    CHECK(error_of([&] { run1("Add", {&a, &b}, {attr_i("broadcast", 1), attr_i("axis", 1)}, 6); }) ==
          "node 'n0' (Add): B [4] does not match A [2,3,4,5] from axis 1 (opset 6 broadcast)");
    const Value b2 = random_f32({4, 5}, gen);
    CHECK(error_of([&] { run1("Div", {&a, &b2}, {attr_i("broadcast", 1), attr_i("axis", 3)}, 6); }) ==
          "node 'n0' (Div): broadcast axis 3 cannot place B [4,5] inside A [2,3,4,5]");
  }
  SUBCASE("the attribute means nothing from opset 7 on") {
    const Value b = random_f32({3, 4}, gen);
    CHECK(error_of([&] { run1("Add", {&a, &b}, {attr_i("broadcast", 1), attr_i("axis", 1)}, 7); }) ==
          "node 'n0' (Add): cannot broadcast [2,3,4,5] with [3,4]");
  }
}

TEST_CASE("elementwise: integer arithmetic truncates, wraps and never traps") {
  const Value a = i32({6}, {-3, 3, -3, 3, 7, std::numeric_limits<int32_t>::min()});
  const Value b = i32({6}, {2, 2, -2, -2, 0, -1});
  const Value y = run1("Div", {&a, &b});
  CHECK(std::vector<int32_t>(y.ptr<int32_t>(), y.ptr<int32_t>() + 6) ==
        std::vector<int32_t>{-1, 1, 1, -1, 0, std::numeric_limits<int32_t>::min()});
  const Value big = i32({1}, {std::numeric_limits<int32_t>::max()}), one = i32({1}, {1});
  CHECK(run1("Add", {&big, &one}).ptr<int32_t>()[0] == std::numeric_limits<int32_t>::min());
  const Value m = i32({3}, {-5, 0, std::numeric_limits<int32_t>::min()});
  const Value ab = run1("Abs", {&m}), ng = run1("Neg", {&m});
  CHECK(ab.ptr<int32_t>()[0] == 5);
  CHECK(ab.ptr<int32_t>()[2] == std::numeric_limits<int32_t>::min());
  CHECK(ng.ptr<int32_t>()[0] == 5);
  CHECK(ng.ptr<int32_t>()[1] == 0);
}

TEST_CASE("elementwise: Sum, Mean, Max, Min take any number of inputs and broadcast them all") {
  const Value a = value_f32({3, 1}, {1, 2, 3}), b = value_f32({1, 4}, {10, 20, 30, 40});
  const Value c = value_f32({4}, {5, -5, 0, 100});
  const std::vector<int64_t> out = {3, 4};
  const Value s = run1("Sum", {&a, &b, &c});
  CHECK(s.shape == out);
  check_values(s, naive({&a, &b, &c}, out, [](const std::vector<double>& v) { return v[0] + v[1] + v[2]; }));
  check_values(run1("Mean", {&a, &b, &c}),
               naive({&a, &b, &c}, out, [](const std::vector<double>& v) { return (v[0] + v[1] + v[2]) / 3; }), 2);
  check_values(run1("Max", {&a, &b, &c}), naive({&a, &b, &c}, out, [](const std::vector<double>& v) {
                 return std::max(v[0], std::max(v[1], v[2]));
               }));
  check_values(run1("Min", {&c, &a}), naive({&c, &a}, out, [](const std::vector<double>& v) {
                 return std::min(v[0], v[1]);
               }));
  // The first input smaller than the output (the first pair is planned against the full shape).
  const Value m2 = run1("Mean", {&a, &a, &b});
  check_values(m2, naive({&a, &a, &b}, out, [](const std::vector<double>& v) { return (v[0] + v[1] + v[2]) / 3; }), 2);
  const Value one = run1("Max", {&b});
  CHECK(one.shape == b.shape);
  CHECK(one.f32()[3] == 40);
  const Value i1 = value_i64({2}, {4, -9}), i2 = value_i64({2}, {-1, 7});
  const Value mx = run1("Max", {&i1, &i2});
  CHECK(mx.dtype == DType::kInt64);
  CHECK(mx.ptr<int64_t>()[0] == 4);
  CHECK(mx.ptr<int64_t>()[1] == 7);
  CHECK(error_of([&] { run1("Sum", {&i1, &i2}); }) ==
        "node 'n0' (Sum): input 0 ('in0') is int64; supported: float32, float64");
  const Value bad = value_f32({5}, {1, 2, 3, 4, 5});
  CHECK(error_of([&] { run1("Max", {&a, &b, &bad}); }) ==
        "node 'n0' (Max): cannot broadcast [3,1] with [1,4] with [5]");
}

TEST_CASE("elementwise: Pow with float and integer exponents, special exponents, integer bases") {
  std::mt19937 gen(11);
  const Value x = random_f32({4, 33}, gen, 0.1f, 4.0f);
  for (float e : {2.0f, 3.0f, 0.5f, 1.0f, 0.0f, -1.0f, 1.7f}) {
    const Value ev = value_f32({}, {e});
    INFO("exponent " << e);
    check_values(run1("Pow", {&x, &ev}),
                 naive({&x, &ev}, x.shape, [](const std::vector<double>& v) { return std::pow(v[0], v[1]); }), 4);
  }
  const Value per_col = random_f32({33}, gen, -2, 2);
  check_values(run1("Pow", {&x, &per_col}), naive({&x, &per_col}, x.shape, [](const std::vector<double>& v) {
                 return std::pow(v[0], v[1]);
               }), 4);
  const Value ie = value_i64({4, 1}, {2, 3, -1, 0});
  const Value yi = run1("Pow", {&x, &ie});
  CHECK(yi.dtype == DType::kFloat32);
  check_values(yi, naive({&x, &ie}, x.shape, [](const std::vector<double>& v) { return std::pow(v[0], v[1]); }), 4);
  const Value neg = value_f32({3}, {-2, -0.5f, 0}), three = i32({}, {3});
  check_values(run1("Pow", {&neg, &three}), {-8, -0.125, 0});
  const Value base = i32({3}, {2, -3, 5}), ex = i32({3}, {10, 3, 0});
  const Value p = run1("Pow", {&base, &ex});
  CHECK(p.dtype == DType::kInt32);
  CHECK(std::vector<int32_t>(p.ptr<int32_t>(), p.ptr<int32_t>() + 3) == std::vector<int32_t>{1024, -27, 1});
}

TEST_CASE("elementwise: Clip with attributes (opset < 11) and with optional inputs (opset >= 11)") {
  const Value x = value_f32({6}, {-5, -1, 0, 0.5f, 2, 9});
  check_values(run1("Clip", {&x}, {attr_f("min", -1.5f), attr_f("max", 1)}, 6), {-1.5, -1, 0, 0.5, 1, 1});
  check_values(run1("Clip", {&x}, {attr_f("max", 0)}, 6), {-5, -1, 0, 0, 0, 0});
  const Value lo = value_f32({}, {-1}), hi = value_f32({1}, {1});
  check_values(run1("Clip", {&x, &lo, &hi}), {-1, -1, 0, 0.5, 1, 1});
  check_values(run1("Clip", {&x, nullptr, &hi}), {-5, -1, 0, 0.5, 1, 1});
  check_values(run1("Clip", {&x, &lo}), {-1, -1, 0, 0.5, 2, 9});
  check_values(run1("Clip", {&x}), {-5, -1, 0, 0.5, 2, 9});
  const Value lo3 = value_f32({}, {3});
  check_values(run1("Clip", {&x, &lo3, &hi}), {1, 1, 1, 1, 1, 1});  // min > max: all max
  const Value xi = value_i64({4}, {-100, -2, 5, 100}), li = value_i64({}, {-3}), hi64 = value_i64({}, {6});
  const Value yi = run1("Clip", {&xi, &li, &hi64});
  CHECK(std::vector<int64_t>(yi.ptr<int64_t>(), yi.ptr<int64_t>() + 4) == std::vector<int64_t>{-3, -2, 5, 6});
  const Value two = value_f32({2}, {0, 1});
  CHECK(error_of([&] { run1("Clip", {&x, &two}); }) ==
        "node 'n0' (Clip): input 1 ('in1') (min) must be a scalar, got [2]");
  CHECK(error_of([&] { run1("Clip", {&x, &li}); }) ==
        "node 'n0' (Clip): input 1 ('in1') is int64 but input 0 ('in0') is float32; they must have the same type");
}

TEST_CASE("elementwise: PRelu slope forms: per-channel (opset 6), numpy (opset 7+), and the errors") {
  std::mt19937 gen(5);
  const Value x = random_f32({2, 3, 4}, gen);
  const Value s3 = value_f32({3}, {0.1f, 0.2f, 0.3f}), s4 = value_f32({4}, {1, 2, 3, 4});
  auto prelu = [](double v, double s) {
    return v < 0 ? static_cast<double>(static_cast<float>(v) * static_cast<float>(s)) : v;
  };
  // Opset 6: [C] is per channel (axis 1) even though numpy would need the last dim to be C.
  const Value s311 = value_f32({3, 1}, {0.1f, 0.2f, 0.3f});
  const Value y6 = run1("PRelu", {&x, &s3}, {}, 6);
  check_values(y6, naive({&x, &s311}, x.shape, [&](const std::vector<double>& v) { return prelu(v[0], v[1]); }));
  // Opset 16: numpy, [4] lines up with the last axis.
  check_values(run1("PRelu", {&x, &s4}, {}, 16),
               naive({&x, &s4}, x.shape, [&](const std::vector<double>& v) { return prelu(v[0], v[1]); }));
  // Opset 16 with a [C] slope numpy cannot place: taken per channel, as older exporters meant it.
  check_values(run1("PRelu", {&x, &s3}, {}, 16), value_to_doubles(y6));
  const Value s7 = value_f32({7}, {1, 1, 1, 1, 1, 1, 1});
  CHECK(error_of([&] { run1("PRelu", {&x, &s7}); }) == "node 'n0' (PRelu): slope [7] does not broadcast to X [2,3,4]");
  const Value big = random_f32({5, 2, 3, 4}, gen);
  CHECK(error_of([&] { run1("PRelu", {&x, &big}); }) ==
        "node 'n0' (PRelu): slope [5,2,3,4] does not broadcast to X [2,3,4]");
}

TEST_CASE("elementwise: activations and math functions match their formulas") {
  std::mt19937 gen(21);
  const Value x = random_f32({3, 67}, gen, -6, 6);
  const Value xp = random_f32({67}, gen, 0.01f, 50);
  const double s2 = std::sqrt(2.0);
  struct Case {
    const char* op;
    std::vector<Attribute> attrs;
    std::function<double(double)> f;
    double ulps;
    bool positive;
  };
  const std::vector<Case> cases = {
      {"Relu", {}, [](double v) { return std::max(v, 0.0); }, 0, false},
      {"LeakyRelu", {}, [](double v) { return v < 0 ? 0.01 * v : v; }, 2, false},
      {"LeakyRelu", {attr_f("alpha", 0.5f)}, [](double v) { return v < 0 ? 0.5 * v : v; }, 0, false},
      {"Elu", {}, [](double v) { return v < 0 ? std::expm1(v) : v; }, 8, false},
      {"Elu", {attr_f("alpha", 2)}, [](double v) { return v < 0 ? 2 * std::expm1(v) : v; }, 8, false},
      {"HardSigmoid", {}, [](double v) { return std::min(1.0, std::max(0.0, 0.2 * v + 0.5)); }, 2, false},
      {"HardSigmoid", {attr_f("alpha", 0.5f), attr_f("beta", 0.25f)},
       [](double v) { return std::min(1.0, std::max(0.0, 0.5 * v + 0.25)); }, 2, false},
      {"HardSwish", {}, [](double v) { return v * std::min(1.0, std::max(0.0, v / 6 + 0.5)); }, 4, false},
      {"Sigmoid", {}, [](double v) { return 1 / (1 + std::exp(-v)); }, 8, false},
      {"Tanh", {}, [](double v) { return std::tanh(v); }, 8, false},
      {"Softplus", {}, [](double v) { return std::log1p(std::exp(v)); }, 8, false},
      {"Gelu", {}, [&](double v) { return 0.5 * v * (1 + std::erf(v / s2)); }, 16, false},
      {"Gelu", {attr_s("approximate", "tanh")},
       [](double v) {
         return 0.5 * v * (1 + std::tanh(std::sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
       },
       16, false},
      {"Erf", {}, [](double v) { return std::erf(v); }, 8, false},
      {"Exp", {}, [](double v) { return std::exp(v); }, 8, false},
      {"Abs", {}, [](double v) { return std::fabs(v); }, 0, false},
      {"Neg", {}, [](double v) { return -v; }, 0, false},
      {"Ceil", {}, [](double v) { return std::ceil(v); }, 0, false},
      {"Floor", {}, [](double v) { return std::floor(v); }, 0, false},
      {"Log", {}, [](double v) { return std::log(v); }, 8, true},
      {"Sqrt", {}, [](double v) { return std::sqrt(v); }, 1, true},
      {"Reciprocal", {}, [](double v) { return 1 / v; }, 1, true},
  };
  for (const auto& c : cases) {
    INFO(c.op << (c.attrs.empty() ? "" : " with attributes"));
    const Value& in = c.positive ? xp : x;
    const Value y = run1(c.op, {&in}, c.attrs);
    CHECK(y.shape == in.shape);
    check_values(y, naive({&in}, in.shape, [&](const std::vector<double>& v) { return c.f(v[0]); }), c.ulps);
  }
  CHECK(error_of([&] { run1("Gelu", {&x}, {attr_s("approximate", "fast")}); }) ==
        "node 'n0' (Gelu): approximate is 'fast'; expected 'none' or 'tanh'");
}

TEST_CASE("elementwise: comparisons, Not, And and Where with broadcasting") {
  const Value a = value_f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = value_f32({3}, {2, 2, 7});
  auto bools = [](const Value& v) {
    REQUIRE(v.dtype == DType::kBool);
    return std::vector<uint8_t>(v.ptr<uint8_t>(), v.ptr<uint8_t>() + v.numel());
  };
  CHECK(bools(run1("Equal", {&a, &b})) == std::vector<uint8_t>{0, 1, 0, 0, 0, 0});
  CHECK(bools(run1("Less", {&a, &b})) == std::vector<uint8_t>{1, 0, 1, 0, 0, 1});
  CHECK(bools(run1("Greater", {&a, &b})) == std::vector<uint8_t>{0, 0, 0, 1, 1, 0});
  const Value ia = value_i64({3}, {-1, 5, 9}), ib = value_i64({}, {5});
  CHECK(bools(run1("Equal", {&ia, &ib})) == std::vector<uint8_t>{0, 1, 0});
  CHECK(bools(run1("Greater", {&ia, &ib})) == std::vector<uint8_t>{0, 0, 1});
  const Value t = boolean({2, 2}, {1, 0, 1, 0}), u = boolean({2}, {1, 1});
  CHECK(bools(run1("Equal", {&t, &u})) == std::vector<uint8_t>{1, 0, 1, 0});
  CHECK(bools(run1("Not", {&t})) == std::vector<uint8_t>{0, 1, 0, 1});
  const Value col = boolean({2, 1}, {1, 0});
  CHECK(bools(run1("And", {&t, &col})) == std::vector<uint8_t>{1, 0, 0, 0});
  // Where: condition [2,1] picks rows, X [2,3], Y scalar; then int64 and bool payloads.
  const Value y0 = value_f32({}, {-1});
  check_values(run1("Where", {&col, &a, &y0}), {1, 2, 3, -1, -1, -1});
  const Value c3 = boolean({3}, {0, 1, 0});
  const Value w = run1("Where", {&c3, &ia, &ib});
  CHECK(w.dtype == DType::kInt64);
  CHECK(std::vector<int64_t>(w.ptr<int64_t>(), w.ptr<int64_t>() + 3) == std::vector<int64_t>{5, 5, 5});
  const Value wb = run1("Where", {&c3, &c3, &col});
  CHECK(wb.shape == std::vector<int64_t>{2, 3});
  CHECK(bools(wb) == std::vector<uint8_t>{1, 1, 1, 0, 1, 0});
  CHECK(error_of([&] { run1("Where", {&a, &a, &b}); }) ==
        "node 'n0' (Where): input 0 ('in0') is float32; supported: bool");
  CHECK(error_of([&] { run1("Where", {&c3, &a, &ia}); }) ==
        "node 'n0' (Where): input 2 ('in2') is int64 but input 1 ('in1') is float32; they must have the same type");
  CHECK(error_of([&] { run1("Less", {&t, &u}); }).find("input 0 ('in0') is bool; supported: float32") !=
        std::string::npos);
}

TEST_CASE("elementwise: errors name the node, the input and what was expected") {
  const Value f = value_f32({2, 3}, {1, 2, 3, 4, 5, 6}), g = value_f32({4}, {1, 2, 3, 4});
  const Value i = value_i64({2, 3}, {1, 2, 3, 4, 5, 6});
  Value d = value_alloc(DType::kFloat64, {2});
  CHECK(error_of([&] { run1("Add", {&f, &g}); }) == "node 'n0' (Add): cannot broadcast [2,3] with [4]");
  CHECK(error_of([&] { run1("Mul", {&f, &i}); }) ==
        "node 'n0' (Mul): input 1 ('in1') is int64 but input 0 ('in0') is float32; they must have the same type");
  CHECK(error_of([&] { run1("Relu", {&d}); }) == "node 'n0' (Relu): input 0 ('in0') is float64; supported: float32");
  CHECK(error_of([&] { run1("Sigmoid", {&i}); }) ==
        "node 'n0' (Sigmoid): input 0 ('in0') is int64; supported: float32");
  CHECK(error_of([&] { run1("Add", {&f}); }) == "node 'n0' (Add): input 1 is required");
  const std::string missing = error_of([&] { run1("Relu", {nullptr}); });
  CHECK(missing.find("node 'n0' (Relu): input 0") == 0);
  CHECK(missing.find("is required") != std::string::npos);
  const Value bl = boolean({1}, {1});
  CHECK(error_of([&] { run1("Add", {&bl, &bl}); }) ==
        "node 'n0' (Add): input 0 ('in0') is bool; supported: float32, float64, int64, int32, int16, int8, uint64, "
        "uint32, uint16, uint8");
  const Value u = make<uint8_t>(DType::kUint8, {1}, {3});
  CHECK(error_of([&] { run1("Neg", {&u}); }) ==
        "node 'n0' (Neg): input 0 ('in0') is uint8; supported: float32, float64, int64, int32, int16, int8");
}
