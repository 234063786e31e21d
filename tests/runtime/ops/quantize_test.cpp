// QuantizeLinear/DequantizeLinear: ONNX examples, rounding half to even, per-axis and blocked forms, refusals.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
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
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
template <class T>
Value typed(DType t, std::vector<int64_t> shape, const std::vector<T>& d) {
  Value v = value_alloc(t, std::move(shape));
  REQUIRE(static_cast<size_t>(v.numel()) == d.size());
  if (!d.empty()) std::memcpy(v.data, d.data(), d.size() * sizeof(T));
  return v;
}
template <class T>
std::vector<T> values(const Value& v) {
  return std::vector<T>(v.ptr<T>(), v.ptr<T>() + v.numel());
}
}  // namespace

TEST_CASE("quantize: QuantizeLinear per tensor saturates and rounds half to even") {
  const Value x = value_f32({6}, {0, 2, 3, 1000, -254, -1000});
  const Value s = value_f32({}, {2});
  const Value z = typed<uint8_t>(DType::kUint8, {}, {128});
  auto y = run_op("QuantizeLinear", {&x, &s, &z}, {}, 1, 13);
  CHECK(y[0].dtype == DType::kUint8);
  CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{128, 129, 130, 255, 1, 0});
  const Value t = value_f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 300, -300});
  const Value one = value_f32({1}, {1});
  const Value zi = typed<int8_t>(DType::kInt8, {1}, {0});
  y = run_op("QuantizeLinear", {&t, &one, &zi}, {}, 1, 10);
  CHECK(values<int8_t>(y[0]) == std::vector<int8_t>{0, 2, 2, 0, -2, -2, 127, -128});
  // No zero point: uint8 with zero point 0; output_dtype (opset 21) picks another type.
  y = run_op("QuantizeLinear", {&t, &one}, {}, 1, 13);
  CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{0, 2, 2, 0, 0, 0, 255, 0});
  y = run_op("QuantizeLinear", {&t, &one}, {attr_i("output_dtype", int64_t(DType::kInt16))}, 1, 21);
  CHECK(values<int16_t>(y[0]) == std::vector<int16_t>{0, 2, 2, 0, -2, -2, 300, -300});
  const Value zu16 = typed<uint16_t>(DType::kUint16, {}, {32768});
  y = run_op("QuantizeLinear", {&t, &one, &zu16}, {}, 1, 21);
  CHECK(values<uint16_t>(y[0]) == std::vector<uint16_t>{32768, 32770, 32770, 32768, 32766, 32766, 33068, 32468});
  // The division is x / scale, not x * (1/scale): 0.3 / 0.1 rounds to 3 (x * 10 gives the same here), and a
  // scale whose reciprocal is inexact must still land on the ONNX answer.
  const Value x3 = value_f32({1}, {3.5f * 0.3f});
  const Value s3 = value_f32({}, {0.3f});
  CHECK(values<uint8_t>(run_op("QuantizeLinear", {&x3, &s3}, {}, 1, 13)[0])[0] ==
        static_cast<uint8_t>(std::nearbyint(3.5f * 0.3f / 0.3f)));
}

TEST_CASE("quantize: per-axis and blocked scales") {
  // x [1,3,2] per axis 1; -10 / 4 = -2.5 rounds to -2 (half to even).
  const Value x = value_f32({1, 3, 2}, {-10, 10, -10, 10, -10, 10});
  const Value s = value_f32({3}, {1, 2, 4});
  const Value z = typed<int8_t>(DType::kInt8, {3}, {0, 1, -1});
  auto y = run_op("QuantizeLinear", {&x, &s, &z}, {}, 1, 13);
  CHECK(values<int8_t>(y[0]) == std::vector<int8_t>{-10, 10, -4, 6, -3, 1});
  auto d = run_op("DequantizeLinear", {&y[0], &s, &z}, {}, 1, 13);
  CHECK(std::vector<float>(d[0].f32(), d[0].f32() + 6) == std::vector<float>{-10, 10, -10, 10, -8, 8});
  // Blocked (opset 21): x [2,4], blocks of 2 along axis 1 -> scale [2,2].
  const Value xb = value_f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Value sb = value_f32({2, 2}, {1, 2, 0.5f, 4});
  y = run_op("QuantizeLinear", {&xb, &sb}, {attr_i("axis", 1), attr_i("block_size", 2)}, 1, 21);
  CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{1, 2, 2, 2, 10, 12, 2, 2});
  d = run_op("DequantizeLinear", {&y[0], &sb}, {attr_i("axis", 1), attr_i("block_size", 2)}, 1, 21);
  CHECK(std::vector<float>(d[0].f32(), d[0].f32() + 8) == std::vector<float>{1, 2, 4, 4, 5, 6, 8, 8});
  // Blocked with a ragged last block: 3 columns in blocks of 2 -> 2 scales per row.
  const Value xr = value_f32({1, 3}, {2, 4, 6});
  const Value sr = value_f32({1, 2}, {2, 3});
  y = run_op("QuantizeLinear", {&xr, &sr}, {attr_i("axis", 1), attr_i("block_size", 2)}, 1, 21);
  CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{1, 2, 2});
}

