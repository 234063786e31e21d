// Conv kernels (im2col + GEMM, direct 1x1, depthwise, ConvTranspose) against the N-d scalar references:
// seeded random geometries with printed seeds, NaN-prefilled outputs, every activation.
#include "core/runtime/kernels/f32_conv.h"

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

int compare(const std::vector<float>& ref, const std::vector<float>& got, size_t k) {
  const float tol_scale = 8.0f * std::numeric_limits<float>::epsilon() * std::sqrt(static_cast<float>(k) + 1.0f);
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const float tol = tol_scale * std::max(std::fabs(ref[i]), 1.0f);
    if (!(std::fabs(ref[i] - got[i]) <= tol)) {
      if (bad < 3) {
        INFO("element " << i << " ref " << ref[i] << " got " << got[i]);
        CHECK(std::fabs(ref[i] - got[i]) <= tol);
      }
      ++bad;
    }
  }
  return bad;
}

// A random 2-D geometry with a valid output; pads end may differ from pads begin.
struct Geo {
  F32Conv2dGeom g;
  size_t pb = 0, pr = 0;
};

bool random_geom(std::mt19937& gen, Geo& out, size_t max_k, size_t max_stride, size_t max_hw) {
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
  F32Conv2dGeom& g = out.g;
  g.h = pick(1, max_hw);
  g.w = pick(1, max_hw);
  g.kh = pick(1, max_k);
  g.kw = pick(1, max_k);
  g.sh = pick(1, max_stride);
  g.sw = pick(1, max_stride);
  g.dh = pick(1, 2);
  g.dw = pick(1, 2);
  g.pt = pick(0, 2);
  g.pl = pick(0, 2);
  out.pb = pick(0, 2);
  out.pr = pick(0, 2);
  const int64_t eh = static_cast<int64_t>((g.kh - 1) * g.dh + 1), ew = static_cast<int64_t>((g.kw - 1) * g.dw + 1);
  const int64_t sh = static_cast<int64_t>(g.h + g.pt + out.pb) - eh, sw = static_cast<int64_t>(g.w + g.pl + out.pr) - ew;
  if (sh < 0 || sw < 0) return false;
  g.oh = static_cast<size_t>(sh) / g.sh + 1;
  g.ow = static_cast<size_t>(sw) / g.sw + 1;
  return true;
}

F32ConvNdGeom nd(const F32Conv2dGeom& g, size_t cin, size_t cout, size_t groups) {
  F32ConvNdGeom r;
  r.c_in = cin;
  r.c_out = cout;
  r.groups = groups;
  r.in = {static_cast<int64_t>(g.h), static_cast<int64_t>(g.w)};
  r.out = {static_cast<int64_t>(g.oh), static_cast<int64_t>(g.ow)};
  r.k = {static_cast<int64_t>(g.kh), static_cast<int64_t>(g.kw)};
  r.s = {static_cast<int64_t>(g.sh), static_cast<int64_t>(g.sw)};
  r.d = {static_cast<int64_t>(g.dh), static_cast<int64_t>(g.dw)};
  r.pad = {static_cast<int64_t>(g.pt), static_cast<int64_t>(g.pl)};
  return r;
}

