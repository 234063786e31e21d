// Shape ops: views that must alias, shape queries, constants, Cast conversions (rounding, saturation, float16)
// and Range, with their pinned errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/runtime/kernels/layout_util.h"
#include "tests/support/op_runner.h"

using namespace qp;
using qp_test::error_of;
using qp_test::attr_f;
using qp_test::attr_floats;
using qp_test::attr_i;
using qp_test::attr_ints;
using qp_test::run_op;

namespace {

Value ints(std::vector<int64_t> v) { return value_i64({static_cast<int64_t>(v.size())}, v); }

Value iota(std::vector<int64_t> shape) {
  Value v = value_alloc(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < v.numel(); ++i) v.f32()[i] = static_cast<float>(i);
  return v;
}

using Shape = std::vector<int64_t>;

}  // namespace

TEST_CASE("shape: Reshape copies 0 dims, infers -1, honours allowzero and aliases its input") {
  const Value x = iota({2, 3, 4});
  struct Case {
    Shape spec, out;
    int64_t allowzero;
  };
  const Case cases[] = {{{4, -1}, {4, 6}, 0},       {{0, 0, 4}, {2, 3, 4}, 0}, {{0, -1}, {2, 12}, 0},
                        {{-1}, {24}, 0},            {{2, 3, 2, 2}, {2, 3, 2, 2}, 0}, {{1, 1, 24}, {1, 1, 24}, 1}};
  for (const Case& c : cases) {
    INFO(shape_str(c.spec));
    const Value s = ints(c.spec);
    const auto y = run_op("Reshape", {&x, &s}, {attr_i("allowzero", c.allowzero)}, 1, 14);
    CHECK(y[0].shape == c.out);
    CHECK(y[0].data == x.data);
  }
  // allowzero: a 0 is a real zero dim; an empty tensor may take it.
  const Value e = value_alloc(DType::kFloat32, {0, 3});
  const Value s0 = ints({3, 0});
  CHECK(run_op("Reshape", {&e, &s0}, {attr_i("allowzero", 1)}, 1, 14)[0].shape == Shape{3, 0});
  // Opset 1-4 form: shape attribute.
  CHECK(run_op("Reshape", {&x}, {attr_ints("shape", {6, 4})}, 1, 4)[0].shape == Shape{6, 4});
  const Value x134 = iota({1, 3, 4});
  const Value bad = ints({5, -1});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &bad}); }) ==
        "node 'n0' (Reshape): cannot reshape float32 [1,3,4] (12 elements) to [5,-1]");
  const Value two = ints({-1, -1});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &two}); }).find("more than one -1") != std::string::npos);
  const Value neg = ints({-2, 6});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &neg}); }).find("negative dim -2") != std::string::npos);
  const Value zero_far = ints({12, 1, 1, 0});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &zero_far}); }).find("copies a dim the input lacks") != std::string::npos);
  const Value huge = ints({std::numeric_limits<int64_t>::max(), 4, 4});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &huge}); }).find("cannot reshape") != std::string::npos);
  const Value fshape = value_f32({2}, {3, 4});
  CHECK(error_of([&] { run_op("Reshape", {&x134, &fshape}); }) ==
        "node 'n0' (Reshape): input 1 (shape) must be an integer tensor, got float32 [2]");
}

TEST_CASE("shape: Flatten splits at every axis, negative included") {
  const Value x = iota({2, 3, 4, 5});
  const std::pair<int64_t, Shape> cases[] = {{0, {1, 120}}, {1, {2, 60}}, {2, {6, 20}}, {4, {120, 1}},
                                             {-1, {24, 5}}, {-4, {1, 120}}};
  for (const auto& c : cases) {
    INFO(c.first);
    const auto y = run_op("Flatten", {&x}, {attr_i("axis", c.first)}, 1, 13);
    CHECK(y[0].shape == c.second);
    CHECK(y[0].data == x.data);
  }
  CHECK(run_op("Flatten", {&x})[0].shape == Shape{2, 60});
  CHECK(error_of([&] { run_op("Flatten", {&x}, {attr_i("axis", 5)}); }) ==
        "node 'n0' (Flatten): axis 5 is out of range for float32 [2,3,4,5]");
}

