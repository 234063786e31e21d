// The normalisation kernels against their scalar references: tails, misalignment, large offsets, sentinels.
#include "core/runtime/kernels/f32_norm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

TEST_CASE("f32_scale_shift and f32_layernorm_row match the references on seeded random lengths") {
  constexpr float kSentinel = -999.0f;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 gen(seed);
    const size_t n = std::uniform_int_distribution<size_t>(0, 300)(gen), misalign = seed % 4;
    std::normal_distribution<float> nd;
    std::vector<float> x(n + misalign), w(n), b(n), y(n + misalign + 5, kSentinel), ref(n);
    for (auto& v : x) v = nd(gen) * 3 + 1;
    for (auto& v : w) v = nd(gen);
    for (auto& v : b) v = nd(gen);
    INFO("seed " << seed << " n " << n << " misalign " << misalign);
    f32_scale_shift(x.data() + misalign, y.data() + misalign, n, 0.7f, -1.25f);
    f32_scale_shift_ref(x.data() + misalign, ref.data(), n, 0.7f, -1.25f);
    for (size_t i = 0; i < n; ++i) CHECK(y[misalign + i] == ref[i]);  // same two float ops: bit-exact
    for (size_t i = 0; i < misalign; ++i) CHECK(y[i] == kSentinel);
    for (size_t i = n + misalign; i < y.size(); ++i) CHECK(y[i] == kSentinel);
    const bool with_b = seed % 2 == 0;
    f32_layernorm_row(x.data() + misalign, y.data() + misalign, n, 0.5f, 0.8f, w.data(), with_b ? b.data() : nullptr);
    f32_layernorm_row_ref(x.data() + misalign, ref.data(), n, 0.5f, 0.8f, w.data(), with_b ? b.data() : nullptr);
    for (size_t i = 0; i < n; ++i) CHECK(y[misalign + i] == ref[i]);
    for (size_t i = n + misalign; i < y.size(); ++i) CHECK(y[i] == kSentinel);
  }
}

TEST_CASE("f32_mean_var matches the reference, also for data far from zero") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 gen(seed);
    const size_t n = std::uniform_int_distribution<size_t>(1, seed % 4 == 0 ? 5000 : 100)(gen);
    const float offset = seed % 3 == 0 ? 1000.0f : 0.0f;
    std::normal_distribution<float> nd;
    std::vector<float> x(n);
    for (auto& v : x) v = nd(gen) + offset;
    double m = 0, v = 0, mr = 0, vr = 0;
    f32_mean_var(x.data(), n, &m, &v);
    f32_mean_var_ref(x.data(), n, &mr, &vr);
    INFO("seed " << seed << " n " << n << " offset " << offset);
    CHECK(std::fabs(m - mr) <= 1e-5 * std::max(std::fabs(mr), 1.0));
    CHECK(std::fabs(v - vr) <= 1e-3 * std::max(vr, 1e-3));
  }
  double m = 1, v = 1;
  f32_mean_var(nullptr, 0, &m, &v);
  CHECK(m == 0);
  CHECK(v == 0);
}
