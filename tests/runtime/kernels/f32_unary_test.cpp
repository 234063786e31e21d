// The float32 unary SIMD kernels against their scalar reference: odd lengths, tails, misaligned pointers,
// sentinels around the output, edge values (0, inf, NaN, overflow bounds) and the accuracy of Erf and Gelu.
#include "core/runtime/kernels/f32_unary.h"

#include <doctest/doctest.h>
#include <hwy/targets.h>

#include <cmath>
#include <cstring>
#include <string>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.5f;

// Runs f once per SIMD target this machine supports (natively: SSE4, AVX2, AVX3, ... ; wasm: the one target).
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

// Tolerance in units of eps * max(|ref|, 1): 0 for the ops that are single IEEE operations.
float ulps_allowed(UnaryOp op) {
  switch (op) {
    case UnaryOp::kAbs: case UnaryOp::kNeg: case UnaryOp::kCeil: case UnaryOp::kFloor: case UnaryOp::kSqrt:
    case UnaryOp::kReciprocal: case UnaryOp::kRelu: case UnaryOp::kLeakyRelu: case UnaryOp::kClip:
      return 0;
    case UnaryOp::kHardSigmoid: case UnaryOp::kHardSwish:
      return 2;  // x / 6 in the reference vs x * (1/6) in the kernel
    default:
      return 8;
  }
}

bool close(float got, float ref, float ulps) {
  if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) && std::isnan(got);
  if (std::isinf(ref) || std::isinf(got)) return got == ref;
  if (ulps == 0) return got == ref || (got == 0 && ref == 0);
  return std::fabs(got - ref) <= ulps * kEps * std::max(std::fabs(ref), 1.0f);
}

UnaryParams params_for(UnaryOp op) {
  switch (op) {
    case UnaryOp::kLeakyRelu: return {0.01f, 0};
    case UnaryOp::kClip: return {-0.75f, 1.5f};
    case UnaryOp::kHardSigmoid: return {0.2f, 0.5f};
    case UnaryOp::kElu: return {1.3f, 0};
    default: return {};
  }
}

// Inputs spread over the range where each op does something interesting (and stays finite in float32).
float draw(UnaryOp op, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-1, 1);
  const float v = u(gen);
  switch (op) {
    case UnaryOp::kExp: return 90 * v;
    case UnaryOp::kLog: case UnaryOp::kSqrt: return std::ldexp(std::fabs(v), static_cast<int>(gen() % 60) - 30);
    case UnaryOp::kSigmoid: case UnaryOp::kTanh: case UnaryOp::kElu: case UnaryOp::kSoftplus: return 30 * v;
    case UnaryOp::kErf: return 5 * v;
    case UnaryOp::kGelu: case UnaryOp::kGeluTanh: return 12 * v;
    default: return 8 * v;
  }
}

const UnaryOp kAllOps[] = {UnaryOp::kAbs, UnaryOp::kNeg, UnaryOp::kCeil, UnaryOp::kFloor, UnaryOp::kSqrt,
                           UnaryOp::kReciprocal, UnaryOp::kExp, UnaryOp::kLog, UnaryOp::kRelu,
                           UnaryOp::kLeakyRelu, UnaryOp::kClip, UnaryOp::kSigmoid, UnaryOp::kHardSigmoid,
                           UnaryOp::kHardSwish, UnaryOp::kTanh, UnaryOp::kErf, UnaryOp::kGelu,
                           UnaryOp::kGeluTanh, UnaryOp::kElu, UnaryOp::kSoftplus};

}  // namespace