TEST_CASE("shape: Squeeze and Unsqueeze in attribute (opset 11) and input (opset 13) forms") {
  const Value x = iota({1, 3, 1, 2});
  CHECK(run_op("Squeeze", {&x}, {}, 1, 13)[0].shape == Shape{3, 2});
  CHECK(run_op("Squeeze", {&x}, {attr_ints("axes", {-2})}, 1, 11)[0].shape == Shape{1, 3, 2});
  const Value ax = ints({0});
  const auto sq = run_op("Squeeze", {&x, &ax}, {}, 1, 13);
  CHECK(sq[0].shape == Shape{3, 1, 2});
  CHECK(sq[0].data == x.data);
  const Value ax1 = ints({1});
  CHECK(error_of([&] { run_op("Squeeze", {&x, &ax1}, {}, 1, 13); }) ==
        "node 'n0' (Squeeze): cannot squeeze axis 1 of float32 [1,3,1,2]: its size is 3");
  const Value v = iota({3, 4});
  CHECK(run_op("Unsqueeze", {&v}, {attr_ints("axes", {0, 3})}, 1, 11)[0].shape == Shape{1, 3, 4, 1});
  const Value ua = ints({-1, 1});  // unsorted and negative: against the output rank 4
  CHECK(run_op("Unsqueeze", {&v, &ua}, {}, 1, 13)[0].shape == Shape{3, 1, 4, 1});
  const Value dup = ints({1, 1});
  CHECK(error_of([&] { run_op("Unsqueeze", {&v, &dup}, {}, 1, 13); }).find("listed twice") != std::string::npos);
  const Value far = ints({4});
  CHECK(error_of([&] { run_op("Unsqueeze", {&v, &far}, {}, 1, 13); }) ==
        "node 'n0' (Unsqueeze): axis 4 is out of range for an output of rank 3");
  const Value s = value_f32({}, {2});
  CHECK(run_op("Unsqueeze", {&s, &ax}, {}, 1, 13)[0].shape == Shape{1});
}

TEST_CASE("shape: Shape with start/end clamping and Size") {
  const Value x = iota({2, 3, 4});
  struct Case {
    int64_t start, end;
    std::vector<double> want;
  };
  const Case cases[] = {{0, 100, {2, 3, 4}}, {1, 100, {3, 4}}, {-1, 100, {4}}, {0, -1, {2, 3}},
                        {-10, 1, {2}},       {2, 1, {}},       {3, 100, {}}};
  for (const Case& c : cases) {
    INFO(c.start << ".." << c.end);
    const auto y = run_op("Shape", {&x}, {attr_i("start", c.start), attr_i("end", c.end)}, 1, 15);
    CHECK(y[0].dtype == DType::kInt64);
    CHECK(value_to_doubles(y[0]) == c.want);
  }
  CHECK(value_to_doubles(run_op("Shape", {&x})[0]) == std::vector<double>{2, 3, 4});
  const auto sz = run_op("Size", {&x});
  CHECK(sz[0].dtype == DType::kInt64);
  CHECK(sz[0].shape.empty());
  CHECK(sz[0].ptr<int64_t>()[0] == 24);
}

TEST_CASE("shape: Identity and Dropout alias; the mask is all true; training mode fails") {
  const Value x = iota({2, 3});
  CHECK(run_op("Identity", {&x})[0].data == x.data);
  auto y = run_op("Dropout", {&x}, {attr_f("ratio", 0.3f)}, 2, 12);
  CHECK(y[0].data == x.data);
  CHECK(y[1].dtype == DType::kBool);
  CHECK(value_to_doubles(y[1]) == std::vector<double>(6, 1.0));
  y = run_op("Dropout", {&x}, {attr_i("is_test", 1)}, 2, 6);
  CHECK(y[1].dtype == DType::kFloat32);  // before opset 10 the mask has the input's type
  CHECK(value_to_doubles(y[1]) == std::vector<double>(6, 1.0));
  Value on = value_alloc(DType::kBool, {});
  on.ptr<uint8_t>()[0] = 1;
  const Value ratio = value_f32({}, {0.5f});
  CHECK(error_of([&] { run_op("Dropout", {&x, &ratio, &on}, {}, 1, 13); }) ==
        "node 'n0' (Dropout): training mode is not supported");
  Value off = value_alloc(DType::kBool, {});
  CHECK(run_op("Dropout", {&x, &ratio, &off}, {}, 1, 13)[0].data == x.data);
}