F32GemmEpilogue random_act(uint32_t seed) {
  F32GemmEpilogue ep;
  ep.act = static_cast<Act>(seed % 4);
  ep.act_a = ep.act == Act::kClip ? -0.5f : 0.1f;
  ep.act_b = 0.75f;
  return ep;
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST_CASE("f32_conv: im2col + GEMM matches the reference on seeded random geometries") {
  int run = 0;
  for (uint32_t seed = 1; run < 60 && seed < 1000; ++seed) {
    std::mt19937 gen(seed);
    Geo geo;
    if (!random_geom(gen, geo, 5, 3, 21)) continue;
    ++run;
    F32Conv2dGeom& g = geo.g;
    const size_t groups = std::uniform_int_distribution<size_t>(1, 3)(gen);
    g.c = std::uniform_int_distribution<size_t>(1, 7)(gen);
    const size_t cout_g = std::uniform_int_distribution<size_t>(1, 19)(gen);
    const size_t cin = g.c * groups, cout = cout_g * groups, k = g.c * g.kh * g.kw;
    const auto x = rand_vec(gen, cin * g.h * g.w), w = rand_vec(gen, cout * k), bias = rand_vec(gen, cout);
    const bool with_bias = seed % 3 != 0;
    const F32GemmEpilogue ep = random_act(seed);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size(), kNaN);
    f32_conv_ref(x.data(), w.data(), with_bias ? bias.data() : nullptr, ref.data(), nd(g, cin, cout, groups), ep.act,
                 ep.act_a, ep.act_b);
    const auto packed = f32_conv2d_pack_weights(w.data(), groups, cout_g, k);
    f32_conv2d_gemm(x.data(), packed, with_bias ? bias.data() : nullptr, got.data(), g, groups, cout_g, ep);
    INFO("seed " << seed << " c " << g.c << " groups " << groups << " cout_g " << cout_g << " in " << g.h << "x" << g.w
                 << " k " << g.kh << "x" << g.kw << " s " << g.sh << "," << g.sw << " d " << g.dh << "," << g.dw
                 << " pads " << g.pt << "," << g.pl << "," << geo.pb << "," << geo.pr);
    CHECK(compare(ref, got, k) == 0);
  }
  CHECK(run == 60);
}

TEST_CASE("f32_conv: large planes cross the GEMM's K and N blocks (1x1 direct and 3x3 im2col)") {
  const F32GemmTile t = f32_gemm_tile();
  for (size_t kk : {size_t{1}, size_t{3}}) {
    std::mt19937 gen(static_cast<uint32_t>(kk));
    F32Conv2dGeom g;
    g.c = kk == 1 ? t.kc + 37 : 41;  // K = c * kk * kk crosses kc either way
    g.h = 13;
    g.w = t.nc / 13 + 9;              // N = h * w crosses nc
    g.kh = g.kw = kk;
    g.pt = g.pl = kk / 2;
    g.oh = g.h;
    g.ow = g.w;
    const size_t cout = 11, k = g.c * kk * kk;
    const auto x = rand_vec(gen, g.c * g.h * g.w), w = rand_vec(gen, cout * k), bias = rand_vec(gen, cout);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size(), kNaN);
    const F32GemmEpilogue ep = random_act(1);
    f32_conv_ref(x.data(), w.data(), bias.data(), ref.data(), nd(g, g.c, cout, 1), ep.act, ep.act_a, ep.act_b);
    f32_conv2d_gemm(x.data(), f32_conv2d_pack_weights(w.data(), 1, cout, k), bias.data(), got.data(), g, 1, cout, ep);
    INFO("kernel " << kk << "x" << kk << " c " << g.c << " plane " << g.h << "x" << g.w);
    CHECK(compare(ref, got, k) == 0);
  }
}

TEST_CASE("f32_conv: depthwise matches the reference (strides 1-3, 3x3/5x5/other, multiplier, wide rows)") {
  int run = 0;
  for (uint32_t seed = 1; run < 80 && seed < 2000; ++seed) {
    std::mt19937 gen(seed);
    Geo geo;
    // Wide rows exercise the two-vector, one-vector and scalar column ranges.
    if (!random_geom(gen, geo, 5, 3, seed % 2 ? 45 : 9)) continue;
    F32Conv2dGeom& g = geo.g;
    // Most PP-OCR depthwise layers are 3x3 or 5x5: force those often, then re-derive the output size.
    if (seed % 4 == 0) g.kh = g.kw = 3;
    if (seed % 4 == 1) g.kh = g.kw = 5;
    const int64_t sh = static_cast<int64_t>(g.h + g.pt + geo.pb) - static_cast<int64_t>((g.kh - 1) * g.dh + 1);
    const int64_t sw = static_cast<int64_t>(g.w + g.pl + geo.pr) - static_cast<int64_t>((g.kw - 1) * g.dw + 1);
    if (sh < 0 || sw < 0) continue;
    g.oh = static_cast<size_t>(sh) / g.sh + 1;
    g.ow = static_cast<size_t>(sw) / g.sw + 1;
    ++run;
    const size_t channels = std::uniform_int_distribution<size_t>(1, 5)(gen);
    const size_t mult = seed % 5 == 0 ? 2 : 1;
    const size_t cout = channels * mult, taps = g.kh * g.kw;
    g.c = 1;
    const auto x = rand_vec(gen, channels * g.h * g.w), w = rand_vec(gen, cout * taps), bias = rand_vec(gen, cout);
    const bool with_bias = seed % 3 != 1;
    const F32GemmEpilogue ep = random_act(seed);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size(), kNaN);
    f32_conv_ref(x.data(), w.data(), with_bias ? bias.data() : nullptr, ref.data(), nd(g, channels, cout, channels),
                 ep.act, ep.act_a, ep.act_b);
    f32_conv2d_depthwise(x.data(), w.data(), with_bias ? bias.data() : nullptr, got.data(), g, channels, mult, ep);
    INFO("seed " << seed << " channels " << channels << " mult " << mult << " in " << g.h << "x" << g.w << " k "
                 << g.kh << "x" << g.kw << " s " << g.sh << "," << g.sw << " d " << g.dh << "," << g.dw << " pads "
                 << g.pt << "," << g.pl << "," << geo.pb << "," << geo.pr);
    CHECK(compare(ref, got, taps) == 0);
  }
  CHECK(run == 80);
}