TEST_CASE("f32_unary: every op matches the scalar reference on seeded random lengths and offsets") {
  for_each_target([&] {
    for (UnaryOp op : kAllOps) {
      const UnaryParams p = params_for(op);
      for (uint32_t seed = 1; seed <= 40; ++seed) {
        std::mt19937 gen(seed * 7919 + static_cast<uint32_t>(op));
        const size_t n = seed <= 20 ? seed - 1 : std::uniform_int_distribution<size_t>(0, 700)(gen);
        const size_t mis_x = seed % 4, mis_y = (seed / 4) % 4;  // 0..3 floats past an aligned start
        std::vector<float> xb(n + mis_x), yb(n + mis_y + 8, kSentinel), ref(n);
        for (auto& v : xb) v = draw(op, gen);
        const float* x = xb.data() + mis_x;
        float* y = yb.data() + mis_y;
        f32_unary(op, x, y, n, p);
        f32_unary_ref(op, x, ref.data(), n, p);
        INFO(f32_unary_op_name(op) << " seed " << seed << " n " << n << " misalign " << mis_x << "/" << mis_y
                                   << " target " << std::string(f32_unary_target()));
        size_t bad = 0;
        for (size_t i = 0; i < n; ++i)
          if (!close(y[i], ref[i], ulps_allowed(op))) {
            if (bad++ < 3) CHECK_MESSAGE(false, "x " << x[i] << " got " << y[i] << " ref " << ref[i]);
          }
        CHECK(bad == 0);
        for (size_t i = 0; i < mis_y; ++i) CHECK(yb[i] == kSentinel);
        for (size_t i = n; i < n + 8; ++i) CHECK(y[i] == kSentinel);
      }
    }
  });
}

TEST_CASE("f32_unary: edge values (zeros, infinities, NaN, overflow bounds, subnormals)") {
  for_each_target([&] {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> edges = {0.0f,       -0.0f,      kInf,       -kInf,     nan,        1e-30f,
                                      -1e-30f,    1e-40f,     88.7f,      88.72283f, 88.72284f,  89.0f,
                                      -87.0f,     -103.0f,    -104.5f,    -200.0f,   200.0f,     0.875f,
                                      -0.875f,    0.8750001f, 1.2374369f, 3.9f,      -3.9f,      9.0f,
                                      -9.0f,      20.0f,      -20.0f,     1e10f,     -1e10f,     0.5f};
    for (UnaryOp op : kAllOps) {
      // Max/Min-based ops give target-dependent results on NaN (x86 maxps returns the second operand).
      const bool nan_ok = op != UnaryOp::kRelu && op != UnaryOp::kClip && op != UnaryOp::kHardSigmoid &&
                          op != UnaryOp::kHardSwish;
      const UnaryParams p = params_for(op);
      std::vector<float> y(edges.size()), ref(edges.size());
      f32_unary(op, edges.data(), y.data(), edges.size(), p);
      f32_unary_ref(op, edges.data(), ref.data(), edges.size(), p);
      for (size_t i = 0; i < edges.size(); ++i) {
        if (std::isnan(edges[i]) && !nan_ok) continue;
        INFO(f32_unary_op_name(op) << "(" << edges[i] << ") got " << y[i] << " ref " << ref[i] << " target "
                                   << std::string(f32_unary_target()));
        CHECK(close(y[i], ref[i], ulps_allowed(op)));
      }
    }
  });
}

TEST_CASE("f32_unary: in place (y == x)") {
  for_each_target([&] {
    std::mt19937 gen(5);
    for (UnaryOp op : {UnaryOp::kSigmoid, UnaryOp::kRelu, UnaryOp::kGelu, UnaryOp::kClip}) {
      std::vector<float> x(37), ref(37);
      for (auto& v : x) v = draw(op, gen);
      f32_unary_ref(op, x.data(), ref.data(), x.size(), params_for(op));
      f32_unary(op, x.data(), x.data(), x.size(), params_for(op));
      for (size_t i = 0; i < x.size(); ++i) CHECK(close(x[i], ref[i], ulps_allowed(op)));
    }
  });
}