TEST_CASE("shape: Constant from every value attribute; ConstantOfShape fills its value") {
  qp::Attribute t;
  t.name = "value";
  t.type = AttrType::kTensor;
  t.t.dtype = DType::kInt32;
  t.t.dims = {2};
  const int32_t tv[2] = {7, -9};
  t.t.data.assign(reinterpret_cast<const char*>(tv), sizeof tv);
  auto y = run_op("Constant", {}, {t});
  CHECK(y[0].dtype == DType::kInt32);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{7, -9});
  y = run_op("Constant", {}, {attr_f("value_float", 2.5f)});
  CHECK((y[0].shape.empty() && y[0].f32()[0] == 2.5f));
  y = run_op("Constant", {}, {attr_floats("value_floats", {1, 2})});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 2});
  y = run_op("Constant", {}, {attr_i("value_int", -4)});
  CHECK((y[0].dtype == DType::kInt64 && y[0].ptr<int64_t>()[0] == -4));
  y = run_op("Constant", {}, {attr_ints("value_ints", {3, 4, 5})});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{3, 4, 5});
  CHECK(error_of([&] { run_op("Constant", {}, {qp_test::attr_s("value_string", "x")}); }) ==
        "node 'n0' (Constant): attribute 'value_string' is not supported");

  const Value s = ints({2, 3});
  y = run_op("ConstantOfShape", {&s});
  CHECK((y[0].dtype == DType::kFloat32 && value_to_doubles(y[0]) == std::vector<double>(6, 0.0)));
  t.t.dims = {1};
  t.t.data.resize(4);
  y = run_op("ConstantOfShape", {&s}, {t});
  CHECK((y[0].dtype == DType::kInt32 && value_to_doubles(y[0]) == std::vector<double>(6, 7.0)));
  const Value empty = ints({});
  y = run_op("ConstantOfShape", {&empty}, {t});
  CHECK((y[0].shape.empty() && value_to_doubles(y[0]) == std::vector<double>{7}));
  const Value neg = ints({2, -1});
  CHECK(error_of([&] { run_op("ConstantOfShape", {&neg}); }).find("negative dim") != std::string::npos);
  const Value huge = ints({1 << 30, 1 << 30, 1 << 20});
  CHECK(error_of([&] { run_op("ConstantOfShape", {&huge}); }).find("too large to allocate") != std::string::npos);
}

TEST_CASE("shape: Cast truncates, saturates, maps NaN to 0 and bool to 0/1") {
  const Value x = value_f32({7}, {-1.7f, 2.9f, 300.0f, -300.0f, NAN, 0.0f, 1e30f});
  auto y = run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kInt8))});
  CHECK(y[0].dtype == DType::kInt8);
  CHECK(value_to_doubles(y[0]) == std::vector<double>{-1, 2, 127, -128, 0, 0, 127});
  y = run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kUint8))});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{0, 2, 255, 0, 0, 0, 255});
  y = run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kBool))});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{1, 1, 1, 1, 1, 0, 1});
  y = run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kInt64))});
  CHECK(value_to_doubles(y[0])[6] == static_cast<double>(std::numeric_limits<int64_t>::max()));
  // Integer to integer wraps modulo 2^bits; int64 beyond 2^53 reaches float64 rounded once.
  const Value big = value_i64({3}, {(int64_t{1} << 40) + 5, -1, (int64_t{1} << 53) + 1});
  y = run_op("Cast", {&big}, {attr_i("to", static_cast<int>(DType::kInt32))});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{5, -1, 1});
  y = run_op("Cast", {&big}, {attr_i("to", static_cast<int>(DType::kUint16))});
  CHECK(value_to_doubles(y[0]) == std::vector<double>{5, 65535, 1});
  y = run_op("Cast", {&big}, {attr_i("to", static_cast<int>(DType::kFloat64))});
  CHECK(y[0].ptr<double>()[2] == 9007199254740992.0);
  // Same type: no copy.
  CHECK(run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kFloat32))})[0].data == x.data);
  // Every pair of runtime types converts a small integer exactly.
  const DType all[] = {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16, DType::kInt8, DType::kInt16,
                       DType::kInt32,   DType::kInt64,   DType::kUint8,   DType::kUint16,   DType::kUint32, DType::kUint64};
  for (DType a : all) {
    Value v = value_alloc(a, {3});
    for (int i = 0; i < 3; ++i) layout_store_scalar(a, i * 3 + 1, static_cast<char*>(v.data) + i * dtype_bytes(a));
    for (DType b : all) {
      INFO(dtype_name(a) << " -> " << dtype_name(b));
      const auto c = run_op("Cast", {&v}, {attr_i("to", static_cast<int>(b))});
      CHECK(c[0].dtype == b);
      CHECK(value_to_doubles(c[0]) == std::vector<double>{1, 4, 7});
    }
  }
  CHECK(error_of([&] { run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kString))}); }) ==
        "node 'n0' (Cast): cannot cast float32 [7] to string: string is not supported");
  CHECK(error_of([&] { run_op("Cast", {&x}, {attr_i("to", static_cast<int>(DType::kFloat8E4M3FN))}); })
            .find("is not supported") != std::string::npos);
}

