// The softmax kernel against its scalar reference: rows and strided axes, tails, misalignment, sentinels, aliasing.
#include "core/runtime/kernels/f32_softmax.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

namespace {
constexpr float kSentinel = -12345.0f;

void check_close(const std::vector<float>& got, const std::vector<float>& ref, size_t off, size_t n, float k) {
  for (size_t i = 0; i < n; ++i) {
    const float tol = k * std::numeric_limits<float>::epsilon() * std::max(std::fabs(ref[off + i]), 1.0f);
    if (std::fabs(got[off + i] - ref[off + i]) > tol) {
      INFO("element " << i << " got " << got[off + i] << " ref " << ref[off + i]);
      CHECK(std::fabs(got[off + i] - ref[off + i]) <= tol);
      return;
    }
  }
}
}  // namespace

TEST_CASE("f32_softmax matches the reference on seeded random shapes") {
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    std::mt19937 gen(seed);
    const size_t outer = std::uniform_int_distribution<size_t>(1, 4)(gen);
    const size_t n = std::uniform_int_distribution<size_t>(1, seed % 5 == 0 ? 3000 : 70)(gen);
    const size_t inner = seed % 3 == 0 ? 1 : std::uniform_int_distribution<size_t>(1, 37)(gen);
    const size_t misalign = seed % 4;
    const bool log = seed % 2 == 0;
    const float spread = seed % 7 == 0 ? 200.0f : 4.0f;  // wide rows: most exps underflow, max must be subtracted
    const size_t total = outer * n * inner;
    std::vector<float> xb(total + misalign), yb(total + misalign + 8, kSentinel), ref(total);
    std::uniform_real_distribution<float> u(-spread, spread);
    for (auto& v : xb) v = u(gen) + (seed % 11 == 0 ? 1000.0f : 0.0f);
    const float* x = xb.data() + misalign;
    f32_softmax(x, yb.data() + misalign, outer, n, inner, log);
    f32_softmax_ref(x, ref.data(), outer, n, inner, log);
    INFO("seed " << seed << " outer " << outer << " n " << n << " inner " << inner << " log " << log);
    std::vector<float> got(yb.begin() + misalign, yb.begin() + misalign + total);
    check_close(got, ref, 0, total, log ? 16.0f : 8.0f);
    for (size_t i = total + misalign; i < yb.size(); ++i) CHECK(yb[i] == kSentinel);
    for (size_t i = 0; i < misalign; ++i) CHECK(yb[i] == kSentinel);
  }
}

TEST_CASE("f32_softmax rows sum to one and stay finite for huge logits") {
  std::vector<float> x = {1000.0f, 1000.0f, -1000.0f, 999.0f, 3.0f};
  std::vector<float> y(x.size());
  f32_softmax(x.data(), y.data(), 1, x.size(), 1, false);
  double s = 0;
  for (float v : y) {
    CHECK(std::isfinite(v));
    s += v;
  }
  CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(y[2] == 0.0f);
  f32_softmax(x.data(), y.data(), 1, x.size(), 1, true);
  CHECK(y[0] == doctest::Approx(-std::log(2.0 + std::exp(-1.0))).epsilon(1e-6));
}

TEST_CASE("f32_softmax works in place") {
  std::mt19937 gen(7);
  std::normal_distribution<float> nd;
  for (size_t inner : {size_t(1), size_t(5)}) {
    std::vector<float> x(3 * 33 * inner);
    for (auto& v : x) v = nd(gen);
    std::vector<float> ref(x.size()), y = x;
    f32_softmax_ref(x.data(), ref.data(), 3, 33, inner, false);
    f32_softmax(y.data(), y.data(), 3, 33, inner, false);
    INFO("inner " << inner);
    check_close(y, ref, 0, y.size(), 8.0f);
  }
}