TEST_CASE("f32_unary: Erf keeps 1e-6 relative accuracy, Gelu 2e-6, also in its negative tail") {
  for_each_target([&] {
    // A dense sweep: relative error (not eps * max(|ref|, 1)), so tiny outputs are held to account too.
    std::vector<float> x;
    for (float v = -10.0f; v <= 10.0f; v += 0.000731f) x.push_back(v);
    for (float v = 1e-20f; v < 1e-2f; v *= 1.37f) x.push_back(v);
    std::vector<float> y(x.size());
    double worst_erf = 0, worst_gelu = 0, worst_tail = 0;
    f32_unary(UnaryOp::kErf, x.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double r = std::erf(static_cast<double>(x[i]));
      if (r != 0) worst_erf = std::max(worst_erf, std::fabs(y[i] - r) / std::fabs(r));
    }
    f32_unary(UnaryOp::kGelu, x.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double xd = x[i], r = 0.5 * xd * std::erfc(-xd / std::sqrt(2.0));
      if (std::fabs(r) < 1e-37) continue;  // float32 subnormal outputs: no relative accuracy to speak of
      const double e = std::fabs(y[i] - r) / std::fabs(r);
      (xd < -5 ? worst_tail : worst_gelu) = std::max(xd < -5 ? worst_tail : worst_gelu, e);
    }
    INFO("target " << std::string(f32_unary_target()) << " erf " << worst_erf << " gelu " << worst_gelu
                   << " tail " << worst_tail);
    CHECK(worst_erf < 1e-6);
    CHECK(worst_gelu < 2e-6);  // the exp argument -x^2/2 rounds to float32: ~z^2 * eps/2 relative
    CHECK(worst_tail < 1e-5);  // same, with z^2 up to 50
  });
}

TEST_CASE("f32_unary: analytic values") {
  auto one = [](UnaryOp op, float x, UnaryParams p = {}) {
    float y = 0;
    f32_unary(op, &x, &y, 1, p);
    return y;
  };
  CHECK(one(UnaryOp::kSigmoid, 0) == 0.5f);
  CHECK(one(UnaryOp::kTanh, 0) == 0.0f);
  CHECK(one(UnaryOp::kErf, 1) == doctest::Approx(0.8427007929497149).epsilon(1e-7));
  CHECK(one(UnaryOp::kGelu, 1) == doctest::Approx(0.8413447460685429).epsilon(1e-7));
  CHECK(one(UnaryOp::kGeluTanh, 1) == doctest::Approx(0.8411919906082768).epsilon(1e-7));
  CHECK(one(UnaryOp::kHardSwish, 3) == 3.0f);
  CHECK(one(UnaryOp::kHardSwish, -3) == 0.0f);
  CHECK(one(UnaryOp::kHardSwish, 1) == doctest::Approx(2.0 / 3.0).epsilon(1e-7));
  CHECK(one(UnaryOp::kHardSigmoid, 1, {0.2f, 0.5f}) == doctest::Approx(0.7).epsilon(1e-7));
  CHECK(one(UnaryOp::kSoftplus, 0) == doctest::Approx(std::log(2.0)).epsilon(1e-7));
  CHECK(one(UnaryOp::kSoftplus, 100) == 100.0f);
  CHECK(one(UnaryOp::kElu, -1, {2, 0}) == doctest::Approx(2 * (std::exp(-1.0) - 1)).epsilon(1e-7));
  CHECK(one(UnaryOp::kClip, 5, {-1, 2}) == 2.0f);
  CHECK(one(UnaryOp::kClip, 0, {3, 2}) == 2.0f);  // min > max: every value becomes max
  CHECK(one(UnaryOp::kLeakyRelu, -2, {0.1f, 0}) == doctest::Approx(-0.2).epsilon(1e-7));
  CHECK(one(UnaryOp::kExp, 1) == doctest::Approx(std::exp(1.0)).epsilon(1e-7));
  CHECK(one(UnaryOp::kLog, 0) == -kInf);
  CHECK(std::isnan(one(UnaryOp::kLog, -1)));
  CHECK(one(UnaryOp::kFloor, -1.5f) == -2.0f);
  CHECK(one(UnaryOp::kCeil, -1.5f) == -1.0f);
}
