// The packed GEMM against its scalar reference: tail sizes, K/N blocking, strides, epilogues, NaN-sentinel outputs.
#include "core/runtime/kernels/f32_gemm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace qp;

namespace {

std::vector<float> rand_vec(std::mt19937& gen, size_t n) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(gen);
  return v;
}

struct Case {
  size_t m, n, k;
  bool trans_a = false, trans_b = false, prepacked_b = true, accumulate = false;
  float alpha = 1.0f;
  bool bias_m = false, bias_n = false;
  Act act = Act::kNone;
};

// Runs one case through f32_gemm_packed and f32_gemm_ref; returns the number of mismatches (and CHECKs them).
int run_case(const Case& cs, std::mt19937& gen) {
  const size_t m = cs.m, n = cs.n, k = cs.k;
  const std::vector<float> a = rand_vec(gen, m * k), b = rand_vec(gen, k * n);
  const std::vector<float> bm = rand_vec(gen, m), bn = rand_vec(gen, n), init = rand_vec(gen, m * n);
  // Stored layout: A is [m,k] or [k,m]; B is [k,n] or [n,k].
  const size_t a_rs = cs.trans_a ? 1 : k, a_ks = cs.trans_a ? m : 1;
  const size_t b_rs = cs.trans_b ? 1 : n, b_cs = cs.trans_b ? k : 1;
  F32GemmEpilogue ep;
  ep.alpha = cs.alpha;
  ep.accumulate = cs.accumulate;
  ep.bias_m = cs.bias_m ? bm.data() : nullptr;
  ep.bias_n = cs.bias_n ? bn.data() : nullptr;
  ep.act = cs.act;
  ep.act_a = cs.act == Act::kClip ? -0.25f : 0.1f;
  ep.act_b = 0.5f;

  const size_t ldc = n + 3;  // a row stride wider than N: the kernel must not write between rows
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> ref(m * ldc, nan), got(m * ldc, nan);
  if (cs.accumulate)
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) ref[i * ldc + j] = got[i * ldc + j] = init[i * n + j];
  f32_gemm_ref(m, n, k, a.data(), a_rs, a_ks, b.data(), b_rs, b_cs, ref.data(), ldc, ep);

  F32PackedA pa;
  f32_gemm_pack_a(a.data(), m, k, a_rs, a_ks, pa);
  F32PackedB pb;
  F32GemmB src;
  if (cs.prepacked_b) {
    f32_gemm_pack_b_full(b.data(), k, n, b_rs, b_cs, pb);
    src.packed = &pb;
  } else {
    src.pack = [&](size_t k0, size_t kc, size_t n0, size_t nc, float* dst) {
      f32_gemm_pack_b(b.data(), b_rs, b_cs, k0, kc, n0, nc, dst);
    };
  }
  f32_gemm_packed(m, n, k, pa, src, got.data(), ldc, ep);

  const float eps = std::numeric_limits<float>::epsilon();
  const float scale = 8.0f * eps * std::sqrt(static_cast<float>(k) + 1.0f);
  int bad = 0;
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < ldc; ++j) {
      const float r = ref[i * ldc + j], g = got[i * ldc + j];
      if (j >= n) {
        if (!std::isnan(g)) ++bad;  // padding between rows untouched
        continue;
      }
      const float tol = scale * std::max(std::fabs(r), 1.0f);
      if (!(std::fabs(r - g) <= tol)) {
        if (bad < 3) {
          INFO("row " << i << " col " << j << " ref " << r << " got " << g);
          CHECK(std::fabs(r - g) <= tol);
        }
        ++bad;
      }
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("f32_gemm: tile sizes are consistent") {
  const F32GemmTile t = f32_gemm_tile();
  INFO("target " << f32_gemm_target() << " mr " << t.mr << " nr " << t.nr << " kc " << t.kc << " nc " << t.nc);
  CHECK(t.mr >= 1);
  CHECK(t.nr >= 2);
  CHECK(t.nc % t.nr == 0);
  CHECK(t.kc >= 16);
}

TEST_CASE("f32_gemm: edge sizes match the reference (every M, N, K in a tail set)") {
  const size_t sizes[] = {1, 2, 3, 5, 7, 17, 31, 33};
  std::mt19937 gen(7);
  int bad = 0, cases = 0;
  for (size_t m : sizes)
    for (size_t n : sizes)
      for (size_t k : sizes) {
        Case cs{m, n, k};
        cs.prepacked_b = (m + n + k) % 2 == 0;
        cs.trans_a = (m * 3 + k) % 4 == 1;
        cs.trans_b = (n + k * 5) % 3 == 1;
        cs.bias_m = (m + n) % 3 == 0;
        cs.bias_n = (n + k) % 3 == 1;
        cs.act = static_cast<Act>((m + n + k) % 4);
        INFO("m " << m << " n " << n << " k " << k << " target " << f32_gemm_target());
        bad += run_case(cs, gen);
        ++cases;
      }
  CHECK(bad == 0);
  CHECK(cases == 512);
}

TEST_CASE("f32_gemm: seeded random shapes across K and N blocks") {
  const F32GemmTile t = f32_gemm_tile();
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
    Case cs{pick(1, 40), pick(1, t.nc * 2 + 37), pick(0, t.kc * 2 + 29)};
    cs.prepacked_b = seed % 2;
    cs.trans_a = seed % 3 == 0;
    cs.trans_b = seed % 5 == 0;
    cs.accumulate = seed % 4 == 1;
    cs.alpha = seed % 3 == 1 ? 0.75f : 1.0f;
    cs.bias_m = seed % 2 == 0;
    cs.bias_n = seed % 7 < 3;
    cs.act = static_cast<Act>(seed % 4);
    INFO("seed " << seed << " m " << cs.m << " n " << cs.n << " k " << cs.k << " target " << f32_gemm_target());
    CHECK(run_case(cs, gen) == 0);
  }
}

TEST_CASE("f32_gemm: K == 0 gives the epilogue of zero") {
  std::mt19937 gen(3);
  Case cs{5, 9, 0};
  cs.bias_m = cs.bias_n = true;
  cs.act = Act::kRelu;
  CHECK(run_case(cs, gen) == 0);
  cs.prepacked_b = false;
  cs.accumulate = true;
  CHECK(run_case(cs, gen) == 0);
}

TEST_CASE("f32_gemm: epilogue activations are exact on known values") {
  // 1x1x1: A = 1, B = v; checks each activation's formula against hand values.
  const float vals[] = {-2.0f, -0.5f, 0.0f, 0.3f, 4.0f};
  for (int act = 0; act < 4; ++act) {
    for (float v : vals) {
      F32PackedA pa;
      const float one = 1.0f;
      f32_gemm_pack_a(&one, 1, 1, 1, 1, pa);
      F32PackedB pb;
      f32_gemm_pack_b_full(&v, 1, 1, 1, 1, pb);
      F32GemmB src;
      src.packed = &pb;
      F32GemmEpilogue ep;
      ep.act = static_cast<Act>(act);
      ep.act_a = act == 2 ? -1.0f : 0.2f;
      ep.act_b = 1.0f;
      float c = std::numeric_limits<float>::quiet_NaN();
      f32_gemm_packed(1, 1, 1, pa, src, &c, 1, ep);
      float want = v;
      if (act == 1) want = v > 0 ? v : 0;
      if (act == 2) want = std::min(std::max(v, -1.0f), 1.0f);
      if (act == 3) want = v < 0 ? 0.2f * v : v;
      INFO("act " << act << " v " << v);
      CHECK(c == want);
    }
  }
}