TEST_CASE("f32_conv: depthwise phase-plane path (equal strides 1 and 2) on every small plane and odd/even pads") {
  // Planes from 1x1 up past four vectors of the widest target, both pad parities (stride 2 splits columns by
  // parity), dilation 2, multiplier 2, 3x3 / 5x5 / other kernels: every vector-count remainder of the flattened
  // loop and every column parity of the stride-2 split.
  int run = 0;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
    F32Conv2dGeom g;
    g.h = seed <= 80 ? 1 + (seed - 1) % 10 : pick(1, 24);
    g.w = seed <= 80 ? 1 + (seed - 1) / 10 * 9 : pick(1, 70);
    g.kh = g.kw = seed % 3 == 0 ? 3 : seed % 3 == 1 ? 5 : pick(1, 4);
    if (seed % 7 == 0) g.kh = pick(1, 5);  // non-square kernels
    g.sh = g.sw = seed % 2 + 1;
    g.dh = g.dw = seed % 5 == 0 ? 2 : 1;
    if (seed % 11 == 0) g.dh = 3 - g.dw;
    g.pt = pick(0, 3);
    g.pl = pick(0, 3);
    const size_t pb = pick(0, 3), pr = pick(0, 3);
    const int64_t sh = static_cast<int64_t>(g.h + g.pt + pb) - static_cast<int64_t>((g.kh - 1) * g.dh + 1);
    const int64_t sw = static_cast<int64_t>(g.w + g.pl + pr) - static_cast<int64_t>((g.kw - 1) * g.dw + 1);
    if (sh < 0 || sw < 0) continue;
    g.oh = static_cast<size_t>(sh) / g.sh + 1;
    g.ow = static_cast<size_t>(sw) / g.sw + 1;
    ++run;
    const size_t channels = pick(1, 4), mult = seed % 4 == 0 ? 2 : 1, cout = channels * mult, taps = g.kh * g.kw;
    g.c = 1;
    const auto x = rand_vec(gen, channels * g.h * g.w), w = rand_vec(gen, cout * taps), bias = rand_vec(gen, cout);
    const bool with_bias = seed % 3 != 2;
    const F32GemmEpilogue ep = random_act(seed);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size() + 1, kNaN);
    f32_conv_ref(x.data(), w.data(), with_bias ? bias.data() : nullptr, ref.data(), nd(g, channels, cout, channels),
                 ep.act, ep.act_a, ep.act_b);
    f32_conv2d_depthwise(x.data(), w.data(), with_bias ? bias.data() : nullptr, got.data(), g, channels, mult, ep);
    INFO("seed " << seed << " channels " << channels << " mult " << mult << " in " << g.h << "x" << g.w << " k "
                 << g.kh << "x" << g.kw << " s " << g.sh << " d " << g.dh << "," << g.dw << " pads " << g.pt << ","
                 << g.pl << "," << pb << "," << pr);
    CHECK(std::isnan(got.back()));  // nothing written past the output
    got.pop_back();
    CHECK(compare(ref, got, taps) == 0);
  }
  CHECK(run >= 300);
}

