// The pooling row kernels against their scalar references: strides 1/2/3, dilations, pads, tails, sentinels.
#include "core/runtime/kernels/f32_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

TEST_CASE("f32_maxpool_row and f32_avgpool_row match the references on seeded random geometry") {
  constexpr float kSentinel = 777.0f;
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
    PoolRow g;
    g.in_w = pick(1, 90);
    g.kernel = pick(1, 5);
    g.stride = pick(1, 3);
    g.dilation = seed % 5 == 0 ? pick(2, 3) : 1;
    g.pad = pick(0, g.kernel - 1);
    const size_t pad_end = pick(0, g.kernel - 1);
    const size_t eff = (g.kernel - 1) * g.dilation + 1;
    if (g.in_w + g.pad + pad_end < eff) continue;
    g.out_w = (g.in_w + g.pad + pad_end - eff) / g.stride + 1;
    const size_t nrows = pick(0, 4), misalign = seed % 4;
    std::vector<std::vector<float>> data(nrows, std::vector<float>(g.in_w + misalign));
    std::normal_distribution<float> nd;
    std::vector<const float*> rows;
    for (auto& r : data) {
      for (auto& v : r) v = nd(gen);
      rows.push_back(r.data() + misalign);
    }
    std::vector<float> scale(g.out_w);
    for (auto& s : scale) s = 1.0f / static_cast<float>(pick(1, 9));
    std::vector<float> scratch(f32_pool_scratch(g), kSentinel);
    std::vector<float> y(g.out_w + 9, kSentinel), ref(g.out_w);
    INFO("seed " << seed << " in_w " << g.in_w << " out_w " << g.out_w << " k " << g.kernel << " s " << g.stride
                 << " d " << g.dilation << " pad " << g.pad << " rows " << nrows);
    f32_maxpool_row(rows.data(), nrows, g, scratch.data(), y.data());
    f32_maxpool_row_ref(rows.data(), nrows, g, ref.data());
    for (size_t i = 0; i < g.out_w; ++i) CHECK(y[i] == ref[i]);
    for (size_t i = g.out_w; i < y.size(); ++i) CHECK(y[i] == kSentinel);
    f32_avgpool_row(rows.data(), nrows, g, scale.data(), scratch.data(), y.data());
    f32_avgpool_row_ref(rows.data(), nrows, g, scale.data(), ref.data());
    for (size_t i = 0; i < g.out_w; ++i) {
      const float tol = 16 * std::numeric_limits<float>::epsilon() * std::max(std::fabs(ref[i]), 1.0f);
      CHECK(std::fabs(y[i] - ref[i]) <= tol);
    }
    for (size_t i = g.out_w; i < y.size(); ++i) CHECK(y[i] == kSentinel);
  }
}

TEST_CASE("f32_maxpool_row and f32_avgpool_row: every row width up to 70 (full, 8- and 4-lane, overlapped tails)") {
  // Rows narrower than a vector run with narrower vectors and the last vector overlaps: sweep every width so each
  // switch point of every target (4, 8, 16 lanes) and each overlap amount is met, at strides 1 and 2.
  constexpr float kSentinel = 777.0f;
  std::mt19937 gen(7);
  std::normal_distribution<float> nd;
  for (size_t in_w = 1; in_w <= 70; ++in_w)
    for (size_t stride = 1; stride <= 2; ++stride)
      for (size_t kernel = 2; kernel <= 3; ++kernel) {
        PoolRow g;
        g.in_w = in_w;
        g.kernel = kernel;
        g.stride = stride;
        g.pad = (in_w + stride) % 2;
        const size_t pad_end = in_w % 3 == 0 ? 1 : 0;
        if (g.in_w + g.pad + pad_end < kernel) continue;
        g.out_w = (g.in_w + g.pad + pad_end - kernel) / stride + 1;
        std::vector<std::vector<float>> data(2, std::vector<float>(in_w));
        std::vector<const float*> rows;
        for (auto& r : data) {
          for (auto& v : r) v = nd(gen);
          rows.push_back(r.data());
        }
        std::vector<float> scale(g.out_w, 0.25f), scratch(f32_pool_scratch(g), kSentinel);
        std::vector<float> y(g.out_w + 17, kSentinel), ref(g.out_w);
        INFO("in_w " << in_w << " out_w " << g.out_w << " k " << kernel << " s " << stride << " pad " << g.pad);
        f32_maxpool_row(rows.data(), 2, g, scratch.data(), y.data());
        f32_maxpool_row_ref(rows.data(), 2, g, ref.data());
        int bad = 0;
        for (size_t i = 0; i < g.out_w; ++i) bad += y[i] != ref[i];
        for (size_t i = g.out_w; i < y.size(); ++i) bad += y[i] != kSentinel;
        f32_avgpool_row(rows.data(), 2, g, scale.data(), scratch.data(), y.data());
        f32_avgpool_row_ref(rows.data(), 2, g, scale.data(), ref.data());
        for (size_t i = 0; i < g.out_w; ++i)
          bad += !(std::fabs(y[i] - ref[i]) <= 16 * std::numeric_limits<float>::epsilon() * std::max(std::fabs(ref[i]), 1.0f));
        for (size_t i = g.out_w; i < y.size(); ++i) bad += y[i] != kSentinel;
        CHECK(bad == 0);
      }
}

TEST_CASE("f32_maxpool_row: a window entirely in padding gives -inf") {
  const float row[1] = {5.0f};
  const float* rows[1] = {row};
  PoolRow g;
  g.in_w = 1;
  g.out_w = 2;
  g.kernel = 1;
  g.stride = 1;
  g.pad = 1;  // window 0 sees only padding
  std::vector<float> scratch(f32_pool_scratch(g)), y(2);
  f32_maxpool_row(rows, 1, g, scratch.data(), y.data());
  CHECK(y[0] == -std::numeric_limits<float>::infinity());
  CHECK(y[1] == 5.0f);
}