TEST_CASE("quantize: DequantizeLinear on every whole-byte integer type") {
  const Value s = value_f32({}, {0.5f});
  const Value u8 = typed<uint8_t>(DType::kUint8, {3}, {0, 128, 255});
  const Value z8 = typed<uint8_t>(DType::kUint8, {}, {128});
  auto y = run_op("DequantizeLinear", {&u8, &s, &z8}, {}, 1, 13);
  CHECK(std::vector<float>(y[0].f32(), y[0].f32() + 3) == std::vector<float>{-64, 0, 63.5f});
  const Value i16 = typed<int16_t>(DType::kInt16, {2}, {-32768, 32767});
  y = run_op("DequantizeLinear", {&i16, &s}, {}, 1, 21);
  CHECK(std::vector<float>(y[0].f32(), y[0].f32() + 2) == std::vector<float>{-16384, 16383.5f});
  const Value i32 = typed<int32_t>(DType::kInt32, {2}, {-1000000, 7});
  y = run_op("DequantizeLinear", {&i32, &s}, {}, 1, 13);
  CHECK(std::vector<float>(y[0].f32(), y[0].f32() + 2) == std::vector<float>{-500000, 3.5f});
}

TEST_CASE("quantize: unsupported types and mismatched shapes fail clearly") {
  const Value x = value_f32({4}, {1, 2, 3, 4});
  const Value s = value_f32({}, {1});
  CHECK(has(error_of([&] {
              run_op("QuantizeLinear", {&x, &s}, {attr_i("output_dtype", int64_t(DType::kFloat8E4M3FN))}, 1, 21);
            }),
            "float8 quantization is not supported"));
  CHECK(has(error_of([&] {
              run_op("QuantizeLinear", {&x, &s}, {attr_i("output_dtype", int64_t(DType::kInt4))}, 1, 21);
            }),
            "sub-byte types are not supported"));
  const Value s2 = value_f32({3}, {1, 2, 3});
  CHECK(error_of([&] { run_op("QuantizeLinear", {&x, &s2}, {attr_i("axis", 0)}, 1, 13); }) ==
        "node 'n0' (QuantizeLinear): scale float32 [3] is neither one value nor one per element of axis 0 of input "
        "float32 [4]");
  CHECK(has(error_of([&] { run_op("QuantizeLinear", {&x, &s2}, {attr_i("axis", 3)}, 1, 13); }),
            "axis 3 is out of range for input float32 [4]"));
  const Value z16 = typed<int16_t>(DType::kInt16, {}, {0});
  CHECK(has(error_of([&] {
              run_op("QuantizeLinear", {&x, &s, &z16}, {attr_i("output_dtype", int64_t(DType::kUint8))}, 1, 21);
            }),
            "differs from the zero point's type"));
  Value d = value_alloc(DType::kFloat64, {2});
  CHECK(has(error_of([&] { run_op("QuantizeLinear", {&d, &s}, {}, 1, 13); }), "input 0 is float64"));
  CHECK(has(error_of([&] { run_op("DequantizeLinear", {&x, &s}, {}, 1, 13); }),
            "input 0 is float32; only uint8, int8, uint16, int16 and int32 are supported"));
  const Value u8 = typed<uint8_t>(DType::kUint8, {4}, {1, 2, 3, 4});
  const Value zi8 = typed<int8_t>(DType::kInt8, {}, {0});
  CHECK(has(error_of([&] { run_op("DequantizeLinear", {&u8, &s, &zi8}, {}, 1, 13); }), "zero point is int8"));
  const Value sb = value_f32({3}, {1, 1, 1});
  CHECK(has(error_of([&] {
              run_op("DequantizeLinear", {&u8, &sb}, {attr_i("axis", 0), attr_i("block_size", 2)}, 1, 21);
            }),
            "blocked by 2 along axis 0 (expected [2])"));
}