TEST_CASE("shape: Cast float32 <-> float16 round-trips every half and rounds to nearest even") {
  // Every finite half widens to float32 and narrows back to the same bits.
  Value h = value_alloc(DType::kFloat16, {65536});
  for (int i = 0; i < 65536; ++i) h.ptr<uint16_t>()[i] = static_cast<uint16_t>(i);
  const auto f = run_op("Cast", {&h}, {attr_i("to", static_cast<int>(DType::kFloat32))});
  const auto back = run_op("Cast", {&f[0]}, {attr_i("to", static_cast<int>(DType::kFloat16))});
  int mismatches = 0;
  for (int i = 0; i < 65536; ++i) {
    const bool nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
    const uint16_t got = back[0].ptr<uint16_t>()[i];
    if (nan ? !((got & 0x7c00) == 0x7c00 && (got & 0x3ff)) : got != i) ++mismatches;
  }
  CHECK(mismatches == 0);
  // Ties: 1 + 2^-11 sits halfway between 1 and 1 + 2^-10 and goes to the even 1; 1 + 3*2^-11 goes up.
  // 2^-25 is halfway between 0 and the smallest subnormal (even: 0); just above it rounds to 2^-24.
  const Value t = value_f32({6}, {1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11), std::ldexp(1.0f, -25),
                                  std::ldexp(1.0f, -25) * 1.0001f, 65520.0f, 65519.0f});
  const auto r = run_op("Cast", {&t}, {attr_i("to", static_cast<int>(DType::kFloat16))});
  const uint16_t* p = r[0].ptr<uint16_t>();
  CHECK(p[0] == 0x3c00);
  CHECK(p[1] == 0x3c02);
  CHECK(p[2] == 0x0000);
  CHECK(p[3] == 0x0001);
  CHECK(p[4] == 0x7c00);  // rounds past 65504: infinity
  CHECK(p[5] == 0x7bff);
}

TEST_CASE("shape: Range for ints and floats, negative delta, empty results; zero delta fails") {
  auto scalar_i = [](int64_t v) { return value_i64({}, {v}); };
  Value s = scalar_i(10), l = scalar_i(1), d = scalar_i(-3);
  CHECK(value_to_doubles(run_op("Range", {&s, &l, &d})[0]) == std::vector<double>{10, 7, 4});
  s = scalar_i(0), l = scalar_i(0), d = scalar_i(1);
  CHECK(run_op("Range", {&s, &l, &d})[0].shape == Shape{0});
  const Value fs = value_f32({}, {1}), fl = value_f32({}, {2}), fd = value_f32({}, {0.3f});
  const auto y = run_op("Range", {&fs, &fl, &fd});
  REQUIRE(y[0].shape == Shape{4});
  CHECK(y[0].f32()[3] == doctest::Approx(1.9f));
  Value i32s = value_alloc(DType::kInt32, {}), i32l = value_alloc(DType::kInt32, {}), i32d = value_alloc(DType::kInt32, {});
  i32s.ptr<int32_t>()[0] = 5, i32l.ptr<int32_t>()[0] = 12, i32d.ptr<int32_t>()[0] = 4;
  const auto yi = run_op("Range", {&i32s, &i32l, &i32d});
  CHECK((yi[0].dtype == DType::kInt32 && value_to_doubles(yi[0]) == std::vector<double>{5, 9}));
  d = scalar_i(0);
  CHECK(error_of([&] { run_op("Range", {&s, &l, &d}); }) == "node 'n0' (Range): delta must be nonzero");
  const Value lo = scalar_i(std::numeric_limits<int64_t>::min()), hi = scalar_i(std::numeric_limits<int64_t>::max()),
              one = scalar_i(1);
  CHECK(error_of([&] { run_op("Range", {&lo, &hi, &one}); }).find("would produce") != std::string::npos);
}

TEST_CASE("shape: CastLike takes the target type from its second input") {
  const qp::Value x = qp::value_f32({4}, {1.9f, -2.7f, 0.0f, 300.5f});
  const qp::Value like = qp::value_i64({0}, {});
  const auto y = qp_test::run_op("CastLike", {&x, &like});
  REQUIRE(y[0].dtype == qp::DType::kInt64);
  CHECK(y[0].shape == std::vector<int64_t>{4});
  CHECK(y[0].ptr<int64_t>()[0] == 1);
  CHECK(y[0].ptr<int64_t>()[1] == -2);
  CHECK(y[0].ptr<int64_t>()[3] == 300);
  CHECK_THROWS_WITH_AS(qp_test::run_op("CastLike", {&x}), "node 'n0' (CastLike): input 1 is required", qp::Error);
}