TEST_CASE("f32_conv: ConvTranspose (GEMM + col2im) matches the reference") {
  int run = 0;
  for (uint32_t seed = 1; run < 50 && seed < 1000; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
    F32Conv2dGeom g;
    g.h = pick(1, 9);
    g.w = pick(1, 13);
    g.kh = pick(1, 4);
    g.kw = pick(1, 4);
    g.sh = pick(1, 3);
    g.sw = pick(1, 3);
    g.dh = pick(1, 2);
    g.dw = pick(1, 2);
    g.pt = pick(0, 2);
    g.pl = pick(0, 2);
    const size_t pb = pick(0, 2), pr = pick(0, 2), oph = pick(0, g.sh - 1), opw = pick(0, g.sw - 1);
    const int64_t oh = static_cast<int64_t>(g.sh * (g.h - 1) + oph + (g.kh - 1) * g.dh + 1) -
                       static_cast<int64_t>(g.pt + pb);
    const int64_t ow = static_cast<int64_t>(g.sw * (g.w - 1) + opw + (g.kw - 1) * g.dw + 1) -
                       static_cast<int64_t>(g.pl + pr);
    if (oh < 1 || ow < 1) continue;
    ++run;
    g.oh = static_cast<size_t>(oh);
    g.ow = static_cast<size_t>(ow);
    const size_t groups = pick(1, 2), cin_g = pick(1, 5), cout_g = pick(1, 6);
    g.c = cin_g;
    const size_t cin = cin_g * groups, cout = cout_g * groups, khw = g.kh * g.kw;
    const auto x = rand_vec(gen, cin * g.h * g.w), w = rand_vec(gen, cin * cout_g * khw), bias = rand_vec(gen, cout);
    const F32GemmEpilogue ep = random_act(seed);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size(), kNaN);
    f32_conv_transpose_ref(x.data(), w.data(), bias.data(), ref.data(), nd(g, cin, cout, groups), ep.act, ep.act_a,
                           ep.act_b);
    const auto packed = f32_conv_transpose2d_pack_weights(w.data(), groups, cin_g, cout_g, khw);
    f32_conv_transpose2d(x.data(), packed, bias.data(), got.data(), g, groups, cout_g, ep);
    INFO("seed " << seed << " groups " << groups << " cin_g " << cin_g << " cout_g " << cout_g << " in " << g.h << "x"
                 << g.w << " k " << g.kh << "x" << g.kw << " s " << g.sh << "," << g.sw << " d " << g.dh << ","
                 << g.dw << " out " << g.oh << "x" << g.ow);
    CHECK(compare(ref, got, cin_g * khw) == 0);
  }
  CHECK(run == 50);
}

TEST_CASE("f32_conv: im2col block pads its last panel with zeros") {
  F32Conv2dGeom g;
  g.c = 2;
  g.h = g.w = 3;
  g.kh = g.kw = 2;
  g.oh = g.ow = 2;
  const size_t nr = f32_gemm_tile().nr, k = 8, n = 4;
  std::vector<float> x(18);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
  std::vector<float> dst(k * nr, kNaN);
  f32_im2col_block(x.data(), g, 0, k, 0, n, nr, dst.data());
  for (size_t kk = 0; kk < k; ++kk) {
    const size_t ci = kk / 4, ky = (kk / 2) % 2, kx = kk % 2;
    for (size_t j = 0; j < nr; ++j) {
      const float want = j < n ? x[ci * 9 + (j / 2 + ky) * 3 + (j % 2 + kx)] : 0.0f;
      INFO("row " << kk << " col " << j);
      CHECK(dst[kk * nr + j] == want);
    }
  }
}

