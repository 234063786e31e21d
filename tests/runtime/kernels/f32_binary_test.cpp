// The float32 binary SIMD kernels against their scalar reference over every broadcast mode of a block: odd row
// lengths, row strides (including 0), misaligned pointers, sentinels between output rows, in-place accumulation.
#include "core/runtime/kernels/f32_binary.h"

#include <doctest/doctest.h>
#include <hwy/targets.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace qp;

namespace {

constexpr float kSentinel = -12345.5f;

template <class F>
void for_each_target(F f) {
#ifdef QP_HWY_STATIC_ONLY
  f();
#else
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(t);
    f();
  }
  hwy::SetSupportedTargetsForTest(0);
#endif
}

std::string target_name() {
#ifdef QP_HWY_STATIC_ONLY
  return "static";
#else
  return hwy::TargetName(hwy::SupportedTargets() & -hwy::SupportedTargets());
#endif
}

bool same(float got, float ref, float ulps) {
  if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) && std::isnan(got);
  if (ulps == 0 || std::isinf(ref)) return got == ref;
  return std::fabs(got - ref) <= ulps * std::numeric_limits<float>::epsilon() * std::max(std::fabs(ref), 1.0f);
}

const BinaryOp kAllOps[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul,  BinaryOp::kDiv,
                            BinaryOp::kMax, BinaryOp::kMin, BinaryOp::kPow, BinaryOp::kPRelu};

}  // namespace

TEST_CASE("f32_binary: every op and broadcast mode matches the reference on seeded random blocks") {
  for_each_target([&] {
    for (BinaryOp op : kAllOps) {
      for (uint32_t seed = 1; seed <= 48; ++seed) {
        std::mt19937 gen(seed * 31 + static_cast<uint32_t>(op));
        BinaryBlock k;
        k.rows = std::uniform_int_distribution<size_t>(1, 6)(gen);
        k.cols = seed <= 16 ? seed - 1 : std::uniform_int_distribution<size_t>(0, 300)(gen);
        k.a_col = seed % 2;
        k.b_col = (seed / 2) % 2;
        // Row strides: dense, padded, or 0 (the same row for every r, as in [M,N] op [N]).
        auto row_stride = [&](size_t col) -> ptrdiff_t {
          const size_t len = col ? k.cols : 1;
          switch (gen() % 3) {
            case 0: return 0;
            case 1: return static_cast<ptrdiff_t>(len);
            default: return static_cast<ptrdiff_t>(len + gen() % 5);
          }
        };
        k.a_row = row_stride(k.a_col);
        k.b_row = row_stride(k.b_col);
        k.y_row = static_cast<ptrdiff_t>(k.cols + 3);  // three sentinels after every output row
        const size_t mis = seed % 4;  // a starts mis floats past an aligned address, b 3 - mis, y mis
        auto span = [&](ptrdiff_t row, size_t col) {
          return (k.rows - 1) * static_cast<size_t>(row) + (k.cols ? (k.cols - 1) * col : 0) + 1;
        };
        std::vector<float> ab(span(k.a_row, k.a_col) + mis), bb(span(k.b_row, k.b_col) + 3);
        std::uniform_real_distribution<float> u(-4, 4);
        for (auto& v : ab) v = u(gen);
        for (auto& v : bb) v = u(gen);
        if (op == BinaryOp::kPow) {
          for (auto& v : ab) v = std::fabs(v) + 0.1f;    // positive bases: pow defined for any exponent
          for (auto& v : bb) v = std::round(v * 2) / 2;  // often one of the vectorised exponents
        }
        if (op == BinaryOp::kDiv)
          for (auto& v : bb) v = v == 0 ? 1.0f : v;
        k.a = ab.data() + mis;
        k.b = bb.data() + (3 - mis);
        std::vector<float> yb(k.rows * static_cast<size_t>(k.y_row) + mis, kSentinel), ref(yb);
        k.y = yb.data() + mis;
        BinaryBlock kr = k;
        kr.y = ref.data() + mis;
        f32_binary(op, k);
        f32_binary_ref(op, kr);
        INFO(f32_binary_op_name(op) << " seed " << seed << " rows " << k.rows << " cols " << k.cols << " a_col "
                                    << k.a_col << " b_col " << k.b_col << " a_row " << k.a_row << " b_row "
                                    << k.b_row << " target " << target_name());
        const float ulps = op == BinaryOp::kPow ? 4 : 0;
        size_t bad = 0;
        for (size_t i = 0; i < yb.size(); ++i)
          if (!same(yb[i], ref[i], ulps) && bad++ < 3)
            CHECK_MESSAGE(false, "at " << i << " got " << yb[i] << " ref " << ref[i]);
        CHECK(bad == 0);
      }
    }
  });
}

TEST_CASE("f32_binary: in-place accumulation (y == a) as the variadic ops use it") {
  for_each_target([&] {
    std::vector<float> y(101), b(101), ref(101);
    for (size_t i = 0; i < y.size(); ++i) {
      y[i] = static_cast<float>(i) * 0.5f - 20;
      b[i] = static_cast<float>(i % 7) - 3;
      ref[i] = std::max(y[i], b[i]);
    }
    BinaryBlock k;
    k.cols = y.size();
    k.a = y.data();
    k.b = b.data();
    k.y = y.data();
    f32_binary(BinaryOp::kMax, k);
    CHECK(y == ref);
  });
}

TEST_CASE("f32_binary: Pow special exponents follow std::pow, including -0, infinities and negative bases") {
  for_each_target([&] {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> base = {0.0f, -0.0f, inf, -inf, 2.0f, -2.0f, 0.3f, -0.3f, 1e-20f, 7.5f, 1e20f, -3.0f};
    for (float e : {0.0f, 1.0f, 2.0f, 3.0f, 0.5f, -1.0f, 1.5f, -2.0f}) {
      std::vector<float> y(base.size()), ref(base.size());
      BinaryBlock k;
      k.cols = base.size();
      k.a = base.data();
      k.b = &e;
      k.b_col = 0;
      k.y = y.data();
      f32_binary(BinaryOp::kPow, k);
      for (size_t i = 0; i < base.size(); ++i) {
        INFO("pow(" << base[i] << ", " << e << ") got " << y[i] << " target " << target_name());
        const float r = std::pow(base[i], e);
        CHECK(same(y[i], r, 2));
        if (r == 0) CHECK(std::signbit(y[i]) == std::signbit(r));
      }
    }
  });
}

TEST_CASE("f32_binary: PRelu and Max/Min hand-computed values") {
  const std::vector<float> x = {-2, -0.5f, 0, 3}, slope = {0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<float> y(4);
  BinaryBlock k;
  k.cols = 4;
  k.a = x.data();
  k.b = slope.data();
  k.y = y.data();
  f32_binary(BinaryOp::kPRelu, k);
  CHECK(y == std::vector<float>{-2 * 0.1f, -0.5f * 0.2f, 0, 3});
  // Per-row scalar: 2 rows of 4 columns, b one value per row (the [1,C,1,1] channel pattern).
  const std::vector<float> a8 = {1, 2, 3, 4, 5, 6, 7, 8}, per_row = {10, 100};
  std::vector<float> y8(8);
  k.rows = 2;
  k.a = a8.data();
  k.a_row = 4;
  k.b = per_row.data();
  k.b_row = 1;
  k.b_col = 0;
  k.y = y8.data();
  k.y_row = 4;
  f32_binary(BinaryOp::kMul, k);
  CHECK(y8 == std::vector<float>{10, 20, 30, 40, 500, 600, 700, 800});
}