TEST_CASE("f32_conv: im2col from phase planes equals f32_im2col_block (strides 1 and 2, any block)") {
  // Exact copies either way, so the blocks must be bit-identical; blocks start mid-row and mid-K, panels are
  // partly filled, planes are narrower and wider than a panel.
  const size_t nr = f32_gemm_tile().nr;
  int run = 0;
  for (uint32_t seed = 1; run < 120 && seed < 2000; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen); };
    Geo geo;
    if (!random_geom(gen, geo, 5, 2, seed % 2 ? 40 : 9)) continue;
    F32Conv2dGeom& g = geo.g;
    g.sh = g.sw = seed % 2 + 1;
    const int64_t sh = static_cast<int64_t>(g.h + g.pt + geo.pb) - static_cast<int64_t>((g.kh - 1) * g.dh + 1);
    const int64_t sw = static_cast<int64_t>(g.w + g.pl + geo.pr) - static_cast<int64_t>((g.kw - 1) * g.dw + 1);
    if (sh < 0 || sw < 0) continue;
    g.oh = static_cast<size_t>(sh) / g.sh + 1;
    g.ow = static_cast<size_t>(sw) / g.sw + 1;
    g.c = pick(1, 4);
    ++run;
    const size_t k = g.c * g.kh * g.kw, n = g.oh * g.ow;
    const size_t k0 = pick(0, k - 1), kc = pick(1, k - k0), n0 = pick(0, n - 1), nc = pick(1, n - n0);
    const auto x = rand_vec(gen, g.c * g.h * g.w);
    const size_t size = (nc + nr - 1) / nr * kc * nr;
    std::vector<float> want(size + 1, kNaN), got(size + 1, kNaN);
    f32_im2col_block(x.data(), g, k0, kc, n0, nc, nr, want.data());
    F32ConvPhasePlanes planes;
    f32_conv_phase_planes(x.data(), g, planes);
    f32_im2col_phase_block(planes, g, k0, kc, n0, nc, nr, got.data());
    INFO("seed " << seed << " c " << g.c << " in " << g.h << "x" << g.w << " k " << g.kh << "x" << g.kw << " s "
                 << g.sw << " d " << g.dh << "," << g.dw << " pads " << g.pt << "," << g.pl << " block k " << k0
                 << "+" << kc << " n " << n0 << "+" << nc);
    int bad = 0;
    for (size_t i = 0; i < size; ++i) bad += !(got[i] == want[i]);
    CHECK(bad == 0);
    CHECK(std::isnan(got[size]));
  }
  CHECK(run == 120);
}

TEST_CASE("f32_conv: ConvTranspose with kernel == stride (the non-overlapping write path) matches the reference") {
  const size_t shapes[][4] = {{2, 2, 7, 9}, {3, 3, 4, 5}, {2, 3, 6, 1}, {1, 1, 3, 3}};  // kh(=sh), kw(=sw), h, w
  uint32_t seed = 0;
  for (const auto& sh : shapes) {
    std::mt19937 gen(++seed);
    F32Conv2dGeom g;
    g.kh = g.sh = sh[0];
    g.kw = g.sw = sh[1];
    g.h = sh[2];
    g.w = sh[3];
    g.oh = g.h * g.sh;
    g.ow = g.w * g.sw;
    const size_t groups = seed % 2 + 1, cin_g = 3, cout_g = 5, khw = g.kh * g.kw;
    g.c = cin_g;
    const size_t cin = cin_g * groups, cout = cout_g * groups;
    const auto x = rand_vec(gen, cin * g.h * g.w), w = rand_vec(gen, cin * cout_g * khw), bias = rand_vec(gen, cout);
    const F32GemmEpilogue ep = random_act(seed);
    std::vector<float> ref(cout * g.oh * g.ow, kNaN), got(ref.size(), kNaN);
    f32_conv_transpose_ref(x.data(), w.data(), bias.data(), ref.data(), nd(g, cin, cout, groups), ep.act, ep.act_a,
                           ep.act_b);
    f32_conv_transpose2d(x.data(), f32_conv_transpose2d_pack_weights(w.data(), groups, cin_g, cout_g, khw),
                         bias.data(), got.data(), g, groups, cout_g, ep);
    INFO("seed " << seed << " kernel/stride " << g.kh << "x" << g.kw << " in " << g.h << "x" << g.w);
    CHECK(compare(ref, got, cin_g) == 0);
  }
}
